//! Kubernetes objects read from YAML: the kinds the builders use, the rest noted and skipped.

use std::io::Write;

use elbow_builder::crd::IngressClassParams;
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Objects {
    pub services: Vec<Service>,
    pub nodes: Vec<Node>,
    pub ingresses: Vec<Ingress>,
    pub ingress_classes: Vec<IngressClass>,
    pub ingress_class_params: Vec<IngressClassParams>,
    /// The pods of ip-mode Services.
    pub endpoint_slices: Vec<EndpointSlice>,
    /// The OIDC clients of authenticating Ingresses.
    pub secrets: Vec<Secret>,
}

impl Objects {
    /// Adds every document of `text` (a `List`'s items included).
    pub fn add_yaml(&mut self, text: &str, notes: &mut dyn Write) -> anyhow::Result<()> {
        let documents: Vec<Value> = serde_saphyr::from_multiple(text)?;
        for document in documents {
            self.add(document, notes)?;
        }
        Ok(())
    }

    fn add(&mut self, object: Value, notes: &mut dyn Write) -> anyhow::Result<()> {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        match kind.as_str() {
            "" if object.is_null() => {}
            "List"
            | "ServiceList"
            | "NodeList"
            | "IngressList"
            | "IngressClassList"
            | "IngressClassParamsList"
            | "EndpointSliceList"
            | "SecretList" => {
                let items = object.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
                for item in items {
                    self.add(item, notes)?;
                }
            }
            "Service" => {
                let mut service: Service = serde_json::from_value(object)?;
                // What the API server would fill in: the builders rely on a namespace and a UID.
                service.metadata.namespace.get_or_insert_with(|| "default".to_string());
                if service.metadata.uid.is_none() {
                    writeln!(
                        notes,
                        "note: Service {} has no metadata.uid; names are computed with an empty UID",
                        name(&service.metadata)
                    )?;
                    service.metadata.uid = Some(String::new());
                }
                self.services.push(service);
            }
            "Node" => self.nodes.push(serde_json::from_value(object)?),
            "Ingress" => {
                let mut ingress: Ingress = serde_json::from_value(object)?;
                ingress.metadata.namespace.get_or_insert_with(|| "default".to_string());
                self.ingresses.push(ingress);
            }
            "IngressClass" => self.ingress_classes.push(serde_json::from_value(object)?),
            "IngressClassParams" => self.ingress_class_params.push(serde_json::from_value(object)?),
            "EndpointSlice" => {
                let mut slice: EndpointSlice = serde_json::from_value(object)?;
                slice.metadata.namespace.get_or_insert_with(|| "default".to_string());
                self.endpoint_slices.push(slice);
            }
            "Secret" => {
                let mut secret: Secret = serde_json::from_value(object)?;
                secret.metadata.namespace.get_or_insert_with(|| "default".to_string());
                // What the API server does: stringData is written into data.
                if let Some(strings) = secret.string_data.take() {
                    let data = secret.data.get_or_insert_with(Default::default);
                    for (key, value) in strings {
                        data.insert(key, k8s_openapi::ByteString(value.into_bytes()));
                    }
                }
                self.secrets.push(secret);
            }
            other => writeln!(
                notes,
                "note: skipping a {} (only Services, Nodes, EndpointSlices, Ingresses, IngressClasses, IngressClassParams and Secrets are planned)",
                if other.is_empty() { "document without kind" } else { other }
            )?,
        }
        Ok(())
    }
}

fn name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!("{}/{}", meta.namespace.as_deref().unwrap_or("default"), meta.name.as_deref().unwrap_or("?"))
}
