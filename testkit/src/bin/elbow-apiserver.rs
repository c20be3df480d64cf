//! The test API server on its own, for kubectl and any other client.

use std::path::PathBuf;

use clap::Parser;
use elbow_testkit::{ServerOptions, TestServer, write_kubeconfig};

#[derive(Debug, Parser)]
#[command(name = "elbow-apiserver", about = "An in-memory Kubernetes API server for tests and demos")]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write a kubeconfig for this server.
    #[arg(long)]
    kubeconfig: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = TestServer::start_with(ServerOptions { port: args.port, ..ServerOptions::default() }).await?;
    write_kubeconfig(&args.kubeconfig, &server.url())?;
    println!("serving on {}", server.url());
    println!("ready");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    drop(server);
    Ok(())
}
