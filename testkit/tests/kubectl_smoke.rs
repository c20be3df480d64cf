//! The real kubectl v1.35 against the test server, doing what a person trying Elbow by hand does:
//! apply a namespace, create a deployment, expose it as a LoadBalancer Service, read and watch it,
//! label and patch it (the status too, as Elbow does), delete it past a finalizer, and work with a
//! CRD. scripts/install-kube-tools provides kubectl on first use.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use elbow_testkit::tools::{KubectlServer, helm_path, kubectl_path};
use serde_json::{Value, json};

/// The test server with kubectl pointed at it, and this file's kubectl helpers.
struct Cluster(KubectlServer);

impl std::ops::Deref for Cluster {
    type Target = KubectlServer;
    fn deref(&self) -> &KubectlServer {
        &self.0
    }
}

fn cluster() -> Cluster {
    Cluster(KubectlServer::start())
}

impl Cluster {
    /// `kubectl get <args> -o json`, parsed.
    fn json(&self, args: &[&str]) -> Value {
        let args: Vec<&str> = ["get"].iter().chain(args).chain(&["-o", "json"]).copied().collect();
        serde_json::from_str(&self.kubectl.ok(&args)).unwrap()
    }

    /// A kubectl process left running (a watch, a waiting delete), its stdout read line by line.
    fn spawn(&self, args: &[&str]) -> Background {
        let mut child = self.kubectl.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (lines, received) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Background { child, received, seen: String::new() }
    }
}

struct Background {
    child: Child,
    received: mpsc::Receiver<String>,
    /// Everything printed so far.
    seen: String,
}

impl Background {
    /// Waits until the output so far satisfies `done`; panics with the output after 20 s.
    fn wait_for(&mut self, what: &str, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.received.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(_) => panic!("kubectl never printed {what}; it printed:\n{}", self.seen),
            }
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to end by itself; panics after 20 s.
    fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "kubectl did not finish; it printed:\n{}", self.seen);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The complete JSON documents in `text` (`-o json` prints one after another).
fn documents(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text).into_iter::<Value>().map_while(Result::ok).collect()
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n  labels:\n    team: web\n";

/// A table's rows (header first), cut into cells where the header's columns start; an empty cell (a null from the server) is an empty string.
fn table_rows(output: &str) -> Vec<Vec<String>> {
    let mut lines = output.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let starts: Vec<usize> = header
        .char_indices()
        // kubectl's tabwriter puts at least three spaces between columns; a header may hold one.
        .filter(|&(i, c)| c != ' ' && (i == 0 || header[..i].ends_with("   ")))
        .map(|(i, _)| i)
        .collect();
    std::iter::once(header)
        .chain(lines)
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(n, &start)| {
                    let end = starts.get(n + 1).copied().unwrap_or(line.len()).min(line.len());
                    line.get(start.min(line.len())..end).unwrap_or_default().trim().to_string()
                })
                .collect()
        })
        .collect()
}

/// Applies the namespace, creates the deployment and exposes it: the first steps of the walkthrough.
fn deploy_web(cluster: &Cluster) {
    assert_eq!(cluster.kubectl.apply(NAMESPACE).trim(), "namespace/demo created");
    let created = cluster.kubectl.ok(&["create", "deployment", "web", "--image=nginx", "--port=8080", "-n", "demo"]);
    assert_eq!(created.trim(), "deployment.apps/web created");
    let exposed = cluster.kubectl.ok(&[
        "expose",
        "deployment",
        "web",
        "--type=LoadBalancer",
        "--port=80",
        "--target-port=8080",
        "-n",
        "demo",
    ]);
    assert_eq!(exposed.trim(), "service/web exposed");
}

#[test]
fn the_installed_tools_are_kubectl_1_35_and_helm_4() {
    let run = std::process::Command::new(kubectl_path()).args(["version", "--client", "-o", "json"]).output().unwrap();
    let version: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(version["clientVersion"]["major"], "1");
    assert_eq!(version["clientVersion"]["minor"], "35");
    let run = std::process::Command::new(helm_path()).args(["version", "--short"]).output().unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("v4."), "{run:?}");
}

