//! Which metric families the simulator emits, for which targets, with which labels: the
//! built-in catalog, overridden entry by entry by the catalogs of a configuration.

use std::collections::BTreeMap;
use std::path::Path;

use rackscope_core::Diagnostic;
use serde::Deserialize;

const DEFAULT: &str = include_str!("default_catalog.yaml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Node,
    Rack,
}

/// The families the simulator knows how to generate. A catalog entry with another name
/// is reported and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    Up,
    Temperature,
    Power,
    Load,
    HealthStatus,
    BootTime,
    IpmiUp,
    IpmiState(usize),
    IpmiTemperatureCelsius,
    IpmiPowerWatts,
    SwitchPortOper,
    SwitchPortIn,
    SwitchPortOut,
    IfErrors(bool),
    InfinibandPortState,
    EseriesCollectError,
    EseriesSystemStatus,
    EseriesDriveStatus,
    /// Battery, fan, power supply, cache DIMM, thermal sensor (`ESERIES_COMPONENTS`).
    EseriesComponent(usize),
    SlurmNodeStatus,
    SlurmNodeJobs,
    CpuSeconds,
    MemTotal,
    MemAvailable,
    FsSize,
    FsAvail,
    DiskBytes(bool),
    NetBytes(bool),
    PduActivePower,
    PduApparentPower,
    PduCurrent,
    PduInletRating,
    PduVoltage,
    PduEnergy,
    RackFanState,
    RackPsuStatus,
    PduTotalLoad,
    PduOutletCurrent,
    SequanaState,
    SequanaPressure,
    SequanaFlow,
    SequanaLeak,
    SequanaPcbTemp,
    SequanaPmcWatt,
    PmcTotalPower,
    HmcCoolantTemp,
}

/// The IPMI state families, in the order of `NodeState::ipmi`.
pub const IPMI_STATES: [&str; 5] = [
    "ipmi_fan_speed_state",
    "ipmi_power_state",
    "ipmi_sensor_state",
    "ipmi_temperature_state",
    "ipmi_voltage_state",
];

/// E-Series component families, each one-hot over optimal/failed per tray slot.
pub const ESERIES_COMPONENTS: [&str; 5] = [
    "eseries_battery_status",
    "eseries_fan_status",
    "eseries_power_supply_status",
    "eseries_cache_memory_dimm_status",
    "eseries_thermal_sensor_status",
];

impl Gen {
    pub fn of(name: &str) -> Option<(Gen, Scope)> {
        use Gen::*;
        use Scope::*;
        if let Some(i) = ESERIES_COMPONENTS.iter().position(|n| *n == name) {
            return Some((EseriesComponent(i), Node));
        }
        if let Some(i) = IPMI_STATES.iter().position(|n| *n == name) {
            return Some((IpmiState(i), Node));
        }
        Some(match name {
            "up" => (Up, Node),
            "node_temperature_celsius" => (Temperature, Node),
            "node_power_watts" => (Power, Node),
            "node_load_percent" => (Load, Node),
            "node_health_status" => (HealthStatus, Node),
            "node_boot_time_seconds" => (BootTime, Node),
            "ipmi_up" => (IpmiUp, Node),
            "ipmi_temperature_celsius" => (IpmiTemperatureCelsius, Node),
            "ipmi_power_watts" => (IpmiPowerWatts, Node),
            "switch_port_oper_status" => (SwitchPortOper, Node),
            "switch_port_in_octets" => (SwitchPortIn, Node),
            "switch_port_out_octets" => (SwitchPortOut, Node),
            "ifInErrors" => (IfErrors(true), Node),
            "ifOutErrors" => (IfErrors(false), Node),
            "infiniband_port_state" => (InfinibandPortState, Node),
            "eseries_exporter_collect_error" => (EseriesCollectError, Node),
            "eseries_storage_system_status" => (EseriesSystemStatus, Node),
            "eseries_drive_status" => (EseriesDriveStatus, Node),
            "slurm_node_status" => (SlurmNodeStatus, Node),
            "slurm_node_jobs" => (SlurmNodeJobs, Node),
            "node_cpu_seconds_total" => (CpuSeconds, Node),
            "node_memory_MemTotal_bytes" => (MemTotal, Node),
            "node_memory_MemAvailable_bytes" => (MemAvailable, Node),
            "node_filesystem_size_bytes" => (FsSize, Node),
            "node_filesystem_avail_bytes" => (FsAvail, Node),
            "node_disk_read_bytes_total" => (DiskBytes(true), Node),
            "node_disk_written_bytes_total" => (DiskBytes(false), Node),
            "node_network_receive_bytes_total" => (NetBytes(true), Node),
            "node_network_transmit_bytes_total" => (NetBytes(false), Node),
            "raritan_pdu_activepower_watt" => (PduActivePower, Rack),
            "raritan_pdu_apparentpower_voltampere" => (PduApparentPower, Rack),
            "raritan_pdu_current_ampere" => (PduCurrent, Rack),
            "raritan_pdu_inletrating" => (PduInletRating, Rack),
            "raritan_pdu_voltage_volt" => (PduVoltage, Rack),
            "raritan_pdu_activeenergy_watthour_total" => (PduEnergy, Rack),
            "rack_fan_speed_state" => (RackFanState, Rack),
            "rack_psu_status" => (RackPsuStatus, Rack),
            "pdu_total_load_watts" => (PduTotalLoad, Rack),
            "pdu_outlet_current_amperes" => (PduOutletCurrent, Rack),
            "sequana3_hyc_state_info" => (SequanaState, Rack),
            "sequana3_hyc_p_in_kpa" => (SequanaPressure, Rack),
            "sequana3_hyc_flow_lmin" => (SequanaFlow, Rack),
            "sequana3_hyc_leak_sensor_pump" => (SequanaLeak, Rack),
            "sequana3_hyc_tmp_pcb_cel" => (SequanaPcbTemp, Rack),
            "sequana3_pmc_total_watt" => (SequanaPmcWatt, Rack),
            "pmc_total_power_watts" => (PmcTotalPower, Rack),
            "hmc_coolant_temperature_celsius" => (HmcCoolantTemp, Rack),
            _ => return None,
        })
    }

