output "role_arn" {
  description = "ARN of the operator's role: the eks.amazonaws.com/role-arn annotation of its ServiceAccount with IRSA, the association's role with Pod Identity."
  value       = aws_iam_role.elbow.arn
}

output "role_name" {
  description = "Name of the operator's role."
  value       = aws_iam_role.elbow.name
}

output "policy_json" {
  description = "The permissions policy as JSON, for review or for attaching elsewhere (as a managed policy it exceeds 6,144 characters)."
  value       = data.aws_iam_policy_document.elbow.json
}

output "service_account_annotations" {
  description = "Annotations the operator's ServiceAccount needs when the chart is installed by other means: the role ARN with IRSA, none with Pod Identity."
  value       = local.service_account_annotations
}

output "chart_values" {
  description = "The values this module passes to the chart (clusterName, region, vpcId, serviceAccount), for installing it by other means."
  value       = local.chart_values
}

output "pod_identity_association_id" {
  description = "ID of the EKS Pod Identity association, or null when none was created."
  value       = one(aws_eks_pod_identity_association.elbow[*].association_id)
}

output "discovery_tags" {
  description = "The discovery tags this module manages: \"<resource id> <key>=<value>\" by their key in aws_ec2_tag.discovery."
  value       = { for name, tag in aws_ec2_tag.discovery : name => "${tag.resource_id} ${tag.key}=${tag.value}" }
}

output "helm_release_name" {
  description = "Name of the Helm release, or null when install_chart is false."
  value       = one(helm_release.elbow[*].name)
}
