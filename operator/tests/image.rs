//! The container image as a cluster would run it: `scripts/image` packages this build's binary,
//! the test unpacks the archive the way a registry client does (index, manifest, config, layer,
//! every digest checked), and runs the entrypoint from the unpacked root file system under
//! `chroot` as the image's user, so nothing on the host can stand in for a missing file. The
//! Dockerfile is checked against the same config: one image, two ways to build it.
//!
//! The image is built from the debug binary the tests already have: packaging is the same for the
//! release binary, and CI builds one profile only.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use elbow_localstack_tests::{Network, endpoint};
use elbow_testkit::TestServer;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The archive, unpacked: its config and its root file system.
struct Image {
    archive: PathBuf,
    config: Value,
    rootfs: PathBuf,
}

/// The image of this build's binary. nextest runs each test in its own process, so the image is
/// built once per binary into the target's temporary directory, under a file lock, and reused.
fn image() -> &'static Image {
    static IMAGE: std::sync::OnceLock<Image> = std::sync::OnceLock::new();
    IMAGE.get_or_init(|| {
        let binary = std::fs::metadata(env!("CARGO_BIN_EXE_elbow")).unwrap();
        let modified = binary.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("image-{modified}-{}", binary.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = std::fs::File::create(dir.join(".lock")).unwrap();
        lock.lock().unwrap();
        if !dir.join(".complete").exists() {
            build_and_unpack(&dir);
            std::fs::write(dir.join(".complete"), b"").unwrap();
        }
        let layout = dir.join("layout");
        let manifest: Value = serde_json::from_slice(&std::fs::read(layout.join("manifest.json")).unwrap()).unwrap();
        let config =
            serde_json::from_slice(&std::fs::read(layout.join(manifest[0]["Config"].as_str().unwrap())).unwrap())
                .unwrap();
        Image { archive: dir.join("elbow.tar"), config, rootfs: dir.join("rootfs") }
    })
}

/// Writes the archive into `dir`, checks it as a registry client would, and unpacks its layer.
fn build_and_unpack(dir: &Path) {
    for stale in ["layout", "rootfs"] {
        let _ = std::fs::remove_dir_all(dir.join(stale));
    }
    let archive = dir.join("elbow.tar");
    let status = Command::new(Path::new(REPO).join("scripts/image"))
        // The fastest gzip level: the layer's content is what is tested, not its compression.
        .args(["--binary", env!("CARGO_BIN_EXE_elbow"), "--compression-level=1", "--output"])
        .arg(&archive)
        .status()
        .unwrap();
    assert!(status.success(), "scripts/image failed");

    let layout = dir.join("layout");
    untar(&archive, &layout, false);
    let read_json = |path: &Path| -> Value { serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() };
    assert_eq!(read_json(&layout.join("oci-layout")), json!({ "imageLayoutVersion": "1.0.0" }));
    let index = read_json(&layout.join("index.json"));
    let entry = &index["manifests"][0];
    assert_eq!(entry["platform"], json!({ "architecture": "amd64", "os": "linux" }));
    assert_eq!(entry["annotations"]["io.containerd.image.name"], format!("elbow:{}", env!("CARGO_PKG_VERSION")));
    let manifest: Value = serde_json::from_slice(&blob(&layout, &entry["digest"], &entry["size"])).unwrap();
    let config: Value =
        serde_json::from_slice(&blob(&layout, &manifest["config"]["digest"], &manifest["config"]["size"])).unwrap();
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
    let compressed = blob(&layout, &layer["digest"], &layer["size"]);

    // `docker load` reads manifest.json: it must name the same config and layer.
    let docker = read_json(&layout.join("manifest.json"));
    let path_of = |digest: &Value| format!("blobs/sha256/{}", digest.as_str().unwrap().trim_start_matches("sha256:"));
    assert_eq!(docker[0]["Config"], path_of(&manifest["config"]["digest"]));
    assert_eq!(docker[0]["Layers"], json!([path_of(&layer["digest"])]));

    untar(&layout.join(path_of(&layer["digest"])), &dir.join("rootfs"), true);
    let uncompressed = gunzip(&compressed);
    assert_eq!(
        config["rootfs"]["diff_ids"],
        json!([sha256(&uncompressed)]),
        "diff_id is the uncompressed layer's digest"
    );
    eprintln!(
        "image: {} bytes archive, layer {} bytes compressed, {} bytes uncompressed",
        std::fs::metadata(&archive).unwrap().len(),
        compressed.len(),
        uncompressed.len()
    );
}

