//! Maintenance windows as written in `maintenances.yaml` beside app.yaml: the Python
//! version's format (`id, target_type, target_id, reason, effect, created_at, starts_at,
//! expires_at, ended_at`), loaded unchanged, with two additions: the `aisle` and `instance`
//! target types and `check`, a check id or kind the window is limited to.

use serde::{Deserialize, Serialize};

/// What a window covers. `device` names a device id or, as the Python version matched it,
/// an instance name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    Site,
    Room,
    Aisle,
    Rack,
    Device,
    Instance,
}

impl TargetType {
    pub const ALL: [TargetType; 6] = [
        TargetType::Site,
        TargetType::Room,
        TargetType::Aisle,
        TargetType::Rack,
        TargetType::Device,
        TargetType::Instance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Site => "site",
            TargetType::Room => "room",
            TargetType::Aisle => "aisle",
            TargetType::Rack => "rack",
            TargetType::Device => "device",
            TargetType::Instance => "instance",
        }
    }

    pub fn parse(s: &str) -> Option<TargetType> {
        TargetType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What an active window does to the alerts it covers: `hide` takes them out of every
/// alert list, `badge` (the default, as upstream) keeps them with a maintenance marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Hide,
    #[default]
    Badge,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Hide => "hide",
            Effect::Badge => "badge",
        }
    }

    pub fn parse(s: &str) -> Option<Effect> {
        [Effect::Hide, Effect::Badge]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// One window as written. Times are ISO 8601 text: with an offset (`Z`, `+02:00`) they are
/// absolute; without one they are read in the target site's `timezone`, else UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceEntry {
    pub id: String,
    pub target_type: TargetType,
    pub target_id: String,
    /// Limits the window to one check, by id or by kind (`disks of rack r12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub effect: Effect,
    #[serde(default)]
    pub created_at: Option<String>,
    /// Who made it (the signed-in user or token); not in the Python format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
    /// Repeats, in the target site's time zone: `sunday 02:00-04:00`, `sat,sun 22:00-06:00`,
    /// `weekdays 12:00-13:00`, `day 03:00-03:30`; active only during each occurrence, between
    /// `starts_at` and `expires_at`. Not in the Python format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
}