#[test]
fn kubectl_reaches_the_server_and_discovers_its_resources() {
    let cluster = cluster();
    let version: Value = serde_json::from_str(&cluster.kubectl.ok(&["version", "-o", "json"])).unwrap();
    assert_eq!(version["serverVersion"]["minor"], "35", "{version}");
    let resources = cluster.kubectl.ok(&["api-resources", "-o", "name"]);
    for resource in ["services", "deployments.apps", "ingresses.networking.k8s.io", "leases.coordination.k8s.io"] {
        assert!(resources.lines().any(|r| r == resource), "{resource} missing from:\n{resources}");
    }
    let namespaces = cluster.json(&["namespaces"]);
    let names: Vec<&str> =
        namespaces["items"].as_array().unwrap().iter().filter_map(|n| n["metadata"]["name"].as_str()).collect();
    assert!(names.contains(&"default") && names.contains(&"kube-system"), "{names:?}");
}

#[test]
fn a_deployment_exposed_as_a_load_balancer_gets_a_node_port() {
    let cluster = cluster();
    deploy_web(&cluster);

    let namespace = cluster.json(&["namespace", "demo"]);
    assert_eq!(namespace["metadata"]["labels"]["team"], "web");
    let deployment = cluster.json(&["deployment", "web", "-n", "demo"]);
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], json!({ "app": "web" }));
    assert_eq!(deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 8080);
    assert_eq!(deployment["metadata"]["generation"], 1);

    let service = cluster.json(&["service", "web", "-n", "demo"]);
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(service["spec"]["selector"], json!({ "app": "web" }));
    let port = &service["spec"]["ports"][0];
    assert_eq!(
        (port["port"].as_i64(), port["targetPort"].as_i64(), port["protocol"].as_str()),
        (Some(80), Some(8080), Some("TCP"))
    );
    let node_port = port["nodePort"].as_i64().unwrap_or_else(|| panic!("no nodePort in {service}"));
    assert!((30000..=32767).contains(&node_port), "nodePort {node_port}");
    assert!(service["spec"]["clusterIP"].as_str().is_some_and(|ip| !ip.is_empty()), "{service}");

    // The same object found by label across all namespaces, by name only.
    let names = cluster.kubectl.ok(&["get", "services", "-A", "-l", "app=web", "-o", "name"]);
    assert_eq!(names.trim(), "service/web");
}

