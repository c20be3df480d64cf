//! EC2 rules of the fake: security group names per VPC, groups in use, tagged ingress rules and
//! their ids, duplicates, quotas and EC2 tags.

use elbow_model::{IngressRule, RuleSource, SecurityGroupRef, Tags};

use super::network;
use crate::FakeCloud;
use elbow_cloud::Cloud;
use elbow_cloud::error::CloudErrorKind;
use elbow_cloud::types::*;

fn tcp_from_cidr(port: u16, cidr: &str) -> IngressRule {
    IngressRule {
        ip_protocol: "tcp".into(),
        from_port: port,
        to_port: port,
        source: RuleSource::CidrIpv4(cidr.into()),
        description: None,
    }
}

fn tagged(rule: IngressRule, key: &str, value: &str) -> NewIngressRule {
    NewIngressRule { rule, tags: Tags::from([(key.to_string(), value.to_string())]) }
}

fn is_ec2_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| hex.len() == 17 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[tokio::test]
async fn group_names_are_unique_per_vpc() {
    let cloud = network();
    cloud.seed_vpc("vpc-2");
    let one = cloud.create_security_group("web", "d", "vpc-1", &Tags::new()).await.expect("sg");
    assert!(is_ec2_id(&one, "sg-"), "{one}");
    let two = cloud.create_security_group("web", "d", "vpc-2", &Tags::new()).await.expect("other VPC");
    assert_ne!(one, two);
    let error = cloud.create_security_group("web", "d", "vpc-1", &Tags::new()).await.expect_err("same VPC");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::Duplicate, "InvalidGroup.Duplicate"));
    let error = cloud.create_security_group("web", "d", "vpc-404", &Tags::new()).await.expect_err("no VPC");
    assert_eq!(error.kind, CloudErrorKind::NotFound);

    cloud.delete_security_group(&one).await.expect("deleted");
    cloud.create_security_group("web", "d", "vpc-1", &Tags::new()).await.expect("the name is free again");
}

#[tokio::test]
async fn groups_are_described_by_id_tag_or_vpc() {
    let cloud = network();
    let owned = Tags::from([("elbow.dev/cluster".to_string(), "c1".to_string())]);
    let mine = cloud.create_security_group("mine", "d", "vpc-1", &owned).await.expect("sg");
    let theirs = cloud.create_security_group("theirs", "d", "vpc-1", &Tags::new()).await.expect("sg");

    let by_tag = cloud
        .describe_security_groups(SecurityGroupFilter::Tag { key: "elbow.dev/cluster".into(), value: None })
        .await
        .expect("by tag");
    assert_eq!(by_tag.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [mine.as_str()]);
    let wrong_value = cloud
        .describe_security_groups(SecurityGroupFilter::Tag {
            key: "elbow.dev/cluster".into(),
            value: Some("c2".into()),
        })
        .await
        .expect("by tag");
    assert!(wrong_value.is_empty());
    let in_vpc = cloud.describe_security_groups(SecurityGroupFilter::Vpc("vpc-1".into())).await.expect("by VPC");
    assert_eq!(in_vpc.len(), 2);

    let error =
        cloud.describe_security_groups(SecurityGroupFilter::Ids(vec![theirs, "sg-404".into()])).await.expect_err("");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::NotFound, "InvalidGroup.NotFound"));
}

