//! `elbow run`'s webhook flags, and the settings they make.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};

use super::pods::PodGatePolicy;
use super::review::ClassPolicy;

/// Where the serving certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertificateMode {
    /// The operator makes a CA and a serving certificate, keeps them in the Secret, renews them,
    /// and writes the CA into the webhook configuration's `caBundle`.
    #[value(name = "self")]
    SelfManaged,
    /// Another party (cert-manager) writes the Secret and the `caBundle`; the operator only reads
    /// the Secret.
    External,
}

#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Serve the mutating admission webhook that gives class-less LoadBalancer Services Elbow's
    /// class (the chart turns it on together with its webhook configuration). `--webhook` alone
    /// means true.
    #[arg(
        long = "webhook",
        env = "ELBOW_WEBHOOK",
        default_value_t = false,
        action = ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub enabled: bool,

    /// Where the webhook's HTTPS endpoint is served.
    #[arg(long = "webhook-bind-address", env = "ELBOW_WEBHOOK_BIND_ADDRESS", default_value = "0.0.0.0:9443")]
    pub bind_address: SocketAddr,

    /// Set `--load-balancer-class` on LoadBalancer Services created without a class. False: the
    /// webhook answers every request but changes nothing.
    #[arg(long = "webhook-set-load-balancer-class", default_value_t = true, action = ArgAction::Set)]
    pub set_load_balancer_class: bool,

    /// Add readiness gates to pods created in namespaces labelled
    /// `elbow.dev/pod-readiness-gate-inject=enabled` that back an ip target group (the chart's
    /// pod webhook sends only those). False: every pod passes unchanged.
    #[arg(long = "webhook-inject-pod-readiness-gates", default_value_t = true, action = ArgAction::Set)]
    pub inject_pod_readiness_gates: bool,

    /// Give QUIC server ids to the containers that pods created in namespaces labelled
    /// `elbow.dev/quic-server-id-inject=enabled` name in `quic-enabled-containers` (the chart's
    /// QUIC webhook sends only those). False: every pod passes unchanged.
    #[arg(long = "webhook-inject-quic-server-ids", default_value_t = true, action = ArgAction::Set)]
    pub inject_quic_server_ids: bool,

    /// `self`: the operator issues and renews the certificate and patches the `caBundle`;
    /// `external`: cert-manager (or another tool) does, and the operator only reads the Secret.
    #[arg(long = "webhook-certificate-mode", value_enum, default_value_t = CertificateMode::SelfManaged)]
    pub certificate_mode: CertificateMode,

    /// Namespace of the webhook's Service and of its certificate Secret.
    #[arg(long = "webhook-namespace", default_value = "default")]
    pub namespace: String,

    /// The Service kube-apiserver calls: the certificate is for `<name>.<namespace>.svc` and
    /// `<name>.<namespace>.svc.cluster.local`.
    #[arg(long = "webhook-service-name", default_value = "elbow-webhook")]
    pub service_name: String,

    /// The Secret (type kubernetes.io/tls) holding `tls.crt`, `tls.key` and `ca.crt`.
    #[arg(long = "webhook-secret-name", default_value = "elbow-webhook-tls")]
    pub secret_name: String,

    /// The MutatingWebhookConfiguration whose `caBundle` the operator keeps (mode `self`).
    #[arg(long = "webhook-configuration-name", default_value = "elbow")]
    pub configuration_name: String,

    /// How often the Secret is read again: a renewed certificate is served from then on without
    /// a restart, and (mode `self`) one within 30 days of expiry is renewed.
    #[arg(long = "webhook-certificate-check-period", default_value = "10m", value_parser = crate::run::parse_duration)]
    pub certificate_check_period: Duration,
}

/// Everything the webhook needs to run.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub bind_address: SocketAddr,
    pub policy: ClassPolicy,
    /// The pod webhook's readiness gates.
    pub pods: PodGatePolicy,
    /// Whether the QUIC pod webhook injects server ids.
    pub quic_server_ids: bool,
    pub certificate: CertificateSettings,
}

#[derive(Debug, Clone)]
pub struct CertificateSettings {
    pub mode: CertificateMode,
    pub namespace: String,
    pub service_name: String,
    pub secret_name: String,
    pub configuration_name: String,
    pub check_period: Duration,
    /// How soon a failed check (or a missing webhook configuration) is tried again.
    pub retry_delay: Duration,
    /// How long start-up waits for a first usable certificate before it fails.
    pub startup_timeout: Duration,
}

impl WebhookSettings {
    /// The IngressClass controller name the Ingress controller serves (`--ingress-controller`).
    pub fn with_ingress_controller(mut self, controller: &str) -> Self {
        self.pods.ingress_controller = controller.to_string();
        self
    }
}

