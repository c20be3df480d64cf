//! An ACM certificate for TLS listeners. The tests do not depend on the ACM SDK for one call:
//! against an endpoint (moto, LocalStack), RequestCertificate is posted as the JSON request the
//! SDK would send, with a credential scope that names the service (moto routes by it and checks
//! no signature); against AWS, a request would stay pending validation, so an issued certificate
//! must be named in `ELBOW_TEST_CERTIFICATE_ARN`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A certificate TLS listeners can use.
pub async fn certificate(domain: &str) -> String {
    let Some(endpoint) = crate::endpoint() else {
        return std::env::var("ELBOW_TEST_CERTIFICATE_ARN")
            .expect("against AWS, ELBOW_TEST_CERTIFICATE_ARN must name an issued ACM certificate");
    };
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    let stream = TcpStream::connect(&authority).await.expect("the endpoint listens");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("http/1");
    let connection = tokio::spawn(connection);
    let request = http::Request::post("/")
        .header("host", &authority)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "CertificateManager.RequestCertificate")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/acm/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(Full::new(Bytes::from(format!(r#"{{"DomainName":"{domain}"}}"#))))
        .expect("a request");
    let response = sender.send_request(request).await.expect("RequestCertificate answered");
    let status = response.status();
    let body = response.into_body().collect().await.expect("a body").to_bytes();
    connection.abort();
    let text = String::from_utf8_lossy(&body);
    assert!(status.is_success(), "RequestCertificate: {status} {text}");
    // {"CertificateArn": "arn:aws:acm:..."}: the one string value of the answer.
    let arn = text.split('"').find(|part| part.starts_with("arn:")).unwrap_or_else(|| panic!("no ARN in {text}"));
    arn.to_string()
}
