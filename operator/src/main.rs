//! `elbow`: wiring only. Parses the command line and hands over to the command's module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use elbow::exit_codes;
use elbow::gc::{self, GcArgs};
use elbow::inventory::command::{self as inventory, InventoryArgs};
use elbow::plan::{self, PlanArgs};
use elbow::run::{self, RunArgs};

#[derive(Debug, Parser)]
#[command(name = "elbow", version = elbow::version::LONG_VERSION, about = "Gives Kubernetes Services real AWS load balancers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controllers against the cluster and AWS.
    Run(Box<RunArgs>),
    /// Print the load balancers Elbow would create for some manifests (offline, read-only).
    Plan(PlanArgs),
    /// Print the cluster's network (VPC, subnets, the Nodes' instances and security groups) as the
    /// inventory file `elbow plan` reads, using read-only EC2 calls.
    Inventory(InventoryArgs),
    /// Find load balancers whose Service or Ingress is gone, and delete them with --delete.
    Gc(GcArgs),
    /// Print Elbow's CustomResourceDefinitions (or write them into a directory).
    Crds {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        write: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            let Some(runtime) = runtime() else { return ExitCode::from(exit_codes::CONFIGURATION) };
            match runtime.block_on(run::run(*args)) {
                Ok(()) => ExitCode::from(exit_codes::SUCCESS),
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(error.exit_code())
                }
            }
        }
        Command::Inventory(args) => {
            let Some(runtime) = runtime() else { return ExitCode::from(exit_codes::CONFIGURATION) };
            let dumped = runtime.block_on(inventory::run(&args, &mut std::io::stdout(), &mut std::io::stderr()));
            match dumped {
                Ok(()) => ExitCode::from(exit_codes::SUCCESS),
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(exit_codes::CONFIGURATION)
                }
            }
        }
        Command::Gc(args) => {
            let Some(runtime) = runtime() else { return ExitCode::from(exit_codes::CONFIGURATION) };
            match runtime.block_on(gc::run(&args, &mut std::io::stdout())) {
                Ok(code) => ExitCode::from(code),
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(exit_codes::CONFIGURATION)
                }
            }
        }
        Command::Crds { write } => match elbow::crds::run(write.as_deref(), &mut std::io::stdout()) {
            Ok(()) => ExitCode::from(exit_codes::SUCCESS),
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(exit_codes::CONFIGURATION)
            }
        },
        Command::Plan(args) => match plan::run(&args, &mut std::io::stdout(), &mut std::io::stderr()) {
            Ok(true) => ExitCode::from(exit_codes::SUCCESS),
            Ok(false) => ExitCode::from(exit_codes::PLAN_FOUND_ERRORS),
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(exit_codes::CONFIGURATION)
            }
        },
    }
}

/// The async runtime the commands that call AWS or the cluster need; `None` (said on standard
/// error) if it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            None
        }
    }
}
