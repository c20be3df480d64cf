//! docs/annotations.md, generated from the catalogue; a test fails when the file differs.

use super::catalogue::{AnnotationInfo, INGRESS_ANNOTATIONS, NOT_IMPLEMENTED, SERVICE_ANNOTATIONS, lbc_default};
use super::{INGRESS_PREFIX, SERVICE_PREFIX};

/// The Markdown reference of the annotations: docs/annotations.md is this text.
pub fn annotations_markdown() -> String {
    let mut out = String::from(
        "# Annotations\n\n\
         Elbow reads the AWS Load Balancer Controller's (LBC) Service and Ingress annotations with the same names \
         and meanings, so manifests written for it keep working. A bad value is reported on the object (a Warning \
         event, and on Services the `elbow.dev/LoadBalancerReady` condition) and changes nothing in the cloud.\n\n\
         Nothing under LBC's prefixes is ignored silently. A key that neither Elbow nor LBC reads is an error \
         naming it (with \"did you mean ...?\" when one known key is close), an LBC key Elbow does not implement \
         is an error saying so (the list is at the end), and so is a key on an object it is not read from. The \
         prefixes are `service.beta.kubernetes.io/aws-load-balancer-` (and `service.kubernetes.io/aws-load-balancer-`, \
         which LBC does not read either: the error names the `service.beta.kubernetes.io/` key) and \
         `alb.ingress.kubernetes.io/`. The `alb.ingress.kubernetes.io/` keys LBC also reads from backend Services \
         (read from \"Ingress, backend Service\" below) may sit on any Service, a Service of type LoadBalancer \
         included: its own network load balancer leaves them to the Ingresses that use it.\n\n\
         Defaults are LBC's, the scheme included (`internal`, for Services and Ingresses alike, unless \
         `--default-scheme` says otherwise, as LBC's `--default-load-balancer-scheme`): the \"default\" column \
         says \"as LBC\" where they agree and what LBC does where they do not. One difference has no \
         annotation of its own: a Service without a scheme annotation gets the default scheme even when an \
         earlier load balancer had the other one (LBC keeps the scheme of the load balancer it finds).\n\n\
         This page is generated from the catalogue in `engine/builder/src/annotations/catalogue.rs`; a test fails \
         when they differ.\n\n\
         ## Services\n\n",
    );
    table(&mut out, SERVICE_PREFIX, SERVICE_ANNOTATIONS, false);
    out.push_str(
        "\n## Ingresses\n\n\
         An Ingress group shares one application load balancer; group-wide settings must agree across its members, \
         and a value in the IngressClass's IngressClassParams overrides the annotation. Keys read from \"Ingress, \
         backend Service\" are read from the Ingress and from the Service its target group is made for; the \
         Service's value wins.\n\n",
    );
    table(&mut out, INGRESS_PREFIX, INGRESS_ANNOTATIONS, true);
    out.push_str(
        "\n## Not supported\n\n\
         These are LBC's; Elbow refuses an object that carries one, naming the key, and changes nothing in the \
         cloud for it. `<...>` stands for any text.\n\n\
         | annotation | read from | what LBC does with it |\n| --- | --- | --- |\n",
    );
    for info in NOT_IMPLEMENTED {
        let (prefix, scope) = (info.scope.prefix(), info.scope.as_str());
        out.push_str(&format!("| `{prefix}{}` | {scope} | {} |\n", info.suffix, info.feature));
    }
    out
}

fn table(out: &mut String, prefix: &str, table: &[AnnotationInfo], with_scope: bool) {
    out.push_str(&format!("Prefix: `{prefix}`\n\n"));
    if with_scope {
        out.push_str("| annotation | read from | shapes | default | meaning |\n| --- | --- | --- | --- | --- |\n");
    } else {
        out.push_str("| annotation | shapes | default | meaning |\n| --- | --- | --- | --- |\n");
    }
    for info in table {
        let default = match lbc_default(info) {
            None => format!("{} (as LBC)", info.default),
            Some(lbc) => format!("{}; unlike LBC: {lbc}", info.default),
        };
        let scope = if with_scope { format!(" {} |", info.scope.as_str()) } else { String::new() };
        out.push_str(&format!(
            "| `{}` |{scope} {} | {} | {} |\n",
            info.suffix,
            info.reader.as_str(),
            default,
            info.doc
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_are_generated_from_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/annotations.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        if on_disk != annotations_markdown() {
            // Regenerate with: ELBOW_WRITE_DOCS=1 cargo test -p elbow-builder
            if std::env::var_os("ELBOW_WRITE_DOCS").is_some() {
                std::fs::write(path, annotations_markdown()).expect("docs/annotations.md is writable");
            } else {
                panic!(
                    "docs/annotations.md is stale; regenerate it with ELBOW_WRITE_DOCS=1 cargo test -p elbow-builder"
                );
            }
        }
    }
}
