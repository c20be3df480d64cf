//! `/mutate-v1-service`: an `admission.k8s.io/v1` AdmissionReview in, one out. The only change
//! ever made is Elbow's class on a class-less LoadBalancer Service being created, so that the
//! cloud provider's service controller (which serves every class-less LoadBalancer Service, as
//! EKS's always does) leaves it to Elbow. Nothing is ever denied: a request that is not such a
//! Service is allowed unchanged. The review's envelope ([`parse`], [`allowed`]) serves the pod
//! webhook (`pods`) too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Service;
use serde::Deserialize;
use serde_json::{Value, json};

pub const PATH: &str = "/mutate-v1-service";
pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// What the webhook does to the Services it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassPolicy {
    /// Elbow's `spec.loadBalancerClass` (`--load-balancer-class`).
    pub load_balancer_class: String,
    /// Off: every request is allowed unchanged (`--webhook-set-load-balancer-class=false`).
    pub set_class: bool,
    /// `--take-over-lbc-services`: Services marked for the AWS Load Balancer Controller get
    /// Elbow's class too. Otherwise they are left class-less, for LBC, exactly as the Service
    /// controller leaves them ([`elbow_builder::service::carries_lbc_marker`]).
    pub take_over_lbc_services: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdmissionReview {
    api_version: String,
    kind: String,
    request: Option<AdmissionRequest>,
}

/// The fields of an AdmissionRequest the decision reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub resource: GroupVersionResource,
    #[serde(default)]
    pub sub_resource: Option<String>,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// The object as it would be stored; absent for DELETE.
    #[serde(default)]
    pub object: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GroupVersionResource {
    #[serde(default)]
    pub group: String,
    pub version: String,
    pub resource: String,
}

/// The JSON patch that gives the Service in `request` Elbow's class, or none when it should be
/// left as it is: anything but the CREATE of a core/v1 Service (not a subresource) of type
/// LoadBalancer with no class. An empty class counts as none, since kube-apiserver would refuse
/// it (a class must be a qualified name), and setting ours is what its author meant by none.
pub fn class_patch(request: &AdmissionRequest, policy: &ClassPolicy) -> Option<json_patch::Patch> {
    let services = GroupVersionResource { group: String::new(), version: "v1".into(), resource: "services".into() };
    if !policy.set_class
        || request.operation != "CREATE"
        || request.resource != services
        || request.sub_resource.as_deref().is_some_and(|s| !s.is_empty())
    {
        return None;
    }
    let spec = request.object.as_ref()?.get("spec")?;
    if spec.get("type").and_then(Value::as_str) != Some("LoadBalancer") {
        return None;
    }
    let class_is_set = spec.get("loadBalancerClass").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
    if class_is_set || (!policy.take_over_lbc_services && marked_for_lbc(request)) {
        return None;
    }
    // `add` replaces a member that is there (the empty class) and creates one that is not.
    serde_json::from_value(json!([
        { "op": "add", "path": "/spec/loadBalancerClass", "value": policy.load_balancer_class }
    ]))
    .ok()
}

/// Whether the Service being created carries LBC's own markers, read by the same rule the
/// Service controller applies.
fn marked_for_lbc(request: &AdmissionRequest) -> bool {
    let metadata = request.object.as_ref().and_then(|o| o.get("metadata")).cloned().unwrap_or(Value::Null);
    let service = Service { metadata: serde_json::from_value(metadata).unwrap_or_default(), ..Service::default() };
    elbow_builder::service::carries_lbc_marker(&service)
}

/// A review answered: always allowed, with the patch when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub response: Value,
    /// `namespace/name` of the Service given the class, for the log.
    pub patched: Option<String>,
}

/// The request in the review `body`, or why the body is not one (answered with 400 Bad Request:
/// kube-apiserver then applies the webhook's failurePolicy).
pub fn parse(body: &[u8]) -> Result<AdmissionRequest, String> {
    let review: AdmissionReview =
        serde_json::from_slice(body).map_err(|e| format!("the body is not an AdmissionReview: {e}"))?;
    if review.api_version != API_VERSION || review.kind != KIND {
        return Err(format!(
            "expected apiVersion {API_VERSION} and kind {KIND}, got {:?} and {:?}",
            review.api_version, review.kind
        ));
    }
    let request = review.request.ok_or("the AdmissionReview has no request")?;
    if request.uid.is_empty() {
        return Err("the AdmissionRequest has no uid".into());
    }
    Ok(request)
}

