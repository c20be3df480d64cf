//! Kubernetes' protobuf encoding, decoded into the JSON the server stores.
//!
//! kubectl 1.35 sends built-in objects from its typed commands (`kubectl create deployment`,
//! `create namespace`, ...) as `application/vnd.kubernetes.protobuf`, with no fallback to JSON. The
//! body is the magic `k8s\0` followed by a `runtime.Unknown` envelope: the object's apiVersion and
//! kind, and the object itself as a protobuf message. The decoder reads the wire format generically
//! and names fields from [`schema`]; responses stay JSON, which kubectl accepts.

mod schema;
mod wire;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::DateTime;
use serde_json::{Map, Value, json};

use schema::{Field, Kind, Message};
use wire::WireValue;

/// The prefix of every protobuf body Kubernetes clients send.
const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("malformed protobuf body: {0}")]
    Malformed(&'static str),
    #[error("the test server does not decode {0} objects sent as protobuf; send it as JSON (kubectl apply -f)")]
    UnsupportedKind(String),
    #[error(
        "the test server does not decode field {number} of {message} sent as protobuf; send the object as JSON (kubectl apply -f)"
    )]
    UnsupportedField { message: &'static str, number: u32 },
}

pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
}

/// The JSON object in a protobuf request body.
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(DecodeError::Malformed("missing the k8s magic prefix"))?;
    // runtime.Unknown: typeMeta (1), raw (2); contentEncoding and contentType are empty for objects.
    let (mut type_meta, mut raw): (Map<String, Value>, &[u8]) = (Map::new(), &[]);
    for (number, value) in wire::fields(envelope)? {
        match number {
            1 => type_meta = decode_message(&schema::TYPE_META, bytes(value)?)?,
            2 => raw = bytes(value)?,
            _ => {}
        }
    }
    let kind = type_meta.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let message = schema::object(&kind).ok_or_else(|| DecodeError::UnsupportedKind(kind.clone()))?;
    let mut object = Map::new();
    object.insert("apiVersion".into(), type_meta.get("apiVersion").cloned().unwrap_or_default());
    object.insert("kind".into(), json!(kind));
    object.extend(decode_message(message, raw)?);
    Ok(Value::Object(object))
}

fn decode_message(message: &'static Message, buf: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    let mut out = Map::new();
    for (number, value) in wire::fields(buf)? {
        let Some(field) = message.field(number) else {
            if value.is_zero() {
                continue;
            }
            return Err(DecodeError::UnsupportedField { message: message.name, number });
        };
        decode_field(field, value, &mut out)?;
    }
    Ok(out)
}

fn decode_field(field: &Field, value: WireValue<'_>, out: &mut Map<String, Value>) -> Result<(), DecodeError> {
    match field.kind {
        Kind::Inline(inner) => out.extend(decode_message(inner, bytes(value)?)?),
        Kind::StringMap | Kind::BytesMap | Kind::QuantityMap => {
            let (key, entry) = map_entry(field.kind, bytes(value)?)?;
            let map = out.entry(field.json).or_insert_with(|| json!({}));
            if let Some(map) = map.as_object_mut() {
                map.insert(key, entry);
            }
        }
        _ => {
            let decoded = scalar_or_message(field.kind, value)?;
            if field.repeated {
                let list = out.entry(field.json).or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.push(decoded);
                }
            } else if field.pointer || !is_empty(&decoded) {
                out.insert(field.json.to_string(), decoded);
            }
        }
    }
    Ok(())
}

/// Go's `omitempty`: zero scalars are not printed (nested structs always are).
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

fn scalar_or_message(kind: Kind, value: WireValue<'_>) -> Result<Value, DecodeError> {
    Ok(match kind {
        Kind::String => json!(text(value)?),
        // Varints carry Go's int32/int64 in two's complement.
        Kind::Int => json!(varint(value)? as i64),
        Kind::Bool => json!(varint(value)? != 0),
        Kind::Message(inner) => Value::Object(decode_message(inner, bytes(value)?)?),
        Kind::Time => time(bytes(value)?)?,
        Kind::IntOrString => int_or_string(bytes(value)?)?,
        Kind::Inline(_) | Kind::StringMap | Kind::BytesMap | Kind::QuantityMap => {
            return Err(DecodeError::Malformed("a map or inline field decoded as a value"));
        }
    })
}

