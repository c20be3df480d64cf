# The operator's permissions: exactly the AWS actions Elbow can call (elbow_cloud::api::Api), each
# as narrow as IAM can make it. terraform/README.md explains every statement; the Rust test in
# terraform-tests/ fails when this list and the code's list differ, or a condition goes missing.
#
# The rule: a mutating call may touch only resources tagged elbow.dev/cluster = cluster_name, and a
# create call must carry that tag in its request. The exceptions are the two places where Elbow
# acts on something that is not its own (the cluster's VPC and node security groups); each says why.

data "aws_iam_policy_document" "elbow" {
  # Describe calls support no resource-level permissions: "*" or nothing.
  statement {
    sid    = "Describe"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeCapacityReservation",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTrustStores",
      "ec2:DescribeVpcs",
      "ec2:DescribeSubnets",
      "ec2:DescribeInstances",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeAddresses",
      "acm:ListCertificates",
      "acm:DescribeCertificate",
      "wafv2:GetWebACLForResource",
      "wafv2:ListWebACLs",
      "waf-regional:GetWebACLForResource",
      "shield:GetSubscriptionState",
      "shield:DescribeProtection",
    ]
    resources = ["*"]
  }

  # Not a call of Elbow's: ELBv2 reads the Cognito user pool client of an authenticate-cognito
  # action (alb.ingress.kubernetes.io/auth-type: cognito) with the caller's permissions when a rule
  # or listener is created or modified, as the AWS Load Balancer Controller's policy grants it.
  # A read, which Cognito scopes to user pools only: "*".
  statement {
    sid       = "ReadCognitoClients"
    effect    = "Allow"
    actions   = ["cognito-idp:DescribeUserPoolClient"]
    resources = ["*"]
  }

  # ---- ELBv2 ----

  # Every create call sends the ownership tags with the request (never tags afterwards), so an
  # untagged resource can neither be created nor be left behind by a crash.
  # A Shield Advanced protection (shield-advanced-protection) is created with the tags too.
  statement {
    sid    = "CreateTaggedLbsAndTargetGroups"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:CreateLoadBalancer",
      "elasticloadbalancing:CreateTargetGroup",
      "shield:CreateProtection",
    ]
    # Each create applies to its own resource type only, so ELBv2's "*" grants it nothing more
    # than loadbalancer/* and targetgroup/* would, in fewer characters (see ChangeOwnLoadBalancers).
    resources = [
      "${local.elb_arn}:*",
      "arn:${local.partition}:shield::${local.account}:protection/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # A listener is created on a load balancer, a rule on a listener, and IAM authorizes the call
  # against that parent. The parent must not belong to another Elbow cluster; the IfExists form
  # keeps the call working should IAM also evaluate the new, still untagged, resource.
  statement {
    sid    = "CreateTaggedListenersAndRules"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:CreateRule",
    ]
    # The load balancer, listener and rule types these two apply to, as ELBv2's "*".
    resources = ["${local.elb_arn}:*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # Tags sent with a create call are authorized as elasticloadbalancing:AddTags on the new
  # resource, which has no tags yet: allowed only during those four creates, with our tag.
  statement {
    sid     = "TagElbResourcesOnCreate"
    effect  = "Allow"
    actions = ["elasticloadbalancing:AddTags"]
    # Every ELBv2 type, since the CreateAction condition already keeps it to those four creates.
    resources = ["${local.elb_arn}:*"]
    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "CreateRule"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # Load balancers with their listeners and rules, which carry the ownership tags from their
  # create call on, so they are conditioned like load balancers (AWS LBC leaves listeners and
  # rules unconditioned: its older ones were created untagged). Add/RemoveListenerCertificates
  # change a listener's certificate list and ModifyListenerAttributes its attributes; all are
  # authorized against the listener, so they are held to its tag too. One statement for all of
  # them: each action applies only to its own resource types, so the union grants nothing more,
  # and neither does ELBv2's "*" in place of loadbalancer/*, listener/* and listener-rule/*, which
  # keeps the policy under the inline limit with the longest cluster names. (AddTags and
  # RemoveTags apply to every type, so the re-tagging statements keep their two.)
  # SetWebAcl is not a call of Elbow's: WAF sets a web ACL on the load balancer with the caller's
  # permissions (wafv2-acl-arn, waf-acl-id), and this keeps it to Elbow's own load balancers.
  # Shield protections Elbow made carry its tags, so it deletes only its own.
  statement {
    sid    = "ChangeOwnLoadBalancers"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:SetWebAcl",
      "shield:DeleteProtection",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:DeleteRule",
    ]
    resources = [
      "${local.elb_arn}:*",
      "arn:${local.partition}:shield::${local.account}:protection/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid    = "ChangeOwnTargetGroups"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:RegisterTargets",
      "elasticloadbalancing:DeregisterTargets",
    ]
    resources = ["${local.elb_arn}:targetgroup/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # The deployer re-tags only load balancers and target groups (a changed default or
  # additional-resource tag). It may not move a resource to another cluster: a request that names
  # the cluster tag must name this cluster.
  statement {
    sid     = "RetagOwnElbResources"
    effect  = "Allow"
    actions = ["elasticloadbalancing:AddTags"]
    resources = [
      "${local.elb_arn}:loadbalancer/*",
      "${local.elb_arn}:targetgroup/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # The deployer removes only tags it set earlier and never an ownership tag (plan.rs
  # dropped_tags): removing one would orphan the resource, so IAM refuses it too.
  statement {
    sid     = "UntagOwnElbResources"
    effect  = "Allow"
    actions = ["elasticloadbalancing:RemoveTags"]
    resources = [
      "${local.elb_arn}:loadbalancer/*",
      "${local.elb_arn}:targetgroup/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
    condition {
      test     = "ForAllValues:StringNotEquals"
      variable = "aws:TagKeys"
      values   = ["elbow.dev/cluster", "elbow.dev/stack", "elbow.dev/resource"]
    }
  }

  # ---- EC2 ----

  statement {
    sid       = "CreateTaggedSecurityGroups"
    effect    = "Allow"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # Exception: CreateSecurityGroup is also authorized against the VPC the group goes into. The VPC
  # is not Elbow's and carries no tag of ours, so the grant is limited to this one VPC instead.
  statement {
    sid       = "CreateSecurityGroupsInClusterVpc"
    effect    = "Allow"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.ec2_arn}:vpc/${var.vpc_id}"]
  }

  # Tags sent with CreateSecurityGroup, and with AuthorizeSecurityGroupIngress for the new rules,
  # are authorized as ec2:CreateTags on the resource being created.
  statement {
    sid     = "TagEc2ResourcesOnCreate"
    effect  = "Allow"
    actions = ["ec2:CreateTags"]
    resources = [
      "${local.ec2_arn}:security-group/*",
      "${local.ec2_arn}:security-group-rule/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup", "AuthorizeSecurityGroupIngress"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # Elbow's own groups: the per-stack frontend groups and the cluster's shared backend group.
  statement {
    sid    = "ChangeOwnSecurityGroups"
    effect = "Allow"
    actions = [
      "ec2:DeleteSecurityGroup",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
    ]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # Groups are re-tagged like load balancers. A node rule is tagged when a stack claims a rule
  # another stack made, or when a rule of an earlier version passes from its one owner to the
  # stacks that still claim it; un-tagged when a stack drops its claim while others still need
  # the rule (deploy/node_claims.rs).
  statement {
    sid     = "RetagOwnSecurityGroups"
    effect  = "Allow"
    actions = ["ec2:CreateTags"]
    resources = [
      "${local.ec2_arn}:security-group/*",
      "${local.ec2_arn}:security-group-rule/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid     = "UntagOwnSecurityGroups"
    effect  = "Allow"
    actions = ["ec2:DeleteTags"]
    resources = [
      "${local.ec2_arn}:security-group/*",
      "${local.ec2_arn}:security-group-rule/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
    condition {
      test     = "ForAllValues:StringNotEquals"
      variable = "aws:TagKeys"
      values   = ["elbow.dev/cluster", "elbow.dev/stack", "elbow.dev/resource"]
    }
  }

  # Every rule Elbow adds, in its own groups and in node groups, is created with the ownership
  # tags (TagSpecifications of type security-group-rule). EC2 then authorizes the new rule as a
  # security-group-rule resource, on top of the group it goes into: the rule must carry our tag.
  statement {
    sid       = "AddTaggedSecurityGroupRules"
    effect    = "Allow"
    actions   = ["ec2:AuthorizeSecurityGroupIngress"]
    resources = ["${local.ec2_arn}:security-group-rule/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # Elbow revokes only rules it finds by their ownership tags (a node rule, once no stack claims
  # it any more). Where EC2 authorizes the revoked rules as security-group-rule resources, this
  # statement holds it to exactly those.
  statement {
    sid       = "RevokeOwnSecurityGroupRules"
    effect    = "Allow"
    actions   = ["ec2:RevokeSecurityGroupIngress"]
    resources = ["${local.ec2_arn}:security-group-rule/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/elbow.dev/cluster"
      values   = [var.cluster_name]
    }
  }

  # Exception: a TargetGroupBinding binds a target group made outside Elbow (Terraform, the
  # console), which carries no tag of Elbow's; Elbow only registers and deregisters targets there
  # (controllers/binding), never modifies or deletes the group. As the AWS Load Balancer
  # Controller's policy, on every target group of the account and region: who may create
  # TargetGroupBindings (Kubernetes RBAC) decides which groups are bound. Narrow the resources to
  # your bound groups' ARNs if you want the policy to decide instead.
  statement {
    sid    = "RegisterTargetsOfBoundTargetGroups"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:RegisterTargets",
      "elasticloadbalancing:DeregisterTargets",
    ]
    resources = ["${local.elb_arn}:targetgroup/*"]
  }

  # ---- WAF and Shield (alb.ingress.kubernetes.io/wafv2-acl-arn, wafv2-acl-name, waf-acl-id,
  # shield-advanced-protection) ----

  # Exception: the web ACL is the user's, made outside Elbow and carrying no tag of it, and WAF
  # authorizes an association against the web ACL and the load balancer. So this grants web ACLs
  # and application load balancers only; ChangeOwnLoadBalancers holds the load balancer side to
  # Elbow's tag, as WAF sets the web ACL on it with Elbow's permissions (elasticloadbalancing:SetWebAcl).
  # Shield protections are created and deleted with the load balancers' statements (tagged on
  # create, held to the tag after).
  statement {
    sid    = "AssociateWebAclsWithLoadBalancers"
    effect = "Allow"
    actions = [
      "wafv2:AssociateWebACL",
      "wafv2:DisassociateWebACL",
      "waf-regional:AssociateWebACL",
      "waf-regional:DisassociateWebACL",
    ]
    resources = [
      "arn:${local.partition}:wafv2:${local.region}:${local.account}:regional/webacl/*",
      "arn:${local.partition}:waf-regional:${local.region}:${local.account}:webacl/*",
      "${local.elb_arn}:loadbalancer/app/*",
    ]
  }

  # Exception: the node security group belongs to the cluster, not to Elbow. Elbow admits its
  # backend group there on the NodePorts (deploy/node_claims.rs) and picks the group the way
  # build/security.rs node_groups does: the instance's group tagged kubernetes.io/cluster/<name>.
  # So the grant requires that tag (any value: EKS writes "owned", other tools "shared") and this
  # VPC. The rules themselves are held to our tag by the two security-group-rule statements above.
  statement {
    sid    = "ChangeRulesOfNodeSecurityGroups"
    effect = "Allow"
    actions = [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
    ]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/kubernetes.io/cluster/${var.cluster_name}"
      values   = ["false"]
    }
    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = ["${local.ec2_arn}:vpc/${var.vpc_id}"]
    }
  }
}

# An inline policy: with its conditions spelled out the document outgrows the 6,144 characters
# of a managed policy (about 7,000 for a short cluster name), but stays well inside the 10,240 an
# inline policy may have. The policy_json output serves whoever wants it as a managed policy.
resource "aws_iam_role_policy" "elbow" {
  name   = local.policy_name
  role   = aws_iam_role.elbow.id
  policy = data.aws_iam_policy_document.elbow.json
}
