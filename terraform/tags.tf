# Discovery tags on resources this module does not own (subnets, node security groups), one
# aws_ec2_tag per resource and key, so that dropping a subnet from a list removes only our tags.

locals {
  # The cluster tag of the Kubernetes cloud provider and the AWS Load Balancer Controller: Elbow's
  # subnet discovery prefers subnets so tagged, and picks the node security group so tagged.
  kubernetes_cluster_tag = "kubernetes.io/cluster/${var.cluster_name}"

  # Keyed by list position, not by id: ids are often unknown until apply (subnets created in the
  # same run), and for_each keys must be known when planning.
  discovery_tags = merge(
    { for i, id in var.public_subnet_ids : "public-subnet-${i}/role" => { id = id, key = "kubernetes.io/role/elb", value = "1" } },
    { for i, id in var.public_subnet_ids : "public-subnet-${i}/cluster" => { id = id, key = local.kubernetes_cluster_tag, value = "shared" } },
    { for i, id in var.private_subnet_ids : "private-subnet-${i}/role" => { id = id, key = "kubernetes.io/role/internal-elb", value = "1" } },
    { for i, id in var.private_subnet_ids : "private-subnet-${i}/cluster" => { id = id, key = local.kubernetes_cluster_tag, value = "shared" } },
    { for i, id in var.node_security_group_ids : "node-security-group-${i}/cluster" => { id = id, key = local.kubernetes_cluster_tag, value = "shared" } },
  )
}

resource "aws_ec2_tag" "discovery" {
  for_each = local.discovery_tags

  resource_id = each.value.id
  key         = each.value.key
  value       = each.value.value

  lifecycle {
    # Two aws_ec2_tag resources on one subnet and key would undo each other on destroy.
    precondition {
      condition     = length(setintersection(toset(var.public_subnet_ids), toset(var.private_subnet_ids))) == 0
      error_message = "A subnet is in both public_subnet_ids and private_subnet_ids; list it in one."
    }
  }
}
