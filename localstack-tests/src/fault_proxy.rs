//! A fault-injecting HTTP proxy in front of the AWS-compatible endpoint: the AWS API as a bad day
//! in production looks to a client.
//!
//! ```text
//!  operator ──HTTP──> FaultProxy ──HTTP──> moto
//!                       │  before forwarding: Throttling / RequestLimitExceeded, 5xx,
//!                       │                     a dropped connection, a hung one; or
//!                       │                     AWS's own rate limits (token buckets)
//!                       │  after forwarding:  the call happened, the client sees a 5xx or a drop
//!                       └─ counts every call by service and action, and every fault it made
//! ```
//!
//! Faults after forwarding are the hardest for a controller: the load balancer exists, and the
//! client does not know it. Error bodies are the ones AWS sends, so the SDK classifies them as it
//! would in production: ELBv2's query protocol answers `Throttling` with HTTP 400 and an
//! `ErrorResponse` document; EC2's answers `RequestLimitExceeded` with HTTP 503 and a `Response`
//! document; both answer `InternalFailure` / `ServiceUnavailable` with 500 / 503.
//!
//! With `FaultPlan::aws_rate_limits` the proxy throttles as AWS does: every request takes a token
//! from the buckets AWS documents for its action (`crate::aws_limits`), and is refused with
//! `Throttling` / `RequestLimitExceeded` when one is empty. The census counts what each bucket
//! admitted, from which a campaign computes the least time its calls could have taken.
//!
//! A *gate* turns every call after the k-th away unforwarded (connection dropped), so a test can
//! kill the client at exactly "k calls answered" and know nothing after the k-th reached the
//! endpoint.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::aws_limits::{self, BucketId, BucketSpec, Buckets, floor_seconds};

/// Which API a call is for, from the SigV4 credential scope the SDK signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Elbv2,
    Ec2,
    Other,
}

impl Service {
    fn of(request: &http::request::Parts) -> Service {
        let authorization =
            request.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if authorization.contains("/elasticloadbalancing/aws4_request") {
            Service::Elbv2
        } else if authorization.contains("/ec2/aws4_request") {
            Service::Ec2
        } else {
            Service::Other
        }
    }
}

/// What the proxy did to a call instead of (or after) forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// `Throttling` (ELBv2) or `RequestLimitExceeded` (EC2), not forwarded.
    Throttle,
    /// 500 `InternalFailure` or 503 `ServiceUnavailable`, not forwarded.
    ServerError,
    /// The connection closed without an answer, not forwarded.
    DropBefore,
    /// No answer until the client gives up (its attempt timeout), not forwarded.
    Hang,
    /// Forwarded and done by the endpoint, then answered with a 500.
    ServerErrorAfter,
    /// Forwarded and done by the endpoint, then the connection closed without an answer.
    DropAfter,
    /// Turned away by the gate (see the module documentation), not forwarded.
    Gated,
    /// Refused by one of AWS's documented rate limits (an empty token bucket), not forwarded:
    /// answered as `Throttle` is.
    RateLimited,
}

/// The probability of each fault per call (0.0–1.0 each; their sum at most 1.0), and the seed
/// that makes a campaign repeatable.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    pub seed: u64,
    pub throttle: f64,
    pub server_error: f64,
    pub drop_before: f64,
    pub hang: f64,
    pub server_error_after: f64,
    pub drop_after: f64,
    /// How long a hung call is held before its connection is closed: longer than the client's
    /// attempt timeout, or it would just be a slow answer.
    pub hang_for: Duration,
    /// Enforce the request-rate buckets AWS documents (see `crate::aws_limits`).
    pub aws_rate_limits: bool,
}

impl FaultPlan {
    /// No faults: a counting proxy.
    pub fn none() -> FaultPlan {
        FaultPlan {
            seed: 1,
            throttle: 0.0,
            server_error: 0.0,
            drop_before: 0.0,
            hang: 0.0,
            server_error_after: 0.0,
            drop_after: 0.0,
            hang_for: Duration::from_secs(35),
            aws_rate_limits: false,
        }
    }