#[tokio::test]
async fn groups_are_found_by_name_tag_within_one_vpc() {
    let cloud = network();
    cloud.seed_vpc("vpc-2");
    let name = |value: &str| Tags::from([("Name".to_string(), value.to_string())]);
    let web = cloud.create_security_group("web-1", "d", "vpc-1", &name("web")).await.expect("sg");
    let twin = cloud.create_security_group("web-2", "d", "vpc-1", &name("web")).await.expect("sg");
    let api = cloud.create_security_group("api", "d", "vpc-1", &name("api")).await.expect("sg");
    cloud.create_security_group("web-elsewhere", "d", "vpc-2", &name("web")).await.expect("sg");
    cloud.create_security_group("named-web", "d", "vpc-1", &Tags::new()).await.expect("sg, its group name is no tag");

    let found = async |names: &[&str]| {
        let filter = SecurityGroupFilter::NamedInVpc {
            vpc_id: "vpc-1".into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        let mut ids: Vec<String> =
            cloud.describe_security_groups(filter).await.expect("a listing").into_iter().map(|g| g.id).collect();
        ids.sort();
        ids
    };
    let mut both = vec![web.clone(), twin.clone()];
    both.sort();
    assert_eq!(found(&["web"]).await, both, "every group of the VPC with that Name tag, none of another VPC");
    let mut all = vec![web, twin, api];
    all.sort();
    assert_eq!(found(&["web", "api"]).await, all);
    assert!(found(&["named-web", "nobody"]).await.is_empty(), "an unknown name is an empty listing, not an error");
}

#[tokio::test]
async fn rules_carry_ids_and_tags_and_are_found_by_tag_across_groups() {
    let cloud = network();
    let a = cloud.create_security_group("a", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let b = cloud.create_security_group("b", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let ours = cloud
        .authorize_security_group_ingress(&a, &[tagged(tcp_from_cidr(80, "0.0.0.0/0"), "elbow.dev/stack", "ns/web")])
        .await
        .expect("authorized");
    cloud
        .authorize_security_group_ingress(&b, &[tagged(tcp_from_cidr(80, "0.0.0.0/0"), "elbow.dev/stack", "ns/web")])
        .await
        .expect("same permission, other group");
    cloud
        .authorize_security_group_ingress(&b, &[tagged(tcp_from_cidr(22, "10.0.0.0/8"), "owner", "human")])
        .await
        .expect("someone else's rule");
    assert!(is_ec2_id(&ours[0].rule_id, "sgr-"), "{}", ours[0].rule_id);
    assert_eq!(ours[0].group_id, a);

    let filter = SecurityGroupRuleFilter::Tag { key: "elbow.dev/stack".into(), value: "ns/web".into() };
    let found = cloud.describe_security_group_rules(filter).await.expect("by tag");
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|r| r.tags.get("elbow.dev/stack").map(String::as_str) == Some("ns/web")));
    let of_b = cloud.describe_security_group_rules(SecurityGroupRuleFilter::Group(b.clone())).await.expect("of b");
    assert_eq!(of_b.len(), 2, "ingress rules only: no default egress rule");

    cloud.create_tags(std::slice::from_ref(&ours[0].rule_id), &Tags::from([("k".into(), "v".into())])).await.expect("");
    assert_eq!(cloud.tags(&ours[0].rule_id).get("k").map(String::as_str), Some("v"));
}

#[tokio::test]
async fn a_permission_is_granted_once_and_a_request_lands_whole_or_not_at_all() {
    let cloud = network();
    let group = cloud.create_security_group("g", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let rule = tagged(tcp_from_cidr(80, "0.0.0.0/0"), "k", "v");
    let twice = [rule.clone(), NewIngressRule { tags: Tags::new(), ..rule.clone() }];
    let error = cloud.authorize_security_group_ingress(&group, &twice).await.expect_err("twice in one request");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::Duplicate, "InvalidPermission.Duplicate"));
    assert!(cloud.security_group_rules(&group).is_empty(), "nothing was added");

    cloud.authorize_security_group_ingress(&group, std::slice::from_ref(&rule)).await.expect("once");
    let described = NewIngressRule {
        rule: IngressRule { description: Some("other words".into()), ..rule.rule.clone() },
        tags: Tags::new(),
    };
    let error = cloud.authorize_security_group_ingress(&group, &[described]).await.expect_err("same permission");
    assert_eq!(error.kind, CloudErrorKind::Duplicate, "descriptions do not make a permission new");

    let missing_source = tagged(
        IngressRule {
            source: RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-404".into())),
            ..tcp_from_cidr(81, "")
        },
        "k",
        "v",
    );
    let error = cloud.authorize_security_group_ingress(&group, &[missing_source]).await.expect_err("no source");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
}

