//! The operator's IAM policy (`data "aws_iam_policy_document" "elbow"` in terraform/iam.tf) as
//! statements, and the checks that hold it to the code:
//!
//! - it grants exactly the actions of [`Api::ALL`] and the permissions AWS checks on Elbow's
//!   behalf for them (`DELEGATED_PERMISSIONS`), no more and no fewer;
//! - describe calls sit in unconditioned `"*"` statements (they support nothing narrower);
//! - every other statement carries Elbow's cluster tag condition, on the request tag where the
//!   statement creates resources and on the resource tag otherwise, except the few [`EXCEPTIONS`],
//!   whose own narrowing is checked instead;
//! - tag changes cannot move a resource to another cluster nor strip its ownership tags.

use std::collections::{BTreeMap, BTreeSet};

use elbow_cloud::Api;
use elbow_cloud::api::DELEGATED_PERMISSIONS;
use elbow_model::tags::{CLUSTER_TAG, RESOURCE_TAG, STACK_TAG};
use serde_json::{Map, Value, json};

use crate::hcl::{TfFile, blocks, literal, nested, text, text_list};

/// The policy document's name in `data "aws_iam_policy_document" "<name>"`.
pub const POLICY_DOCUMENT: &str = "elbow";
/// How the cluster name appears in the module.
pub const CLUSTER_NAME: &str = "${var.cluster_name}";
/// How the VPC id appears in the module.
pub const VPC_ID: &str = "${var.vpc_id}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub test: String,
    pub variable: String,
    pub values: Vec<String>,
}

impl Condition {
    pub fn new(test: &str, variable: &str, values: &[&str]) -> Self {
        Self { test: test.into(), variable: variable.into(), values: values.iter().map(|v| v.to_string()).collect() }
    }
}

impl Statement {
    fn has(&self, wanted: &Condition) -> bool {
        self.conditions.contains(wanted)
    }

    fn condition_on(&self, variable: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.variable == variable)
    }

    fn apis(&self) -> Vec<Api> {
        self.actions.iter().filter_map(|a| api_by_action(a)).collect()
    }
}

/// A statement that grants mutating actions without Elbow's cluster tag: why, which actions it may
/// grant, and the narrowing it must carry instead.
pub struct Exception {
    pub sid: &'static str,
    pub actions: &'static [Api],
    pub reason: &'static str,
    check: fn(&Statement) -> Vec<String>,
    /// The permission AWS checks on Elbow's behalf that holds these actions to Elbow's resources
    /// after all, granted elsewhere under the cluster tag condition; `None`: another statement
    /// must grant the actions themselves under it.
    held_by: Option<&'static str>,
}

pub const EXCEPTIONS: &[Exception] = &[
    Exception {
        sid: "CreateSecurityGroupsInClusterVpc",
        actions: &[Api::CreateSecurityGroup],
        reason: "CreateSecurityGroup is also authorized against the VPC, which is not Elbow's and has no tag of it",
        check: only_the_cluster_vpc,
        held_by: None,
    },
    Exception {
        sid: "ChangeRulesOfNodeSecurityGroups",
        actions: &[Api::AuthorizeSecurityGroupIngress, Api::RevokeSecurityGroupIngress],
        reason: "the node security group belongs to the cluster (tagged kubernetes.io/cluster/<name>), and Elbow \
                 admits its backend group there",
        check: only_node_groups_of_the_cluster,
        held_by: None,
    },
    Exception {
        sid: "AssociateWebAclsWithLoadBalancers",
        actions: &[
            Api::AssociateWebACL,
            Api::DisassociateWebACL,
            Api::WafRegionalAssociateWebACL,
            Api::WafRegionalDisassociateWebACL,
        ],
        reason: "the web ACL an annotation names is the user's, made outside Elbow; the load balancer side is held \
                 to Elbow's tag by elasticloadbalancing:SetWebAcl",
        check: only_web_acls_and_application_load_balancers,
        held_by: Some("elasticloadbalancing:SetWebAcl"),
    },
    Exception {
        sid: "RegisterTargetsOfBoundTargetGroups",
        actions: &[Api::RegisterTargets, Api::DeregisterTargets],
        reason: "a TargetGroupBinding binds a target group made outside Elbow, which carries no tag of Elbow's",
        check: only_target_groups,
        held_by: None,
    },
];