    /// No random fault; AWS's own rate limits, per action and (ELBv2) per account.
    pub fn aws_rate_limits() -> FaultPlan {
        FaultPlan { aws_rate_limits: true, ..FaultPlan::none() }
    }

    /// `total` of all calls faulted, spread over the kinds: a third throttled, the rest split
    /// between errors and drops before and after forwarding, and a few hung.
    pub fn spread(total: f64, seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            throttle: total * 0.34,
            server_error: total * 0.15,
            drop_before: total * 0.15,
            hang: total * 0.02,
            server_error_after: total * 0.17,
            drop_after: total * 0.17,
            ..FaultPlan::none()
        }
    }

    fn choose(&self, roll: f64) -> Option<Fault> {
        let kinds = [
            (self.throttle, Fault::Throttle),
            (self.server_error, Fault::ServerError),
            (self.drop_before, Fault::DropBefore),
            (self.hang, Fault::Hang),
            (self.server_error_after, Fault::ServerErrorAfter),
            (self.drop_after, Fault::DropAfter),
        ];
        let mut edge = 0.0;
        for (probability, fault) in kinds {
            edge += probability;
            if roll < edge {
                return Some(fault);
            }
        }
        None
    }
}

/// What the proxy saw and did, so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Census {
    /// Calls that arrived, by service and action.
    pub calls: BTreeMap<(Service, String), u64>,
    /// Faults made, by kind.
    pub faults: BTreeMap<Fault, u64>,
    /// Calls the endpoint received (answered or not).
    pub forwarded: u64,
    /// Calls whose answer reached the client unchanged.
    pub answered: u64,
    /// Under AWS's rate limits: the calls each bucket admitted, with its size.
    pub admitted: BTreeMap<BucketId, (u64, BucketSpec)>,
}

impl Census {
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn total_faults(&self) -> u64 {
        self.faults
            .iter()
            .filter(|(fault, _)| !matches!(fault, Fault::Gated | Fault::RateLimited))
            .map(|(_, n)| n)
            .sum()
    }

