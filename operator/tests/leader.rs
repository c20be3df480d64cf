//! Leader election against the testkit API server through a real `kube::Client`: one leader of
//! two, hand-over on release, takeover of an abandoned lease after it expires, and a leader that
//! stops at once when its lease is taken or it cannot renew.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use elbow::leader::{ElectionConfig, Ended, LeaderElection, Loss, Timing, run_while_leading};
use elbow_testkit::TestServer;
use futures::FutureExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const LEASE: &str = "elbow-leader";

/// Short, valid timings: renewals every 100 ms, a leader gives up 600 ms after its last renewal.
fn fast() -> Timing {
    Timing {
        lease_duration: Duration::from_secs(1),
        renew_deadline: Duration::from_millis(600),
        retry_period: Duration::from_millis(100),
    }
}

/// A candidate whose work only marks that it runs, until it is stopped or dropped.
struct Candidate {
    identity: String,
    leading: Arc<AtomicBool>,
    /// Set once its work ever ran.
    ever_led: Arc<AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Ended>,
}

/// Raised while the work future exists; lowered when it ends or is dropped.
struct Raised(Arc<AtomicBool>);

impl Drop for Raised {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Candidate {
    fn start(server: &TestServer, identity: &str, timing: Timing) -> Self {
        let config =
            ElectionConfig { namespace: "default".into(), lease_name: LEASE.into(), identity: identity.into(), timing };
        let election = LeaderElection::new(server.client.clone(), config).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = stopped.map(|_| ()).shared();
        let leading = Arc::new(AtomicBool::new(false));
        let ever_led = Arc::new(AtomicBool::new(false));
        let work = {
            let (leading, ever_led, stopped) = (leading.clone(), ever_led.clone(), stopped.clone());
            async move {
                leading.store(true, Ordering::SeqCst);
                ever_led.store(true, Ordering::SeqCst);
                let _raised = Raised(leading);
                stopped.await;
            }
        };
        let task = tokio::spawn(run_while_leading(election, stopped, work));
        Self { identity: identity.into(), leading, ever_led, stop: Some(stop), task }
    }

