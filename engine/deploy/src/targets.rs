//! The one target synchroniser: makes a target group's registered targets (nodes on a NodePort,
//! or pods on their ports) equal the desired ones, whoever asks — a full deploy of a Service or
//! Ingress stack, the quick path that follows an EndpointSlice or node change (the rest of the
//! stack unchanged: only targets are compared, from what is known to be registered), or a binding
//! to a target group made outside Kubernetes.
//!
//! ```text
//! desired ─┐
//!          ├─ TargetChanges::between ─> register (batches of 200) ─> deregister (batches of 200)
//! registered (DescribeTargetHealth, or kept since)
//! ```
//!
//! Registering comes first, so a rolling update that replaces every pod never leaves the group
//! without a target; the one exception is a QUIC target whose server id changed (a new pod on an
//! old pod's address), which ELBv2 cannot re-register in place: it is deregistered first. Nothing
//! to change makes no call. A batch that fails stops the sync; the
//! batches before it took effect and `registered` says so, so a re-run sends only the rest.

use elbow_cloud::{Cloud, CloudError};
use elbow_model::Target;

/// At most this many targets per Register/DeregisterTargets call, as the AWS Load Balancer
/// Controller sends them: one call per 200 changed pods keeps a large rollout within the
/// Register/Deregister rate limit.
pub const BATCH_SIZE: usize = 200;

/// What must be registered and deregistered for `registered` to become `desired`. Both sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetChanges {
    pub register: Vec<Target>,
    pub deregister: Vec<Target>,
}

impl TargetChanges {
    pub fn between(desired: &[Target], registered: &[Target]) -> Self {
        let wanted: std::collections::BTreeSet<&Target> = desired.iter().collect();
        let have: std::collections::BTreeSet<&Target> = registered.iter().collect();
        Self {
            register: wanted.difference(&have).map(|t| (*t).clone()).collect(),
            deregister: have.difference(&wanted).map(|t| (*t).clone()).collect(),
        }
    }

    /// The changes for a group shared with registrations that are not the caller's (a target
    /// group made outside Kubernetes, bound by a TargetGroupBinding): what is desired and not
    /// registered is registered, but only the caller's own targets (`owned`) are ever
    /// deregistered; a target someone else registered stays, desired or not.
    pub fn for_owner(desired: &[Target], registered: &[Target], owned: &[Target]) -> Self {
        let mut changes = Self::between(desired, registered);
        let owned: std::collections::BTreeSet<&Target> = owned.iter().collect();
        changes.deregister.retain(|t| owned.contains(t));
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.register.is_empty() && self.deregister.is_empty()
    }
}

/// A failed Register/DeregisterTargets batch, and what it was.
#[derive(Debug)]
pub struct BatchError {
    /// "register 200 targets with <arn>".
    pub step: String,
    pub source: CloudError,
}

/// The targets registered with `arn`, as DescribeTargetHealth reports them. A draining target is
/// on its way out: it is not counted, so a desired target that is draining is registered again.
pub async fn registered_targets(cloud: &dyn Cloud, arn: &str) -> Result<Vec<Target>, CloudError> {
    let health = cloud.describe_target_health(arn).await?;
    let mut targets: Vec<Target> = health.into_iter().filter(|h| h.state != "draining").map(|h| h.target).collect();
    targets.sort();
    targets.dedup();
    Ok(targets)
}

/// Makes `arn`'s targets `desired`, given that `registered` are registered now; `registered` is
/// kept true as batches succeed. Returns what changed.
pub async fn sync(
    cloud: &dyn Cloud,
    arn: &str,
    desired: &[Target],
    registered: &mut Vec<Target>,
) -> Result<TargetChanges, BatchError> {
    let changes = TargetChanges::between(desired, registered);
    apply(cloud, arn, &changes, registered).await?;
    Ok(changes)
}

/// Makes `changes` to `arn`, registrations first, keeping `registered` true as batches succeed.
/// A registration at an address and port whose old registration has another QUIC server id waits
/// for that one to go: ELBv2 changes no server id of a registered target.
pub async fn apply(
    cloud: &dyn Cloud,
    arn: &str,
    changes: &TargetChanges,
    registered: &mut Vec<Target>,
) -> Result<(), BatchError> {
    let (replaced, leaving): (Vec<Target>, Vec<Target>) =
        changes.deregister.iter().cloned().partition(|old| changes.register.iter().any(|new| new.same_place(old)));
    deregister(cloud, arn, &replaced, registered).await?;
    register(cloud, arn, &changes.register, registered).await?;
    deregister(cloud, arn, &leaving, registered).await
}

