//! The catalogue of annotation keys: every one Elbow reads (where it applies, what it shapes, its
//! default and meaning: the source of docs/annotations.md), and every one the AWS Load Balancer
//! Controller (LBC) reads that Elbow does not implement. A key under LBC's prefixes that is in
//! neither list is unknown; the checks in `check.rs` turn both cases into user errors, so nothing
//! in a migrated manifest is ignored silently.

/// Which objects an annotation is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A Service Elbow gives a network load balancer (`service.beta.kubernetes.io/` keys).
    Service,
    /// An Ingress (`alb.ingress.kubernetes.io/` keys).
    Ingress,
    /// An Ingress, and also the backend Services its target groups are made for, whose value wins
    /// (LBC reads these `alb.ingress.kubernetes.io/` keys from both).
    IngressAndBackend,
    /// A Pod, though the key has the Service prefix (LBC's QUIC keys): refused on a Service.
    Pod,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "Service",
            Self::Ingress => "Ingress",
            Self::IngressAndBackend => "Ingress, backend Service",
            Self::Pod => "Pod",
        }
    }

    /// The prefix of the keys of this scope.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Service | Self::Pod => super::SERVICE_PREFIX,
            Self::Ingress | Self::IngressAndBackend => super::INGRESS_PREFIX,
        }
    }
}

/// One annotation Elbow reads, as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnotationInfo {
    /// The name after the prefix; a trailing `<...>` stands for any non-empty text.
    pub suffix: &'static str,
    pub scope: Scope,
    /// The part of the builder that reads it.
    pub reader: Reader,
    pub default: &'static str,
    pub doc: &'static str,
}

const fn service(suffix: &'static str, reader: Reader, default: &'static str, doc: &'static str) -> AnnotationInfo {
    AnnotationInfo { suffix, scope: Scope::Service, reader, default, doc }
}

const fn ingress(suffix: &'static str, reader: Reader, default: &'static str, doc: &'static str) -> AnnotationInfo {
    AnnotationInfo { suffix, scope: Scope::Ingress, reader, default, doc }
}

const fn backend(suffix: &'static str, reader: Reader, default: &'static str, doc: &'static str) -> AnnotationInfo {
    AnnotationInfo { suffix, scope: Scope::IngressAndBackend, reader, default, doc }
}

/// An LBC annotation Elbow does not implement: using it is an error saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotImplemented {
    /// The name after the prefix; a trailing `<...>` stands for any non-empty text.
    pub suffix: &'static str,
    pub scope: Scope,
    /// What LBC does with it, for the error message.
    pub feature: &'static str,
}

const fn lbc(suffix: &'static str, scope: Scope, feature: &'static str) -> NotImplemented {
    NotImplemented { suffix, scope, feature }
}

/// The step of a builder (`service/`, `ingress/`, `subnets.rs`) that reads an
/// annotation, i.e. the resources it shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    LoadBalancer,
    Subnets,
    Listeners,
    TargetGroups,
    HealthChecks,
    Targets,
    SecurityGroups,
    Tags,
    Groups,
    Rules,
    Protection,
}

impl Reader {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoadBalancer => "load balancer",
            Self::Subnets => "subnets",
            Self::Listeners => "listeners",
            Self::TargetGroups => "target groups",
            Self::HealthChecks => "health checks",
            Self::Targets => "targets",
            Self::SecurityGroups => "security groups",
            Self::Tags => "tags",
            Self::Groups => "groups",
            Self::Rules => "listener rules",
            Self::Protection => "web ACLs and Shield",
        }
    }
}