/// Calls that create a tagged resource without being called Create*: AuthorizeSecurityGroupIngress
/// creates security group rules, tagged through TagSpecifications.
const CREATING_CALLS_NOT_NAMED_CREATE: &[Api] = &[Api::AuthorizeSecurityGroupIngress];

/// Reads the policy document's statements from the module's files.
pub fn statements(files: &[TfFile]) -> Result<Vec<Statement>, String> {
    let documents: Vec<_> = files
        .iter()
        .flat_map(|f| blocks(&f.json, "data", 2))
        .filter(|b| b.labels == ["aws_iam_policy_document", POLICY_DOCUMENT])
        .collect();
    let [document] = documents.as_slice() else {
        return Err(format!(
            "expected one data \"aws_iam_policy_document\" \"{POLICY_DOCUMENT}\", found {}",
            documents.len()
        ));
    };
    if document.body.contains_key("dynamic") {
        return Err("the policy document has dynamic blocks, which these checks cannot read".into());
    }
    nested(document.body, "statement").into_iter().map(statement).collect()
}

fn statement(body: &Map<String, Value>) -> Result<Statement, String> {
    let sid = body.get("sid").and_then(literal).ok_or("a statement without a literal sid")?;
    for unsupported in ["not_actions", "not_resources", "not_principals", "principals", "dynamic"] {
        if body.contains_key(unsupported) {
            return Err(format!("statement {sid}: {unsupported} is not expected in a permissions policy"));
        }
    }
    let list = |key: &str| {
        body.get(key).and_then(text_list).ok_or_else(|| format!("statement {sid}: {key} must be a list of strings"))
    };
    let conditions = nested(body, "condition")
        .into_iter()
        .map(|c| {
            let field = |key: &str| {
                c.get(key).and_then(text).ok_or_else(|| format!("statement {sid}: condition without {key}"))
            };
            Ok(Condition {
                test: field("test")?,
                variable: field("variable")?,
                values: c
                    .get("values")
                    .and_then(text_list)
                    .ok_or_else(|| format!("statement {sid}: condition values"))?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Statement {
        // Terraform's default when the attribute is left out.
        effect: body.get("effect").and_then(literal).unwrap_or_else(|| "Allow".into()),
        actions: list("actions")?,
        resources: list("resources")?,
        conditions,
        sid,
    })
}

/// `service:Describe*`, `Get*` or `List*`.
fn is_read_action(action: &str) -> bool {
    let name = action.split_once(':').map_or(action, |(_, name)| name);
    ["Describe", "Get", "List"].iter().any(|verb| name.starts_with(verb))
}

fn api_by_action(action: &str) -> Option<Api> {
    Api::ALL.iter().copied().find(|api| api.iam_action() == action)
}

/// The policy's actions equal the code's: names both differences when they do not.
pub fn check_actions(statements: &[Statement]) -> Result<(), String> {
    let granted: BTreeSet<&str> = statements.iter().flat_map(|s| &s.actions).map(String::as_str).collect();
    let called: Vec<String> = Api::ALL.iter().map(|api| api.iam_action()).collect();
    // And what AWS checks on Elbow's behalf for those calls.
    let delegated = DELEGATED_PERMISSIONS.iter().map(|p| p.iam_action);
    let called: BTreeSet<&str> = called.iter().map(String::as_str).chain(delegated).collect();
    let extra: Vec<&str> = granted.difference(&called).copied().collect();
    let missing: Vec<&str> = called.difference(&granted).copied().collect();
    if extra.is_empty() && missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the policy and elbow_cloud::api::Api differ\n  granted but never called ({}): {extra:?}\n  called but not granted ({}): {missing:?}",
        extra.len(),
        missing.len()
    ))
}

/// Every statement's conditions, as the module doc says; one line per problem.
pub fn check_conditions(statements: &[Statement]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sids = BTreeSet::new();
    let mut conditioned_grants: BTreeSet<Api> = BTreeSet::new();
    let mut conditioned_delegated: BTreeSet<&str> = BTreeSet::new();
    for statement in statements {
        let sid = &statement.sid;
        if !sids.insert(sid.as_str()) {
            problems.push(format!("{sid}: sid used twice"));
        }
        if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.push(format!("{sid:?}: IAM allows only letters and digits in a sid"));
        }
        if statement.effect != "Allow" {
            problems.push(format!("{sid}: effect {:?}; the policy only allows", statement.effect));
        }
        let apis = statement.apis();
        let (mutating, reading): (Vec<Api>, Vec<Api>) = apis.iter().partition(|api| api.is_mutating());
        // A permission AWS checks on Elbow's behalf that changes something (SetWebAcl) is held to
        // Elbow's resources like a call of its own.
        let delegated_writes: Vec<&String> =
            statement.actions.iter().filter(|a| api_by_action(a).is_none() && !is_read_action(a)).collect();
        if mutating.is_empty() && !delegated_writes.is_empty() {
            let wanted = Condition::new("StringEquals", &format!("aws:ResourceTag/{CLUSTER_TAG}"), &[CLUSTER_NAME]);
            if !reading.is_empty() || !statement.has(&wanted) {
                problems.push(format!(
                    "{sid}: {delegated_writes:?} change existing resources, so they need their own statement with \
                     {wanted:?}"
                ));
            }
            continue;
        }
        if mutating.is_empty() {
            if statement.resources != ["*"] || !statement.conditions.is_empty() {
                problems.push(format!(
                    "{sid}: describe calls support no resource-level permissions, so they need resources [\"*\"] \
                     and no condition"
                ));
            }
            continue;
        }
        if !reading.is_empty() {
            problems.push(format!("{sid}: mixes describe calls {reading:?} with mutating ones"));
        }
        if let Some(exception) = EXCEPTIONS.iter().find(|e| e.sid == sid) {
            let foreign: Vec<&Api> = mutating.iter().filter(|api| !exception.actions.contains(api)).collect();
            if !foreign.is_empty() {
                problems.push(format!(
                    "{sid}: an exception ({}) may grant only {:?}, not {foreign:?}",
                    exception.reason, exception.actions
                ));
            }
            problems.extend((exception.check)(statement).into_iter().map(|p| format!("{sid}: {p}")));
            continue;
        }
        let cluster_problems = check_cluster_condition(statement, &mutating);
        if cluster_problems.is_empty() {
            conditioned_delegated.extend(delegated_writes.iter().map(|a| a.as_str()));
        }
        problems.extend(cluster_problems.into_iter().map(|p| format!("{sid}: {p}")));
        problems.extend(check_tagging(statement, &mutating).into_iter().map(|p| format!("{sid}: {p}")));
        conditioned_grants.extend(mutating);
    }
    for api in Api::ALL.iter().filter(|api| api.is_mutating()) {
        let held = EXCEPTIONS
            .iter()
            .any(|e| e.actions.contains(api) && e.held_by.is_some_and(|p| conditioned_delegated.contains(p)));
        if !conditioned_grants.contains(api) && !held {
            problems.push(format!("{}: no statement grants it under the cluster tag condition", api.iam_action()));
        }
    }
    problems
}

