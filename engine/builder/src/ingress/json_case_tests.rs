//! `actions.<name>` and `conditions.<name>` as LBC's users write them: LBC decodes them with Go's
//! `encoding/json`, whose keys match struct fields ignoring case, so LBC's PascalCase examples
//! (`Type`, `ForwardConfig`, `TargetGroups`, ...) mean what the camelCase ones mean.

use super::*;

#[test]
fn pascal_case_actions_mean_what_camel_case_ones_mean() {
    let camel = r#"{"type":"forward","forwardConfig":{"targetGroups":[
        {"serviceName":"web","servicePort":"http","weight":90},
        {"serviceName":"canary","servicePort":80,"weight":10}]}}"#;
    let pascal = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[
        {"ServiceName":"web","ServicePort":"http","Weight":90},
        {"SERVICENAME":"canary","servicePORT":80,"weight":10}]}}"#;
    assert_eq!(built(&[&annotated(&[("actions.split", pascal)])]), built(&[&annotated(&[("actions.split", camel)])]));

    let redirect =
        r#"{"Type":"redirect","RedirectConfig":{"Host":"new.example.com","Protocol":"HTTPS","StatusCode":"HTTP_301"}}"#;
    let stack = built(&[&annotated(&[("actions.split", redirect)])]);
    let Action::Redirect { host, protocol, status_code, .. } = &listener(&stack, 80).rules[0].actions[0] else {
        panic!("a redirect")
    };
    assert_eq!(
        (host.as_deref(), protocol.as_deref(), status_code.as_str()),
        (Some("new.example.com"), Some("HTTPS"), "HTTP_301")
    );

    let fixed = r#"{"Type":"fixed-response","FixedResponseConfig":{"ContentType":"text/plain","StatusCode":"503","MessageBody":"down"}}"#;
    let stack = built(&[&annotated(&[("actions.split", fixed)])]);
    assert_eq!(
        listener(&stack, 80).rules[0].actions,
        [Action::FixedResponse {
            status_code: "503".into(),
            content_type: Some("text/plain".into()),
            message_body: Some("down".into())
        }]
    );

    // The controller routes Service changes by the same reading.
    let ingress = annotated(&[("actions.split", pascal)]);
    let names: Vec<String> = referenced_service_names(&ingress).into_iter().collect();
    assert_eq!(names, ["canary", "web"]);

    // Values are not folded: LBC's action types are lowercase.
    let message = error(&[&annotated(&[("actions.split", r#"{"Type":"Forward"}"#)])]);
    assert!(message.contains("type \"Forward\" is not supported"), "{message}");
    // A target group named instead of a Service is read in any case too.
    let by_name = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupName":"tg-1"}]}}"#;
    let stack = built(&[&annotated(&[("actions.split", by_name)])]);
    assert_eq!(stack.foreign_target_groups[0].reference, elbow_model::TargetGroupReference::Name("tg-1".into()));
}

#[test]
fn pascal_case_conditions_mean_what_camel_case_ones_mean() {
    let with = |conditions: &str| {
        let canary = ingress(
            "shop",
            "web",
            &[("conditions.web", conditions)],
            vec![rule(Some("shop.example.com"), vec![path("/", "Prefix", "web", "http")])],
        );
        build(&[&canary])
    };
    let camel = r#"[
        {"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Canary","values":["yes"]}},
        {"field":"host-header","hostHeaderConfig":{"values":["www.example.com"]}},
        {"field":"query-string","queryStringConfig":{"values":[{"key":"v","value":"2"}]}},
        {"field":"source-ip","sourceIPConfig":{"values":["10.0.0.0/8"]}},
        {"field":"http-request-method","httpRequestMethodConfig":{"values":["GET"]}}
    ]"#;
    let pascal = r#"[
        {"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X-Canary","Values":["yes"]}},
        {"Field":"host-header","HostHeaderConfig":{"Values":["www.example.com"]}},
        {"Field":"query-string","QueryStringConfig":{"Values":[{"Key":"v","Value":"2"}]}},
        {"Field":"source-ip","SourceIpConfig":{"Values":["10.0.0.0/8"]}},
        {"Field":"http-request-method","HTTPRequestMethodConfig":{"Values":["GET"]}}
    ]"#;
    let expected = with(camel).expect("camelCase");
    assert_eq!(with(pascal).expect("PascalCase"), expected);
    assert_eq!(listener(&expected, 80).rules[0].conditions.len(), 6, "every condition, plus the path");

    let regex = r#"[{"Field":"host-header","HostHeaderConfig":{"RegexValues":["^a.*"],"Values":["a.example.com"]}}]"#;
    let message = with(regex).expect_err("regex").to_string();
    assert!(message.contains("either values or regexValues, not both"), "{message}");
}
