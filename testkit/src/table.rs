//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for (`Accept: ...;as=Table`),
//! with kube-apiserver's columns for the resources people look at (Services show EXTERNAL-IP,
//! Ingresses ADDRESS), CRD printer columns, and NAME/AGE for the rest.

use serde_json::{Value, json};

use crate::registry::ResourceInfo;

/// Cells of one row.
type Cells = fn(&ResourceInfo, &Value) -> Vec<Value>;

pub fn render(info: &ResourceInfo, items: &[Value], metadata: Value) -> Value {
    let (columns, cells): (Vec<(&str, &str)>, Cells) = match (info.group.as_str(), info.resource.as_str()) {
        ("", "services") => (
            vec![
                ("Name", "string"),
                ("Type", "string"),
                ("Cluster-IP", "string"),
                ("External-IP", "string"),
                ("Port(s)", "string"),
                ("Age", "string"),
            ],
            service_cells,
        ),
        ("networking.k8s.io", "ingresses") => (
            vec![
                ("Name", "string"),
                ("Class", "string"),
                ("Hosts", "string"),
                ("Address", "string"),
                ("Ports", "string"),
                ("Age", "string"),
            ],
            ingress_cells,
        ),
        _ if !info.printer_columns.is_empty() => (Vec::new(), crd_cells),
        _ => (vec![("Name", "string"), ("Age", "string")], |_, o| vec![json!(name(o)), json!(age(o))]),
    };
    let column_definitions: Vec<Value> = if columns.is_empty() {
        std::iter::once(json!({ "name": "Name", "type": "string", "format": "name", "description": "", "priority": 0 }))
            .chain(
                info.printer_columns
                    .iter()
                    .map(|(n, t, _)| json!({ "name": n, "type": t, "format": "", "description": "", "priority": 0 })),
            )
            .collect()
    } else {
        columns.iter().map(|(n, t)| json!({ "name": n, "type": t, "format": if *n == "Name" { "name" } else { "" }, "description": "", "priority": 0 })).collect()
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            json!({
                "cells": cells(info, o),
                "object": { "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"].clone() }
            })
        })
        .collect();
    json!({ "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": column_definitions, "rows": rows })
}

fn name(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

/// `5s`, `3m`, `2h`, `4d`, as kubectl shows ages.
fn age(object: &Value) -> String {
    let Some(created) =
        object["metadata"]["creationTimestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        return "<unknown>".into();
    };
    let seconds = (chrono::Utc::now() - created.with_timezone(&chrono::Utc)).num_seconds().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn service_cells(_: &ResourceInfo, o: &Value) -> Vec<Value> {
    let spec = &o["spec"];
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    let ingress: Vec<String> = o["status"]["loadBalancer"]["ingress"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["hostname"].as_str().or(i["ip"].as_str()).map(str::to_string)).collect())
        .unwrap_or_default();
    let external = if !ingress.is_empty() {
        ingress.join(",")
    } else if kind == "LoadBalancer" {
        "<pending>".into()
    } else {
        "<none>".into()
    };
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    let protocol = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_u64() {
                        Some(node_port) => format!("{}:{node_port}/{protocol}", p["port"]),
                        None => format!("{}/{protocol}", p["port"]),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    vec![
        json!(name(o)),
        json!(kind),
        json!(spec["clusterIP"].as_str().unwrap_or("<none>")),
        json!(external),
        json!(if ports.is_empty() { "<none>".to_string() } else { ports.join(",") }),
        json!(age(o)),
    ]
}

fn ingress_cells(_: &ResourceInfo, o: &Value) -> Vec<Value> {
    let hosts: Vec<String> = o["spec"]["rules"]
        .as_array()
        .map(|rules| rules.iter().filter_map(|r| r["host"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let address: Vec<String> = o["status"]["loadBalancer"]["ingress"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["hostname"].as_str().or(i["ip"].as_str()).map(str::to_string)).collect())
        .unwrap_or_default();
    let ports = if o["spec"]["tls"].as_array().is_some_and(|t| !t.is_empty()) { "80, 443" } else { "80" };
    vec![
        json!(name(o)),
        json!(o["spec"]["ingressClassName"].as_str().unwrap_or("<none>")),
        json!(if hosts.is_empty() { "*".to_string() } else { hosts.join(",") }),
        json!(address.join(",")),
        json!(ports),
        json!(age(o)),
    ]
}

fn crd_cells(info: &ResourceInfo, o: &Value) -> Vec<Value> {
    std::iter::once(json!(name(o)))
        .chain(info.printer_columns.iter().map(|(_, kind, path)| {
            let mut value = o;
            for part in path.trim_start_matches('.').split('.').filter(|p| !p.is_empty()) {
                value = &value[part];
            }
            if kind == "date" {
                json!(age(&json!({ "metadata": { "creationTimestamp": value } })))
            } else {
                value.clone()
            }
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    #[test]
    fn services_show_external_ip_and_ports() {
        let registry = Registry::default();
        let info = registry.get("", "v1", "services").expect("services").clone();
        let pending = json!({ "metadata": { "name": "web" }, "spec": { "type": "LoadBalancer", "clusterIP": "10.96.0.2", "ports": [{ "port": 80, "nodePort": 31000, "protocol": "TCP" }] } });
        let mut ready = pending.clone();
        ready["status"] = json!({ "loadBalancer": { "ingress": [{ "hostname": "web-1.elb.amazonaws.com" }] } });
        let table = render(&info, &[pending, ready], json!({}));
        assert_eq!(table["rows"][0]["cells"][3], "<pending>");
        assert_eq!(table["rows"][0]["cells"][4], "80:31000/TCP");
        assert_eq!(table["rows"][1]["cells"][3], "web-1.elb.amazonaws.com");
        assert_eq!(table["columnDefinitions"][3]["name"], "External-IP");
    }
}
