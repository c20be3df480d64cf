//! Ingress group -> Stack: one application load balancer per Ingress group, its listeners from
//! the members' listen ports, listener rules from their hosts and paths, a target group per
//! (Ingress, Service, port) — instance mode on the Service's NodePort, ip mode on its pods — the
//! managed frontend security group, and the node-group rules that let the load balancer reach
//! the NodePorts or the pods.
//!
//! Class resolution and group membership ([`standing`]) are here too, so the controller and
//! `elbow plan` decide the same way.
//!
//! Resource ids inside the stack: `LoadBalancer`, `Listener/<port>`,
//! `TargetGroup/<ingress namespace>/<ingress name>/<service>:<port>`, `SecurityGroup/frontend`,
//! `NodeRule/<group>/tcp/<node port>`.

mod actions;
mod auth;
mod class;
mod group;
mod listeners;
mod membership;
mod mutual_tls;
mod params;
mod protection;
mod rules;
mod settings;
mod tags;
mod target_groups;
mod transforms;

use std::collections::BTreeSet;

use crate::endpoints::CompactSlice;
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;

pub use actions::{USE_ANNOTATION, referenced_service_names};
pub use auth::{SECRET_CLIENT_ID, SECRET_CLIENT_ID_LEGACY, SECRET_CLIENT_SECRET, referenced_secret_names};
pub use class::{
    ClassResolution, DEFAULT_CLASS_ANNOTATION, LBC_LEGACY_CLASS, LEGACY_CLASS_ANNOTATION, PARAMS_API_GROUP,
    PARAMS_KIND, resolve_class, unserved_legacy_class,
};
pub use group::{
    GROUP_FINALIZER_PREFIX, GroupId, IMPLICIT_GROUP_FINALIZER, group_finalizer, group_of, group_order, group_stack_id,
    is_valid_group_name,
};
pub use listeners::discovers_certificates;
pub use membership::{Standing, joined_groups, standing};

use crate::annotations::{Object, check};
use crate::config::BuildConfig;
use crate::crd::IngressClassParamsSpec;
use crate::endpoints::PodFacts;
use crate::error::BuildError;
use crate::names::{group_frontend_group_name, group_load_balancer_name};
use crate::nodes::{instance_id, target_nodes};
use crate::security::{client_rules, node_rules, prefix_list_rules, resolve_security_groups, security_group_names};
use auth::AuthSources;
use elbow_model::inventory::{AcmCertificate, CloudInventory};
use elbow_model::stack::*;
use elbow_model::tags::Tags;
use group::{Member, annotations_of, ordered_members};
use listeners::ListenPort;
use settings::GroupSettings;
use tags::GroupTags;
use target_groups::{TargetGroupContext, TargetGroups};

/// The IngressClass controller name Elbow serves unless told otherwise.
pub const DEFAULT_CONTROLLER: &str = "elbow.dev/alb";

/// ELBv2's limit of target groups per application load balancer.
const MAX_TARGET_GROUPS: usize = 100;

/// Everything one group's stack is built from.
pub struct IngressGroupInput<'a> {
    pub group: &'a GroupId,
    /// The group's current members, in any order: the builder orders them by `group.order`, then
    /// namespace/name. Members being deleted or no longer Elbow's are left out by the caller.
    pub members: Vec<&'a Ingress>,
    /// The Services the members reference (others are ignored).
    pub services: &'a [Service],
    /// The Secrets the members' `auth-idp-oidc` name (others are ignored): the OIDC clients.
    pub secrets: &'a [Secret],
    /// Borrowed from the node cache: a reconcile must not copy every node.
    pub nodes: &'a [&'a Node],
    /// EndpointSlices, borrowed from their cache; those of the referenced Services are read
    /// (ip mode only).
    pub endpoint_slices: &'a [&'a CompactSlice],
    /// Which not-ready pods of those slices wait only for their target health.
    pub pods: &'a dyn PodFacts,
    pub inventory: &'a CloudInventory,
    /// The region's issued ACM certificates, for members that name none (certificate discovery;
    /// see [`discovers_certificates`] for when they are needed).
    pub certificates: &'a [AcmCertificate],
    /// The IngressClassParams of the members' class, whose values override annotations.
    pub params: Option<&'a IngressClassParamsSpec>,
    pub config: &'a BuildConfig,
}