#[test]
fn get_services_prints_kube_apiservers_columns_pending_then_the_address() {
    let cluster = cluster();
    deploy_web(&cluster);
    let node_port = cluster.json(&["service", "web", "-n", "demo"])["spec"]["ports"][0]["nodePort"].as_i64().unwrap();

    let listed = cluster.kubectl.ok(&["get", "services", "-n", "demo"]);
    let rows = table_rows(&listed);
    assert_eq!(rows[0], ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], "{listed}");
    assert_eq!(
        rows[1][..5],
        ["web", "LoadBalancer", rows[1][2].as_str(), "<pending>", &format!("80:{node_port}/TCP")],
        "{listed}"
    );

    let hostname = "k8s-demo-web-0123456789.elb.us-east-1.amazonaws.com";
    let status = json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": hostname }] } } }).to_string();
    cluster.kubectl.ok(&[
        "patch",
        "service",
        "web",
        "-n",
        "demo",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ]);

    let printed = cluster.kubectl.ok(&["get", "services", "-n", "demo"]);
    let rows = table_rows(&printed);
    assert_eq!((rows[0][3].as_str(), rows[1][3].as_str()), ("EXTERNAL-IP", hostname), "{printed}");
    let wide = table_rows(&cluster.kubectl.ok(&["get", "services", "-n", "demo", "-o", "wide"]));
    assert_eq!(
        (wide[0].last().map(String::as_str), wide[1].last().map(String::as_str)),
        (Some("SELECTOR"), Some("app=web"))
    );
    let deployments = table_rows(&cluster.kubectl.ok(&["get", "deployments", "-n", "demo"]));
    assert_eq!(deployments[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert_eq!(deployments[1][..4], ["web", "0/1", "0", "0"]);
}

#[test]
fn label_and_patch_change_what_get_shows_and_a_watch_sees_it() {
    let cluster = cluster();
    deploy_web(&cluster);
    let mut watch = cluster.spawn(&["get", "service", "web", "-n", "demo", "-w", "-o", "json"]);
    watch.wait_for("the service as it is", |seen| !documents(seen).is_empty());

    assert_eq!(
        cluster.kubectl.ok(&["label", "service", "web", "-n", "demo", "tier=front"]).trim(),
        "service/web labeled"
    );
    let annotate =
        r#"{"metadata":{"annotations":{"service.beta.kubernetes.io/aws-load-balancer-scheme":"internet-facing"}}}"#;
    cluster.kubectl.ok(&["patch", "service", "web", "-n", "demo", "--type=merge", "-p", annotate]);
    let hostname = "k8s-demo-web-0123456789.elb.us-east-1.amazonaws.com";
    let status = json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": hostname }] } } }).to_string();
    assert_eq!(
        cluster
            .kubectl
            .ok(&["patch", "service", "web", "-n", "demo", "--subresource=status", "--type=merge", "-p", &status])
            .trim(),
        "service/web patched"
    );

    let has_address = |service: &Value| service["status"]["loadBalancer"]["ingress"][0]["hostname"] == hostname;
    watch.wait_for("the status update", |seen| documents(seen).iter().any(has_address));
    let seen = documents(&watch.seen);
    let last = seen.last().unwrap();
    assert_eq!(last["metadata"]["labels"]["tier"], "front");
    assert_eq!(
        last["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"],
        "internet-facing"
    );
    let versions: Vec<u64> =
        seen.iter().map(|s| s["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "the watch went back in time: {versions:?}");
    assert!(seen.len() >= 4, "expected the service and its three changes, saw {}", seen.len());

    // A label selector finds it, a changed one no longer does, and a removed label is gone.
    assert_eq!(
        cluster.kubectl.ok(&["get", "services", "-n", "demo", "-l", "tier=front", "-o", "name"]).trim(),
        "service/web"
    );
    cluster.kubectl.ok(&["label", "service", "web", "-n", "demo", "tier=back", "--overwrite"]);
    assert_eq!(
        cluster.kubectl.ok(&["get", "services", "-n", "demo", "-l", "tier in (front)", "-o", "name"]).trim(),
        ""
    );
    cluster.kubectl.ok(&["label", "service", "web", "-n", "demo", "tier-"]);
    assert!(cluster.json(&["service", "web", "-n", "demo"])["metadata"]["labels"].get("tier").is_none());

    // A spec change bumps the deployment's generation; a JSON patch with a failing test changes nothing.
    cluster.kubectl.ok(&[
        "patch",
        "deployment",
        "web",
        "-n",
        "demo",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    let deployment = cluster.json(&["deployment", "web", "-n", "demo"]);
    assert_eq!(
        (deployment["spec"]["replicas"].as_i64(), deployment["metadata"]["generation"].as_i64()),
        (Some(3), Some(2))
    );
    let failing =
        r#"[{"op":"test","path":"/spec/replicas","value":5},{"op":"replace","path":"/spec/replicas","value":9}]"#;
    let run = cluster.kubectl.run(&["patch", "deployment", "web", "-n", "demo", "--type=json", "-p", failing]);
    assert!(!run.success(), "a failed JSON patch test must fail the patch: {run:?}");
    assert_eq!(cluster.json(&["deployment", "web", "-n", "demo"])["spec"]["replicas"], 3);
}

#[test]
fn delete_wait_returns_once_the_finalizer_is_removed() {
    let cluster = cluster();
    deploy_web(&cluster);
    cluster.kubectl.ok(&[
        "patch",
        "service",
        "web",
        "-n",
        "demo",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["service.k8s.aws/resources"]}}"#,
    ]);

    let mut delete = cluster.spawn(&["delete", "service", "web", "-n", "demo", "--wait=true", "--timeout=30s"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let service = loop {
        let service = cluster.json(&["service", "web", "-n", "demo"]);
        if service["metadata"]["deletionTimestamp"].is_string() {
            break service;
        }
        assert!(Instant::now() < deadline, "the service never got a deletionTimestamp: {service}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(service["metadata"]["finalizers"], json!(["service.k8s.aws/resources"]));
    std::thread::sleep(Duration::from_millis(500));
    assert!(delete.is_running(), "kubectl delete --wait returned while the finalizer was still there");

    cluster.kubectl.ok(&[
        "patch",
        "service",
        "web",
        "-n",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    assert!(delete.wait_for_exit().success(), "kubectl delete --wait failed: {}", delete.seen);
    let gone = cluster.kubectl.run(&["get", "service", "web", "-n", "demo"]);
    assert!(!gone.success() && gone.stderr.contains("NotFound"), "{gone:?}");

    // Without finalizers deletion is immediate, and a second delete is NotFound.
    assert_eq!(
        cluster.kubectl.ok(&["delete", "deployment", "web", "-n", "demo", "--wait=true"]).trim(),
        "deployment.apps \"web\" deleted from demo namespace"
    );
    let again = cluster.kubectl.run(&["delete", "deployment", "web", "-n", "demo"]);
    assert!(!again.success() && again.stderr.contains("NotFound"), "{again:?}");
}

const WIDGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, shortNames: [wg] }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
      additionalPrinterColumns:
        - { name: Size, type: integer, jsonPath: .spec.size }
        - { name: Phase, type: string, jsonPath: .status.phase }
        - { name: Age, type: date, jsonPath: .metadata.creationTimestamp }
"#;

#[test]
fn a_crd_serves_its_objects_with_their_printer_columns() {
    let cluster = cluster();
    cluster.kubectl.apply(NAMESPACE);
    assert_eq!(
        cluster.kubectl.apply(WIDGETS).trim(),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
    );
    // What a user runs before using a new CRD's resources.
    cluster.kubectl.ok(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s"]);

    let widget =
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: demo\nspec:\n  size: 3\n";
    assert_eq!(cluster.kubectl.apply(widget).trim(), "widget.example.com/w1 created");
    assert_eq!(cluster.kubectl.apply(widget).trim(), "widget.example.com/w1 unchanged");

    let listed = cluster.kubectl.ok(&["get", "widgets", "-n", "demo"]);
    let rows = table_rows(&listed);
    assert_eq!(rows[0], ["NAME", "SIZE", "PHASE", "AGE"], "{listed}");
    assert_eq!(rows[1][..3], ["w1", "3", ""], "{listed}");

    // The status subresource: kubectl patches it apart from the spec.
    cluster.kubectl.ok(&[
        "patch",
        "wg",
        "w1",
        "-n",
        "demo",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Ready"}}"#,
    ]);
    cluster.kubectl.ok(&[
        "patch",
        "wg",
        "w1",
        "-n",
        "demo",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Ignored"},"spec":{"size":4}}"#,
    ]);
    let object = cluster.json(&["widget", "w1", "-n", "demo"]);
    assert_eq!(
        (object["spec"]["size"].as_i64(), object["status"]["phase"].as_str()),
        (Some(4), Some("Ready")),
        "{object}"
    );
    assert_eq!(table_rows(&cluster.kubectl.ok(&["get", "wg", "-n", "demo"]))[1][..3], ["w1", "4", "Ready"]);

    assert_eq!(
        cluster.kubectl.ok(&["delete", "widget", "w1", "-n", "demo"]).trim(),
        "widget.example.com \"w1\" deleted from demo namespace"
    );
    let listed = cluster.kubectl.run(&["get", "widgets", "-n", "demo"]);
    assert!(listed.success() && listed.stderr.contains("No resources found"), "{listed:?}");
}

const GADGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: gadgets, singular: gadget, kind: Gadget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-validations:
                - { rule: "has(self.arn) != has(self.name)", message: "exactly one of arn and name must be set" }
              properties:
                arn: { type: string, x-kubernetes-validations: [{ rule: "self == oldSelf", message: "arn is immutable" }] }
                name: { type: string }
                size: { type: integer, x-kubernetes-validations: [{ rule: "self == oldSelf" }] }
"#;

#[test]
fn a_crds_validation_rules_refuse_writes_as_kubectl_reports_them() {
    let cluster = cluster();
    cluster.kubectl.apply(NAMESPACE);
    cluster.kubectl.apply(GADGETS);
    let gadget = |spec: &str| {
        format!("apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\n  namespace: demo\nspec: {spec}\n")
    };
    let both = cluster.kubectl.run_with_input(&["apply", "-f", "-"], &gadget("{ arn: a, name: n }"));
    assert!(!both.success());
    assert!(
        both.stderr
            .contains(r#"The Gadget "g1" is invalid: spec: Invalid value: exactly one of arn and name must be set"#),
        "{both:?}"
    );
    assert_eq!(cluster.kubectl.apply(&gadget("{ arn: a, size: 3 }")).trim(), "gadget.example.com/g1 created");
    let moved = cluster.kubectl.run(&[
        "patch",
        "gadget",
        "g1",
        "-n",
        "demo",
        "--type=merge",
        "-p",
        r#"{"spec":{"arn":"b","size":4}}"#,
    ]);
    assert!(!moved.success());
    assert_eq!(
        moved.stderr.trim(),
        "The Gadget \"g1\" is invalid: \n* spec.arn: Invalid value: \"b\": arn is immutable\n\
         * spec.size: Invalid value: 4: failed rule: self == oldSelf",
        "kubectl lists several causes one per line"
    );
    // A rule the server could not evaluate keeps the CRD out.
    let unevaluable = GADGETS
        .replace("gadgets", "gizmos")
        .replace("Gadget", "Gizmo")
        .replace("gadget", "gizmo")
        .replace("self == oldSelf", "self.startsWith('arn:')");
    let refused = cluster.kubectl.run_with_input(&["apply", "-f", "-"], &unevaluable);
    assert!(!refused.success());
    assert!(refused.stderr.contains("The CustomResourceDefinition \"gizmos.example.com\" is invalid"), "{refused:?}");
}

#[test]
fn typed_create_commands_post_protobuf_bodies_the_server_decodes() {
    let cluster = cluster();
    assert_eq!(cluster.kubectl.ok(&["create", "namespace", "demo"]).trim(), "namespace/demo created");
    let created = cluster.kubectl.ok(&["create", "deployment", "web", "--image=nginx", "--port=8080", "-n", "demo"]);
    assert_eq!(created.trim(), "deployment.apps/web created");
    let deployment = cluster.json(&["deployment", "web", "-n", "demo"]);
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], json!({ "app": "web" }));
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        (container["image"].as_str(), container["ports"][0]["containerPort"].as_i64()),
        (Some("nginx"), Some(8080))
    );

    cluster.kubectl.ok(&["create", "service", "loadbalancer", "lb", "--tcp=80:http", "-n", "demo"]);
    let service = cluster.json(&["service", "lb", "-n", "demo"]);
    assert_eq!(
        (service["spec"]["type"].as_str(), &service["spec"]["ports"][0]["targetPort"]),
        (Some("LoadBalancer"), &json!("http"))
    );
    assert!(
        service["spec"]["ports"][0]["nodePort"].as_i64().is_some_and(|p| (30000..=32767).contains(&p)),
        "{service}"
    );

    cluster.kubectl.ok(&["create", "secret", "generic", "creds", "--from-literal=password=s3cret", "-n", "demo"]);
    assert_eq!(cluster.json(&["secret", "creds", "-n", "demo"])["data"], json!({ "password": "czNjcmV0" }));

    cluster.kubectl.ok(&["create", "ingress", "web", "--class=elbow", "--rule=example.com/*=web:80", "-n", "demo"]);
    let ingress = cluster.json(&["ingress", "web", "-n", "demo"]);
    assert_eq!(
        ingress["spec"],
        json!({ "ingressClassName": "elbow", "rules": [{ "host": "example.com", "http": { "paths": [{
            "path": "/", "pathType": "Prefix", "backend": { "service": { "name": "web", "port": { "number": 80 } } }
        }] } }] })
    );

    // A kind the decoder has no schema for is refused with a message saying what to do instead.
    let refused = cluster.kubectl.run(&["create", "role", "reader", "--verb=get", "--resource=pods", "-n", "demo"]);
    assert!(!refused.success() && refused.stderr.contains("send it as JSON"), "{refused:?}");
}

#[test]
fn getting_one_service_prints_its_row() {
    let cluster = cluster();
    deploy_web(&cluster);
    let printed = cluster.kubectl.ok(&["get", "service", "web", "-n", "demo"]);
    let rows = table_rows(&printed);
    assert_eq!(rows[0], ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], "{printed}");
    assert_eq!(rows[1][..4], ["web", "LoadBalancer", rows[1][2].as_str(), "<pending>"], "{printed}");
}

#[test]
fn a_watch_in_table_form_shows_the_address_arrive() {
    let cluster = cluster();
    deploy_web(&cluster);
    let mut watch = cluster.spawn(&["get", "services", "-n", "demo", "-w"]);
    watch.wait_for("the pending service", |seen| seen.contains("<pending>"));
    let hostname = "k8s-demo-web-0123456789.elb.us-east-1.amazonaws.com";
    let status = json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": hostname }] } } }).to_string();
    cluster.kubectl.ok(&[
        "patch",
        "service",
        "web",
        "-n",
        "demo",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ]);
    watch.wait_for("the address", |seen| seen.lines().any(|l| l.starts_with("web ") && l.contains(hostname)));
    assert!(watch.seen.lines().next().is_some_and(|header| header.contains("EXTERNAL-IP")), "{}", watch.seen);
    // The watch's columns are the list's: kubectl prints a new header when they differ.
    assert_eq!(watch.seen.matches("EXTERNAL-IP").count(), 1, "{}", watch.seen);
}

#[test]
fn kubectl_wait_sees_a_new_crd_established() {
    let cluster = cluster();
    cluster.kubectl.apply(WIDGETS);
    let established =
        cluster.kubectl.ok(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s"]);
    assert_eq!(established.trim(), "customresourcedefinition.apiextensions.k8s.io/widgets.example.com condition met");
}

#[test]
fn a_created_namespace_is_active() {
    let cluster = cluster();
    cluster.kubectl.apply(NAMESPACE);
    let rows = table_rows(&cluster.kubectl.ok(&["get", "namespace", "demo"]));
    assert_eq!(rows[1][..2], ["demo", "Active"]);
}

/// `kubectl apply -f <file>` as a person types it, validation left at kubectl's default (strict):
/// kubectl reads the server's OpenAPI v3 documents, sees that every kind takes `fieldValidation`
/// and leaves validation to the server, then patches what exists (strategic merge for built-in
/// kinds, JSON merge for custom resources) or applies it server-side.
#[test]
fn plain_kubectl_apply_validates_on_the_server_and_patches_what_exists() {
    let cluster = cluster();
    let folder = tempfile::tempdir().unwrap();
    let apply = |file: &str, manifest: &str, extra: &[&str]| -> String {
        let path = folder.path().join(file);
        std::fs::write(&path, manifest).unwrap();
        let args: Vec<&str> = ["apply", "-f", path.to_str().unwrap()].iter().chain(extra).copied().collect();
        let command = cluster.kubectl.command(&args);
        assert!(!command.get_args().any(|a| a.to_string_lossy().starts_with("--validate")), "{command:?}");
        let run = cluster.kubectl.run(&args);
        // No warning either: one would say kubectl fell back from the OpenAPI documents.
        assert!(
            run.success() && run.stderr.is_empty(),
            "kubectl {args:?} ({}):\n{}\n{}",
            run.status,
            run.stdout,
            run.stderr
        );
        run.stdout.trim().to_string()
    };
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  replicas: 1\n  selector:\n    matchLabels: { app: web }\n  template:\n    metadata:\n      labels: { app: web }\n    spec:\n      containers:\n        - { name: web, image: nginx, ports: [{ containerPort: 8080 }] }\n";
    let service = |ports: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  selector: {{ app: web }}\n  ports:\n{ports}"
        )
    };
    let two_ports =
        "    - { name: http, port: 80, targetPort: 8080 }\n    - { name: https, port: 443, targetPort: 8443 }\n";
    let manifest = format!("{NAMESPACE}---\n{deployment}---\n{}", service(two_ports));
    assert_eq!(
        apply("web.yaml", &manifest, &[]),
        "namespace/demo created\ndeployment.apps/web created\nservice/web created"
    );
    let cluster_ip = cluster.json(&["service", "web", "-n", "demo"])["spec"]["clusterIP"].clone();
    assert!(cluster_ip.is_string(), "{cluster_ip}");

    // A changed Service: kubectl sends a three-way patch that drops the port no longer listed,
    // changes the other by its merge key and leaves the fields the server set alone.
    let one_port = service("    - { name: http, port: 80, targetPort: 9090 }\n");
    assert_eq!(apply("service.yaml", &one_port, &[]), "service/web configured");
    let spec = cluster.json(&["service", "web", "-n", "demo"])["spec"].clone();
    assert_eq!(spec["ports"], json!([{ "name": "http", "port": 80, "protocol": "TCP", "targetPort": 9090 }]), "{spec}");
    assert_eq!(spec["clusterIP"], cluster_ip);
    assert_eq!(apply("service.yaml", &one_port, &[]), "service/web unchanged");

    // Server-side apply of the Deployment with more replicas.
    let scaled = deployment.replace("replicas: 1", "replicas: 3");
    assert_eq!(apply("scaled.yaml", &scaled, &["--server-side"]), "deployment.apps/web serverside-applied");
    assert_eq!(cluster.json(&["deployment", "web", "-n", "demo"])["spec"]["replicas"], 3);

    // A CRD, then one of its objects, created and then changed (a JSON merge patch).
    assert_eq!(
        apply("crd.yaml", WIDGETS, &[]),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
    );
    cluster.kubectl.ok(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s"]);
    let widget = |spec: &str| {
        format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: demo\nspec:\n{spec}")
    };
    assert_eq!(apply("widget.yaml", &widget("  size: 3\n  colour: red\n"), &[]), "widget.example.com/w1 created");
    assert_eq!(apply("widget.yaml", &widget("  size: 4\n"), &[]), "widget.example.com/w1 configured");
    assert_eq!(cluster.json(&["widget", "w1", "-n", "demo"])["spec"], json!({ "size": 4 }));
}

#[test]
fn a_recorded_event_on_a_service_shows_in_describe_and_get_events() {
    use k8s_openapi::api::core::v1::Service;
    use kube::Resource;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};

    let cluster = cluster();
    deploy_web(&cluster);
    // Published as Elbow publishes: events.k8s.io/v1 through kube-runtime's Recorder, twice, so
    // the second publish turns the event into a series.
    cluster.runtime.block_on(async {
        let client = cluster.server.client.clone();
        let service = kube::Api::<Service>::namespaced(client.clone(), "demo").get("web").await.unwrap();
        let recorder = Recorder::new(client, Reporter { controller: "elbow".into(), instance: Some("elbow-0".into()) });
        let event = Event {
            type_: EventType::Normal,
            reason: "Provisioned".into(),
            note: Some("Provisioned the load balancer".into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        for _ in 0..2 {
            recorder.publish(&event, &service.object_ref(&())).await.unwrap();
        }
    });

    // describe lists core/v1 events by the Service's name, namespace, kind and uid.
    let described = cluster.kubectl.ok(&["describe", "service", "web", "-n", "demo"]);
    let events: Vec<&str> = described.lines().skip_while(|l| !l.starts_with("Events:")).collect();
    let row = events.iter().find(|l| l.contains("Provisioned the load balancer")).unwrap_or_else(|| {
        panic!("no event under Events:\n{described}");
    });
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..2], ["Normal", "Provisioned"], "{row}");
    assert!(row.contains("(x2 over") && row.contains(" elbow "), "the series and the reporter: {row}");

    // get events resolves to core/v1; the same event is an events.k8s.io/v1 Event too.
    for resource in ["events", "events.events.k8s.io"] {
        let printed = cluster.kubectl.ok(&["get", resource, "-n", "demo"]);
        let rows = table_rows(&printed);
        assert_eq!(rows[0], ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "{printed}");
        assert_eq!(rows.len(), 2, "{printed}");
        assert_eq!(
            rows[1][1..],
            ["Normal", "Provisioned", "service/web", "Provisioned the load balancer"],
            "{printed}"
        );
    }
}
