//! Fixed addresses (`eip-allocations`, `private-ipv4-addresses`, `ipv6-addresses`): one per
//! subnet, paired as LBC pairs them, refused where AWS or LBC would refuse them.

use super::*;
use elbow_model::SubnetAddresses;
use elbow_model::tags::SUBNET_ADDRESSES_TAG;

/// Two public and two private subnets, in two zones each, with their own IPv4 and IPv6 blocks.
fn network() -> CloudInventory {
    let subnet = |id: &str, zone: &str, cidr: &str, ipv6: &str, role: &str| Subnet {
        id: id.into(),
        availability_zone: zone.into(),
        cidr_block: cidr.into(),
        ipv6_cidr_blocks: if ipv6.is_empty() { Vec::new() } else { vec![ipv6.to_string()] },
        tags: Tags::from([(role.to_string(), "1".to_string())]),
    };
    CloudInventory {
        subnets: vec![
            subnet("subnet-pub-b", "us-east-1b", "10.0.2.0/24", "2600:1f18:0:2::/64", "kubernetes.io/role/elb"),
            subnet("subnet-pub-a", "us-east-1a", "10.0.1.0/24", "2600:1f18:0:1::/64", "kubernetes.io/role/elb"),
            subnet("subnet-priv-a", "us-east-1a", "10.0.11.0/24", "", "kubernetes.io/role/internal-elb"),
            subnet("subnet-priv-b", "us-east-1b", "10.0.12.0/24", "", "kubernetes.io/role/internal-elb"),
        ],
        ..inventory()
    }
}

fn build_in_network(annotations: &[(&str, &str)]) -> Result<Stack, BuildError> {
    let svc = service(annotations);
    build_service_stack(&svc, &borrowed(&nodes()), &[], &crate::endpoints::NoPodFacts, &network(), &config())
}

fn addresses(annotations: &[(&str, &str)]) -> Vec<SubnetAddresses> {
    let stack = build_in_network(annotations).unwrap_or_else(|e| panic!("{annotations:?}: {e}"));
    stack.load_balancers[0].subnet_addresses.clone()
}

fn refusal(annotations: &[(&str, &str)]) -> String {
    build_in_network(annotations).expect_err("a user error").to_string()
}

fn entry(subnet: &str, allocation: Option<&str>, ipv4: Option<&str>, ipv6: Option<&str>) -> SubnetAddresses {
    SubnetAddresses {
        subnet: subnet.into(),
        allocation_id: allocation.map(str::to_string),
        private_ipv4_address: ipv4.map(str::to_string),
        ipv6_address: ipv6.map(str::to_string),
    }
}

const PUBLIC: (&str, &str) = ("scheme", "internet-facing");
const DUALSTACK: (&str, &str) = ("ip-address-type", "dualstack");

#[test]
fn elastic_ips_go_to_the_subnets_in_the_order_of_their_ids() {
    // Discovered subnets are sorted by id: subnet-pub-a first, whatever the inventory's order.
    assert_eq!(
        addresses(&[PUBLIC, ("eip-allocations", "eipalloc-1, eipalloc-2")]),
        [entry("subnet-pub-a", Some("eipalloc-1"), None, None), entry("subnet-pub-b", Some("eipalloc-2"), None, None)]
    );
    // Named subnets too.
    assert_eq!(
        addresses(&[PUBLIC, ("subnets", "subnet-pub-b,subnet-pub-a"), ("eip-allocations", "eipalloc-9,eipalloc-8")]),
        [entry("subnet-pub-a", Some("eipalloc-9"), None, None), entry("subnet-pub-b", Some("eipalloc-8"), None, None)]
    );
}

#[test]
fn private_and_ipv6_addresses_go_to_the_subnet_that_holds_them() {
    assert_eq!(
        addresses(&[("scheme", "internal"), ("private-ipv4-addresses", "10.0.12.7,10.0.11.9")]),
        [entry("subnet-priv-a", None, Some("10.0.11.9"), None), entry("subnet-priv-b", None, Some("10.0.12.7"), None)]
    );
    assert_eq!(
        addresses(&[
            PUBLIC,
            DUALSTACK,
            ("eip-allocations", "eipalloc-1,eipalloc-2"),
            ("ipv6-addresses", "2600:1f18:0:2::10,2600:1f18:0:1::10"),
        ]),
        [
            entry("subnet-pub-a", Some("eipalloc-1"), None, Some("2600:1f18:0:1::10")),
            entry("subnet-pub-b", Some("eipalloc-2"), None, Some("2600:1f18:0:2::10")),
        ]
    );
}

#[test]
fn without_fixed_addresses_aws_picks_them_and_nothing_is_recorded() {
    let stack = build_in_network(&[PUBLIC]).expect("builds");
    assert!(stack.load_balancers[0].subnet_addresses.is_empty());
    assert!(!stack.load_balancers[0].tags.contains_key(SUBNET_ADDRESSES_TAG));
}

#[test]
fn the_record_tag_changes_with_the_addresses_and_only_with_them() {
    let record = |annotations: &[(&str, &str)]| {
        let stack = build_in_network(annotations).expect("builds");
        stack.load_balancers[0].tags.get(SUBNET_ADDRESSES_TAG).cloned().expect("recorded")
    };
    let first = record(&[PUBLIC, ("eip-allocations", "eipalloc-1,eipalloc-2")]);
    assert_eq!(first.len(), 16);
    assert_eq!(first, record(&[PUBLIC, ("eip-allocations", "eipalloc-1, eipalloc-2"), ("healthcheck-interval", "30")]));
    assert_ne!(first, record(&[PUBLIC, ("eip-allocations", "eipalloc-2,eipalloc-1")]));
    assert_ne!(first, record(&[PUBLIC, ("eip-allocations", "eipalloc-1,eipalloc-3")]));
}

