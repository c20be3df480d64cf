//! QUIC Services against the in-memory fake, which refuses what ELBv2 refuses for QUIC: a UDP
//! port turned QUIC moves its listener to a new QUIC target group whose pods carry their server
//! ids, and a new pod on an old pod's address (another id) replaces its registration.

use elbow_cloud::Api;
use elbow_model::*;

mod support;

use support::*;

/// `svc`'s stack without security groups (QUIC needs none), its one port's listener and target
/// group of `protocol`, the pods registered with the ids `ids` gives them.
fn quic_stack(svc: &Svc, protocol: Protocol, ids: &dyn Fn(usize) -> Option<String>) -> Stack {
    let mut stack = svc.stack();
    stack.load_balancers[0].security_groups.clear();
    stack.security_groups.clear();
    stack.node_security_group_rules.clear();
    stack.listeners[0].protocol = protocol;
    let tg = &mut stack.target_groups[0];
    tg.protocol = protocol;
    tg.name = format!("{}-{}", tg.name, protocol.as_str().to_lowercase().replace('_', ""));
    for (i, target) in tg.targets.iter_mut().enumerate() {
        target.quic_server_id = ids(i);
    }
    stack
}

fn id(n: usize) -> Option<String> {
    Some(format!("0x{n:016x}"))
}

#[tokio::test]
async fn a_udp_port_turned_quic_moves_to_a_quic_group_and_a_new_pod_on_an_old_address_replaces_its_id() {
    let cloud = cloud();
    seed_pod_subnet(&cloud);
    let deployer = deployer(&cloud);
    let svc = Svc { pods: Some(pods(0, 3)), ..Svc::new("quic") };
    deployer.deploy(&quic_stack(&svc, Protocol::Udp, &|_| None)).await.expect("UDP");

    // quic-enabled-ports added: a QUIC group with every pod and its id, the listener modified
    // to forward to it, the UDP group deleted.
    let quic = quic_stack(&svc, Protocol::Quic, &|i| id(i + 1));
    deployer.deploy(&quic).await.expect("QUIC");
    let listeners = cloud.listeners();
    assert_eq!(listeners.iter().map(|l| l.protocol).collect::<Vec<_>>(), [Protocol::Quic]);
    let groups = cloud.target_groups();
    assert_eq!(groups.iter().map(|g| g.protocol).collect::<Vec<_>>(), [Protocol::Quic], "the UDP group is gone");
    let registered = cloud.targets(&groups[0].arn);
    assert_eq!(registered, quic.target_groups[0].targets);
    assert!(registered.iter().all(|t| t.quic_server_id.is_some()), "{registered:?}");

    // The first pod is replaced by one on the same address with another id: the fake, like
    // ELBv2, takes the new id only once the old registration is gone.
    cloud.counter().reset();
    let replaced = quic_stack(&svc, Protocol::Quic, &|i| if i == 0 { id(100) } else { id(i + 1) });
    deployer.deploy(&replaced).await.expect("the new pod");
    assert_eq!(cloud.targets(&groups[0].arn), replaced.target_groups[0].targets);
    let counts = (cloud.counter().count(Api::DeregisterTargets), cloud.counter().count(Api::RegisterTargets));
    assert_eq!(counts, (1, 1), "one deregistration, then one registration");

    deployer.deploy(&Stack::empty(svc.id())).await.expect("deleted");
    assert!(cloud.load_balancers().is_empty() && cloud.target_groups().is_empty());
}
