variable "endpoint" {
  description = "The AWS-compatible endpoint every AWS call goes to: LocalStack, or moto serving the same API (scripts/moto serve 4566)."
  type        = string
  default     = "http://localhost:4566"

  validation {
    condition     = can(regex("^https?://[^/]+", var.endpoint))
    error_message = "endpoint must be an http:// or https:// URL."
  }
}

variable "region" {
  description = "Region to ask the endpoint for."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be a region name such as us-east-1."
  }
}

variable "cluster_name" {
  description = "The cluster name Elbow would run with; it ends up in the policy's tag conditions."
  type        = string
  default     = "elbow-example"

  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "cluster_name must be 1 to 100 letters, digits, hyphens and underscores, starting with a letter or digit."
  }
}
