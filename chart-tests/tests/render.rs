//! `helm lint` and `helm template` of charts/elbow with the real helm: what default and
//! non-default values render, that values.schema.json refuses bad values, and that the chart's
//! copies of the CRDs and of the IngressClassParams schema have not drifted from crds/.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use elbow_chart_tests::{NAMESPACE, chart_dir, helm, operator_args, operator_container, render, template, values_file};
use elbow_testkit::workspace_path;
use serde_json::{Value, json};

fn required() -> std::path::PathBuf {
    values_file("required.yaml")
}

fn every_option() -> std::path::PathBuf {
    values_file("every-option.yaml")
}

fn yaml_file(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn has_arg(args: &[String], arg: &str) -> bool {
    args.iter().any(|a| a == arg)
}

#[test]
fn helm_lint_passes_with_the_required_values_and_with_every_option() {
    for values in [required(), every_option()] {
        let chart = chart_dir();
        let output = helm(&["lint", "--strict", chart.to_str().unwrap(), "--values", values.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "helm lint with {}:\n{stdout}\n{}", values.display(), {
            String::from_utf8_lossy(&output.stderr)
        });
        assert!(stdout.contains("1 chart(s) linted, 0 chart(s) failed"), "{stdout}");
    }
}

#[test]
fn helm_lint_fails_without_the_required_values() {
    let chart = chart_dir();
    let output = helm(&["lint", chart.to_str().unwrap()]);
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "{all}");
    assert!(all.contains("/clusterName") && all.contains("/vpcId"), "{all}");
}

#[test]
fn default_values_render_exactly_the_always_on_objects() {
    let manifests = render(&[&required()], &[]);
    let rendered: BTreeSet<(String, String)> = manifests.kinds_and_names().into_iter().collect();
    let expected: BTreeSet<(String, String)> = [
        ("CustomResourceDefinition", "ingressclassparams.elbow.dev"),
        ("CustomResourceDefinition", "targetgroupbindings.elbow.dev"),
        ("ServiceAccount", "elbow"),
        ("ClusterRole", "elbow"),
        ("ClusterRoleBinding", "elbow"),
        ("Role", "elbow-leader-election"),
        ("RoleBinding", "elbow-leader-election"),
        ("Deployment", "elbow"),
        ("PodDisruptionBudget", "elbow"),
        ("Service", "elbow-metrics"),
        // The admission webhook, on by default, with its certificate made by the operator.
        ("MutatingWebhookConfiguration", "elbow"),
        ("Service", "elbow-webhook"),
        ("Role", "elbow-webhook"),
        ("RoleBinding", "elbow-webhook"),
        ("ClusterRole", "elbow-webhook"),
        ("ClusterRoleBinding", "elbow-webhook"),
    ]
    .into_iter()
    .map(|(kind, name)| (kind.to_string(), name.to_string()))
    .collect();
    assert_eq!(rendered, expected);
    // CRDs come first, so applying the stream in order works.
    assert_eq!(manifests.objects[0]["kind"], "CustomResourceDefinition");
    for object in manifests.objects.iter().filter(|o| o["kind"] != "CustomResourceDefinition") {
        let cluster_scoped = ["ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"];
        let namespaced = !cluster_scoped.contains(&object["kind"].as_str().unwrap());
        assert_eq!(object["metadata"]["namespace"] == NAMESPACE, namespaced, "{object}");
        assert_eq!(object["metadata"]["labels"]["app.kubernetes.io/instance"], "elbow", "{object}");
    }
}

#[test]
fn the_deployment_runs_two_hardened_replicas_with_leader_election_and_probes() {
    let manifests = render(&[&required()], &[]);
    let deployment = manifests.get("Deployment", "elbow");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "elbow");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");

    let container = operator_container(deployment);
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    assert!(security.get("privileged").is_none_or(|p| p == false), "{security}");
    assert_eq!(container["image"], "elbow:0.1.0", "the tag defaults to the chart's appVersion");

    let args = operator_args(deployment);
    assert_eq!(args[0], "run", "{args:?}");
    for arg in [
        "--cluster-name=prod-eu",
        "--vpc-id=vpc-0a1b2c3d4e5f60718",
        "--default-scheme=internal",
        "--load-balancer-class=elbow.dev/nlb",
        "--default-load-balancer=true",
        "--ingress-controller=elbow.dev/alb",
        "--log-format=text",
        "--leader-elect=true",
        "--leader-election-namespace=elbow-system",
        "--leader-election-lease-name=elbow",
        "--metrics-bind-address=0.0.0.0:8080",
        "--webhook=true",
        "--webhook-bind-address=0.0.0.0:9443",
        "--webhook-certificate-mode=self",
        "--webhook-namespace=elbow-system",
        "--webhook-service-name=elbow-webhook",
        "--webhook-secret-name=elbow-webhook-tls",
        "--webhook-configuration-name=elbow",
        "--webhook-certificate-check-period=10m",
    ] {
        assert!(has_arg(&args, arg), "{arg} missing from {args:?}");
    }
    assert!(!args.iter().any(|a| a.starts_with("--region") || a.starts_with("--aws-endpoint")), "{args:?}");
    assert!(!args.iter().any(|a| a.starts_with("--default-tag")), "{args:?}");

    assert_eq!(
        container["ports"],
        json!([
            { "name": "metrics", "containerPort": 8080, "protocol": "TCP" },
            { "name": "webhook", "containerPort": 9443, "protocol": "TCP" }
        ])
    );
    assert_eq!(container["livenessProbe"]["httpGet"], json!({ "path": "/healthz", "port": "metrics" }));
    assert_eq!(container["readinessProbe"]["httpGet"], json!({ "path": "/readyz", "port": "metrics" }));
    let env = container["env"].as_array().unwrap();
    assert!(env.contains(&json!({ "name": "RUST_LOG", "value": "info" })), "{env:?}");
    assert!(
        env.contains(&json!({ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } })),
        "{env:?}"
    );
    assert!(container["resources"]["requests"]["cpu"].is_string(), "{}", container["resources"]);
    assert!(container["resources"]["limits"]["memory"].is_string(), "{}", container["resources"]);
    // Two replicas prefer two nodes.
    let anti = &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(anti["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(anti["podAffinityTerm"]["labelSelector"]["matchLabels"], deployment["spec"]["selector"]["matchLabels"]);
}

#[test]
fn the_service_and_disruption_budget_select_the_operator_pods() {
    let manifests = render(&[&required()], &[]);
    let deployment = manifests.get("Deployment", "elbow");
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    let pod_labels = deployment["spec"]["template"]["metadata"]["labels"].as_object().unwrap();
    for (key, value) in selector.as_object().unwrap() {
        assert_eq!(pod_labels.get(key), Some(value), "the pods lack selector label {key}");
    }
    let service = manifests.get("Service", "elbow-metrics");
    assert_eq!(&service["spec"]["selector"], selector);
    assert_eq!(
        service["spec"]["ports"],
        json!([{ "name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP" }])
    );
    let budget = manifests.get("PodDisruptionBudget", "elbow");
    assert_eq!(&budget["spec"]["selector"]["matchLabels"], selector);
    assert_eq!(budget["spec"]["minAvailable"], 1);
}

/// The ClusterRole as the operator's code needs it (see the comment on each rule in
/// charts/elbow/templates/clusterrole.yaml): `(apiGroup, resource, verbs)`.
const OPERATOR_RULES: [(&str, &str, &[&str]); 15] = [
    ("", "services", &["list", "watch", "patch"]),
    ("", "services/status", &["patch"]),
    ("", "nodes", &["list", "watch"]),
    ("discovery.k8s.io", "endpointslices", &["list", "watch"]),
    ("", "pods", &["list", "watch"]),
    ("", "pods/status", &["patch"]),
    ("events.k8s.io", "events", &["create", "patch"]),
    ("networking.k8s.io", "ingresses", &["list", "watch", "patch"]),
    ("networking.k8s.io", "ingresses/status", &["patch"]),
    ("networking.k8s.io", "ingressclasses", &["list", "watch"]),
    ("elbow.dev", "ingressclassparams", &["list", "watch"]),
    ("elbow.dev", "targetgroupbindings", &["list", "watch", "patch"]),
    ("elbow.dev", "targetgroupbindings/status", &["patch"]),
    ("", "namespaces", &["get"]),
    ("", "secrets", &["list", "watch"]),
];

#[test]
fn the_cluster_role_grants_the_operators_rules_one_resource_per_rule_and_nothing_else() {
    let manifests = render(&[&required()], &[]);
    let role = manifests.get("ClusterRole", "elbow");
    let rules = role["rules"].as_array().unwrap();
    let mut granted = Vec::new();
    for rule in rules {
        let groups = rule["apiGroups"].as_array().unwrap();
        let resources = rule["resources"].as_array().unwrap();
        assert_eq!((groups.len(), resources.len()), (1, 1), "one group and resource per rule: {rule}");
        assert!(rule.get("resourceNames").is_none() && rule.get("nonResourceURLs").is_none(), "{rule}");
        let verbs: Vec<&str> = rule["verbs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(!verbs.contains(&"*") && groups[0] != "*" && resources[0] != "*", "no wildcards: {rule}");
        granted.push((groups[0].as_str().unwrap(), resources[0].as_str().unwrap(), verbs));
    }
    let expected: Vec<(&str, &str, Vec<&str>)> = OPERATOR_RULES.iter().map(|(g, r, v)| (*g, *r, v.to_vec())).collect();
    assert_eq!(granted, expected);
    // Without cluster-wide Secret access the Secrets rule goes, and only it.
    let without = render(&[&required()], &["rbac.readSecrets=false"]);
    let rules = without.get("ClusterRole", "elbow")["rules"].as_array().unwrap().clone();
    assert_eq!(rules.len(), OPERATOR_RULES.len() - 1);
    assert!(!rules.iter().any(|r| r["resources"][0] == "secrets"), "{rules:?}");

    let binding = manifests.get("ClusterRoleBinding", "elbow");
    assert_eq!(
        binding["roleRef"],
        json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "elbow" })
    );
    assert_eq!(binding["subjects"], json!([{ "kind": "ServiceAccount", "name": "elbow", "namespace": NAMESPACE }]));
}