    fn leads(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Asks it to shut down (as SIGTERM does) and returns how its election ended.
    async fn shut_down(mut self) -> Ended {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("shut down in time").unwrap()
    }
}

/// How long until `condition` holds; panics after `limit`.
async fn time_until(what: &str, limit: Duration, condition: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

async fn lease(server: &TestServer) -> Lease {
    Api::<Lease>::namespaced(server.client.clone(), "default").get(LEASE).await.unwrap()
}

#[tokio::test]
async fn of_two_candidates_exactly_one_leads_and_a_release_hands_over_at_once() {
    let server = TestServer::start().await.unwrap();
    // A lease long enough that a takeover within 2 s can only come from the release.
    let timing = Timing { lease_duration: Duration::from_secs(10), renew_deadline: Duration::from_secs(5), ..fast() };
    let a = Candidate::start(&server, "a", timing);
    let b = Candidate::start(&server, "b", timing);
    time_until("one candidate leads", Duration::from_secs(5), || a.leads() || b.leads()).await;

    // Over many renewals, never both, and no change of leader.
    let first_is_a = a.leads();
    let watch_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < watch_until {
        assert!(!(a.leads() && b.leads()), "two leaders at once");
        assert_eq!(a.leads(), first_is_a, "leadership moved without cause");
        assert_eq!(b.leads(), !first_is_a, "leadership moved without cause");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (leader, standby) = if first_is_a { (a, b) } else { (b, a) };
    let spec = lease(&server).await.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some(leader.identity.as_str()));
    assert_eq!(spec.lease_duration_seconds, Some(10));

    let stopped_at = Instant::now();
    assert_eq!(leader.shut_down().await, Ended::WorkEnded { released: true });
    time_until("the standby leads after the release", Duration::from_secs(2), || standby.leads()).await;
    let took = stopped_at.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let spec = lease(&server).await.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some(standby.identity.as_str()));
    assert_eq!(spec.lease_transitions, Some(1), "created by the first leader, taken by the second after the release");
    assert_eq!(standby.shut_down().await, Ended::WorkEnded { released: true });
}

#[tokio::test]
async fn a_lease_abandoned_without_release_is_taken_over_once_it_expires() {
    let server = TestServer::start().await.unwrap();
    let a = Candidate::start(&server, "a", fast());
    time_until("a leads", Duration::from_secs(5), || a.leads()).await;
    let b = Candidate::start(&server, "b", fast());
    // Long enough for b to have observed a's renewals.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.leads());

    // A crash: the process is gone, nothing is released.
    a.task.abort();
    let crashed_at = Instant::now();
    time_until("b takes over", Duration::from_secs(5), || b.leads()).await;
    let took = crashed_at.elapsed();
    // The holder's promise of 1 s counts from b's last sight of a renewal (within 100 ms + jitter
    // before the crash), then one more retry period at most.
    assert!(took >= Duration::from_millis(750), "took over before the lease could expire: {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(b.shut_down().await, Ended::WorkEnded { released: true });
}

#[tokio::test]
async fn a_leader_whose_lease_is_taken_stops_at_once() {
    let server = TestServer::start().await.unwrap();
    let a = Candidate::start(&server, "a", fast());
    time_until("a leads", Duration::from_secs(5), || a.leads()).await;

    // Someone else writes themselves in with a fresh renewal (a candidate with a skewed clock,
    // or a human with kubectl).
    let api = Api::<Lease>::namespaced(server.client.clone(), "default");
    let mut stolen = api.get(LEASE).await.unwrap();
    stolen.spec = Some(LeaseSpec {
        holder_identity: Some("thief".into()),
        renew_time: Some(MicroTime(Timestamp::now())),
        lease_duration_seconds: Some(30),
        ..stolen.spec.unwrap()
    });
    api.replace(LEASE, &PostParams::default(), &stolen).await.unwrap();
    let stolen_at = Instant::now();

    time_until("a stops", Duration::from_secs(2), || !a.leads()).await;
    // At its next renewal (every 100 ms), well within the thief's view of a valid lease.
    assert!(stolen_at.elapsed() < Duration::from_secs(1), "a stopped only after {:?}", stolen_at.elapsed());
    let ended = tokio::time::timeout(Duration::from_secs(2), a.task).await.unwrap().unwrap();
    assert_eq!(ended, Ended::Lost(Loss::TakenOver("thief".into())));
    assert_eq!(lease(&server).await.spec.unwrap().holder_identity.as_deref(), Some("thief"));
}

#[tokio::test]
async fn a_leader_that_cannot_renew_stops_by_the_renew_deadline() {
    let server = TestServer::start().await.unwrap();
    let a = Candidate::start(&server, "a", fast());
    time_until("a leads", Duration::from_secs(5), || a.leads()).await;

    // The API server goes away: every renewal fails from now on.
    drop(server);
    let cut_off_at = Instant::now();
    // The deadline counts from the last successful renewal, at most one retry period before.
    time_until("a stops", Duration::from_secs(3), || !a.leads()).await;
    let took = cut_off_at.elapsed();
    assert!(took >= Duration::from_millis(400), "stopped before the deadline: {took:?}");
    // What matters for safety: stopped before the lease (1 s) could look expired to a standby.
    assert!(took < Duration::from_secs(1), "stopped only after {took:?}");
    let ended = tokio::time::timeout(Duration::from_secs(2), a.task).await.unwrap().unwrap();
    assert_eq!(ended, Ended::Lost(Loss::RenewDeadline));
}

#[tokio::test]
async fn a_standby_shut_down_never_runs_its_work_and_leaves_the_lease_alone() {
    let server = TestServer::start().await.unwrap();
    let a = Candidate::start(&server, "a", fast());
    time_until("a leads", Duration::from_secs(5), || a.leads()).await;
    let b = Candidate::start(&server, "b", fast());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b_ever_led = b.ever_led.clone();
    assert_eq!(b.shut_down().await, Ended::ShutDownWhileStandingBy);
    assert!(!b_ever_led.load(Ordering::SeqCst));
    assert!(a.leads());
    assert_eq!(lease(&server).await.spec.unwrap().holder_identity.as_deref(), Some("a"));
    assert_eq!(a.shut_down().await, Ended::WorkEnded { released: true });
    assert_eq!(lease(&server).await.spec.unwrap().holder_identity, None, "released");
}
