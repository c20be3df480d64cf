//! The one node watch every controller shares: it fills the node cache and tells each
//! controller when the load-balancer-relevant node set changed.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};
use tokio::sync::mpsc;
use tracing::warn;

use crate::controllers::nodes::NodeSetTracker;
use elbow_model::build::nodes::is_eligible;

/// Keeps `writer`'s store in sync with the cluster's nodes and signals every controller whenever
/// the load-balancer-relevant node set changes (a full channel means a signal is already pending,
/// which is just as good).
pub async fn watch_nodes(api: Api<Node>, writer: reflector::store::Writer<Node>, changed: Vec<mpsc::Sender<()>>) {
    let mut tracker = NodeSetTracker::new(is_eligible);
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|node| {
            // Kept for every node for as long as Elbow runs; none of it matters to a load balancer.
            node.managed_fields_mut().clear();
            if let Some(status) = node.status.as_mut() {
                status.images = None;
            }
        })
        .reflect(writer);
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                if tracker.observe(&event) {
                    for controller in &changed {
                        let _ = controller.try_send(());
                    }
                }
            }
            Err(error) => warn!(%error, "node watch failed; retrying"),
        }
    }
}