/// Request tag where the statement creates, resource tag otherwise; either must name the cluster.
fn check_cluster_condition(statement: &Statement, mutating: &[Api]) -> Vec<String> {
    let creating: Vec<bool> = mutating.iter().map(|api| creates(statement, *api)).collect();
    let (key, what) = match (creating.iter().all(|c| *c), creating.iter().any(|c| *c)) {
        (true, _) => ("aws:RequestTag", "creates, so it must require the cluster tag on the request"),
        (false, false) => ("aws:ResourceTag", "changes existing resources, so it must require the cluster tag on them"),
        (false, true) => return vec![format!("mixes create calls with calls on existing resources: {mutating:?}")],
    };
    let wanted = Condition::new("StringEquals", &format!("{key}/{CLUSTER_TAG}"), &[CLUSTER_NAME]);
    if statement.has(&wanted) {
        Vec::new()
    } else {
        vec![format!("{what}: expected condition {wanted:?}, found {:?}", statement.conditions)]
    }
}

/// Whether `api`, granted by `statement`, creates the resource it is authorized on: a Create*
/// call (tags aside), tagging during a create, or authorizing the new rules of
/// AuthorizeSecurityGroupIngress (its security-group-rule resources).
fn creates(statement: &Statement, api: Api) -> bool {
    if is_tagging(api) {
        return tags_on_create(statement);
    }
    if api.name().starts_with("Create") {
        return true;
    }
    CREATING_CALLS_NOT_NAMED_CREATE.contains(&api)
        && !statement.resources.is_empty()
        && statement.resources.iter().all(|r| r.contains(":security-group-rule/"))
}