/// The response review allowing `request`, with `patch` when there is one.
pub fn allowed(request: &AdmissionRequest, patch: Option<&json_patch::Patch>) -> Result<Value, String> {
    let mut response = json!({ "uid": request.uid, "allowed": true });
    if let Some(patch) = patch {
        let bytes = serde_json::to_vec(patch).map_err(|e| format!("the patch does not serialise: {e}"))?;
        response["patchType"] = json!("JSONPatch");
        response["patch"] = json!(STANDARD.encode(bytes));
    }
    Ok(json!({ "apiVersion": API_VERSION, "kind": KIND, "response": response }))
}

/// `namespace/name` of the object being admitted (its generateName while it has no name), for
/// the log.
pub fn object_name(request: &AdmissionRequest) -> String {
    let metadata = request.object.as_ref().and_then(|o| o.get("metadata"));
    let name = metadata
        .and_then(|m| {
            m.get("name").filter(|n| n.as_str().is_some_and(|n| !n.is_empty())).or_else(|| m.get("generateName"))
        })
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{}/{name}", request.namespace.as_deref().unwrap_or_default())
}

/// The response review for the request review in `body`, or why the body is not one (answered
/// with 400 Bad Request: kube-apiserver then applies the webhook's failurePolicy).
pub fn answer(body: &[u8], policy: &ClassPolicy) -> Result<Answer, String> {
    let request = parse(body)?;
    let patch = class_patch(&request, policy);
    let patched = patch.as_ref().map(|_| object_name(&request));
    Ok(Answer { response: allowed(&request, patch.as_ref())?, patched })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ClassPolicy {
        ClassPolicy { load_balancer_class: "elbow.dev/nlb".into(), set_class: true, take_over_lbc_services: false }
    }

    fn request(operation: &str, spec: Value) -> AdmissionRequest {
        AdmissionRequest {
            uid: "705ab4f5-6393-11e8-b7cc-42010a800002".into(),
            resource: GroupVersionResource { group: String::new(), version: "v1".into(), resource: "services".into() },
            sub_resource: None,
            operation: operation.into(),
            namespace: Some("shop".into()),
            object: Some(json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "web" }, "spec": spec })),
        }
    }

    fn lb(extra: Value) -> Value {
        let mut spec = json!({ "type": "LoadBalancer", "ports": [{ "port": 80 }] });
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        spec
    }

    /// The Service object after the patch, as kube-apiserver would store it.
    fn patched(request: &AdmissionRequest, patch: &json_patch::Patch) -> Value {
        let mut object = request.object.clone().unwrap();
        json_patch::patch(&mut object, patch).unwrap();
        object
    }

    #[test]
    fn a_class_less_load_balancer_service_being_created_gets_elbows_class() {
        for spec in [lb(json!({})), lb(json!({ "loadBalancerClass": null })), lb(json!({ "loadBalancerClass": "" }))] {
            let request = request("CREATE", spec);
            let patch = class_patch(&request, &policy()).expect("a patch");
            assert_eq!(patched(&request, &patch)["spec"]["loadBalancerClass"], "elbow.dev/nlb");
            assert_eq!(patched(&request, &patch)["spec"]["ports"], json!([{ "port": 80 }]), "nothing else changes");
        }
    }

    #[test]
    fn the_class_set_is_the_configured_one() {
        let custom = ClassPolicy { load_balancer_class: "example.com/nlb".into(), set_class: true, ..policy() };
        let request = request("CREATE", lb(json!({})));
        let patch = class_patch(&request, &custom).unwrap();
        assert_eq!(patched(&request, &patch)["spec"]["loadBalancerClass"], "example.com/nlb");
    }

    #[test]
    fn services_marked_for_lbc_stay_class_less_unless_taken_over() {
        for marker in ["external", "nlb-ip"] {
            let mut request = request("CREATE", lb(json!({})));
            request.object.as_mut().unwrap()["metadata"] = json!({ "name": "web", "annotations": { "service.beta.kubernetes.io/aws-load-balancer-type": marker } });
            assert_eq!(class_patch(&request, &policy()), None, "{marker}: left to LBC");
            let taking_over = ClassPolicy { take_over_lbc_services: true, ..policy() };
            let patch = class_patch(&request, &taking_over).expect("taken over");
            assert_eq!(patched(&request, &patch)["spec"]["loadBalancerClass"], "elbow.dev/nlb");
        }
    }

    #[test]
    fn everything_else_is_left_alone() {
        let cases = [
            ("another class", request("CREATE", lb(json!({ "loadBalancerClass": "service.k8s.aws/nlb" })))),
            ("Elbow's class already", request("CREATE", lb(json!({ "loadBalancerClass": "elbow.dev/nlb" })))),
            ("ClusterIP", request("CREATE", json!({ "type": "ClusterIP", "ports": [{ "port": 80 }] }))),
            ("NodePort", request("CREATE", json!({ "type": "NodePort" }))),
            ("no type (ClusterIP)", request("CREATE", json!({ "ports": [{ "port": 80 }] }))),
            // The class cannot change once a LoadBalancer Service exists; updates pass unchanged.
            ("UPDATE", request("UPDATE", lb(json!({})))),
            ("DELETE", AdmissionRequest { object: None, ..request("DELETE", json!({})) }),
            (
                "status subresource",
                AdmissionRequest { sub_resource: Some("status".into()), ..request("CREATE", lb(json!({}))) },
            ),
            (
                "another resource",
                AdmissionRequest {
                    resource: GroupVersionResource {
                        group: "apps".into(),
                        version: "v1".into(),
                        resource: "deployments".into(),
                    },
                    ..request("CREATE", lb(json!({})))
                },
            ),
            ("no spec", AdmissionRequest { object: Some(json!({ "metadata": {} })), ..request("CREATE", json!({})) }),
        ];
        for (case, request) in cases {
            assert_eq!(class_patch(&request, &policy()), None, "{case}");
        }
        let off = ClassPolicy { set_class: false, ..policy() };
        assert_eq!(class_patch(&request("CREATE", lb(json!({}))), &off), None, "mutation turned off");
    }

    fn review_body(operation: &str, spec: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": { "group": "", "version": "v1", "kind": "Service" },
                "resource": { "group": "", "version": "v1", "resource": "services" },
                "requestKind": { "group": "", "version": "v1", "kind": "Service" },
                "requestResource": { "group": "", "version": "v1", "resource": "services" },
                "name": "web",
                "namespace": "shop",
                "operation": operation,
                "userInfo": { "username": "admin", "groups": ["system:masters", "system:authenticated"] },
                "object": { "apiVersion": "v1", "kind": "Service", "metadata": { "name": "web", "namespace": "shop" }, "spec": spec },
                "oldObject": null,
                "dryRun": false,
                "options": { "apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" }
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_answer_echoes_the_uid_allows_and_carries_the_patch_in_base64() {
        let answer = answer(&review_body("CREATE", lb(json!({}))), &policy()).unwrap();
        assert_eq!(answer.patched.as_deref(), Some("shop/web"));
        let review = &answer.response;
        assert_eq!((review["apiVersion"].as_str(), review["kind"].as_str()), (Some(API_VERSION), Some(KIND)));
        let response = &review["response"];
        assert_eq!(response["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(response["allowed"], true);
        assert_eq!(response["patchType"], "JSONPatch");
        let patch: Value =
            serde_json::from_slice(&STANDARD.decode(response["patch"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(patch, json!([{ "op": "add", "path": "/spec/loadBalancerClass", "value": "elbow.dev/nlb" }]));
        assert!(response.get("status").is_none(), "no status on an allowed request");
    }

    #[test]
    fn an_answer_without_a_change_has_no_patch() {
        let answer = answer(&review_body("CREATE", json!({ "type": "ClusterIP" })), &policy()).unwrap();
        assert_eq!(answer.patched, None);
        assert_eq!(
            answer.response["response"],
            json!({ "uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true })
        );
    }

    #[test]
    fn a_body_that_is_not_a_v1_review_is_refused_with_the_reason() {
        let v1beta1 = String::from_utf8(review_body("CREATE", lb(json!({}))))
            .unwrap()
            .replace("admission.k8s.io/v1", "admission.k8s.io/v1beta1");
        let no_uid = String::from_utf8(review_body("CREATE", lb(json!({}))))
            .unwrap()
            .replace("705ab4f5-6393-11e8-b7cc-42010a800002", "");
        let cases: [(&[u8], &str); 5] = [
            (b"", "not an AdmissionReview"),
            (b"{not json", "not an AdmissionReview"),
            (v1beta1.as_bytes(), "expected apiVersion admission.k8s.io/v1"),
            (br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "has no request"),
            (no_uid.as_bytes(), "has no uid"),
        ];
        for (body, expected) in cases {
            let error = answer(body, &policy()).unwrap_err();
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }
}
