//! The patch flavours kube-apiserver accepts: JSON merge (RFC 7386), JSON patch (RFC 6902), and
//! strategic merge with the merge keys that matter to the objects used here; server-side apply is
//! served as a merging upsert.

use serde_json::{Map, Value};

/// RFC 7386: objects merge, `null` deletes, everything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(target) = target {
                for (key, value) in patch {
                    if value.is_null() {
                        target.remove(key);
                    } else {
                        merge(target.entry(key.clone()).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// RFC 6902 (including `test`), as Kubernetes applies it: a `test` for `null` also passes when
/// the path does not exist (kube-runtime's finalizer helper relies on that to add the first
/// finalizer). Applied to a copy, so a failing patch changes nothing.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    let operations: Vec<Value> =
        patch.as_array().cloned().ok_or_else(|| "a JSON patch is a list of operations".to_string())?;
    let mut patched = target.clone();
    for operation in operations {
        let path = operation["path"].as_str().unwrap_or_default();
        if operation["op"] == "test" && operation["value"].is_null() && patched.pointer(path).is_none() {
            continue;
        }
        let single: json_patch::Patch =
            serde_json::from_value(Value::Array(vec![operation])).map_err(|e| e.to_string())?;
        json_patch::patch(&mut patched, &single).map_err(|e| e.to_string())?;
    }
    *target = patched;
    Ok(())
}

/// The merge key of a list field, by field name; lists without one are replaced whole, and
/// lists of scalars listed here merge as sets.
fn merge_keys(field: &str) -> Option<&'static [&'static str]> {
    Some(match field {
        "containers" | "initContainers" | "volumes" | "env" | "volumeMounts" => &["name"],
        "ports" => &["port", "protocol"],
        "conditions" => &["type"],
        "finalizers" => &[],
        "ownerReferences" => &["uid"],
        _ => return None,
    })
}

/// Strategic merge: like a merge patch, but lists with a merge key merge item by item (an item
/// with `$patch: delete` is removed) and `finalizers` merges as a set.
pub fn strategic(target: &mut Value, patch: &Value) {
    let (Value::Object(target_map), Value::Object(patch_map)) = (&mut *target, patch) else {
        *target = patch.clone();
        return;
    };
    for (key, value) in patch_map {
        if key.starts_with("$setElementOrder") || key == "$retainKeys" {
            continue;
        }
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        match (merge_keys(key), value) {
            (Some(keys), Value::Array(items)) => {
                let current = target_map.entry(key.clone()).or_insert(Value::Array(Vec::new()));
                if !current.is_array() {
                    *current = Value::Array(Vec::new());
                }
                if let Value::Array(existing) = current {
                    merge_list(existing, items, keys);
                }
            }
            (_, Value::Object(_)) => {
                strategic(target_map.entry(key.clone()).or_insert(Value::Object(Map::new())), value)
            }
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_list(existing: &mut Vec<Value>, items: &[Value], keys: &[&str]) {
    if keys.is_empty() {
        for item in items {
            if !existing.contains(item) {
                existing.push(item.clone());
            }
        }
        return;
    }
    let same = |a: &Value, b: &Value| {
        keys.iter().all(|k| a.get(*k) == b.get(*k) || (*k == "protocol" && protocol(a) == protocol(b)))
    };
    for item in items {
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match existing.iter().position(|e| same(e, item)) {
            Some(index) if delete => {
                existing.remove(index);
            }
            Some(index) => strategic(&mut existing[index], item),
            None if delete => {}
            None => existing.push(without_nulls(item)),
        }
    }
}

/// A new list item as stored: a null in a patch deletes, so there is nothing to keep of it.
fn without_nulls(item: &Value) -> Value {
    match item {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        other => other.clone(),
    }
}

/// Service and container ports default their protocol to TCP.
fn protocol(port: &Value) -> &str {
    port.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_deletes_with_null_and_replaces_lists() {
        let mut target = json!({ "a": 1, "b": { "c": 2, "d": 3 }, "l": [1, 2] });
        merge(&mut target, &json!({ "a": null, "b": { "c": 5 }, "l": [3] }));
        assert_eq!(target, json!({ "b": { "c": 5, "d": 3 }, "l": [3] }));
    }

    #[test]
    fn a_test_for_null_passes_on_a_missing_path_as_in_kubernetes() {
        let mut target = json!({ "metadata": {} });
        json_patch(&mut target, &json!([{ "op": "test", "path": "/metadata/finalizers", "value": null }, { "op": "add", "path": "/metadata/finalizers", "value": ["a"] }]))
            .expect("applies");
        assert_eq!(target, json!({ "metadata": { "finalizers": ["a"] } }));
        let unchanged = target.clone();
        let failed = json_patch(
            &mut target,
            &json!([{ "op": "remove", "path": "/metadata/finalizers" }, { "op": "test", "path": "/metadata/x", "value": 1 }]),
        );
        assert!(failed.is_err());
        assert_eq!(target, unchanged, "a failing patch changes nothing");
    }

    #[test]
    fn json_patch_honours_test() {
        let mut target = json!({ "metadata": { "finalizers": ["a"] } });
        json_patch(&mut target, &json!([{ "op": "test", "path": "/metadata/finalizers/0", "value": "a" }, { "op": "remove", "path": "/metadata/finalizers/0" }]))
            .expect("applies");
        assert_eq!(target, json!({ "metadata": { "finalizers": [] } }));
        let failed =
            json_patch(&mut target, &json!([{ "op": "test", "path": "/metadata/finalizers", "value": ["x"] }]));
        assert!(failed.is_err());
    }

    #[test]
    fn strategic_merge_uses_merge_keys() {
        let mut target = json!({
            "metadata": { "finalizers": ["a"] },
            "spec": { "ports": [{ "port": 80, "nodePort": 31000 }, { "port": 53, "protocol": "UDP" }] },
            "status": { "conditions": [{ "type": "Ready", "status": "False" }, { "type": "Other", "status": "True" }] }
        });
        strategic(
            &mut target,
            &json!({
                "metadata": { "finalizers": ["b", "a"] },
                "spec": { "ports": [{ "port": 80, "protocol": "TCP", "targetPort": 8080 }, { "port": 53, "protocol": "UDP", "$patch": "delete" }] },
                "status": { "conditions": [{ "type": "Ready", "status": "True" }] }
            }),
        );
        assert_eq!(target["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(
            target["spec"]["ports"],
            json!([{ "port": 80, "nodePort": 31000, "protocol": "TCP", "targetPort": 8080 }])
        );
        assert_eq!(
            target["status"]["conditions"],
            json!([{ "type": "Ready", "status": "True" }, { "type": "Other", "status": "True" }])
        );
    }

    #[test]
    fn a_null_in_a_merged_item_deletes_the_field_and_a_new_item_keeps_none() {
        let mut target = json!({ "status": { "conditions": [
            { "type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "not yet" },
        ] } });
        strategic(
            &mut target,
            &json!({ "status": { "conditions": [
                { "type": "Ready", "status": "True", "reason": null, "message": null },
                { "type": "Initialized", "status": "True", "reason": null },
            ] } }),
        );
        assert_eq!(
            target["status"]["conditions"],
            json!([{ "type": "Ready", "status": "True" }, { "type": "Initialized", "status": "True" }])
        );
    }
}
