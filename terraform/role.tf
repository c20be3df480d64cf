# The role the operator's pods assume: through IRSA (a web identity token of the ServiceAccount,
# exchanged at STS) or through EKS Pod Identity (the EKS auth service assumes it for the pod). Either
# way only the one ServiceAccount may have it.

locals {
  # The OIDC issuer without its scheme, as IAM names the condition keys: everything after
  # "oidc-provider/" in the provider's ARN.
  oidc_issuer = var.oidc_provider_arn == null ? "" : element(split("oidc-provider/", var.oidc_provider_arn), 1)
}

data "aws_iam_policy_document" "trust" {
  dynamic "statement" {
    for_each = var.identity == "irsa" ? [1] : []
    content {
      sid     = "ServiceAccountWebIdentity"
      effect  = "Allow"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [var.oidc_provider_arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:sub"
        values   = ["system:serviceaccount:${var.service_account_namespace}:${var.service_account_name}"]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }

  # Pod Identity passes the pod's cluster, namespace and ServiceAccount as session tags; requiring
  # them keeps any other association in the account from using this role. Turning session tags off
  # on the association therefore stops it from working.
  dynamic "statement" {
    for_each = var.identity == "pod_identity" ? [1] : []
    content {
      sid     = "EksPodIdentity"
      effect  = "Allow"
      actions = ["sts:AssumeRole", "sts:TagSession"]
      principals {
        type        = "Service"
        identifiers = ["pods.eks.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/eks-cluster-name"
        values   = [local.eks_cluster_name]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/kubernetes-namespace"
        values   = [var.service_account_namespace]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/kubernetes-service-account"
        values   = [var.service_account_name]
      }
    }
  }
}

resource "aws_iam_role" "elbow" {
  name                 = local.role_name
  path                 = var.iam_path
  description          = "Elbow load balancer operator of cluster ${var.cluster_name} (${var.identity})"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = var.identity != "irsa" || var.oidc_provider_arn != null
      error_message = "identity = \"irsa\" needs oidc_provider_arn (the cluster's IAM OIDC provider)."
    }
  }
}

resource "aws_eks_pod_identity_association" "elbow" {
  count = var.identity == "pod_identity" && var.create_pod_identity_association ? 1 : 0

  cluster_name    = local.eks_cluster_name
  namespace       = var.service_account_namespace
  service_account = var.service_account_name
  role_arn        = aws_iam_role.elbow.arn
  tags            = var.tags
}