#[test]
fn the_leader_election_role_reaches_only_the_lease_in_its_namespace() {
    let manifests = render(&[&required()], &[]);
    let role = manifests.get("Role", "elbow-leader-election");
    assert_eq!(role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        role["rules"],
        json!([
            { "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"] },
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "resourceNames": ["elbow"],
                "verbs": ["get", "update"]
            }
        ])
    );
    let binding = manifests.get("RoleBinding", "elbow-leader-election");
    assert_eq!(binding["roleRef"]["name"], "elbow-leader-election");
    assert_eq!(binding["subjects"], json!([{ "kind": "ServiceAccount", "name": "elbow", "namespace": NAMESPACE }]));
}

#[test]
fn every_option_renders_as_the_values_ask() {
    let values = yaml_file(&every_option());
    let manifests = render(&[&every_option()], &[]);

    let account = manifests.get("ServiceAccount", "elbow-operator");
    assert_eq!(
        account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/elbow-prod-eu"
    );
    for binding in [
        manifests.get("ClusterRoleBinding", "lb-controller"),
        manifests.get("RoleBinding", "lb-controller-leader-election"),
    ] {
        assert_eq!(binding["subjects"][0]["name"], "elbow-operator", "{binding}");
        assert_eq!(binding["subjects"][0]["namespace"], NAMESPACE, "{binding}");
    }
    let lease_role = manifests.get("Role", "lb-controller-leader-election");
    assert_eq!(lease_role["metadata"]["namespace"], "kube-system");
    assert_eq!(lease_role["rules"][1]["resourceNames"], json!(["elbow-leader"]));

    let deployment = manifests.get("Deployment", "lb-controller");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let template = &deployment["spec"]["template"];
    let pod = &template["spec"];
    assert_eq!(pod["serviceAccountName"], "elbow-operator");
    assert_eq!(pod["nodeSelector"], values["nodeSelector"]);
    assert_eq!(pod["tolerations"], values["tolerations"]);
    assert_eq!(pod["affinity"], values["affinity"], "a given affinity replaces the default one");
    assert_eq!(pod["priorityClassName"], "system-cluster-critical");
    assert_eq!(pod["imagePullSecrets"], values["imagePullSecrets"]);
    assert_eq!(template["metadata"]["annotations"], values["podAnnotations"]);
    assert_eq!(template["metadata"]["labels"]["tier"], "control");

    let container = operator_container(deployment);
    assert_eq!(container["image"], "registry.example.com/platform/elbow:0.2.0-rc.1");
    assert_eq!(container["imagePullPolicy"], "Always");
    assert_eq!(container["resources"], values["resources"]);
    assert_eq!(container["ports"][0]["containerPort"], 9100);
    assert!(container["env"].as_array().unwrap().contains(&json!({ "name": "RUST_LOG", "value": "info,elbow=debug" })));
    let args = operator_args(deployment);
    for arg in [
        "--region=eu-west-1",
        "--aws-endpoint=http://127.0.0.1:4566",
        "--default-scheme=internet-facing",
        "--load-balancer-class=example.com/nlb",
        "--default-load-balancer=false",
        "--ingress-controller=example.com/alb",
        "--default-tag=cost-center=4711",
        "--default-tag=team=platform",
        "--log-format=json",
        "--concurrency=4",
        "--drift-period=30m",
        "--resync-period=90s",
        "--inventory-ttl=1h",
        "--leader-elect=true",
        "--leader-election-namespace=kube-system",
        "--leader-election-lease-name=elbow-leader",
        "--metrics-bind-address=[::]:9100",
        "--webhook=true",
        "--webhook-bind-address=[::]:10443",
        "--webhook-certificate-mode=external",
        "--webhook-namespace=elbow-system",
        "--webhook-service-name=lb-controller-webhook",
        "--webhook-secret-name=lb-controller-webhook-cert",
        "--webhook-configuration-name=lb-controller",
        "--webhook-certificate-check-period=1h",
    ] {
        assert!(has_arg(&args, arg), "{arg} missing from {args:?}");
    }

    assert_eq!(container["ports"][1], json!({ "name": "webhook", "containerPort": 10443, "protocol": "TCP" }));
    let webhook = &manifests.get("MutatingWebhookConfiguration", "lb-controller")["webhooks"][0];
    assert_eq!(webhook["failurePolicy"], "Ignore");
    assert_eq!(webhook["timeoutSeconds"], 5);
    assert_eq!(webhook["namespaceSelector"], values["webhook"]["namespaceSelector"]);
    assert_eq!(webhook["objectSelector"], values["webhook"]["objectSelector"]);
    let certificate = manifests.get("Certificate", "lb-controller-webhook");
    assert_eq!(certificate["spec"]["issuerRef"], values["webhook"]["certificate"]["certManager"]["issuerRef"]);
    assert_eq!(certificate["spec"]["secretName"], "lb-controller-webhook-cert");
    assert!(manifests.of_kind("Issuer").next().is_none(), "an issuer of the platform's own is used");

    let service = manifests.get("Service", "lb-controller-metrics");
    assert_eq!(service["spec"]["ports"][0]["port"], 9100);
    assert_eq!(manifests.get("PodDisruptionBudget", "lb-controller")["spec"]["minAvailable"], 2);

    let monitor = manifests.get("ServiceMonitor", "lb-controller");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack");
    assert_eq!(monitor["spec"]["selector"]["matchLabels"], service["spec"]["selector"]);
    assert_eq!(monitor["spec"]["namespaceSelector"]["matchNames"], json!([NAMESPACE]));
    assert_eq!(
        monitor["spec"]["endpoints"],
        json!([{ "port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s" }])
    );
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&service["metadata"]["labels"][key], value, "the ServiceMonitor selects the Service by its labels");
    }

    let class = manifests.get("IngressClass", "alb");
    assert_eq!(class["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"], "true");
    assert_eq!(
        class["spec"],
        json!({
            "controller": "example.com/alb",
            "parameters": { "apiGroup": "elbow.dev", "kind": "IngressClassParams", "name": "alb-internal" }
        })
    );
    let params = manifests.get("IngressClassParams", "alb-internal");
    assert_eq!(params["apiVersion"], "elbow.dev/v1beta1");
    assert!(params["metadata"].get("namespace").is_none(), "IngressClassParams are cluster-scoped");
    assert_eq!(params["spec"], values["ingressClass"]["params"]["spec"]);
}

