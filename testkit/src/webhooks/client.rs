//! Calling a webhook as kube-apiserver does: POST over HTTPS (HTTP/1.1) to the configured URL, or
//! to a Service's port, with `?timeout=<N>s`, the server's certificate verified against the
//! `caBundle` (the system's roots without one) for the URL's host or for `<name>.<namespace>.svc`,
//! the whole exchange bounded by `timeoutSeconds`. Failures are worded as Go's HTTP client and
//! client-go word them, after `failed to call webhook: `.
//!
//! kube-apiserver reaches a Service through its cluster IP. A test has no cluster network, so
//! [`ServiceRoutes`] says where a Service's port leads (what kube-proxy does on a cluster); the
//! Service must still exist, with that port, as kube-apiserver requires.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;

use super::config::{Endpoint, Hook};
use crate::registry::Registry;
use crate::store::Store;

/// A Service's port: namespace, name, port.
type ServicePort = (String, String, u16);

/// Where Services' ports lead: the test's stand-in for cluster IPs.
#[derive(Debug, Clone, Default)]
pub struct ServiceRoutes(Arc<RwLock<BTreeMap<ServicePort, SocketAddr>>>);

impl ServiceRoutes {
    pub fn add(&self, namespace: &str, name: &str, port: u16, address: SocketAddr) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert((namespace.into(), name.into(), port), address);
    }

    fn get(&self, namespace: &str, name: &str, port: u16) -> Option<SocketAddr> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(&(namespace.into(), name.into(), port)).copied()
    }
}

/// What the webhook answered with a success status: its body.
pub struct Reply {
    pub body: Bytes,
}

/// Where one call goes.
struct Destination {
    /// The URL as Go prints it in errors, query included.
    url: String,
    /// The Host header.
    authority: String,
    path_and_query: String,
    /// The name the certificate must be valid for.
    server_name: String,
}

fn destination(hook: &Hook) -> Destination {
    let timeout = format!("timeout={}s", hook.timeout.as_secs());
    let (authority, path, server_name) = match &hook.endpoint {
        Endpoint::Url(url) => (url.authority.clone(), url.path.clone(), url.host_and_port().0),
        Endpoint::Service { namespace, name, path, port } => {
            let host = format!("{name}.{namespace}.svc");
            (format!("{host}:{port}"), path.clone(), host)
        }
    };
    let path = if path.is_empty() { "/".to_string() } else { path };
    let path_and_query = format!("{path}?{timeout}");
    Destination { url: format!("https://{authority}{path_and_query}"), authority, path_and_query, server_name }
}

/// Posts `body` to the webhook. `Err` is the reason after `failed calling webhook "<name>": `.
pub async fn call(hook: &Hook, body: Vec<u8>, store: &Store, routes: &ServiceRoutes) -> Result<Reply, String> {
    let destination = destination(hook);
    let tls = tls_config(hook.ca_bundle.as_deref()).map_err(|e| format!("could not get REST client: {e}"))?;
    let exchange = exchange(hook, &destination, tls, body, store, routes);
    match tokio::time::timeout(hook.timeout, exchange).await {
        Err(_) => Err(format!("failed to call webhook: Post \"{}\": context deadline exceeded", destination.url)),
        Ok(Err(reason)) => Err(format!("failed to call webhook: {reason}")),
        Ok(Ok(reply)) => Ok(reply),
    }
}

