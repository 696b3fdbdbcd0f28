//! Status normalisation, the severity map, both mapping forms, and one answer joined to
//! the topology.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::model::slurm::{MappingFile, SlurmFile};

fn slurm(file: &SlurmFile, mapping: Option<&str>) -> (Slurm, Vec<String>) {
    let at: Arc<Path> = Arc::from(Path::new("config.yml"));
    let map_at: Arc<Path> = Arc::from(Path::new("node_mapping.yaml"));
    let mut d = Diagnostics::default();
    let m = mapping.map(|text| {
        let node = crate::yaml::parse(text).unwrap();
        let ctx = crate::yaml::Ctx::new(text, &map_at);
        crate::yaml::decode::<MappingFile>(&node, &ctx).unwrap()
    });
    let s = check(file, &at, m.as_ref().map(|m| (&map_at, m)), &mut d);
    let msgs = d
        .iter()
        .map(|d| format!("{}:{}: {}", d.span.pos.line, d.span.pos.col, d.message))
        .collect();
    (s, msgs)
}

#[test]
fn statuses_are_normalised_as_slurm_prints_them() {
    assert_eq!(normalize(" IDLE "), ("idle".into(), false));
    assert_eq!(normalize("alloc"), ("allocated".into(), false));
    assert_eq!(normalize("drng"), ("draining".into(), false));
    assert_eq!(normalize("pow_dn"), ("power_down".into(), false));
    assert_eq!(normalize("idle*"), ("idle".into(), true));
    assert_eq!(normalize("MIX*"), ("mixed".into(), true));
}

#[test]
fn the_default_map_and_a_star_decide_the_severity() {
    let (s, msgs) = slurm(&SlurmFile::default(), None);
    assert!(msgs.is_empty(), "{msgs:?}");
    let level = |raw: &str| {
        let (status, star) = normalize(raw);
        s.status.level(&status, star)
    };
    assert_eq!(level("idle"), Level::Ok);
    assert_eq!(level("alloc"), Level::Ok);
    assert_eq!(level("mix"), Level::Warn);
    assert_eq!(level("drng"), Level::Crit);
    assert_eq!(level("down"), Level::Crit);
    // Not responding is CRIT whatever the status says.
    assert_eq!(level("idle*"), Level::Crit);
    // A status nobody listed is UNKNOWN, never OK.
    assert_eq!(level("future"), Level::Unknown);
    assert_eq!(
        s.query(),
        "max by (node, status, partition, reason) (slurm_node_status)"
    );
}

#[test]
fn info_is_configurable_and_a_status_listed_twice_is_warned() {
    let text = "status_map:\n  ok: [allocated]\n  info: [idle]\n  crit: [down, idle]\n";
    let node = crate::yaml::parse(text).unwrap();
    let at: Arc<Path> = Arc::from(Path::new("config.yml"));
    let ctx = crate::yaml::Ctx::new(text, &at);
    let file: SlurmFile = crate::yaml::decode(&node, &ctx).unwrap();
    let (s, msgs) = slurm(&file, None);
    assert_eq!(
        s.status.level("idle", false),
        Level::Crit,
        "crit is looked at first"
    );
    assert_eq!(
        msgs,
        ["3:10: status `idle` is also listed as CRIT; CRIT is used"]
    );
    assert_eq!(s.status.level("allocated", false), Level::Ok);
    assert!(Level::Info < Level::Ok && Level::Ok < Level::Unknown && Level::Unknown < Level::Warn);
}

#[test]
fn both_mapping_forms_map_nodes_to_instances() {
    let (s, msgs) = slurm(
        &SlurmFile::default(),
        Some(
            "mappings:\n- {node: 'n*', instance: 'compute*'}\n- {node: login1, instance: login01}\nmapping:\n  'c[001-003]': 'compute[101-103]'\n",
        ),
    );
    assert!(msgs.is_empty(), "{msgs:?}");
    let m = &s.mapping;
    assert_eq!(m.instance("n007"), "compute007");
    assert_eq!(m.instance("login1"), "login01");
    assert_eq!(m.instance("c002"), "compute102");
    assert_eq!(
        m.instance("gpu1"),
        "gpu1",
        "unmapped names are instance names"
    );
    assert_eq!(m.entries.len(), 5);
}

#[test]
fn a_mapping_of_unequal_sizes_or_a_misplaced_star_is_refused_at_its_line() {
    let (_, msgs) = slurm(
        &SlurmFile::default(),
        Some(
            "mappings:\n- {node: 'n*x', instance: 'compute*'}\n- {node: n1, instance: 'c*'}\nmapping:\n  'c[001-480]': 'compute[001-400]'\n  'g[1-2': 'gpu[1-2]'\n",
        ),
    );
    assert_eq!(msgs.len(), 4, "{msgs:?}");
    assert!(
        msgs[0].starts_with("2:10: `n*x` → `compute*`: a `*` ends the node name"),
        "{msgs:?}"
    );
    assert!(msgs[1].starts_with("3:24: `c*` has a `*`"), "{msgs:?}");
    assert!(
        msgs[2].starts_with(
            "5:17: `c[001-480]` names 480 nodes but `compute[001-400]` names 400 instances"
        ),
        "{msgs:?}"
    );
    // An unclosed bracket is a literal name: one node for two instances.
    assert!(
        msgs[3].starts_with("6:12: `g[1-2` names 1 nodes"),
        "{msgs:?}"
    );
}

