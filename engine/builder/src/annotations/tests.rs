use super::*;

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (format!("{SERVICE_PREFIX}aws-load-balancer-{k}"), v.to_string())).collect()
}

#[test]
fn templated_names_and_json_values() {
    let values: BTreeMap<String, String> = [
        ("alb.ingress.kubernetes.io/actions.web", r#"{"type":"redirect"}"#),
        ("alb.ingress.kubernetes.io/listen-ports", "[{\"HTTP\": 80"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let read = Annotations::ingress(&values);
    let action: Option<serde_json::Value> = read.json("actions.web", "an action").expect("valid JSON");
    assert_eq!(action.and_then(|a| a["type"].as_str().map(str::to_string)).as_deref(), Some("redirect"));
    let error = read.json::<serde_json::Value>("listen-ports", "a JSON list").expect_err("cut short");
    assert!(
        error.to_string().starts_with("annotation alb.ingress.kubernetes.io/listen-ports has an invalid value"),
        "{error}"
    );
    assert_eq!(read.json::<serde_json::Value>("actions.other", "an action"), Ok(None));
}

#[test]
fn success_codes() {
    for good in ["200", "200-399", "200,204", "200-299,404"] {
        assert_eq!(valid_success_codes(good).as_deref(), Some(good));
    }
    for bad in ["", "20", "199", "600", "300-200", "ok", "200,"] {
        assert_eq!(valid_success_codes(bad), None, "{bad}");
    }
}

#[test]
fn grpc_success_codes() {
    for good in ["12", "0", "0-99", "0,12", "0-5,12"] {
        assert_eq!(valid_grpc_success_codes(good).as_deref(), Some(good), "{good}");
    }
    for bad in ["", "100", "200", "-1", "12-0", "012", "ok", "0,"] {
        assert_eq!(valid_grpc_success_codes(bad), None, "{bad}");
    }
}

#[test]
fn typed_readers_accept_good_values_and_name_the_annotation_on_bad_ones() {
    let values = annotations(&[
        ("internal", "TRUE"),
        ("healthcheck-interval", "30"),
        ("healthcheck-timeout", "1"),
        ("subnets", " subnet-a, ,subnet-b "),
        ("additional-resource-tags", "team=web, cost=1"),
        ("target-node-labels", "pool=web,gpu"),
        ("attributes", "broken"),
    ]);
    let read = Annotations::service(&values);
    assert_eq!(read.bool("aws-load-balancer-internal"), Ok(Some(true)));
    assert_eq!(read.number("aws-load-balancer-healthcheck-interval", 5, 300), Ok(Some(30)));
    let error = read.number("aws-load-balancer-healthcheck-timeout", 2, 120).expect_err("out of range");
    assert_eq!(
        error.to_string(),
        "annotation service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout has an invalid value \"1\": a whole number from 2 to 120"
    );
    assert_eq!(read.list("aws-load-balancer-subnets"), Some(vec!["subnet-a".to_string(), "subnet-b".to_string()]));
    let tags = read.pairs("aws-load-balancer-additional-resource-tags", false).expect("valid").expect("present");
    assert_eq!(tags.get("team").map(String::as_str), Some("web"));
    let labels = read.pairs("aws-load-balancer-target-node-labels", true).expect("valid").expect("present");
    assert_eq!(labels.get("gpu").map(String::as_str), Some(""));
    assert!(read.pairs("aws-load-balancer-attributes", false).is_err());
    assert_eq!(read.bool("aws-load-balancer-scheme"), Ok(None), "absent");
}

#[test]
fn go_json_matches_keys_ignoring_case_and_prefers_the_exact_one() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        status_code: Option<String>,
        target_groups: Option<Vec<BTreeMap<String, String>>>,
    }
    let values: BTreeMap<String, String> = [
        ("alb.ingress.kubernetes.io/actions.a", r#"{"StatusCode":"200","TARGETGROUPS":[{"ServiceName":"web"}]}"#),
        ("alb.ingress.kubernetes.io/actions.b", r#"{"StatusCode":"500","statusCode":"200","Other":1}"#),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let read = Annotations::ingress(&values);
    let fields = ["statusCode", "targetGroups", "serviceName"];
    let a: Shape = read.go_json("actions.a", "a shape", &fields).expect("valid").expect("present");
    assert_eq!(a.status_code.as_deref(), Some("200"));
    let tuple = &a.target_groups.expect("folded")[0];
    assert_eq!(tuple.get("serviceName").map(String::as_str), Some("web"), "nested keys are folded too");
    let b: Shape = read.go_json("actions.b", "a shape", &fields).expect("valid").expect("present");
    assert_eq!(b.status_code.as_deref(), Some("200"), "the exact key wins; unknown keys are ignored");
    let plain: Option<Shape> = read.json("actions.a", "a shape").expect("valid JSON");
    assert_eq!(plain.and_then(|s| s.status_code), None, "plain json is case-sensitive");
}
