//! Which form a request's Accept header asks for. kubectl sends
//! `application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`:
//! media types in order of preference, each either the plain object or a transformation (`as=`)
//! into a kind of the `meta.k8s.io` group. The server answers with the first it can produce; here
//! that is JSON, as the object or as a Table. Other transformations (`PartialObjectMetadata`) and
//! encodings (protobuf, YAML) are passed over; when nothing is left, the plain JSON object is sent.

/// A version of `meta.k8s.io` that serves Tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TableVersion {
    V1,
    V1Beta1,
}

impl TableVersion {
    pub(super) fn api_version(self) -> &'static str {
        match self {
            Self::V1 => "meta.k8s.io/v1",
            Self::V1Beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// The Table version the first producible media type of `accept` names; `None` for the object.
pub(super) fn table_version(accept: &str) -> Option<TableVersion> {
    for media_type in accept.split(',') {
        let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        // `application/json;stream=watch` is how watch clients ask for JSON.
        if !matches!(essence.as_str(), "application/json" | "application/*" | "*/*") {
            continue;
        }
        let parameter = |name: &str| {
            media_type
                .split(';')
                .skip(1)
                .filter_map(|p| p.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                .map(|(_, value)| value.trim())
        };
        match (parameter("as"), parameter("g"), parameter("v")) {
            (None, _, _) => return None,
            (Some("Table"), Some("meta.k8s.io"), Some("v1")) => return Some(TableVersion::V1),
            (Some("Table"), Some("meta.k8s.io"), Some("v1beta1")) => return Some(TableVersion::V1Beta1),
            _ => continue,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_asks_for_a_v1_table() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(table_version(kubectl), Some(TableVersion::V1));
    }

    #[test]
    fn the_first_producible_media_type_wins() {
        assert_eq!(table_version("application/json;g=meta.k8s.io;v=v1beta1;as=Table"), Some(TableVersion::V1Beta1));
        assert_eq!(table_version("application/json, application/json;as=Table;v=v1;g=meta.k8s.io"), None);
        // Protobuf and unknown transformations are passed over.
        assert_eq!(
            table_version(
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1;g=meta.k8s.io"
            ),
            Some(TableVersion::V1)
        );
        assert_eq!(
            table_version(
                "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1;g=meta.k8s.io"
            ),
            Some(TableVersion::V1)
        );
        assert_eq!(table_version("application/json;as=Table;v=v2;g=meta.k8s.io"), None);
        assert_eq!(table_version("application/json;as=Table;v=v1;g=example.com"), None);
    }

    #[test]
    fn plain_clients_get_the_object() {
        for accept in ["", "application/json", "*/*", "application/json, */*", "application/json;stream=watch"] {
            assert_eq!(table_version(accept), None, "{accept:?}");
        }
    }

    #[test]
    fn a_watch_can_ask_for_a_table() {
        assert_eq!(table_version("application/json;stream=watch;as=Table;g=meta.k8s.io;v=v1"), Some(TableVersion::V1));
    }
}
