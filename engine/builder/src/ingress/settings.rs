//! The settings that belong to the group's one load balancer: scheme, address type, name,
//! subnets, security groups, tags and attributes. Every member may set them; members that do must
//! agree, and the IngressClassParams value, when set, overrides the annotations (which are then
//! not read at all, as in the AWS Load Balancer Controller).

use std::collections::BTreeMap;

use crate::annotations::split_list;
use crate::config::BuildConfig;
use crate::crd::{IngressClassParamsSpec, KeyValue};
use crate::error::BuildError;
use crate::ingress::group::Member;
use crate::names::is_valid_elb_name;
use crate::subnets;
use elbow_model::inventory::CloudInventory;
use elbow_model::stack::{Attributes, IpAddressType, Scheme};

pub(crate) struct GroupSettings {
    pub scheme: Scheme,
    pub ip_address_type: IpAddressType,
    /// The `load-balancer-name` annotation, checked.
    pub name: Option<String>,
    /// Attached instead of the managed frontend group: ids (`sg-...`) or names, as written.
    pub security_groups: Option<Vec<String>>,
    pub manage_backend_rules: bool,
    pub attributes: Attributes,
    /// `minimum-load-balancer-capacity`: the capacity units to reserve; members must agree.
    pub capacity_units: Option<u32>,
}

