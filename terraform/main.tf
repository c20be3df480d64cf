# Where the policy's ARNs point: this account, this partition, one region.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # `id` is the region's name in both the 5.x and the 6.x provider (6.x deprecates `name`).
  region  = coalesce(var.region, data.aws_region.current.id)
  account = data.aws_caller_identity.current.account_id

  # ARN prefixes of the two services Elbow calls, limited to the account and region.
  elb_arn = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account}"
  ec2_arn = "arn:${local.partition}:ec2:${local.region}:${local.account}"

  role_name        = coalesce(var.role_name, substr("elbow-${var.cluster_name}", 0, 64))
  policy_name      = coalesce(var.policy_name, local.role_name)
  eks_cluster_name = coalesce(var.eks_cluster_name, var.cluster_name)
}
