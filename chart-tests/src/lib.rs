//! Renders the Helm chart in charts/elbow with the real helm binary and gives tests the manifests
//! as JSON values. The tests in tests/ lint it, check what it renders, check that bad values are
//! refused, and apply it to the testkit API server with the real kubectl.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use elbow_testkit::tools::helm_path;
use elbow_testkit::workspace_path;
use serde_json::Value;

/// The release name and namespace every render uses, so tests can name the objects.
pub const RELEASE: &str = "elbow";
pub const NAMESPACE: &str = "elbow-system";

pub fn chart_dir() -> PathBuf {
    workspace_path("charts/elbow")
}

/// A values file of this crate's values/ folder.
pub fn values_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("values").join(name)
}

/// Runs helm with `args`; the output whatever the outcome.
pub fn helm(args: &[&str]) -> Output {
    Command::new(helm_path())
        .args(args)
        // No repositories, plugins or registry logins of the machine's user play a part.
        .env("HELM_CONFIG_HOME", std::env::temp_dir().join("elbow-chart-tests-helm-config"))
        .env("HELM_CACHE_HOME", std::env::temp_dir().join("elbow-chart-tests-helm-cache"))
        .env("HELM_DATA_HOME", std::env::temp_dir().join("elbow-chart-tests-helm-data"))
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("helm {args:?} did not start: {e}"))
}

/// What `helm template` printed: the manifests, or helm's error message.
pub fn template(values_files: &[&Path], sets: &[&str]) -> Result<Manifests, String> {
    let chart = chart_dir();
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart.display().to_string(),
        "--namespace".into(),
        NAMESPACE.into(),
        "--include-crds".into(),
    ];
    for file in values_files {
        args.extend(["--values".into(), file.display().to_string()]);
    }
    for set in sets {
        args.extend(["--set".into(), set.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = helm(&args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Manifests::parse(&stdout)
}

/// [`template`] that must succeed.
pub fn render(values_files: &[&Path], sets: &[&str]) -> Manifests {
    template(values_files, sets).unwrap_or_else(|error| panic!("helm template failed:\n{error}"))
}

/// A rendered YAML stream, one JSON value per object, in helm's order (CRDs first).
#[derive(Debug, Clone)]
pub struct Manifests {
    pub text: String,
    pub objects: Vec<Value>,
}

impl Manifests {
    pub fn parse(text: &str) -> Result<Self, String> {
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(text).map_err(|e| format!("helm printed YAML that does not parse: {e}"))?;
        // A template that renders nothing leaves an empty document behind.
        let objects = documents.into_iter().filter(|d| !d.is_null()).collect();
        Ok(Self { text: text.to_string(), objects })
    }

    /// `(kind, name)` of every object, in order.
    pub fn kinds_and_names(&self) -> Vec<(String, String)> {
        self.objects.iter().map(|o| (text(&o["kind"]), text(&o["metadata"]["name"]))).collect()
    }

    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Value> + 'a {
        let kind = kind.to_string();
        self.objects.iter().filter(move |o| o["kind"] == kind.as_str())
    }

    pub fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.of_kind(kind).find(|o| o["metadata"]["name"] == name)
    }

    /// The object of `kind` called `name`; panics naming what was rendered instead.
    pub fn get(&self, kind: &str, name: &str) -> &Value {
        self.find(kind, name)
            .unwrap_or_else(|| panic!("no {kind} {name} among the rendered objects {:?}", self.kinds_and_names()))
    }

    /// The objects as one YAML stream, CRDs excluded or only CRDs: kubectl must see a CRD
    /// established before it can map the kinds the CRD declares.
    pub fn stream(&self, crds: bool) -> String {
        self.objects
            .iter()
            .filter(|o| (o["kind"] == "CustomResourceDefinition") == crds)
            .map(|o| format!("---\n{}", serde_json::to_string(o).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The string in `value`, or "" when it is none.
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// The operator container of a rendered Deployment.
pub fn operator_container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

/// The operator container's arguments.
pub fn operator_args(deployment: &Value) -> Vec<String> {
    operator_container(deployment)["args"].as_array().into_iter().flatten().map(text).collect()
}
