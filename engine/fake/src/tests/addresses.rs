//! Fixed addresses (`SubnetMappings`): the fake refuses what ELBv2 refuses, keeps what it takes,
//! and frees an Elastic IP with its load balancer.

use elbow_model::SubnetAddresses;

use super::*;

/// Two subnets with their own IPv4 and IPv6 blocks, and two Elastic IPs.
fn addressed_network() -> FakeCloud {
    let cloud = FakeCloud::new();
    for (id, zone, cidr, ipv6) in [
        ("subnet-a", "us-east-1a", "10.0.1.0/24", "2600:1f18:0:1::/64"),
        ("subnet-b", "us-east-1b", "10.0.2.0/24", "2600:1f18:0:2::/64"),
    ] {
        cloud.seed_subnet(Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: zone.into(),
            cidr_block: cidr.into(),
            ipv6_cidr_blocks: vec![ipv6.into()],
            tags: Tags::new(),
        });
    }
    cloud.seed_elastic_ip("eipalloc-1");
    cloud.seed_elastic_ip("eipalloc-2");
    cloud
}

fn at(subnet: &str) -> SubnetAddresses {
    SubnetAddresses { subnet: subnet.into(), allocation_id: None, private_ipv4_address: None, ipv6_address: None }
}

fn eips(a: &str, b: &str) -> Vec<SubnetAddresses> {
    vec![
        SubnetAddresses { allocation_id: Some(a.into()), ..at("subnet-a") },
        SubnetAddresses { allocation_id: Some(b.into()), ..at("subnet-b") },
    ]
}

fn private(a: &str, b: &str) -> Vec<SubnetAddresses> {
    vec![
        SubnetAddresses { private_ipv4_address: Some(a.into()), ..at("subnet-a") },
        SubnetAddresses { private_ipv4_address: Some(b.into()), ..at("subnet-b") },
    ]
}

fn with(addresses: Vec<SubnetAddresses>, name: &str) -> CreateLoadBalancer {
    CreateLoadBalancer { subnet_addresses: addresses, ..lb_input(name) }
}

#[tokio::test]
async fn a_load_balancer_keeps_the_addresses_it_was_created_with() {
    let cloud = addressed_network();
    let lb = cloud.create_load_balancer(with(eips("eipalloc-2", "eipalloc-1"), "web")).await.expect("created");
    assert_eq!(cloud.subnet_addresses(&lb.arn), eips("eipalloc-2", "eipalloc-1"));
    assert_eq!(lb.subnets, ["subnet-a", "subnet-b"]);
    // AWS answers a repeated create with the same addresses with the same load balancer, and
    // refuses one with other addresses under the same name.
    let again = cloud.create_load_balancer(with(eips("eipalloc-2", "eipalloc-1"), "web")).await.expect("same");
    assert_eq!(again.arn, lb.arn);
    let other = cloud.create_load_balancer(with(eips("eipalloc-1", "eipalloc-2"), "web")).await.expect_err("other");
    assert_eq!(other.kind, CloudErrorKind::Duplicate);

    let internal = CreateLoadBalancer { scheme: Scheme::Internal, ..with(private("10.0.1.10", "10.0.2.10"), "inner") };
    let inner = cloud.create_load_balancer(internal).await.expect("internal");
    assert_eq!(cloud.subnet_addresses(&inner.arn), private("10.0.1.10", "10.0.2.10"));
    let plain = cloud.create_load_balancer(lb_input("plain")).await.expect("AWS picks");
    assert!(cloud.subnet_addresses(&plain.arn).is_empty());
}

#[tokio::test]
async fn an_elastic_ip_serves_one_load_balancer_at_a_time() {
    let cloud = addressed_network();
    let first = cloud.create_load_balancer(with(eips("eipalloc-1", "eipalloc-2"), "first")).await.expect("first");
    let taken = cloud.create_load_balancer(with(eips("eipalloc-2", "eipalloc-1"), "second")).await.expect_err("held");
    assert_eq!((taken.kind, taken.code.as_str()), (CloudErrorKind::InvalidRequest, "InvalidConfigurationRequest"));
    assert!(taken.message.contains("eipalloc-2") && taken.message.contains("first"), "{}", taken.message);
    cloud.delete_load_balancer(&first.arn).await.expect("deleted");
    cloud.create_load_balancer(with(eips("eipalloc-2", "eipalloc-1"), "second")).await.expect("freed");
}

#[tokio::test]
async fn addresses_aws_refuses_are_refused() {
    let cloud = addressed_network();
    let internal = |addresses| CreateLoadBalancer { scheme: Scheme::Internal, ..with(addresses, "x") };
    let dualstack =
        |addresses| CreateLoadBalancer { ip_address_type: IpAddressType::Dualstack, ..with(addresses, "x") };
    let ipv6 = |a: &str, b: &str| {
        vec![
            SubnetAddresses { ipv6_address: Some(a.into()), ..at("subnet-a") },
            SubnetAddresses { ipv6_address: Some(b.into()), ..at("subnet-b") },
        ]
    };
    for (input, code, says) in [
        (with(eips("eipalloc-1", "eipalloc-404"), "x"), "AllocationIdNotFound", "eipalloc-404"),
        (internal(eips("eipalloc-1", "eipalloc-2")), "InvalidConfigurationRequest", "internet-facing"),
        (
            CreateLoadBalancer {
                lb_type: LoadBalancerType::Application,
                ..with(eips("eipalloc-1", "eipalloc-2"), "x")
            },
            "InvalidConfigurationRequest",
            "network",
        ),
        (with(private("10.0.1.10", "10.0.2.10"), "x"), "InvalidConfigurationRequest", "internal"),
        (internal(private("10.0.1.10", "10.0.9.10")), "InvalidConfigurationRequest", "10.0.9.10"),
        (internal(private("10.0.1.10", "not-an-ip")), "InvalidConfigurationRequest", "not-an-ip"),
        (with(ipv6("2600:1f18:0:1::5", "2600:1f18:0:2::5"), "x"), "InvalidConfigurationRequest", "dualstack"),
        (dualstack(ipv6("2600:1f18:0:1::5", "2600:1f18:0:1::6")), "InvalidConfigurationRequest", "2600:1f18:0:1::6"),
        (
            with(vec![SubnetAddresses { allocation_id: Some("eipalloc-1".into()), ..at("subnet-a") }], "x"),
            "ValidationError",
            "each subnet",
        ),
    ] {
        let error = cloud.create_load_balancer(input.clone()).await.expect_err(code);
        assert_eq!(error.code, code, "{input:?}: {error}");
        assert!(error.message.contains(says), "{input:?}: {}", error.message);
    }
    assert!(cloud.load_balancers().is_empty(), "nothing created");
    cloud.create_load_balancer(dualstack(ipv6("2600:1f18:0:1::5", "2600:1f18:0:2::5"))).await.expect("inside");
}
