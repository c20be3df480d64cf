//! Real kubectl and helm for tests: installed once per machine by scripts/install-kube-tools into
//! the cache folder, located once per test process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = crate::workspace_path("scripts/install-kube-tools");
        let output = Command::new(&script).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(output.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
    })
}

pub fn kubectl_path() -> PathBuf {
    bin_dir().join("kubectl")
}

pub fn helm_path() -> PathBuf {
    bin_dir().join("helm")
}

/// Runs kubectl against `kubeconfig` with `args`.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(kubectl_path())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("kubectl did not run: {e}"))
}