/// Every Service annotation Elbow reads.
pub const SERVICE_ANNOTATIONS: &[AnnotationInfo] = &[
    service(
        "aws-load-balancer-type",
        Reader::TargetGroups,
        "(unset)",
        "`external` or `nlb`: a network load balancer; `nlb-ip`: one with ip targets, whatever `nlb-target-type` says.",
    ),
    service(
        "aws-load-balancer-nlb-target-type",
        Reader::TargetGroups,
        "instance",
        "`instance` (nodes on the Service's NodePort) or `ip` (the Service's ready pods, from its EndpointSlices, on their target ports; no NodePort needed; health check on the pods whatever `externalTrafficPolicy` says). Changing it replaces the target groups.",
    ),
    service(
        "aws-load-balancer-scheme",
        Reader::LoadBalancer,
        "flag `--default-scheme` (internal)",
        "`internal` or `internet-facing`. Changing it replaces the load balancer.",
    ),
    service(
        "aws-load-balancer-internal",
        Reader::LoadBalancer,
        "false",
        "Legacy form of `scheme`: `true` means internal. Ignored when `scheme` is set.",
    ),
    service(
        "aws-load-balancer-name",
        Reader::LoadBalancer,
        "`k8s-<namespace>-<name>-<hash>`",
        "The load balancer's name, at most 32 characters; the default is the AWS Load Balancer Controller's.",
    ),
    service("aws-load-balancer-ip-address-type", Reader::LoadBalancer, "ipv4", "`ipv4` or `dualstack`."),
    service(
        "aws-load-balancer-subnets",
        Reader::Subnets,
        "discovered by tags",
        "Comma-separated subnet ids or `Name` tags. Without it, subnets tagged `kubernetes.io/role/elb` (internet-facing) or `kubernetes.io/role/internal-elb` (internal) are used, one per zone.",
    ),
    service(
        "aws-load-balancer-eip-allocations",
        Reader::Subnets,
        "(AWS picks the addresses)",
        "Comma-separated Elastic IP allocation ids (`eipalloc-...`), one per subnet, internet-facing only; the first goes to the subnet with the lowest id, and so on, as in the AWS Load Balancer Controller. AWS sets a network load balancer's addresses at creation only, so changing, adding or removing the list replaces the load balancer: the old one is deleted first (it holds the addresses), then one of the same name is made, with a new DNS name; traffic stops meanwhile. Each allocation id is looked up first (`ec2:DescribeAddresses`): one that does not exist, or an address something else holds, fails the deploy with nothing changed, so a typo never costs the load balancer. LBC leaves an existing load balancer's addresses as they were instead.",
    ),
    service(
        "aws-load-balancer-private-ipv4-addresses",
        Reader::Subnets,
        "(AWS picks the addresses)",
        "Comma-separated private IPv4 addresses, internal only: exactly one inside each subnet's CIDR block. Like `eip-allocations`, a change replaces the load balancer.",
    ),
    service(
        "aws-load-balancer-ipv6-addresses",
        Reader::Subnets,
        "(AWS picks the addresses)",
        "Comma-separated IPv6 addresses, `ip-address-type: dualstack` only: exactly one inside each subnet's IPv6 CIDR block. Like `eip-allocations`, a change replaces the load balancer.",
    ),
    service(
        "aws-load-balancer-ssl-cert",
        Reader::Listeners,
        "(none)",
        "Comma-separated ACM certificate ARNs; the first is the default. Makes the `ssl-ports` listeners TLS.",
    ),
    service(
        "aws-load-balancer-ssl-ports",
        Reader::Listeners,
        "all ports",
        "Comma-separated port numbers or names that get TLS listeners when `ssl-cert` is set, or `*` (every port; LBC does not take `*`). Naming a port the Service lacks is an error, as in LBC.",
    ),
    service(
        "aws-load-balancer-ssl-negotiation-policy",
        Reader::Listeners,
        "ELBSecurityPolicy-2016-08",
        "The TLS listeners' security policy.",
    ),
    service(
        "aws-load-balancer-alpn-policy",
        Reader::Listeners,
        "(none: AWS's `None`)",
        "`HTTP1Only`, `HTTP2Only`, `HTTP2Optional`, `HTTP2Preferred` or `None`: which protocols the TLS listeners negotiate with clients (ALPN); plain listeners take none. A Service without a TLS listener is an error (LBC ignores the annotation there). Removing it sets the TLS listeners back to `None`.",
    ),
    service(
        "aws-load-balancer-listener-attributes.<protocol>-<port>",
        Reader::Listeners,
        "(none)",
        "Comma-separated `key=value` attributes of the listener of that protocol and port, as ELBv2 names them (`TCP-80`, `TLS-443`, `UDP-53`, `TCP_UDP-53`), e.g. `tcp.idle_timeout.seconds=600`. Naming a listener the Service does not have is an error (LBC ignores it). Only the keys set are managed; a changed value is set again.",
    ),
    service(
        "aws-load-balancer-backend-protocol",
        Reader::TargetGroups,
        "tcp",
        "`tcp` or `ssl`: whether TLS listeners talk TLS to the targets.",
    ),
    service(
        "aws-load-balancer-healthcheck-protocol",
        Reader::HealthChecks,
        "tcp (http with externalTrafficPolicy: Local)",
        "`tcp`, `http` or `https`.",
    ),
    service(
        "aws-load-balancer-healthcheck-port",
        Reader::HealthChecks,
        "traffic-port (healthCheckNodePort with externalTrafficPolicy: Local, instance targets)",
        "`traffic-port`, a port number, or the name of a Service port (meaning its NodePort; with ip targets its numeric targetPort).",
    ),
    service(
        "aws-load-balancer-healthcheck-path",
        Reader::HealthChecks,
        "/ (/healthz with externalTrafficPolicy: Local)",
        "The HTTP(S) health check path.",
    ),
    service(
        "aws-load-balancer-healthcheck-interval",
        Reader::HealthChecks,
        "10",
        "Seconds between health checks, 5 to 300.",
    ),
    service(
        "aws-load-balancer-healthcheck-timeout",
        Reader::HealthChecks,
        "10 (6 with externalTrafficPolicy: Local)",
        "Seconds before a health check fails, 2 to 120.",
    ),
    service(
        "aws-load-balancer-healthcheck-healthy-threshold",
        Reader::HealthChecks,
        "3 (2 with externalTrafficPolicy: Local)",
        "Consecutive successes before a target is healthy, 2 to 10.",
    ),
    service(
        "aws-load-balancer-healthcheck-unhealthy-threshold",
        Reader::HealthChecks,
        "3 (2 with externalTrafficPolicy: Local)",
        "Consecutive failures before a target is unhealthy, 2 to 10.",
    ),
    service(
        "aws-load-balancer-healthcheck-success-codes",
        Reader::HealthChecks,
        "200-399",
        "HTTP codes that count as healthy (`200`, `200-299`, `200,204`).",
    ),
    service(
        "aws-load-balancer-target-group-attributes",
        Reader::TargetGroups,
        "(none)",
        "Comma-separated `key=value` target group attributes, e.g. `deregistration_delay.timeout_seconds=30`.",
    ),
    service(
        "aws-load-balancer-proxy-protocol",
        Reader::TargetGroups,
        "(none)",
        "`*` turns on proxy protocol v2 on every target group.",
    ),
    service(
        "aws-load-balancer-proxy-protocol-per-target-group",
        Reader::TargetGroups,
        "(none)",
        "Comma-separated Service port numbers whose target groups get proxy protocol v2; the other target groups get it turned off, whatever `target-group-attributes` says, as in LBC. `proxy-protocol: *` wins. A number that is no port of the Service is an error (LBC ignores it).",
    ),
    service(
        "aws-load-balancer-attributes",
        Reader::LoadBalancer,
        "(none)",
        "Comma-separated `key=value` load balancer attributes, e.g. `load_balancing.cross_zone.enabled=true`. The deprecated annotations below win where both set a key, as in the AWS Load Balancer Controller.",
    ),
    service(
        "aws-load-balancer-access-log-enabled",
        Reader::LoadBalancer,
        "false",
        "Deprecated form of the `access_logs.s3.enabled` attribute.",
    ),
    service(
        "aws-load-balancer-access-log-s3-bucket-name",
        Reader::LoadBalancer,
        "(none)",
        "Deprecated form of the `access_logs.s3.bucket` attribute; read only with `access-log-enabled: true`.",
    ),
    service(
        "aws-load-balancer-access-log-s3-bucket-prefix",
        Reader::LoadBalancer,
        "(none)",
        "Deprecated form of the `access_logs.s3.prefix` attribute; read only with `access-log-enabled: true`.",
    ),
    service(
        "aws-load-balancer-cross-zone-load-balancing-enabled",
        Reader::LoadBalancer,
        "false",
        "Deprecated form of the `load_balancing.cross_zone.enabled` attribute.",
    ),
    service(
        "aws-load-balancer-additional-resource-tags",
        Reader::Tags,
        "(none)",
        "Comma-separated `key=value` tags on every resource. The operator's `--default-tag`s win, as in LBC; Elbow's ownership tags cannot be overridden.",
    ),
    service(
        "aws-load-balancer-security-groups",
        Reader::SecurityGroups,
        "(a managed frontend group)",
        "Comma-separated security groups to attach instead of the managed frontend group: ids (`sg-...`), or names, each the `Name` tag of exactly one group of the cluster's VPC (an unknown name is an error, as in LBC; so is a name several groups carry, where LBC attaches them all).",
    ),
    service(
        "aws-load-balancer-minimum-load-balancer-capacity",
        Reader::LoadBalancer,
        "(no reservation)",
        "`CapacityUnits=<n>`: the minimum capacity reserved for the load balancer (ModifyCapacityReservation), checked against drift at every full comparison; `CapacityUnits=0` or removing the annotation resets a reservation Elbow made (LBC resets on `CapacityUnits=0` only, and leaves it when the annotation goes).",
    ),
    service(
        "aws-load-balancer-quic-enabled-ports",
        Reader::Listeners,
        "(none)",
        "Comma-separated numbers or names of Service ports whose UDP listener becomes QUIC (a TCP_UDP one TCP_QUIC), with a target group of that protocol whose every pod is registered with its QUIC server id (see `quic-enabled-containers`); a pod without one is left out, and the Service shows a `QUICServerIDMissing` Warning naming it. What ELBv2 refuses is an error before anything is made, where LBC leaves it to CreateListener: a port that is not UDP or TCP_UDP, more than one QUIC port, a UDP or TCP_UDP port beside it, security groups (set `disable-nlb-sg: \"true\"` when the Service is created), `dualstack`; and instance targets, which LBC registers none of (a node has no server id).",
    ),
    AnnotationInfo {
        suffix: "aws-load-balancer-quic-enabled-containers",
        scope: Scope::Pod,
        reader: Reader::Targets,
        default: "(none)",
        doc: "On a Pod (its template): comma-separated names of the containers that serve QUIC. At the pod's creation in a namespace labelled `elbow.dev/quic-server-id-inject=enabled`, Elbow's webhook gives each named container (init containers too) without one an environment variable `AWS_LBC_QUIC_SERVER_ID`: 8 random bytes in base64, LBC's variable and format, for the server to put in its connection ids. Elbow reads it back as the target's server id: the id of the container declaring the target port, else the pod's first. On a Service it is an error.",
    },
    service(
        "aws-load-balancer-enable-tcp-udp-listener",
        Reader::Listeners,
        "true",
        "Whether a TCP and a UDP port of one number are served by one TCP_UDP listener and target group; with `false` such a pair is an error (a network load balancer has one listener per port number, and LBC would serve only the first of the two), and other ports are unaffected.",
    ),
    service(
        "aws-load-balancer-disable-nlb-sg",
        Reader::SecurityGroups,
        "false",
        "With `true`, the network load balancer is created without security groups (no frontend group, no backend group): the nodes' group then admits addresses on the target ports, as LBC opens them, the clients' source ranges (by default everyone when internet-facing, the VPC's subnets when internal) where the client's address reaches the targets (UDP, TCP_UDP, `preserve_client_ip.enabled`, on by default for instance targets), else the load balancer's subnets, which health checks also come from. Set it when the Service is created: AWS cannot give security groups to a network load balancer made without them, so switching it later is refused (as in LBC); delete and recreate the Service instead. Conflicts with `security-groups` and `security-group-prefix-lists`.",
    ),
    service(
        "aws-load-balancer-manage-backend-security-group-rules",
        Reader::SecurityGroups,
        "true (false with `security-groups`)",
        "Whether Elbow attaches the shared backend group and opens the NodePorts to it on the nodes' group.",
    ),
    service(
        "load-balancer-source-ranges",
        Reader::SecurityGroups,
        "0.0.0.0/0",
        "Kubernetes' core annotation (no `aws-` in its name). Comma-separated CIDRs admitted by the frontend group; `spec.loadBalancerSourceRanges` wins when set, as in the AWS Load Balancer Controller.",
    ),
    service(
        "aws-load-balancer-security-group-prefix-lists",
        Reader::SecurityGroups,
        "(none)",
        "Comma-separated managed prefix list ids (`pl-...`) the frontend group admits on every listener port, next to the source ranges; with prefix lists and no source ranges, only the prefix lists are admitted.",
    ),
    service(
        "aws-load-balancer-target-node-labels",
        Reader::Targets,
        "(all nodes)",
        "Comma-separated `key=value` (or `key`) labels; only matching nodes become targets.",
    ),
];

