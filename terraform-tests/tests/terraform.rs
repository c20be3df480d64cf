#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The Terraform module, read with a real HCL parser, against the conventions of a reviewed module
//! and against the code. The second half changes one thing at a time in the real policy and
//! shows that the checks catch it.

use std::collections::{BTreeMap, BTreeSet};

use elbow_terraform_tests::hcl::{Module, blocks, nested, repo_root, terraform_dir, text};
use elbow_terraform_tests::module::{
    check_chart_values, check_module_call, check_outputs, check_variables, check_versions,
};
use elbow_terraform_tests::policy::{self, Condition, Statement, check_actions, check_conditions};

/// IAM's limit for a role's inline policies, counted without whitespace.
const INLINE_POLICY_LIMIT: usize = 10_240;

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

fn whole_module() -> Module {
    Module::load().unwrap_or_else(|e| panic!("{e}"))
}

fn policy_statements() -> Vec<Statement> {
    let module = Module::load_only(&["iam.tf"]).unwrap_or_else(|e| panic!("{e}"));
    policy::statements(&module.files).unwrap_or_else(|e| panic!("{e}"))
}

fn statement<'a>(statements: &'a mut [Statement], sid: &str) -> &'a mut Statement {
    statements.iter_mut().find(|s| s.sid == sid).unwrap_or_else(|| panic!("no statement {sid}"))
}

fn names(module: &Module, kind: &str) -> BTreeSet<String> {
    module.files.iter().flat_map(|f| blocks(&f.json, kind, 1)).map(|b| b.name().to_string()).collect()
}

#[test]
fn every_variable_is_described_typed_and_validated() {
    let module = whole_module();
    assert_none(module.files.iter().chain(&module.example).flat_map(check_variables).collect());
    // The check must have seen the inputs the module is about, or it passed on nothing.
    let variables = names(&module, "variable");
    for expected in [
        "cluster_name",
        "vpc_id",
        "identity",
        "oidc_provider_arn",
        "service_account_namespace",
        "service_account_name",
        "public_subnet_ids",
        "private_subnet_ids",
        "install_chart",
        "chart_path",
    ] {
        assert!(variables.contains(expected), "no variable {expected} among {variables:?}");
    }
}

#[test]
fn every_output_is_described() {
    let module = whole_module();
    assert_none(module.files.iter().chain(&module.example).flat_map(check_outputs).collect());
    let outputs = names(&module, "output");
    for expected in ["role_arn", "policy_json", "service_account_annotations"] {
        assert!(outputs.contains(expected), "no output {expected} among {outputs:?}");
    }
}

#[test]
fn providers_are_pinned_in_the_module_and_the_example() {
    let module = whole_module();
    let versions = module.file("versions.tf").expect("terraform/versions.tf");
    let mut problems = check_versions(versions, &["aws", "helm"]);
    let example = module
        .example
        .iter()
        .find(|f| f.path.ends_with("examples/localstack/versions.tf"))
        .expect("terraform/examples/localstack/versions.tf");
    problems.extend(check_versions(example, &["aws", "helm"]));
    assert_none(problems);
}

#[test]
fn the_example_points_the_aws_provider_at_an_emulator_and_calls_the_module_with_its_inputs() {
    let module = whole_module();
    let providers: Vec<_> = module.example.iter().flat_map(|f| blocks(&f.json, "provider", 1)).collect();
    let aws = providers.iter().find(|p| p.name() == "aws").expect("a provider \"aws\" block in the example");
    for flag in ["skip_credentials_validation", "skip_metadata_api_check", "skip_requesting_account_id"] {
        assert_eq!(aws.body.get(flag), Some(&serde_json::Value::Bool(true)), "{flag} must be true");
    }
    let endpoints = nested(aws.body, "endpoints");
    let endpoints = endpoints.first().expect("an endpoints block");
    // Every service the module (ec2, iam, sts, eks) or Elbow itself (ec2, elbv2) talks to.
    for service in ["ec2", "elbv2", "iam", "sts", "eks"] {
        assert_eq!(endpoints.get(service).and_then(text).as_deref(), Some("${var.endpoint}"), "endpoint of {service}");
    }
    assert_none(check_module_call(&module.example, "../..", &module.files));
}

