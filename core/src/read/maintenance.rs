//! The alert lists under maintenance: the windows active when a snapshot was published
//! (`coverage`), and each alert as the lists show it (`apply`): what a `hide` window covers
//! taken out, what a `badge` window covers marked.

use crate::Severity;
use crate::maintenance::{Coverage, Maintenances, Place, Window};
use crate::model::maintenance::Effect;
use crate::read::alerts::{AlertKind, LocatedAlert};
use crate::telemetry::Snapshot;

/// The windows of `m` active at the snapshot's `windows_at` (its publication), over its
/// configuration: every surface judges a snapshot at the same instant, so a window starts
/// or ends for all of them at one publication.
pub fn coverage<'a>(m: &'a Maintenances, snap: &'a Snapshot) -> Coverage<'a> {
    let now = crate::clock::unix_seconds(snap.windows_at);
    Coverage::new(m, &snap.config.topology, &snap.config.check_kinds, now)
}

/// Where a located alert is.
pub fn place_of(c: &Coverage<'_>, a: &LocatedAlert<'_>) -> Place {
    let mut p = c.rack_place(a.rack_ix);
    p.device = a.device_ix;
    if a.kind == AlertKind::Node {
        p.instance = c.instance_ix(a.key);
    }
    p
}

/// An alert as the lists show it, with the window it is badged with.
#[derive(Debug, Clone)]
pub struct Marked<'s, 'w> {
    pub alert: LocatedAlert<'s>,
    pub maintenance: Option<&'w Window>,
}

/// The alerts as every list shows them: the checks a `hide` window covers taken out (and
/// the alert with them when none is left; its state otherwise the worst of what is left),
/// and the first `badge` window over what is left attached.
pub fn apply<'s, 'w>(c: &Coverage<'w>, alerts: Vec<LocatedAlert<'s>>) -> Vec<Marked<'s, 'w>> {
    if c.is_empty() {
        return alerts
            .into_iter()
            .map(|alert| Marked {
                alert,
                maintenance: None,
            })
            .collect();
    }
    let mut out = Vec::with_capacity(alerts.len());
    for mut alert in alerts {
        let p = place_of(c, &alert);
        let mut badge: Option<&'w Window> = None;
        let before = alert.checks.len();
        alert.checks.retain(|k| match c.check(&p, k.id) {
            Some(w) if w.effect() == Effect::Hide => false,
            Some(w) => {
                badge.get_or_insert(w);
                true
            }
            None => true,
        });
        if alert.checks.is_empty() && before > 0 {
            continue;
        }
        if before == 0 {
            // An alert without checks follows its place's window.
            match c.whole(&p) {
                Some(w) if w.effect() == Effect::Hide => continue,
                Some(w) => badge = Some(w),
                None => {}
            }
        }
        if alert.checks.len() < before
            && let Some(worst) = Severity::worst(alert.checks.iter().map(|k| k.severity))
        {
            alert.state = worst;
        }
        out.push(Marked {
            alert,
            maintenance: badge,
        });
    }
    out
}
