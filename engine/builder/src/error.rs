//! Why a Service or an Ingress group cannot be built: always something the user must change, named
//! precisely.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("annotation {annotation} has an invalid value {value:?}: {expected}")]
    InvalidAnnotation { annotation: String, value: String, expected: String },
    #[error("{feature} is not supported yet ({annotation}: {value:?})")]
    NotSupported { feature: String, annotation: String, value: String },
    #[error(
        "unknown annotation {annotation}: neither Elbow nor the AWS Load Balancer Controller reads it{}",
        did_you_mean(.suggestion)
    )]
    UnknownAnnotation { annotation: String, suggestion: Option<String> },
    #[error(
        "annotation {annotation} is the AWS Load Balancer Controller's for {feature}, which is not supported by Elbow; remove it, or leave this object to that controller"
    )]
    AnnotationNotSupported { annotation: String, feature: String },
    #[error("annotation {annotation} {reason}")]
    MisplacedAnnotation { annotation: String, reason: String },
    #[error("the Service has no {0}")]
    MissingField(&'static str),
    #[error(
        "port {port}/{protocol} has no nodePort; instance targets need one (do not set allocateLoadBalancerNodePorts: false)"
    )]
    MissingNodePort { port: i32, protocol: String },
    #[error("protocol {protocol} of port {port} is not supported by a network load balancer")]
    UnsupportedProtocol { port: i32, protocol: String },
    #[error("ports {port}/TCP and {port}/UDP must share one nodePort to be served by one TCP_UDP listener")]
    MixedProtocolNodePorts { port: i32 },
    #[error("ports {port}/TCP and {port}/UDP must share one targetPort to be served by one TCP_UDP listener")]
    MixedProtocolTargetPorts { port: i32 },
    #[error(
        "ports {port}/TCP and {port}/UDP need one TCP_UDP listener (a network load balancer has one listener per port number), and service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener is \"false\"; remove that annotation, or give the two ports different numbers"
    )]
    TcpUdpListenerDisabled { port: i32 },
    #[error("port {port} is listed twice for {protocol}")]
    DuplicatePort { port: i32, protocol: String },
    #[error("the Service has no ports")]
    NoPorts,
    #[error("port {0} is not a valid port number (1 to 65535)")]
    InvalidPort(i32),
    #[error("spec.loadBalancerSourceRanges has an invalid value {0:?}: expected CIDR blocks like 10.0.0.0/8")]
    InvalidSourceRange(String),
    /// The fixed addresses do not fit the load balancer's subnets (their number or CIDR blocks).
    #[error("annotation {annotation} {reason}")]
    SubnetAddresses { annotation: String, reason: String },
    #[error("subnet {0:?} was not found in the cluster's VPC")]
    UnknownSubnet(String),
    #[error("subnets {} and {} are both in {zone}; a load balancer takes one subnet per availability zone", subnets[0], subnets[1])]
    SubnetsShareZone { zone: String, subnets: [String; 2] },
    #[error(
        "no subnet of the cluster's VPC is tagged {role_tag} (with value \"\" or \"1\") for a {scheme} load balancer"
    )]
    NoSubnets { role_tag: String, scheme: String },
    #[error(
        "security group {0:?} of the security-groups annotation was not found: no security group of the cluster's VPC carries the tag Name={0}; tag the group meant, or give its id (sg-...)"
    )]
    UnknownSecurityGroup(String),
    #[error(
        "security group name {name:?} of the security-groups annotation is ambiguous: {} security groups of the cluster's VPC carry the tag Name={name} ({}); give the id instead, or rename all but one",
        ids.len(),
        ids.join(", ")
    )]
    AmbiguousSecurityGroupName { name: String, ids: Vec<String> },
    #[error(
        "instance {instance} of node {node} has {count} security groups and none is tagged {tag}; tag the one Elbow should open"
    )]
    AmbiguousNodeSecurityGroup { node: String, instance: String, count: usize, tag: String },
    #[error(
        "load balancer name {0:?} is invalid: at most 32 letters, digits and hyphens, not starting or ending with a hyphen or starting with internal-"
    )]
    InvalidName(String),
    #[error("namespace {0} may not use this IngressClass (its parameters' namespaceSelector)")]
    NamespaceNotSelected(String),
    /// The Ingress's class cannot be used as it is; the message says what to fix.
    #[error("{0}")]
    IngressClass(String),
    #[error(
        "the Ingress asks for class {class} with the legacy annotation kubernetes.io/ingress.class, the AWS Load Balancer Controller's class, and no IngressClass {class} exists; Elbow serves Ingresses of an IngressClass whose controller is {controller}: set spec.ingressClassName to such a class and remove the annotation (it wins over the field), or create IngressClass {class} with controller {controller}"
    )]
    UnservedLegacyClass { class: String, controller: String },
    #[error("Service {service}: {source}")]
    InService { service: String, source: Box<BuildError> },
    #[error("Ingress {ingress}: {source}")]
    InIngress { ingress: String, source: Box<BuildError> },
    #[error("conflicting {setting} in the Ingress group: {} sets {}, {} sets {}", ingresses[0], values[0], ingresses[1], values[1])]
    GroupConflict { setting: String, ingresses: [String; 2], values: [String; 2] },
    #[error("IngressClassParams field {field} has an invalid value {value:?}: {expected}")]
    InvalidParameter { field: String, value: String, expected: String },
    #[error(
        "IngressClassParams field {field} ({feature}) is not supported by Elbow; remove it from the class's parameters"
    )]
    ParameterNotSupported { field: String, feature: String },
    #[error("the Ingress has no {0}")]
    MissingIngressField(&'static str),
    #[error("path {path:?} has pathType {path_type:?}; expected Exact, Prefix or ImplementationSpecific")]
    UnknownPathType { path: String, path_type: String },
    #[error("path {path:?} of pathType {path_type} is invalid: {reason}")]
    InvalidPath { path: String, path_type: String, reason: String },
    #[error("Service {service} is of type {service_type}; instance targets need type NodePort or LoadBalancer")]
    ServiceNotExposed { service: String, service_type: String },
    #[error("Service {service} has no port {port}")]
    MissingServicePort { service: String, port: String },
    #[error("{0}")]
    InvalidBackend(String),
    #[error(
        "listen port {port} is HTTPS but no member of the group sets a certificate, nor has a host to find one for in ACM; set the alb.ingress.kubernetes.io/certificate-arn annotation or the IngressClassParams certificateArn, or give the rules hosts"
    )]
    MissingCertificate { port: u16 },
    #[error(
        "no issued ACM certificate of the load balancer's region is for host {host:?}, and the Ingress names none (certificate discovery); \
         request or import one for it in ACM, or set alb.ingress.kubernetes.io/certificate-arn"
    )]
    NoCertificateForHost { host: String },
    #[error("ssl-redirect names port {port}, which {reason}; name an HTTPS port of listen-ports")]
    SslRedirectPort { port: u16, reason: &'static str },
    #[error("listener {port} would have {count} rules; an application load balancer takes at most 100 per listener")]
    TooManyRules { port: u16, count: usize },
    #[error("the Ingress group would need {0} target groups; an application load balancer takes at most 100")]
    TooManyTargetGroups(usize),
    #[error("no subnet of the cluster's VPC carries the tags {0}")]
    NoSubnetsMatchTags(String),
    #[error("an application load balancer needs subnets in at least 2 availability zones; found {found}")]
    TooFewSubnets { found: usize },
    #[error(
        "Secret {namespace}/{name}, named by alb.ingress.kubernetes.io/auth-idp-oidc, does not exist; create it in the Ingress's namespace with the keys clientID and clientSecret"
    )]
    MissingSecret { namespace: String, name: String },
    #[error("Secret {namespace}/{name}, named by alb.ingress.kubernetes.io/auth-idp-oidc, cannot be used: {reason}")]
    InvalidSecret { namespace: String, name: String, reason: String },
    #[error(
        "alb.ingress.kubernetes.io/auth-type and alb.ingress.kubernetes.io/jwt-validation cannot both apply to a rule; choose one"
    )]
    AuthAndJwt,
}

impl BuildError {
    /// Whether the mistake lies in cloud state Elbow reads (subnet tags, node security groups)
    /// rather than in the object alone: such an error may go away without the object changing,
    /// so it is worth checking again once the cloud inventory is refreshed.
    pub fn depends_on_cloud(&self) -> bool {
        match self {
            Self::UnknownSubnet(_)
            | Self::SubnetsShareZone { .. }
            | Self::NoSubnets { .. }
            | Self::SubnetAddresses { .. }
            | Self::AmbiguousNodeSecurityGroup { .. }
            | Self::UnknownSecurityGroup(_)
            | Self::AmbiguousSecurityGroupName { .. }
            | Self::NoSubnetsMatchTags(_)
            | Self::TooFewSubnets { .. } => true,
            Self::InIngress { source, .. } | Self::InService { source, .. } => source.depends_on_cloud(),
            _ => false,
        }
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|key| format!("; did you mean {key}?")).unwrap_or_default()
}
