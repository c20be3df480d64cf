//! TargetGroupBindings end to end against an AWS-compatible endpoint (moto by default) through
//! the real SDK, with the testkit API server, a real `kube::Client`, kubectl and the real
//! controllers. The target groups are made directly at the endpoint, as Terraform would make
//! them, never by Elbow: a binding keeps one filled with the Service's nodes (instance) or pods
//! (ip), follows Service, EndpointSlice and Node changes, and on deletion leaves it present, with
//! only the targets someone else registered. Every check reads the endpoint back.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbow_builder::binding::TargetGroupBinding;
use elbow_cloud::{Cloud, SecurityGroupRuleFilter, TargetGroupFilter};
use elbow_localstack_tests::{cloud, sandbox_options, sdk_config, unique};
use elbow_model::{RuleSource, Target};
use elbow_playground::{Sandbox, nodes};
use elbow_testkit::eventually;
use elbow_testkit::tools::Kubectl;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// A target group made outside Elbow: no tags of its.
async fn terraform_target_group(name: &str, target_type: elbv2::types::TargetTypeEnum, port: i32, vpc: &str) -> String {
    let client = elbv2::Client::new(&sdk_config().await);
    let created = client
        .create_target_group()
        .name(name)
        .protocol(elbv2::types::ProtocolEnum::Tcp)
        .port(port)
        .vpc_id(vpc)
        .target_type(target_type)
        .send()
        .await
        .unwrap();
    created.target_groups()[0].target_group_arn().unwrap().to_string()
}

/// The (id, port) pairs registered with `arn`, sorted.
async fn registered(arn: &str) -> Vec<(String, u16)> {
    let cloud = cloud().await;
    let mut targets: Vec<(String, u16)> =
        cloud.describe_target_health(arn).await.unwrap().into_iter().map(|h| (h.target.id, h.target.port)).collect();
    targets.sort();
    targets
}

fn sorted(mut pairs: Vec<(String, u16)>) -> Vec<(String, u16)> {
    pairs.sort();
    pairs
}

/// The binding's `Ready` condition: (status, reason, message).
fn ready(binding: &TargetGroupBinding) -> Option<(String, String, String)> {
    let conditions = binding.status.as_ref()?.conditions.as_ref()?;
    let ready = conditions.iter().find(|c| c.type_ == "Ready")?;
    Some((ready.status.clone(), ready.reason.clone(), ready.message.clone()))
}

/// The node group's rules from `cidr` that carry this cluster's tag: (protocol, from, to).
async fn rules_from(node_group: &str, cluster: &str, cidr: &str) -> Vec<(String, u16, u16)> {
    let cloud = cloud().await;
    let rules =
        cloud.describe_security_group_rules(SecurityGroupRuleFilter::Group(node_group.to_string())).await.unwrap();
    rules
        .into_iter()
        .filter(|r| r.tags.get("elbow.dev/cluster").map(String::as_str) == Some(cluster))
        .filter(|r| r.rule.source == RuleSource::CidrIpv4(cidr.to_string()))
        .map(|r| (r.rule.ip_protocol, r.rule.from_port, r.rule.to_port))
        .collect()
}

/// kubectl's table as rows of cells (its columns are three spaces or more apart).
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|line| line.split("   ").map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect())
        .collect()
}

