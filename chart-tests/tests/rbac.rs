//! Least privilege, proven: the operator runs a scenario that exercises every code path that talks
//! to the API server (Services created, changed, made invalid, deleted; an Ingress group with
//! class parameters limiting namespaces; a TargetGroupBinding; nodes joining and leaving; the
//! orphan sweep) against the testkit server,
//! whose audit log records each request's verb and resource. The chart's ClusterRole must grant
//! everything the operator used, and nothing it did not use.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use elbow_builder::binding::TargetGroupBinding;
use elbow_chart_tests::{render, values_file};
use elbow_cloud::Cloud;
use elbow_playground::{Aws, Sandbox, SandboxOptions, fake, nodes};
use elbow_testkit::{create_from_json, eventually};
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

/// (api group, resource[/subresource], verb)
type Permission = (String, String, String);

fn hostname_of(object: &Value) -> Option<String> {
    object["status"]["loadBalancer"]["ingress"][0]["hostname"].as_str().map(str::to_string)
}

/// Everything the operator does, driven through the API as users and the cluster would.
async fn exercise_the_operator(sandbox: &Sandbox) {
    let client = sandbox.client();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    create_from_json(
        &services,
        json!({ "metadata": { "name": "web" }, "spec": {
        "type": "LoadBalancer", "selector": { "app": "web" }, "ports": [{ "port": 80, "targetPort": 8080 }] } }),
    )
    .await;
    eventually("the Service's hostname", async || {
        hostname_of(&serde_json::to_value(services.get("web").await.ok()?).ok()?)
    })
    .await;

    // The same bad annotation twice: the second Warning repeats the first (an event patch).
    for attempt in ["1", "2"] {
        let bad = json!({ "metadata": { "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "often",
            "example.com/attempt": attempt } } });
        services.patch("web", &PatchParams::default(), &Patch::Merge(bad)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }

    // An Ingress group whose class parameters limit the namespaces that may use it.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create_from_json(&namespaces, json!({ "metadata": { "name": "shop", "labels": { "team": "shop" } } })).await;
    let shop_services: Api<Service> = Api::namespaced(client.clone(), "shop");
    create_from_json(
        &shop_services,
        json!({ "metadata": { "name": "catalog" }, "spec": {
        "type": "NodePort", "selector": { "app": "catalog" }, "ports": [{ "port": 80, "targetPort": 8080 }] } }),
    )
    .await;
    let params_resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("elbow.dev", "v1beta1", "IngressClassParams"),
        "ingressclassparams",
    );
    let params: Api<DynamicObject> = Api::all_with(client.clone(), &params_resource);
    let object = json!({ "apiVersion": "elbow.dev/v1beta1", "kind": "IngressClassParams", "metadata": { "name": "shop" },
        "spec": { "namespaceSelector": { "matchLabels": { "team": "shop" } }, "group": { "name": "shop" } } });
    params.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await.unwrap();
    let classes: Api<IngressClass> = Api::all(client.clone());
    create_from_json(
        &classes,
        json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb",
        "parameters": { "apiGroup": "elbow.dev", "kind": "IngressClassParams", "name": "shop" } } }),
    )
    .await;
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "shop");
    create_from_json(
        &ingresses,
        json!({ "metadata": { "name": "storefront" }, "spec": { "ingressClassName": "elbow",
        "rules": [{ "http": { "paths": [{ "path": "/", "pathType": "Prefix",
            "backend": { "service": { "name": "catalog", "port": { "number": 80 } } } }] } }] } }),
    )
    .await;
    eventually("the Ingress's hostname", async || {
        hostname_of(&serde_json::to_value(ingresses.get("storefront").await.ok()?).ok()?)
    })
    .await;

    // A TargetGroupBinding to a target group made outside Elbow, with a networking rule (so
    // the sweep asks about its owner too), deleted again before the end.
    let cloud = sandbox.fake().unwrap();
    let group = cloud
        .create_target_group(elbow_cloud::CreateTargetGroup {
            name: "tf-rbac".into(),
            target_type: elbow_model::TargetType::Instance,
            protocol: elbow_model::Protocol::Tcp,
            port: 80,
            protocol_version: None,
            vpc_id: sandbox.environment.vpc_id().to_string(),
            ip_address_type: elbow_model::IpAddressType::Ipv4,
            health_check: elbow_model::HealthCheck {
                protocol: elbow_model::Protocol::Tcp,
                port: elbow_model::HealthCheckPort::TrafficPort,
                path: None,
                interval_seconds: 10,
                timeout_seconds: 10,
                healthy_threshold_count: 3,
                unhealthy_threshold_count: 3,
                matcher: None,
            },
            tags: Default::default(),
        })
        .await
        .unwrap();
    let bindings: Api<TargetGroupBinding> = Api::namespaced(client.clone(), "default");
    create_from_json(
        &bindings,
        json!({ "apiVersion": "elbow.dev/v1beta1", "kind": "TargetGroupBinding", "metadata": { "name": "tf" },
        "spec": { "targetGroupARN": group.arn, "serviceRef": { "name": "web", "port": 80 },
            "networking": { "ingress": [{ "from": [{ "ipBlock": { "cidr": "10.99.0.0/16" } }], "ports": [] }] } } }),
    )
    .await;
    eventually("the binding Ready", async || {
        let binding = bindings.get("tf").await.ok()?;
        let conditions = binding.status?.conditions?;
        conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True").then_some(())
    })
    .await;
    // Long enough for a sweep (every 200 ms) to ask about the binding's stack.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    bindings.delete("tf", &DeleteParams::default()).await.unwrap();
    eventually("the binding gone", async || bindings.get_opt("tf").await.ok()?.is_none().then_some(())).await;
    // An Ingress authenticating with OIDC (client `shop`, secret `first`, then `second`, in
    // base64 as Secrets hold them): its client Secret is watched by name, and a change to
    // it redeploys the rule with the new secret.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "shop");
    create_from_json(
        &secrets,
        json!({ "metadata": { "name": "login" }, "data": { "clientID": "c2hvcA==", "clientSecret": "Zmlyc3Q=" } }),
    )
    .await;
    let oidc = r#"{"issuer":"https://idp.example.com","authorizationEndpoint":"https://idp.example.com/auth","tokenEndpoint":"https://idp.example.com/token","userInfoEndpoint":"https://idp.example.com/userinfo","secretName":"login"}"#;
    create_from_json(
        &ingresses,
        json!({ "metadata": { "name": "account", "annotations": {
            "alb.ingress.kubernetes.io/listen-ports": r#"[{"HTTPS":443}]"#,
            "alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:us-east-1:123456789012:certificate/shop",
            "alb.ingress.kubernetes.io/auth-type": "oidc",
            "alb.ingress.kubernetes.io/auth-idp-oidc": oidc } },
          "spec": { "ingressClassName": "elbow",
            "rules": [{ "http": { "paths": [{ "path": "/account", "pathType": "Prefix",
                "backend": { "service": { "name": "catalog", "port": { "number": 80 } } } }] } }] } }),
    )
    .await;
    let held_secrets = || {
        cloud
            .listeners()
            .iter()
            .flat_map(|l| cloud.rules(&l.arn))
            .flat_map(|r| cloud.client_secrets(&r.arn))
            .collect::<Vec<_>>()
    };
    eventually("the authenticated rule", async || (held_secrets() == ["first"]).then_some(())).await;
    let rotated = json!({ "data": { "clientSecret": "c2Vjb25k" } });
    secrets.patch("login", &PatchParams::default(), &Patch::Merge(rotated)).await.unwrap();
    eventually("the rotated secret on the rule", async || (held_secrets() == ["second"]).then_some(())).await;
    ingresses.delete("account", &DeleteParams::default()).await.unwrap();

    // A pod held by its readiness gate (as the pod webhook writes it) behind an ip-mode Service:
    // the operator watches the pod and patches the gate's condition on its status.
    create_from_json(
        &namespaces,
        json!({ "metadata": { "name": "gated", "labels": { "elbow.dev/pod-readiness-gate-inject": "enabled" } } }),
    )
    .await;
    let gated_services: Api<Service> = Api::namespaced(client.clone(), "gated");
    create_from_json(
        &gated_services,
        json!({ "metadata": { "name": "api", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip" } },
        "spec": { "type": "LoadBalancer", "selector": { "app": "api" }, "ports": [{ "port": 80, "targetPort": 8080 }] } }),
    )
    .await;
    let group = eventually("the ip target group", async || {
        cloud.target_groups().into_iter().find(|tg| tg.target_type == elbow_model::TargetType::Ip)
    })
    .await;
    let gate = format!("target-health.elbow.dev/{}", group.name);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "gated");
    create_from_json(
        &pods,
        json!({ "metadata": { "name": "api-1", "labels": { "app": "api" } }, "spec": {
            "containers": [{ "name": "app", "image": "nginx" }], "readinessGates": [{ "conditionType": gate }] } }),
    )
    .await;
    let address = sandbox.environment.pod_address(0, 0);
    let running = json!({ "status": { "phase": "Running", "podIP": address, "conditions": [
        { "type": "ContainersReady", "status": "True" }, { "type": "Ready", "status": "False" } ] } });
    pods.patch_status("api-1", &PatchParams::default(), &Patch::Strategic(running)).await.unwrap();
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "gated");
    create_from_json(
        &slices,
        json!({ "metadata": { "name": "api-1a2b3", "labels": { "kubernetes.io/service-name": "api" } },
            "addressType": "IPv4", "ports": [{ "port": 8080, "protocol": "TCP" }],
            "endpoints": [{ "addresses": [address], "conditions": { "ready": false },
                "nodeName": sandbox.environment.nodes[0].name,
                "targetRef": { "kind": "Pod", "name": "api-1", "namespace": "gated" } }] }),
    )
    .await;
    eventually("the pod's gate True", async || {
        let conditions = pods.get("api-1").await.ok()?.status?.conditions?;
        conditions.iter().any(|c| c.type_ == gate && c.status == "True").then_some(())
    })
    .await;
    gated_services.delete("api", &DeleteParams::default()).await.unwrap();
    eventually("the ip Service gone", async || gated_services.get_opt("api").await.ok()?.is_none().then_some(())).await;

    // A node joins and one leaves.
    let mut environment = sandbox.environment.clone();
    let joined = fake::add_instance(cloud, &mut environment);
    nodes::register(&client, &joined).await.unwrap();
    nodes::remove(&client, &environment.nodes[0].name).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // Everything goes.
    ingresses.delete("storefront", &DeleteParams::default()).await.unwrap();
    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("both objects to be gone", async || {
        let gone =
            ingresses.get_opt("storefront").await.ok()?.is_none() && services.get_opt("web").await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
}

/// What the chart's ClusterRole grants, one entry per (group, resource, verb).
fn granted() -> BTreeSet<Permission> {
    let manifests = render(&[&values_file("required.yaml")], &[]);
    // The controllers' ClusterRole; the webhook's own RBAC is checked in webhook_rbac.rs.
    let role = manifests.get("ClusterRole", "elbow");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    let text = |v: &Value| v.as_str().unwrap().to_string();
                    granted.insert((text(group), text(resource), text(verb)));
                }
            }
        }
    }
    granted
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cluster_role_grants_exactly_what_the_operator_uses() {
    // The orphan sweep too, every 200 ms, so that its reads of the owners are in the audit log.
    let sweep = elbow::sweep::PeriodicSweep {
        interval: std::time::Duration::from_millis(200),
        sweep: elbow_deploy::sweep::SweepSettings {
            mode: elbow_deploy::sweep::SweepMode::Report,
            grace: std::time::Duration::ZERO,
        },
    };
    let options = SandboxOptions { orphan_sweep: sweep, ..SandboxOptions::new("rbac", Aws::Fake) };
    let sandbox = Sandbox::start(options).await.unwrap();
    exercise_the_operator(&sandbox).await;
    let audit = sandbox.server.audit.clone();
    sandbox.stop().await;

    let used: BTreeSet<Permission> = audit
        .entries()
        .into_iter()
        .filter(|entry| entry.user_agent == elbow::runtime::USER_AGENT)
        .map(|entry| {
            let resource = if entry.subresource.is_empty() {
                entry.resource
            } else {
                format!("{}/{}", entry.resource, entry.subresource)
            };
            (entry.group, resource, entry.verb)
        })
        .collect();
    assert!(!used.is_empty(), "the audit log names the operator's requests by its user agent");
    let granted = granted();
    let missing: Vec<_> = used.difference(&granted).collect();
    let unused: Vec<_> = granted.difference(&used).collect();
    assert!(missing.is_empty(), "the operator used what the ClusterRole does not grant: {missing:?}");
    assert!(unused.is_empty(), "the ClusterRole grants what the operator never used: {unused:?}");
}
