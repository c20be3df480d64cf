//! Flags shared by `elbow run` and `elbow plan`: what the builders need to know about the
//! installation. Parsed and validated once, by clap, into a [`BuildConfig`].

use clap::{ArgAction, Args};
use elbow_builder::BuildConfig;
use elbow_builder::config::DEFAULT_LOAD_BALANCER_CLASS;
use elbow_model::Scheme;

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// The cluster's name: in every ownership tag and in load balancer names. Must be unique per
    /// AWS account and region, and never change.
    #[arg(long, env = "ELBOW_CLUSTER_NAME", value_parser = crate::flag_values::cluster_name)]
    pub cluster_name: String,

    /// Services with this spec.loadBalancerClass are served.
    #[arg(long, env = "ELBOW_LOAD_BALANCER_CLASS", default_value = DEFAULT_LOAD_BALANCER_CLASS)]
    pub load_balancer_class: String,

    /// Serve Services that set no load balancer class (Elbow as the cluster's default).
    #[arg(long, env = "ELBOW_DEFAULT_LOAD_BALANCER", default_value_t = true, action = ArgAction::Set)]
    pub default_load_balancer: bool,

    /// Also serve class-less Services marked for the AWS Load Balancer Controller
    /// (aws-load-balancer-type external or nlb-ip), which are otherwise left to it: for after it
    /// is uninstalled.
    #[arg(long, env = "ELBOW_TAKE_OVER_LBC_SERVICES", default_value_t = false, action = ArgAction::Set)]
    pub take_over_lbc_services: bool,

    /// The scheme of load balancers whose Service or Ingress does not choose one (internal, as the
    /// AWS Load Balancer Controller's default).
    #[arg(long, env = "ELBOW_DEFAULT_SCHEME", default_value = "internal", value_parser = parse_scheme)]
    pub default_scheme: Scheme,

    /// A tag on every resource, as key=value; repeat the flag or separate with commas.
    #[arg(long = "default-tag", env = "ELBOW_DEFAULT_TAGS", value_delimiter = ',', value_parser = parse_tag)]
    pub default_tags: Vec<(String, String)>,
}

impl BuildArgs {
    pub fn to_config(&self) -> BuildConfig {
        BuildConfig {
            cluster_name: self.cluster_name.clone(),
            load_balancer_class: self.load_balancer_class.clone(),
            default_load_balancer: self.default_load_balancer,
            take_over_lbc_services: self.take_over_lbc_services,
            default_scheme: self.default_scheme,
            default_tags: self.default_tags.iter().cloned().collect(),
        }
    }
}

fn parse_scheme(value: &str) -> Result<Scheme, String> {
    match value {
        "internet-facing" => Ok(Scheme::InternetFacing),
        "internal" => Ok(Scheme::Internal),
        other => Err(format!("expected internet-facing or internal, got {other:?}")),
    }
}

fn parse_tag(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.trim().to_string())),
        _ => Err(format!("expected key=value, got {value:?}")),
    }
}