/// The names of the ip target groups through which `ingress`, a member of `group` with its
/// class's `params`, sends traffic to one of the Services named `to` (by its rules, its default
/// backend or its `actions.<name>` forwards), named exactly as [`build_ingress_stack`] names them.
/// `services` are the Services of the Ingress's namespace, which its backends resolve against.
/// What the readiness-gate webhook names a new pod's gates after; instance-mode target groups
/// have none.
pub fn ip_target_group_names(
    ingress: &Ingress,
    group: &GroupId,
    params: Option<&IngressClassParamsSpec>,
    services: &[Service],
    to: &BTreeSet<String>,
    config: &BuildConfig,
) -> Vec<String> {
    let Ok(members) = ordered_members(&[ingress]) else { return Vec::new() };
    let Some(member) = members.first() else { return Vec::new() };
    let stack_id = group_stack_id(group);
    let Ok(group_tags) = GroupTags::read(&members, params, config, &stack_id) else { return Vec::new() };
    // Names depend on neither nodes, pods nor the VPC.
    let mut target_groups = TargetGroups::new(TargetGroupContext {
        cluster: &config.cluster_name,
        group,
        services,
        nodes: &[],
        all_nodes: &[],
        slices: &[],
        pods: &crate::endpoints::NoPodFacts,
        target_type: params.and_then(|p| p.target_type),
        vpc_id: "",
        tags: &group_tags,
    });
    let spec = ingress.spec.as_ref();
    let default_backend = spec.and_then(|s| s.default_backend.as_ref());
    let rules = spec.and_then(|s| s.rules.as_ref()).into_iter().flatten();
    let path_backends = rules.flat_map(|rule| rule.http.iter().flat_map(|http| &http.paths)).map(|path| &path.backend);
    for backend in default_backend.into_iter().chain(path_backends) {
        // A backend the build refuses fails the build until it is fixed, and the load balancer
        // keeps what it had; the other backends' target groups are named all the same.
        let _ = actions::backend_action(member, backend, &mut target_groups);
    }
    target_groups.ip_names_for(to)
}