/// The sum of a metric's series whose labels contain `having`, from Prometheus' text format.
fn metric(text: &str, series: &str, having: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(series) && line.contains(having))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn kubectl(kubectl: &Kubectl, args: &[&str]) -> elbow_testkit::tools::Run {
    tokio::task::block_in_place(|| kubectl.run(args))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_binding_fills_a_terraform_group_with_the_nodes_and_leaves_it_empty() {
    let options = sandbox_options("e2e-tgb").await;
    let sandbox = Sandbox::start(options).await.expect("sandbox");
    let environment = sandbox.environment.clone();
    let (cluster, node_group) = (environment.cluster.clone(), environment.node_group.clone());
    let client = sandbox.client();
    let name = unique("tf-web");
    let arn = terraform_target_group(&name, elbv2::types::TargetTypeEnum::Instance, 80, environment.vpc_id()).await;

    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "type": "NodePort", "selector": { "app": "web" },
            "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap();
    let node_port = services.get("web").await.unwrap().spec.unwrap().ports.unwrap()[0].node_port.unwrap() as u16;

    let bindings: Api<TargetGroupBinding> = Api::namespaced(client.clone(), "default");
    let binding: TargetGroupBinding = serde_json::from_value(json!({
        "apiVersion": "elbow.dev/v1beta1", "kind": "TargetGroupBinding",
        "metadata": { "name": "web" },
        "spec": {
            "targetGroupName": name,
            "serviceRef": { "name": "web", "port": "http" },
            "networking": { "ingress": [{ "from": [{ "ipBlock": { "cidr": "10.99.0.0/16" } }], "ports": [] }] },
        }
    }))
    .unwrap();
    bindings.create(&PostParams::default(), &binding).await.unwrap();

    let every_node = |nodes: &[elbow_playground::environment::NodeSeed], port: u16| {
        sorted(nodes.iter().map(|n| (n.instance_id.clone(), port)).collect())
    };
    let expected = every_node(&environment.nodes, node_port);
    eventually("every node registered on the NodePort", async || (registered(&arn).await == expected).then_some(()))
        .await;
    let bound = eventually("the binding Ready", async || {
        let bound = bindings.get("web").await.ok()?;
        (ready(&bound)?.0 == "True").then_some(bound)
    })
    .await;
    let status = bound.status.clone().unwrap();
    assert_eq!(status.target_group_arn.as_deref(), Some(arn.as_str()), "the name was resolved");
    assert_eq!(status.target_type, Some(elbow_model::TargetType::Instance), "taken from the group");
    assert_eq!(status.observed_generation, bound.metadata.generation);
    let owned: Vec<(String, u16)> = status.registered_targets.unwrap().into_iter().map(|t| (t.id, t.port)).collect();
    assert_eq!(owned, expected, "the binding records the targets it registered");
    assert_eq!(
        rules_from(&node_group, &cluster, "10.99.0.0/16").await,
        [("tcp".to_string(), 0, 65535)],
        "the networking rule admits every TCP port on the node group, tagged as Elbow's"
    );

    // Nothing to change costs no AWS call: the binding and its Service changed in ways that do
    // not move targets (a reconcile each), and the calls stay where they were.
    let calls = || metric(&sandbox.metrics.encode(), "elbow_aws_api_calls_total{", "");
    let reconciles =
        || metric(&sandbox.metrics.encode(), "elbow_reconciles_total{", "controller=\"targetgroupbinding\"");
    let calls_before = calls();
    let label = json!({ "metadata": { "labels": { "team": "web" } } });
    // One at a time: the controller's queue would merge two changes into one reconcile.
    let before = reconciles();
    bindings.patch("web", &PatchParams::default(), &Patch::Merge(&label)).await.unwrap();
    eventually("a reconcile of the relabelled binding", async || (reconciles() > before).then_some(())).await;
    let before = reconciles();
    services.patch("web", &PatchParams::default(), &Patch::Merge(&label)).await.unwrap();
    eventually("a reconcile for the relabelled Service", async || (reconciles() > before).then_some(())).await;
    assert_eq!(calls(), calls_before, "a reconcile with nothing to change makes no AWS call");

    // kubectl shows LBC's columns, and the group in the wide form.
    let kubectl_for = Kubectl::new(sandbox.server.kubeconfig());
    let listed = kubectl(&kubectl_for, &["get", "targetgroupbindings"]);
    assert!(listed.success(), "{listed:?}");
    let table = rows(&listed.stdout);
    assert_eq!(table[0], ["NAME", "SERVICE-NAME", "SERVICE-PORT", "TARGET-TYPE", "AGE"], "{}", listed.stdout);
    assert_eq!(table[1][..4], ["web", "web", "http", "instance"], "{}", listed.stdout);
    let wide = kubectl(&kubectl_for, &["get", "tgb", "-o", "wide"]);
    let table = rows(&wide.stdout);
    assert_eq!(
        table[0],
        ["NAME", "SERVICE-NAME", "SERVICE-PORT", "TARGET-TYPE", "ARN", "READY", "AGE"],
        "{}",
        wide.stdout
    );
    assert_eq!(table[1][4..6], [arn.as_str(), "True"], "{}", wide.stdout);

    // The target group is immutable, by API and by kubectl.
    let moved = json!({ "spec": { "targetGroupName": "another-group" } });
    let refused = bindings.patch("web", &PatchParams::default(), &Patch::Merge(&moved)).await.unwrap_err();
    let kube::Error::Api(status) = refused else { panic!("{refused:?}") };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "TargetGroupBinding.elbow.dev \"web\" is invalid: spec.targetGroupName: Invalid value: \"another-group\": targetGroupName is immutable"
    );
    let switched = r#"{"spec":{"targetGroupName":null,"targetGroupARN":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1"}}"#;
    let run = kubectl(&kubectl_for, &["patch", "tgb", "web", "--type=merge", "-p", switched]);
    assert!(!run.success());
    assert_eq!(
        run.stderr.trim(),
        "The TargetGroupBinding \"web\" is invalid: spec: Invalid value: a binding cannot switch between targetGroupARN and targetGroupName"
    );
    let run = kubectl(&kubectl_for, &["patch", "tgb", "web", "--type=merge", "-p", r#"{"spec":{"targetType":"ip"}}"#]);
    assert!(run.success(), "adding targetType is allowed by the API: {run:?}");
    let contradicted = eventually("the contradiction reported", async || {
        let bound = bindings.get("web").await.ok()?;
        ready(&bound).filter(|r| r.1 == "InvalidConfiguration")
    })
    .await;
    assert!(contradicted.2.starts_with("spec.targetType is ip but target group"), "{contradicted:?}");
    assert_eq!(registered(&arn).await, expected, "a mistake leaves the targets as they are");
    let run =
        kubectl(&kubectl_for, &["patch", "tgb", "web", "--type=merge", "-p", r#"{"spec":{"targetType":"instance"}}"#]);
    assert!(!run.success(), "a set targetType cannot change");
    assert!(run.stderr.contains("spec.targetType: Invalid value: \"instance\": targetType is immutable"), "{run:?}");
    // Removing it again is allowed, and the group's own type is back in effect.
    bindings
        .patch("web", &PatchParams::default(), &Patch::Merge(&json!({ "spec": { "targetType": null } })))
        .await
        .unwrap();
    eventually("Ready again", async || (ready(&bindings.get("web").await.ok()?)?.0 == "True").then_some(())).await;

    // A node leaves: its instance is deregistered.
    nodes::remove(&client, &environment.nodes[0].name).await.unwrap();
    let remaining = every_node(&environment.nodes[1..], node_port);
    eventually("the node's instance deregistered", async || (registered(&arn).await == remaining).then_some(())).await;

    // The Service goes: the binding's targets go with it (and its rule); it comes back on another
    // NodePort: the targets follow. (Not a NodePort changed in place: moto keys a group's targets
    // by id alone, so registering an instance on its new port replaces the old entry, and
    // deregistering the old one then removes both, where AWS holds two targets.)
    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the targets deregistered while the Service is gone", async || {
        registered(&arn).await.is_empty().then_some(())
    })
    .await;
    let missing = eventually("BackendNotFound", async || {
        ready(&bindings.get("web").await.ok()?).filter(|r| r.1 == "BackendNotFound")
    })
    .await;
    assert!(missing.2.starts_with("Service default/web was not found"), "{missing:?}");
    assert_eq!(rules_from(&node_group, &cluster, "10.99.0.0/16").await, [], "its rule goes too");
    let new_port = if node_port == 31999 { 31998 } else { 31999 };
    let mut again = service.clone();
    again.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].node_port = Some(i32::from(new_port));
    services.create(&PostParams::default(), &again).await.unwrap();
    let moved = every_node(&environment.nodes[1..], new_port);
    eventually("the targets on the new NodePort", async || (registered(&arn).await == moved).then_some(())).await;
    eventually("the rule back", async || {
        (rules_from(&node_group, &cluster, "10.99.0.0/16").await.len() == 1).then_some(())
    })
    .await;

    // Deleted: the group stays, empty, and the rule goes.
    bindings.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the binding gone", async || bindings.get_opt("web").await.ok()?.is_none().then_some(())).await;
    let cloud = cloud().await;
    let groups = cloud.describe_target_groups(TargetGroupFilter::Arns(vec![arn.clone()])).await.unwrap();
    assert_eq!(groups.len(), 1, "Elbow never deletes a bound target group");
    assert_eq!(registered(&arn).await, [], "the binding's targets are deregistered");
    assert_eq!(rules_from(&node_group, &cluster, "10.99.0.0/16").await, [], "the rule is removed");
    sandbox.stop().await;
}

fn endpoint(address: &str, node: &str) -> Value {
    json!({
        "addresses": [address],
        "conditions": { "ready": true, "serving": true, "terminating": false },
        "nodeName": node,
        "targetRef": { "kind": "Pod", "name": format!("web-{}", address.replace('.', "-")), "namespace": "default" },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ip_binding_follows_the_slices_and_never_touches_targets_it_did_not_register() {
    let options = sandbox_options("e2e-tgb-ip").await;
    let sandbox = Sandbox::start(options).await.expect("sandbox");
    let environment = sandbox.environment.clone();
    let client = sandbox.client();
    let arn =
        terraform_target_group(&unique("tf-pods"), elbv2::types::TargetTypeEnum::Ip, 8080, environment.vpc_id()).await;
    // Someone else's target, registered before the binding exists.
    let foreign = environment.pod_address(2, 200);
    let cloud = cloud().await;
    cloud.register_targets(&arn, &[Target::new(foreign.clone(), 8080)]).await.unwrap();

    let (node1, node2) = (environment.nodes[0].name.clone(), environment.nodes[1].name.clone());
    let [a, b, c] = [environment.pod_address(0, 0), environment.pod_address(1, 0), environment.pod_address(0, 1)];
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": { "name": "web-1", "labels": { "kubernetes.io/service-name": "web" } },
        "addressType": "IPv4",
        "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }],
        "endpoints": [endpoint(&a, &node1), endpoint(&b, &node2)],
    }))
    .unwrap();
    slices.create(&PostParams::default(), &slice).await.unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "selector": { "app": "web" }, "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap();

    let bindings: Api<TargetGroupBinding> = Api::namespaced(client.clone(), "default");
    let binding: TargetGroupBinding = serde_json::from_value(json!({
        "apiVersion": "elbow.dev/v1beta1", "kind": "TargetGroupBinding",
        "metadata": { "name": "pods" },
        "spec": { "targetGroupARN": arn, "serviceRef": { "name": "web", "port": 80 } }
    }))
    .unwrap();
    bindings.create(&PostParams::default(), &binding).await.unwrap();

    let with_foreign =
        |pods: &[&String]| sorted(pods.iter().map(|p| ((*p).clone(), 8080)).chain([(foreign.clone(), 8080)]).collect());
    let expected = with_foreign(&[&a, &b]);
    eventually("the pods registered beside the foreign target", async || {
        (registered(&arn).await == expected).then_some(())
    })
    .await;
    let bound = eventually("the binding Ready", async || {
        let bound = bindings.get("pods").await.ok()?;
        (ready(&bound)?.0 == "True").then_some(bound)
    })
    .await;
    let status = bound.status.unwrap();
    assert_eq!(status.target_type, Some(elbow_model::TargetType::Ip));
    let owned: BTreeSet<String> = status.registered_targets.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(owned, BTreeSet::from([a.clone(), b.clone()]), "only its own");

    // A rolling update replaces pod b with pod c.
    let patch = json!({ "endpoints": [endpoint(&a, &node1), endpoint(&c, &node1)] });
    slices.patch("web-1", &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    let rolled = with_foreign(&[&a, &c]);
    eventually("b deregistered and c registered", async || (registered(&arn).await == rolled).then_some(())).await;

    // The Service goes: the binding's targets go with it, the foreign one stays; and come back.
    services.delete("web", &DeleteParams::default()).await.unwrap();
    let only_foreign = vec![(foreign.clone(), 8080)];
    eventually("only the foreign target left", async || (registered(&arn).await == only_foreign).then_some(())).await;
    let missing = eventually("BackendNotFound", async || {
        ready(&bindings.get("pods").await.ok()?).filter(|r| r.1 == "BackendNotFound")
    })
    .await;
    assert_eq!(missing.0, "False");
    assert!(missing.2.starts_with("Service default/web was not found"), "{missing:?}");
    services.create(&PostParams::default(), &service).await.unwrap();
    eventually("the pods back", async || (registered(&arn).await == rolled).then_some(())).await;

    bindings.delete("pods", &DeleteParams::default()).await.unwrap();
    eventually("the binding gone", async || bindings.get_opt("pods").await.ok()?.is_none().then_some(())).await;
    assert_eq!(registered(&arn).await, only_foreign, "the group keeps what the binding did not register");
    let groups = cloud.describe_target_groups(TargetGroupFilter::Arns(vec![arn.clone()])).await.unwrap();
    assert_eq!(groups.len(), 1);
    sandbox.stop().await;
}
