//! Maintenance windows on the pages: the alerts as the lists show them (what a `hide`
//! window covers left out, the rest badged) and the marker a rack, room, site or device
//! in maintenance carries. The state under a marker stays shown: a window never hides
//! what the checks found from the page about the thing itself.

use rackscope_core::Config;
use rackscope_core::maintenance::{Coverage, Maintenances, Window, format_time};
use rackscope_core::read::located_alerts_where;
use rackscope_core::read::maintenance::{Marked, apply, coverage};
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::RackIx;
use serde::Serialize;

/// What a page says of a window that covers something it shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Maint {
    pub id: String,
    pub reason: String,
    /// `hide` or `badge`.
    pub effect: &'static str,
    /// The tooltip: reason, end and who started it.
    pub title: String,
}

impl Maint {
    pub fn of(w: &Window) -> Maint {
        let until = w.expires.map_or_else(
            || "until stopped".to_owned(),
            |t| format!("until {}", format_time(t)),
        );
        let by = w
            .entry
            .created_by
            .as_deref()
            .map_or_else(String::new, |b| format!(", by {b}"));
        Maint {
            id: w.entry.id.clone(),
            reason: w.entry.reason.clone(),
            effect: w.effect().as_str(),
            title: format!("In maintenance: {} ({until}{by})", w.entry.reason),
        }
    }
}

/// The windows active for `snap` (at its publication), or for `config` now before the
/// first snapshot.
pub fn cover<'a>(
    snap: Option<&'a Snapshot>,
    config: &'a Config,
    m: &'a Maintenances,
) -> Coverage<'a> {
    match snap {
        Some(s) => coverage(m, s),
        None => {
            let now = rackscope_core::clock::unix_seconds(std::time::SystemTime::now());
            Coverage::new(m, &config.topology, &config.check_kinds, now)
        }
    }
}

/// The alerts whose rack passes `keep`, as the lists show them.
pub fn shown_alerts<'a>(
    snap: Option<&'a Snapshot>,
    cover: &Coverage<'a>,
    keep: impl Fn(RackIx) -> bool,
) -> Vec<Marked<'a, 'a>> {
    match snap {
        Some(s) => apply(cover, located_alerts_where(s, keep)),
        None => Vec::new(),
    }
}

/// One active window as the overview lists it, linked to its target.
#[derive(Debug, Clone, Serialize)]
pub struct MaintLine {
    pub target: String,
    pub url: String,
    pub maint: Maint,
}

/// The windows active in `cover`, each with a link to the page of what it covers.
pub fn active_lines(cover: &Coverage<'_>, config: &Config) -> Vec<MaintLine> {
    cover.windows().map(|w| line_of(w, config)).collect()
}

/// A window's target in words, with a link to the page of what it covers (empty when the
/// topology no longer has it).
pub fn line_of(w: &Window, config: &Config) -> MaintLine {
    use crate::ui::urls::{device_url, rack_url, room_url, site_url};
    use rackscope_core::model::maintenance::TargetType;
    let topo = &config.topology;
    let id = w.entry.target_id.as_str();
    let device_page = |d: rackscope_core::topology::DeviceIx| device_url(topo, d);
    let known = rackscope_core::maintenance::site_of(topo, w.entry.target_type, id).is_some();
    let url = if !known {
        String::new()
    } else {
        match w.entry.target_type {
            TargetType::Site => site_url(id),
            TargetType::Room => topo
                .room_ix(id)
                .map_or_else(String::new, |r| room_url(topo, r)),
            TargetType::Aisle => topo
                .find_aisle(id)
                .one()
                .map_or_else(String::new, |a| room_url(topo, topo.aisles[a].room)),
            TargetType::Rack => topo
                .rack_ix(id)
                .map_or_else(String::new, |r| rack_url(topo, r)),
            TargetType::Device | TargetType::Instance => topo
                .device_ix(id)
                .filter(|_| w.entry.target_type == TargetType::Device)
                .or_else(|| topo.instance_ix(id).map(|i| topo.instances[i].device))
                .map_or_else(String::new, device_page),
        }
    };
    let mut target = format!("{} {}", w.entry.target_type.as_str(), id);
    if let Some(c) = &w.entry.check {
        target.push_str(&format!(" (checks {c})"));
    }
    MaintLine {
        target,
        url,
        maint: Maint::of(w),
    }
}

/// The "Start maintenance" form of a site, room, rack or device page.
#[derive(Debug, Clone, Serialize)]
pub struct StartMaint {
    pub target_type: &'static str,
    pub target_id: String,
    /// The page to come back to after the window is made.
    pub back: String,
    /// What the window would cover, in words.
    pub what: String,
}

/// The form, for operators on a server that lets them write windows, unless
/// `features.maintenances: false` asks for no maintenance controls; `None` otherwise.
pub fn start_form(
    st: &crate::server::AppState,
    ctx: &crate::ui::Ctx,
    target_type: &'static str,
    target_id: &str,
    back: String,
    what: &str,
) -> Option<StartMaint> {
    let wanted = st.engine.config().app.features.maintenances;
    (wanted && ctx.user.operator && crate::server::editing_api::editors_allowed(st).is_ok()).then(
        || StartMaint {
            target_type,
            target_id: target_id.to_owned(),
            back,
            what: what.to_owned(),
        },
    )
}
