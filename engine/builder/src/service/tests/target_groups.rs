use super::*;

#[test]
fn target_node_labels_narrow_the_targets() {
    let mut labelled = nodes();
    labelled[1].metadata.labels.get_or_insert_default().insert("pool".into(), "web".into());
    let svc = service(&[("target-node-labels", "pool=web")]);
    let stack =
        build_service_stack(&svc, &borrowed(&labelled), &[], &crate::endpoints::NoPodFacts, &inventory(), &config())
            .expect("built");
    assert_eq!(stack.target_groups[0].targets, [Target::new("i-2", 31000)]);
}
