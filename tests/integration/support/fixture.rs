//! The health fixture (`tests/fixtures/health`) as data: `data()`, its series over time for
//! a real Prometheus (backfilled with promtool), and `world()`, its series at one instant
//! for the table of `rackscope_core::testkit`. Both describe the same incidents.

use rackscope_core::testkit::{Series, row};

use super::prom::OpenMetrics;
use super::{load, root};

/// Evaluation time of the first refresh. Data spans T0-600 … T0+300.
pub(crate) const T0: u64 = 1_700_000_000;

/// The fixture's world: all healthy except the incidents each case looks for.
pub(crate) fn data() -> String {
    let config = load(&root().join("tests/fixtures/health/app.yaml")).config;
    let (from, to) = (T0 - 600, T0 + 300);
    let mut om = OpenMetrics::default();
    for i in &config.topology.instances {
        let n = i.name.as_str();
        let up = if n == "node.1" { 0.0 } else { 1.0 };
        om.constant("up", &[("instance", n), ("job", "node")], from, to, up);
        let temp = match n {
            "n03" => 40.0,
            "n04" => 50.0,
            _ => 30.0,
        };
        if n != "n16" {
            om.constant(
                "node_temperature_celsius",
                &[("instance", n)],
                from,
                to,
                temp,
            );
        }
        if n == "n05" {
            // The fan fails at T0 and stays failed: pending, then firing after 1m.
            om.step(
                "node_fan_state",
                &[("instance", n)],
                (from, T0, to),
                0.0,
                2.0,
            );
        } else {
            om.constant("node_fan_state", &[("instance", n)], from, to, 0.0);
        }
    }
    om.constant(
        "up",
        &[("instance", "sw-1"), ("job", "snmp")],
        from,
        to,
        1.0,
    );
    // Decoys an unescaped `node.1` or `a+b` regex would pick up instead of the real ones.
    om.constant(
        "up",
        &[("instance", "nodeX1"), ("job", "node")],
        from,
        to,
        1.0,
    );
    om.constant("up", &[("instance", "aab"), ("job", "node")], from, to, 0.0);
    for d in ["chassis-1", "chassis-2", "chassis-3", "chassis-4"] {
        let v = if d == "chassis-2" { 1.0 } else { 0.0 };
        om.constant("chassis_psu_state", &[("chassis_id", d)], from, to, v);
    }
    for (rack, amps) in [("r01", 4.0), ("r02", 7.0), ("r03", 10.0), ("r10", 30.0)] {
        for inlet in ["I1", "I2"] {
            om.constant(
                "raritan_pdu_current_ampere",
                &[("rack_id", rack), ("pduid", "1"), ("inletid", inlet)],
                from,
                to,
                amps,
            );
        }
    }
    for slot in 1..=6u32 {
        let s = slot.to_string();
        let l = |status| {
            [
                ("instance", "da01-c1"),
                ("slot", s.as_str()),
                ("status", status),
            ]
        };
        match slot {
            3 => om.constant("eseries_drive_status", &l("failed"), from, to, 1.0),
            // Slot 5 fails at T0+100.
            5 => {
                om.constant("eseries_drive_status", &l("optimal"), from, T0 + 99, 0.0);
                om.constant("eseries_drive_status", &l("failed"), T0 + 100, to, 1.0);
            }
            _ => om.constant("eseries_drive_status", &l("optimal"), from, to, 0.0),
        }
    }
    om.finish()
}

/// The fixture's world, as in the health tests: node.1 down (CRIT), n03 warm (WARN), n04 hot
/// (CRIT), n16 without temperature (UNKNOWN), n05's fan failed (pending for 1m),
/// chassis-2's PSU degraded (WARN), r03's PDU over 12 A (WARN), disk slot 3 of da01 failed.
pub(crate) fn world() -> Vec<Series> {
    let config = load(&root().join("tests/fixtures/health/app.yaml")).config;
    let mut s = Vec::new();
    for i in &config.topology.instances {
        let n = i.name.as_str();
        let up = if n == "node.1" { 0.0 } else { 1.0 };
        s.push(row("up", &[("instance", n), ("job", "node")], up));
        let temp = match n {
            "n03" => 40.0,
            "n04" => 50.0,
            _ => 30.0,
        };
        if n != "n16" && n != "da01-c1" {
            s.push(row("node_temperature_celsius", &[("instance", n)], temp));
            s.push(row("node_power_watts", &[("instance", n)], 200.0));
        }
        let fan = if n == "n05" { 2.0 } else { 0.0 };
        s.push(row("node_fan_state", &[("instance", n)], fan));
    }
    s.push(row("up", &[("instance", "sw-1"), ("job", "snmp")], 1.0));
    for d in ["chassis-1", "chassis-2", "chassis-3", "chassis-4"] {
        let v = if d == "chassis-2" { 1.0 } else { 0.0 };
        s.push(row("chassis_psu_state", &[("chassis_id", d)], v));
    }
    for (rack, amps) in [("r01", 4.0), ("r02", 7.0), ("r03", 13.0)] {
        for inlet in ["I1", "I2"] {
            s.push(row(
                "raritan_pdu_current_ampere",
                &[("rack_id", rack), ("inletid", inlet)],
                amps / 2.0,
            ));
            s.push(row(
                "raritan_pdu_activepower_watt",
                &[("rack_id", rack), ("inletid", inlet)],
                amps * 115.0,
            ));
        }
    }
    for slot in 1..=4 {
        let failed = slot == 3;
        let slot = slot.to_string();
        s.push(row(
            "eseries_drive_status",
            &[
                ("instance", "da01-c1"),
                ("slot", &slot),
                ("status", if failed { "failed" } else { "optimal" }),
            ],
            1.0,
        ));
    }
    s
}