#[test]
fn the_chart_is_found_next_to_the_module_and_takes_the_values_it_is_given() {
    let module = Module::load_only(&["helm.tf"]).unwrap_or_else(|e| panic!("{e}"));
    let locals = blocks(&module.files[0].json, "locals", 0);
    let locals = locals.first().expect("a locals block in helm.tf");
    let chart_path = locals.body.get("chart_path").and_then(text).expect("local.chart_path");
    assert!(chart_path.contains("\"${path.module}/../charts/elbow\""), "{chart_path}");
    let chart = repo_root().join("charts/elbow");
    assert!(chart.join("Chart.yaml").is_file(), "no chart at {}", chart.display());

    let values = locals.body.get("chart_values").and_then(serde_json::Value::as_object).expect("local.chart_values");
    let schema = std::fs::read_to_string(chart.join("values.schema.json")).expect("the chart's values.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    assert_none(check_chart_values(values, &schema));
    for key in ["clusterName", "region", "vpcId", "serviceAccount"] {
        assert!(values.contains_key(key), "the module does not set {key}");
    }
    // A key the chart does not know is reported (its schema allows no others).
    let mut wrong = values.clone();
    wrong.insert("clustername".into(), serde_json::json!("${var.cluster_name}"));
    wrong.remove("vpcId");
    let problems = check_chart_values(&wrong, &schema);
    assert!(problems.iter().any(|p| p.contains("sets clustername")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.contains("requires vpcId")), "{problems:#?}");
}

/// The statements of `terraform/iam-policy.json`, as the checks read them.
fn json_statements() -> Vec<Statement> {
    let path = terraform_dir().join(policy::JSON_POLICY_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    policy::statements_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_policy_grants_exactly_the_actions_elbow_calls() {
    check_actions(&policy_statements()).unwrap_or_else(|e| panic!("terraform/iam.tf: {e}"));
    check_actions(&json_statements()).unwrap_or_else(|e| panic!("terraform/iam-policy.json: {e}"));
}

#[test]
fn every_mutating_action_is_held_to_the_cluster_tag() {
    assert_none(check_conditions(&policy_statements()));
    assert_none(check_conditions(&json_statements()));
}

/// `terraform/iam-policy.json` is generated from `terraform/iam.tf`, the one source: this test
/// writes it with `ELBOW_WRITE_POLICY=1` and otherwise fails when the two disagree.
#[test]
fn the_json_policy_is_the_terraform_policy_with_placeholders() {
    let module = Module::load_only(&["iam.tf", "main.tf"]).unwrap_or_else(|e| panic!("{e}"));
    let generated = policy::json_policy(&module.files).unwrap_or_else(|e| panic!("{e}"));
    let path = terraform_dir().join(policy::JSON_POLICY_FILE);
    if std::env::var("ELBOW_WRITE_POLICY").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("failed to write {}: {e}", path.display()));
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    // Compared as JSON values: key order depends on serde_json's features in the build at hand.
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert!(
        parse(&on_disk) == parse(&generated),
        "terraform/iam-policy.json is not the policy of terraform/iam.tf; regenerate it with\n  \
         ELBOW_WRITE_POLICY=1 cargo nextest run -p elbow-terraform-tests the_json_policy\nexpected:\n{generated}"
    );
    // Only the documented placeholders are left for the user to fill in.
    let mut rest = generated.clone();
    for (_, placeholder) in policy::JSON_PLACEHOLDERS {
        assert!(rest.contains(placeholder), "{placeholder} is not used");
        rest = rest.replace(placeholder, "");
    }
    assert!(!rest.contains("${"), "a reference other than the placeholders is left:\n{generated}");
    // Read back, it is the module's policy statement for statement.
    assert_eq!(policy::statements_from_json(&generated).unwrap().len(), policy_statements().len());
}

#[test]
fn a_json_policy_that_lost_an_action_or_a_condition_is_reported() {
    let module = Module::load_only(&["iam.tf", "main.tf"]).unwrap_or_else(|e| panic!("{e}"));
    let mut edited: serde_json::Value = serde_json::from_str(&policy::json_policy(&module.files).unwrap()).unwrap();
    let target_groups = edited["Statement"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Sid"] == "ChangeOwnTargetGroups")
        .expect("statement ChangeOwnTargetGroups");
    target_groups["Action"].as_array_mut().unwrap().retain(|a| a != "elasticloadbalancing:DeleteTargetGroup");
    target_groups.as_object_mut().unwrap().remove("Condition");
    let statements = policy::statements_from_json(&edited.to_string()).unwrap();
    let error = check_actions(&statements).expect_err("an action is missing");
    assert!(error.contains("called but not granted (1): [\"elasticloadbalancing:DeleteTargetGroup\"]"), "{error}");
    let problems = check_conditions(&statements);
    assert!(
        problems.iter().any(|p| p.starts_with("ChangeOwnTargetGroups: changes existing resources")),
        "{problems:#?}"
    );
}

#[test]
fn the_role_carries_the_policy_and_it_fits_for_the_longest_names() {
    let module = whole_module();
    let attached = module
        .files
        .iter()
        .flat_map(|f| blocks(&f.json, "resource", 2))
        .find(|b| b.labels == ["aws_iam_role_policy", "elbow"])
        .expect("resource aws_iam_role_policy.elbow");
    assert_eq!(
        attached.body.get("policy").and_then(text).as_deref(),
        Some("${data.aws_iam_policy_document.elbow.json}")
    );
    assert_eq!(attached.body.get("role").and_then(text).as_deref(), Some("${aws_iam_role.elbow.id}"));

    let statements = policy::statements(&module.files).unwrap();
    let mut values = policy::string_locals(&module.files);
    // The longest each can be: the partition, a region, the validation's 100-character cluster
    // name, a 17-digit VPC id.
    values.extend(BTreeMap::from([
        ("local.partition".to_string(), "aws-us-gov".to_string()),
        ("local.region".to_string(), "ap-southeast-7".to_string()),
        ("local.account".to_string(), "123456789012".to_string()),
        ("var.cluster_name".to_string(), "c".repeat(100)),
        ("var.vpc_id".to_string(), "vpc-0123456789abcdef0".to_string()),
    ]));
    let rendered = policy::render(&statements, &values).unwrap_or_else(|e| panic!("{e}"));
    let size = policy::iam_size(&rendered);
    println!("policy: {} statements, {size} characters without whitespace at the longest names", statements.len());
    assert!(
        size <= INLINE_POLICY_LIMIT,
        "the policy has {size} characters, an inline policy may have {INLINE_POLICY_LIMIT}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&rendered).unwrap();
    assert_eq!(parsed["Statement"].as_array().map(Vec::len), Some(statements.len()));
}

// ---- The checks catch each kind of mistake ----

#[test]
fn a_removed_permission_is_reported() {
    let mut statements = policy_statements();
    statement(&mut statements, "ChangeOwnTargetGroups")
        .actions
        .retain(|a| a != "elasticloadbalancing:DeleteTargetGroup");
    let error = check_actions(&statements).expect_err("a permission is missing");
    assert!(error.contains("called but not granted (1): [\"elasticloadbalancing:DeleteTargetGroup\"]"), "{error}");
    assert!(error.contains("granted but never called (0)"), "{error}");
}

#[test]
fn an_unused_permission_is_reported() {
    let mut statements = policy_statements();
    statement(&mut statements, "ChangeOwnSecurityGroups").actions.push("ec2:ModifySecurityGroupRules".into());
    statement(&mut statements, "ChangeOwnLoadBalancers").actions.push("elasticloadbalancing:*".into());
    let error = check_actions(&statements).expect_err("permissions nobody uses");
    assert!(
        error.contains("granted but never called (2): [\"ec2:ModifySecurityGroupRules\", \"elasticloadbalancing:*\"]"),
        "{error}"
    );
}

#[test]
fn a_dropped_cluster_condition_is_reported() {
    let mut statements = policy_statements();
    statement(&mut statements, "ChangeOwnTargetGroups").conditions.clear();
    let problems = check_conditions(&statements);
    assert!(
        problems.iter().any(|p| p.starts_with("ChangeOwnTargetGroups: changes existing resources")),
        "{problems:#?}"
    );
}

#[test]
fn a_create_held_to_the_resource_tag_or_a_change_held_to_the_request_tag_is_reported() {
    let mut statements = policy_statements();
    for condition in &mut statement(&mut statements, "CreateTaggedSecurityGroups").conditions {
        condition.variable = condition.variable.replace("aws:RequestTag", "aws:ResourceTag");
    }
    for condition in &mut statement(&mut statements, "ChangeOwnLoadBalancers").conditions {
        condition.variable = condition.variable.replace("aws:ResourceTag", "aws:RequestTag");
    }
    let problems = check_conditions(&statements);
    assert!(problems.iter().any(|p| p.starts_with("CreateTaggedSecurityGroups: creates")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.starts_with("ChangeOwnLoadBalancers: changes existing")), "{problems:#?}");
}

#[test]
fn a_new_statement_without_the_cluster_tag_is_reported() {
    let mut statements = policy_statements();
    statements.push(Statement {
        sid: "Anything".into(),
        effect: "Allow".into(),
        actions: vec!["elasticloadbalancing:DeleteLoadBalancer".into(), "elasticloadbalancing:DescribeTags".into()],
        resources: vec!["*".into()],
        conditions: Vec::new(),
    });
    let problems = check_conditions(&statements);
    assert!(problems.iter().any(|p| p.starts_with("Anything: mixes describe calls")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.starts_with("Anything: changes existing resources")), "{problems:#?}");
}

#[test]
fn an_exception_that_loses_its_narrowing_or_grows_is_reported() {
    let mut statements = policy_statements();
    statement(&mut statements, "ChangeRulesOfNodeSecurityGroups").conditions.retain(|c| c.test != "Null");
    statement(&mut statements, "CreateSecurityGroupsInClusterVpc").resources = vec!["*".into()];
    statement(&mut statements, "CreateSecurityGroupsInClusterVpc").actions.push("ec2:DeleteSecurityGroup".into());
    let problems = check_conditions(&statements);
    for expected in [
        "ChangeRulesOfNodeSecurityGroups: must require the cluster's node group tag",
        "CreateSecurityGroupsInClusterVpc: must be limited to the cluster's VPC",
        "CreateSecurityGroupsInClusterVpc: an exception",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(expected)), "no {expected:?} in {problems:#?}");
    }
}

#[test]
fn stripping_ownership_tags_or_retagging_for_another_cluster_is_reported() {
    let mut statements = policy_statements();
    statement(&mut statements, "UntagOwnElbResources").conditions.retain(|c| c.variable != "aws:TagKeys");
    statement(&mut statements, "RetagOwnSecurityGroups").conditions.retain(|c| c.test != "StringEqualsIfExists");
    let on_create = statement(&mut statements, "TagElbResourcesOnCreate");
    on_create.conditions.retain(|c| c.variable != "elasticloadbalancing:CreateAction");
    on_create.conditions.push(Condition::new(
        "StringEquals",
        "elasticloadbalancing:CreateAction",
        &["CreateLoadBalancer", "CreateTargetGroup"],
    ));
    let problems = check_conditions(&statements);
    for expected in [
        "UntagOwnElbResources: RemoveTags could strip ownership tags",
        "RetagOwnSecurityGroups: CreateTags on existing resources",
        "TagElbResourcesOnCreate: AddTags during creates",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(expected)), "no {expected:?} in {problems:#?}");
    }
}