fn is_tagging(api: Api) -> bool {
    matches!(api, Api::AddTags | Api::CreateTags | Api::RemoveTags | Api::DeleteTags)
}

fn tags_on_create(statement: &Statement) -> bool {
    statement.conditions.iter().any(|c| c.variable.ends_with(":CreateAction"))
}

/// Tagging grants: tagging during a create is limited to exactly the calls that create tagged
/// resources; re-tagging may not name another cluster; untagging may not remove ownership tags.
fn check_tagging(statement: &Statement, mutating: &[Api]) -> Vec<String> {
    let mut problems = Vec::new();
    for api in mutating.iter().copied().filter(|api| is_tagging(*api)) {
        match api {
            Api::AddTags | Api::CreateTags if tags_on_create(statement) => {
                let key = format!("{}:CreateAction", api.service());
                let wanted = creating_calls(api.service());
                match statement.condition_on(&key) {
                    Some(c) if c.test == "StringEquals" && c.values.iter().cloned().collect::<BTreeSet<_>>() == wanted => {}
                    found => problems.push(format!(
                        "{api} during creates must be limited by StringEquals {key} to exactly {wanted:?}, found {found:?}"
                    )),
                }
            }
            Api::AddTags | Api::CreateTags => {
                let wanted =
                    Condition::new("StringEqualsIfExists", &format!("aws:RequestTag/{CLUSTER_TAG}"), &[CLUSTER_NAME]);
                if !statement.has(&wanted) {
                    problems.push(format!(
                        "{api} on existing resources could hand them to another cluster: expected {wanted:?}"
                    ));
                }
            }
            _ => {
                let wanted = Condition::new(
                    "ForAllValues:StringNotEquals",
                    "aws:TagKeys",
                    &[CLUSTER_TAG, STACK_TAG, RESOURCE_TAG],
                );
                let found = statement.condition_on("aws:TagKeys");
                let same = found.is_some_and(|c| {
                    c.test == wanted.test
                        && c.values.iter().collect::<BTreeSet<_>>() == wanted.values.iter().collect::<BTreeSet<_>>()
                });
                if !same {
                    problems.push(format!("{api} could strip ownership tags: expected {wanted:?}, found {found:?}"));
                }
            }
        }
    }
    problems
}

/// The calls of one service that create tagged resources, as IAM's CreateAction names them.
fn creating_calls(service: &str) -> BTreeSet<String> {
    Api::ALL
        .iter()
        .filter(|api| api.service() == service && !is_tagging(**api))
        .filter(|api| api.name().starts_with("Create") || CREATING_CALLS_NOT_NAMED_CREATE.contains(api))
        .map(|api| api.name().to_string())
        .collect()
}

fn only_the_cluster_vpc(statement: &Statement) -> Vec<String> {
    let suffix = format!(":vpc/{VPC_ID}");
    if statement.resources.is_empty() || !statement.resources.iter().all(|r| r.ends_with(&suffix)) {
        return vec![format!("must be limited to the cluster's VPC (…{suffix}), found {:?}", statement.resources)];
    }
    Vec::new()
}

