//! The rules that read one host: its location dict, rack variables and groups, U,
//! height, face, slot, template and labels, each warning about what it ignores.

use super::*;

/// One host read through the options' rules; every reading warns about what it ignores.
pub(super) struct HostRules<'a> {
    pub(super) host: &'a Host,
    pub(super) o: &'a Options,
    /// The location dict and the variable path it came from.
    pub(super) loc: Option<(&'a str, &'a Map<String, Value>)>,
}

impl<'a> HostRules<'a> {
    pub(super) fn new(host: &'a Host, o: &'a Options, warnings: &mut Vec<String>) -> Self {
        let name = &host.name;
        let mut loc = None;
        for path in &o.location_var {
            match lookup(&host.vars, path) {
                Some(Value::Object(m)) => {
                    loc = Some((path.as_str(), m));
                    break;
                }
                Some(Value::Null) | None => {}
                Some(other) => warnings.push(format!(
                    "host {name}: `{path}` should be a dict of {}, got {other}; ignored",
                    LOCATION_KEYS.join("/")
                )),
            }
        }
        if let Some((path, m)) = loc {
            for k in m.keys() {
                if !LOCATION_KEYS.contains(&k.as_str()) {
                    warnings.push(format!(
                        "host {name}: unknown key `{k}` in `{path}` ignored (known: {})",
                        LOCATION_KEYS.join(", ")
                    ));
                }
            }
        }
        HostRules { host, o, loc }
    }

    /// A key of the location dict, with the dotted path it is read from.
    pub(super) fn loc_value(&self, key: &str) -> Option<(String, &'a Value)> {
        self.loc.and_then(|(path, m)| {
            m.get(key)
                .filter(|v| !v.is_null())
                .map(|v| (format!("{path}.{key}"), v))
        })
    }

    /// The location dict's `key`, else the first of the host variables `paths` set.
    pub(super) fn loc_or_var(&self, key: &str, paths: &[String]) -> Option<(String, &'a Value)> {
        self.loc_value(key)
            .into_iter()
            .chain(paths.iter().filter_map(|p| {
                lookup(&self.host.vars, p)
                    .filter(|v| !v.is_null())
                    .map(|v| (p.clone(), v))
            }))
            .next()
    }

    pub(super) fn text_of(&self, key: &str, default: &str, warnings: &mut Vec<String>) -> String {
        match self.loc_value(key) {
            Some((src, v)) => scalar(v).unwrap_or_else(|| {
                warnings.push(format!(
                    "host {}: `{src}` is not a name ({v}); `{default}` used",
                    self.host.name
                ));
                default.to_owned()
            }),
            None => default.to_owned(),
        }
    }

