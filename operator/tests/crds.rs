//! The CRD YAML in `crds/` is what the Rust types generate; regenerate with
//! `cargo run -p elbow -- crds --write crds/` when this fails.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

#[test]
fn committed_crds_match_the_rust_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crds");
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    committed.sort();
    let generated = elbow::crds::all();
    let mut names: Vec<String> = generated.iter().map(|(name, _)| name.to_string()).collect();
    names.sort();
    assert_eq!(committed, names, "crds/ holds exactly one file per CRD");
    for (name, text) in generated {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(on_disk == text, "crds/{name} is stale: run `cargo run -p elbow -- crds --write crds/`");
    }
}
