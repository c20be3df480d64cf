//! What the builders need to know about the cluster's network: its VPC, subnets, instances and
//! security groups. Read from EC2 by the controllers, from a YAML file by `elbow plan`.

use serde::{Deserialize, Serialize};

use crate::tags::Tags;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudInventory {
    pub vpc_id: String,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub instances: Vec<Instance>,
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub id: String,
    pub availability_zone: String,
    pub cidr_block: String,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: String,
    #[serde(default)]
    pub availability_zone: String,
    /// Ids of the security groups attached to the instance's primary interface.
    #[serde(default)]
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    pub id: String,
    #[serde(default)]
    pub group_name: String,
    #[serde(default)]
    pub tags: Tags,
}
