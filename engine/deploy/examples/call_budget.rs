//! What the deployer costs in cloud requests, at cluster scale: create, no-op re-apply, restart,
//! node-set change and delete of N Services against the in-memory fake cloud, with the requests
//! per phase (mutating and read) and the wall time. Run:
//!
//! ```sh
//! cargo run --release -p elbow-deploy --example call_budget -- 200
//! ```

use std::time::Instant;

use elbow_model::Stack;

#[path = "../tests/support/mod.rs"]
mod support;

use support::*;

struct Phase {
    name: &'static str,
    mutating: u64,
    reads: u64,
    seconds: f64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let services: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(200);
    let cloud = cloud();
    let mut svcs: Vec<Svc> = (0..services)
        .map(|i| {
            // Names must live as long as the Svc values; a benchmark's few hundred are fine to leak.
            let mut svc = Svc::new(Box::leak(format!("svc{i}").into_boxed_str()));
            let node_port = 30000 + u16::try_from(i)?;
            svc.ports = vec![(80, node_port)];
            Ok(svc)
        })
        .collect::<Result<_, std::num::TryFromIntError>>()?;

    let mut phases = Vec::new();
    let mut deployer = deployer(&cloud);
    for name in ["create", "no-op re-apply", "restart, then re-apply", "node set change", "delete"] {
        match name {
            "restart, then re-apply" => deployer = support::deployer(&cloud),
            "node set change" => svcs.iter_mut().for_each(|svc| svc.nodes = vec!["i-2", "i-3"]),
            _ => {}
        }
        cloud.counter().reset();
        let started = Instant::now();
        for svc in &svcs {
            let stack = if name == "delete" { Stack::empty(svc.id()) } else { svc.stack() };
            deployer.deploy(&stack).await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let counter = cloud.counter();
        phases.push(Phase { name, mutating: counter.mutating(), reads: counter.total() - counter.mutating(), seconds });
    }

    println!("{services} single-port NLB Services against the in-memory cloud");
    println!(
        "{:<24} {:>9} {:>9} {:>14} {:>11} {:>9}",
        "phase", "mutating", "reads", "mutating/svc", "reads/svc", "ms/svc"
    );
    for phase in &phases {
        let per = |n: u64| n as f64 / services as f64;
        println!(
            "{:<24} {:>9} {:>9} {:>14.2} {:>11.2} {:>9.3}",
            phase.name,
            phase.mutating,
            phase.reads,
            per(phase.mutating),
            per(phase.reads),
            phase.seconds * 1000.0 / services as f64
        );
    }
    let left = inventory(&cloud);
    println!(
        "left after delete: {} load balancers, {} target groups, {} groups (the shared backend group)",
        left.load_balancers.len(),
        left.target_groups.len(),
        left.groups.len()
    );
    Ok(())
}