#[test]
fn optional_objects_follow_their_switches() {
    let manifests = render(
        &[&required()],
        &[
            "leaderElection.enabled=false",
            "replicaCount=1",
            "serviceAccount.create=false",
            "serviceAccount.name=existing",
            "rbac.create=false",
            "ingressClass.enabled=true",
            "webhook.enabled=false",
        ],
    );
    let kinds: BTreeSet<String> = manifests.kinds_and_names().into_iter().map(|(kind, _)| kind).collect();
    for absent in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "PodDisruptionBudget",
        "MutatingWebhookConfiguration",
    ] {
        assert!(!kinds.contains(absent), "{absent} rendered: {kinds:?}");
    }
    let deployment = manifests.get("Deployment", "elbow");
    assert_eq!(deployment["spec"]["template"]["spec"]["serviceAccountName"], "existing");
    let args = operator_args(deployment);
    assert!(has_arg(&args, "--leader-elect=false"), "{args:?}");
    assert!(!args.iter().any(|a| a.starts_with("--leader-election-")), "{args:?}");
    assert!(has_arg(&args, "--webhook=false"), "{args:?}");
    assert!(!args.iter().any(|a| a.starts_with("--webhook-")), "{args:?}");
    assert_eq!(manifests.find("Service", "elbow-webhook"), None);
    assert_eq!(operator_container(deployment)["ports"].as_array().unwrap().len(), 1, "only the metrics port");
    // A class that is neither default nor parameterised.
    let class = manifests.get("IngressClass", "elbow");
    assert!(class["metadata"].get("annotations").is_none(), "{class}");
    assert_eq!(class["spec"], json!({ "controller": "elbow.dev/alb" }));
    assert!(manifests.of_kind("IngressClassParams").next().is_none());
}

