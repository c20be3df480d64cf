//! The IngressClassParams fields that reach past one setting of the group: listener attributes by
//! protocol and port, the SSL redirect port, prefix lists, and the fields Elbow refuses rather
//! than drops. (Scheme, subnets, tags and the like are read where their annotation is.) Each
//! value here overrides its annotation, as in the AWS Load Balancer Controller.

use std::collections::BTreeMap;

use crate::crd::IngressClassParamsSpec;
use crate::error::BuildError;
use crate::security::is_prefix_list_id;
use elbow_model::stack::Attributes;

/// Refuses the fields Elbow does not implement: applying a class whose address pool silently
/// goes unused would be worse than an error saying so.
pub(crate) fn refuse_unsupported(params: Option<&IngressClassParamsSpec>) -> Result<(), BuildError> {
    let Some(params) = params else { return Ok(()) };
    if params.ipam_configuration.is_some() {
        return Err(BuildError::ParameterNotSupported {
            field: "ipamConfiguration".into(),
            feature: "addresses from an IPAM pool".into(),
        });
    }
    Ok(())
}

/// `prefixListsIDs`, or its older spelling `PrefixListsIDs` (one of the two at most), sorted and
/// without repeats like the annotation's list. `None`: neither is set, and the annotation counts.
pub(crate) fn prefix_lists(params: Option<&IngressClassParamsSpec>) -> Result<Option<Vec<String>>, BuildError> {
    let Some(params) = params else { return Ok(None) };
    let (field, ids) = match (&params.prefix_lists_ids, &params.prefix_lists_ids_legacy) {
        (Some(_), Some(_)) => {
            return Err(BuildError::InvalidParameter {
                field: "prefixListsIDs".into(),
                value: "both prefixListsIDs and PrefixListsIDs".into(),
                expected: "one of the two spellings, not both".into(),
            });
        }
        (Some(ids), None) => ("prefixListsIDs", ids),
        (None, Some(ids)) => ("PrefixListsIDs", ids),
        (None, None) => return Ok(None),
    };
    // An empty list is unset, as in the AWS Load Balancer Controller.
    if ids.is_empty() {
        return Ok(None);
    }
    if let Some(bad) = ids.iter().find(|id| !is_prefix_list_id(id)) {
        return Err(BuildError::InvalidParameter {
            field: field.into(),
            value: bad.clone(),
            expected: "managed prefix list ids like pl-0123456789abcdef0".into(),
        });
    }
    let mut ids = ids.clone();
    ids.sort();
    ids.dedup();
    Ok(Some(ids))
}

/// `listeners`, as attributes by `<PROTOCOL>-<port>` (the name the annotations use).
pub(crate) fn listener_attributes(
    params: Option<&IngressClassParamsSpec>,
) -> Result<BTreeMap<String, Attributes>, BuildError> {
    let mut by_listener = BTreeMap::new();
    for listener in params.and_then(|p| p.listeners.as_ref()).into_iter().flatten() {
        let invalid = |expected: &str| BuildError::InvalidParameter {
            field: "listeners".into(),
            value: format!("{{protocol: {}, port: {}}}", listener.protocol, listener.port),
            expected: expected.into(),
        };
        if !matches!(listener.protocol.as_str(), "HTTP" | "HTTPS") {
            return Err(invalid("protocol HTTP or HTTPS"));
        }
        if !(1..=65535).contains(&listener.port) {
            return Err(invalid("a port within 1 to 65535"));
        }
        let name = format!("{}-{}", listener.protocol, listener.port);
        let attributes: Attributes =
            listener.listener_attributes.iter().map(|kv| (kv.key.clone(), kv.value.clone())).collect();
        if by_listener.insert(name, attributes).is_some() {
            return Err(invalid("each protocol and port listed once"));
        }
    }
    Ok(by_listener)
}

/// `sslRedirectPort`: `None` when unset (or empty), so the annotation counts.
pub(crate) fn ssl_redirect_port(params: Option<&IngressClassParamsSpec>) -> Result<Option<u16>, BuildError> {
    let Some(raw) = params.and_then(|p| p.ssl_redirect_port.as_deref()).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    // The AWS Load Balancer Controller drops the redirect on a value it cannot read; an error
    // keeps the HTTP listeners from serving plain traffic by surprise.
    match raw.parse::<u16>() {
        Ok(port) if port > 0 => Ok(Some(port)),
        _ => Err(BuildError::InvalidParameter {
            field: "sslRedirectPort".into(),
            value: raw.into(),
            expected: "an HTTPS listen port, 1 to 65535, as a string".into(),
        }),
    }
}
