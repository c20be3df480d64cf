//! The Deployment's arguments parsed by `elbow run`'s own command-line parser, so the chart and
//! the binary cannot drift apart: a renamed or removed flag, or a value the flag does not accept,
//! fails here rather than in a crash-looping pod.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use clap::{Args, Command, FromArgMatches};
use elbow::run::{LogFormat, RunArgs};
use elbow::webhook::CertificateMode;
use elbow_chart_tests::{operator_args, render, values_file};
use elbow_deploy::sweep::SweepMode;
use elbow_model::Scheme;

/// What `elbow run` makes of the rendered Deployment's arguments (the first, `run`, standing in
/// for the program name).
fn parse_rendered(values: &str, sets: &[&str]) -> RunArgs {
    let manifests = render(&[&values_file(values)], sets);
    let deployment = manifests.of_kind("Deployment").next().expect("no Deployment rendered");
    let args = operator_args(deployment);
    assert_eq!(args.first().map(String::as_str), Some("run"), "{args:?}");
    let matches = RunArgs::augment_args(Command::new("run"))
        .try_get_matches_from(&args)
        .unwrap_or_else(|e| panic!("elbow run refuses the chart's arguments {args:?}:\n{e}"));
    RunArgs::from_arg_matches(&matches).unwrap()
}

#[test]
fn elbow_run_accepts_the_default_arguments() {
    let run = parse_rendered("required.yaml", &[]);
    assert_eq!(run.build.cluster_name, "prod-eu");
    assert_eq!(run.vpc_id, "vpc-0a1b2c3d4e5f60718");
    assert_eq!(run.build.default_scheme, Scheme::Internal, "LBC's default");
    assert_eq!(run.build.load_balancer_class, "elbow.dev/nlb");
    assert!(run.build.default_load_balancer);
    assert!(run.build.default_tags.is_empty());
    assert_eq!(run.log_format, LogFormat::Text);
    assert_eq!(run.concurrency, 8);
    assert_eq!(run.drift_period, Duration::from_secs(600));
    assert!(run.enable_wafv2 && run.enable_waf && run.enable_shield, "WAF and Shield on, as in LBC");
    let sweep = run.orphan_sweep.settings();
    assert_eq!(sweep.interval, Duration::from_secs(3600));
    assert_eq!(sweep.sweep.mode, SweepMode::Report, "the chart reports orphans and deletes nothing by default");
    assert_eq!(sweep.sweep.grace, Duration::from_secs(3600));

    let webhook = &run.webhook;
    assert!(webhook.enabled);
    assert!(webhook.set_load_balancer_class);
    assert_eq!(webhook.bind_address, "0.0.0.0:9443".parse().unwrap());
    assert_eq!(webhook.certificate_mode, CertificateMode::SelfManaged);
    assert_eq!(
        (webhook.namespace.as_str(), webhook.service_name.as_str(), webhook.secret_name.as_str()),
        ("elbow-system", "elbow-webhook", "elbow-webhook-tls")
    );
    assert_eq!(webhook.configuration_name, "elbow");
    assert_eq!(webhook.certificate_check_period, Duration::from_secs(600));
    let settings = webhook.settings(&run.build.to_config());
    assert_eq!(settings.policy.load_balancer_class, "elbow.dev/nlb", "the webhook sets the class Elbow serves");
    assert_eq!(
        settings.certificate.dns_names(),
        ["elbow-webhook.elbow-system.svc", "elbow-webhook.elbow-system.svc.cluster.local"]
    );
}