/// The security group names (not ids) the members' `security-groups` annotations list, sorted,
/// once each: the groups the Ingress controller must add to the inventory before building.
pub fn security_groups_named(members: &[&Ingress]) -> Vec<String> {
    let key = format!("{}security-groups", crate::annotations::INGRESS_PREFIX);
    let mut names: Vec<String> = members
        .iter()
        .filter_map(|m| m.metadata.annotations.as_ref()?.get(&key))
        .flat_map(|value| security_group_names(value))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The group's desired stack, or what a user must fix. No members: the empty stack, which
/// deletes whatever the group had.
pub fn build_ingress_stack(input: &IngressGroupInput<'_>) -> Result<Stack, BuildError> {
    let stack_id = group_stack_id(input.group);
    let members = ordered_members(&input.members)?;
    if members.is_empty() {
        return Ok(Stack::empty(stack_id));
    }
    for member in &members {
        check(annotations_of(member.ingress), Object::Ingress).map_err(|e| member.blame(e))?;
    }
    let config = input.config;
    params::refuse_unsupported(input.params)?;
    let settings = GroupSettings::read(&members, input.params, config)?;
    let protection = protection::read(&members, input.params)?;
    let listen = listeners::listen_ports(&members, input.params, settings.ip_address_type, input.certificates)?;
    let ssl_redirect = listeners::ssl_redirect(&members, input.params, &listen)?;
    let group_tags = GroupTags::read(&members, input.params, config, &stack_id)?;
    let tags_for = |resource: &ResourceId| group_tags.resource(resource);
    let nodes = target_nodes(input.nodes);
    let lb_id = ResourceId::new("LoadBalancer");
    let auth = AuthSources { services: input.services, secrets: input.secrets };

    let mut target_groups = TargetGroups::new(TargetGroupContext {
        cluster: &config.cluster_name,
        group: input.group,
        services: input.services,
        nodes: &nodes,
        all_nodes: input.nodes,
        slices: input.endpoint_slices,
        pods: input.pods,
        target_type: input.params.and_then(|p| p.target_type),
        vpc_id: &input.inventory.vpc_id,
        tags: &group_tags,
    });
    let mut stack = Stack::empty(stack_id.clone());
    for listener in &listen {
        let on_port: Vec<&Member<'_>> = listener.members.iter().map(|&i| &members[i]).collect();
        let redirecting = ssl_redirect.filter(|_| listener.protocol == Protocol::Http);
        let (default_actions, rules) = match redirecting {
            // An HTTP listener that redirects answers everything with the redirect.
            Some(https_port) => (vec![actions::redirect_to_https(https_port)], Vec::new()),
            None => (
                default_actions(listener, &on_port, &auth, &mut target_groups)?,
                rules::listener_rules(&on_port, listener.protocol, &auth, &mut target_groups)?,
            ),
        };
        if rules.len() > rules::MAX_RULES_PER_LISTENER {
            return Err(BuildError::TooManyRules { port: listener.port, count: rules.len() });
        }
        let listener_id = ResourceId::new(format!("Listener/{}", listener.port));
        stack.listeners.push(ListenerSpec {
            resource_id: listener_id.clone(),
            load_balancer: lb_id.clone(),
            port: listener.port,
            protocol: listener.protocol,
            certificates: listener.certificates.clone(),
            ssl_policy: listener.ssl_policy.clone(),
            alpn_policy: None,
            mutual_authentication: listener.mutual_authentication.clone(),
            default_actions,
            rules,
            attributes: listener.attributes.clone(),
            tags: tags_for(&listener_id),
        });
    }
    if target_groups.len() > MAX_TARGET_GROUPS {
        return Err(BuildError::TooManyTargetGroups(target_groups.len()));
    }
    let pod_nodes;
    (stack.target_groups, pod_nodes, stack.foreign_target_groups) = target_groups.into_specs();

    let mut security_groups = Vec::new();
    match &settings.security_groups {
        Some(entries) => security_groups
            .extend(resolve_security_groups(entries, input.inventory)?.into_iter().map(SecurityGroupRef::Existing)),
        None => {
            let frontend = frontend_group(input.group, &listen, input.inventory, config, &tags_for);
            security_groups.push(SecurityGroupRef::Managed(frontend.resource_id.clone()));
            stack.security_groups.push(frontend);
        }
    }
    if settings.manage_backend_rules {
        security_groups.push(SecurityGroupRef::SharedBackend);
        // Only the nodes some target group has (`target-node-labels` may leave others out), and
        // those the pods of ip target groups run on (the VPC CNI gives a pod's network interface
        // its node's groups).
        let instances: BTreeSet<&str> = stack
            .target_groups
            .iter()
            .filter(|tg| tg.target_type == TargetType::Instance)
            .flat_map(|tg| tg.targets.iter().map(|t| t.id.as_str()))
            .collect();
        let targeted: Vec<&Node> = input
            .nodes
            .iter()
            .copied()
            .filter(|node| {
                instance_id(node).is_some_and(|id| instances.contains(id))
                    || node.metadata.name.as_ref().is_some_and(|name| pod_nodes.contains(name))
            })
            .collect();
        stack.node_security_group_rules =
            node_rules(&stack.target_groups, &targeted, input.inventory, &config.cluster_name)?;
    }

    let subnets = settings::group_subnets(&members, input.params, settings.scheme, input.inventory, config)?;
    let name = match &settings.name {
        Some(name) => name.clone(),
        None => group_load_balancer_name(&config.cluster_name, input.group, settings.scheme.as_str()),
    };
    let mut lb_tags = tags_for(&lb_id);
    if let Some(units) = settings.capacity_units {
        lb_tags.insert(elbow_model::tags::CAPACITY_UNITS_TAG.to_string(), units.to_string());
    }
    stack.load_balancers.push(LoadBalancerSpec {
        resource_id: lb_id.clone(),
        name,
        lb_type: LoadBalancerType::Application,
        scheme: settings.scheme,
        ip_address_type: settings.ip_address_type,
        subnets,
        subnet_addresses: Vec::new(),
        security_groups,
        attributes: settings.attributes.clone(),
        tags: lb_tags,
        protection,
        capacity_units: settings.capacity_units,
    });
    Ok(stack)
}

/// The listener's default actions: the one default backend among its members (behind its
/// Ingress's authentication, on HTTPS), else a fixed 404.
fn default_actions(
    listener: &ListenPort,
    members: &[&Member<'_>],
    auth: &AuthSources<'_>,
    target_groups: &mut TargetGroups<'_>,
) -> Result<Vec<Action<ResourceId>>, BuildError> {
    let with_default: Vec<(&Member<'_>, &k8s_openapi::api::networking::v1::IngressBackend)> =
        members.iter().filter_map(|m| Some((*m, m.ingress.spec.as_ref()?.default_backend.as_ref()?))).collect();
    match with_default.as_slice() {
        [] => Ok(vec![actions::not_found()]),
        [(member, backend)] => {
            let mut actions = auth.pre_actions(member, backend, listener.protocol).map_err(|e| member.blame(e))?;
            actions.push(actions::backend_action(member, backend, target_groups).map_err(|e| member.blame(e))?);
            Ok(actions)
        }
        [(first, _), (second, _), ..] => Err(BuildError::GroupConflict {
            setting: format!("default backend of listen port {}", listener.port),
            ingresses: [first.key.clone(), second.key.clone()],
            values: ["spec.defaultBackend".into(), "spec.defaultBackend".into()],
        }),
    }
}

/// The managed frontend group: every listener's port open to its CIDRs and prefix lists.
fn frontend_group(
    group: &GroupId,
    listen: &[ListenPort],
    inventory: &CloudInventory,
    config: &BuildConfig,
    tags_for: &dyn Fn(&ResourceId) -> Tags,
) -> SecurityGroupSpec {
    let mut ingress: Vec<IngressRule> =
        listen.iter().flat_map(|l| client_rules(l.port, l.protocol, &l.cidrs)).collect();
    ingress.extend(listen.iter().flat_map(|l| prefix_list_rules(l.port, l.protocol, &l.prefix_lists)));
    ingress.sort();
    ingress.dedup();
    let resource_id = ResourceId::new("SecurityGroup/frontend");
    SecurityGroupSpec {
        group_name: group_frontend_group_name(&config.cluster_name, group),
        description: format!("[elbow] frontend of Ingress group {group}"),
        vpc_id: inventory.vpc_id.clone(),
        ingress,
        tags: tags_for(&resource_id),
        resource_id,
    }
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