/// One key/value entry of a protobuf map (key field 1, value field 2).
fn map_entry(kind: Kind, buf: &[u8]) -> Result<(String, Value), DecodeError> {
    let (mut key, mut entry) = (String::new(), None);
    for (number, value) in wire::fields(buf)? {
        match number {
            1 => key = text(value)?.to_string(),
            2 => {
                entry = Some(match kind {
                    Kind::BytesMap => json!(BASE64.encode(bytes(value)?)),
                    Kind::QuantityMap => quantity(bytes(value)?)?,
                    _ => json!(text(value)?),
                })
            }
            _ => return Err(DecodeError::Malformed("a map entry field other than key and value")),
        }
    }
    let empty = match kind {
        Kind::QuantityMap => json!("0"),
        _ => json!(""),
    };
    Ok((key, entry.unwrap_or(empty)))
}

/// `metav1.Time`. An unset time (Go's zero time, which metav1 encodes as an empty message) is
/// JSON null.
fn time(buf: &[u8]) -> Result<Value, DecodeError> {
    const GO_ZERO_TIME: i64 = -62_135_596_800;
    // JSON keeps whole seconds, as metav1.Time does; nanos (field 2) are dropped.
    let mut seconds = None;
    for (number, value) in wire::fields(buf)? {
        if number == 1 {
            seconds = Some(varint(value)? as i64);
        }
    }
    let Some(seconds) = seconds.filter(|&s| s != GO_ZERO_TIME) else { return Ok(Value::Null) };
    let time = DateTime::from_timestamp(seconds, 0).ok_or(DecodeError::Malformed("time out of range"))?;
    Ok(json!(time.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// `intstr.IntOrString`: type 0 is intVal (field 2), type 1 strVal (field 3).
fn int_or_string(buf: &[u8]) -> Result<Value, DecodeError> {
    let (mut is_string, mut int_val, mut str_val) = (false, 0i64, String::new());
    for (number, value) in wire::fields(buf)? {
        match number {
            1 => is_string = varint(value)? == 1,
            2 => int_val = i64::from(varint(value)? as i32),
            3 => str_val = text(value)?.to_string(),
            _ => return Err(DecodeError::UnsupportedField { message: "IntOrString", number }),
        }
    }
    Ok(if is_string { json!(str_val) } else { json!(int_val) })
}

/// `resource.Quantity`: its canonical string in field 1.
fn quantity(buf: &[u8]) -> Result<Value, DecodeError> {
    let mut string = String::from("0");
    for (number, value) in wire::fields(buf)? {
        if number == 1 {
            string = text(value)?.to_string();
        }
    }
    Ok(json!(string))
}

fn bytes(value: WireValue<'_>) -> Result<&[u8], DecodeError> {
    match value {
        WireValue::Bytes(bytes) => Ok(bytes),
        _ => Err(DecodeError::Malformed("expected a length-delimited field")),
    }
}

fn text(value: WireValue<'_>) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes(value)?).map_err(|_| DecodeError::Malformed("a string that is not UTF-8"))
}

fn varint(value: WireValue<'_>) -> Result<u64, DecodeError> {
    match value {
        WireValue::Varint(v) => Ok(v),
        _ => Err(DecodeError::Malformed("expected a varint field")),
    }
}

#[cfg(test)]
mod tests {
    use super::wire::encode;
    use super::*;

    /// A body as client-go writes it: magic, then runtime.Unknown{typeMeta, raw}.
    fn envelope(api_version: &str, kind: &str, object: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut body = MAGIC.to_vec();
        encode::message(
            1,
            |m| {
                encode::string(1, api_version, m);
                encode::string(2, kind, m);
            },
            &mut body,
        );
        encode::message(2, object, &mut body);
        encode::string(3, "", &mut body);
        encode::string(4, "", &mut body);
        body
    }

    fn label(key: &str, value: &str, number: u32, out: &mut Vec<u8>) {
        encode::message(
            number,
            |e| {
                encode::string(1, key, e);
                encode::string(2, value, e);
            },
            out,
        );
    }

    fn metadata(name: &str, out: &mut Vec<u8>) {
        encode::message(
            1,
            |m| {
                encode::string(1, name, m);
                encode::string(2, "", m); // generateName, written although empty
                encode::message(8, |_| {}, m); // creationTimestamp: Go's zero time
                label("app", "web", 11, m);
                encode::string(14, "example.com/hold", m);
            },
            out,
        );
    }

    #[test]
    fn a_deployment_as_kubectl_create_sends_it() {
        let body = envelope("apps/v1", "Deployment", |d| {
            metadata("web", d);
            encode::message(
                2,
                |spec| {
                    encode::int(1, 0, spec); // replicas: a pointer, so 0 is kept
                    encode::message(2, |sel| label("app", "web", 1, sel), spec);
                    encode::message(
                        3,
                        |template| {
                            encode::message(
                                2,
                                |pod| {
                                    encode::message(
                                        2,
                                        |c| {
                                            encode::string(1, "nginx", c);
                                            encode::string(2, "nginx", c);
                                            encode::string(4, "--port", c);
                                            encode::string(4, "8080", c);
                                            encode::message(6, |p| encode::int(3, 8080, p), c);
                                            encode::message(8, |_| {}, c);
                                            encode::int(16, 0, c); // stdin: false, not in the schema, zero
                                        },
                                        pod,
                                    );
                                    encode::string(3, "", pod);
                                    encode::int(11, 0, pod); // hostNetwork: false
                                },
                                template,
                            );
                        },
                        spec,
                    );
                    encode::message(4, |_| {}, spec);
                    encode::int(5, 0, spec);
                },
                d,
            );
            encode::message(3, |status| encode::int(2, 0, status), d); // status of zeros
        });
        assert_eq!(
            decode(&body).unwrap(),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": { "name": "web", "labels": { "app": "web" }, "finalizers": ["example.com/hold"] },
                "spec": {
                    "replicas": 0,
                    "selector": { "matchLabels": { "app": "web" } },
                    "template": { "spec": { "containers": [{
                        "name": "nginx", "image": "nginx", "args": ["--port", "8080"],
                        "ports": [{ "containerPort": 8080 }], "resources": {}
                    }] } },
                    "strategy": {}
                }
            })
        );
    }

    #[test]
    fn services_keep_named_target_ports_and_ingress_rules_their_inline_http() {
        let service = envelope("v1", "Service", |s| {
            metadata("web", s);
            encode::message(
                2,
                |spec| {
                    encode::message(
                        1,
                        |port| {
                            encode::string(2, "TCP", port);
                            encode::int(3, 80, port);
                            encode::message(
                                4,
                                |t| {
                                    encode::int(1, 1, t);
                                    encode::string(3, "http", t);
                                },
                                port,
                            );
                        },
                        spec,
                    );
                    encode::string(4, "LoadBalancer", spec);
                },
                s,
            );
        });
        let decoded = decode(&service).unwrap();
        assert_eq!(
            decoded["spec"],
            json!({ "ports": [{ "protocol": "TCP", "port": 80, "targetPort": "http" }], "type": "LoadBalancer" })
        );

        let ingress = envelope("networking.k8s.io/v1", "Ingress", |i| {
            metadata("web", i);
            encode::message(
                2,
                |spec| {
                    encode::message(
                        3,
                        |rule| {
                            encode::string(1, "example.com", rule);
                            encode::message(
                                2,
                                |value| {
                                    encode::message(
                                        1,
                                        |http| {
                                            encode::message(
                                                1,
                                                |path| {
                                                    encode::string(1, "/", path);
                                                    encode::string(3, "Prefix", path);
                                                },
                                                http,
                                            )
                                        },
                                        value,
                                    )
                                },
                                rule,
                            );
                        },
                        spec,
                    );
                    encode::string(4, "elbow", spec);
                },
                i,
            );
        });
        assert_eq!(
            decode(&ingress).unwrap()["spec"],
            json!({ "rules": [{ "host": "example.com", "http": { "paths": [{ "path": "/", "pathType": "Prefix" }] } }], "ingressClassName": "elbow" })
        );
    }

    #[test]
    fn secrets_keep_their_bytes_as_base64() {
        let body = envelope("v1", "Secret", |s| {
            metadata("creds", s);
            encode::message(
                2,
                |e| {
                    encode::string(1, "password", e);
                    encode::bytes(2, &[0, 159, 255], e);
                },
                s,
            );
            encode::string(3, "Opaque", s);
        });
        let decoded = decode(&body).unwrap();
        assert_eq!((decoded["data"]["password"].as_str(), decoded["type"].as_str()), (Some("AJ//"), Some("Opaque")));
    }

    #[test]
    fn what_the_schema_lacks_is_refused_by_name_never_dropped() {
        let body = envelope("apps/v1", "Deployment", |d| {
            encode::message(2, |spec| encode::int(8, 5, spec), d);
        });
        assert_eq!(decode(&body), Err(DecodeError::UnsupportedField { message: "DeploymentSpec", number: 8 }));
        let pod = envelope("v1", "Pod", |p| metadata("p", p));
        assert_eq!(decode(&pod), Err(DecodeError::UnsupportedKind("Pod".into())));
        assert!(matches!(decode(b"k8s\0\x0a\x05ab"), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode(b"{}"), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn times_are_rfc3339_and_go_zero_time_is_null() {
        let mut set = Vec::new();
        encode::int(1, 1_700_000_000, &mut set);
        assert_eq!(time(&set).unwrap(), json!("2023-11-14T22:13:20Z"));
        let mut zero = Vec::new();
        encode::int(1, -62_135_596_800, &mut zero);
        assert_eq!(time(&zero).unwrap(), Value::Null);
        assert_eq!(time(&[]).unwrap(), Value::Null);
    }
}
