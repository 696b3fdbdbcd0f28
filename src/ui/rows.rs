//! The rows several pages share: an alert with its physical path, a check result, a
//! count card.

use rackscope_core::read::CheckOutcome;
use serde::Serialize;

use super::draw::{self, St};
use super::urls::{device_url, rack_device_url, rack_url};

/// One alert as the tables list it, with its full physical path.
#[derive(Debug, Serialize)]
pub struct AlertRow {
    pub st: St,
    pub name: String,
    pub url: String,
    pub rack_url: String,
    pub path: String,
    pub checks: String,
    /// The window a `badge` maintenance marks the alert with.
    pub maintenance: Option<crate::ui::maint::Maint>,
}

/// A row of an alert list: `m` is the alert as the lists show it (maintenance applied).
pub fn alert_row(
    topo: &rackscope_core::topology::Topology,
    m: &rackscope_core::read::maintenance::Marked<'_, '_>,
) -> AlertRow {
    let a = &m.alert;
    let mut path = vec![a.site.name.as_str(), a.room.name.as_str()];
    if let Some(x) = a.aisle {
        path.push(&x.name);
    }
    path.push(&a.rack.name);
    let mut path = path.join(" › ");
    let device = a.device;
    if let Some(d) = device {
        path.push_str(&format!(" › U{}", d.u_position));
    }
    let checks = a
        .checks
        .iter()
        .map(|c| {
            let mut s = c.id.to_owned();
            if let Some(slot) = c.slot {
                s.push_str(&format!(" [{slot}]"));
            }
            if let Some(v) = c.value {
                s.push_str(&format!(" = {}", draw::value_text(v, "")));
            }
            if let Some(m) = c.message {
                s.push_str(&format!(": {m}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rack_id = a.rack.id.as_str();
    AlertRow {
        st: St::of(Some(a.state)),
        name: a
            .node_id()
            .or(device.map(|d| d.name.as_str()))
            .unwrap_or(rack_id)
            .to_owned(),
        url: match a.device_ix {
            Some(d) => device_url(topo, d),
            None => rack_url(topo, a.rack_ix),
        },
        rack_url: match a.device_ix {
            Some(d) => rack_device_url(topo, d),
            None => rack_url(topo, a.rack_ix),
        },
        path,
        checks,
        maintenance: m.maintenance.map(crate::ui::maint::Maint::of),
    }
}

/// A check result as the rack and device pages list it.
#[derive(Debug, Serialize)]
pub struct CheckRow {
    pub id: String,
    pub name: String,
    pub st: St,
    pub value: String,
    pub pending: Option<String>,
    pub message: String,
}

pub fn check_row(c: &CheckOutcome<'_>) -> CheckRow {
    CheckRow {
        id: c.id.to_owned(),
        name: c.name.to_owned(),
        st: St::of(Some(c.severity)),
        value: c
            .value
            .map_or_else(|| "–".to_owned(), |v| draw::value_text(v, "")),
        pending: c.pending.map(|p| format!("pending {}", p.as_str())),
        message: c
            .message
            .or(c.reason)
            .or(c.description)
            .map(str::to_owned)
            .unwrap_or_default(),
    }
}

#[derive(Debug, Serialize)]
pub struct Card {
    pub st: St,
    pub num: usize,
    pub label: String,
}
