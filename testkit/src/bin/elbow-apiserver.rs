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
    /// Node ports for NodePort and LoadBalancer Services, as kube-apiserver's flag (`FIRST-LAST`).
    #[arg(long, default_value = "30000-32767", value_parser = parse_range)]
    service_node_port_range: std::ops::RangeInclusive<u16>,
    /// Where a Service's port leads for admission webhooks configured with that Service, as
    /// `NAMESPACE/NAME:PORT=ADDRESS` (e.g. `elbow-system/elbow-webhook:443=127.0.0.1:9443`);
    /// repeatable. See docs/testkit.md.
    #[arg(long = "route-service", value_parser = parse_route)]
    routes: Vec<(String, String, u16, std::net::SocketAddr)>,
}

fn parse_route(text: &str) -> Result<(String, String, u16, std::net::SocketAddr), String> {
    let form = "expected NAMESPACE/NAME:PORT=ADDRESS, e.g. elbow-system/elbow-webhook:443=127.0.0.1:9443";
    let (service, address) = text.split_once('=').ok_or(form)?;
    let (service, port) = service.rsplit_once(':').ok_or(form)?;
    let (namespace, name) = service.split_once('/').ok_or(form)?;
    let port = port.parse().map_err(|e| format!("{port}: {e}"))?;
    let address = address.parse().map_err(|e| format!("{address}: {e}"))?;
    Ok((namespace.to_string(), name.to_string(), port, address))
}

fn parse_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (first, last) = text.split_once('-').ok_or("expected FIRST-LAST, e.g. 30000-32767")?;
    let first: u16 = first.trim().parse().map_err(|e| format!("{first}: {e}"))?;
    let last: u16 = last.trim().parse().map_err(|e| format!("{last}: {e}"))?;
    if first > last {
        return Err(format!("{first} is above {last}"));
    }
    Ok(first..=last)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options =
        ServerOptions { port: args.port, node_port_range: args.service_node_port_range, ..ServerOptions::default() };
    let server = TestServer::start_with(options).await?;
    for (namespace, name, port, address) in &args.routes {
        server.route_service(namespace, name, *port, *address);
    }
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
