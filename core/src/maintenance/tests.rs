//! Maintenance windows at fixed instants: the fixture's file in the Python version's format,
//! statuses, naive and offset times, and what the active windows cover at each level.

use std::path::PathBuf;

use super::*;
use crate::load::{load_with_env, maintenances_of};

fn fixture() -> crate::Config {
    let app =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/maintenance/app.yaml");
    let loaded = load_with_env(&app, std::iter::empty());
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    loaded.config
}

fn at(s: &str) -> i64 {
    parse_time(s, None).unwrap()
}

#[test]
fn the_upstream_file_loads_with_its_times_and_statuses() {
    let config = fixture();
    let m = &config.maintenances;
    assert_eq!(m.windows.len(), 6);
    let w = m.get("3f2a9c1b7d4e").unwrap();
    assert_eq!(w.entry.target_type, TargetType::Rack);
    assert_eq!(w.effect(), Effect::Hide);
    assert_eq!(w.created, Some(at("2026-12-01T07:55:12Z")));
    // Every transition, at fixed instants.
    assert_eq!(w.status(at("2026-12-01T07:59:59Z")), Status::Scheduled);
    assert_eq!(w.status(at("2026-12-01T08:00:00Z")), Status::Active);
    assert_eq!(w.status(at("2026-12-01T11:59:59Z")), Status::Active);
    assert_eq!(w.status(at("2026-12-01T12:00:00Z")), Status::Expired);
    // Open-ended: active from the start of time until stopped.
    let open = m.get("a1b2c3d4e5f6").unwrap();
    assert_eq!(open.status(0), Status::Active);
    assert_eq!(open.effect(), Effect::Badge);
    // Stopped: expired from then on, whatever `expires_at` says.
    let stopped = m.get("stopped-early").unwrap();
    assert_eq!(stopped.status(at("2026-12-01T09:00:00Z")), Status::Expired);
}

#[test]
fn a_time_without_an_offset_is_read_in_the_sites_time_zone() {
    let config = fixture();
    let w = config.maintenances.get("0a0b0c0d0e0f").unwrap();
    // 02:00 in Paris in December is 01:00 UTC; "2026-12-05 04:00" is 03:00 UTC.
    assert_eq!(w.starts, Some(at("2026-12-05T01:00:00Z")));
    assert_eq!(w.expires, Some(at("2026-12-05T03:00:00Z")));
    // Without a site time zone, UTC; in summer, Paris is two hours ahead.
    assert_eq!(
        parse_time("2026-12-05T02:00:00", None),
        Ok(at("2026-12-05T02:00:00Z"))
    );
    assert_eq!(
        parse_time("2026-07-01T02:00", Some("Europe/Paris")),
        Ok(at("2026-07-01T00:00:00Z"))
    );
    assert_eq!(
        parse_time("2026-12-05", None),
        Ok(at("2026-12-05T00:00:00Z"))
    );
    assert_eq!(
        parse_time("2026-12-05T02:00:00+05:30", Some("Europe/Paris")),
        Ok(at("2026-12-04T20:30:00Z"))
    );
    assert!(parse_time("next tuesday", None).is_err());
    assert!(parse_time("2026-12-05T02:00", Some("Mars/Olympus")).is_err());
    assert_eq!(
        format_time(at("2026-12-05T01:00:00Z")),
        "2026-12-05T01:00:00Z"
    );
}