#[tokio::test]
async fn rules_are_revoked_by_id_within_their_group() {
    let cloud = network();
    let a = cloud.create_security_group("a", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let b = cloud.create_security_group("b", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let rules = [tagged(tcp_from_cidr(80, "0.0.0.0/0"), "k", "v"), tagged(tcp_from_cidr(443, "0.0.0.0/0"), "k", "v")];
    let created = cloud.authorize_security_group_ingress(&a, &rules).await.expect("authorized");

    let error = cloud.revoke_security_group_ingress(&b, &[created[0].rule_id.clone()]).await.expect_err("wrong group");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
    let error = cloud
        .revoke_security_group_ingress(&a, &[created[0].rule_id.clone(), "sgr-404".into()])
        .await
        .expect_err("one unknown id");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
    assert_eq!(cloud.security_group_rules(&a).len(), 2, "nothing revoked");

    cloud.revoke_security_group_ingress(&a, &[created[0].rule_id.clone()]).await.expect("revoked");
    let left = cloud.security_group_rules(&a);
    assert_eq!(left.iter().map(|r| r.rule.from_port).collect::<Vec<_>>(), [443]);
    cloud.authorize_security_group_ingress(&a, &rules[..1]).await.expect("the permission can be granted again");
}

#[tokio::test]
async fn a_group_is_in_use_while_a_rule_of_another_group_or_an_instance_names_it() {
    let cloud = network();
    let backend = cloud.create_security_group("backend", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let nodes = cloud.create_security_group("nodes", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let from_backend = IngressRule {
        source: RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.clone())),
        ..tcp_from_cidr(31000, "")
    };
    let to_self = IngressRule {
        source: RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.clone())),
        ..tcp_from_cidr(1, "")
    };
    cloud.authorize_security_group_ingress(&nodes, &[tagged(from_backend, "k", "v")]).await.expect("authorized");
    cloud.authorize_security_group_ingress(&backend, &[tagged(to_self, "k", "v")]).await.expect("self reference");

    let error = cloud.delete_security_group(&backend).await.expect_err("nodes admit it");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::InUse, "DependencyViolation"));
    cloud.delete_security_group(&nodes).await.expect("deleting the referring group drops its rules");
    cloud.delete_security_group(&backend).await.expect("a rule naming itself does not hold a group");
    assert!(
        cloud
            .describe_security_group_rules(SecurityGroupRuleFilter::Tag { key: "k".into(), value: "v".into() })
            .await
            .expect("rules")
            .is_empty()
    );

    cloud.seed_security_group(SecurityGroup {
        id: "sg-node".into(),
        group_name: "node".into(),
        description: "d".into(),
        vpc_id: "vpc-1".into(),
        tags: Tags::new(),
    });
    cloud.seed_instance(Instance {
        id: "i-9".into(),
        vpc_id: "vpc-1".into(),
        availability_zone: "us-east-1a".into(),
        state: "running".into(),
        security_groups: vec!["sg-node".into()],
    });
    assert_eq!(cloud.delete_security_group("sg-node").await.expect_err("on an instance").kind, CloudErrorKind::InUse);
}

#[tokio::test]
async fn ec2_tags_need_existing_resources() {
    let cloud = network();
    let group =
        cloud.create_security_group("g", "d", "vpc-1", &Tags::from([("a".into(), "1".into())])).await.expect("");
    let error = cloud
        .create_tags(&[group.clone(), "sg-404".into()], &Tags::from([("b".into(), "2".into())]))
        .await
        .expect_err("one unknown id");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
    assert!(!cloud.tags(&group).contains_key("b"), "nothing tagged");
    cloud.create_tags(std::slice::from_ref(&group), &Tags::from([("b".into(), "2".into())])).await.expect("tagged");
    cloud.delete_tags(std::slice::from_ref(&group), &["a".into()]).await.expect("untagged");
    assert_eq!(cloud.tags(&group), Tags::from([("b".to_string(), "2".to_string())]));
}

#[tokio::test]
async fn a_rule_holds_at_most_fifty_tags_and_retagging_a_key_is_no_new_tag() {
    let cloud = network();
    let group = cloud.create_security_group("g", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let rule = tagged(tcp_from_cidr(443, "0.0.0.0/0"), "k0", "v");
    let id = cloud.authorize_security_group_ingress(&group, &[rule]).await.expect("rule").remove(0).rule_id;
    for i in 1..50 {
        cloud.create_tags(std::slice::from_ref(&id), &Tags::from([(format!("k{i}"), "v".into())])).await.expect("tag");
    }
    cloud.create_tags(std::slice::from_ref(&id), &Tags::from([("k7".into(), "other".into())])).await.expect("same key");
    let error = cloud
        .create_tags(std::slice::from_ref(&id), &Tags::from([("k50".into(), "v".into())]))
        .await
        .expect_err("a 51st tag");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::LimitExceeded, "TagLimitExceeded"));
    assert_eq!(cloud.tags(&id).len(), 50, "nothing tagged");
    cloud.delete_tags(std::slice::from_ref(&id), &["k0".into()]).await.expect("untagged");
    cloud.create_tags(std::slice::from_ref(&id), &Tags::from([("k50".into(), "v".into())])).await.expect("room again");
}

