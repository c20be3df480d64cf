//! The testkit API server as a process of its own (the `elbow-apiserver` binary), so that its
//! memory is never counted as the operator's and its CPU is scheduled like a real API server's.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// Overrides where the server binary is found (otherwise it is built next to this benchmark).
const BINARY_ENV: &str = "ELBOW_APISERVER_BIN";

pub struct ApiServer {
    process: Child,
    url: String,
    // Kept so the file outlives the server that wrote it.
    _kubeconfig: tempfile::NamedTempFile,
}

impl ApiServer {
    /// Starts a fresh, empty server on a free loopback port and waits for its `ready` line.
    pub fn start() -> Self {
        let kubeconfig = tempfile::NamedTempFile::new().expect("a temporary kubeconfig");
        static BINARY: OnceLock<PathBuf> = OnceLock::new();
        let binary = BINARY.get_or_init(binary);
        let mut process = Command::new(binary)
            .args(["--port", "0", "--kubeconfig"])
            .arg(kubeconfig.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let mut lines = BufReader::new(process.stdout.take().expect("piped stdout")).lines();
        let mut url = None;
        for line in lines.by_ref() {
            let line = line.expect("the server's output");
            if let Some(served) = line.strip_prefix("serving on ") {
                url = Some(served.to_string());
            }
            if line == "ready" {
                break;
            }
        }
        // Whatever the server prints later must not meet a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let url = url.expect("the server printed no `serving on URL` line before exiting");
        Self { process, url, _kubeconfig: kubeconfig }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> kube::Client {
        client(&self.url)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub fn client(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().expect("the server's URL"));
    kube::Client::try_from(config).expect("a client for the test server")
}

/// The `elbow-apiserver` binary: built in release next to this benchmark (cargo puts a bench binary
/// in `<target>/release/deps`), unless `ELBOW_APISERVER_BIN` names one.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os(BINARY_ENV) {
        return PathBuf::from(path);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("Cargo.toml");
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "elbow-testkit", "--bin", "elbow-apiserver", "--manifest-path"])
        .arg(&manifest)
        .status()
        .expect("running cargo to build elbow-apiserver");
    assert!(status.success(), "building elbow-apiserver failed; set {BINARY_ENV} to a built binary instead");
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let release = exe.parent().and_then(Path::parent).expect("the benchmark lives in <target>/release/deps");
    release.join("elbow-apiserver")
}
