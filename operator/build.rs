//! Puts the source commit into the binary as `ELBOW_COMMIT`, so `elbow --version` and the
//! metrics' build info name exactly what is running.
//!
//! The commit comes from the `ELBOW_COMMIT` environment variable when it is set (image builds from
//! a tree without `.git`, such as a Docker build context, pass it in), else from `git rev-parse`,
//! else it is `unknown`. Uncommitted changes are not marked: the script reruns when HEAD moves,
//! not on every edit, so a mark could not be kept true.
//!
//! Only release builds (what `scripts/image` and the Dockerfile ship) rerun when HEAD moves. A
//! new commit changes this crate's environment, which rebuilds the crate and everything that
//! depends on it (the playground and every test crate), minutes on a small machine after each
//! commit. A debug build reads the commit again only when this crate's sources change, which
//! rebuilds those anyway.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ELBOW_COMMIT");
    let commit = match std::env::var("ELBOW_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => commit_from_git().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=ELBOW_COMMIT={commit}");
}

fn commit_from_git() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        println!("cargo:rerun-if-changed=src");
        return Some(commit);
    }
    // Rebuild when HEAD moves: HEAD itself (checkouts), the branch it names (commits) and
    // packed-refs (refs packed by gc). Paths come from git, so worktrees work too.
    for path in ["HEAD", "packed-refs"] {
        watch(git(&["rev-parse", "--git-path", path]));
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(git(&["rev-parse", "--git-path", &branch]));
    }
    Some(commit)
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

fn watch(path: Option<String>) {
    if let Some(path) = path {
        let path = PathBuf::from(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
