//! Minimum capacity reservations against the in-memory fake: reserved with a new load balancer,
//! changed, set again after drift, reset when no longer asked for, and a reservation Elbow did not
//! make left alone.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_cloud::{Api, Cloud};
use elbow_model::tags::CAPACITY_UNITS_TAG;
use elbow_model::*;

mod support;

use support::*;

/// `svc`'s stack asking for `units` of minimum capacity, as the builder makes it.
fn reserving(svc: &Svc, units: Option<u32>) -> Stack {
    let mut stack = svc.stack();
    let lb = &mut stack.load_balancers[0];
    lb.capacity_units = units;
    if let Some(units) = units {
        lb.tags.insert(CAPACITY_UNITS_TAG.to_string(), units.to_string());
    }
    stack
}

async fn reservation(cloud: &elbow_fake::FakeCloud) -> Option<u32> {
    let lb = cloud.load_balancers().remove(0);
    cloud.describe_capacity_reservation(&lb.arn).await.expect("described")
}

#[tokio::test]
async fn a_reservation_follows_the_spec_and_is_reset_when_it_goes() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    let outcome = deployer.deploy(&reserving(&svc, Some(1000))).await.expect("deployed");
    assert_eq!(reservation(&cloud).await, Some(1000), "reserved with the new load balancer");
    assert!(outcome.changes.to_string().contains("capacity reservation"), "{}", outcome.changes);

    cloud.counter().reset();
    deployer.deploy(&reserving(&svc, Some(1000))).await.expect("again");
    assert_eq!(cloud.counter().count(Api::DescribeCapacityReservation), 0, "an unchanged stack asks nothing");
    assert_eq!(cloud.counter().mutating(), 0);

    deployer.deploy(&reserving(&svc, Some(2000))).await.expect("changed");
    assert_eq!(reservation(&cloud).await, Some(2000));

    // Reset by hand: the next full comparison (here: a restarted operator) reserves it again.
    let arn = cloud.load_balancers()[0].arn.clone();
    cloud.modify_capacity_reservation(&arn, None).await.expect("reset by hand");
    let restarted = support::deployer(&cloud);
    cloud.counter().reset();
    restarted.deploy(&reserving(&svc, Some(2000))).await.expect("drift corrected");
    assert_eq!(cloud.counter().count(Api::ModifyCapacityReservation), 1);
    assert_eq!(reservation(&cloud).await, Some(2000));

    // The annotation goes: the reservation Elbow made is reset, and its record with it.
    cloud.counter().reset();
    restarted.deploy(&reserving(&svc, None)).await.expect("no reservation");
    assert_eq!(cloud.counter().count(Api::ModifyCapacityReservation), 1, "{:?}", cloud.counter().snapshot());
    assert_eq!(reservation(&cloud).await, None);
    assert!(!cloud.tags(&arn).contains_key(CAPACITY_UNITS_TAG), "the record goes with it");
}

#[tokio::test]
async fn a_reservation_elbow_did_not_make_is_left_alone() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    deployer.deploy(&svc.stack()).await.expect("deployed");
    assert_eq!(cloud.counter().count(Api::DescribeCapacityReservation), 0, "nothing asked for, nothing asked");
    let arn = cloud.load_balancers()[0].arn.clone();
    cloud.modify_capacity_reservation(&arn, Some(700)).await.expect("reserved by someone else");

    let restarted = support::deployer(&cloud);
    cloud.counter().reset();
    restarted.deploy(&svc.stack()).await.expect("full comparison");
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::DescribeCapacityReservation), None, "{calls:?}");
    assert_eq!(calls.get(&Api::ModifyCapacityReservation), None, "{calls:?}");
    assert_eq!(reservation(&cloud).await, Some(700));
}

#[tokio::test]
async fn a_failed_reset_keeps_the_record_so_the_next_deploy_resets() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    deployer.deploy(&reserving(&svc, Some(1000))).await.expect("deployed");
    let arn = cloud.load_balancers()[0].arn.clone();

    cloud.inject(elbow_fake::Failure::on(Api::ModifyCapacityReservation, elbow_cloud::CloudErrorKind::Throttled));
    deployer.deploy(&reserving(&svc, None)).await.expect_err("the reset failed");
    assert_eq!(reservation(&cloud).await, Some(1000));
    assert!(cloud.tags(&arn).contains_key(CAPACITY_UNITS_TAG), "the record stays until the reset is made");

    deployer.deploy(&reserving(&svc, None)).await.expect("reset now");
    assert_eq!(reservation(&cloud).await, None);
    assert!(!cloud.tags(&arn).contains_key(CAPACITY_UNITS_TAG));
}