/// A blob of the layout, checked against the digest and size that point at it.
fn blob(layout: &Path, digest: &Value, size: &Value) -> Vec<u8> {
    let digest = digest.as_str().unwrap();
    let bytes = std::fs::read(layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))).unwrap();
    assert_eq!(sha256(&bytes), digest, "blob content matches its digest");
    assert_eq!(Some(bytes.len() as u64), size.as_u64(), "blob {digest} has the size its descriptor says");
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip").arg("-dc").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success());
    output.stdout
}

fn untar(archive: &Path, into: &Path, gzipped: bool) {
    std::fs::create_dir_all(into).unwrap();
    let mode = if gzipped { "-xzf" } else { "-xf" };
    // --same-owner: the image's files belong to root, as a container runtime unpacks them.
    let status =
        Command::new("tar").args([mode]).arg(archive).arg("-C").arg(into).arg("--same-owner").status().unwrap();
    assert!(status.success(), "tar {mode} {}", archive.display());
}

/// Where the host's `name` is: the command's environment is the image's, whose PATH is not the
/// host's, so the program is looked up here rather than by the child.
fn host_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|directory| directory.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH; it comes with coreutils (chroot) or util-linux (unshare)"))
}

/// `program` run from the image's root file system as the image's user, with only the image's
/// environment. As root that is plain chroot; otherwise a user namespace lends the chroot right
/// (and the process then runs as the namespace's root, not as 65532).
fn in_image(image: &Image) -> Command {
    let config = &image.config["config"];
    let running_as_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut command = if running_as_root {
        let mut command = Command::new(host_program("chroot"));
        command.arg(format!("--userspec={}", config["User"].as_str().unwrap()));
        command
    } else {
        let mut command = Command::new(host_program("unshare"));
        command.args(["--user", "--map-root-user", "chroot"]);
        command
    };
    command.arg(&image.rootfs).env_clear();
    for entrypoint in config["Entrypoint"].as_array().unwrap() {
        command.arg(entrypoint.as_str().unwrap());
    }
    for variable in config["Env"].as_array().unwrap() {
        let (name, value) = variable.as_str().unwrap().split_once('=').unwrap();
        command.env(name, value);
    }
    command
}

#[test]
fn the_image_has_the_user_entrypoint_and_labels_and_nothing_but_what_elbow_loads() {
    let image = image();
    let config = &image.config["config"];
    assert_eq!(config["User"], "65532:65532", "non-root, the user the chart's securityContext names");
    assert_eq!(config["Entrypoint"], json!(["/usr/local/bin/elbow"]));
    let labels = &config["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(labels["org.opencontainers.image.revision"], elbow::version::COMMIT);
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");

    let root = &image.rootfs;
    for absent in ["bin/sh", "usr/bin", "sbin"] {
        assert!(!root.join(absent).exists(), "{absent} is in the image");
    }
    for present in ["etc/ssl/certs/ca-certificates.crt", "etc/passwd", "lib64/ld-linux-x86-64.so.2", "tmp"] {
        assert!(root.join(present).exists(), "{present} is missing from the image");
    }
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.lines().any(|line| line.starts_with("nonroot:x:65532:65532:")), "{passwd}");
    assert!(std::fs::metadata(&image.archive).unwrap().len() > 0);
}

#[test]
fn the_entrypoint_prints_version_and_commit_from_the_unpacked_root() {
    let output = in_image(image()).arg("--version").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.trim(), format!("elbow {} (commit {})", env!("CARGO_PKG_VERSION"), elbow::version::COMMIT));
    assert_ne!(elbow::version::COMMIT, "unknown", "a build from a git checkout knows its commit");
}

/// The Dockerfile's final stage, read as `(instruction, arguments)`.
fn dockerfile_final_stage() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(Path::new(REPO).join("Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let instructions: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (instruction, arguments) = line.split_once(' ').unwrap_or((line, ""));
            (instruction.to_uppercase(), arguments.trim().to_owned())
        })
        .collect();
    let last_from = instructions.iter().rposition(|(instruction, _)| instruction == "FROM").unwrap();
    instructions[last_from..].to_vec()
}