fn only_web_acls_and_application_load_balancers(statement: &Statement) -> Vec<String> {
    let allowed = |r: &String| {
        r.ends_with(":regional/webacl/*") || r.ends_with(":webacl/*") || r.ends_with(":loadbalancer/app/*")
    };
    if statement.resources.is_empty() || !statement.resources.iter().all(allowed) {
        return vec![format!(
            "must be limited to regional web ACLs and application load balancers, found {:?}",
            statement.resources
        )];
    }
    Vec::new()
}

fn only_target_groups(statement: &Statement) -> Vec<String> {
    if statement.resources.is_empty() || !statement.resources.iter().all(|r| r.ends_with(":targetgroup/*")) {
        return vec![format!("must be limited to target groups (…:targetgroup/*), found {:?}", statement.resources)];
    }
    Vec::new()
}

fn only_node_groups_of_the_cluster(statement: &Statement) -> Vec<String> {
    let mut problems = Vec::new();
    let tagged = Condition::new("Null", &format!("aws:ResourceTag/kubernetes.io/cluster/{CLUSTER_NAME}"), &["false"]);
    if !statement.has(&tagged) {
        problems.push(format!("must require the cluster's node group tag: expected {tagged:?}"));
    }
    let in_vpc = statement.condition_on("ec2:Vpc").is_some_and(|c| {
        c.test == "ArnEquals" && c.values.len() == 1 && c.values.iter().all(|v| v.ends_with(&format!(":vpc/{VPC_ID}")))
    });
    if !in_vpc {
        problems.push("must be limited to the cluster's VPC with ArnEquals ec2:Vpc".into());
    }
    if statement.resources.is_empty() || !statement.resources.iter().all(|r| r.ends_with(":security-group/*")) {
        problems.push(format!("must be limited to security groups, found {:?}", statement.resources));
    }
    problems
}

/// The `locals` of the module's files whose value is a string template: `local.<name>` => template.
pub fn string_locals(files: &[TfFile]) -> BTreeMap<String, String> {
    files
        .iter()
        .flat_map(|f| blocks(&f.json, "locals", 0))
        .flat_map(|b| b.body.iter())
        .filter(|(name, _)| !name.starts_with("__"))
        .filter_map(|(name, value)| literal(value).map(|template| (format!("local.{name}"), template)))
        .collect()
}

/// The policy as IAM receives it, with every `${name}` replaced from `values` (repeatedly, so a
/// value may itself hold references), shaped as the aws provider renders it (one-element lists
/// as plain strings).
pub fn render(statements: &[Statement], values: &BTreeMap<String, String>) -> Result<String, String> {
    let resolve = |s: &str| resolve(s, values);
    let one_or_many = |items: Vec<String>| match items.as_slice() {
        [one] => json!(one),
        _ => json!(items),
    };
    let mut rendered = Vec::new();
    for statement in statements {
        let mut out = Map::new();
        out.insert("Sid".into(), json!(statement.sid));
        out.insert("Effect".into(), json!(statement.effect));
        out.insert("Action".into(), one_or_many(statement.actions.clone()));
        out.insert(
            "Resource".into(),
            one_or_many(statement.resources.iter().map(|r| resolve(r)).collect::<Result<_, _>>()?),
        );
        let mut conditions: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for condition in &statement.conditions {
            let values = condition.values.iter().map(|v| resolve(v)).collect::<Result<Vec<_>, _>>()?;
            conditions
                .entry(condition.test.clone())
                .or_default()
                .insert(resolve(&condition.variable)?, one_or_many(values));
        }
        if !conditions.is_empty() {
            out.insert("Condition".into(), json!(conditions));
        }
        rendered.push(Value::Object(out));
    }
    Ok(json!({"Version": "2012-10-17", "Statement": rendered}).to_string())
}

fn resolve(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut current = template.to_string();
    // A bound on the rounds keeps a cycle in the values from looping forever.
    for _ in 0..8 {
        let mut next = current.clone();
        for (name, value) in values {
            next = next.replace(&format!("${{{name}}}"), value);
        }
        if next == current {
            break;
        }
        current = next;
    }
    // What is left of `${` must have come in with a value (a placeholder of the JSON file, such
    // as CloudFormation's `${AWS::Region}`), not from the module.
    let mut unresolved = current.clone();
    for value in values.values() {
        unresolved = unresolved.replace(value.as_str(), "");
    }
    if unresolved.contains("${") {
        return Err(format!("cannot render {template:?}: {current:?} still has a reference"));
    }
    Ok(current)
}

