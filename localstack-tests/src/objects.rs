//! Cloud resources several end-to-end tests start from.

#![allow(clippy::expect_used, clippy::unwrap_used)]

/// A managed prefix list of the endpoint's EC2 holding `cidr` (at most 5 entries); returns its id.
pub async fn prefix_list(name: &str, cidr: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&crate::sdk_config().await);
    let created = ec2
        .create_managed_prefix_list()
        .prefix_list_name(name)
        .address_family("IPv4")
        .max_entries(5)
        .entries(aws_sdk_ec2::types::AddPrefixListEntry::builder().cidr(cidr).build())
        .send()
        .await
        .expect("a prefix list");
    created.prefix_list().and_then(|p| p.prefix_list_id()).expect("its id").to_string()
}