impl GroupSettings {
    pub fn read(
        members: &[Member<'_>],
        params: Option<&IngressClassParamsSpec>,
        config: &BuildConfig,
    ) -> Result<Self, BuildError> {
        let scheme = match params.and_then(|p| p.scheme) {
            Some(scheme) => scheme,
            None => agreed(members, "scheme", |m| {
                m.annotations().parse("scheme", "internal or internet-facing", |v| match v {
                    "internal" => Some(Scheme::Internal),
                    "internet-facing" => Some(Scheme::InternetFacing),
                    _ => None,
                })
            })?
            .unwrap_or(config.default_scheme),
        };
        let ip_address_type = match params.and_then(|p| p.ip_address_type) {
            Some(kind) => kind,
            None => agreed(members, "ip-address-type", |m| {
                m.annotations().parse("ip-address-type", "ipv4 or dualstack", |v| match v {
                    "ipv4" => Some(IpAddressType::Ipv4),
                    "dualstack" => Some(IpAddressType::Dualstack),
                    _ => None,
                })
            })?
            .unwrap_or(IpAddressType::Ipv4),
        };
        let name = match params.and_then(|p| p.load_balancer_name.clone()).filter(|n| !n.is_empty()) {
            Some(name) if !is_valid_elb_name(&name) => {
                return Err(BuildError::InvalidParameter {
                    field: "loadBalancerName".into(),
                    value: name,
                    expected: "at most 32 letters, digits and -, neither starting nor ending with - nor starting with internal-".into(),
                });
            }
            Some(name) => Some(name),
            None => agreed(members, "load-balancer-name", |m| {
                let name = m.annotations().get("load-balancer-name").map(str::to_string);
                match name {
                    Some(name) if !is_valid_elb_name(&name) => Err(BuildError::InvalidName(name)),
                    other => Ok(other),
                }
            })?,
        };
        // Compared as sets: the order of entries in an annotation means nothing. Ids or names,
        // resolved against the inventory when the stack is built.
        let security_groups = agreed(members, "security-groups", |m| {
            m.annotations().parse(
                "security-groups",
                "comma-separated security group ids (sg-...) or names (their Name tag)",
                |v| {
                    let mut entries = split_list(v);
                    entries.sort();
                    entries.dedup();
                    (!entries.is_empty()).then_some(entries)
                },
            )
        })?;
        let manage_backend_rules = agreed(members, "manage-backend-security-group-rules", |m| {
            m.annotations().bool("manage-backend-security-group-rules")
        })?
        .unwrap_or(security_groups.is_none());
        let mut attributes = merged_pairs_except(members, "load-balancer-attributes", &BTreeMap::new())?;
        if let Some(overrides) = params.and_then(|p| p.load_balancer_attributes.as_ref()) {
            attributes.extend(pairs(overrides));
        }
        let capacity_units = match params.and_then(|p| p.minimum_load_balancer_capacity.as_ref()) {
            // The class's reservation wins, as in LBC; 0 asks for none.
            Some(capacity) => {
                Some(u32::try_from(capacity.capacity_units).map_err(|_| BuildError::InvalidParameter {
                    field: "minimumLoadBalancerCapacity.capacityUnits".into(),
                    value: capacity.capacity_units.to_string(),
                    expected: "a number of capacity units, 0 for no reservation".into(),
                })?)
            }
            None => agreed(members, "minimum-load-balancer-capacity", |m| {
                let units = m.annotations().capacity_units("minimum-load-balancer-capacity")?;
                Ok(units.map(|units| CapacityUnits(units.unwrap_or(0))))
            })?
            .map(|units| units.0),
        }
        .filter(|units| *units > 0);
        Ok(Self { scheme, ip_address_type, name, security_groups, manage_backend_rules, attributes, capacity_units })
    }
}

/// The group's subnets: IngressClassParams (ids or tags), else the members' `subnets` annotation
/// (which they must agree on), else the ones tagged for the scheme. An application load balancer
/// needs two zones at least.
pub(crate) fn group_subnets(
    members: &[Member<'_>],
    params: Option<&IngressClassParamsSpec>,
    scheme: Scheme,
    inventory: &CloudInventory,
    config: &BuildConfig,
) -> Result<Vec<String>, BuildError> {
    let chosen = match params.and_then(|p| p.subnets.as_ref()) {
        Some(selector) => match (&selector.ids, &selector.tags) {
            (Some(ids), None) if !ids.is_empty() => subnets::resolve(ids, inventory)?,
            (None, Some(tags)) if !tags.is_empty() => subnets::select_by_tags(tags, inventory)?,
            _ => {
                return Err(BuildError::InvalidParameter {
                    field: "subnets".into(),
                    value: format!("{selector:?}"),
                    expected: "exactly one of ids and tags, not empty".into(),
                });
            }
        },
        None => {
            let named = agreed(members, "subnets", |m| {
                Ok(m.annotations().list("subnets").map(|mut ids| {
                    ids.sort();
                    ids
                }))
            })?;
            match named {
                Some(named) => subnets::resolve(&named, inventory)?,
                None => subnets::discover(inventory, &config.cluster_name, scheme)?,
            }
        }
    };
    if chosen.len() < 2 {
        return Err(BuildError::TooFewSubnets { found: chosen.len() });
    }
    Ok(chosen)
}

/// The value the members that set it agree on; a member's bad value is an error naming it, and
/// two different values are a conflict naming both members.
pub(crate) fn agreed<T: PartialEq + Shown>(
    members: &[Member<'_>],
    setting: &str,
    read: impl Fn(&Member<'_>) -> Result<Option<T>, BuildError>,
) -> Result<Option<T>, BuildError> {
    let mut values = Vec::new();
    for member in members {
        if let Some(value) = read(member).map_err(|e| member.blame(e))? {
            values.push((member, value));
        }
    }
    agree(setting, values)
}

/// The one value of `values`, or a conflict naming the first member that differs from the first.
pub(crate) fn agree<T: PartialEq + Shown>(
    setting: &str,
    values: Vec<(&Member<'_>, T)>,
) -> Result<Option<T>, BuildError> {
    let mut values = values.into_iter();
    let Some((first, chosen)) = values.next() else { return Ok(None) };
    for (member, value) in values {
        if value != chosen {
            return Err(BuildError::GroupConflict {
                setting: setting.to_string(),
                ingresses: [first.key.clone(), member.key.clone()],
                values: [chosen.shown(), value.shown()],
            });
        }
    }
    Ok(Some(chosen))
}

/// A setting's value as a user writes it, for conflict messages.
pub(crate) trait Shown {
    fn shown(&self) -> String;
}

impl Shown for String {
    fn shown(&self) -> String {
        self.clone()
    }
}

impl Shown for Vec<String> {
    fn shown(&self) -> String {
        self.join(",")
    }
}

impl Shown for bool {
    fn shown(&self) -> String {
        self.to_string()
    }
}

/// A member's `minimum-load-balancer-capacity`, compared across the group (0: none).
#[derive(PartialEq)]
struct CapacityUnits(u32);

impl Shown for CapacityUnits {
    fn shown(&self) -> String {
        format!("CapacityUnits={}", self.0)
    }
}

impl Shown for u16 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for Scheme {
    fn shown(&self) -> String {
        self.as_str().to_string()
    }
}

impl Shown for IpAddressType {
    fn shown(&self) -> String {
        self.as_str().to_string()
    }
}

impl Shown for elbow_model::stack::Protocol {
    fn shown(&self) -> String {
        self.as_str().to_string()
    }
}

/// `key=value` annotations of every member, one map: a key two members set differently is a
/// conflict naming the key, unless `overridden` sets it (its value wins anyway).
pub(crate) fn merged_pairs_except(
    members: &[Member<'_>],
    suffix: &str,
    overridden: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, BuildError> {
    let mut merged: BTreeMap<String, (String, &str)> = BTreeMap::new();
    for member in members {
        let Some(pairs) = member.annotations().pairs(suffix, false).map_err(|e| member.blame(e))? else { continue };
        for (key, value) in pairs.into_iter().filter(|(key, _)| !overridden.contains_key(key)) {
            match merged.get(&key) {
                Some((existing, owner)) if *existing != value => {
                    return Err(BuildError::GroupConflict {
                        setting: format!("{suffix} key {key}"),
                        ingresses: [owner.to_string(), member.key.clone()],
                        values: [existing.clone(), value],
                    });
                }
                _ => {
                    merged.insert(key, (value, &member.key));
                }
            }
        }
    }
    Ok(merged.into_iter().map(|(k, (v, _))| (k, v)).collect())
}

fn pairs(items: &[KeyValue]) -> BTreeMap<String, String> {
    items.iter().map(|kv| (kv.key.clone(), kv.value.clone())).collect()
}
