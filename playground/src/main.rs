//! `elbow-playground`: Elbow on this machine, nothing to install. An in-memory Kubernetes API
//! server, an emulated AWS (Elbow's in-memory fake, or `--aws-endpoint` for moto, LocalStack or
//! AWS) seeded with a VPC, subnets in three zones and three nodes, the cluster's workload
//! controllers (pods that run, EndpointSlices), and the real Elbow controllers.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use elbow_playground::{Aws, Sandbox, SandboxOptions};

#[derive(Debug, Parser)]
#[command(name = "elbow-playground", about = "Elbow with an in-memory Kubernetes API server and an emulated AWS")]
struct Args {
    /// Where to write the kubeconfig for kubectl.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("elbow-playground.kubeconfig"))]
    kubeconfig: PathBuf,
    /// The API server's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// An AWS-compatible endpoint (moto, LocalStack) to use instead of the in-memory fake.
    #[arg(long)]
    aws_endpoint: Option<String>,
    /// The cluster name Elbow tags its resources with.
    #[arg(long, default_value = "playground")]
    cluster_name: String,
    /// How many nodes (instances) to seed.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    elbow::run::init_logging(elbow::run::LogFormat::Text);
    let aws = args.aws_endpoint.clone().map_or(Aws::Fake, Aws::Endpoint);
    let options = SandboxOptions {
        port: args.port,
        nodes: args.nodes,
        webhook: true,
        ..SandboxOptions::new(&args.cluster_name, aws.clone())
    };
    let sandbox = Sandbox::start(options).await?;
    elbow_testkit::write_kubeconfig(&args.kubeconfig, &sandbox.server.url())
        .with_context(|| format!("writing {}", args.kubeconfig.display()))?;

    let cloud = args.aws_endpoint.as_deref().unwrap_or("in-memory fake");
    let environment = &sandbox.environment;
    println!("Elbow playground (cluster {})", environment.cluster);
    println!("  API server  {} (in memory)", sandbox.server.url());
    println!("  AWS         {cloud}: {}, subnets in 3 zones", environment.vpc_id());
    for node in &environment.nodes {
        println!("  node        {} -> {}", node.name, node.provider_id());
    }
    if let Some(address) = sandbox.webhook_address() {
        println!("  webhook     https://{address} (class-less LoadBalancer Services get Elbow's class)");
    }
    println!("  kubeconfig  {}", args.kubeconfig.display());
    println!();
    println!("Try:");
    println!("  export KUBECONFIG={}", args.kubeconfig.display());
    println!("  kubectl create deployment web --image=nginx --port=8080");
    println!("  kubectl expose deployment web --type=LoadBalancer --port=80 --target-port=8080");
    println!("  kubectl get service web --watch");
    println!("  kubectl get pods,endpointslices -o wide");
    println!("Ctrl-C stops everything.");
    println!("ready");

    elbow::run::shutdown_signal().await;
    sandbox.stop().await;
    let _ = std::fs::remove_file(&args.kubeconfig);
    Ok(())
}