/// The placeholders of `terraform/iam-policy.json`, in place of the module's references: the
/// three CloudFormation pseudo parameters, which `Fn::Sub` fills in as it is, and two parameters
/// the user names (`ClusterName`, `VpcId`), which `Fn::Sub`, CDK's `Fn.sub` or `sed` fill in.
pub const JSON_PLACEHOLDERS: &[(&str, &str)] = &[
    ("local.partition", "${AWS::Partition}"),
    ("local.region", "${AWS::Region}"),
    ("local.account", "${AWS::AccountId}"),
    ("var.cluster_name", "${ClusterName}"),
    ("var.vpc_id", "${VpcId}"),
];

/// The module's file that holds the policy as JSON, for those who do not use Terraform.
pub const JSON_POLICY_FILE: &str = "iam-policy.json";

/// The policy as `terraform/iam-policy.json` holds it: the statements of the module's files,
/// rendered with [`JSON_PLACEHOLDERS`], pretty-printed.
pub fn json_policy(files: &[TfFile]) -> Result<String, String> {
    let statements = statements(files)?;
    let mut values = string_locals(files);
    values.extend(JSON_PLACEHOLDERS.iter().map(|(name, placeholder)| (name.to_string(), placeholder.to_string())));
    let rendered: Value =
        serde_json::from_str(&render(&statements, &values)?).map_err(|e| format!("rendered no JSON: {e}"))?;
    let mut text = serde_json::to_string_pretty(&rendered).map_err(|e| format!("failed to print the policy: {e}"))?;
    text.push('\n');
    Ok(text)
}

/// Reads an IAM policy document (the JSON file) back into statements, with the two user-named
/// placeholders turned back into the module's references, so that the checks above hold the JSON
/// file to the code exactly as they hold the module.
pub fn statements_from_json(text: &str) -> Result<Vec<Statement>, String> {
    let document: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let back = |s: &str| {
        JSON_PLACEHOLDERS
            .iter()
            .filter(|(name, _)| name.starts_with("var."))
            .fold(s.to_string(), |s, (name, placeholder)| s.replace(placeholder, &format!("${{{name}}}")))
    };
    let strings = |value: Option<&Value>, what: &str, sid: &str| -> Result<Vec<String>, String> {
        match value {
            Some(Value::String(one)) => Ok(vec![back(one)]),
            Some(Value::Array(many)) => many
                .iter()
                .map(|v| v.as_str().map(back).ok_or_else(|| format!("statement {sid}: {what} holds a non-string")))
                .collect(),
            _ => Err(format!("statement {sid}: {what} must be a string or a list of strings")),
        }
    };
    let list = document.get("Statement").and_then(Value::as_array).ok_or("no Statement list")?;
    list.iter()
        .map(|item| {
            let sid = item.get("Sid").and_then(Value::as_str).ok_or("a statement without a Sid")?.to_string();
            let mut conditions = Vec::new();
            for (test, variables) in item.get("Condition").and_then(Value::as_object).into_iter().flatten() {
                let variables =
                    variables.as_object().ok_or_else(|| format!("statement {sid}: condition {test} is no object"))?;
                for (variable, values) in variables {
                    conditions.push(Condition {
                        test: test.clone(),
                        variable: back(variable),
                        values: strings(Some(values), "a condition's values", &sid)?,
                    });
                }
            }
            Ok(Statement {
                effect: item.get("Effect").and_then(Value::as_str).unwrap_or_default().to_string(),
                actions: strings(item.get("Action"), "Action", &sid)?,
                resources: strings(item.get("Resource"), "Resource", &sid)?,
                conditions,
                sid,
            })
        })
        .collect()
}

/// IAM counts a policy's size without whitespace.
pub fn iam_size(policy: &str) -> usize {
    policy.chars().filter(|c| !c.is_whitespace()).count()
}