#[test]
fn an_answer_joins_the_topology_with_partitions_and_the_all_partition_winning() {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/health/app.yaml");
    let topo = crate::load(&app).config.topology;
    let (s, _) = slurm(
        &SlurmFile::default(),
        Some("mappings:\n- {node: 'x*', instance: 'n*'}\n"),
    );
    let rows: Vec<(Labels, f64)> = [
        ("x03", "alloc", "batch", 1.0),
        ("x03", "mix", "gpu", 1.0),
        ("x03", "down", "debug", 0.0),
        ("x04", "drain*", "batch", 1.0),
        ("x05", "idle", "batch", 1.0),
        ("x05", "down", "all", 1.0),
        ("x06", "idle", "batch", 1.0),
        ("x06", "down", "all", 1.0),
        ("ghost", "idle", "batch", 1.0),
    ]
    .iter()
    .map(|(n, st, p, v)| {
        let l: Labels = [("node", *n), ("status", *st), ("partition", *p)]
            .into_iter()
            .collect();
        (l, *v)
    })
    .collect();
    let view = s.join(&topo, rows.iter().map(|(l, v)| (l, *v)));
    let of = |i: &str| view.nodes.get(&topo.instance_ix(i).unwrap()).cloned();
    let n03 = of("n03").unwrap();
    assert_eq!((n03.status.as_str(), n03.level), ("mixed", Level::Warn));
    assert_eq!(n03.partitions, ["batch", "gpu"]);
    assert_eq!(
        n03.statuses,
        ["allocated", "mixed"],
        "a 0 sample is not a status"
    );
    let n04 = of("n04").unwrap();
    assert_eq!((n04.status.as_str(), n04.level), ("drain*", Level::Crit));
    // The status in partition `all` is the one shown, as upstream.
    let n05 = of("n05").unwrap();
    assert_eq!((n05.status.as_str(), n05.level), ("down", Level::Crit));
    assert_eq!(n05.partitions, ["batch"]);
    assert_eq!(of("n07"), None);
    assert_eq!(view.unplaced, ["ghost"]);
}

#[test]
fn per_node_job_counts_map_to_instances_and_hostile_values_are_dropped() {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/health/app.yaml");
    let topo = crate::load(&app).config.topology;
    let file = SlurmFile {
        jobs_metric: Some(Located::new(
            "slurm_node_jobs".into(),
            crate::diag::Pos::FILE,
        )),
        ..SlurmFile::default()
    };
    let (s, msgs) = slurm(&file, Some("mappings:\n- {node: 'x*', instance: 'n*'}\n"));
    assert!(msgs.is_empty(), "{msgs:?}");
    assert_eq!(
        s.jobs_query().as_deref(),
        Some("sum by (node) (slurm_node_jobs)")
    );
    let rows: Vec<(Labels, f64)> = [
        ("x03", 3.0),
        ("x04", f64::NAN),
        ("x05", -1.0),
        ("x06", 1e300),
        ("ghost", 9.0),
    ]
    .iter()
    .map(|(n, v)| ([("node", *n)].into_iter().collect(), *v))
    .collect();
    let jobs = s.jobs(&topo, rows.iter().map(|(l, v)| (l, *v)));
    let of = |i: &str| jobs.get(&topo.instance_ix(i).unwrap()).copied();
    assert_eq!(of("n03"), Some(3));
    assert_eq!(of("n04"), None, "NaN is not a count");
    assert_eq!(of("n05"), None, "nor is a negative value");
    assert_eq!(of("n06"), Some(u32::MAX), "a huge gauge is clamped");
    assert_eq!(jobs.len(), 2);
    // Without the key there is no query: the impact counts busy nodes only.
    assert_eq!(slurm(&SlurmFile::default(), None).0.jobs_query(), None);
}

#[test]
fn a_jobs_metric_that_is_not_a_metric_name_is_refused_at_its_line() {
    let file = SlurmFile {
        jobs_metric: Some(Located::new(
            "sum(x) or vector(1)".into(),
            crate::diag::Pos { line: 7, col: 14 },
        )),
        ..SlurmFile::default()
    };
    let (s, msgs) = slurm(&file, None);
    assert_eq!(
        msgs,
        ["7:14: jobs_metric `sum(x) or vector(1)` is not a Prometheus metric name"]
    );
    assert_eq!(s.jobs_query(), None);
}

#[test]
fn the_health_check_is_a_node_check_evaluated_from_the_slurm_query() {
    let (s, _) = slurm(&SlurmFile::default(), None);
    let def = s.check_def(crate::diag::Pos::FILE);
    assert_eq!(def.id.value, CHECK_ID);
    assert_eq!(def.scope, Scope::Node);
    assert_eq!(def.expr.value, s.query());
    assert!(def.rules.is_empty() && !def.is_scripted());
    assert_eq!(Level::Info.severity(), Severity::Ok);
    assert_eq!(Level::Unknown.severity(), Severity::Unknown);
    assert_eq!(Level::Crit.severity(), Severity::Crit);
}
