//! A stack's need of node ports, and its record on the stack's load balancer: for each (node
//! group, ip protocol), the lowest and highest port the load balancer's target groups send
//! traffic or health checks to. That is all a range rule spanning the cluster's needs depends on.
//!
//! The record is the tag `elbow.dev/node-ports` (continued as `elbow.dev/node-ports.2`, ...):
//! entries `<node group>:<ip protocol>:<from>-<to>` separated by spaces, sorted, in values of at
//! most 256 characters (ELBv2's limit; letters, digits, spaces and `:-.` are all it allows and
//! all this needs).

use std::collections::{BTreeMap, HashMap};

use elbow_cloud::{Cloud, CloudResult, LoadBalancerFilter};
use elbow_model::tags::NODE_PORTS_TAG;
use elbow_model::{Ownership, RuleSource, SecurityGroupRef, Stack, StackId, Tags};
use tracing::warn;

/// ELBv2's limit on a tag value.
const MAX_VALUE_CHARS: usize = 256;
/// At most this many record tags on one load balancer (of the 50 ELBv2 allows): 60 entries and
/// more, enough for about 30 node groups with both protocols.
pub(crate) const MAX_RECORD_TAGS: usize = 10;

/// Inclusive port bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Span {
    pub(crate) from: u16,
    pub(crate) to: u16,
}

impl Span {
    pub(crate) fn hull(self, other: Span) -> Span {
        Span { from: self.from.min(other.from), to: self.to.max(other.to) }
    }

    pub(crate) fn covers(self, other: Span) -> bool {
        self.from <= other.from && other.to <= self.to
    }
}

/// A node group and an ip protocol (`tcp`, `udp`): what one range rule is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct GroupProtocol {
    pub(crate) group_id: String,
    pub(crate) protocol: String,
}

/// Per (node group, ip protocol), the span of ports a stack needs opened to the backend group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodePorts(BTreeMap<GroupProtocol, Span>);

impl NodePorts {
    /// What `stack` needs: its node rules whose source is the backend group, if it has a load
    /// balancer to record them on (without one, nothing sends from the backend group for it).
    pub fn of(stack: &Stack) -> NodePorts {
        let mut ports = NodePorts::default();
        if stack.load_balancers.is_empty() {
            return ports;
        }
        for rule in &stack.node_security_group_rules {
            if rule.rule.source != RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend) {
                continue;
            }
            let key = GroupProtocol { group_id: rule.group_id.clone(), protocol: rule.rule.ip_protocol.clone() };
            ports.add(key, Span { from: rule.rule.from_port, to: rule.rule.to_port });
        }
        ports
    }

    /// What the record tags among `tags` say; an entry that does not parse (not written by
    /// Elbow) is left out, with a warning.
    pub fn from_tags(tags: &Tags) -> NodePorts {
        let mut ports = NodePorts::default();
        for (key, value) in tags.range(NODE_PORTS_TAG.to_string()..) {
            if !is_record_key(key) {
                if key.starts_with(NODE_PORTS_TAG) {
                    continue;
                }
                break;
            }
            for entry in value.split(' ').filter(|e| !e.is_empty()) {
                match parse_entry(entry) {
                    Some((key, span)) => ports.add(key, span),
                    None => warn!(tag = %key, entry, "a node-ports record entry that Elbow did not write; ignored"),
                }
            }
        }
        ports
    }

    /// The record tags: `elbow.dev/node-ports`, then `.2`, `.3`, ... as the entries need.
    pub fn to_tags(&self) -> Tags {
        let mut values: Vec<String> = Vec::new();
        for (key, span) in &self.0 {
            let entry = format!("{}:{}:{}-{}", key.group_id, key.protocol, span.from, span.to);
            match values.last_mut() {
                Some(value) if value.len() + 1 + entry.len() <= MAX_VALUE_CHARS => {
                    value.push(' ');
                    value.push_str(&entry);
                }
                _ => values.push(entry),
            }
        }
        values.into_iter().enumerate().map(|(i, value)| (record_key(i), value)).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn groups(&self) -> impl Iterator<Item = String> + '_ {
        self.0.keys().map(|k| k.group_id.clone())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&GroupProtocol, &Span)> {
        self.0.iter()
    }

    /// Adds `span` to what is needed for `key` (the hull of both).
    pub(crate) fn add(&mut self, key: GroupProtocol, span: Span) {
        self.0.entry(key).and_modify(|s| *s = s.hull(span)).or_insert(span);
    }

    pub(crate) fn extend(&mut self, other: &NodePorts) {
        for (key, span) in &other.0 {
            self.add(key.clone(), *span);
        }
    }

    #[cfg(test)]
    pub(crate) fn get(&self, key: &GroupProtocol) -> Option<Span> {
        self.0.get(key).copied()
    }
}

