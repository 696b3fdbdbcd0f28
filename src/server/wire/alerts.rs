//! `GET /api/alerts/active`: each alert with its full physical location.

use rackscope_core::maintenance::Maintenances;
use rackscope_core::read::{LocatedAlert, located_alerts_where};
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::RackIx;
use serde::Serialize;
use utoipa::ToSchema;

/// One alert of `GET /api/alerts/active` (seed 003), with the aisle and U position added
/// so that the operator sees the full physical location.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct AlertView<'a> {
    /// `node` or `rack`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<&'a str>,
    #[schema(value_type = String)]
    pub state: &'static str,
    pub checks: Vec<AlertCheckView<'a>>,
    pub site_id: &'a str,
    pub site_name: &'a str,
    pub room_id: &'a str,
    pub room_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aisle_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aisle_name: Option<&'a str>,
    pub rack_id: &'a str,
    pub rack_name: &'a str,
    /// The rack's qualified path (`site/room/aisle/rack`): unique where `rack_id` is
    /// unique only among its siblings.
    #[schema(required = false)]
    pub rack_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u_position: Option<u32>,
    /// The maintenance window the alert is badged with (a `badge` window covers it). The
    /// windows active at the snapshot's publication apply to the whole list: what a `hide`
    /// window covers is left out (a check it covers is removed from its alert, the alert
    /// when none is left).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<MaintenanceMark>,
    /// Finer than `type`: `node`, `chassis` (a device's own checks), `rack`, or `slot` (a
    /// virtual node of an `expand_by_label` check, such as a disk).
    #[schema(value_type = String)]
    pub target_type: &'static str,
    /// When the target went into alert (unix seconds): the first refresh of the run in
    /// which it has been WARN or CRIT, kept across an escalation.
    pub active_since: i64,
    /// A worse state the target holds but that has not yet lasted its `for:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingMark>,
}

/// A pending `for:` state: the severity and since when (unix seconds).
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct PendingMark {
    #[schema(value_type = String)]
    pub severity: &'static str,
    pub since: i64,
}

fn unix(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// A maintenance marker: the upstream `{id, reason}`, and the effect.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct MaintenanceMark {
    pub id: String,
    pub reason: String,
    #[schema(value_type = String)]
    pub effect: &'static str,
}

impl MaintenanceMark {
    pub fn of(w: &rackscope_core::maintenance::Window) -> MaintenanceMark {
        MaintenanceMark {
            id: w.entry.id.clone(),
            reason: w.entry.reason.clone(),
            effect: w.effect().as_str(),
        }
    }
}

#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct AlertCheckView<'a> {
    pub id: &'a str,
    #[schema(value_type = String)]
    pub severity: &'static str,
    /// The failing virtual node of an `expand_by_label` check (a disk slot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// What the check's script said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

impl<'a> From<LocatedAlert<'a>> for AlertView<'a> {
    fn from(a: LocatedAlert<'a>) -> AlertView<'a> {
        let target_type = a.target_type().as_str();
        let active_since = unix(a.since);
        let pending = a.pending.map(|p| PendingMark {
            severity: p.severity.as_str(),
            since: unix(p.since),
        });
        AlertView {
            target_type,
            active_since,
            pending,
            kind: match a.kind {
                rackscope_core::read::AlertKind::Rack => "rack",
                rackscope_core::read::AlertKind::Node => "node",
            },
            node_id: a.node_id(),
            state: a.state.as_str(),
            checks: a
                .checks
                .iter()
                .map(|c| AlertCheckView {
                    id: c.id,
                    severity: c.severity.as_str(),
                    slot: c.slot,
                    value: c.value,
                    message: c.message,
                })
                .collect(),
            site_id: &a.site.id,
            site_name: &a.site.name,
            room_id: &a.room.id,
            room_name: &a.room.name,
            aisle_id: a.aisle.map(|x| x.id.as_str()),
            aisle_name: a.aisle.map(|x| x.name.as_str()),
            rack_id: &a.rack.id,
            rack_name: &a.rack.name,
            rack_path: [
                Some(a.site.id.as_str()),
                Some(a.room.id.as_str()),
                a.aisle.map(|x| x.id.as_str()),
                Some(a.rack.id.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/"),
            device_id: a.device.map(|d| d.id.as_str()),
            device_name: a.device.map(|d| d.name.as_str()),
            u_position: a.device.map(|d| d.u_position),
            maintenance: None,
        }
    }
}

/// `GET /api/alerts/active`: worst first.
#[derive(Serialize, ToSchema)]
pub struct ActiveAlerts<'a> {
    pub alerts: Vec<AlertView<'a>>,
}

/// The alerts as every list shows them: those a `hide` window covers left out, the others
/// badged with their window (`core::maintenance::Coverage::apply`).
pub fn alert_views<'a>(snap: &'a Snapshot, m: &'a Maintenances) -> Vec<AlertView<'a>> {
    alert_views_where(snap, m, |_| true)
}

/// The views of the alerts whose rack passes `keep`, in the same order.
pub fn alert_views_where<'a>(
    snap: &'a Snapshot,
    m: &'a Maintenances,
    keep: impl Fn(RackIx) -> bool,
) -> Vec<AlertView<'a>> {
    let cover = rackscope_core::read::maintenance::coverage(m, snap);
    rackscope_core::read::maintenance::apply(&cover, located_alerts_where(snap, keep))
        .into_iter()
        .map(|marked| AlertView {
            maintenance: marked.maintenance.map(MaintenanceMark::of),
            ..AlertView::from(marked.alert)
        })
        .collect()
}