/// Every Ingress annotation Elbow reads. `<name>` stands for the backend Service name an Ingress
/// path refers to.
pub const INGRESS_ANNOTATIONS: &[AnnotationInfo] = &[
    ingress(
        "group.name",
        Reader::Groups,
        "(the Ingress is its own group)",
        "Puts the Ingress on the shared load balancer of this group, across namespaces: lowercase letters, digits, `-` and `.`, at most 63 characters. The IngressClassParams `group.name` wins.",
    ),
    ingress(
        "group.order",
        Reader::Groups,
        "0",
        "The Ingress's place in its group's rules, -1000 to 1000; lower comes first, ties by namespace/name.",
    ),
    ingress(
        "scheme",
        Reader::LoadBalancer,
        "flag `--default-scheme` (internal)",
        "`internal` or `internet-facing`; every member of a group must agree. The IngressClassParams `scheme` wins.",
    ),
    ingress(
        "ip-address-type",
        Reader::LoadBalancer,
        "ipv4",
        "`ipv4` or `dualstack`; members must agree. The IngressClassParams `ipAddressType` wins.",
    ),
    ingress(
        "load-balancer-name",
        Reader::LoadBalancer,
        "`k8s-<namespace>-<name>-<hash>` or `k8s-<group>-<hash>`",
        "The load balancer's name, at most 32 characters; the default is the AWS Load Balancer Controller's. The IngressClassParams `loadBalancerName` wins.",
    ),
    ingress(
        "load-balancer-attributes",
        Reader::LoadBalancer,
        "(none)",
        "Comma-separated `key=value` attributes, e.g. `idle_timeout.timeout_seconds=120`; members may not set one key to two values. The IngressClassParams `loadBalancerAttributes` win.",
    ),
    ingress(
        "wafv2-acl-arn",
        Reader::Protection,
        "(unchanged)",
        "ARN of the AWS WAFv2 web ACL of regional scope (`arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>`) to associate with the load balancer, replacing any other; `none` removes the association. Absent or empty, the load balancer's WAFv2 web ACL is left as it is. Ignored when a member sets `wafv2-acl-name` or the IngressClassParams set `wafv2AclName` or `wafv2AclArn` (which win, in that order, as in LBC); members must agree. Flag `--enable-wafv2=false` turns the integration off.",
    ),
    ingress(
        "wafv2-acl-name",
        Reader::Protection,
        "(unchanged)",
        "Name of the regional AWS WAFv2 web ACL to associate, looked up in the load balancer's region (`wafv2:ListWebACLs`); `none` removes the association. Wins over `wafv2-acl-arn` and the IngressClassParams `wafv2AclArn`; the IngressClassParams `wafv2AclName` wins over it; members must agree. An unknown name is an error and changes nothing.",
    ),
    ingress(
        "waf-acl-id",
        Reader::Protection,
        "(unchanged)",
        "Id of the AWS WAF Classic (Regional) web ACL to associate, replacing any other; `none` removes the association. Absent or empty, left as it is; members must agree. Flag `--enable-waf=false` turns the integration off.",
    ),
    ingress(
        "web-acl-id",
        Reader::Protection,
        "(unchanged)",
        "Older name of `waf-acl-id`, read when an Ingress does not set that one.",
    ),
    ingress(
        "shield-advanced-protection",
        Reader::Protection,
        "(unchanged)",
        "`true`: an AWS Shield Advanced protection of the load balancer, when the account subscribes to Shield Advanced (otherwise nothing is done, as in the AWS Load Balancer Controller); `false`: Elbow's protection is deleted (one made by someone else is left). Absent, left as it is; members must agree. Flag `--enable-shield=false` turns the integration off.",
    ),
    ingress(
        "subnets",
        Reader::Subnets,
        "discovered by tags",
        "Comma-separated subnet ids or `Name` tags, at least two zones; members must agree. The IngressClassParams `subnets` win.",
    ),
    ingress(
        "security-groups",
        Reader::SecurityGroups,
        "(a managed frontend group)",
        "Comma-separated security groups to attach instead of the managed frontend group: ids (`sg-...`), or names, each the `Name` tag of exactly one group of the cluster's VPC (an unknown name is an error, as in LBC; so is a name several groups carry, where LBC attaches them all); members must agree.",
    ),
    ingress(
        "minimum-load-balancer-capacity",
        Reader::LoadBalancer,
        "(no reservation)",
        "`CapacityUnits=<n>`: the minimum capacity reserved for the group's load balancer; members must agree. `CapacityUnits=0` or removing the annotation resets a reservation Elbow made (LBC resets on `CapacityUnits=0` only). The IngressClassParams `minimumLoadBalancerCapacity` wins.",
    ),
    ingress(
        "manage-backend-security-group-rules",
        Reader::SecurityGroups,
        "true (false with `security-groups`)",
        "Whether Elbow attaches the shared backend group and opens the NodePorts to it on the nodes' group.",
    ),
    ingress(
        "inbound-cidrs",
        Reader::SecurityGroups,
        "0.0.0.0/0 (and ::/0 for dualstack)",
        "Comma-separated CIDRs the frontend group admits on the Ingress's listen ports. The IngressClassParams `inboundCIDRs` win.",
    ),
    ingress(
        "security-group-prefix-lists",
        Reader::SecurityGroups,
        "(none)",
        "Comma-separated managed prefix list ids (`pl-...`) the frontend group admits on the Ingress's listen ports, next to `inbound-cidrs`; members sharing a port must agree. With prefix lists and no CIDRs, only the prefix lists are admitted. The IngressClassParams `prefixListsIDs` (or `PrefixListsIDs`) win.",
    ),
    backend(
        "tags",
        Reader::Tags,
        "(none)",
        "Comma-separated `key=value` tags on every resource of the group; members may not set one key to two values. On a backend Service, tags for its target groups, over the Ingress's. The IngressClassParams `tags` win per key, the operator's `--default-tag`s over those, as in LBC; Elbow's ownership tags cannot be overridden.",
    ),
    ingress(
        "listen-ports",
        Reader::Listeners,
        "`[{\"HTTP\": 80}]`, or `[{\"HTTPS\": 443}]` with certificates",
        "JSON list of `{\"HTTP\": port}` / `{\"HTTPS\": port}`; members sharing a port must agree on its protocol.",
    ),
    ingress(
        "certificate-arn",
        Reader::Listeners,
        "(none)",
        "Comma-separated ACM certificate ARNs for the HTTPS listeners; the first is the default. The IngressClassParams `certificateArn` wins. Without either, an Ingress with an HTTPS listen port gets the issued ACM certificates of the region that serve the hosts of its rules and `spec.tls[].hosts` (exact names, or `*.example.com` for one label under `example.com`; every match, sorted by ARN), as in LBC; a host no certificate serves is an error naming it. Discovery reads ACM (`acm:ListCertificates`, `acm:DescribeCertificate`), cached for a minute (the list) and 5 minutes or 10 hours (an imported or an ACM-issued certificate's names).",
    ),
    ingress(
        "ssl-policy",
        Reader::Listeners,
        "ELBSecurityPolicy-2016-08",
        "The HTTPS listeners' security policy. The IngressClassParams `sslPolicy` wins.",
    ),
    ingress(
        "ssl-redirect",
        Reader::Listeners,
        "(none)",
        "An HTTPS listen port: every HTTP listener then answers with a 301 redirect to it and has no other rules. The IngressClassParams `sslRedirectPort` wins.",
    ),
    ingress(
        "listener-attributes.<protocol>-<port>",
        Reader::Listeners,
        "(none)",
        "Comma-separated `key=value` attributes of the listener of that protocol and listen port (`HTTP-80`, `HTTPS-443`), e.g. `routing.http.response.server.enabled=false`; members may not set one key to two values. Naming a listen port the Ingress does not have is an error (LBC ignores it). The IngressClassParams `listeners` win key by key.",
    ),
    ingress(
        "mutual-authentication",
        Reader::Listeners,
        "off",
        "Mutual TLS of HTTPS listen ports: JSON list of `{\"port\", \"mode\", \"trustStore\", \"ignoreClientCertificateExpiry\", \"advertiseTrustStoreCaNames\"}`, keys in any case, as in LBC. `mode` is `off`, `passthrough` (the client's certificate goes to the targets unchecked) or `verify` (checked against `trustStore`, an ELBv2 trust store by ARN or by name, looked up with `elasticloadbalancing:DescribeTrustStores`); only `verify` takes a trust store, `ignoreClientCertificateExpiry` (true/false) and `advertiseTrustStoreCaNames` (`on`/`off`). Members sharing a port must agree. A port that is not an HTTPS listen port of the Ingress is an error (LBC ignores it); an unknown trust store name is an error and changes nothing. Without it, mutual TLS is off, and a listener that had it loses it.",
    ),
    ingress(
        "actions.<name>",
        Reader::Rules,
        "(none)",
        "JSON action for paths whose backend is Service `<name>` with port name `use-annotation`: `forward` (`forwardConfig.targetGroups` of `serviceName`/`servicePort` or `targetGroupARN`/`targetGroupName`, each with a `weight`, and `targetGroupStickinessConfig` of `enabled` and `durationSeconds`, 1 to 604800; or LBC's older single `targetGroupARN`/`targetGroupName` beside the type), `redirect` (`redirectConfig`) or `fixed-response` (`fixedResponseConfig`). Keys match in any case (`Type`, `ForwardConfig`, `ServiceName`, ...), as in LBC. A target group by ARN or name is someone else's: Elbow forwards to it (a name is looked up with DescribeTargetGroups) and never changes, registers to or deletes it.",
    ),
    ingress(
        "conditions.<name>",
        Reader::Rules,
        "(none)",
        "JSON list of extra rule conditions for paths whose backend is Service `<name>`: `host-header`, `path-pattern`, `http-header`, `http-request-method`, `query-string`, `source-ip`. Keys match in any case (`Field`, `HostHeaderConfig`, `Values`, ...), as in LBC. `host-header`, `path-pattern` and `http-header` take `values` or `regexValues` (regular expressions), one of them; a rule's host (or path) matches by values or by regular expressions, so mixing the two for one rule is an error, as in LBC.",
    ),
    ingress(
        "transforms.<name>",
        Reader::Rules,
        "(none)",
        "JSON list of rewrites ELBv2 applies before the actions of the rules whose path's backend is Service `<name>`: `{\"type\": \"host-header-rewrite\", \"hostHeaderRewriteConfig\": {\"rewrites\": [{\"regex\", \"replace\"}]}}` rewrites the Host header, `{\"type\": \"url-rewrite\", \"urlRewriteConfig\": {\"rewrites\": [...]}}` the URL (`replace` may name the regex's groups, `$1`). Keys match in any case, as in LBC. ELBv2 takes at most one transform of each type per rule and exactly one rewrite in each, a regex of 1 to 1,024 characters and a replace of at most 1,024: anything else is an error (LBC passes it to AWS, which refuses the rule). Removing the annotation removes the rules' transforms.",
    ),
    ingress(
        "use-regex-path-match",
        Reader::Rules,
        "false",
        "`true`: the Ingress's ImplementationSpecific paths are regular expressions, written after the leading `/` (`/api/v[0-9]+/.*` matches by `api/v[0-9]+/.*`), as in LBC; Exact and Prefix paths are unchanged.",
    ),
    backend(
        "auth-type",
        Reader::Rules,
        "none",
        "`none`, `oidc` or `cognito`: every rule of the Ingress (and its default backend, when it is the listener's) authenticates the user before its action, on HTTPS listeners only; on HTTP listeners the annotations are checked but no authentication is added, as in LBC. Also read from the Service a rule forwards to alone, whose value wins; this and the other `auth-` annotations likewise.",
    ),
    backend(
        "auth-idp-oidc",
        Reader::Rules,
        "(none)",
        "JSON `{\"issuer\", \"authorizationEndpoint\", \"tokenEndpoint\", \"userInfoEndpoint\", \"secretName\", \"authenticationRequestExtraParams\"}`; the endpoints are full `https://` URLs, at most 10 extra parameters. The client comes from Secret `secretName` in the Ingress's namespace, keys `clientID` (or `clientId`) and `clientSecret`; a change to it updates the load balancer. Keys match in any case, as in LBC.",
    ),
    backend(
        "auth-idp-cognito",
        Reader::Rules,
        "(none)",
        "JSON `{\"userPoolARN\", \"userPoolClientID\", \"userPoolDomain\", \"authenticationRequestExtraParams\"}`; `userPoolDomain` is the domain prefix (or a custom domain). Keys match in any case, as in LBC.",
    ),
    backend(
        "auth-on-unauthenticated-request",
        Reader::Rules,
        "authenticate",
        "`authenticate` (sign in with the provider), `allow` (forward without a session) or `deny` (answer 401).",
    ),
    backend(
        "auth-scope",
        Reader::Rules,
        "openid",
        "Space-separated claims to request from the provider, e.g. `openid email`.",
    ),
    backend("auth-session-cookie", Reader::Rules, "AWSELBAuthSessionCookie", "The session cookie's name."),
    backend(
        "auth-session-timeout",
        Reader::Rules,
        "604800",
        "The session's longest life in seconds, 1 to 604800 (7 days).",
    ),
    ingress(
        "jwt-validation",
        Reader::Rules,
        "(none)",
        "JSON `{\"jwksEndpoint\", \"issuer\", \"additionalClaims\": [{\"name\", \"format\", \"values\"}]}`, formats `single-string`, `string-array`, `space-separated-values`: every rule of the Ingress (and its default backend) checks the request's JSON Web Token before its action, on HTTPS listeners only. Not with `auth-type` on the same rule.",
    ),
    backend(
        "target-type",
        Reader::TargetGroups,
        "instance",
        "`instance` (nodes on the Service's NodePort; the Service must be NodePort or LoadBalancer) or `ip` (the Service's ready pods, from its EndpointSlices, on their target ports; any Service type). Also read from the Service, which wins; IngressClassParams `targetType` wins over both.",
    ),
    backend(
        "backend-protocol",
        Reader::TargetGroups,
        "HTTP",
        "`HTTP` or `HTTPS`: how the load balancer talks to the targets. Also read from the Service, which wins.",
    ),
    backend(
        "backend-protocol-version",
        Reader::TargetGroups,
        "HTTP1",
        "`HTTP1`, `HTTP2` or `GRPC`: the target group's protocol version, how the load balancer talks to the targets. With `GRPC` the health check defaults to path `/AWS.ALB/healthcheck` and gRPC code `12`, and `success-codes` are gRPC codes (0 to 99), as in LBC. A change replaces the target group (ELBv2 cannot change it in place): the new one is made and filled before the rules move to it. Also read from the Service, which wins.",
    ),
    backend(
        "target-group-attributes",
        Reader::TargetGroups,
        "(none)",
        "Comma-separated `key=value` target group attributes. Also read from the Service, which wins.",
    ),
    backend(
        "healthcheck-protocol",
        Reader::HealthChecks,
        "the backend protocol",
        "`HTTP` or `HTTPS`. This and the other health-check annotations are also read from the Service, which wins.",
    ),
    backend(
        "healthcheck-port",
        Reader::HealthChecks,
        "traffic-port",
        "`traffic-port`, a port number, or the name of a Service port (meaning its NodePort; with ip targets its numeric targetPort).",
    ),
    backend(
        "healthcheck-path",
        Reader::HealthChecks,
        "/ (/AWS.ALB/healthcheck with GRPC)",
        "The health check path; for gRPC, the health-check method's `/package.Service/Method`.",
    ),
    backend("healthcheck-interval-seconds", Reader::HealthChecks, "15", "Seconds between health checks, 5 to 300."),
    backend("healthcheck-timeout-seconds", Reader::HealthChecks, "5", "Seconds before a health check fails, 2 to 120."),
    backend(
        "healthy-threshold-count",
        Reader::HealthChecks,
        "2",
        "Consecutive successes before a target is healthy, 2 to 10.",
    ),
    backend(
        "unhealthy-threshold-count",
        Reader::HealthChecks,
        "2",
        "Consecutive failures before a target is unhealthy, 2 to 10.",
    ),
    backend(
        "success-codes",
        Reader::HealthChecks,
        "200 (12 with GRPC)",
        "HTTP codes that count as healthy (`200`, `200-299`, `200,204`); with `backend-protocol-version: GRPC`, gRPC codes from 0 to 99 (`12`, `0-99`, `0,12`).",
    ),
    backend(
        "target-node-labels",
        Reader::Targets,
        "(all nodes)",
        "Comma-separated `key=value` (or `key`) labels; only matching nodes become the target group's targets. Also read from the Service, which wins.",
    ),
];

