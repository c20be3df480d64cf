//! Tags and target nodes per target group, as LBC layers them.

use super::*;

fn tag<'a>(tags: &'a Tags, key: &str) -> Option<&'a str> {
    tags.get(key).map(String::as_str)
}

#[test]
fn tags_layer_annotations_then_the_service_then_params_then_defaults() {
    let params = IngressClassParamsSpec {
        tags: Some(vec![KeyValue { key: "team".into(), value: "platform".into() }]),
        ..Default::default()
    };
    let one = member("shop", "one", &[("tags", "team=a,cost=1,env=dev")], "one.example.com");
    // `team` conflicts between the members, but the params set it: no conflict, as in LBC.
    let two = member("shop", "two", &[("tags", "team=b")], "two.example.com");
    let mut services = services();
    services[0] = service("shop", "web", &[("tags", "cost=2,owner=web-team,team=svc")]);
    let nodes = nodes();
    let inventory = inventory();
    let mut config = config();
    config.default_tags = Tags::from([("env".to_string(), "prod".to_string())]);
    let group = group_of(&one, Some(&params)).expect("group");
    let input = IngressGroupInput {
        group: &group,
        members: vec![&one, &two],
        services: &services,
        secrets: &[],
        nodes: &borrowed(&nodes),
        endpoint_slices: &[],
        pods: &crate::endpoints::NoPodFacts,
        inventory: &inventory,
        certificates: &inventory.certificates,
        params: Some(&params),
        config: &config,
    };
    let stack = build_ingress_stack(&input).expect("builds");

    let lb = &stack.load_balancers[0].tags;
    assert_eq!((tag(lb, "team"), tag(lb, "cost"), tag(lb, "env")), (Some("platform"), Some("1"), Some("prod")));
    assert_eq!(tag(lb, "owner"), None, "a Service's tags are its target groups' only");
    for tg in &stack.target_groups {
        let tags = &tg.tags;
        assert_eq!(tag(tags, "cost"), Some("2"), "{}: the Service wins over the Ingress", tg.resource_id);
        assert_eq!(tag(tags, "owner"), Some("web-team"));
        assert_eq!(tag(tags, "team"), Some("platform"), "the params win over the Service");
        assert_eq!(tag(tags, "env"), Some("prod"), "--default-tag wins over every annotation");
        assert_eq!(tag(tags, "elbow.dev/resource"), Some(tg.resource_id.as_str()));
    }

    // Without params, the members' conflict is an error again.
    let error = build_with(&[&one, &two], &services, None).expect_err("conflict").to_string();
    assert!(error.starts_with("conflicting tags key team"), "{error}");
    // A bad `tags` on a backend Service names the Service.
    let mut bad = self::services();
    bad[0] = service("shop", "web", &[("tags", "nonsense")]);
    let error = build_with(&[&one], &bad, None).expect_err("bad tags").to_string();
    assert!(
        error.starts_with("Ingress shop/one: annotation alb.ingress.kubernetes.io/tags has an invalid value"),
        "{error}"
    );
}

#[test]
fn target_node_labels_choose_each_target_groups_nodes() {
    let mut labelled = nodes();
    labelled[0].metadata.labels.get_or_insert_default().insert("pool".into(), "web".into());
    labelled[1].metadata.labels.get_or_insert_default().insert("pool".into(), "api".into());
    let build_on = |ingress: &Ingress, services: &[Service]| {
        let group = group_of(ingress, None).expect("group");
        let inventory = inventory();
        let config = config();
        let input = IngressGroupInput {
            group: &group,
            members: vec![ingress],
            services,
            secrets: &[],
            nodes: &borrowed(&labelled),
            endpoint_slices: &[],
            pods: &crate::endpoints::NoPodFacts,
            inventory: &inventory,
            certificates: &inventory.certificates,
            params: None,
            config: &config,
        };
        build_ingress_stack(&input).expect("builds")
    };
    let ingress = ingress(
        "shop",
        "web",
        &[("target-node-labels", "pool=web")],
        vec![rule(None, vec![path("/", "Prefix", "web", "http"), path("/api", "Prefix", "api", "http")])],
    );
    let mut services = services();
    services[1] = service("shop", "api", &[("target-node-labels", "pool=api")]);
    let stack = build_on(&ingress, &services);
    let targets = |service: &str| -> Vec<String> {
        let tg = stack.target_groups.iter().find(|tg| tg.resource_id.as_str().ends_with(&format!("/{service}:http")));
        tg.expect("target group").targets.iter().map(|t| t.id.clone()).collect()
    };
    assert_eq!(targets("web"), ["i-1"], "the Ingress's labels");
    assert_eq!(targets("api"), ["i-2"], "the Service's labels win over the Ingress's");

    let bare = build_on(&web(&[("target-node-labels", "pool")]), &services);
    let ids: Vec<&str> = bare.target_groups[0].targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["i-1", "i-2"], "a bare key asks only for the label");
    let message = build_with(&[&web(&[("target-node-labels", "=web")])], &self::services(), None)
        .expect_err("bad labels")
        .to_string();
    assert!(message.contains("alb.ingress.kubernetes.io/target-node-labels"), "{message}");
}