impl CertificateSettings {
    /// The names kube-apiserver may dial the Service by.
    pub fn dns_names(&self) -> Vec<String> {
        let short = format!("{}.{}.svc", self.service_name, self.namespace);
        vec![short.clone(), format!("{short}.cluster.local")]
    }
}

impl WebhookArgs {
    /// The settings for a webhook beside controllers built with `build`: the class they serve,
    /// whether they take LBC-marked Services over, and the names their target groups get. The
    /// Ingress controller name is the default; [`WebhookSettings::with_ingress_controller`] sets
    /// another.
    pub fn settings(&self, build: &elbow_builder::BuildConfig) -> WebhookSettings {
        WebhookSettings {
            bind_address: self.bind_address,
            policy: ClassPolicy {
                load_balancer_class: build.load_balancer_class.clone(),
                set_class: self.set_load_balancer_class,
                take_over_lbc_services: build.take_over_lbc_services,
            },
            pods: PodGatePolicy {
                enabled: self.inject_pod_readiness_gates,
                build: build.clone(),
                ingress_controller: elbow_builder::ingress::DEFAULT_CONTROLLER.to_string(),
            },
            quic_server_ids: self.inject_quic_server_ids,
            certificate: CertificateSettings {
                mode: self.certificate_mode,
                namespace: self.namespace.clone(),
                service_name: self.service_name.clone(),
                secret_name: self.secret_name.clone(),
                configuration_name: self.configuration_name.clone(),
                check_period: self.certificate_check_period,
                retry_delay: Duration::from_secs(5),
                // cert-manager issues within seconds once its Certificate exists; a pod that has
                // no certificate after this restarts and tries again, which is visible.
                startup_timeout: Duration::from_secs(120),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{Command, FromArgMatches};

    use super::*;

    fn parse(args: &[&str]) -> Result<WebhookArgs, clap::Error> {
        let matches = WebhookArgs::augment_args(Command::new("run"))
            .try_get_matches_from(std::iter::once("run").chain(args.iter().copied()))?;
        WebhookArgs::from_arg_matches(&matches)
    }

    #[test]
    fn the_webhook_is_off_by_default_and_on_with_the_flag() {
        let defaults = parse(&[]).unwrap();
        assert!(!defaults.enabled);
        assert!(defaults.set_load_balancer_class);
        assert!(defaults.inject_pod_readiness_gates, "on, as LBC's --enable-pod-readiness-gate-inject");
        assert!(!parse(&["--webhook-inject-pod-readiness-gates=false"]).unwrap().inject_pod_readiness_gates);
        assert!(defaults.inject_quic_server_ids, "on, as LBC's QUIC webhook is");
        assert!(!parse(&["--webhook-inject-quic-server-ids=false"]).unwrap().inject_quic_server_ids);
        assert_eq!(defaults.bind_address, "0.0.0.0:9443".parse().unwrap());
        assert_eq!(defaults.certificate_mode, CertificateMode::SelfManaged);
        assert_eq!(defaults.certificate_check_period, Duration::from_secs(600));
        assert!(parse(&["--webhook"]).unwrap().enabled);
        assert!(parse(&["--webhook=true"]).unwrap().enabled);
        assert!(!parse(&["--webhook=false"]).unwrap().enabled);
        assert!(parse(&["--webhook=yes"]).is_err());
        assert!(parse(&["--webhook-certificate-mode=cert-manager"]).is_err());
        assert!(parse(&["--webhook-bind-address=9443"]).is_err(), "an address is host:port");
    }

    #[test]
    fn settings_name_the_service_dns_names_and_carry_the_class() {
        let args = parse(&[
            "--webhook-namespace=elbow-system",
            "--webhook-service-name=lb-webhook",
            "--webhook-certificate-mode=external",
            "--webhook-set-load-balancer-class=false",
        ])
        .unwrap();
        let build = elbow_builder::BuildConfig {
            load_balancer_class: "example.com/nlb".into(),
            take_over_lbc_services: true,
            ..elbow_builder::BuildConfig::new("prod")
        };
        let settings = args.settings(&build).with_ingress_controller("example.com/alb");
        assert_eq!(settings.pods.ingress_controller, "example.com/alb");
        assert_eq!(settings.pods.build.cluster_name, "prod", "gates are named after this cluster's target groups");
        assert_eq!(
            settings.certificate.dns_names(),
            ["lb-webhook.elbow-system.svc", "lb-webhook.elbow-system.svc.cluster.local"]
        );
        assert_eq!(settings.certificate.mode, CertificateMode::External);
        assert_eq!(
            settings.policy,
            ClassPolicy {
                load_balancer_class: "example.com/nlb".into(),
                set_class: false,
                take_over_lbc_services: true
            }
        );
    }
}
