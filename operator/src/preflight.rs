//! Start-up checks of the cloud side: the problems that would otherwise only show as every
//! Service staying `<pending>`. Each problem is one sentence saying what is wrong and what to do;
//! `elbow run` logs each as one error line and keeps running, since the objects it serves also get
//! the failure on their own events and conditions, and a permission or tag fixed later needs no
//! restart.

use elbow_builder::subnets::{is_tagged_for, role_tag};
use elbow_cloud::{Cloud, CloudError, CloudErrorKind};
use elbow_model::Scheme;

/// What is wrong with the VPC and its subnets, as seen through `cloud`: a missing VPC, missing
/// permissions, an unreachable endpoint, no subnet tagged for either scheme.
pub async fn cloud_problems(cloud: &dyn Cloud, vpc_id: &str) -> Vec<String> {
    match cloud.describe_vpcs(&[vpc_id.to_string()]).await {
        Err(error) => return vec![call_problem(&error)],
        Ok(found) if found.is_empty() => return vec![crate::inventory::missing_vpc(vpc_id).message],
        Ok(_) => {}
    }
    let subnets = match cloud.describe_subnets(vpc_id).await {
        Err(error) => return vec![call_problem(&error)],
        Ok(subnets) => subnets,
    };
    let mut problems = Vec::new();
    for scheme in [Scheme::InternetFacing, Scheme::Internal] {
        if !subnets.iter().any(|s| is_tagged_for(&s.tags, scheme)) {
            problems.push(format!(
                "no subnet of {vpc_id} is tagged {}: {} load balancers need such subnets (one per availability \
                 zone, two zones or more), or a subnets annotation on each Service and Ingress",
                role_tag(scheme),
                scheme.as_str()
            ));
        }
    }
    problems
}

fn call_problem(error: &CloudError) -> String {
    match error.kind {
        CloudErrorKind::AccessDenied => format!(
            "missing permission: {} was denied ({}); attach Elbow's IAM policy (terraform/) to its role",
            error.api.name(),
            error.message
        ),
        _ => format!("cannot read the VPC from EC2: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use elbow_cloud::{Api, Subnet};
    use elbow_fake::{Failure, FakeCloud};
    use elbow_model::Tags;

    use super::*;

    fn subnet(id: &str, role: &str) -> Subnet {
        Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            cidr_block: "10.0.0.0/24".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: Tags::from([(role.to_string(), "1".to_string())]),
        }
    }

    #[tokio::test]
    async fn a_wrong_vpc_id_is_named_as_such_and_nothing_else_is_reported() {
        let cloud = FakeCloud::new();
        cloud.seed_subnet(subnet("subnet-a", "kubernetes.io/role/elb"));
        let problems = cloud_problems(&cloud, "vpc-0wrong").await;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("VPC vpc-0wrong does not exist"), "{problems:?}");
    }

    #[tokio::test]
    async fn each_scheme_without_a_tagged_subnet_is_one_problem() {
        let cloud = FakeCloud::new();
        cloud.seed_vpc("vpc-1");
        let problems = cloud_problems(&cloud, "vpc-1").await;
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("kubernetes.io/role/elb:") && problems[1].contains("internal-elb"),
            "{problems:?}"
        );

        cloud.seed_subnet(subnet("subnet-a", "kubernetes.io/role/internal-elb"));
        let problems = cloud_problems(&cloud, "vpc-1").await;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("internet-facing load balancers"), "{problems:?}");

        cloud.seed_subnet(subnet("subnet-b", "kubernetes.io/role/elb"));
        assert_eq!(cloud_problems(&cloud, "vpc-1").await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_denied_call_names_the_permission() {
        let cloud = FakeCloud::new();
        cloud.seed_vpc("vpc-1");
        cloud.inject(Failure::on(Api::DescribeSubnets, CloudErrorKind::AccessDenied).always());
        let problems = cloud_problems(&cloud, "vpc-1").await;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("missing permission: DescribeSubnets was denied"), "{problems:?}");
    }
}