#[test]
fn a_variable_without_description_type_or_validation_is_reported() {
    let module = Module::load_only(&["variables.tf"]).unwrap_or_else(|e| panic!("{e}"));
    let mut file = module.files[0].clone();
    let variables = file.json["variable"].as_array_mut().unwrap();
    for item in variables.iter_mut() {
        let (name, body) = item.as_object_mut().unwrap().iter_mut().next().unwrap();
        let body = body.as_object_mut().unwrap();
        match name.trim_matches('"') {
            "cluster_name" => drop(body.remove("description")),
            "vpc_id" => drop(body.remove("validation")),
            "region" => drop(body.remove("type")),
            "release_name" => {
                body.insert(
                    "validation".into(),
                    serde_json::json!([{"condition": "${length(var.other) > 0}", "error_message": "\"x\""}]),
                );
            }
            _ => {}
        }
    }
    let problems = check_variables(&file);
    for expected in [
        "variable \"cluster_name\" has no description",
        "variable \"vpc_id\" (type string) has no validation block",
        "variable \"region\" has no type",
        "variable \"release_name\": validation condition ${length(var.other) > 0} does not read var.release_name",
    ] {
        assert!(problems.iter().any(|p| p.contains(expected)), "no {expected:?} in {problems:#?}");
    }
    assert_eq!(problems.len(), 4, "{problems:#?}");
    // The unchanged file passes.
    assert_none(check_variables(&module.files[0]));
}

// ---- terraform fmt ----

/// `scripts/terraform fmt -check -diff` on `dir`: whether it passed, and what it printed.
fn terraform_fmt_check(dir: &std::path::Path) -> (bool, String) {
    let script = repo_root().join("scripts/terraform");
    let output = std::process::Command::new(&script)
        .args(["fmt", "-check", "-recursive", "-diff", "-no-color"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("failed to run {}: {e}", script.display()));
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), printed)
}

#[test]
fn the_module_is_laid_out_as_terraform_fmt_lays_it_out() {
    let (clean, printed) = terraform_fmt_check(&terraform_dir());
    assert!(
        clean,
        "terraform fmt would change these files (run `scripts/terraform fmt -recursive terraform/`):\n{printed}"
    );
    // The check is real: a file terraform would lay out differently fails it, by name.
    let dir = std::env::temp_dir().join(format!("elbow-terraform-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("crooked.tf"), "variable \"x\" {\n type=string\n}\n").unwrap();
    let (clean, printed) = terraform_fmt_check(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!clean, "terraform fmt -check passed a misformatted file:\n{printed}");
    assert!(printed.contains("crooked.tf") && printed.contains("+  type = string"), "{printed}");
}