#[test]
fn bad_values_fail_with_the_schema_error() {
    // (case, --set values, what helm must say); all but the first two add the required values.
    let cases = [
        ("missing clusterName", vec!["vpcId=vpc-0a1b2c3d4e5f60718"], "at '/clusterName'"),
        ("missing vpcId", vec!["clusterName=prod"], "at '/vpcId'"),
        ("scheme sideways", vec!["defaultScheme=sideways"], "at '/defaultScheme': value must be one of"),
        ("logFormat xml", vec!["logFormat=xml"], "at '/logFormat': value must be one of"),
        ("unknown top-level key", vec!["colour=blue"], "additional properties 'colour' not allowed"),
        ("unknown nested key", vec!["metrics.adress=x"], "additional properties 'adress' not allowed"),
        ("replicas as text", vec!["replicaCount=two"], "at '/replicaCount': got string, want integer"),
        ("a tag value with a comma", vec!["defaultTags.team=a\\,b"], "at '/defaultTags/team'"),
        ("params scheme", vec!["ingressClass.params.spec.scheme=sideways"], "at '/ingressClass/params/spec/scheme'"),
    ];
    let required = required();
    for (case, sets, expected) in cases {
        let files: Vec<&Path> = if case.starts_with("missing") { vec![] } else { vec![&required] };
        let error = template(&files, &sets).map(|m| m.text).expect_err(case);
        assert!(error.contains("values don't meet the specifications of the schema"), "{case}: {error}");
        assert!(error.contains(expected), "{case}: expected {expected:?} in:\n{error}");
    }
}