    /// Every rule is consulted so that disagreeing sources can be reported; the first wins.
    pub(super) fn rack(&self, warnings: &mut Vec<String>) -> Option<String> {
        let (name, o) = (&self.host.name, self.o);
        let mut candidates: Vec<(String, String)> = Vec::new();
        let mut push_rack =
            |src: String, v: &Value, warnings: &mut Vec<String>| match rack_name(v, o) {
                Some(r) => candidates.push((src, r)),
                None => warnings.push(format!(
                    "host {name}: `{src}` is not a rack name ({v}); ignored"
                )),
            };
        if let Some((src, v)) = self.loc_value("rack") {
            push_rack(src, v, warnings);
        }
        for path in &o.rack_var {
            if let Some(v) = lookup(&self.host.vars, path).filter(|v| !v.is_null()) {
                push_rack(path.clone(), v, warnings);
            }
        }
        if let Some(re) = &o.rack_group_pattern {
            let mut matched: Vec<&String> =
                self.host.groups.iter().filter(|g| re.is_match(g)).collect();
            matched.sort_by(|a, b| natural_cmp(a, b));
            for g in matched {
                let value = re.captures(g).and_then(|c| {
                    c.name("rack")
                        .or_else(|| c.get(1))
                        .or_else(|| c.get(0))
                        .map(|m| m.as_str().to_owned())
                });
                if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                    push_rack(format!("group {g}"), &Value::String(v), warnings);
                }
            }
        }
        let (src, r) = candidates.first()?;
        let others: Vec<String> = candidates
            .iter()
            .filter(|(_, x)| x != r)
            .map(|(s, x)| format!("{s} says {x}"))
            .collect();
        if !others.is_empty() {
            warnings.push(format!(
                "host {name}: rack {r} (from {src}) used, but {}",
                others.join(", ")
            ));
        }
        Some(r.clone())
    }

    pub(super) fn u(&self, warnings: &mut Vec<String>) -> Option<u32> {
        let name = &self.host.name;
        let (src, v) = self.loc_or_var("u", &self.o.u_var)?;
        match units(v) {
            Units::Whole(n) => Some(clamp_u32(n)),
            Units::Fraction(f) => {
                let n = f.floor();
                warnings.push(format!(
                    "host {name}: U {f} (from {src}) is not whole; U{n} used"
                ));
                Some(clamp_u32(n as u64))
            }
            Units::Bad => {
                warnings.push(format!(
                    "host {name}: `{src}` is not a U position (1 = bottom): {v}; ignored"
                ));
                None
            }
        }
    }

    pub(super) fn height(&self, warnings: &mut Vec<String>) -> u32 {
        let name = &self.host.name;
        let Some((src, v)) = self.loc_or_var("height", &self.o.height_var) else {
            return 1;
        };
        match units(v) {
            Units::Whole(n) => clamp_u32(n),
            Units::Fraction(f) => {
                let n = f.ceil();
                warnings.push(format!(
                    "host {name}: height {f}U (from {src}) rounded up to {n}U"
                ));
                clamp_u32(n as u64)
            }
            Units::Bad => {
                warnings.push(format!(
                    "host {name}: `{src}` is not a height in U: {v}; 1U used"
                ));
                1
            }
        }
    }

    pub(super) fn face(&self, warnings: &mut Vec<String>) -> Face {
        let Some((src, v)) = self.loc_value("face") else {
            return Face::Front;
        };
        match scalar(v).map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("front") => Face::Front,
            Some("rear" | "back") => Face::Rear,
            _ => {
                warnings.push(format!(
                    "host {}: `{src}` should be front or rear, got {v}; front used",
                    self.host.name
                ));
                Face::Front
            }
        }
    }

    pub(super) fn slot(&self, warnings: &mut Vec<String>) -> Option<u64> {
        self.loc_value("slot").and_then(|(src, v)| match units(v) {
            Units::Whole(n) => Some(n),
            _ => {
                warnings.push(format!(
                    "host {}: `{src}` is not a slot number: {v}; ignored",
                    self.host.name
                ));
                None
            }
        })
    }

    /// The host's groups matching hardware_group_pattern, in natural order.
    pub(super) fn hardware_groups(&self) -> Vec<&'a String> {
        let mut hw: Vec<&String> = match &self.o.hardware_group_pattern {
            Some(re) => self.host.groups.iter().filter(|g| re.is_match(g)).collect(),
            None => Vec::new(),
        };
        hw.sort_by(|a, b| natural_cmp(a, b));
        hw
    }

    /// The location's template, else the first hardware group, else the generic one.
    pub(super) fn template(&self, hw: &[&String], warnings: &mut Vec<String>) -> String {
        let name = &self.host.name;
        let mut template_name = None;
        if let Some((src, v)) = self.loc_value("template") {
            match scalar(v) {
                Some(t) => template_name = Some(t),
                None => warnings.push(format!(
                    "host {name}: `{src}` is not a template name ({v}); ignored"
                )),
            }
        }
        if template_name.is_none()
            && let Some(first) = hw.first()
        {
            if hw.len() > 1 {
                warnings.push(format!(
                    "host {name}: in several hardware groups ({}); template from {first}",
                    hw.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            template_name = Some((*first).clone());
        }
        template_name.unwrap_or_else(|| {
            warnings.push(format!(
                "host {name}: no group matches hardware_group_pattern{}; generic server \
                 template used",
                self.o
                    .hardware_group_pattern
                    .as_ref()
                    .map(|r| format!(" `{}`", r.as_str()))
                    .unwrap_or_default()
            ));
            GENERIC.to_owned()
        })
    }

    /// Records the host's equipment type on its template; the first type given wins.
    pub(super) fn note_kind(
        &self,
        template: &str,
        bases: &mut BTreeMap<String, TemplateBase>,
        warnings: &mut Vec<String>,
    ) {
        let kind = self
            .o
            .kind_var
            .iter()
            .find_map(|p| lookup(&self.host.vars, p).and_then(scalar));
        let base = bases
            .entry(template.to_owned())
            .or_insert_with(|| TemplateBase {
                name: template.to_owned(),
                kind: None,
                kind_conflict: false,
                variants: BTreeSet::new(),
            });
        if template == GENERIC {
            return;
        }
        match (&base.kind, kind) {
            (None, k) => base.kind = k,
            (Some(a), Some(b)) if *a != b && !base.kind_conflict => {
                base.kind_conflict = true;
                warnings.push(format!(
                    "template {}: hosts disagree on the equipment type ({a}, {b}); {a} used",
                    base.name
                ));
            }
            _ => {}
        }
    }

    /// Function, OS, iceberg and hardware groups as labels.
    pub(super) fn labels(&self, hw: &[&String]) -> BTreeMap<&'static str, BTreeSet<String>> {
        let mut labels: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for g in &self.host.groups {
            let key = if g.starts_with("fn_") || g.starts_with("mg_") {
                "function"
            } else if g.starts_with("os_") {
                "os"
            } else if g.starts_with("iceberg") {
                "iceberg"
            } else if hw.contains(&g) {
                "hardware"
            } else {
                continue;
            };
            labels.entry(key).or_default().insert(g.clone());
        }
        labels
    }
}

pub(super) fn plan(
    h: &Host,
    o: &Options,
    site: &str,
    bases: &mut BTreeMap<String, TemplateBase>,
    warnings: &mut Vec<String>,
) -> Plan {
    let rules = HostRules::new(h, o, warnings);
    let site = rules.text_of("site", site, warnings);
    let room = rules.text_of("room", &o.room, warnings);
    let aisle = rules.text_of("aisle", &o.aisle, warnings);
    let rack = rules.rack(warnings);
    let u = rules.u(warnings);
    let height = rules.height(warnings);
    let face = rules.face(warnings);
    let slot = rules.slot(warnings);
    let hw = rules.hardware_groups();
    let template = rules.template(&hw, warnings);
    rules.note_kind(&template, bases, warnings);
    let labels = rules.labels(&hw);
    let (u, u_ignored) = if rack.is_some() { (u, None) } else { (None, u) };
    Plan {
        host: h.name.clone(),
        site,
        room,
        aisle,
        rack,
        u,
        u_ignored,
        height,
        face,
        slot,
        template,
        labels,
    }
}