#[test]
fn bad_entries_are_errors_at_their_line_and_unknown_targets_warnings() {
    let config = fixture();
    let text = "maintenances:\n\
- id: a\n  target_type: rack\n  target_id: r01\n  starts_at: soon\n\
- id: b\n  target_type: shelf\n  target_id: r01\n\
- id: c\n  target_type: rack\n  target_id: r99\n\
- id: c\n  target_type: rack\n  target_id: r01\n\
- id: d\n  target_type: rack\n  target_id: r01\n  starts_at: 2026-12-02T10:00:00Z\n  expires_at: 2026-12-02T09:00:00Z\n\
- id: e\n  target_type: rack\n  target_id: r01\n  check: nothing-like-it\n";
    let (m, diags) = maintenances_of(&config, Some(text));
    let errors: Vec<(u32, String)> = diags
        .errors()
        .map(|d| (d.span.pos.line, d.message.clone()))
        .collect();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert_eq!(errors[0].0, 5, "{errors:?}");
    assert!(
        errors[0].1.contains("`starts_at: soon` is not a time"),
        "{errors:?}"
    );
    assert_eq!(errors[1].0, 7, "{errors:?}");
    assert!(
        errors[2].1.contains("used twice (first at line 9)"),
        "{errors:?}"
    );
    assert!(
        errors[3].1.contains("expires_at is not after starts_at"),
        "{errors:?}"
    );
    let warnings: Vec<String> = diags.warnings().map(|d| d.message.clone()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("no rack `r99`")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("`nothing-like-it`")),
        "{warnings:?}"
    );
    // The good ones are kept.
    assert_eq!(
        m.windows
            .iter()
            .map(|w| w.entry.id.as_str())
            .collect::<Vec<_>>(),
        ["c", "e"]
    );
    // The fixture's long-expired window on a rack that is gone says nothing.
    let (_, diags) = maintenances_of(&config, None);
    assert_eq!(diags.iter().count(), 0, "{diags:?}");
}

#[test]
fn coverage_follows_the_hierarchy_and_the_check_filter() {
    let config = fixture();
    let topo = &config.topology;
    let r01 = topo.rack_ix("r01").unwrap();
    let r02 = topo.rack_ix("r02").unwrap();
    let r03 = topo.rack_ix("r03").unwrap();
    // 10:30 on Dec 1: r02 hidden (whole rack), n03 badged, eseries checks of r01 hidden;
    // aisle-2 was stopped at 09:30.
    let c = Coverage::new(
        &config.maintenances,
        &config.topology,
        &config.check_kinds,
        at("2026-12-01T10:30:00Z"),
    );
    assert_eq!(
        c.windows().map(|w| w.entry.id.as_str()).collect::<Vec<_>>(),
        ["3f2a9c1b7d4e", "a1b2c3d4e5f6", "disks-r01"]
    );
    assert_eq!(
        c.rack(r02).map(|w| w.entry.id.as_str()),
        Some("3f2a9c1b7d4e")
    );
    assert!(
        c.rack(r01).is_none(),
        "a check-limited window does not cover the rack"
    );
    assert!(c.touches_rack(r01) && c.touches_rack(r02) && !c.touches_rack(r03));
    let da01 = topo.device_ix("da01").unwrap();
    let mut p = c.rack_place(r01);
    p.device = Some(da01);
    assert_eq!(
        c.check(&p, "eseries_drive_status")
            .map(|w| w.entry.id.as_str()),
        Some("disks-r01")
    );
    assert!(c.check(&p, "node_up").is_none());
    // An instance named by a device target (upstream's way).
    let chassis = topo.device_ix("chassis-1").unwrap();
    let mut n03 = c.rack_place(r01);
    n03.device = Some(chassis);
    n03.instance = topo.instance_ix("n03");
    assert_eq!(
        c.check(&n03, "node_up").map(|w| w.entry.id.as_str()),
        Some("a1b2c3d4e5f6")
    );
    n03.instance = topo.instance_ix("n04");
    assert!(c.check(&n03, "node_up").is_none());
    // The site window, at its local time: the whole site and everything in it.
    let c = Coverage::new(
        &config.maintenances,
        &config.topology,
        &config.check_kinds,
        at("2026-12-05T01:30:00Z"),
    );
    let dc1 = topo.site_ix("dc1").unwrap();
    let room_a = topo.room_ix("room-a").unwrap();
    assert_eq!(
        c.site(dc1).map(|w| w.entry.id.as_str()),
        Some("0a0b0c0d0e0f")
    );
    assert!(c.room(room_a).is_some() && c.rack(r03).is_some());
    assert!(c.device(chassis).is_some());
    let r10 = topo.rack_ix("r10").unwrap();
    assert!(c.rack(r10).is_none(), "dc2 is not in maintenance");
    // An aisle window: r03 (aisle-2) whole, r01 (aisle-1) not. (The fixture's aisle window
    // was stopped: `ended_at` makes a window expired at every instant, as upstream.)
    let stopped = config.maintenances.get("stopped-early").unwrap();
    assert_eq!(stopped.status(at("2026-12-01T08:30:00Z")), Status::Expired);
    let text = "maintenances:\n- id: a2\n  target_type: aisle\n  target_id: aisle-2\n  reason: x\n";
    let (m, _) = maintenances_of(&config, Some(text));
    let c = Coverage::new(&m, &config.topology, &config.check_kinds, 0);
    assert_eq!(c.rack(r03).map(|w| w.entry.id.as_str()), Some("a2"));
    assert!(c.rack(r01).is_none());
    // An instance target names one instance, whatever rack it is in.
    let text = "maintenances:\n- id: one\n  target_type: instance\n  target_id: n09\n  reason: x\n";
    let (m, diags) = maintenances_of(&config, Some(text));
    assert!(!diags.has_errors(), "{diags:?}");
    let c = Coverage::new(&m, &config.topology, &config.check_kinds, 0);
    let chassis3 = topo.device_ix("chassis-3").unwrap();
    let mut p = c.rack_place(r03);
    p.device = Some(chassis3);
    p.instance = topo.instance_ix("n09");
    assert!(c.check(&p, "node_up").is_some());
    p.instance = topo.instance_ix("n10");
    assert!(c.check(&p, "node_up").is_none());
    assert!(
        c.device(chassis3).is_none(),
        "one instance is not its whole device"
    );
    assert!(c.touches_rack(r03) && c.rack(r03).is_none());
}