    /// The least time the admitted mutating calls could have taken through AWS's buckets, and
    /// the bucket that sets it: the slowest of them decides.
    pub fn floor(&self) -> Option<(BucketId, f64)> {
        self.admitted
            .iter()
            .filter(|(_, (_, spec))| spec.mutating)
            .map(|(id, (n, spec))| (id.clone(), floor_seconds(*n, *spec)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// What `self` counted since `before`, bucket by bucket (for a phase of a campaign).
    pub fn admitted_since(&self, before: &Census) -> BTreeMap<BucketId, (u64, BucketSpec)> {
        self.admitted
            .iter()
            .map(|(id, (n, spec))| {
                let earlier = before.admitted.get(id).map_or(0, |(m, _)| *m);
                (id.clone(), (n - earlier, *spec))
            })
            .collect()
    }

    /// "1234 calls, 370 faulted (Throttle 125, ...)".
    pub fn summary(&self) -> String {
        let faults: Vec<String> = self.faults.iter().map(|(fault, n)| format!("{fault:?} {n}")).collect();
        format!("{} calls, {} faulted ({})", self.total_calls(), self.total_faults(), faults.join(", "))
    }
}

struct State {
    upstream: SocketAddr,
    plan: Mutex<(FaultPlan, fastrand::Rng)>,
    census: Mutex<Census>,
    /// Answers that reached the client unchanged, for tests waiting on "k calls answered".
    answered: watch::Sender<u64>,
    /// Calls after this many answered ones are turned away; `None`: no gate.
    gate: Mutex<Option<u64>>,
    /// AWS's token buckets, when the plan enforces them.
    buckets: Mutex<Buckets>,
}

/// A running proxy on a free 127.0.0.1 port; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (an `http://host:port` URL) with `plan`.
    pub async fn start(upstream: &str, plan: FaultPlan) -> std::io::Result<FaultProxy> {
        let authority = upstream.trim_start_matches("http://").trim_end_matches('/');
        let upstream: SocketAddr = tokio::net::lookup_host(authority)
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{upstream} has no address")))?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let rng = fastrand::Rng::with_seed(plan.seed);
        let state = Arc::new(State {
            upstream,
            plan: Mutex::new((plan, rng)),
            census: Mutex::new(Census::default()),
            answered: watch::channel(0).0,
            gate: Mutex::new(None),
            buckets: Mutex::new(Buckets::default()),
        });
        let task = tokio::spawn(accept(listener, state.clone()));
        Ok(FaultProxy { addr, state, task })
    }

    /// The URL to give the client as its AWS endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn census(&self) -> Census {
        self.state.census.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the fault plan (the random sequence goes on from where it was).
    pub fn set_plan(&self, plan: FaultPlan) {
        self.state.plan.lock().unwrap_or_else(|e| e.into_inner()).0 = plan;
    }

    /// Turns away every call once `answered` calls have been answered; `None` opens the gate.
    pub fn set_gate(&self, answered: Option<u64>) {
        *self.state.gate.lock().unwrap_or_else(|e| e.into_inner()) = answered;
    }

    /// Calls answered unchanged so far.
    pub fn answered(&self) -> u64 {
        *self.state.answered.borrow()
    }

    /// Waits until at least `count` calls have been answered unchanged.
    pub async fn wait_answered(&self, count: u64) {
        let mut answered = self.state.answered.subscribe();
        // The sender lives as long as the proxy, so the wait cannot fail while `self` exists.
        let _ = answered.wait_for(|n| *n >= count).await;
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
            // A connection the proxy drops on purpose ends in an error here; nothing to report.
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// The error that makes hyper close the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

type Answer = Result<http::Response<Full<Bytes>>, Dropped>;

async fn handle(state: Arc<State>, request: http::Request<Incoming>) -> Answer {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else { return Err(Dropped) };
    let service = Service::of(&parts);
    let action = action_of(&body);
    let gated = {
        let gate = *state.gate.lock().unwrap_or_else(|e| e.into_inner());
        gate.is_some_and(|limit| *state.answered.borrow() >= limit)
    };
    let limits = state.plan.lock().unwrap_or_else(|e| e.into_inner()).0.aws_rate_limits;
    let buckets =
        if limits { aws_limits::buckets(service, &action, &String::from_utf8_lossy(&body)) } else { Vec::new() };
    let fault = if gated {
        Some(Fault::Gated)
    } else if !state.buckets.lock().unwrap_or_else(|e| e.into_inner()).take(&buckets, Instant::now()) {
        Some(Fault::RateLimited)
    } else {
        let mut plan = state.plan.lock().unwrap_or_else(|e| e.into_inner());
        let roll = plan.1.f64();
        plan.0.choose(roll)
    };
    {
        let mut census = state.census.lock().unwrap_or_else(|e| e.into_inner());
        *census.calls.entry((service, action)).or_default() += 1;
        if let Some(fault) = fault {
            *census.faults.entry(fault).or_default() += 1;
        }
        if fault != Some(Fault::RateLimited) && fault != Some(Fault::Gated) {
            for (id, spec) in buckets {
                census.admitted.entry(id).or_insert((0, spec)).0 += 1;
            }
        }
    }
    match fault {
        Some(Fault::Throttle | Fault::RateLimited) => return Ok(throttled(service)),
        Some(Fault::ServerError) => return Ok(server_error(service, 503, "ServiceUnavailable")),
        Some(Fault::DropBefore | Fault::Gated) => return Err(Dropped),
        Some(Fault::Hang) => {
            let hang_for = state.plan.lock().unwrap_or_else(|e| e.into_inner()).0.hang_for;
            tokio::time::sleep(hang_for).await;
            return Err(Dropped);
        }
        _ => {}
    }
    let response = forward(&state, parts, body).await;
    state.census.lock().unwrap_or_else(|e| e.into_inner()).forwarded += 1;
    match (fault, response) {
        (Some(Fault::ServerErrorAfter), _) => Ok(server_error(service, 500, "InternalFailure")),
        (Some(Fault::DropAfter), _) | (_, Err(_)) => Err(Dropped),
        (_, Ok(response)) => {
            state.census.lock().unwrap_or_else(|e| e.into_inner()).answered += 1;
            state.answered.send_modify(|n| *n += 1);
            Ok(response)
        }
    }
}

/// The `Action` parameter of a query-protocol body (`Action=CreateLoadBalancer&...`).
fn action_of(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown")
        .to_owned()
}

async fn forward(
    state: &State,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<http::Response<Full<Bytes>>, Dropped> {
    let stream = TcpStream::connect(state.upstream).await.map_err(|_| Dropped)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|_| Dropped)?;
    let connection = tokio::spawn(connection);
    let request = http::Request::from_parts(parts, Full::new(body));
    let response = sender.send_request(request).await.map_err(|_| Dropped);
    let response = match response {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
            Ok(http::Response::from_parts(parts, Full::new(body)))
        }
        Err(error) => Err(error),
    };
    connection.abort();
    response
}

fn xml_response(status: u16, body: String) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/xml"));
    response
}

fn request_id() -> String {
    format!("{:08x}-fa17-4000-8000-{:012x}", fastrand::u32(..), fastrand::u64(..) & 0xffff_ffff_ffff)
}

fn throttled(service: Service) -> http::Response<Full<Bytes>> {
    match service {
        Service::Ec2 => ec2_error(503, "RequestLimitExceeded", "Request limit exceeded."),
        _ => elbv2_error(400, "Throttling", "Rate exceeded"),
    }
}

fn server_error(service: Service, status: u16, code: &str) -> http::Response<Full<Bytes>> {
    match service {
        Service::Ec2 => ec2_error(status, code, "An internal error has occurred"),
        _ => elbv2_error(status, code, "An internal error has occurred"),
    }
}

fn elbv2_error(status: u16, code: &str, message: &str) -> http::Response<Full<Bytes>> {
    let kind = if status < 500 { "Sender" } else { "Receiver" };
    xml_response(
        status,
        format!(
            "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>{kind}</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            request_id()
        ),
    )
}

fn ec2_error(status: u16, code: &str, message: &str) -> http::Response<Full<Bytes>> {
    xml_response(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>\
             </Error></Errors><RequestID>{}</RequestID></Response>",
            request_id()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_chooses_each_fault_in_proportion_and_none_past_its_total() {
        let plan = FaultPlan::spread(0.3, 7);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts: BTreeMap<Option<Fault>, u32> = BTreeMap::new();
        for _ in 0..100_000 {
            *counts.entry(plan.choose(rng.f64())).or_default() += 1;
        }
        let share = |fault| f64::from(counts.get(&fault).copied().unwrap_or(0)) / 100_000.0;
        assert!((share(None) - 0.7).abs() < 0.01, "{counts:?}");
        assert!((share(Some(Fault::Throttle)) - 0.102).abs() < 0.01, "{counts:?}");
        assert!(share(Some(Fault::Gated)) == 0.0);
        assert_eq!(FaultPlan::none().choose(0.0), None);
    }

    #[test]
    fn the_action_is_read_from_a_query_body() {
        assert_eq!(action_of(b"Action=CreateLoadBalancer&Version=2015-12-01&Name=a"), "CreateLoadBalancer");
        assert_eq!(action_of(b"Version=2016-11-15&Action=DescribeVpcs"), "DescribeVpcs");
        assert_eq!(action_of(b""), "unknown");
    }
}
