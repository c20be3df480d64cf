//! `/mutate-v1-pod`: pod readiness gates injected at pod creation, with the AWS Load Balancer
//! Controller's semantics and Elbow's names. A pod created in a namespace labelled
//! `elbow.dev/pod-readiness-gate-inject=enabled` gets `spec.readinessGates` entry
//! `target-health.elbow.dev/<target group>` for each ip target group of Elbow's that will hold
//! it: one per port of each LoadBalancer Service Elbow serves in ip mode whose selector matches
//! the pod's labels, and one per backend of each ip-mode Ingress of Elbow's that sends to such a
//! Service. The target group names are the builders' own (`ip_target_group_names`).
//!
//! As LBC requires a TargetGroupBinding (which it makes when it deploys), a Service or Ingress
//! counts only once Elbow has taken it on, which its finalizer shows: a gate is only ever named
//! after a target group Elbow is making. Create (and label) the Service or Ingress before its
//! pods, as with LBC. Gates a pod already has are not added twice, and a pod is never refused:
//! when the cluster cannot be read the answer is an error status, and kube-apiserver applies the
//! webhook's failurePolicy (Ignore by default, as LBC's chart has it: the pod is created without
//! its gate).

use std::collections::{BTreeMap, BTreeSet};

use elbow_builder::BuildConfig;
use elbow_builder::crd::{IngressClassParams, IngressClassParamsSpec};
use elbow_builder::ingress::{Standing, group_finalizer, standing};
use elbow_builder::readiness::{condition_type, injection_enabled, selects};
use elbow_builder::service::{ip_target_group_names, is_ours};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::review::{AdmissionRequest, GroupVersionResource};
use crate::controllers::service::FINALIZER as SERVICE_FINALIZER;

pub const PATH: &str = "/mutate-v1-pod";

/// What the pod webhook does.
#[derive(Debug, Clone)]
pub struct PodGatePolicy {
    /// Off: every pod passes unchanged (`--webhook-inject-pod-readiness-gates=false`).
    pub enabled: bool,
    /// The controllers' configuration: which Services are Elbow's, and the cluster name the
    /// target group names hash.
    pub build: BuildConfig,
    /// The IngressClass controller name Elbow serves.
    pub ingress_controller: String,
}

impl PodGatePolicy {
    /// Injection off: every pod passes unchanged.
    pub fn off() -> Self {
        Self {
            enabled: false,
            build: BuildConfig::new(""),
            ingress_controller: elbow_builder::ingress::DEFAULT_CONTROLLER.to_string(),
        }
    }
}

/// What the decision reads of the pod's namespace and the cluster.
#[derive(Debug, Default)]
pub struct Backends {
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// The Services of the pod's namespace.
    pub services: Vec<Service>,
    /// The Ingresses of the pod's namespace.
    pub ingresses: Vec<Ingress>,
    pub classes: Vec<IngressClass>,
    pub params: BTreeMap<String, IngressClassParamsSpec>,
}

/// The gate condition types the pod with `labels` should carry, sorted.
pub fn gates_for(
    labels: Option<&BTreeMap<String, String>>,
    backends: &Backends,
    policy: &PodGatePolicy,
) -> BTreeSet<String> {
    let mut target_groups = BTreeSet::new();
    if !policy.enabled || !injection_enabled(backends.namespace_labels.as_ref()) {
        return target_groups;
    }
    let selecting: Vec<&Service> = backends.services.iter().filter(|s| selects(s, labels)).collect();
    if selecting.is_empty() {
        return target_groups;
    }
    for service in &selecting {
        let taken_on = service.finalizers().iter().any(|f| f == SERVICE_FINALIZER);
        if is_ours(service, &policy.build) && taken_on {
            // A Service the build refuses has no target group to wait for.
            target_groups.extend(ip_target_group_names(service, &policy.build).unwrap_or_default());
        }
    }
    let names: BTreeSet<String> = selecting.iter().map(|s| s.name_any()).collect();
    for ingress in &backends.ingresses {
        let Standing::Member { group, params } =
            standing(ingress, &backends.classes, &backends.params, &policy.ingress_controller)
        else {
            continue;
        };
        if !ingress.finalizers().contains(&group_finalizer(&group)) {
            continue;
        }
        target_groups.extend(elbow_builder::ingress::ip_target_group_names(
            ingress,
            &group,
            params.as_ref(),
            &backends.services,
            &names,
            &policy.build,
        ));
    }
    target_groups.iter().map(|tg| condition_type(tg)).collect()
}