#[test]
fn the_charts_crds_are_the_crds_directory() {
    let names = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    };
    let source = workspace_path("crds");
    let copy = chart_dir().join("crds");
    assert_eq!(
        names(&copy),
        names(&source),
        "charts/elbow/crds must hold the files of crds/: cp crds/*.yaml charts/elbow/crds/"
    );
    for name in names(&source) {
        assert_eq!(
            std::fs::read_to_string(copy.join(&name)).unwrap(),
            std::fs::read_to_string(source.join(&name)).unwrap(),
            "charts/elbow/crds/{name} differs from crds/{name}: cp crds/*.yaml charts/elbow/crds/"
        );
    }
}

#[test]
fn the_ingress_class_params_values_schema_is_the_crds() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart_dir().join("values.schema.json")).unwrap()).unwrap();
    let crd = yaml_file(&workspace_path("crds/ingressclassparams.yaml"));
    let versions = crd["spec"]["versions"].as_array().unwrap();
    let stored = versions.iter().find(|v| v["storage"] == true).unwrap();
    assert_eq!(
        schema["properties"]["ingressClass"]["properties"]["params"]["properties"]["spec"],
        stored["schema"]["openAPIV3Schema"]["properties"]["spec"],
        "values.schema.json's ingressClass.params.spec must be the CRD's spec schema; copy it over"
    );
}

