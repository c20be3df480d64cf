//! The name a candidate writes into the Lease's `holderIdentity`.

/// Characters of the random suffix: enough that two processes started under the same pod name
/// (a restarted container, a copy run by hand with the same `POD_NAME`) never share an identity.
const SUFFIX_LEN: usize = 8;

/// `<base>_<random suffix>`, where the base is the pod name when known, else the host name, else
/// `elbow`. The suffix matters: a restarted container keeps its pod name, and must not mistake the
/// lease its previous process held (and may not have released) for its own.
pub fn holder_identity(pod_name: Option<&str>) -> String {
    let base = pod_name.map(str::to_string).filter(|name| !name.trim().is_empty()).or_else(host_name);
    with_suffix(base.as_deref().unwrap_or("elbow"))
}

fn with_suffix(base: &str) -> String {
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric).take(SUFFIX_LEN).collect();
    format!("{}_{}", base.trim(), suffix.to_ascii_lowercase())
}

/// `HOSTNAME` (set in every container), else the kernel's host name.
fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_name_comes_first_and_every_process_gets_its_own_suffix() {
        let first = holder_identity(Some("elbow-7d9f-abcde"));
        let second = holder_identity(Some("elbow-7d9f-abcde"));
        assert!(first.starts_with("elbow-7d9f-abcde_"), "{first}");
        assert_eq!(first.len(), "elbow-7d9f-abcde_".len() + SUFFIX_LEN);
        assert_ne!(first, second);
    }

    #[test]
    fn without_a_pod_name_the_host_name_or_a_fixed_base_is_used() {
        let identity = holder_identity(Some("  "));
        let (base, suffix) = identity.rsplit_once('_').expect("a suffix");
        assert!(!base.is_empty() && !base.contains(char::is_whitespace), "{identity}");
        assert_eq!(suffix.len(), SUFFIX_LEN);
    }
}