const FRONTEND_NLB: &str = "a network load balancer in front of the application load balancer";

/// The implemented annotations whose default is not LBC's (by full key), and what LBC does
/// instead; every other default is LBC's. docs/annotations.md says which is which.
pub const DEFAULTS_UNLIKE_LBC: &[(&str, &str)] = &[(
    "service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener",
    "false unless LBC's EnableTCPUDPListener feature gate is on; off, LBC serves only the first of the two ports and drops the other without a word",
)];

/// Every LBC annotation Elbow does not implement.
pub const NOT_IMPLEMENTED: &[NotImplemented] = &[
    lbc("aws-load-balancer-eip-allocations-discovery-tags", Scope::Service, "Elastic IP addresses found by tags"),
    lbc(
        "aws-load-balancer-inbound-sg-rules-on-private-link-traffic",
        Scope::Service,
        "security group rules for PrivateLink traffic",
    ),
    lbc("aws-load-balancer-multi-cluster-target-group", Scope::Service, "target groups shared between clusters"),
    lbc("aws-load-balancer-enable-prefix-for-ipv6-source-nat", Scope::Service, "IPv6 prefixes for source NAT"),
    lbc("aws-load-balancer-source-nat-ipv6-prefixes", Scope::Service, "IPv6 prefixes for source NAT"),
    lbc("aws-load-balancer-enable-icmp-for-path-mtu-discovery", Scope::Service, "ICMP for path MTU discovery"),
    lbc("actions.<protocol>-<port>", Scope::Service, "listener default actions from an annotation"),
    lbc("customer-owned-ipv4-pool", Scope::Ingress, "customer-owned IPv4 pools (Outposts)"),
    lbc("multi-cluster-target-group", Scope::IngressAndBackend, "target groups shared between clusters"),
    lbc("ipam-ipv4-pool-id", Scope::Ingress, "IPv4 addresses from an IPAM pool"),
    lbc("enable-frontend-nlb", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-scheme", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-subnets", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-security-groups", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-listener-port-mapping", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-eip-allocations", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-port", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-protocol", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-path", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-interval-seconds", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-timeout-seconds", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-healthy-threshold-count", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-unhealthy-threshold-count", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-healthcheck-success-codes", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-attributes", Scope::Ingress, FRONTEND_NLB),
    lbc("frontend-nlb-tags", Scope::Ingress, FRONTEND_NLB),
    lbc("target-control-port.<service>.<port>", Scope::IngressAndBackend, "target control ports"),
    lbc("create-acm-cert", Scope::Ingress, "certificates requested from ACM on demand"),
    lbc("acm-pca-arn", Scope::Ingress, "certificates requested from ACM on demand"),
    lbc("dry-run-plan", Scope::Ingress, "LBC's dry-run plan (`elbow plan` shows Elbow's)"),
];

/// What the docs say of `info`'s default next to LBC's.
pub fn lbc_default(info: &AnnotationInfo) -> Option<&'static str> {
    let key = format!("{}{}", info.scope.prefix(), info.suffix);
    DEFAULTS_UNLIKE_LBC.iter().find(|(k, _)| *k == key).map(|(_, lbc)| *lbc)
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
