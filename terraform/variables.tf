# ---- The cluster ----

variable "cluster_name" {
  description = "The name Elbow runs with (--cluster-name): the value of the elbow.dev/cluster tag on every resource it creates, and the only resources the policy lets it change. Must be unique per account and region and never change."
  type        = string

  validation {
    # EKS's own rule for cluster names, so the name can double as the EKS cluster's.
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "cluster_name must be 1 to 100 letters, digits, hyphens and underscores, starting with a letter or digit."
  }
}

variable "eks_cluster_name" {
  description = "The EKS cluster's name, where it differs from cluster_name: used by the Pod Identity association and its trust condition. Null means cluster_name."
  type        = string
  default     = null

  validation {
    condition     = var.eks_cluster_name == null || can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.eks_cluster_name))
    error_message = "eks_cluster_name must be null or 1 to 100 letters, digits, hyphens and underscores, starting with a letter or digit."
  }
}

variable "vpc_id" {
  description = "The cluster's VPC: Elbow creates its security groups there, and the policy allows creating security groups in this VPC only."
  type        = string

  validation {
    condition     = can(regex("^vpc-([0-9a-f]{8}|[0-9a-f]{17})$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0 (8 or 17 hex digits)."
  }
}

variable "region" {
  description = "The region Elbow manages load balancers in; the policy's ARNs are limited to it. Null means the aws provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be null or a region name such as eu-west-1."
  }
}

# ---- How the operator's pods get the role ----

variable "identity" {
  description = "How the operator's pods assume the role: \"irsa\" (IAM roles for service accounts: needs oidc_provider_arn) or \"pod_identity\" (EKS Pod Identity: trusts pods.eks.amazonaws.com)."
  type        = string
  default     = "irsa"

  validation {
    condition     = contains(["irsa", "pod_identity"], var.identity)
    error_message = "identity must be \"irsa\" or \"pod_identity\"."
  }
}

variable "oidc_provider_arn" {
  description = "With identity = \"irsa\": the ARN of the cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>)."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[^/].*$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be null or an IAM OIDC provider ARN (arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer host and path>)."
  }
}

variable "service_account_namespace" {
  description = "The namespace of the operator's ServiceAccount; the role trusts only this namespace and name. Also the namespace of the Helm release."
  type        = string
  default     = "elbow-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.service_account_namespace))
    error_message = "service_account_namespace must be a Kubernetes namespace name (DNS label: lower case letters, digits and hyphens, at most 63)."
  }
}

variable "service_account_name" {
  description = "The name of the operator's ServiceAccount; the role trusts only this name in service_account_namespace."
  type        = string
  default     = "elbow"

  validation {
    condition     = length(var.service_account_name) <= 253 && can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.service_account_name))
    error_message = "service_account_name must be a Kubernetes object name (DNS subdomain: lower case letters, digits, '-' and '.', at most 253)."
  }
}

variable "create_pod_identity_association" {
  description = "With identity = \"pod_identity\": create the EKS Pod Identity association between the ServiceAccount and the role. Turn off when the association is managed elsewhere."
  type        = bool
  default     = true
}

# ---- The role and its policy ----

variable "role_name" {
  description = "Name of the IAM role. Null means \"elbow-<cluster_name>\", cut to IAM's 64 characters."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be null or 1 to 64 letters, digits and +=,.@_- characters."
  }
}

variable "policy_name" {
  description = "Name of the role's inline policy. Null means the role's name."
  type        = string
  default     = null

  validation {
    condition     = var.policy_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", var.policy_name))
    error_message = "policy_name must be null or 1 to 128 letters, digits and +=,.@_- characters."
  }
}

variable "iam_path" {
  description = "IAM path of the role."
  type        = string
  default     = "/"

  validation {
    condition     = length(var.iam_path) <= 512 && can(regex("^/([\\x21-\\x7E]+/)?$", var.iam_path))
    error_message = "iam_path must start and end with '/', with printable ASCII between, at most 512 characters."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of a managed policy to set as the role's permissions boundary, where the account requires one. Null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be null or an IAM policy ARN."
  }
}

variable "tags" {
  description = "Tags on the IAM role (and the Pod Identity association) this module creates; not on load balancers, which get Elbow's ownership tags and its --default-tag flags."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for key, value in var.tags : length(key) >= 1 && length(key) <= 128 && length(value) <= 256 && !startswith(lower(key), "aws:")
    ])
    error_message = "tags must have keys of 1 to 128 characters not starting with \"aws:\" and values of at most 256 characters."
  }
}

# ---- Subnet and node security group tags (optional) ----

variable "public_subnet_ids" {
  description = "Subnets to tag for internet-facing load balancers (kubernetes.io/role/elb = 1, kubernetes.io/cluster/<cluster_name> = shared), so Elbow's subnet discovery finds them. Empty: tag none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.public_subnet_ids : can(regex("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "public_subnet_ids must hold subnet ids such as subnet-0123456789abcdef0."
  }
}

variable "private_subnet_ids" {
  description = "Subnets to tag for internal load balancers (kubernetes.io/role/internal-elb = 1, kubernetes.io/cluster/<cluster_name> = shared). Empty: tag none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.private_subnet_ids : can(regex("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "private_subnet_ids must hold subnet ids such as subnet-0123456789abcdef0."
  }
}

variable "node_security_group_ids" {
  description = "Node security groups to tag kubernetes.io/cluster/<cluster_name> = shared. Elbow adds its NodePort rules to the group so tagged (else to an instance's only group), and the policy lets it change rules only in groups carrying that tag: tag here a node group that lacks it. Empty: tag none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.node_security_group_ids : can(regex("^sg-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "node_security_group_ids must hold security group ids such as sg-0123456789abcdef0."
  }
}

# ---- The Helm chart (optional) ----

variable "install_chart" {
  description = "Install the Elbow Helm chart with the helm provider, its ServiceAccount wired to the role. The caller configures the helm provider."
  type        = bool
  default     = false
}

variable "chart_path" {
  description = "Where the chart is: a local path or a chart reference helm understands. Null means the chart next to this module (../charts/elbow)."
  type        = string
  default     = null

  validation {
    condition     = var.chart_path == null || try(length(trimspace(var.chart_path)) > 0, false)
    error_message = "chart_path must be null or a non-empty path."
  }
}

variable "release_name" {
  description = "Name of the Helm release."
  type        = string
  default     = "elbow"

  validation {
    # Helm's own limit: release names are DNS labels of at most 53 characters.
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$", var.release_name))
    error_message = "release_name must be lower case letters, digits and hyphens, at most 53 characters."
  }
}

variable "create_namespace" {
  description = "Let the Helm release create service_account_namespace when it does not exist."
  type        = bool
  default     = true
}

variable "extra_chart_values" {
  description = "More values for the chart, as YAML documents applied after the module's own (clusterName, region, vpcId, serviceAccount): later documents win."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for document in var.extra_chart_values : can(yamldecode(document))])
    error_message = "extra_chart_values must hold valid YAML documents."
  }
}