#[test]
fn a_repeating_window_is_active_only_during_its_occurrences_in_site_time() {
    // Sundays 02:00-04:00 in Paris (UTC+1 in December): 01:00-03:00 UTC.
    let r = Recurrence::parse("sunday 02:00-04:00", Some("Europe/Paris")).unwrap();
    assert!(!r.occurring(at("2026-12-06T00:59:00Z")));
    assert!(r.occurring(at("2026-12-06T01:00:00Z")));
    assert!(r.occurring(at("2026-12-06T02:59:00Z")));
    assert!(!r.occurring(at("2026-12-06T03:00:00Z")));
    assert!(!r.occurring(at("2026-12-07T01:30:00Z")), "Monday");
    // Past midnight: Saturday 22:00 to Sunday 06:00, and Sunday night to Monday.
    let r = Recurrence::parse("sat,sun 22:00-06:00", None).unwrap();
    assert!(r.occurring(at("2026-12-05T23:00:00Z")), "Saturday night");
    assert!(r.occurring(at("2026-12-06T05:59:00Z")), "Sunday morning");
    assert!(
        r.occurring(at("2026-12-07T05:00:00Z")),
        "Monday morning, after Sunday night"
    );
    assert!(!r.occurring(at("2026-12-08T05:00:00Z")), "Tuesday morning");
    assert!(
        Recurrence::parse("weekdays 12:00-13:00", None)
            .unwrap()
            .occurring(at("2026-12-02T12:30:00Z"))
    );
    for bad in [
        "sunday",
        "funday 01:00-02:00",
        "sun 25:00-26:00",
        "sun 01:00-01:00",
        "sun 1-2",
    ] {
        assert!(Recurrence::parse(bad, None).is_err(), "{bad}");
    }
    // In a file: scheduled between occurrences, active during one, expired after its end.
    let config = fixture();
    let text = "maintenances:\n- id: weekly\n  target_type: site\n  target_id: dc1\n  reason: Weekly window\n  every: sun 02:00-04:00\n  expires_at: 2027-01-01T00:00:00Z\n";
    let (m, diags) = maintenances_of(&config, Some(text));
    assert!(!diags.has_errors(), "{diags:?}");
    let w = m.get("weekly").unwrap();
    assert_eq!(w.status(at("2026-12-05T12:00:00Z")), Status::Scheduled);
    assert_eq!(w.status(at("2026-12-06T01:30:00Z")), Status::Active);
    assert_eq!(w.status(at("2027-01-03T01:30:00Z")), Status::Expired);
    let (_, diags) = maintenances_of(&config, Some(&text.replace("sun 02:00", "someday 02:00")));
    let e = diags.errors().next().unwrap();
    assert_eq!(e.span.pos.line, 6, "{e:?}");
}