#[tokio::test]
async fn a_group_holds_60_inbound_rules_as_on_aws_unless_its_quota_is_changed() {
    let cloud = network();
    let group = cloud.create_security_group("g", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let rules: Vec<_> = (1..=61).map(|port| tagged(tcp_from_cidr(port, "0.0.0.0/0"), "k", "v")).collect();
    let error = cloud.authorize_security_group_ingress(&group, &rules).await.expect_err("61 rules");
    assert_eq!(
        (error.kind, error.code.as_str()),
        (CloudErrorKind::LimitExceeded, "RulesPerSecurityGroupLimitExceeded")
    );
    assert!(cloud.security_group_rules(&group).is_empty(), "all or nothing");
    cloud.authorize_security_group_ingress(&group, &rules[..60]).await.expect("60 rules");
    let error = cloud.authorize_security_group_ingress(&group, &rules[60..]).await.expect_err("a 61st");
    assert_eq!(error.code, "RulesPerSecurityGroupLimitExceeded");
}

#[tokio::test]
async fn the_rules_per_group_quota_can_be_set() {
    let cloud = FakeCloud::new().with_rules_per_security_group(2);
    cloud.seed_vpc("vpc-1");
    let group = cloud.create_security_group("g", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let rules: Vec<_> = (1..=3).map(|port| tagged(tcp_from_cidr(port, "0.0.0.0/0"), "k", "v")).collect();
    let error = cloud.authorize_security_group_ingress(&group, &rules).await.expect_err("three rules");
    assert_eq!(
        (error.kind, error.code.as_str()),
        (CloudErrorKind::LimitExceeded, "RulesPerSecurityGroupLimitExceeded")
    );
    cloud.authorize_security_group_ingress(&group, &rules[..2]).await.expect("two rules");
}

#[tokio::test]
async fn instances_and_subnets_are_described_from_the_seed() {
    let cloud = network();
    let subnets = cloud.describe_subnets("vpc-1").await.expect("subnets");
    assert_eq!(subnets.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["subnet-a", "subnet-b"]);
    assert!(cloud.describe_subnets("vpc-2").await.expect("subnets").is_empty());
    let found = cloud.describe_instances(&["i-404".into(), "i-1".into()]).await.expect("instances");
    assert_eq!(found.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["i-1"], "unknown ids are left out");
}

fn tcp_from_prefix_list(port: u16, id: &str) -> IngressRule {
    IngressRule { source: RuleSource::PrefixList(id.into()), ..tcp_from_cidr(port, "unused") }
}

#[tokio::test]
async fn a_prefix_list_rule_names_an_existing_list_and_counts_as_its_max_entries() {
    let cloud = network();
    cloud.seed_prefix_list("pl-0123abcd", 50);
    let group = cloud.create_security_group("web", "d", "vpc-1", &Tags::new()).await.expect("sg");
    let unknown = tagged(tcp_from_prefix_list(443, "pl-00ff"), "owner", "me");
    let error = cloud.authorize_security_group_ingress(&group, &[unknown]).await.expect_err("no such list");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::NotFound, "InvalidPrefixListId.NotFound"));
    assert_eq!(error.message, "The prefix list ID 'pl-00ff' does not exist");

    let rule = tagged(tcp_from_prefix_list(443, "pl-0123abcd"), "owner", "me");
    let created = cloud.authorize_security_group_ingress(&group, std::slice::from_ref(&rule)).await.expect("added");
    assert_eq!(created[0].rule.source, RuleSource::PrefixList("pl-0123abcd".into()));
    assert_eq!(cloud.security_group_rules(&group)[0].rule, rule.rule, "described as authorized");
    let error = cloud.authorize_security_group_ingress(&group, &[rule]).await.expect_err("again");
    assert_eq!(error.code, "RulesPerSecurityGroupLimitExceeded", "a second 50 do not fit in 60");

    // 50 for the list, so 10 plain rules fit and the 11th does not.
    let plain: Vec<NewIngressRule> =
        (0..11).map(|n| tagged(tcp_from_cidr(8000 + n, "10.0.0.0/8"), "owner", "me")).collect();
    let error = cloud.authorize_security_group_ingress(&group, &plain).await.expect_err("over the limit");
    assert_eq!(error.kind, CloudErrorKind::LimitExceeded);
    cloud.authorize_security_group_ingress(&group, &plain[..10]).await.expect("within the limit");
}