#[test]
fn elbow_run_accepts_every_option() {
    let run = parse_rendered("every-option.yaml", &[]);
    assert_eq!(run.region.as_deref(), Some("eu-west-1"));
    assert_eq!(run.aws_endpoint.as_deref(), Some("http://127.0.0.1:4566"));
    assert_eq!(run.build.default_scheme, Scheme::InternetFacing);
    assert_eq!(run.build.load_balancer_class, "example.com/nlb");
    assert!(!run.build.default_load_balancer);
    assert_eq!(
        run.build.default_tags,
        [("cost-center".to_string(), "4711".to_string()), ("team".to_string(), "platform".to_string())]
    );
    assert_eq!(run.log_format, LogFormat::Json);
    assert_eq!(run.concurrency, 4);
    assert_eq!(run.drift_period, Duration::from_secs(1800));
    assert_eq!(run.resync_period, Duration::from_secs(90));
    assert_eq!(run.inventory_ttl, Duration::from_secs(3600));
    assert!(!run.enable_wafv2 && !run.enable_waf && !run.enable_shield, "each integration turned off");
    let sweep = run.orphan_sweep.settings();
    assert_eq!(
        (sweep.interval, sweep.sweep.mode, sweep.sweep.grace),
        (Duration::from_secs(1800), SweepMode::Delete, Duration::from_secs(7200))
    );
    assert!(run.webhook.enabled);
    assert_eq!(run.webhook.bind_address, "[::]:10443".parse().unwrap());
    assert_eq!(run.webhook.certificate_mode, CertificateMode::External);
    assert_eq!(run.webhook.service_name, "lb-controller-webhook");
    assert_eq!(run.webhook.secret_name, "lb-controller-webhook-cert");
    assert_eq!(run.webhook.configuration_name, "lb-controller");
    assert_eq!(run.webhook.certificate_check_period, Duration::from_secs(3600));
    assert_eq!(run.webhook.settings(&run.build.to_config()).policy.load_balancer_class, "example.com/nlb");
}

#[test]
fn elbow_run_accepts_the_arguments_without_the_webhook() {
    let run = parse_rendered("required.yaml", &["webhook.enabled=false"]);
    assert!(!run.webhook.enabled);
}

#[test]
fn elbow_run_accepts_the_cert_manager_mode() {
    let run = parse_rendered("required.yaml", &["webhook.certificate.mode=cert-manager"]);
    assert_eq!(run.webhook.certificate_mode, CertificateMode::External);
}

#[test]
fn elbow_run_accepts_the_arguments_without_leader_election() {
    parse_rendered("required.yaml", &["leaderElection.enabled=false", "replicaCount=1"]);
}

/// What values.schema.json refuses, `elbow run` refuses too: a Deployment written by hand (or by
/// another tool) with such a value stops at start-up naming the flag, rather than running with it.
#[test]
fn elbow_run_refuses_what_the_chart_schema_refuses() {
    // (value, flag with the same bad value)
    let cases = [
        ("vpcId=notavpc", "--vpc-id=notavpc"),
        ("clusterName=my cluster", "--cluster-name=my cluster"),
        ("clusterName=-prod", "--cluster-name=-prod"),
        ("concurrency=0", "--concurrency=0"),
        ("region=europe", "--region=europe"),
        ("awsEndpoint=localhost:4566", "--aws-endpoint=localhost:4566"),
        ("webhook.certificate.checkPeriod=ten", "--webhook-certificate-check-period=ten"),
        ("webhook.bindHost=", "--webhook-bind-address=:9443"),
        ("orphanSweep.mode=purge", "--orphan-sweep-mode=purge"),
        ("orphanSweep.grace=1d", "--orphan-sweep-grace=1d"),
    ];
    let required = values_file("required.yaml");
    for (set, flag) in cases {
        let schema_error = elbow_chart_tests::template(&[&required], &[set]).map(|m| m.text).expect_err(set);
        assert!(schema_error.contains("values don't meet the specifications of the schema"), "{set}: {schema_error}");

        let name = flag.split('=').next().unwrap();
        let mut args = vec!["run", "--cluster-name=prod", "--vpc-id=vpc-1"];
        args.push(flag);
        let error = RunArgs::augment_args(Command::new("run")).try_get_matches_from(&args).expect_err(flag);
        assert!(error.to_string().contains(name), "{flag}: {error}");
    }
}
