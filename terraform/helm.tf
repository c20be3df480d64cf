# The chart, installed with its ServiceAccount wired to the role. With IRSA the ServiceAccount
# carries the role ARN annotation; with Pod Identity it carries none, since the annotation would
# make EKS inject a web identity token that the role's trust policy does not accept, and the SDK
# tries that token before the Pod Identity credentials.

locals {
  chart_path = coalesce(var.chart_path, "${path.module}/../charts/elbow")

  service_account_annotations = var.identity == "irsa" ? { "eks.amazonaws.com/role-arn" = aws_iam_role.elbow.arn } : {}

  chart_values = {
    clusterName = var.cluster_name
    region      = local.region
    vpcId       = var.vpc_id
    serviceAccount = {
      name        = var.service_account_name
      annotations = local.service_account_annotations
    }
  }
}

resource "helm_release" "elbow" {
  count = var.install_chart ? 1 : 0

  name             = var.release_name
  chart            = local.chart_path
  namespace        = var.service_account_namespace
  create_namespace = var.create_namespace
  values           = concat([yamlencode(local.chart_values)], var.extra_chart_values)

  # The operator's first reconcile needs the permissions in place (an early AccessDenied would
  # only be retried, but shows as a failed reconcile for no reason).
  depends_on = [aws_iam_role_policy.elbow, aws_eks_pod_identity_association.elbow]
}