/// Every value in values.yaml is in the schema and in the README's table, so none is undocumented
/// or unchecked.
#[test]
fn every_value_is_in_the_schema_and_the_readme() {
    let values = yaml_file(&chart_dir().join("values.yaml"));
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart_dir().join("values.schema.json")).unwrap()).unwrap();
    let readme = std::fs::read_to_string(chart_dir().join("README.md")).unwrap();
    let mut leaves = Vec::new();
    collect_leaves(&values, &schema, "", &mut leaves);
    assert!(leaves.len() > 30, "{leaves:?}");
    for leaf in leaves {
        assert!(readme.contains(&format!("| `{leaf}` |")), "charts/elbow/README.md has no row for `{leaf}`");
    }
}

/// Dotted paths of the values the README documents one by one: objects whose schema names their
/// properties are walked; free-form maps and everything else are one value.
fn collect_leaves(value: &Value, schema: &Value, prefix: &str, leaves: &mut Vec<String>) {
    let properties = schema["properties"].as_object();
    match (value.as_object(), properties) {
        (Some(object), Some(properties)) if !object.is_empty() && prefix != "ingressClass.params.spec" => {
            for (key, child) in object {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                let child_schema = properties.get(key).unwrap_or_else(|| panic!("values.schema.json lacks {path}"));
                collect_leaves(child, child_schema, &path, leaves);
            }
        }
        _ => leaves.push(prefix.to_string()),
    }
}

