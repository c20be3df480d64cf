//! Listen ports, as the AWS Load Balancer Controller reads them: each member's `listen-ports` (JSON, default HTTP 80, or HTTPS
//! 443 when it has certificates), its certificates, SSL policy, inbound CIDRs and
//! `security-group-prefix-lists` and `listener-attributes.<protocol>-<port>`, merged per port
//! across the group: members sharing a port must agree on its protocol, SSL policy, CIDRs, prefix
//! lists and each listener attribute; their certificates add up. A port
//! with neither CIDRs nor prefix lists is open to the world. `ssl-redirect` turns every HTTP
//! listener into a redirect to one HTTPS port.
//!
//! Certificate discovery, as LBC does it: a member with an HTTPS listen port that names no
//! certificate (neither `certificate-arn` nor the IngressClassParams `certificateArn`) gets the
//! issued ACM certificates that serve the hosts of its rules and of its `spec.tls[].hosts`, every
//! certificate that serves one of them, sorted by ARN; a host that none serves is an error. Its
//! `listen-ports` default stays HTTP 80, as in LBC: discovery needs HTTPS named there.
//! `mutual-authentication` (see `mutual_tls`) is per HTTPS port, and members sharing one must agree.

use std::collections::BTreeMap;

use crate::crd::IngressClassParamsSpec;
use crate::error::BuildError;
use crate::ingress::group::{Member, ordered_members};
use crate::ingress::mutual_tls;
use crate::ingress::params;
use crate::ingress::settings::{agree, agreed};
use crate::security::{is_cidr, parse_prefix_lists};
use elbow_model::stack::{Attributes, IpAddressType, Protocol};
use elbow_model::{AcmCertificate, MutualAuthentication};
use k8s_openapi::api::networking::v1::Ingress;

pub(crate) const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// One listener of the group's load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenPort {
    pub port: u16,
    pub protocol: Protocol,
    /// HTTPS only; the first is the default certificate.
    pub certificates: Vec<String>,
    /// HTTPS only.
    pub ssl_policy: Option<String>,
    /// Who the frontend group admits on this port: CIDR blocks and managed prefix lists.
    pub cidrs: Vec<String>,
    pub prefix_lists: Vec<String>,
    /// Indexes (into the ordered members) of the members listening here, in rule order.
    pub members: Vec<usize>,
    /// `listener-attributes.<protocol>-<port>` of the members listening here, merged.
    pub attributes: Attributes,
    /// HTTPS only: `mutual-authentication` of the members listening here, agreed.
    pub mutual_authentication: Option<MutualAuthentication>,
}

/// One member's wishes for its ports.
struct MemberPorts {
    ports: BTreeMap<u16, Protocol>,
    certificates: Vec<String>,
    ssl_policy: Option<String>,
    cidrs: Option<Vec<String>>,
    prefix_lists: Option<Vec<String>>,
    /// `listener-attributes.<protocol>-<port>`, by `<protocol>-<port>` as written.
    listener_attributes: BTreeMap<String, Attributes>,
    /// The hosts to find certificates for: HTTPS listen ports and no certificate named.
    discover_for: Option<Vec<String>>,
    /// `mutual-authentication`, by port.
    mutual: BTreeMap<u16, MutualAuthentication>,
}

const LISTENER_ATTRIBUTES: &str = "listener-attributes.";