/// Whether `key` is one of the record's tag keys: what the tag diff removes when no longer
/// desired, whoever set it, since a stale record would keep a range wider than needed.
pub(crate) fn is_record_key(key: &str) -> bool {
    match key.strip_prefix(NODE_PORTS_TAG) {
        Some("") => true,
        Some(rest) => rest.strip_prefix('.').is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n >= 2)),
        None => false,
    }
}

fn record_key(index: usize) -> String {
    if index == 0 { NODE_PORTS_TAG.to_string() } else { format!("{NODE_PORTS_TAG}.{}", index + 1) }
}

fn parse_entry(entry: &str) -> Option<(GroupProtocol, Span)> {
    let mut parts = entry.split(':');
    let (group_id, protocol, range) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || group_id.is_empty() || !matches!(protocol, "tcp" | "udp") {
        return None;
    }
    let (from, to) = range.split_once('-')?;
    let span = Span { from: from.parse().ok()?, to: to.parse().ok()? };
    (span.from <= span.to).then(|| (GroupProtocol { group_id: group_id.into(), protocol: protocol.into() }, span))
}

/// `desired` with its need recorded on each of its load balancers (replacing any record the
/// builder's tags might carry); the number of record tags it takes.
pub(crate) fn with_record(desired: &Stack) -> (Stack, usize) {
    let ports = NodePorts::of(desired);
    let record = ports.to_tags();
    let mut stack = desired.clone();
    for lb in &mut stack.load_balancers {
        lb.tags.retain(|key, _| !is_record_key(key));
        lb.tags.extend(record.clone());
    }
    (stack, record.len())
}

/// Every stack's need as its load balancers record it, read now: one listing of the load
/// balancers and their tags (20 per DescribeTags). Stacks of other clusters, and load balancers
/// that are not Elbow's, are left out.
pub(crate) async fn read_all(cloud: &dyn Cloud, cluster: &str) -> CloudResult<HashMap<StackId, NodePorts>> {
    let lbs = cloud.describe_load_balancers(LoadBalancerFilter::All).await?;
    let tags = cloud.describe_tags(&lbs.iter().map(|lb| lb.arn.clone()).collect::<Vec<_>>()).await?;
    Ok(needs_of(tags.values(), cluster))
}

/// The needs recorded on load balancers with these tags, by stack.
pub(crate) fn needs_of<'a>(tags: impl IntoIterator<Item = &'a Tags>, cluster: &str) -> HashMap<StackId, NodePorts> {
    let mut needs: HashMap<StackId, NodePorts> = HashMap::new();
    for tags in tags {
        let Some(owner) = Ownership::from_tags(tags).filter(|o| o.cluster == cluster) else { continue };
        let ports = NodePorts::from_tags(tags);
        if !ports.is_empty() {
            needs.entry(owner.stack).or_default().extend(&ports);
        }
    }
    needs
}

#[cfg(test)]
mod tests {
    use elbow_model::tags::ownership_tags;
    use elbow_model::{IngressRule, NodeSecurityGroupRule, ResourceId};

    use super::*;

    fn key(group: &str, protocol: &str) -> GroupProtocol {
        GroupProtocol { group_id: group.into(), protocol: protocol.into() }
    }

    fn rule(group: &str, protocol: &str, port: u16, source: RuleSource) -> NodeSecurityGroupRule {
        NodeSecurityGroupRule {
            resource_id: ResourceId::new(format!("NodeRule/{group}/{protocol}/{port}")),
            group_id: group.into(),
            rule: IngressRule {
                ip_protocol: protocol.into(),
                from_port: port,
                to_port: port,
                source,
                description: None,
            },
        }
    }

