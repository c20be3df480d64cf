//! kube-apiserver's printers for built-in resources: the same columns (with their priorities) and
//! the same cell text, in the wide form the server always produces.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Column, age, column, name, name_column, since, text};

/// Columns as `(name, type, priority)`; a column called `Name` holds the object's name.
type Columns = &'static [(&'static str, &'static str, u32)];

/// The cells of one object's row, given the time ages count to.
type Cells = fn(&Value, DateTime<Utc>) -> Vec<Value>;

/// The printer of one built-in resource.
pub(super) struct Printer {
    columns: Columns,
    pub(super) cells: Cells,
}

impl Printer {
    pub(super) fn columns(&self) -> Vec<Column> {
        self.columns
            .iter()
            .map(|(name, kind, priority)| {
                if *name == "Name" {
                    Column { priority: *priority, ..name_column() }
                } else {
                    column(name, kind, *priority)
                }
            })
            .collect()
    }
}

/// The printer for `group`/`resource`, if kube-apiserver has one this module reproduces.
pub(super) fn printer(group: &str, resource: &str) -> Option<Printer> {
    let (columns, cells): (Columns, Cells) = match (group, resource) {
        ("", "services") => (
            &[
                ("Name", "string", 0),
                ("Type", "string", 0),
                ("Cluster-IP", "string", 0),
                ("External-IP", "string", 0),
                ("Port(s)", "string", 0),
                ("Age", "string", 0),
                ("Selector", "string", 1),
            ],
            service,
        ),
        ("networking.k8s.io", "ingresses") => (
            &[
                ("Name", "string", 0),
                ("Class", "string", 0),
                ("Hosts", "string", 0),
                ("Address", "string", 0),
                ("Ports", "string", 0),
                ("Age", "string", 0),
            ],
            ingress,
        ),
        ("networking.k8s.io", "ingressclasses") => (
            &[("Name", "string", 0), ("Controller", "string", 0), ("Parameters", "string", 0), ("Age", "string", 0)],
            ingress_class,
        ),
        ("", "nodes") => (
            &[
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Roles", "string", 0),
                ("Age", "string", 0),
                ("Version", "string", 0),
                ("Internal-IP", "string", 1),
                ("External-IP", "string", 1),
                ("OS-Image", "string", 1),
                ("Kernel-Version", "string", 1),
                ("Container-Runtime", "string", 1),
            ],
            node,
        ),
        ("", "namespaces") => (&[("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)], namespace),
        ("apps", "deployments") => (
            &[
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Up-to-date", "string", 0),
                ("Available", "string", 0),
                ("Age", "string", 0),
                ("Containers", "string", 1),
                ("Images", "string", 1),
                ("Selector", "string", 1),
            ],
            deployment,
        ),
        ("apps", "replicasets") => (
            &[
                ("Name", "string", 0),
                ("Desired", "integer", 0),
                ("Current", "integer", 0),
                ("Ready", "integer", 0),
                ("Age", "string", 0),
                ("Containers", "string", 1),
                ("Images", "string", 1),
                ("Selector", "string", 1),
            ],
            replica_set,
        ),
        ("discovery.k8s.io", "endpointslices") => (
            &[
                ("Name", "string", 0),
                ("AddressType", "string", 0),
                ("Ports", "string", 0),
                ("Endpoints", "string", 0),
                ("Age", "string", 0),
            ],
            endpoint_slice,
        ),
        ("", "pods") => (
            &[
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Status", "string", 0),
                ("Restarts", "string", 0),
                ("Age", "string", 0),
                ("IP", "string", 1),
                ("Node", "string", 1),
                ("Nominated Node", "string", 1),
                ("Readiness Gates", "string", 1),
            ],
            super::pods::cells,
        ),
        ("", "events") | ("events.k8s.io", "events") => (
            &[
                ("Last Seen", "string", 0),
                ("Type", "string", 0),
                ("Reason", "string", 0),
                ("Object", "string", 0),
                ("Subobject", "string", 1),
                ("Source", "string", 1),
                ("Message", "string", 0),
                ("First Seen", "string", 1),
                ("Count", "string", 1),
                ("Name", "string", 1),
            ],
            event,
        ),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations" | "validatingwebhookconfigurations") => {
            (&[("Name", "string", 0), ("Webhooks", "integer", 0), ("Age", "string", 0)], webhook_configuration)
        }
        // The apiextensions server prints CRDs with the generic server's default columns.
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            (&[("Name", "string", 0), ("Created At", "date", 0)], created_at)
        }
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// `<none>` for an empty list, else its items joined by commas.
fn joined_or_none(items: &[String]) -> String {
    if items.is_empty() { "<none>".into() } else { items.join(",") }
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// A label map as `k=v,k2=v2` in key order, `<none>` when empty.
fn format_labels(labels: &Value) -> String {
    let pairs: BTreeMap<&str, &str> = labels
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    joined_or_none(&pairs)
}

/// A `metav1.LabelSelector` as its selector string: requirements in key order, `k=v`,
/// `k in (a,b)`, `k notin (a,b)`, `k`, `!k`; empty for a selector matching everything.
fn format_selector(selector: &Value) -> String {
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector["matchLabels"].as_object() {
        for (key, value) in labels {
            requirements.push((key.clone(), format!("{key}={}", value.as_str().unwrap_or_default())));
        }
    }
    for expression in selector["matchExpressions"].as_array().into_iter().flatten() {
        let key = text(expression, "key");
        let values: BTreeSet<String> = strings(&expression["values"]).into_iter().collect();
        let values = values.into_iter().collect::<Vec<_>>().join(",");
        let requirement = match text(expression, "operator") {
            "In" => format!("{key} in ({values})"),
            "NotIn" => format!("{key} notin ({values})"),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({values})"),
        };
        requirements.push((key.to_string(), requirement));
    }
    requirements.sort();
    requirements.into_iter().map(|(_, r)| r).collect::<Vec<_>>().join(",")
}

/// The addresses of a load balancer status, IP before hostname per entry, sorted and deduplicated.
fn load_balancer_addresses(status: &Value) -> Vec<String> {
    let addresses: BTreeSet<String> = status["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| [text(i, "ip"), text(i, "hostname")].into_iter().find(|a| !a.is_empty()).map(str::to_string))
        .collect();
    addresses.into_iter().collect()
}

fn service(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let kind = text(spec, "type");
    let cluster_ip = spec["clusterIPs"][0].as_str().or(spec["clusterIP"].as_str()).filter(|ip| !ip.is_empty());
    let external_ips = strings(&spec["externalIPs"]);
    let external = match kind {
        "ClusterIP" | "NodePort" => joined_or_none(&external_ips),
        "LoadBalancer" => {
            let addresses: Vec<String> =
                load_balancer_addresses(&o["status"]["loadBalancer"]).into_iter().chain(external_ips).collect();
            if addresses.is_empty() { "<pending>".into() } else { addresses.join(",") }
        }
        "ExternalName" => text(spec, "externalName").to_string(),
        _ => "<unknown>".into(),
    };
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let protocol = text(p, "protocol");
            match p["nodePort"].as_i64().filter(|n| *n > 0) {
                Some(node_port) => format!("{}:{node_port}/{protocol}", p["port"]),
                None => format!("{}/{protocol}", p["port"]),
            }
        })
        .collect();
    vec![
        json!(name(o)),
        json!(kind),
        json!(cluster_ip.unwrap_or("<none>")),
        json!(external),
        json!(joined_or_none(&ports)),
        json!(age(o, now)),
        json!(format_labels(&spec["selector"])),
    ]
}

fn ingress(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let rules = spec["rules"].as_array().map(Vec::as_slice).unwrap_or_default();
    // At most three hosts, then how many rules are left.
    const SHOWN: usize = 3;
    let hosts: Vec<&str> = rules.iter().take(SHOWN).map(|r| text(r, "host")).filter(|h| !h.is_empty()).collect();
    let hosts = match (hosts.is_empty(), rules.len() > SHOWN) {
        (true, _) => "*".to_string(),
        (false, false) => hosts.join(","),
        (false, true) => format!("{} + {} more...", hosts.join(","), rules.len() - SHOWN),
    };
    let ports = if spec["tls"].as_array().is_some_and(|t| !t.is_empty()) { "80, 443" } else { "80" };
    vec![
        json!(name(o)),
        json!(spec["ingressClassName"].as_str().unwrap_or("<none>")),
        json!(hosts),
        json!(load_balancer_addresses(&o["status"]["loadBalancer"]).join(",")),
        json!(ports),
        json!(age(o, now)),
    ]
}

fn ingress_class(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let parameters = &o["spec"]["parameters"];
    let parameters = if parameters.is_object() {
        match parameters["apiGroup"].as_str() {
            Some(group) => format!("{}.{group}/{}", text(parameters, "kind"), text(parameters, "name")),
            None => format!("{}/{}", text(parameters, "kind"), text(parameters, "name")),
        }
    } else {
        "<none>".into()
    };
    vec![json!(name(o)), json!(text(&o["spec"], "controller")), json!(parameters), json!(age(o, now))]
}

fn node(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let conditions = o["status"]["conditions"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut status: Vec<String> = conditions
        .iter()
        .rfind(|c| text(c, "type") == "Ready")
        .map(|ready| if text(ready, "status") == "True" { "Ready".into() } else { "NotReady".into() })
        .into_iter()
        .collect();
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if o["spec"]["unschedulable"] == json!(true) {
        status.push("SchedulingDisabled".into());
    }
    let labels = o["metadata"]["labels"].as_object();
    let roles: BTreeSet<&str> = labels
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| match key.strip_prefix("node-role.kubernetes.io/") {
            Some(role) => Some(role),
            None if key == "kubernetes.io/role" => value.as_str(),
            None => None,
        })
        .filter(|role| !role.is_empty())
        .collect();
    let roles: Vec<String> = roles.into_iter().map(str::to_string).collect();
    let address = |kind: &str| {
        o["status"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| text(a, "type") == kind)
            .map(|a| text(a, "address").to_string())
            .unwrap_or_else(|| "<none>".into())
    };
    let info = &o["status"]["nodeInfo"];
    let or_unknown = |field: &str| Some(text(info, field)).filter(|v| !v.is_empty()).unwrap_or("<unknown>").to_string();
    vec![
        json!(name(o)),
        json!(status.join(",")),
        json!(joined_or_none(&roles)),
        json!(age(o, now)),
        json!(text(info, "kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(or_unknown("osImage")),
        json!(or_unknown("kernelVersion")),
        json!(or_unknown("containerRuntimeVersion")),
    ]
}

fn namespace(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![json!(name(o)), json!(text(&o["status"], "phase")), json!(age(o, now))]
}

fn deployment(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    // kube-apiserver defaults spec.replicas to 1.
    let desired = spec["replicas"].as_i64().unwrap_or(1);
    let count = |field: &str| status[field].as_i64().unwrap_or(0);
    let containers = spec["template"]["spec"]["containers"].as_array().map(Vec::as_slice).unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| text(c, "name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, "image")).collect();
    let selector = if spec["selector"].is_object() { format_selector(&spec["selector"]) } else { String::new() };
    vec![
        json!(name(o)),
        json!(format!("{}/{desired}", count("readyReplicas"))),
        json!(count("updatedReplicas")),
        json!(count("availableReplicas")),
        json!(age(o, now)),
        json!(names.join(",")),
        json!(images.join(",")),
        json!(selector),
    ]
}

fn replica_set(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    let containers = spec["template"]["spec"]["containers"].as_array().map(Vec::as_slice).unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| text(c, "name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, "image")).collect();
    let selector = if spec["selector"].is_object() { format_selector(&spec["selector"]) } else { String::new() };
    vec![
        json!(name(o)),
        json!(spec["replicas"].as_i64().unwrap_or(1)),
        json!(status["replicas"].as_i64().unwrap_or(0)),
        json!(status["readyReplicas"].as_i64().unwrap_or(0)),
        json!(age(o, now)),
        json!(names.join(",")),
        json!(images.join(",")),
        json!(selector),
    ]
}

/// At most three items, then `+ N more...`; `<unset>` for none (the printers' `listWithMoreString`).
fn first_three(items: Vec<String>) -> String {
    match items.len() {
        0 => "<unset>".to_string(),
        1..=3 => items.join(","),
        n => format!("{} + {} more...", items[..3].join(","), n - 3),
    }
}

fn endpoint_slice(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports: Vec<String> = o["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| match (p["port"].as_i64(), p["name"].as_str()) {
            (Some(port), _) => port.to_string(),
            (None, Some(name)) => name.to_string(),
            (None, None) => "*".to_string(),
        })
        .collect();
    let addresses: Vec<String> =
        o["endpoints"].as_array().into_iter().flatten().flat_map(|e| strings(&e["addresses"])).collect();
    vec![
        json!(name(o)),
        json!(text(o, "addressType")),
        json!(first_three(ports)),
        json!(first_three(addresses)),
        json!(age(o, now)),
    ]
}

/// Events of core/v1 and of events.k8s.io/v1, whose fields carry other names.
fn event(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let field = |core: &str, events: &str| if o.get(core).is_some() { &o[core] } else { &o[events] };
    let regarding = field("involvedObject", "regarding");
    let source = field("source", "deprecatedSource");
    let event_time = &o["eventTime"];
    let first_timestamp = field("firstTimestamp", "deprecatedFirstTimestamp");
    let last_timestamp = field("lastTimestamp", "deprecatedLastTimestamp");
    let first_seen = if first_timestamp.as_str().is_some_and(|t| !t.is_empty()) {
        since(first_timestamp, now)
    } else {
        since(event_time, now)
    };
    let mut last_seen = if last_timestamp.as_str().is_some_and(|t| !t.is_empty()) {
        since(last_timestamp, now)
    } else {
        first_seen.clone()
    };
    let mut count = field("count", "deprecatedCount").as_i64().unwrap_or(0);
    let series = &o["series"];
    if series.is_object() {
        last_seen = since(&series["lastObservedTime"], now);
        count = series["count"].as_i64().unwrap_or(0);
    } else if count == 0 {
        // Events of the newer API that happened once carry no count.
        count = 1;
    }
    let kind = text(regarding, "kind").to_lowercase();
    let target = match text(regarding, "name") {
        "" => kind,
        object => format!("{kind}/{object}"),
    };
    let reporting_controller = field("reportingComponent", "reportingController").as_str().unwrap_or_default();
    let component = Some(text(source, "component")).filter(|c| !c.is_empty()).unwrap_or(reporting_controller);
    let host = Some(text(source, "host")).filter(|h| !h.is_empty()).unwrap_or(text(o, "reportingInstance"));
    let source = if host.is_empty() { component.to_string() } else { format!("{component}, {host}") };
    vec![
        json!(last_seen),
        json!(text(o, "type")),
        json!(text(o, "reason")),
        json!(target),
        json!(text(regarding, "fieldPath")),
        json!(source),
        json!(field("message", "note").as_str().unwrap_or_default().trim()),
        json!(first_seen),
        json!(count),
        json!(name(o)),
    ]
}

fn webhook_configuration(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let webhooks = o["webhooks"].as_array().map_or(0, Vec::len);
    vec![json!(name(o)), json!(webhooks), json!(age(o, now))]
}

fn created_at(o: &Value, _: DateTime<Utc>) -> Vec<Value> {
    let created = o["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    vec![json!(name(o)), json!(created)]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::render_with;
    use super::super::tests::{at_now, cells, headers, info, shown};
    use super::*;

    fn table(group: &str, version: &str, resource: &str, items: &[Value]) -> Value {
        render_with(&info(group, version, resource), items, json!({}), &at_now())
    }

    fn load_balancer(name: &str) -> Value {
        json!({
            "metadata": { "name": name, "namespace": "demo", "creationTimestamp": "2026-01-10T11:57:00Z" },
            "spec": {
                "type": "LoadBalancer", "clusterIP": "10.96.0.2", "clusterIPs": ["10.96.0.2"],
                "selector": { "app": "web", "tier": "front" },
                "ports": [
                    { "port": 80, "nodePort": 31234, "protocol": "TCP", "targetPort": 8080 },
                    { "port": 53, "nodePort": 31235, "protocol": "UDP" },
                ],
            },
            "status": { "loadBalancer": {} },
        })
    }

    #[test]
    fn a_load_balancer_service_is_pending_until_its_status_has_an_address() {
        let pending = load_balancer("web");
        let mut ready = load_balancer("api");
        ready["status"]["loadBalancer"]["ingress"] =
            json!([{ "hostname": "k8s-demo-api-0123456789.elb.us-east-1.amazonaws.com" }]);
        let table = table("", "v1", "services", &[pending, ready]);

        assert_eq!(headers(&table), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
        assert_eq!(
            cells(&table, 0),
            ["web", "LoadBalancer", "10.96.0.2", "<pending>", "80:31234/TCP,53:31235/UDP", "3m", "app=web,tier=front"]
        );
        assert_eq!(cells(&table, 1)[3], "k8s-demo-api-0123456789.elb.us-east-1.amazonaws.com");
    }

    #[test]
    fn service_external_ip_by_type() {
        let mut with_ip = load_balancer("two");
        with_ip["status"]["loadBalancer"]["ingress"] =
            json!([{ "ip": "203.0.113.9", "hostname": "b.example" }, { "hostname": "a.example" }]);
        let cluster_ip = json!({
            "metadata": { "name": "plain" },
            "spec": { "type": "ClusterIP", "clusterIP": "10.96.0.9", "ports": [{ "port": 443, "protocol": "TCP" }] },
        });
        let headless =
            json!({ "metadata": { "name": "headless" }, "spec": { "type": "ClusterIP", "clusterIP": "None" } });
        let external_name = json!({
            "metadata": { "name": "db" }, "spec": { "type": "ExternalName", "externalName": "db.example.com" },
        });
        let node_port = json!({
            "metadata": { "name": "np" },
            "spec": { "type": "NodePort", "clusterIP": "10.96.0.7", "externalIPs": ["198.51.100.1"], "ports": [{ "port": 80, "nodePort": 30080, "protocol": "TCP" }] },
        });
        let table = table("", "v1", "services", &[with_ip, cluster_ip, headless, external_name, node_port]);

        // An entry's IP wins over its hostname; addresses come sorted.
        assert_eq!(cells(&table, 0)[3], "203.0.113.9,a.example");
        assert_eq!(shown(&table, 1), ["plain", "ClusterIP", "10.96.0.9", "<none>", "443/TCP", "<unknown>"]);
        assert_eq!(cells(&table, 1)[6], "<none>", "no selector");
        assert_eq!(shown(&table, 2)[2..5], ["None", "<none>", "<none>"]);
        assert_eq!(shown(&table, 3)[1..4], ["ExternalName", "<none>", "db.example.com"]);
        assert_eq!(shown(&table, 4)[3..5], ["198.51.100.1", "80:30080/TCP"]);
    }

    #[test]
    fn ingresses_show_class_hosts_address_and_ports() {
        let ingress = json!({
            "metadata": { "name": "shop", "creationTimestamp": "2026-01-10T06:00:00Z" },
            "spec": {
                "ingressClassName": "alb",
                "rules": [{ "host": "shop.example.com" }, { "host": "api.example.com" }],
                "tls": [{ "hosts": ["shop.example.com"] }],
            },
            "status": { "loadBalancer": { "ingress": [{ "hostname": "k8s-shop-1.elb.amazonaws.com" }] } },
        });
        let bare = json!({ "metadata": { "name": "bare" }, "spec": { "defaultBackend": {} } });
        let many = json!({
            "metadata": { "name": "many" },
            "spec": { "rules": [{ "host": "a.x" }, { "host": "b.x" }, { "host": "c.x" }, { "host": "d.x" }, { "host": "e.x" }] },
        });
        let table = table("networking.k8s.io", "v1", "ingresses", &[ingress, bare, many]);

        assert_eq!(headers(&table), ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]);
        assert_eq!(
            cells(&table, 0),
            ["shop", "alb", "shop.example.com,api.example.com", "k8s-shop-1.elb.amazonaws.com", "80, 443", "6h"]
        );
        assert_eq!(cells(&table, 1)[1..5], ["<none>", "*", "", "80"]);
        assert_eq!(cells(&table, 2)[2], "a.x,b.x,c.x + 2 more...");
    }

    #[test]
    fn ingress_classes_show_controller_and_parameters() {
        let alb = json!({
            "metadata": { "name": "alb", "creationTimestamp": "2026-01-08T12:00:00Z" },
            "spec": {
                "controller": "ingress.k8s.aws/alb",
                "parameters": { "apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "shared" },
            },
        });
        let plain = json!({ "metadata": { "name": "nginx" }, "spec": { "controller": "k8s.io/ingress-nginx" } });
        let table = table("networking.k8s.io", "v1", "ingressclasses", &[alb, plain]);

        assert_eq!(headers(&table), ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]);
        assert_eq!(cells(&table, 0), ["alb", "ingress.k8s.aws/alb", "IngressClassParams.elbv2.k8s.aws/shared", "2d"]);
        assert_eq!(cells(&table, 1)[2], "<none>");
    }

    #[test]
    fn nodes_show_readiness_roles_and_version() {
        let node = json!({
            "metadata": {
                "name": "ip-10-0-1-5.ec2.internal",
                "creationTimestamp": "2026-01-03T12:00:00Z",
                "labels": { "node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/ingress": "", "kubernetes.io/role": "edge" },
            },
            "spec": { "unschedulable": true, "providerID": "aws:///us-east-1a/i-0abc" },
            "status": {
                "conditions": [
                    { "type": "MemoryPressure", "status": "False" },
                    { "type": "Ready", "status": "True" },
                ],
                "addresses": [{ "type": "InternalIP", "address": "10.0.1.5" }, { "type": "Hostname", "address": "ip-10-0-1-5" }],
                "nodeInfo": { "kubeletVersion": "v1.35.0", "osImage": "Bottlerocket", "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://2.0.0" },
            },
        });
        let fresh = json!({ "metadata": { "name": "new" }, "status": {} });
        let not_ready = json!({ "metadata": { "name": "down" }, "status": { "conditions": [{ "type": "Ready", "status": "Unknown" }] } });
        let table = table("", "v1", "nodes", &[node, fresh, not_ready]);

        assert_eq!(headers(&table), ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
        assert_eq!(
            cells(&table, 0),
            [
                "ip-10-0-1-5.ec2.internal",
                "Ready,SchedulingDisabled",
                "edge,ingress,worker",
                "7d",
                "v1.35.0",
                "10.0.1.5",
                "<none>",
                "Bottlerocket",
                "6.1.0",
                "containerd://2.0.0",
            ]
        );
        assert_eq!(cells(&table, 1)[1..3], ["Unknown", "<none>"]);
        assert_eq!(cells(&table, 1)[7], "<unknown>");
        assert_eq!(cells(&table, 2)[1], "NotReady");
    }

    #[test]
    fn namespaces_show_their_phase() {
        let active = json!({ "metadata": { "name": "demo", "creationTimestamp": "2026-01-10T11:59:55Z" }, "status": { "phase": "Active" } });
        let going = json!({ "metadata": { "name": "old", "creationTimestamp": "2026-01-10T11:00:00Z" }, "status": { "phase": "Terminating" } });
        let table = table("", "v1", "namespaces", &[active, going]);

        assert_eq!(headers(&table), ["NAME", "STATUS", "AGE"]);
        assert_eq!(cells(&table, 0), ["demo", "Active", "5s"]);
        assert_eq!(cells(&table, 1), ["old", "Terminating", "60m"]);
    }

    #[test]
    fn deployments_show_replica_counts() {
        let deployment = json!({
            "metadata": { "name": "web", "creationTimestamp": "2026-01-10T11:00:00Z" },
            "spec": {
                "replicas": 3,
                "selector": {
                    "matchLabels": { "app": "web" },
                    "matchExpressions": [
                        { "key": "tier", "operator": "In", "values": ["front", "edge"] },
                        { "key": "canary", "operator": "DoesNotExist" },
                    ],
                },
                "template": { "spec": { "containers": [{ "name": "nginx", "image": "nginx:1.27" }, { "name": "log", "image": "busybox" }] } },
            },
            "status": { "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2 },
        });
        let created = json!({
            "metadata": { "name": "new" },
            "spec": { "selector": { "matchLabels": { "app": "new" } }, "template": { "spec": { "containers": [{ "name": "nginx", "image": "nginx" }] } } },
            "status": {},
        });
        let table = table("apps", "v1", "deployments", &[deployment, created]);

        assert_eq!(headers(&table), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
        assert_eq!(
            cells(&table, 0),
            ["web", "2/3", "3", "2", "60m", "nginx,log", "nginx:1.27,busybox", "app=web,!canary,tier in (edge,front)"]
        );
        assert_eq!(shown(&table, 1), ["new", "0/1", "0", "0", "<unknown>"]);
        assert_eq!(table["rows"][0]["cells"][2], json!(3), "UP-TO-DATE is a number");
    }

    #[test]
    fn replica_sets_show_desired_current_and_ready() {
        let rs = json!({
            "metadata": { "name": "web-7c5ddbdf54", "creationTimestamp": "2026-01-10T11:00:00Z" },
            "spec": { "replicas": 3, "selector": { "matchLabels": { "app": "web", "pod-template-hash": "7c5ddbdf54" } },
                "template": { "spec": { "containers": [{ "name": "nginx", "image": "nginx" }] } } },
            "status": { "replicas": 3, "readyReplicas": 2 },
        });
        let table = table("apps", "v1", "replicasets", &[rs]);
        assert_eq!(headers(&table), ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
        assert_eq!(
            cells(&table, 0),
            ["web-7c5ddbdf54", "3", "3", "2", "60m", "nginx", "nginx", "app=web,pod-template-hash=7c5ddbdf54"]
        );
    }

    #[test]
    fn endpoint_slices_show_ports_and_the_first_addresses() {
        let endpoint = |ip: &str| json!({ "addresses": [ip], "conditions": { "ready": true } });
        let full = json!({
            "metadata": { "name": "web-abcde", "creationTimestamp": "2026-01-10T11:59:00Z" },
            "addressType": "IPv4",
            "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }, { "name": "admin", "protocol": "TCP" }],
            "endpoints": [endpoint("10.0.0.1"), endpoint("10.0.0.2"), endpoint("10.0.0.3"), endpoint("10.0.0.4")],
        });
        let placeholder =
            json!({ "metadata": { "name": "web-fghij" }, "addressType": "IPv4", "ports": [], "endpoints": [] });
        let table = table("discovery.k8s.io", "v1", "endpointslices", &[full, placeholder]);
        assert_eq!(headers(&table), ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]);
        assert_eq!(
            cells(&table, 0),
            ["web-abcde", "IPv4", "8080,admin", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "60s"]
        );
        assert_eq!(cells(&table, 1)[2..4], ["<unset>", "<unset>"]);
    }

    #[test]
    fn core_events_show_when_what_and_why() {
        let event = json!({
            "metadata": { "name": "web.1880a", "namespace": "demo" },
            "involvedObject": { "kind": "Service", "name": "web", "namespace": "demo" },
            "reason": "SyncLoadBalancerFailed",
            "message": "failed to create load balancer: quota exceeded\n",
            "type": "Warning",
            "source": { "component": "elbow" },
            "firstTimestamp": "2026-01-10T11:30:00Z",
            "lastTimestamp": "2026-01-10T11:59:00Z",
            "count": 4,
        });
        let table = table("", "v1", "events", &[event]);

        assert_eq!(headers(&table), ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
        assert_eq!(
            cells(&table, 0),
            [
                "60s",
                "Warning",
                "SyncLoadBalancerFailed",
                "service/web",
                "",
                "elbow",
                "failed to create load balancer: quota exceeded",
                "30m",
                "4",
                "web.1880a",
            ]
        );
        let name_column = &table["columnDefinitions"][9];
        assert_eq!((name_column["name"].as_str(), name_column["format"].as_str()), (Some("Name"), Some("name")));
    }

    #[test]
    fn events_k8s_io_events_use_their_own_field_names() {
        let single = json!({
            "metadata": { "name": "web.1" },
            "regarding": { "kind": "Ingress", "name": "shop", "fieldPath": "spec.rules" },
            "note": "Successfully reconciled",
            "reason": "SuccessfullyReconciled",
            "type": "Normal",
            "eventTime": "2026-01-10T11:59:50.000000Z",
            "reportingController": "elbow.example.com/controller",
            "reportingInstance": "elbow-7d9f",
        });
        let mut repeated = single.clone();
        repeated["series"] = json!({ "count": 7, "lastObservedTime": "2026-01-10T11:59:58.000000Z" });
        let table = table("events.k8s.io", "v1", "events", &[single, repeated]);

        assert_eq!(
            cells(&table, 0),
            [
                "10s",
                "Normal",
                "SuccessfullyReconciled",
                "ingress/shop",
                "spec.rules",
                "elbow.example.com/controller, elbow-7d9f",
                "Successfully reconciled",
                "10s",
                "1",
                "web.1",
            ]
        );
        assert_eq!((cells(&table, 1)[0].as_str(), cells(&table, 1)[8].as_str()), ("2s", "7"));
    }

    #[test]
    fn recorded_events_read_through_core_v1_show_their_reporting_controller_as_source() {
        let recorded = json!({
            "metadata": { "name": "web.2" },
            "regarding": { "kind": "Service", "name": "web" },
            "note": "Provisioned",
            "reason": "Provisioned",
            "type": "Normal",
            "eventTime": "2026-01-10T11:59:40.000000Z",
            "reportingController": "elbow",
            "reportingInstance": "elbow-7d9f",
        });
        let core = crate::events::convert(&recorded, crate::events::EventApi::EventsV1, crate::events::EventApi::Core);
        let table = table("", "v1", "events", &[core]);
        assert_eq!(
            cells(&table, 0),
            [
                "20s",
                "Normal",
                "Provisioned",
                "service/web",
                "",
                "elbow, elbow-7d9f",
                "Provisioned",
                "20s",
                "1",
                "web.2"
            ]
        );
    }

    #[test]
    fn custom_resource_definitions_show_when_they_were_created() {
        let crd = json!({ "metadata": { "name": "widgets.example.com", "creationTimestamp": "2026-01-10T11:00:00Z" } });
        let table = table("apiextensions.k8s.io", "v1", "customresourcedefinitions", &[crd]);
        assert_eq!(headers(&table), ["NAME", "CREATED AT"]);
        assert_eq!(cells(&table, 0), ["widgets.example.com", "2026-01-10T11:00:00Z"]);
        assert_eq!(table["columnDefinitions"][1]["type"], "date");
    }

    #[test]
    fn webhook_configurations_show_how_many_webhooks_they_hold() {
        let configuration = json!({
            "metadata": { "name": "elbow", "creationTimestamp": "2026-01-10T11:57:00Z" },
            "webhooks": [{ "name": "a.elbow.example.com" }, { "name": "b.elbow.example.com" }],
        });
        let table = table("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", &[configuration]);
        assert_eq!(headers(&table), ["NAME", "WEBHOOKS", "AGE"]);
        assert_eq!(table["rows"][0]["cells"][1], json!(2));
    }

    #[test]
    fn the_name_column_is_marked_for_kubectl() {
        let table = render_with::<Value>(&info("", "v1", "services"), &[], json!({}), &at_now());
        assert_eq!(table["columnDefinitions"][0]["format"], "name");
        assert_eq!(table["columnDefinitions"][1]["format"], "");
        assert_eq!(table["columnDefinitions"][6]["priority"], 1, "Selector only with -o wide");
    }
}
