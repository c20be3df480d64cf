//! Real kubectl and helm for tests: installed once per machine by scripts/install-kube-tools into
//! the cache folder, located once per test process, and a kubectl runner bound to one server.
//!
//! These are test helpers: when the tools cannot be installed or run, they panic with what went
//! wrong, which is the useful outcome in a test.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one kubectl command may take before the test gives up on it.
const KUBECTL_DEADLINE: Duration = Duration::from_secs(60);

fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = crate::workspace_path("scripts/install-kube-tools");
        let output = Command::new(&script).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let dir = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        assert!(
            dir.join("kubectl").is_file() && dir.join("helm").is_file(),
            "{} named {:?} as its bin folder, which holds no kubectl and helm",
            script.display(),
            dir
        );
        dir
    })
}

/// The installed kubectl v1.35 (installing it on first use).
pub fn kubectl_path() -> PathBuf {
    bin_dir().join("kubectl")
}

/// The installed helm v4 (installing it on first use).
pub fn helm_path() -> PathBuf {
    bin_dir().join("helm")
}

/// Runs kubectl against `kubeconfig` with `args` (subcommand first), as [`Kubectl::run`] does.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    let run = Kubectl::new(kubeconfig).run(args);
    Output { status: run.status, stdout: run.stdout.into_bytes(), stderr: run.stderr.into_bytes() }
}

/// What one kubectl command did.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// A test API server on a runtime of its own, with kubectl pointed at it: for synchronous tests
/// that shell out to kubectl (it blocks; the runtime's threads keep serving meanwhile).
pub struct KubectlServer {
    pub kubectl: Kubectl,
    /// Declared before the runtime so the server stops before its runtime goes.
    pub server: crate::TestServer,
    /// For the test's own async work against the server (a `kube::Client` beside kubectl).
    pub runtime: tokio::runtime::Runtime,
}

impl KubectlServer {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("failed to start a runtime for the test server: {e}"));
        let server = runtime
            .block_on(crate::TestServer::start())
            .unwrap_or_else(|e| panic!("failed to start the test server: {e}"));
        KubectlServer { kubectl: Kubectl::new(server.kubeconfig()), server, runtime }
    }
}

/// kubectl bound to one server through its kubeconfig, with a discovery cache of its own: servers
/// of different tests may reuse a port and serve different CRDs, so a shared cache would lie.
pub struct Kubectl {
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
}

impl Kubectl {
    pub fn new(kubeconfig: &Path) -> Self {
        let cache = tempfile::Builder::new()
            .prefix("elbow-kubectl-cache-")
            .tempdir()
            .unwrap_or_else(|e| panic!("failed to create a kubectl cache folder: {e}"));
        Self { kubeconfig: kubeconfig.to_path_buf(), cache }
    }

    /// The command for `args` (subcommand first), as a person would type it: `apply`, `create` and
    /// `replace` keep kubectl's default `--validate=strict`, which the server's OpenAPI documents
    /// answer. For tests that need the process itself (`get -w`, stdin of their own).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(kubectl_path());
        command
            .args(self.arguments(args))
            // No preferences file of the machine's user changes what the test sees.
            .env("KUBECTL_KUBERC", "false")
            .env_remove("KUBECONFIG");
        command
    }

    fn arguments(&self, args: &[&str]) -> Vec<OsString> {
        let mut arguments: Vec<OsString> =
            vec!["--kubeconfig".into(), self.kubeconfig.clone().into(), "--cache-dir".into(), self.cache.path().into()];
        arguments.extend(args.iter().map(OsString::from));
        arguments
    }

    /// Runs `args` (subcommand first) and returns what kubectl did, success or not.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_input(args, "")
    }

    /// Runs `args` with `input` on kubectl's stdin (for `-f -`).
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("kubectl {args:?} did not start: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.as_bytes())
                .unwrap_or_else(|e| panic!("failed to write kubectl {args:?}'s input: {e}"));
        }
        wait_with_deadline(child, args, KUBECTL_DEADLINE)
    }

    /// Runs `args` and returns stdout; panics with kubectl's output when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(run.success(), "kubectl {args:?} failed ({}):\n{}\n{}", run.status, run.stdout, run.stderr);
        run.stdout
    }

    /// `kubectl apply -f -` of `manifest`; panics with kubectl's output when it fails.
    pub fn apply(&self, manifest: &str) -> String {
        let run = self.run_with_input(&["apply", "-f", "-"], manifest);
        assert!(
            run.success(),
            "kubectl apply failed ({}):\n{}\n{}\nmanifest:\n{manifest}",
            run.status,
            run.stdout,
            run.stderr
        );
        run.stdout
    }
}

/// Waits for `child`, reading its output as it comes so a full pipe cannot stall it; kills it and
/// panics after `deadline`.
fn wait_with_deadline(mut child: Child, args: &[&str], deadline: Duration) -> Run {
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let (out, err) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
                panic!("kubectl {args:?} did not finish within {deadline:?}:\n{out}\n{err}");
            }
            Err(e) => panic!("failed to wait for kubectl {args:?}: {e}"),
        }
    };
    Run { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_add_the_kubeconfig_and_cache_and_leave_validation_as_it_is() {
        let kubeconfig = Path::new("/nonexistent/kubeconfig");
        let kubectl = Kubectl { kubeconfig: kubeconfig.into(), cache: tempfile::tempdir().unwrap() };
        let args_of = |args: &[&str]| -> Vec<String> {
            kubectl.arguments(args).iter().map(|a| a.to_string_lossy().into_owned()).collect()
        };
        let cache = kubectl.cache.path().to_string_lossy().into_owned();
        assert_eq!(
            args_of(&["apply", "-f", "-"]),
            ["--kubeconfig", "/nonexistent/kubeconfig", "--cache-dir", &cache, "apply", "-f", "-"]
        );
        let create = args_of(&["create", "deployment", "web", "--image=nginx"]);
        assert!(!create.iter().any(|a| a.starts_with("--validate")), "{create:?}");
    }
}