#[test]
fn a_reach_names_the_level_found_and_the_node_names_under_it() {
    let config = fixture();
    let topo = &config.topology;
    let reach = |t, id| Reach::of(topo, t, id).unwrap();
    // A rack: every instance, and the id of its device without instances (sw-1), in order.
    let r01 = reach(TargetType::Rack, "r01");
    assert_eq!((r01.level(), r01.id()), (TargetType::Rack, "r01"));
    assert_eq!(
        r01.nodes(100).unwrap(),
        ["node.1", "a+b", "n03", "n04", "sw-1", "da01-c1"]
    );
    // Past the bound: nothing, rather than a partial list.
    assert!(r01.nodes(5).is_none());
    assert_eq!(r01.nodes(6).unwrap().len(), 6);
    // A device target naming an instance is that instance (upstream's way).
    let n03 = reach(TargetType::Device, "n03");
    assert_eq!(
        (n03.level(), n03.nodes(10).unwrap()),
        (TargetType::Instance, vec!["n03"])
    );
    let chassis = reach(TargetType::Device, "chassis-2");
    assert_eq!(chassis.level(), TargetType::Device);
    assert_eq!(chassis.nodes(10).unwrap(), ["n05", "n06", "n07", "n08"]);
    assert_eq!(
        reach(TargetType::Aisle, "aisle-2").nodes(100).unwrap(),
        ["n09", "n10", "n11", "n12"]
    );
    let dc1 = reach(TargetType::Site, "dc1").nodes(100).unwrap();
    assert_eq!(dc1.len(), 14);
    assert_eq!(reach(TargetType::Room, "room-a").nodes(100).unwrap(), dc1);
    let dc2 = reach(TargetType::Site, "dc2").nodes(100).unwrap();
    assert_eq!(dc2, ["n13", "n14", "n15", "n16", "panel-1"]);
    assert!(Reach::of(topo, TargetType::Rack, "r99").is_none());
    assert!(Reach::of(topo, TargetType::Instance, "chassis-1").is_none());
}

#[test]
fn a_windows_activity_ends_with_its_occurrence_or_its_expiry() {
    // Sundays 02:00-04:00 in Paris: the occurrence of 6 December ends at 03:00 UTC.
    let r = Recurrence::parse("sunday 02:00-04:00", Some("Europe/Paris")).unwrap();
    assert_eq!(
        r.occurrence_end(at("2026-12-06T01:30:00Z")),
        Some(at("2026-12-06T03:00:00Z"))
    );
    assert_eq!(r.occurrence_end(at("2026-12-06T03:00:00Z")), None);
    // Past midnight: from the evening, the next morning; from the morning, that morning.
    let r = Recurrence::parse("sat 22:00-06:00", None).unwrap();
    assert_eq!(
        r.occurrence_end(at("2026-12-05T23:00:00Z")),
        Some(at("2026-12-06T06:00:00Z"))
    );
    assert_eq!(
        r.occurrence_end(at("2026-12-06T05:59:00Z")),
        Some(at("2026-12-06T06:00:00Z"))
    );
    let config = fixture();
    let text = "maintenances:\n- id: weekly\n  target_type: site\n  target_id: dc2\n  reason: Weekly\n  every: sat 22:00-06:00\n  expires_at: 2026-12-06T02:00:00Z\n- id: plain\n  target_type: rack\n  target_id: r10\n  reason: Plain\n  expires_at: 2026-12-09T00:00:00Z\n- id: open\n  target_type: rack\n  target_id: r10\n  reason: Open\n";
    let (m, diags) = maintenances_of(&config, Some(text));
    assert!(!diags.has_errors(), "{diags:?}");
    let t = at("2026-12-05T23:00:00Z");
    // Expiring before its occurrence ends: the expiry.
    assert_eq!(
        m.get("weekly").unwrap().active_until(t),
        Some(at("2026-12-06T02:00:00Z"))
    );
    assert_eq!(
        m.get("plain").unwrap().active_until(t),
        Some(at("2026-12-09T00:00:00Z"))
    );
    assert_eq!(m.get("open").unwrap().active_until(t), None);
}