/// The JSON patch that adds the gates of `gates` the pod `object` does not carry yet; none when
/// it carries them all (a pod created with its gates, or a request seen twice).
pub fn gates_patch(object: &Value, gates: &BTreeSet<String>) -> Option<json_patch::Patch> {
    let existing = object.get("spec").and_then(|s| s.get("readinessGates")).and_then(Value::as_array);
    let has = |gate: &str| existing.is_some_and(|all| all.iter().any(|g| g["conditionType"] == gate));
    let missing: Vec<Value> = gates.iter().filter(|g| !has(g)).map(|g| json!({ "conditionType": g })).collect();
    if missing.is_empty() {
        return None;
    }
    let operations: Vec<Value> = match existing {
        // The list is created whole; appending to one that is not there fails.
        None => vec![json!({ "op": "add", "path": "/spec/readinessGates", "value": missing })],
        Some(_) => {
            missing.into_iter().map(|g| json!({ "op": "add", "path": "/spec/readinessGates/-", "value": g })).collect()
        }
    };
    serde_json::from_value(Value::Array(operations)).ok()
}

/// Whether `request` is the creation of a Pod (not a subresource of one).
pub fn is_pod_creation(request: &AdmissionRequest) -> bool {
    let pods = GroupVersionResource { group: String::new(), version: "v1".into(), resource: "pods".into() };
    request.operation == "CREATE"
        && request.resource == pods
        && request.sub_resource.as_deref().is_none_or(str::is_empty)
}

