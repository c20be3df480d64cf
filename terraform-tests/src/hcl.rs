//! Terraform files as JSON, read by `scripts/hcl2json` (python-hcl2, a real HCL2 parser), and the
//! few helpers its output shape needs: a string literal keeps its quotes (`"\"abc\""`), any other
//! expression is `${...}` or a bare keyword (`string`, `bool`), blocks are lists of objects, and a
//! labelled block sits under its quoted labels.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

/// One parsed `.tf` file.
#[derive(Debug, Clone)]
pub struct TfFile {
    pub path: PathBuf,
    pub json: Value,
}

/// One block: its labels (unquoted) and its body.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    pub labels: [&'a str; 2],
    pub body: &'a Map<String, Value>,
}

impl Block<'_> {
    /// `variable "x"` -> `x`; the first label of any block.
    pub fn name(&self) -> &str {
        self.labels[0]
    }
}

/// The workspace root: this crate lives one level below it.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The Terraform module.
pub fn terraform_dir() -> PathBuf {
    repo_root().join("terraform")
}

/// Every `.tf` file under `dir`, sorted; provider caches (`.terraform`) left out.
pub fn tf_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| format!("failed to list {}: {e}", current.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("failed to list {}: {e}", current.display()))?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != ".terraform") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "tf") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Parses the files in one `scripts/hcl2json --many` run (Python's start costs more than a parse).
/// The parser installs itself into the cache on first use; its errors come back as they are.
pub fn parse_files(paths: &[PathBuf]) -> Result<Vec<TfFile>, String> {
    let script = repo_root().join("scripts/hcl2json");
    let output = Command::new(&script)
        .arg("--many")
        .args(paths)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut documents: Map<String, Value> =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("hcl2json printed no JSON object: {e}"))?;
    paths
        .iter()
        .map(|path| {
            let json = documents
                .remove(path.to_string_lossy().as_ref())
                .ok_or_else(|| format!("hcl2json left out {}", path.display()))?;
            Ok(TfFile { path: path.clone(), json })
        })
        .collect()
}

/// The module's files (not its examples) and the example's, parsed.
pub struct Module {
    pub files: Vec<TfFile>,
    pub example: Vec<TfFile>,
}

impl Module {
    pub fn load() -> Result<Self, String> {
        let dir = terraform_dir();
        let all = parse_files(&tf_files(&dir)?)?;
        let (files, example): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|file| file.path.parent() == Some(dir.as_path()));
        Ok(Self { files, example })
    }

    /// Only the named module files (e.g. `iam.tf`), for checks that need no more.
    pub fn load_only(names: &[&str]) -> Result<Self, String> {
        let dir = terraform_dir();
        let files = parse_files(&names.iter().map(|name| dir.join(name)).collect::<Vec<_>>())?;
        Ok(Self { files, example: Vec::new() })
    }

    /// The module file called `name` (e.g. `versions.tf`).
    pub fn file(&self, name: &str) -> Option<&TfFile> {
        self.files.iter().find(|f| f.path.file_name().is_some_and(|n| n == name))
    }
}

/// The top-level blocks of one kind (`variable`, `resource`, `terraform`, ...). `labels` says how
/// many labels the kind has: 0 for `terraform` and `locals`, 1 for `variable`, 2 for `resource`.
pub fn blocks<'a>(file: &'a Value, kind: &str, labels: usize) -> Vec<Block<'a>> {
    let mut found = Vec::new();
    for item in file.get(kind).and_then(Value::as_array).into_iter().flatten() {
        collect_labelled(item, labels, [""; 2], 0, &mut found);
    }
    found
}

fn collect_labelled<'a>(
    value: &'a Value,
    remaining: usize,
    mut labels: [&'a str; 2],
    depth: usize,
    found: &mut Vec<Block<'a>>,
) {
    let Some(object) = value.as_object() else { return };
    if remaining == 0 {
        found.push(Block { labels, body: object });
        return;
    }
    for (label, inner) in object {
        if label.starts_with("__") {
            continue;
        }
        if let Some(slot) = labels.get_mut(depth) {
            *slot = label.trim_matches('"');
        }
        collect_labelled(inner, remaining - 1, labels, depth + 1, found);
    }
}

/// Nested blocks of a body (`validation`, `statement`, `condition`, ...).
pub fn nested<'a>(body: &'a Map<String, Value>, kind: &str) -> Vec<&'a Map<String, Value>> {
    body.get(kind).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect()
}

/// A string literal's text, unescaped; `None` for anything that is not a literal.
pub fn literal(value: &Value) -> Option<String> {
    let raw = value.as_str()?;
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    Some(unescape(inner))
}

/// An attribute as text: a literal's content, or an expression as written (`${var.x}`, `string`).
pub fn text(value: &Value) -> Option<String> {
    literal(value).or_else(|| value.as_str().map(str::to_string))
}

/// Every element of a list attribute as text.
pub fn text_list(value: &Value) -> Option<Vec<String>> {
    value.as_array()?.iter().map(text).collect()
}

/// HCL's escapes in quoted strings, as far as the module uses them.
fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_lose_their_quotes_and_escapes_expressions_stay() {
        assert_eq!(literal(&json!("\"say \\\"hi\\\"\"")).as_deref(), Some("say \"hi\""));
        assert_eq!(literal(&json!("${var.x}")), None);
        assert_eq!(text(&json!("${var.x}")).as_deref(), Some("${var.x}"));
        assert_eq!(text(&json!("\"arn:${local.a}:x\"")).as_deref(), Some("arn:${local.a}:x"));
        assert_eq!(literal(&json!(true)), None);
    }

    #[test]
    fn labelled_blocks_are_found_under_their_labels() {
        let file = json!({
            "resource": [
                {"\"aws_iam_role\"": {"\"elbow\"": {"__is_block__": true, "name": "\"r\""}}},
                {"\"aws_ec2_tag\"": {"\"discovery\"": {"__is_block__": true}}}
            ],
            "terraform": [{"__is_block__": true, "required_version": "\">= 1.5.0\""}]
        });
        let resources = blocks(&file, "resource", 2);
        assert_eq!(
            resources.iter().map(|b| b.labels).collect::<Vec<_>>(),
            [["aws_iam_role", "elbow"], ["aws_ec2_tag", "discovery"]]
        );
        let terraform = blocks(&file, "terraform", 0);
        assert_eq!(terraform.len(), 1);
        assert!(terraform[0].body.contains_key("required_version"));
    }
}