    pub fn is_counter(self) -> bool {
        matches!(
            self,
            Gen::IfErrors(_)
                | Gen::CpuSeconds
                | Gen::DiskBytes(_)
                | Gen::NetBytes(_)
                | Gen::PduEnergy
                | Gen::SwitchPortIn
                | Gen::SwitchPortOut
        )
    }
}

/// A per-sample value a label can take (`$name` in a catalog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    NodeId,
    RackId,
    SiteId,
    RoomId,
    ChassisId,
    Port,
    State,
    Status,
    DriveId,
    Slot,
    Tray,
    Partition,
    Sensor,
    Cpu,
    PduId,
    PduName,
    InletId,
    InletName,
    OutletId,
    OutletName,
    Psu,
}

impl Token {
    fn of(name: &str) -> Option<Token> {
        use Token::*;
        Some(match name {
            "node_id" | "instance" => NodeId,
            "rack_id" => RackId,
            "site_id" => SiteId,
            "room_id" => RoomId,
            "chassis_id" => ChassisId,
            "port" => Port,
            "state" => State,
            "status" => Status,
            "drive_id" => DriveId,
            "slot" => Slot,
            "tray" => Tray,
            "partition" => Partition,
            "sensor" => Sensor,
            "cpu" => Cpu,
            "pduid" => PduId,
            "pduname" => PduName,
            "inletid" => InletId,
            "inletname" => InletName,
            "outletid" => OutletId,
            "outletname" => OutletName,
            "psu" => Psu,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelValue {
    Literal(String),
    Token(Token),
    /// A `$name` the simulator has no value for: the label is left out, as in the Python
    /// simulator (which wrote an empty value, the same thing to Prometheus).
    Empty,
}

/// One family as the simulator emits it.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: String,
    pub fgen: Gen,
    pub scope: Scope,
    pub help: String,
    pub patterns: Vec<Pattern>,
    pub labels: Vec<(String, LabelValue)>,
    pub base_labels: bool,
}

impl Family {
    /// Whether the family applies to a target of this name (node) or id (rack).
    pub fn applies(&self, name: &str) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| p.matches(name))
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub families: Vec<Family>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogFile {
    #[serde(default)]
    metrics: Vec<EntryDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::Str(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct EntryDef {
    name: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    instances: Vec<String>,
    #[serde(default)]
    racks: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    labels_only: bool,
    #[serde(default)]
    include_base_labels: Option<bool>,
    #[serde(default)]
    help: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

impl Catalog {
    /// The built-in catalog.
    pub fn builtin() -> Catalog {
        let file: CatalogFile = match serde_saphyr::from_str(DEFAULT) {
            Ok(f) => f,
            // The file is compiled in and tested; an error here is a build defect, and an
            // empty catalog is the least harmful answer.
            Err(_) => CatalogFile {
                metrics: Vec::new(),
            },
        };
        let mut c = Catalog {
            families: Vec::new(),
        };
        let mut notes = Vec::new();
        c.apply(file.metrics, &mut notes);
        c
    }

    /// The built-in catalog with each file applied over it, in order. Entries replace
    /// entries of the same name; warnings say what was skipped.
    pub fn load(files: &[impl AsRef<Path>]) -> Result<(Catalog, Vec<Diagnostic>), Diagnostic> {
        let mut c = Catalog::builtin();
        let mut diags = Vec::new();
        for f in files {
            let f = f.as_ref();
            let (file, w) = rackscope_core::load::read_yaml::<CatalogFile>(f)?;
            diags.extend(w);
            let mut notes = Vec::new();
            c.apply(file.metrics, &mut notes);
            let span = rackscope_core::diag::Span::file_only(&std::sync::Arc::from(f));
            diags.extend(notes.into_iter().map(|m| Diagnostic {
                level: rackscope_core::Level::Warning,
                code: "simulator-catalog",
                span: span.clone(),
                message: m,
            }));
        }
        Ok((c, diags))
    }

    fn apply(&mut self, entries: Vec<EntryDef>, notes: &mut Vec<String>) {
        for e in entries {
            let Some((fgen, scope)) = Gen::of(&e.name) else {
                notes.push(format!(
                    "the simulator cannot generate `{}`; entry skipped",
                    e.name
                ));
                continue;
            };
            if let Some(s) = &e.scope {
                let declared = match s.as_str() {
                    "node" => Some(Scope::Node),
                    "rack" => Some(Scope::Rack),
                    _ => None,
                };
                if declared != Some(scope) {
                    notes.push(format!(
                        "`{}` is a {} metric here; scope `{s}` ignored",
                        e.name,
                        if scope == Scope::Node { "node" } else { "rack" }
                    ));
                }
            }
            let raw = if scope == Scope::Node {
                &e.instances
            } else {
                &e.racks
            };
            let patterns = raw.iter().map(|p| Pattern::new(p)).collect();
            let labels = e
                .labels
                .into_iter()
                .map(|(k, v)| {
                    let v = v.into_string();
                    let lv = match v.strip_prefix('$') {
                        Some(t) => Token::of(t).map_or(LabelValue::Empty, LabelValue::Token),
                        None => LabelValue::Literal(v),
                    };
                    (k, lv)
                })
                .collect();
            let fam = Family {
                help: e
                    .help
                    .unwrap_or_else(|| format!("{} (Rackscope simulator)", e.name)),
                name: e.name,
                fgen,
                scope,
                patterns,
                labels,
                base_labels: !e.labels_only && e.include_base_labels.unwrap_or(true),
            };
            match self.families.iter().position(|f| f.name == fam.name) {
                Some(i) if !e.enabled => {
                    self.families.remove(i);
                }
                Some(i) => self.families[i] = fam,
                None if e.enabled => self.families.push(fam),
                None => {}
            }
        }
    }

    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }
}

/// A shell-style pattern (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`) as the Python simulator's
/// fnmatch, or a plain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(p: &str) -> Pattern {
        Pattern(p.to_string())
    }

    pub fn matches(&self, s: &str) -> bool {
        glob(self.0.as_bytes(), s.as_bytes())
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative matcher with one backtrack point for the last `*`: linear in practice and
    // never exponential.
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => match class(&p[pi..], s[si]) {
                    Some((true, next)) => {
                        pi += next;
                        si += 1;
                        continue;
                    }
                    Some((false, _)) => {}
                    // An unclosed bracket is a literal `[`.
                    None if s[si] == b'[' => {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                    None => {}
                },
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// Matches `c` against the class at the start of `p`; returns (matched, class length), or
/// `None` when the bracket is not closed (then it is a literal `[`).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_and_names_only_known_families() {
        let file: CatalogFile = serde_saphyr::from_str(DEFAULT).unwrap();
        for e in &file.metrics {
            assert!(Gen::of(&e.name).is_some(), "{} is not generated", e.name);
        }
        let c = Catalog::builtin();
        assert!(c.family("up").is_some());
        // Disabled built-ins are known but not emitted.
        assert!(c.family("node_cpu_seconds_total").is_none());
        assert!(c.families.len() > 40);
    }

    #[test]
    fn glob_patterns() {
        let m = |p: &str, s: &str| Pattern::new(p).matches(s);
        assert!(m("*", "x"));
        assert!(m("compute*", "compute001"));
        assert!(!m("compute*", "gpu001"));
        assert!(m("da*-r02-*", "da01-r02-c1"));
        assert!(!m("da*-r02-*", "da01-r03-c1"));
        assert!(m("*isw*", "r01-isw1"));
        assert!(m("n00000[1-3]", "n000002"));
        assert!(!m("n00000[!1-3]", "n000002"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a[", "a["));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }
}