#[test]
fn addresses_that_do_not_fit_the_load_balancer_are_refused_with_what_to_do() {
    const EIP: &str = "annotation service.beta.kubernetes.io/aws-load-balancer-eip-allocations";
    const IPV4: &str = "annotation service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses";
    const IPV6: &str = "annotation service.beta.kubernetes.io/aws-load-balancer-ipv6-addresses";
    let internal = ("scheme", "internal");
    for (annotations, expected) in [
        (
            vec![internal, ("eip-allocations", "eipalloc-1,eipalloc-2")],
            format!(
                "{EIP} has an invalid value \"eipalloc-1,eipalloc-2\": Elastic IPs are for internet-facing load balancers only, and this one is internal; set aws-load-balancer-scheme: internet-facing, or remove the annotation"
            ),
        ),
        (
            vec![PUBLIC, ("eip-allocations", "eipalloc-1")],
            format!(
                "{EIP} names 1 Elastic IPs for 2 subnets (subnet-pub-a, subnet-pub-b); it takes exactly one per subnet"
            ),
        ),
        (
            vec![PUBLIC, ("eip-allocations", "eipalloc-1,203.0.113.7")],
            format!(
                "{EIP} has an invalid value \"eipalloc-1,203.0.113.7\": comma-separated Elastic IP allocation ids like eipalloc-0123456789abcdef0; \"203.0.113.7\" is not one"
            ),
        ),
        (
            vec![PUBLIC, ("eip-allocations", "eipalloc-1,eipalloc-1")],
            format!(
                "{EIP} has an invalid value \"eipalloc-1,eipalloc-1\": one Elastic IP per subnet; eipalloc-1 is listed twice"
            ),
        ),
        (
            vec![PUBLIC, ("private-ipv4-addresses", "10.0.1.5,10.0.2.5")],
            format!(
                "{IPV4} has an invalid value \"10.0.1.5,10.0.2.5\": private IPv4 addresses are for internal load balancers only, and this one is internet-facing; set aws-load-balancer-scheme: internal, or remove the annotation"
            ),
        ),
        (
            vec![internal, ("private-ipv4-addresses", "10.0.11.5,10.0.12.x")],
            format!(
                "{IPV4} has an invalid value \"10.0.11.5,10.0.12.x\": comma-separated IPv4 addresses like 10.0.1.10; \"10.0.12.x\" is not one"
            ),
        ),
        (
            vec![internal, ("private-ipv4-addresses", "10.0.11.5,10.0.11.6")],
            format!(
                "{IPV4} needs exactly one address inside each subnet's CIDR block; subnet subnet-priv-a (10.0.11.0/24) holds 2 of them (10.0.11.5, 10.0.11.6)"
            ),
        ),
        (
            vec![internal, ("private-ipv4-addresses", "10.0.11.5,10.0.99.6")],
            format!(
                "{IPV4} needs exactly one address inside each subnet's CIDR block; subnet subnet-priv-b (10.0.12.0/24) holds none of them"
            ),
        ),
        (
            vec![internal, ("private-ipv4-addresses", "10.0.11.5,10.0.12.5,10.0.13.5")],
            format!(
                "{IPV4} names 3 addresses for 2 subnets (subnet-priv-a, subnet-priv-b); it takes exactly one per subnet"
            ),
        ),
        (
            vec![PUBLIC, ("ipv6-addresses", "2600:1f18:0:1::10,2600:1f18:0:2::10")],
            format!(
                "{IPV6} has an invalid value \"2600:1f18:0:1::10,2600:1f18:0:2::10\": IPv6 addresses are for dualstack load balancers only; set aws-load-balancer-ip-address-type: dualstack, or remove the annotation"
            ),
        ),
        (
            vec![PUBLIC, DUALSTACK, ("ipv6-addresses", "2600:1f18:0:1::10,10.0.2.10")],
            format!(
                "{IPV6} has an invalid value \"2600:1f18:0:1::10,10.0.2.10\": comma-separated IPv6 addresses like 2600:1f18::10; \"10.0.2.10\" is not one"
            ),
        ),
        (
            vec![internal, DUALSTACK, ("ipv6-addresses", "2600:1f18:0:1::10,2600:1f18:0:2::10")],
            format!("{IPV6} needs an IPv6 address in subnet subnet-priv-a, which has no IPv6 CIDR block"),
        ),
        (
            vec![PUBLIC, DUALSTACK, ("ipv6-addresses", "2600:1f18:0:1::10,2600:1f18:0:9::10")],
            format!(
                "{IPV6} needs exactly one address inside each subnet's CIDR block; subnet subnet-pub-b (2600:1f18:0:2::/64) holds none of them"
            ),
        ),
    ] {
        assert_eq!(refusal(&annotations), expected, "{annotations:?}");
    }
}

#[test]
fn a_misfit_that_a_subnet_change_can_cure_is_checked_again_with_the_inventory() {
    let error = build_in_network(&[PUBLIC, ("eip-allocations", "eipalloc-1")]).expect_err("one for two");
    assert!(error.depends_on_cloud(), "{error}");
    let error = build_in_network(&[("scheme", "internal"), ("eip-allocations", "eipalloc-1")]).expect_err("internal");
    assert!(!error.depends_on_cloud(), "{error}");
}