#[test]
fn the_dockerfile_builds_the_same_image() {
    let config = &image().config["config"];
    let stage = dockerfile_final_stage();
    let arguments = |name: &str| -> Vec<&str> {
        stage.iter().filter(|(instruction, _)| instruction == name).map(|(_, arguments)| arguments.as_str()).collect()
    };
    assert_eq!(arguments("FROM"), ["scratch"], "nothing but the laid-out files");
    assert_eq!(arguments("COPY"), ["--from=build /rootfs/ /"]);
    assert_eq!(arguments("USER"), [config["User"].as_str().unwrap()]);
    let exec_form = |value: &Value| serde_json::to_string(value).unwrap().replace(',', ", ");
    assert_eq!(arguments("ENTRYPOINT"), [exec_form(&config["Entrypoint"]).as_str()]);
    assert_eq!(arguments("CMD"), [exec_form(&config["Cmd"]).as_str()]);
    let env: Vec<&str> = arguments("ENV").iter().flat_map(|line| line.split_whitespace()).collect();
    let image_env: Vec<&str> = config["Env"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(env, image_env);
    assert_eq!(
        arguments("ARG")[0],
        format!("VERSION={}", env!("CARGO_PKG_VERSION")),
        "the Dockerfile's default version"
    );

    let label_keys: Vec<&str> = arguments("LABEL")
        .iter()
        .flat_map(|line| line.split_whitespace())
        .filter_map(|pair| pair.split_once('=').map(|(key, _)| key))
        .collect();
    let mut image_keys: Vec<&str> = config["Labels"].as_object().unwrap().keys().map(String::as_str).collect();
    // The build time is the engine's own to record; everything else is in both.
    image_keys.retain(|key| *key != "org.opencontainers.image.created");
    let mut label_keys_sorted = label_keys.clone();
    label_keys_sorted.sort_unstable();
    image_keys.sort_unstable();
    assert_eq!(label_keys_sorted, image_keys);

    let build = std::fs::read_to_string(Path::new(REPO).join("Dockerfile")).unwrap();
    assert!(
        build.contains("scripts/image --binary target/release/elbow --rootfs /rootfs"),
        "the build stage lays out the files with scripts/image"
    );
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `check` until it answers, for up to a minute; a timeout shows the operator's log.
async fn wait_for<T>(what: &str, log: &Path, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; the operator's log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn elbow_run_from_the_image_serves_readyz_and_gives_a_service_an_nlb() {
    let image = image();
    let network = Network::seed("image", 2).await;
    let server = TestServer::start().await.unwrap();
    let nodes: Api<Node> = Api::all(server.client.clone());
    for node in network.ready_nodes(2) {
        nodes.create(&PostParams::default(), &node).await.unwrap();
    }
    // What `helm install` puts there first: the controllers wait for their CRDs.
    let crds: Api<CustomResourceDefinition> = Api::all(server.client.clone());
    for (_, yaml) in elbow::crds::all() {
        crds.create(&PostParams::default(), &serde_saphyr::from_str(&yaml).unwrap()).await.unwrap();
    }
    // Everything the process reads must be inside the root: it sees nothing else.
    let metrics_port = free_port();
    let kubeconfig = format!("tmp/kubeconfig-{metrics_port}");
    std::fs::copy(server.kubeconfig(), image.rootfs.join(&kubeconfig)).unwrap();
    std::fs::set_permissions(image.rootfs.join(&kubeconfig), std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .unwrap();
    let log_path = std::env::temp_dir().join(format!("elbow-image-{metrics_port}.log"));
    let mut child = in_image(image)
        .arg("run")
        .arg(format!("--cluster-name={}", network.cluster))
        .arg(format!("--vpc-id={}", network.inventory.vpc_id))
        .arg(format!("--aws-endpoint={}", endpoint().expect("an endpoint to test against")))
        .arg(format!("--metrics-bind-address=127.0.0.1:{metrics_port}"))
        .args(["--region=us-east-1", "--instance=image-test"])
        .env("KUBECONFIG", format!("/{kubeconfig}"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();

    wait_for("/readyz to answer 200", &log_path, async || {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", metrics_port)).await.ok()?;
        let request = b"GET /readyz HTTP/1.1\r\nHost: elbow\r\nConnection: close\r\n\r\n";
        tokio::io::AsyncWriteExt::write_all(&mut stream, request).await.ok()?;
        let mut response = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut response).await.ok()?;
        response.starts_with("HTTP/1.1 200").then_some(())
    })
    .await;

    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "type": "LoadBalancer", "selector": { "app": "web" }, "ports": [{ "port": 80, "targetPort": 8080 }] },
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap();
    let hostname = wait_for("the NLB's name in the Service's status", &log_path, async || {
        let service = services.get("web").await.ok()?;
        let ingress = service.status?.load_balancer?.ingress?;
        ingress.first()?.hostname.clone()
    })
    .await;
    assert!(hostname.contains(".elb."), "an ELB DNS name: {hostname}");

    services.delete("web", &DeleteParams::default()).await.unwrap();
    wait_for("the Service to go once its NLB is deleted", &log_path, async || {
        services.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains("start-up check"), "the VPC, subnets and permissions all check out: {log}");
    let _ = std::fs::remove_file(&log_path);
    let _ = std::fs::remove_file(image.rootfs.join(&kubeconfig));
}