/// The roots a webhook's certificate must chain to: its caBundle, else the system's.
fn tls_config(ca_bundle: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_bundle {
        Some(pem) => {
            let certificates: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(pem).filter_map(Result::ok).collect();
            if certificates.is_empty() {
                return Err("unable to load root certificates: unable to parse bytes as PEM block".into());
            }
            for certificate in certificates {
                roots.add(certificate).map_err(|e| format!("unable to load root certificates: {e}"))?;
            }
        }
        None => {
            for certificate in system_roots() {
                let _ = roots.add(certificate.clone());
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // kube-apiserver talks HTTP/1.1 to webhooks.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The address to dial: the URL's host, or where the Service's port leads.
async fn dial_address(hook: &Hook, store: &Store, routes: &ServiceRoutes) -> Result<SocketAddr, String> {
    match &hook.endpoint {
        Endpoint::Url(url) => {
            let (host, port) = url.host_and_port();
            if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                return Ok(SocketAddr::new(ip, port));
            }
            let mut addresses = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("dial tcp: lookup {host}: {e}"))?;
            addresses.next().ok_or_else(|| format!("dial tcp: lookup {host}: no such host"))
        }
        Endpoint::Service { namespace, name, port, .. } => {
            let services = Registry::default().get("", "v1", "services").cloned();
            let service = services
                .and_then(|info| store.get(&info, namespace, name).ok())
                .ok_or_else(|| format!("service \"{name}\" not found"))?;
            route(&service, namespace, name, *port, routes)
        }
    }
}

/// kube-apiserver's `ResolveCluster`: the Service's cluster IP and the port it declares, here
/// the address registered for it.
fn route(
    service: &Value,
    namespace: &str,
    name: &str,
    port: u16,
    routes: &ServiceRoutes,
) -> Result<SocketAddr, String> {
    let spec = &service["spec"];
    let cluster_ip = spec["clusterIP"].as_str().unwrap_or_default();
    match spec["type"].as_str().unwrap_or("ClusterIP") {
        "ClusterIP" if cluster_ip == "None" => return Err("cannot route to service with ClusterIP \"None\"".into()),
        "ClusterIP" | "LoadBalancer" | "NodePort" => {}
        "ExternalName" => {
            return Err(format!("elbow-testkit does not route to ExternalName Service {namespace}/{name}"));
        }
        other => return Err(format!("unsupported service type {other:?}")),
    }
    let declared =
        spec["ports"].as_array().is_some_and(|ports| ports.iter().any(|p| p["port"].as_u64() == Some(u64::from(port))));
    if !declared {
        return Err(format!("no service port {port} found for service \"{name}\""));
    }
    routes.get(namespace, name, port).ok_or_else(|| {
        format!(
            "dial tcp {cluster_ip}:{port}: connect: connection refused (elbow-testkit: no address registered for Service {namespace}/{name} port {port}; see TestServer::route_service)"
        )
    })
}

async fn exchange(
    hook: &Hook,
    destination: &Destination,
    tls: rustls::ClientConfig,
    body: Vec<u8>,
    store: &Store,
    routes: &ServiceRoutes,
) -> Result<Reply, String> {
    let post = |reason: String| format!("Post \"{}\": {reason}", destination.url);
    let address = dial_address(hook, store, routes).await.map_err(post)?;
    let tcp = TcpStream::connect(address).await.map_err(|e| post(dial_error(address, &e)))?;
    let server_name = ServerName::try_from(destination.server_name.clone())
        .map_err(|e| post(format!("tls: invalid server name {:?}: {e}", destination.server_name)))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(server_name, tcp)
        .await
        .map_err(|e| post(tls_error(&e)))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| post(e.to_string()))?;
    // Driven beside the request, and dropped with it when the timeout ends the call.
    let connection = AbortOnDrop(tokio::spawn(connection));
    let request = http::Request::post(destination.path_and_query.as_str())
        .header(http::header::HOST, destination.authority.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, */*")
        .header(http::header::USER_AGENT, "kube-apiserver-admission")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| post(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| post(hyper_error(&e)))?;
    let status = response.status().as_u16();
    let text_reply = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/") || t.starts_with("application/json"));
    let body = response.into_body().collect().await.map_err(|e| post(hyper_error(&e)))?.to_bytes();
    drop(connection);
    if !(200..=206).contains(&status) {
        return Err(unexpected_status(status, &body, text_reply));
    }
    Ok(Reply { body })
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn dial_error(address: SocketAddr, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("dial tcp {address}: connect: connection refused"),
        _ => format!("dial tcp {address}: {error}"),
    }
}

/// A failed TLS handshake, in crypto/tls's words where the cause is one Go names.
fn tls_error(error: &std::io::Error) -> String {
    use rustls::CertificateError as C;
    let Some(rustls::Error::InvalidCertificate(certificate)) = error.get_ref().and_then(|e| e.downcast_ref()) else {
        return format!("tls: {error}");
    };
    let x509 = match certificate {
        C::UnknownIssuer => "certificate signed by unknown authority".to_string(),
        C::NotValidForNameContext { expected, presented } if presented.is_empty() => {
            format!("certificate is not valid for any names, but wanted to match {}", expected.to_str())
        }
        C::NotValidForNameContext { expected, presented } => {
            // rustls shows them as `DnsName("a")`, `IpAddress(127.0.0.1)`; Go shows the names.
            let names: Vec<&str> = presented
                .iter()
                .map(|p| p.split_once('(').map_or(p.as_str(), |(_, n)| n.trim_end_matches(')').trim_matches('"')))
                .collect();
            format!("certificate is valid for {}, not {}", names.join(", "), expected.to_str())
        }
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            "certificate has expired or is not yet valid".to_string()
        }
        other => format!("{other:?}"),
    };
    format!("tls: failed to verify certificate: x509: {x509}")
}

fn hyper_error(error: &hyper::Error) -> String {
    if error.is_incomplete_message() { "EOF".to_string() } else { error.to_string() }
}

/// client-go's error for an answer outside 200-206 that is not a Status (`NewGenericServerResponse`).
fn unexpected_status(status: u16, body: &[u8], text_reply: bool) -> String {
    if let Ok(status_object) = serde_json::from_slice::<Value>(body)
        && status_object["kind"] == "Status"
        && let Some(message) = status_object["message"].as_str()
    {
        return format!("failed to call webhook: {message}");
    }
    let shown = if text_reply {
        String::from_utf8_lossy(&body[..body.len().min(1024)]).trim().to_string()
    } else {
        "unknown".to_string()
    };
    let message = match status {
        400 => "the server rejected our request for an unknown reason".to_string(),
        401 => "the server has asked for the client to provide credentials".to_string(),
        403 => "the server does not allow access to the requested resource".to_string(),
        404 => "the server could not find the requested resource".to_string(),
        405 => "the server does not allow this method on the requested resource".to_string(),
        409 => "the server reported a conflict".to_string(),
        422 => "the server rejected our request due to an error in our request".to_string(),
        429 => "the server has received too many requests and has asked us to try again later".to_string(),
        503 => "the server is currently unable to handle the request".to_string(),
        504 => {
            "the server was unable to return a response in the time allotted, but may still be processing the request"
                .to_string()
        }
        500.. => format!("an error on the server ({shown:?}) has prevented the request from succeeding"),
        _ => format!("the server responded with the status code {status} but did not return more information"),
    };
    format!("failed to call webhook: {message}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_service_routes_only_through_a_port_it_declares() {
        let routes = ServiceRoutes::default();
        let address: SocketAddr = "127.0.0.1:9443".parse().unwrap();
        routes.add("elbow-system", "webhook", 443, address);
        let service = json!({ "spec": { "type": "ClusterIP", "clusterIP": "10.96.0.9", "ports": [{ "port": 443 }] } });
        assert_eq!(route(&service, "elbow-system", "webhook", 443, &routes), Ok(address));
        assert_eq!(
            route(&service, "elbow-system", "webhook", 8443, &routes),
            Err("no service port 8443 found for service \"webhook\"".into())
        );
        let unrouted = route(&service, "elbow-system", "other", 443, &routes).unwrap_err();
        assert!(unrouted.starts_with("dial tcp 10.96.0.9:443: connect: connection refused"), "{unrouted}");
        let headless = json!({ "spec": { "clusterIP": "None", "ports": [{ "port": 443 }] } });
        assert_eq!(
            route(&headless, "a", "b", 443, &routes),
            Err("cannot route to service with ClusterIP \"None\"".into())
        );
    }

    #[test]
    fn answers_outside_200_to_206_read_as_client_go_words_them() {
        assert_eq!(
            unexpected_status(500, b"boom\n", true),
            r#"failed to call webhook: an error on the server ("boom") has prevented the request from succeeding"#
        );
        assert_eq!(
            unexpected_status(404, b"", true),
            "failed to call webhook: the server could not find the requested resource"
        );
        assert_eq!(
            unexpected_status(302, b"", false),
            "failed to call webhook: the server responded with the status code 302 but did not return more information"
        );
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"not today","code":403}"#;
        assert_eq!(unexpected_status(403, status, true), "failed to call webhook: not today");
    }

    #[test]
    fn a_bundle_without_certificates_is_refused_as_client_go_refuses_it() {
        assert_eq!(
            tls_config(Some(b"not pem")).err(),
            Some("unable to load root certificates: unable to parse bytes as PEM block".into())
        );
    }
}
