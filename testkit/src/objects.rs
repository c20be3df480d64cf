//! Creating objects in tests from JSON, as a user writes a manifest: the shortest way to say what a
//! test starts from, with the API server's own defaulting and validation applied on the way in.

use kube::api::{Api, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Creates `object` (JSON in the shape of `K`) through `api` and returns what the API server
/// stored; panics, naming the object, when it does not parse as a `K` or the server refuses it.
pub async fn create_from_json<K>(api: &Api<K>, object: serde_json::Value) -> K
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let typed: K = serde_json::from_value(object.clone())
        .unwrap_or_else(|error| panic!("not a {}: {error}\n{object}", std::any::type_name::<K>()));
    api.create(&PostParams::default(), &typed)
        .await
        .unwrap_or_else(|error| panic!("the API server refused to create {object}: {error}"))
}
