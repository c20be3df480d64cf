//! The Ingress half of `elbow plan`: place each Ingress in its group with the builder's
//! `standing`, as the controller does, then build one stack per group from its members.

use std::collections::BTreeMap;
use std::io::Write;

use elbow_builder::BuildConfig;
use elbow_builder::crd::IngressClassParamsSpec;
use elbow_builder::endpoints::CompactSlice;
use elbow_builder::ingress::{
    DEFAULT_CONTROLLER, GroupId, IngressGroupInput, Standing, build_ingress_stack, standing, unserved_legacy_class,
};
use elbow_model::CloudInventory;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::networking::v1::Ingress;
use kube::ResourceExt;

use super::manifests::Objects;
use super::{PlanError, PlanReport};

pub fn plan(
    objects: &Objects,
    inventory: &CloudInventory,
    config: &BuildConfig,
    report: &mut PlanReport,
    notes: &mut dyn Write,
) -> anyhow::Result<()> {
    let params: BTreeMap<String, IngressClassParamsSpec> =
        objects.ingress_class_params.iter().map(|p| (p.name_any(), p.spec.clone())).collect();
    let nodes: Vec<&Node> = objects.nodes.iter().collect();
    let slices: Vec<CompactSlice> = objects.endpoint_slices.iter().map(CompactSlice::from).collect();
    let slices: Vec<&CompactSlice> = slices.iter().collect();
    let mut groups: BTreeMap<GroupId, (Vec<&Ingress>, Option<IngressClassParamsSpec>)> = BTreeMap::new();
    for ingress in &objects.ingresses {
        let name = format!("Ingress {}/{}", ingress.namespace().unwrap_or_default(), ingress.name_any());
        match standing(ingress, &objects.ingress_classes, &params, DEFAULT_CONTROLLER) {
            Standing::Outside if ingress.metadata.deletion_timestamp.is_some() => {
                writeln!(notes, "note: skipping {name}: it is being deleted")?;
            }
            Standing::Outside => match unserved_legacy_class(ingress, &objects.ingress_classes, DEFAULT_CONTROLLER) {
                Some(warning) => writeln!(notes, "warning: skipping {name}: {warning}")?,
                None => {
                    writeln!(notes, "note: skipping {name}: its class is not served by Elbow ({DEFAULT_CONTROLLER})")?
                }
            },
            Standing::Invalid(error) => report.errors.push(PlanError { object: name, error: error.to_string() }),
            Standing::Member { group, params } => {
                groups.entry(group).or_insert_with(|| (Vec::new(), params)).0.push(ingress)
            }
        }
    }
    for (group, (members, params)) in &groups {
        let input = IngressGroupInput {
            group,
            members: members.clone(),
            services: &objects.services,
            secrets: &objects.secrets,
            nodes: &nodes,
            endpoint_slices: &slices,
            pods: &elbow_builder::endpoints::NoPodFacts,
            inventory,
            certificates: &inventory.certificates,
            params: params.as_ref(),
            config,
        };
        match build_ingress_stack(&input) {
            Ok(stack) => report.stacks.push(stack),
            Err(error) => report.errors.push(PlanError { object: group_label(group), error: error.to_string() }),
        }
    }
    Ok(())
}

fn group_label(group: &GroupId) -> String {
    match group {
        GroupId::Explicit(name) => format!("IngressGroup {name}"),
        GroupId::Implicit { namespace, name } => format!("Ingress {namespace}/{name}"),
    }
}