#[test]
fn install_notes_name_the_objects_and_the_missing_credentials() {
    let chart = chart_dir();
    let install = |values: &Path| {
        let output = helm(&[
            "install",
            "elbow",
            chart.to_str().unwrap(),
            "--namespace",
            NAMESPACE,
            "--dry-run=client",
            "--values",
            values.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        stdout[stdout.find("NOTES:").expect("helm printed no notes")..].to_string()
    };
    let notes = install(&required());
    assert!(notes.contains("kubectl -n elbow-system get deployment elbow"), "{notes}");
    assert!(notes.contains("kubectl -n elbow-system get lease elbow"), "{notes}");
    assert!(notes.contains("no eks.amazonaws.com/role-arn"), "{notes}");
    let notes = install(&every_option());
    assert!(notes.contains("kubectl -n kube-system get lease elbow-leader"), "{notes}");
    assert!(notes.contains("IngressClass alb, the cluster's default"), "{notes}");
    assert!(!notes.contains("role-arn"), "IRSA is set up: {notes}");
}

/// Every built-in object survives a round trip through k8s-openapi's types unchanged, so no field
/// is misspelt, misplaced or of the wrong type (serde drops unknown fields, which the comparison
/// then reveals). The two custom kinds are checked by their CRDs' schemas instead.
#[test]
fn every_builtin_object_is_well_formed_kubernetes() {
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Service, ServiceAccount};
    use k8s_openapi::api::networking::v1::IngressClass;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    fn round_trip<K: serde::Serialize + serde::de::DeserializeOwned>(object: &Value) -> Value {
        let typed: K = serde_json::from_value(object.clone()).unwrap_or_else(|e| panic!("{e}: {object}"));
        serde_json::to_value(typed).unwrap()
    }

    let mut checked = BTreeSet::new();
    for manifests in [render(&[&required()], &[]), render(&[&every_option()], &[])] {
        for object in &manifests.objects {
            let kind = object["kind"].as_str().unwrap();
            let typed = match kind {
                "CustomResourceDefinition" => round_trip::<CustomResourceDefinition>(object),
                "ServiceAccount" => round_trip::<ServiceAccount>(object),
                "ClusterRole" => round_trip::<ClusterRole>(object),
                "ClusterRoleBinding" => round_trip::<ClusterRoleBinding>(object),
                "Role" => round_trip::<Role>(object),
                "RoleBinding" => round_trip::<RoleBinding>(object),
                "Deployment" => round_trip::<Deployment>(object),
                "PodDisruptionBudget" => round_trip::<PodDisruptionBudget>(object),
                "Service" => round_trip::<Service>(object),
                "IngressClass" => round_trip::<IngressClass>(object),
                "MutatingWebhookConfiguration" => round_trip::<MutatingWebhookConfiguration>(object),
                "ServiceMonitor" | "IngressClassParams" | "Certificate" | "Issuer" => continue,
                other => panic!("no typed check for {other}; add it here"),
            };
            if let Some(difference) = first_difference(object, &typed, kind) {
                panic!("{kind} {} is not well-formed: {difference}", object["metadata"]["name"]);
            }
            checked.insert(kind.to_string());
        }
    }
    assert_eq!(checked.len(), 11, "{checked:?}");
}

/// Where `rendered` and its typed round trip differ, named by path. A quantity written as a
/// number (`cpu: 1`) comes back as the string "1", which is the same quantity.
fn first_difference(rendered: &Value, typed: &Value, path: &str) -> Option<String> {
    match (rendered, typed) {
        (Value::Object(rendered), Value::Object(typed)) => {
            let keys: BTreeSet<&String> = rendered.keys().chain(typed.keys()).collect();
            keys.into_iter().find_map(|key| {
                let path = format!("{path}.{key}");
                match (rendered.get(key), typed.get(key)) {
                    (Some(r), Some(t)) => first_difference(r, t, &path),
                    (Some(r), None) => Some(format!("{path} = {r} is not a field of this kind")),
                    (None, Some(t)) => Some(format!("{path} = {t} appeared")),
                    (None, None) => None,
                }
            })
        }
        (Value::Array(rendered), Value::Array(typed)) if rendered.len() == typed.len() => rendered
            .iter()
            .zip(typed)
            .enumerate()
            .find_map(|(i, (r, t))| first_difference(r, t, &format!("{path}[{i}]"))),
        (Value::Number(number), Value::String(text)) if number.to_string() == *text => None,
        _ if rendered == typed => None,
        _ => Some(format!("{path}: rendered {rendered}, typed {typed}")),
    }
}