/// Reads what [`gates_for`] needs for a pod in `namespace` with `labels`: the namespace, then
/// its Services, and only when one selects the pod, its Ingresses and (when there are any) the
/// IngressClasses and their parameters. Lists are served from kube-apiserver's watch cache
/// (`resourceVersion=0`), as a controller's informer would read them.
pub async fn read_backends(
    client: &kube::Client,
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> kube::Result<Backends> {
    let cached = ListParams::default().match_any();
    let found = Api::<Namespace>::all(client.clone()).get_opt(namespace).await?;
    let mut backends =
        Backends { namespace_labels: found.and_then(|n| n.meta().labels.clone()), ..Backends::default() };
    if !injection_enabled(backends.namespace_labels.as_ref()) {
        return Ok(backends);
    }
    backends.services = Api::<Service>::namespaced(client.clone(), namespace).list(&cached).await?.items;
    if !backends.services.iter().any(|s| selects(s, labels)) {
        return Ok(backends);
    }
    backends.ingresses = Api::<Ingress>::namespaced(client.clone(), namespace).list(&cached).await?.items;
    if backends.ingresses.is_empty() {
        return Ok(backends);
    }
    backends.classes = Api::<IngressClass>::all(client.clone()).list(&cached).await?.items;
    backends.params = Api::<IngressClassParams>::all(client.clone())
        .list(&cached)
        .await?
        .items
        .into_iter()
        .map(|p| (p.name_any(), p.spec))
        .collect();
    Ok(backends)
}

/// The patch for the pod being created in `request`, reading the cluster through `client`.
/// None: left as it is. An error: the cluster could not be read.
pub async fn patch_for(
    request: &AdmissionRequest,
    client: &kube::Client,
    policy: &PodGatePolicy,
) -> kube::Result<Option<json_patch::Patch>> {
    if !policy.enabled || !is_pod_creation(request) {
        return Ok(None);
    }
    let Some(object) = request.object.as_ref() else { return Ok(None) };
    let labels: Option<BTreeMap<String, String>> =
        object.get("metadata").and_then(|m| m.get("labels")).and_then(|l| serde_json::from_value(l.clone()).ok());
    let namespace = request
        .namespace
        .clone()
        .or_else(|| object["metadata"]["namespace"].as_str().map(str::to_string))
        .unwrap_or_else(|| "default".into());
    let backends = read_backends(client, &namespace, labels.as_ref()).await?;
    Ok(gates_patch(object, &gates_for(labels.as_ref(), &backends, policy)))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
    use k8s_openapi::api::networking::v1::{
        HTTPIngressPath, HTTPIngressRuleValue, IngressBackend, IngressClassSpec, IngressRule, IngressServiceBackend,
        IngressSpec, ServiceBackendPort,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use super::*;
    use elbow_builder::readiness::INJECT_LABEL;

    const IP: &str = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn policy() -> PodGatePolicy {
        PodGatePolicy {
            enabled: true,
            build: BuildConfig::new("prod"),
            ingress_controller: elbow_builder::ingress::DEFAULT_CONTROLLER.into(),
        }
    }

    /// A LoadBalancer Service `name` in `shop` selecting `app=<app>`, with Elbow's finalizer,
    /// in `mode` (ip, instance).
    fn service(name: &str, app: &str, mode: &str) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                uid: Some(format!("uid-{name}")),
                annotations: Some(labels(&[(IP, mode)])),
                finalizers: Some(vec![SERVICE_FINALIZER.into()]),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".into()),
                selector: Some(labels(&[("app", app)])),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    target_port: Some(IntOrString::Int(8080)),
                    node_port: Some(31080),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn backends(services: Vec<Service>) -> Backends {
        Backends { namespace_labels: Some(labels(&[(INJECT_LABEL, "enabled")])), services, ..Backends::default() }
    }

    fn gate_of(service: &Service) -> String {
        let names = ip_target_group_names(service, &policy().build).unwrap();
        condition_type(&names[0])
    }

    fn pod() -> BTreeMap<String, String> {
        labels(&[("app", "web"), ("pod-template-hash", "7d9f")])
    }

    #[test]
    fn a_pod_of_an_ip_mode_service_of_elbows_gets_its_target_groups_gate() {
        let web = service("web", "web", "ip");
        let gates = gates_for(Some(&pod()), &backends(vec![web.clone()]), &policy());
        assert_eq!(gates, BTreeSet::from([gate_of(&web)]));
        assert!(gate_of(&web).starts_with("target-health.elbow.dev/k8s-shop-web-"), "{}", gate_of(&web));
    }

    #[test]
    fn no_gate_without_the_namespace_label_or_with_another_value() {
        let mut without = backends(vec![service("web", "web", "ip")]);
        for namespace_labels in [None, Some(labels(&[])), Some(labels(&[(INJECT_LABEL, "disabled")]))] {
            without.namespace_labels = namespace_labels.clone();
            assert!(gates_for(Some(&pod()), &without, &policy()).is_empty(), "{namespace_labels:?}");
        }
        // LBC's label is LBC's.
        without.namespace_labels = Some(labels(&[("elbv2.k8s.aws/pod-readiness-gate-inject", "enabled")]));
        assert!(gates_for(Some(&pod()), &without, &policy()).is_empty());
        let off = PodGatePolicy { enabled: false, ..policy() };
        assert!(gates_for(Some(&pod()), &backends(vec![service("web", "web", "ip")]), &off).is_empty());
    }

    #[test]
    fn only_services_that_select_the_pod_count() {
        let web = service("web", "web", "ip");
        let api = service("api", "api", "ip");
        let both = backends(vec![web.clone(), api]);
        assert_eq!(gates_for(Some(&pod()), &both, &policy()), BTreeSet::from([gate_of(&web)]));
        assert!(gates_for(Some(&labels(&[("app", "batch")])), &both, &policy()).is_empty());
        assert!(gates_for(None, &both, &policy()).is_empty(), "a pod without labels");
        let mut no_selector = service("manual", "web", "ip");
        no_selector.spec.as_mut().unwrap().selector = None;
        assert!(gates_for(Some(&pod()), &backends(vec![no_selector]), &policy()).is_empty());
        // Two Services selecting the pod: a gate each.
        let canary = service("web-canary", "web", "ip");
        let gates = gates_for(Some(&pod()), &backends(vec![web.clone(), canary.clone()]), &policy());
        assert_eq!(gates, BTreeSet::from([gate_of(&web), gate_of(&canary)]));
    }

    #[test]
    fn instance_mode_and_services_elbow_does_not_serve_get_no_gate() {
        let instance = service("web", "web", "instance");
        assert!(gates_for(Some(&pod()), &backends(vec![instance]), &policy()).is_empty());
        let mut other_class = service("web", "web", "ip");
        other_class.spec.as_mut().unwrap().load_balancer_class = Some("service.k8s.aws/nlb".into());
        assert!(gates_for(Some(&pod()), &backends(vec![other_class]), &policy()).is_empty());
        let mut cluster_ip = service("web", "web", "ip");
        cluster_ip.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
        assert!(gates_for(Some(&pod()), &backends(vec![cluster_ip]), &policy()).is_empty());
        // Not taken on yet (no finalizer): Elbow has made no target group to wait for.
        let mut new = service("web", "web", "ip");
        new.metadata.finalizers = None;
        assert!(gates_for(Some(&pod()), &backends(vec![new]), &policy()).is_empty());
        // A Service whose annotations the build refuses.
        let mut bad = service("web", "web", "ip");
        bad.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert("service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval".into(), "often".into());
        assert!(gates_for(Some(&pod()), &backends(vec![bad]), &policy()).is_empty());
    }

    fn ingress(finalizer: Option<String>, target_type: &str) -> Ingress {
        let backend = IngressBackend {
            service: Some(IngressServiceBackend {
                name: "web".into(),
                port: Some(ServiceBackendPort { number: Some(80), name: None }),
            }),
            resource: None,
        };
        Ingress {
            metadata: ObjectMeta {
                name: Some("storefront".into()),
                namespace: Some("shop".into()),
                annotations: Some(labels(&[("alb.ingress.kubernetes.io/target-type", target_type)])),
                finalizers: finalizer.map(|f| vec![f]),
                ..Default::default()
            },
            spec: Some(IngressSpec {
                ingress_class_name: Some("elbow".into()),
                rules: Some(vec![IngressRule {
                    host: None,
                    http: Some(HTTPIngressRuleValue {
                        paths: vec![HTTPIngressPath { path: Some("/".into()), path_type: "Prefix".into(), backend }],
                    }),
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn with_ingress(ingress: Ingress) -> Backends {
        // A plain ClusterIP Service: an ip-mode Ingress reaches its pods directly.
        let mut web = service("web", "web", "instance");
        web.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
        web.metadata.finalizers = None;
        Backends {
            ingresses: vec![ingress],
            classes: vec![IngressClass {
                metadata: ObjectMeta { name: Some("elbow".into()), ..Default::default() },
                spec: Some(IngressClassSpec {
                    controller: Some(elbow_builder::ingress::DEFAULT_CONTROLLER.into()),
                    ..Default::default()
                }),
            }],
            ..backends(vec![web])
        }
    }

    #[test]
    fn a_pod_behind_an_ip_mode_ingress_of_elbows_gets_that_target_groups_gate() {
        let finalizer = elbow_builder::ingress::IMPLICIT_GROUP_FINALIZER.to_string();
        let gates = gates_for(Some(&pod()), &with_ingress(ingress(Some(finalizer.clone()), "ip")), &policy());
        assert_eq!(gates.len(), 1, "{gates:?}");
        let gate = gates.first().unwrap();
        assert!(gate.starts_with("target-health.elbow.dev/k8s-shop-web-"), "named after the Service: {gate}");
        // Instance mode, or an Ingress Elbow has not taken on, or of another class: none.
        assert!(
            gates_for(Some(&pod()), &with_ingress(ingress(Some(finalizer.clone()), "instance")), &policy()).is_empty()
        );
        assert!(gates_for(Some(&pod()), &with_ingress(ingress(None, "ip")), &policy()).is_empty());
        let mut foreign = with_ingress(ingress(Some(finalizer), "ip"));
        foreign.classes[0].spec.as_mut().unwrap().controller = Some("ingress.k8s.aws/alb".into());
        assert!(gates_for(Some(&pod()), &foreign, &policy()).is_empty());
    }

    fn object(gates: Option<&[&str]>) -> Value {
        let mut pod =
            json!({ "metadata": { "name": "web-1" }, "spec": { "containers": [{ "name": "app", "image": "nginx" }] } });
        if let Some(gates) = gates {
            pod["spec"]["readinessGates"] =
                json!(gates.iter().map(|g| json!({ "conditionType": g })).collect::<Vec<_>>());
        }
        pod
    }

    fn patched(object: &Value, patch: &json_patch::Patch) -> Value {
        let mut object = object.clone();
        json_patch::patch(&mut object, patch).unwrap();
        object
    }

    #[test]
    fn the_patch_adds_the_missing_gates_only_and_nothing_twice() {
        let a = "target-health.elbow.dev/k8s-shop-web-aaaaaaaaaa".to_string();
        let b = "target-health.elbow.dev/k8s-shop-web-bbbbbbbbbb".to_string();
        let gates = BTreeSet::from([a.clone(), b.clone()]);
        let fresh = object(None);
        let after = patched(&fresh, &gates_patch(&fresh, &gates).expect("a patch"));
        assert_eq!(after["spec"]["readinessGates"], json!([{ "conditionType": a }, { "conditionType": b }]));
        assert_eq!(after["spec"]["containers"], fresh["spec"]["containers"], "nothing else changes");
        assert_eq!(gates_patch(&after, &gates), None, "idempotent: a pod with its gates is left alone");

        // The pod's own gates stay, first; only what is missing is appended.
        let own = object(Some(&["example.com/warmed-up", &a]));
        let after = patched(&own, &gates_patch(&own, &gates).expect("b is missing"));
        assert_eq!(
            after["spec"]["readinessGates"],
            json!([{ "conditionType": "example.com/warmed-up" }, { "conditionType": a }, { "conditionType": b }])
        );
        assert_eq!(gates_patch(&object(None), &BTreeSet::new()), None, "no gate, no patch");
    }

    #[test]
    fn only_the_creation_of_a_pod_is_mutated() {
        let request = |operation: &str, resource: &str, sub: Option<&str>| AdmissionRequest {
            uid: "u".into(),
            resource: GroupVersionResource { group: String::new(), version: "v1".into(), resource: resource.into() },
            sub_resource: sub.map(str::to_string),
            operation: operation.into(),
            namespace: Some("shop".into()),
            object: Some(object(None)),
        };
        assert!(is_pod_creation(&request("CREATE", "pods", None)));
        assert!(is_pod_creation(&request("CREATE", "pods", Some(""))));
        assert!(!is_pod_creation(&request("UPDATE", "pods", None)), "readinessGates are immutable after creation");
        assert!(!is_pod_creation(&request("CREATE", "pods", Some("binding"))));
        assert!(!is_pod_creation(&request("CREATE", "services", None)));
    }
}