    fn backend() -> RuleSource {
        RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend)
    }

    #[test]
    fn a_stacks_need_is_the_span_of_its_backend_rules_per_group_and_protocol() {
        let mut stack = Stack::empty(StackId::new("default/web"));
        stack.node_security_group_rules = vec![
            rule("sg-a", "tcp", 31000, backend()),
            rule("sg-a", "tcp", 30100, backend()),
            rule("sg-a", "udp", 31000, backend()),
            rule("sg-b", "tcp", 31000, backend()),
            rule("sg-a", "tcp", 22, RuleSource::CidrIpv4("10.0.0.0/8".into())),
        ];
        assert!(NodePorts::of(&stack).is_empty(), "without a load balancer nothing sends from the backend group");
        stack.load_balancers.push(crate::plan::fixtures::lb_spec(elbow_model::Scheme::Internal));
        let ports = NodePorts::of(&stack);
        assert_eq!(
            ports.get(&key("sg-a", "tcp")),
            Some(Span { from: 30100, to: 31000 }),
            "the CIDR rule is not counted"
        );
        assert_eq!(ports.get(&key("sg-a", "udp")), Some(Span { from: 31000, to: 31000 }));
        assert_eq!(ports.get(&key("sg-b", "tcp")), Some(Span { from: 31000, to: 31000 }));
    }

    #[test]
    fn the_record_round_trips_through_tags_within_elbv2s_limits() {
        let mut ports = NodePorts::default();
        for i in 0..20 {
            ports.add(key(&format!("sg-0123456789abcdef{i:02}"), "tcp"), Span { from: 30000 + i, to: 32000 + i });
            ports.add(key(&format!("sg-0123456789abcdef{i:02}"), "udp"), Span { from: 8080, to: 8080 });
        }
        let tags = ports.to_tags();
        assert!(tags.len() > 1 && tags.len() <= MAX_RECORD_TAGS, "{tags:?}");
        for (key, value) in &tags {
            assert!(key.len() <= 128 && value.len() <= MAX_VALUE_CHARS, "{key}: {value}");
            assert!(is_record_key(key), "{key}");
            assert!(value.chars().all(|c| c.is_ascii_alphanumeric() || " :-".contains(c)), "{value}");
        }
        assert!(tags.contains_key("elbow.dev/node-ports") && tags.contains_key("elbow.dev/node-ports.2"));
        let mut with_others = tags.clone();
        with_others.insert("elbow.dev/node-portsx".into(), "sg-x:tcp:1-2".into());
        with_others.insert("team".into(), "a".into());
        assert_eq!(NodePorts::from_tags(&with_others), ports);
        assert_eq!(NodePorts::default().to_tags(), Tags::new());
    }

    #[test]
    fn entries_elbow_did_not_write_are_ignored() {
        let tags = Tags::from([(
            NODE_PORTS_TAG.to_string(),
            "sg-a:tcp:31000-31001 sg-a:icmp:1-2 sg-a:tcp:9-1 junk sg-b:udp:x-1 :tcp:1-2 sg-c:tcp:7-7".to_string(),
        )]);
        let ports = NodePorts::from_tags(&tags);
        assert_eq!(ports.iter().count(), 2, "{ports:?}");
        assert_eq!(ports.get(&key("sg-c", "tcp")), Some(Span { from: 7, to: 7 }));
        assert!(!is_record_key("elbow.dev/node-ports.1") && !is_record_key("elbow.dev/node-ports.x"));
    }

    #[test]
    fn needs_are_read_per_stack_from_this_clusters_load_balancers_only() {
        let record = |entries: &str| Tags::from([(NODE_PORTS_TAG.to_string(), entries.to_string())]);
        let owned = |cluster: &str, stack: &str, entries: &str| {
            let mut tags = ownership_tags(cluster, &StackId::new(stack), &ResourceId::new("LoadBalancer"));
            tags.extend(record(entries));
            tags
        };
        let all = [
            owned("prod", "default/web", "sg-a:tcp:31000-31000"),
            owned("prod", "default/web", "sg-a:tcp:32000-32000"),
            owned("staging", "default/web", "sg-a:tcp:1-65535"),
            record("sg-a:tcp:1-65535"),
        ];
        let needs = needs_of(all.iter(), "prod");
        assert_eq!(needs.len(), 1);
        assert_eq!(needs[&StackId::new("default/web")].get(&key("sg-a", "tcp")), Some(Span { from: 31000, to: 32000 }));
    }
}
