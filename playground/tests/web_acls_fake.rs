//! WAF annotations through the real controllers and the in-memory cloud: a web ACL that does not
//! exist yet is a Warning on the Ingress naming what to do, the load balancer is served all the
//! same, and the association follows once the web ACL exists, without touching the Ingress.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_fake::WebAclScope;
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::{create_from_json, eventually};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::Api;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_web_acl_name_is_a_warning_until_the_web_acl_exists() {
    let sandbox = Sandbox::start(SandboxOptions::new("e2e-waf", Aws::Fake)).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    let client = sandbox.client();
    sandbox.web_service_and_class().await;
    create_from_json(
        &Api::<Ingress>::namespaced(client.clone(), "default"),
        json!({
            "metadata": { "name": "shop", "annotations": { "alb.ingress.kubernetes.io/wafv2-acl-name": "shop-acl" } },
            "spec": { "ingressClassName": "elbow", "rules": [{ "host": "shop.example.com", "http": { "paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": "web", "port": { "number": 80 } } }
            }] } }] }
        }),
    )
    .await;

    let events: Api<Event> = Api::namespaced(client, "default");
    let note = eventually("a Warning naming the missing web ACL", async || {
        let listed = events.list(&Default::default()).await.ok()?;
        listed
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("FailedDeployModel") && e.type_.as_deref() == Some("Warning"))
            .and_then(|e| (e.regarding?.name? == "shop").then_some(e.note?))
    })
    .await;
    assert!(
        note.contains("\"shop-acl\"") && note.contains("alb.ingress.kubernetes.io/wafv2-acl-name"),
        "the Warning says what is missing and which annotation names it: {note}"
    );
    assert_eq!(cloud.load_balancers().len(), 1, "the load balancer is served all the same");
    let lb = cloud.load_balancers()[0].arn.clone();
    assert_eq!(cloud.wafv2_web_acl_of(&lb), None);

    let acl = cloud.seed_wafv2_web_acl("shop-acl", WebAclScope::Regional);
    let associated = eventually("the web ACL associated once it exists", async || {
        cloud.wafv2_web_acl_of(&lb).filter(|arn| *arn == acl.arn)
    })
    .await;
    assert_eq!(associated, acl.arn);
    sandbox.stop().await;
}
