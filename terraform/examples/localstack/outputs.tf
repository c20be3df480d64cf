output "role_arn" {
  description = "The operator's role, as the emulator created it."
  value       = module.elbow.role_arn
}

output "policy_json" {
  description = "The operator's permissions, rendered for this cluster name, account and region."
  value       = module.elbow.policy_json
}

output "service_account_annotations" {
  description = "What the operator's ServiceAccount would carry."
  value       = module.elbow.service_account_annotations
}

output "discovery_tags" {
  description = "The discovery tags the module put on the stand-in subnets and node group."
  value       = module.elbow.discovery_tags
}
