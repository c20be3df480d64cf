# The module against an AWS-compatible endpoint, with stand-ins for what an EKS cluster would bring:
# a VPC with public and private subnets, a node security group and an IAM OIDC provider.
#
#   scripts/moto serve 4566 &            # or LocalStack on its default port
#   cd terraform/examples/localstack
#   terraform init && terraform apply -auto-approve
#
# The chart is not installed here (install_chart = false): there is no cluster to install it into.

provider "aws" {
  region = var.region

  # The emulator accepts any key; these only keep the provider from looking for real ones.
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  endpoints {
    ec2   = var.endpoint
    elbv2 = var.endpoint
    eks   = var.endpoint
    iam   = var.endpoint
    sts   = var.endpoint
  }
}

resource "aws_vpc" "cluster" {
  cidr_block = "10.40.0.0/16"
  tags       = { Name = "${var.cluster_name}-vpc" }
}

locals {
  zones = ["${var.region}a", "${var.region}b"]
}

resource "aws_subnet" "public" {
  count             = length(local.zones)
  vpc_id            = aws_vpc.cluster.id
  availability_zone = local.zones[count.index]
  cidr_block        = cidrsubnet(aws_vpc.cluster.cidr_block, 8, count.index)
  tags              = { Name = "${var.cluster_name}-public-${local.zones[count.index]}" }

  # The module adds discovery tags with aws_ec2_tag; without this each plan would remove them.
  lifecycle {
    ignore_changes = [tags, tags_all]
  }
}

resource "aws_subnet" "private" {
  count             = length(local.zones)
  vpc_id            = aws_vpc.cluster.id
  availability_zone = local.zones[count.index]
  cidr_block        = cidrsubnet(aws_vpc.cluster.cidr_block, 8, 10 + count.index)
  tags              = { Name = "${var.cluster_name}-private-${local.zones[count.index]}" }

  # The module adds discovery tags with aws_ec2_tag; without this each plan would remove them.
  lifecycle {
    ignore_changes = [tags, tags_all]
  }
}

resource "aws_security_group" "nodes" {
  name        = "${var.cluster_name}-nodes"
  description = "Stand-in for the cluster's node security group"
  vpc_id      = aws_vpc.cluster.id

  lifecycle {
    ignore_changes = [tags, tags_all]
  }
}

resource "aws_iam_openid_connect_provider" "cluster" {
  url             = "https://oidc.eks.${var.region}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

module "elbow" {
  source = "../.."

  cluster_name      = var.cluster_name
  vpc_id            = aws_vpc.cluster.id
  region            = var.region
  identity          = "irsa"
  oidc_provider_arn = aws_iam_openid_connect_provider.cluster.arn

  public_subnet_ids       = aws_subnet.public[*].id
  private_subnet_ids      = aws_subnet.private[*].id
  node_security_group_ids = [aws_security_group.nodes.id]

  install_chart = false
}