/// Registers `targets` with `arn` in batches, adding each batch to `registered` once it is.
pub async fn register(
    cloud: &dyn Cloud,
    arn: &str,
    targets: &[Target],
    registered: &mut Vec<Target>,
) -> Result<(), BatchError> {
    for batch in targets.chunks(BATCH_SIZE) {
        cloud
            .register_targets(arn, batch)
            .await
            .map_err(|source| BatchError { step: format!("register {} target(s) with {arn}", batch.len()), source })?;
        registered.extend(batch.iter().cloned());
        registered.sort();
        registered.dedup();
    }
    Ok(())
}

/// Deregisters `targets` from `arn` in batches, removing each batch from `registered` once it is.
pub async fn deregister(
    cloud: &dyn Cloud,
    arn: &str,
    targets: &[Target],
    registered: &mut Vec<Target>,
) -> Result<(), BatchError> {
    for batch in targets.chunks(BATCH_SIZE) {
        cloud.deregister_targets(arn, batch).await.map_err(|source| BatchError {
            step: format!("deregister {} target(s) from {arn}", batch.len()),
            source,
        })?;
        registered.retain(|t| !batch.contains(t));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u16) -> Target {
        Target::new(format!("10.0.{}.{}", last / 250, last % 250), 8080)
    }

    #[test]
    fn changes_are_the_two_differences() {
        let changes = TargetChanges::between(&[ip(1), ip(2)], &[ip(2), ip(3)]);
        assert_eq!(changes, TargetChanges { register: vec![ip(1)], deregister: vec![ip(3)] });
        assert!(TargetChanges::between(&[ip(1)], &[ip(1)]).is_empty());
        // Same address, another port: a different target.
        let moved = Target { port: 9090, ..ip(1) };
        assert_eq!(TargetChanges::between(std::slice::from_ref(&moved), &[ip(1)]).register, [moved]);
    }

    /// A new pod on an old pod's address has another QUIC server id; ELBv2 (and the fake) refuse
    /// to register it while the old registration stands, so that one goes first.
    #[tokio::test]
    async fn a_quic_target_whose_server_id_changed_is_deregistered_before_it_is_registered_again() {
        use elbow_cloud::api::Api;
        use elbow_cloud::types::{CreateTargetGroup, Subnet};
        use elbow_model::{Protocol, TargetType};
        let cloud = elbow_fake::FakeCloud::new();
        // The planner's fixture group, as a QUIC group of ip targets in a VPC holding the pods.
        let spec = crate::plan::fixtures::tg_spec(8080);
        cloud.seed_vpc(&spec.vpc_id);
        cloud.seed_subnet(Subnet {
            id: "subnet-a".into(),
            vpc_id: spec.vpc_id.clone(),
            availability_zone: "us-east-1a".into(),
            cidr_block: "10.0.0.0/16".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: spec.tags.clone(),
        });
        let group = cloud
            .create_target_group(CreateTargetGroup {
                name: "quic".into(),
                target_type: TargetType::Ip,
                protocol: Protocol::Quic,
                port: spec.port,
                protocol_version: None,
                vpc_id: spec.vpc_id,
                ip_address_type: spec.ip_address_type,
                health_check: spec.health_check,
                tags: spec.tags,
            })
            .await
            .expect("a QUIC group");
        let (old, new, other) = (
            Target::quic("10.0.0.7", 8080, "0x0000000000000001"),
            Target::quic("10.0.0.7", 8080, "0x0000000000000002"),
            Target::quic("10.0.0.8", 8080, "0x0000000000000003"),
        );
        let mut registered = Vec::new();
        sync(&cloud, &group.arn, std::slice::from_ref(&old), &mut registered).await.expect("first");
        let changes =
            sync(&cloud, &group.arn, &[new.clone(), other.clone()], &mut registered).await.expect("the new pod");
        assert_eq!(changes.deregister, [old]);
        assert_eq!(cloud.targets(&group.arn), [new.clone(), other.clone()]);
        assert_eq!(registered, [new, other]);
        assert_eq!(
            (cloud.counter().count(Api::RegisterTargets), cloud.counter().count(Api::DeregisterTargets)),
            (2, 1)
        );
    }

    #[test]
    fn an_owner_deregisters_only_its_own_targets() {
        // ip(3) was registered by someone else, ip(4) by the owner; neither is desired now.
        let changes = TargetChanges::for_owner(&[ip(1), ip(2)], &[ip(2), ip(3), ip(4)], &[ip(2), ip(4)]);
        assert_eq!(changes, TargetChanges { register: vec![ip(1)], deregister: vec![ip(4)] });
        // A desired target someone else registered is left as it is: no call.
        assert!(TargetChanges::for_owner(&[ip(3)], &[ip(3)], &[]).is_empty());
        // Owned but already gone from the group: nothing to deregister.
        assert!(TargetChanges::for_owner(&[], &[], &[ip(4)]).is_empty());
    }
}
