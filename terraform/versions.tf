terraform {
  # Validation blocks with messages, optional object attributes and `coalesce` of nulls as used here
  # need 1.5; nothing newer is assumed.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # aws_eks_pod_identity_association arrived in the 5.x line; 7.x may rename what 6.x deprecates.
      version = ">= 5.40, < 7.0"
    }
    helm = {
      source = "hashicorp/helm"
      # Only `values` is used on helm_release: its shape is the same in 2.x and 3.x.
      version = ">= 2.12, < 4.0"
    }
  }
}