/// The group's listeners, by port.
pub(crate) fn listen_ports(
    members: &[Member<'_>],
    params: Option<&IngressClassParamsSpec>,
    ip_address_type: IpAddressType,
    acm: &[AcmCertificate],
) -> Result<Vec<ListenPort>, BuildError> {
    let mut wishes = Vec::with_capacity(members.len());
    for member in members {
        let mut wish = member_ports(member, params).map_err(|e| member.blame(e))?;
        if let Some(hosts) = &wish.discover_for {
            wish.certificates = discovered(hosts, acm).map_err(|e| member.blame(e))?;
        }
        wishes.push((member, wish));
    }
    let ports: std::collections::BTreeSet<u16> = wishes.iter().flat_map(|(_, w)| w.ports.keys().copied()).collect();
    let mut class_attributes = params::listener_attributes(params)?;
    let mut listeners = Vec::with_capacity(ports.len());
    for port in ports {
        let here: Vec<(usize, &Member<'_>, &MemberPorts)> = wishes
            .iter()
            .enumerate()
            .filter(|(_, (_, w))| w.ports.contains_key(&port))
            .map(|(index, (member, w))| (index, *member, w))
            .collect();
        let protocols = here.iter().map(|(_, m, w)| (*m, w.ports[&port])).collect();
        let protocol = agree(&format!("protocol of listen port {port}"), protocols)?.unwrap_or(Protocol::Http);
        let (mut certificates, mut ssl_policy) = (Vec::new(), None);
        if protocol == Protocol::Https {
            let policies = here.iter().filter_map(|(_, m, w)| Some((*m, w.ssl_policy.clone()?))).collect();
            let policy = agree(&format!("ssl-policy of listen port {port}"), policies)?;
            ssl_policy = Some(policy.unwrap_or_else(|| DEFAULT_SSL_POLICY.to_string()));
            for certificate in here.iter().flat_map(|(_, _, w)| &w.certificates) {
                if !certificates.contains(certificate) {
                    certificates.push(certificate.clone());
                }
            }
            if certificates.is_empty() {
                return Err(BuildError::MissingCertificate { port });
            }
        }
        let prefix_list_wishes = here.iter().filter_map(|(_, m, w)| Some((*m, w.prefix_lists.clone()?))).collect();
        let prefix_lists = agree(&format!("security-group-prefix-lists of listen port {port}"), prefix_list_wishes)?
            .unwrap_or_default();
        let cidr_wishes = here.iter().filter_map(|(_, m, w)| Some((*m, w.cidrs.clone()?))).collect();
        let cidrs = match agree(&format!("inbound-cidrs of listen port {port}"), cidr_wishes)? {
            // IPv6 clients reach only a dualstack load balancer; admitting them elsewhere is noise.
            Some(cidrs) => {
                cidrs.into_iter().filter(|c| ip_address_type == IpAddressType::Dualstack || !c.contains(':')).collect()
            }
            // Prefix lists alone admit only themselves.
            None if !prefix_lists.is_empty() => Vec::new(),
            None if ip_address_type == IpAddressType::Dualstack => vec!["0.0.0.0/0".into(), "::/0".into()],
            None => vec!["0.0.0.0/0".into()],
        };
        let name = format!("{}-{port}", protocol.as_str());
        let mut attributes = Attributes::new();
        let keys: std::collections::BTreeSet<&String> =
            here.iter().filter_map(|(_, _, w)| w.listener_attributes.get(&name)).flat_map(|a| a.keys()).collect();
        for key in keys {
            let values = here
                .iter()
                .filter_map(|(_, m, w)| Some((*m, w.listener_attributes.get(&name)?.get(key)?.clone())))
                .collect();
            if let Some(value) = agree(&format!("listener attribute {key} of listen port {port}"), values)? {
                attributes.insert(key.clone(), value);
            }
        }
        let mutual_wishes = here.iter().filter_map(|(_, m, w)| Some((*m, w.mutual.get(&port)?.clone()))).collect();
        let mutual_authentication = agree(&format!("mutual-authentication of listen port {port}"), mutual_wishes)?;
        // The class's attributes win key by key; the members' other keys stay.
        if let Some(overrides) = class_attributes.remove(&name) {
            attributes.extend(overrides);
        }
        let members = here.iter().map(|(index, _, _)| *index).collect();
        listeners.push(ListenPort {
            port,
            protocol,
            certificates,
            ssl_policy,
            cidrs,
            prefix_lists,
            members,
            attributes,
            mutual_authentication,
        });
    }
    // So would the class's: every listener it names must exist.
    if let Some(unknown) = class_attributes.keys().next() {
        let names: Vec<String> = listeners.iter().map(|l| format!("{}-{}", l.protocol.as_str(), l.port)).collect();
        return Err(BuildError::InvalidParameter {
            field: "listeners".into(),
            value: unknown.clone(),
            expected: format!("a listener of the group, named by protocol and port; it has {}", names.join(", ")),
        });
    }
    // A member's attributes for a listener it does not listen on would be lost without a word;
    // so would mutual TLS of a port that is not one of its HTTPS listen ports.
    for (member, wish) in &wishes {
        if let Some(port) = wish.mutual.keys().find(|p| wish.ports.get(p) != Some(&Protocol::Https)) {
            let a = member.annotations();
            let https: Vec<String> =
                wish.ports.iter().filter(|(_, p)| **p == Protocol::Https).map(|(port, _)| port.to_string()).collect();
            let error = a.invalid(
                mutual_tls::ANNOTATION,
                a.get(mutual_tls::ANNOTATION).unwrap_or_default(),
                &format!(
                    "mutual TLS of the Ingress's HTTPS listen ports; port {port} is not one of them (its HTTPS listen ports: {})",
                    if https.is_empty() { "none".to_string() } else { https.join(", ") }
                ),
            );
            return Err(member.blame(error));
        }
        let names: Vec<String> =
            wish.ports.iter().map(|(port, protocol)| format!("{}-{port}", protocol.as_str())).collect();
        if let Some(unknown) = wish.listener_attributes.keys().find(|k| !names.contains(k)) {
            let a = member.annotations();
            let suffix = format!("{LISTENER_ATTRIBUTES}{unknown}");
            let error = a.invalid(
                &suffix,
                a.get(&suffix).unwrap_or_default(),
                &format!(
                    "attributes of one of the Ingress's listen ports, named <protocol>-<port>; it has no listen port {unknown} (its listen ports: {})",
                    names.join(", ")
                ),
            );
            return Err(member.blame(error));
        }
    }
    Ok(listeners)
}

fn member_ports(member: &Member<'_>, params: Option<&IngressClassParamsSpec>) -> Result<MemberPorts, BuildError> {
    let a = member.annotations();
    let certificates = match params.and_then(|p| p.certificate_arn.clone()).filter(|c| !c.is_empty()) {
        Some(certificates) => certificates,
        None => a.list("certificate-arn").unwrap_or_default(),
    };
    let ssl_policy = match params.and_then(|p| p.ssl_policy.clone()).filter(|p| !p.is_empty()) {
        Some(policy) => Some(policy),
        None => a.get("ssl-policy").map(str::to_string),
    };
    let cidrs = match params.and_then(|p| p.inbound_cidrs.clone()).filter(|c| !c.is_empty()) {
        Some(cidrs) => {
            if let Some(bad) = cidrs.iter().find(|c| !is_cidr(c)) {
                return Err(BuildError::InvalidParameter {
                    field: "inboundCIDRs".into(),
                    value: bad.clone(),
                    expected: "CIDR blocks like 10.0.0.0/8".into(),
                });
            }
            Some(cidrs)
        }
        None => a.parse("inbound-cidrs", "comma-separated CIDR blocks like 10.0.0.0/8", |v| {
            let cidrs = crate::annotations::split_list(v);
            (!cidrs.is_empty() && cidrs.iter().all(|c| is_cidr(c))).then_some(cidrs)
        })?,
    };
    let cidrs = cidrs.map(|mut cidrs| {
        cidrs.sort();
        cidrs.dedup();
        cidrs
    });
    let prefix_lists = match params::prefix_lists(params)? {
        Some(ids) => Some(ids),
        None => a.parse(
            "security-group-prefix-lists",
            "comma-separated managed prefix list ids like pl-0123456789abcdef0",
            parse_prefix_lists,
        )?,
    };
    let expected = r#"a JSON list like [{"HTTP": 80}, {"HTTPS": 443}]"#;
    let ports = match a.json::<Vec<BTreeMap<String, i64>>>("listen-ports", expected)? {
        None if certificates.is_empty() => BTreeMap::from([(80, Protocol::Http)]),
        None => BTreeMap::from([(443, Protocol::Https)]),
        Some(entries) => {
            let raw = a.get("listen-ports").unwrap_or_default();
            let mut ports = BTreeMap::new();
            for (protocol, port) in entries.iter().flatten() {
                let protocol = match protocol.as_str() {
                    "HTTP" => Protocol::Http,
                    "HTTPS" => Protocol::Https,
                    _ => {
                        return Err(a.invalid(
                            "listen-ports",
                            raw,
                            &format!("{expected}; protocol {protocol:?} is neither HTTP nor HTTPS"),
                        ));
                    }
                };
                let port = u16::try_from(*port).ok().filter(|p| *p > 0).ok_or_else(|| {
                    a.invalid("listen-ports", raw, &format!("{expected}; port {port} is not within 1 to 65535"))
                })?;
                if ports.insert(port, protocol).is_some_and(|earlier| earlier != protocol) {
                    return Err(a.invalid(
                        "listen-ports",
                        raw,
                        &format!("{expected}; port {port} is listed as HTTP and HTTPS"),
                    ));
                }
            }
            if ports.is_empty() {
                return Err(a.invalid("listen-ports", raw, &format!("{expected}, not empty")));
            }
            ports
        }
    };
    let mut listener_attributes = BTreeMap::new();
    for (listener, _) in a.under(LISTENER_ATTRIBUTES) {
        if let Some(attributes) = a.pairs(&format!("{LISTENER_ATTRIBUTES}{listener}"), false)? {
            listener_attributes.insert(listener.to_string(), attributes);
        }
    }
    let discover_for =
        (certificates.is_empty() && ports.values().any(|p| *p == Protocol::Https)).then(|| tls_hosts(member.ingress));
    let mutual = mutual_tls::read(&a)?;
    Ok(MemberPorts { ports, certificates, ssl_policy, cidrs, prefix_lists, listener_attributes, discover_for, mutual })
}

/// The hosts of an Ingress's rules and of its `spec.tls[].hosts`, sorted, once each.
fn tls_hosts(ingress: &Ingress) -> Vec<String> {
    let spec = ingress.spec.as_ref();
    let rules = spec.and_then(|s| s.rules.as_ref()).into_iter().flatten().filter_map(|r| r.host.clone());
    let tls = spec.and_then(|s| s.tls.as_ref()).into_iter().flatten().flat_map(|t| t.hosts.clone().unwrap_or_default());
    let hosts: std::collections::BTreeSet<String> = rules.chain(tls).filter(|h| !h.is_empty()).collect();
    hosts.into_iter().collect()
}

/// Every certificate of `acm` that serves one of `hosts`, sorted by ARN (the first is the
/// default), or the first host that none serves.
fn discovered(hosts: &[String], acm: &[AcmCertificate]) -> Result<Vec<String>, BuildError> {
    let mut found = std::collections::BTreeSet::new();
    for host in hosts {
        let serving: Vec<&AcmCertificate> = acm.iter().filter(|c| c.serves(host)).collect();
        if serving.is_empty() {
            return Err(BuildError::NoCertificateForHost { host: host.clone() });
        }
        found.extend(serving.into_iter().map(|c| c.arn.clone()));
    }
    Ok(found.into_iter().collect())
}

/// Whether building the group needs the region's ACM certificates: a member has an HTTPS listen
/// port and names no certificate. Members whose annotations do not read are left to the build,
/// which reports them.
pub fn discovers_certificates(members: &[&Ingress], params: Option<&IngressClassParamsSpec>) -> bool {
    let Ok(members) = ordered_members(members) else { return false };
    members.iter().any(|m| member_ports(m, params).is_ok_and(|w| w.discover_for.is_some()))
}

/// The HTTPS port every HTTP listener redirects to: the IngressClassParams `sslRedirectPort`, else
/// the one the members that ask for one agree on.
pub(crate) fn ssl_redirect(
    members: &[Member<'_>],
    params: Option<&IngressClassParamsSpec>,
    listeners: &[ListenPort],
) -> Result<Option<u16>, BuildError> {
    let port = match params::ssl_redirect_port(params)? {
        Some(port) => Some(port),
        None => agreed(members, "ssl-redirect", |m| {
            m.annotations().parse("ssl-redirect", "an HTTPS listen port (1 to 65535)", |v| {
                v.parse::<u16>().ok().filter(|p| *p > 0)
            })
        })?,
    };
    let Some(port) = port else { return Ok(None) };
    match listeners.iter().find(|l| l.port == port) {
        Some(listener) if listener.protocol == Protocol::Https => Ok(Some(port)),
        Some(_) => Err(BuildError::SslRedirectPort { port, reason: "listens for HTTP, not HTTPS" }),
        None => Err(BuildError::SslRedirectPort { port, reason: "is not a listen port of the group" }),
    }
}
