//! Semantic validation: everything that parses but is still wrong. Cross-references between
//! files, device placement, PromQL, rule order, unbound checks, app.yaml value ranges.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::bind::{Listing, Qualifiers, device_template_checks};
use crate::config::{Config, ResolvedPaths};
use crate::diag::{Diagnostics, Pos, Span};
use crate::model::app::AppConfig;
use crate::model::checks::{CheckDef, Op, Rule, Scope};
use crate::model::topology::Face;
use crate::topology::Counts;
use crate::util::closest;
use crate::yaml::{Located, Node};
use crate::{placeholder, promql};

/// Racks taller than this are surely a typo.
pub const MAX_RACK_UNITS: u32 = 100;

/// The longest `for:` a check may wait before its state is confirmed (a year).
pub const MAX_FOR_SECONDS: u64 = 31_536_000;

/// Value ranges and combinations of app.yaml.
pub fn app(app: &AppConfig, node: &Node, file: &Arc<Path>, diags: &mut Diagnostics) {
    let at = |path: &[&str]| Span::new(file, crate::app_keys::key_pos(node, path));
    crate::app_keys::ranges(app, node, file, diags);
    crate::app_keys::ignored(app, node, file, diags);
    let t = &app.telemetry;
    if let Some(problem) = url_problem(t.url(), "prometheus_url") {
        diags.error("bad-value", at(&["telemetry", "prometheus_url"]), problem);
    }
    let client = ClientSettings {
        user: t.basic_auth_user.as_deref(),
        password: t.basic_auth_password.as_deref(),
        cert: t.tls_cert_file.is_some(),
        key: t.tls_key_file.is_some(),
    };
    for (key, problem) in client.problems() {
        diags.error("bad-value", at(&["telemetry", key]), problem);
    }
    if let Err(e) = regex::Regex::new(&t.job_regex) {
        diags.error(
            "bad-value",
            at(&["telemetry", "job_regex"]),
            format!("job_regex is not a valid regular expression: {e}"),
        );
    }
    let optional = [
        (&t.site_label, "site_label"),
        (&t.room_label, "room_label"),
        (&t.aisle_label, "aisle_label"),
    ];
    let optional = optional
        .iter()
        .filter_map(|(l, path)| l.as_ref().map(|l| (l, *path)));
    for (label, path) in [
        (&t.identity_label, "identity_label"),
        (&t.rack_label, "rack_label"),
        (&t.chassis_label, "chassis_label"),
    ]
    .into_iter()
    .chain(optional)
    {
        if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            diags.error(
                "bad-value",
                at(&["telemetry", path]),
                format!("{path} `{label}` is not a valid Prometheus label name"),
            );
        }
    }
    if t.prometheus_heartbeat_seconds < 10 {
        diags.warning(
            "bad-value",
            at(&["telemetry", "prometheus_heartbeat_seconds"]),
            "prometheus_heartbeat_seconds below 10 is raised to 10",
        );
    }
    alertmanager(&app.alertmanager, &at, diags);
}

/// The longest `alertmanager.instance_pattern`: a suffix such as `(?::[0-9]+)?`, not a
/// program.
pub const MAX_INSTANCE_PATTERN: usize = 1024;

/// `alertmanager:`: a URL the reconciler can use, one kind of credentials, label names
/// Alertmanager accepts, a pattern that compiles. Checked whether or not `url` is set, so
/// that turning the integration on later meets no surprise.
fn alertmanager(
    am: &crate::model::app::Alertmanager,
    at: &dyn Fn(&[&str]) -> Span,
    diags: &mut Diagnostics,
) {
    if let Some(url) = am.url() {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        match rest {
            None => diags.error(
                "bad-value",
                at(&["alertmanager", "url"]),
                format!("alertmanager.url `{url}` must start with http:// or https://"),
            ),
            Some(rest) => {
                let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                if host.contains('@') {
                    diags.error(
                        "bad-value",
                        at(&["alertmanager", "url"]),
                        "put credentials in alertmanager.basic_auth_user/basic_auth_password or bearer_token, not in the URL",
                    );
                } else if host.is_empty()
                    || host.starts_with(':')
                    || host.contains(char::is_whitespace)
                {
                    diags.error(
                        "bad-value",
                        at(&["alertmanager", "url"]),
                        format!("alertmanager.url `{url}` has no host"),
                    );
                } else if rest.contains(['?', '#']) {
                    diags.error(
                        "bad-value",
                        at(&["alertmanager", "url"]),
                        format!(
                            "alertmanager.url `{url}` carries a query or fragment; give the base URL (a path prefix is fine)"
                        ),
                    );
                }
            }
        }
    }
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if set(&am.basic_auth_password) && !set(&am.basic_auth_user) {
        diags.error(
            "bad-value",
            at(&["alertmanager", "basic_auth_password"]),
            "alertmanager.basic_auth_password is set but basic_auth_user is not",
        );
    }
    if set(&am.bearer_token) && set(&am.basic_auth_user) {
        diags.error(
            "bad-value",
            at(&["alertmanager", "bearer_token"]),
            "alertmanager takes basic_auth_user or bearer_token, not both",
        );
    }
    for (level, label) in am.labels.each() {
        if let Some(l) = label
            && !valid_label_name(l)
        {
            diags.error(
                "bad-value",
                at(&["alertmanager", "labels", level]),
                format!("alertmanager.labels.{level} `{l}` is not a valid Prometheus label name"),
            );
        }
    }
    let p = &am.instance_pattern;
    if p.len() > MAX_INSTANCE_PATTERN {
        diags.error(
            "bad-value",
            at(&["alertmanager", "instance_pattern"]),
            format!("alertmanager.instance_pattern is over {MAX_INSTANCE_PATTERN} bytes"),
        );
    } else if let Err(e) = regex::Regex::new(p) {
        // Compiled alone, so that it cannot close the group it is put in and widen the
        // matcher (`)|(.*` would silence every alert).
        diags.error(
            "bad-value",
            at(&["alertmanager", "instance_pattern"]),
            format!("alertmanager.instance_pattern is not a valid regular expression suffix: {e}"),
        );
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus's rule for label names.
fn valid_label_name(l: &str) -> bool {
    let mut chars = l.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The largest certificate or key file read (1 MiB): a chain is a few KiB, and a link to an
/// endless file stops here.
pub const MAX_TLS_FILE_BYTES: u64 = 1 << 20;

/// `server.tls_cert` and `server.tls_key`: both or neither, and each readable. Whether they
/// parse and match takes a TLS library, which this crate does not have: the binary checks
/// that (`rackscope check` and `serve` alike).
pub fn server_tls(paths: &ResolvedPaths, node: &Node, file: &Arc<Path>, diags: &mut Diagnostics) {
    let at = |key: &str| Span::new(file, crate::app_keys::key_pos(node, &["server", key]));
    match (&paths.tls_cert, &paths.tls_key) {
        (Some(_), None) => diags.error(
            "bad-value",
            at("tls_cert"),
            "server.tls_cert needs server.tls_key: TLS takes both, or neither",
        ),
        (None, Some(_)) => diags.error(
            "bad-value",
            at("tls_key"),
            "server.tls_key needs server.tls_cert: TLS takes both, or neither",
        ),
        (Some(cert), Some(key)) => {
            for (k, path) in [("tls_cert", cert), ("tls_key", key)] {
                if let Err(e) = crate::walk::read_bounded(path, MAX_TLS_FILE_BYTES) {
                    diags.error(
                        "tls",
                        at(k),
                        format!("server.{k}: cannot read {}: {e}", path.display()),
                    );
                }
            }
        }
        (None, None) => {}
    }
}

/// Cross-file validation, run once everything is loaded. Also settles rack heights.
pub fn finish(config: &Config, diags: &mut Diagnostics) {
    placement(config, diags);
    references(config, diags);
    for c in config.checks.iter() {
        check(&c.def, &c.file, diags);
    }
    for m in config.metrics.iter() {
        if let Some(q) = m.def.query() {
            if let Err(e) = promql::parse(&placeholder::with_sample_metric_values(q)) {
                diags.warning(
                    "promql",
                    m.span(q.pos),
                    format!(
                        "metric `{}`: expression does not parse as PromQL: {e}",
                        m.def.id.value
                    ),
                );
            }
        } else {
            diags.warning(
                "missing-field",
                m.span(m.def.id.pos),
                format!(
                    "metric `{}` has no `metric:` (or `expr:`) query",
                    m.def.id.value
                ),
            );
        }
    }
    unbound(config, diags);
    ambiguous_series(config, diags);
}

/// A Prometheus client's credentials and certificate, as a source (the default one or
/// one of `telemetry.sources`) sets them.
struct ClientSettings<'a> {
    user: Option<&'a str>,
    password: Option<&'a str>,
    cert: bool,
    key: bool,
}

impl ClientSettings<'_> {
    /// What the client would refuse or get wrong, with the key to point at: a password
    /// without a user, half a client certificate (the client takes both or neither).
    fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.password.is_some_and(|p| !p.is_empty()) && self.user.is_none_or(str::is_empty) {
            out.push((
                "basic_auth_password",
                "basic_auth_password is set but basic_auth_user is not",
            ));
        }
        if self.cert != self.key {
            let given = if self.key {
                "tls_key_file"
            } else {
                "tls_cert_file"
            };
            out.push((given, "tls_cert_file and tls_key_file go together"));
        }
        out
    }
}

/// What is wrong with a Prometheus URL written under `key`: not http(s), or credentials in
/// it (they would be logged and shown with every error naming the URL).
fn url_problem(url: &str, key: &str) -> Option<String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Some(format!("{key} `{url}` must start with http:// or https://"));
    }
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next());
    host.is_some_and(|h| h.contains('@'))
        .then(|| format!("put credentials in basic_auth_user/basic_auth_password, not in {key}"))
}

/// `telemetry.sources`: each a named, reachable-looking Prometheus with its own credentials,
/// answering for sites that exist and that no other source claims. A misspelt site would
/// silently be asked of the default Prometheus, so it is an error.
pub fn sources(config: &Config, node: &Node, file: &Arc<Path>, diags: &mut Diagnostics) {
    use crate::model::app::MAX_SOURCES;
    let t = &config.app.telemetry;
    if t.sources.is_empty() {
        return;
    }
    let list = node
        .get("telemetry")
        .and_then(|t| t.get("sources"))
        .filter(|n| n.seq().is_some());
    let list_pos = list.map_or(Pos::FILE, |n| n.pos);
    let items = list.and_then(Node::seq).unwrap_or_default();
    let at = |i: usize, key: &str| {
        let item = items.get(i);
        let pos = item
            .and_then(|n| n.get(key))
            .or(item)
            .map_or(list_pos, |n| n.pos);
        Span::new(file, pos)
    };
    if t.sources.len() > MAX_SOURCES {
        diags.error(
            "bad-value",
            Span::new(file, list_pos),
            format!(
                "telemetry.sources has {} entries; at most {MAX_SOURCES} are used",
                t.sources.len()
            ),
        );
    }
    let site_ids: Vec<&str> = config
        .topology
        .sites
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    let mut names: HashSet<&str> = HashSet::new();
    let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, s) in t.sources.iter().enumerate() {
        let name = s.name.trim();
        if name.is_empty() {
            diags.error(
                "bad-value",
                at(i, "name"),
                "every telemetry.sources entry needs a name",
            );
        } else if name == "default" || !names.insert(name) {
            diags.error(
                "duplicate-id",
                at(i, "name"),
                format!("telemetry.sources name `{name}` is used twice (`default` is the prometheus_url source)"),
            );
        }
        if let Some(problem) = url_problem(s.url.trim(), "url") {
            diags.error(
                "bad-value",
                at(i, "url"),
                format!("source `{name}`: {problem}"),
            );
        }
        let client = ClientSettings {
            user: s.basic_auth_user.as_deref(),
            password: s.basic_auth_password.as_deref(),
            cert: s.tls_cert_file.is_some(),
            key: s.tls_key_file.is_some(),
        };
        for (key, problem) in client.problems() {
            diags.error(
                "bad-value",
                at(i, key),
                format!("source `{name}`: {problem}"),
            );
        }
        for (v, key) in [
            (s.timeout_seconds, "timeout_seconds"),
            (s.connect_timeout_seconds, "connect_timeout_seconds"),
        ] {
            if let Some(v) = v
                && !(v > 0.0 && v <= crate::model::app::MAX_TIMEOUT_SECONDS)
            {
                diags.error(
                    "bad-value",
                    at(i, key),
                    format!(
                        "source `{name}`: {key} is {v}; it must be above 0 and at most {}",
                        crate::model::app::MAX_TIMEOUT_SECONDS
                    ),
                );
            }
        }
        if s.sites.is_empty() {
            diags.warning(
                "unused",
                at(i, "sites"),
                format!("source `{name}` answers for no site (list their ids under `sites`)"),
            );
        }
        for site in &s.sites {
            if !site_ids.contains(&site.as_str()) {
                let hint = closest(site, site_ids.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                diags.error(
                    "unknown-ref",
                    at(i, "sites"),
                    format!("source `{name}`: no site `{site}`{hint}"),
                );
            } else if let Some(first) = claimed.insert(site.as_str(), name) {
                diags.error(
                    "duplicate-id",
                    at(i, "sites"),
                    format!("site `{site}` is claimed by sources `{first}` and `{name}`; one source answers for a site"),
                );
            }
        }
    }
}

/// `playlist.views` naming a room or rack page by an id that names no room or rack, or
/// several: the wallboard would rotate to a 404 or a disambiguation page.
pub fn playlist(config: &Config, node: &Node, file: &Arc<Path>, diags: &mut Diagnostics) {
    let items = node
        .get("playlist")
        .and_then(|p| p.get("views"))
        .and_then(Node::seq)
        .unwrap_or_default();
    let topo = &config.topology;
    for item in items {
        let Some(view) = item
            .as_str()
            .or_else(|| item.get("view").and_then(Node::as_str))
        else {
            continue;
        };
        if view.starts_with("/slurm/") && config.slurm.is_none() {
            diags.warning(
                "playlist",
                Span::new(file, item.pos),
                format!(
                    "playlist view `{view}` is a Slurm page and the Slurm view is off (plugins.slurm.enabled); the wallboard skips it"
                ),
            );
            continue;
        }
        let (kind, paths) = if let Some(key) = view.strip_prefix("/views/room/") {
            let key = crate::util::percent_decode(key);
            let all = topo.find_room(&key).all();
            (
                "room",
                all.into_iter()
                    .map(|r| topo.room_path(r))
                    .collect::<Vec<_>>(),
            )
        } else if let Some(key) = view.strip_prefix("/views/rack/") {
            let key = crate::util::percent_decode(key);
            let all = topo.find_rack(&key).all();
            ("rack", all.into_iter().map(|r| topo.rack_path(r)).collect())
        } else {
            continue;
        };
        let at = Span::new(file, item.pos);
        match paths.len() {
            1 => {}
            0 => diags.warning(
                "playlist",
                at,
                format!("playlist view `{view}`: there is no such {kind}; the wallboard would show a 404"),
            ),
            _ => {
                let slug = paths[0].replace('/', "%2F");
                diags.warning(
                    "playlist",
                    at,
                    format!(
                        "playlist view `{view}` names {} {kind}s ({}); name one by its qualified path, as `/views/{kind}/{slug}`",
                        paths.len(),
                        paths.join(", ")
                    ),
                )
            }
        }
    }
}

/// Racks (and chassis) bound to a rack- or chassis-scope check whose id they share with
/// another target of that check, where the configured `site_label` / `room_label` cannot
/// tell them apart: a series carrying only the id is every holder's, and each holder is
/// told so at its own position, with the checks concerned.
fn ambiguous_series(config: &Config, diags: &mut Diagnostics) {
    let topo = &config.topology;
    let q = Qualifiers::of(&config.app.telemetry);
    let targets = &config.bindings.targets;
    let mut flagged: BTreeMap<(bool, u32), Vec<&str>> = BTreeMap::new();
    for (ix, c) in config.checks.iter().enumerate() {
        let scope = c.def.scope;
        if scope == Scope::Node {
            continue;
        }
        let bound: HashSet<u32> = config.bindings.targets_of(ix).iter().copied().collect();
        for &t in &bound {
            let shared = targets.shared_with(topo, &q, scope, t);
            if shared.iter().any(|o| bound.contains(o)) {
                flagged
                    .entry((scope == Scope::Chassis, t))
                    .or_default()
                    .push(&c.def.id.value);
            }
        }
    }
    let q = &config.app.telemetry;
    let set: Vec<String> = [
        ("site_label", &q.site_label),
        ("room_label", &q.room_label),
        ("aisle_label", &q.aisle_label),
    ]
    .into_iter()
    .filter_map(|(k, l)| l.as_ref().map(|l| format!("{k} `{l}`")))
    .collect();
    let labels = if set.is_empty() {
        "set telemetry.site_label, room_label or aisle_label to the labels those series carry"
            .to_owned()
    } else {
        format!(
            "the configured {} cannot tell them apart; set the labels that do",
            set.join(" and ")
        )
    };
    for ((chassis, t), checks) in flagged {
        let (what, id, path, span) = if chassis {
            let d = crate::topology::DeviceIx::new(t);
            let dev = &topo.devices[d];
            ("chassis", &dev.id, topo.device_path(d), &dev.span)
        } else {
            let r = crate::topology::RackIx::new(t);
            let rack = &topo.racks[r];
            ("rack", &rack.id, topo.rack_path(r), &rack.span)
        };
        diags.warning(
            "ambiguous-series",
            span.clone(),
            format!(
                "{what} `{path}` shares the id `{id}` with other targets of {}: a series \
                 naming only `{id}` gives all of them its state; {labels}",
                checks
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// Rack heights, device templates, U range and overlaps.
fn placement(config: &Config, diags: &mut Diagnostics) {
    let cat = &config.catalog;
    let topo = &config.topology;
    let rack_ids: Vec<&str> = cat.racks.iter().map(|t| t.def.id.value.as_str()).collect();
    let device_ids: Vec<&str> = cat
        .devices
        .iter()
        .map(|t| t.def.id.value.as_str())
        .collect();
    for rack in &topo.racks {
        if let Some(t) = &rack.template_id
            && !cat.racks.contains(t)
        {
            diags.error(
                "unknown-template",
                Span::new(&rack.span.file, rack.template_pos),
                unknown("rack template", t, &rack_ids),
            );
        }
        if rack.u_height == 0 || rack.u_height > MAX_RACK_UNITS {
            diags.error(
                "bad-value",
                rack.span.clone(),
                format!(
                    "rack `{}` is {} U high; a rack has between 1 and {MAX_RACK_UNITS} U",
                    rack.id, rack.u_height
                ),
            );
        }
    }
    for rack in &topo.racks {
        let mut occupied: Vec<(u32, u32, Face, &str, Pos)> = Vec::new();
        for &d in &rack.devices {
            let dev = &topo.devices[d];
            let file = &dev.span.file;
            let Some(t) = cat.devices.get(&dev.template_id) else {
                diags.error(
                    "unknown-template",
                    Span::new(file, dev.template_pos),
                    unknown("device template", &dev.template_id, &device_ids),
                );
                continue;
            };
            let height = t.def.u_height.value.max(1);
            let top = dev.u_position.saturating_add(height - 1);
            if dev.u_position == 0 || top > rack.u_height {
                diags.error(
                    "out-of-rack",
                    Span::new(file, dev.u_pos),
                    format!(
                        "device `{}` occupies U{}–U{} but rack `{}` has U1–U{}",
                        dev.id, dev.u_position, top, rack.id, rack.u_height
                    ),
                );
                continue;
            }
            for (lo, hi, face, other, _) in &occupied {
                if *face == dev.face && dev.u_position <= *hi && top >= *lo {
                    diags.error(
                        "overlap",
                        Span::new(file, dev.u_pos),
                        format!("device `{}` (U{}–U{}) overlaps device `{other}` (U{lo}–U{hi}) on the {} of rack `{}`", dev.id, dev.u_position, top, face_name(dev.face), rack.id),
                    );
                }
            }
            occupied.push((dev.u_position, top, dev.face, &dev.id, dev.u_pos));
            let slots: BTreeSet<u32> = t
                .def
                .disk_layout
                .as_ref()
                .or(t.def.layout.as_ref())
                .map(|l| l.slots().collect())
                .unwrap_or_default();
            if !slots.is_empty() && t.def.disk_layout.is_none() {
                for inst in topo.device_instances(dev) {
                    if !slots.contains(&inst.slot) {
                        diags.warning(
                            "slot",
                            Span::new(file, dev.instance_pos),
                            format!("instance `{}` is in slot {}, which the layout of template `{}` does not draw", inst.name, inst.slot, t.def.id.value),
                        );
                        break;
                    }
                }
            }
        }
    }
}

fn face_name(f: Face) -> &'static str {
    match f {
        Face::Front => "front",
        Face::Rear => "rear",
    }
}

fn unknown(what: &str, id: &str, known: &[&str]) -> String {
    match closest(id, known.iter().copied()) {
        Some(c) => format!("unknown {what} `{id}`; did you mean `{c}`?"),
        None => format!("unknown {what} `{id}`"),
    }
}

/// What one template refers to.
struct TemplateRefs<'c> {
    owner: String,
    file: &'c Arc<Path>,
    checks: Vec<&'c Located<String>>,
    metrics: &'c [Located<String>],
}

/// Every template's references, device templates (with their rear components) first.
fn template_refs(config: &Config) -> Vec<TemplateRefs<'_>> {
    let cat = &config.catalog;
    let devices = cat.devices.iter().map(|t| TemplateRefs {
        owner: format!("device template `{}`", t.def.id.value),
        file: &t.file,
        checks: device_template_checks(&t.def).collect(),
        metrics: &t.def.metrics,
    });
    let racks = cat.racks.iter().map(|t| TemplateRefs {
        owner: format!("rack template `{}`", t.def.id.value),
        file: &t.file,
        checks: t.def.checks.iter().collect(),
        metrics: &t.def.metrics,
    });
    let components = cat.components.iter().map(|t| TemplateRefs {
        owner: format!("rack component template `{}`", t.def.id.value),
        file: &t.file,
        checks: t.def.checks.iter().collect(),
        metrics: &t.def.metrics,
    });
    devices.chain(racks).chain(components).collect()
}

/// A reference to an id that a library lacks, with a suggestion when it looks like a typo.
fn missing(owner: &str, what: &str, id: &Located<String>, library: &str, known: &[&str]) -> String {
    let msg = format!(
        "{owner} lists {what} `{}`, which is not in the {library}",
        id.value
    );
    match closest(id, known.iter().copied()) {
        Some(c) => format!("{msg}; did you mean `{c}`?"),
        None => msg,
    }
}

/// Template → check, metric and component references.
fn references(config: &Config, diags: &mut Diagnostics) {
    let check_ids: Vec<&str> = config
        .checks
        .iter()
        .map(|c| c.def.id.value.as_str())
        .collect();
    let metric_ids: Vec<&str> = config
        .metrics
        .iter()
        .map(|m| m.def.id.value.as_str())
        .collect();
    let comp_ids: Vec<&str> = config
        .catalog
        .components
        .iter()
        .map(|c| c.def.id.value.as_str())
        .collect();
    for t in template_refs(config) {
        // The Python version ignores unknown check ids silently, so a typo leaves a whole
        // rack UNKNOWN; we say so, as a warning, since real configurations carry leftovers.
        for id in t.checks.iter().filter(|id| !config.checks.contains(id)) {
            let msg = format!(
                "{}, so it never runs",
                missing(&t.owner, "check", id, "checks library", &check_ids)
            );
            diags.warning("unknown-check", Span::new(t.file, id.pos), msg);
        }
        // Without a metrics library at all, metric ids cannot be checked.
        if !metric_ids.is_empty() {
            for id in t.metrics.iter().filter(|id| !config.metrics.contains(id)) {
                diags.warning(
                    "unknown-metric",
                    Span::new(t.file, id.pos),
                    missing(&t.owner, "metric", id, "metrics library", &metric_ids),
                );
            }
        }
    }
    for t in config.catalog.racks.iter() {
        for r in &t.def.infrastructure.rack_components {
            if !config.catalog.components.contains(&r.template_id) {
                diags.error(
                    "unknown-template",
                    t.span(r.template_id.pos),
                    unknown("rack component template", &r.template_id, &comp_ids),
                );
            }
        }
    }
}

/// One check: its PromQL, placeholders, expansion fields and rule order.
pub fn check(c: &CheckDef, file: &Arc<Path>, diags: &mut Diagnostics) {
    check_exprs(c, file, diags);
    check_expansion(c, file, diags);
    check_rules(c, file, diags);
}

/// A check's expressions: they parse, and name only placeholders of its scope.
fn check_exprs(c: &CheckDef, file: &Arc<Path>, diags: &mut Diagnostics) {
    let id = &c.id.value;
    let span = |pos: Pos| Span::new(file, pos);
    for (expr, what) in std::iter::once((&c.expr, "expr")).chain(
        c.expand_discovery_expr
            .as_ref()
            .map(|e| (e, "expand_discovery_expr")),
    ) {
        if let Err(e) = promql::parse(&placeholder::with_sample_ids(expr)) {
            diags.error("promql", span(expr.pos), format!("check `{id}`: {what} does not parse as PromQL once placeholders are filled in: {e}"));
        }
        for p in placeholder::unknown_placeholders(expr) {
            let hint = closest(&p, placeholder::CHECK_PLACEHOLDERS)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            diags.warning("placeholder", span(expr.pos), format!("check `{id}`: `{p}` is not a placeholder and is sent to Prometheus as written{hint}"));
        }
    }
    let own = placeholder::of_scope(c.scope);
    for f in placeholder::ID_PLACEHOLDERS {
        if f != own && placeholder::uses(&c.expr.value, f) {
            diags.warning(
                "placeholder",
                span(c.expr.pos),
                format!("check `{id}` has scope {} but uses `{f}`; only the placeholder of its own scope is filled with ids", c.scope.as_str()),
            );
        }
    }
}

/// The `expand_*` fields of a check, which only make sense together.
fn check_expansion(c: &CheckDef, file: &Arc<Path>, diags: &mut Diagnostics) {
    let id = &c.id.value;
    let span = |pos: Pos| Span::new(file, pos);
    if c.expand_by_label.is_some() && c.scope != Scope::Node {
        diags.error(
            "expand",
            span(c.id.pos),
            format!("check `{id}`: expand_by_label only works with scope node"),
        );
    }
    if c.expand_by_label.is_none()
        && (c.expand_discovery_expr.is_some()
            || c.expand_absent_state.is_some()
            || c.expand_crit_threshold.is_some())
    {
        diags.warning(
            "expand",
            span(c.id.pos),
            format!("check `{id}`: expand_* fields have no effect without expand_by_label"),
        );
    }
    if c.expand_crit_threshold == Some(0) {
        diags.warning(
            "expand",
            span(c.id.pos),
            format!("check `{id}`: expand_crit_threshold 0 behaves like 1"),
        );
    }
    if c.expand_by_label.is_some()
        && (c.aggregate_script.is_some() || c.aggregate_script_file.is_some())
    {
        diags.error(
            "script",
            span(c.id.pos),
            format!("check `{id}`: an aggregate script cannot be combined with expand_by_label, which already decides the target from its slots"),
        );
    }
}

/// A check's rules and `for:`: present, finite, reachable.
fn check_rules(c: &CheckDef, file: &Arc<Path>, diags: &mut Diagnostics) {
    let id = &c.id.value;
    let span = |pos: Pos| Span::new(file, pos);
    if c.rules.is_empty() && !c.is_scripted() {
        diags.warning(
            "no-rules",
            span(c.id.pos),
            format!("check `{id}` has no rules, so every series it returns is OK"),
        );
    }
    if let Some(d) = &c.for_duration
        && d.value.seconds > MAX_FOR_SECONDS
    {
        diags.error(
            "bad-value",
            span(d.pos),
            format!(
                "check `{id}`: `for: {}` is longer than a year, so the alert would never fire",
                d.value
            ),
        );
    }
    for r in &c.rules {
        if let Some(v) = r.value.value.as_number()
            && !v.is_finite()
        {
            // NaN never compares true and an infinite threshold matches all or nothing:
            // either way the rule would hide a failure.
            diags.error(
                "bad-value",
                span(r.pos),
                format!("check `{id}`: rule threshold {v} is not a finite number"),
            );
        }
        if r.value.value.as_number().is_none() {
            diags.warning(
                "rule",
                span(r.pos),
                format!(
                    "check `{id}`: rule threshold {:?} is not a number, so the rule never matches",
                    r.value.value
                ),
            );
        }
    }
    for (j, shadow) in unreachable_rules(&c.rules) {
        let r = &c.rules[j];
        let what = match shadow {
            Some(i) => format!(
                "rule {} ({}) already matches every value it would",
                i + 1,
                describe(&c.rules[i])
            ),
            None => "the rules before it already match every value it would".to_owned(),
        };
        diags.warning(
            "unreachable-rule",
            span(r.pos),
            format!(
                "check `{id}`: rule {} ({}) can never match: {what}, and the first matching rule wins; list the most severe threshold first",
                j + 1,
                describe(r)
            ),
        );
    }
}

fn describe(r: &Rule) -> String {
    let v = match &r.value {
        crate::model::checks::RuleValue::Number(n) => n.to_string(),
        crate::model::checks::RuleValue::Text(t) => format!("{t:?}"),
    };
    format!("{} {v} → {}", r.op.as_str(), r.severity)
}

/// Rules that no value can reach because earlier rules match everything they match.
/// Returns the rule index and, when a single earlier rule covers it, that rule's index.
///
/// Every rule's match set is a union of intervals whose ends are thresholds, so testing
/// each threshold and one point inside every gap between thresholds is exact.
pub fn unreachable_rules(rules: &[Located<Rule>]) -> Vec<(usize, Option<usize>)> {
    let numeric: Vec<Option<(Op, f64)>> = rules
        .iter()
        .map(|r| r.value.value.as_number().map(|v| (r.value.op, v)))
        .collect();
    let mut points: Vec<f64> = numeric
        .iter()
        .flatten()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .collect();
    points.sort_by(f64::total_cmp);
    points.dedup();
    let mut probes = Vec::with_capacity(points.len() * 2 + 2);
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        probes.push(first - 1.0);
        probes.push(last + 1.0);
    }
    for w in points.windows(2) {
        probes.push((w[0] + w[1]) / 2.0);
    }
    probes.extend(points.iter().copied());
    let mut out = Vec::new();
    for (j, rj) in numeric.iter().enumerate() {
        let Some((op, t)) = rj else { continue };
        let hits: Vec<f64> = probes.iter().copied().filter(|p| op.test(*p, *t)).collect();
        if hits.is_empty() {
            continue;
        }
        let covered = |p: f64| numeric[..j].iter().flatten().any(|(o, v)| o.test(p, *v));
        if hits.iter().all(|p| covered(*p)) {
            let single = (0..j)
                .find(|&i| numeric[i].is_some_and(|(o, v)| hits.iter().all(|p| o.test(*p, v))));
            out.push((j, single));
        }
    }
    out
}

fn unbound(config: &Config, diags: &mut Diagnostics) {
    for (ix, c) in config.checks.iter().enumerate() {
        if config.bindings.listing(ix) == Listing::Unlisted {
            diags.warning(
                "unbound-check",
                c.span(c.def.id.pos),
                format!(
                    "check `{}` is not listed by any template, so it never runs",
                    c.def.id.value
                ),
            );
        }
    }
}

/// What `rackscope check` prints after the diagnostics.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    #[serde(flatten)]
    pub counts: Counts,
    pub checks: usize,
    /// Checks that will run: listed by a template that the topology uses.
    pub checks_bound: usize,
    pub device_templates: usize,
    pub rack_templates: usize,
    pub rack_component_templates: usize,
    pub metrics: usize,
    /// Short ids that name several objects, with the qualified path of each.
    pub ambiguous: Vec<AmbiguousId>,
}

/// A short id several objects carry (ids are unique among siblings only).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AmbiguousId {
    pub kind: &'static str,
    pub id: String,
    pub paths: Vec<String>,
}

fn ambiguous(topo: &crate::topology::Topology) -> Vec<AmbiguousId> {
    let amb = topo.ambiguities();
    let one = |kind, id: &String, paths: Vec<String>| AmbiguousId {
        kind,
        id: id.clone(),
        paths,
    };
    let rooms = amb
        .rooms
        .iter()
        .map(|(id, all)| one("room", id, all.iter().map(|&r| topo.room_path(r)).collect()));
    let aisles = amb.aisles.iter().map(|(id, all)| {
        one(
            "aisle",
            id,
            all.iter().map(|&a| topo.aisle_path(a)).collect(),
        )
    });
    let racks = amb
        .racks
        .iter()
        .map(|(id, all)| one("rack", id, all.iter().map(|&r| topo.rack_path(r)).collect()));
    let devices = amb.devices.iter().map(|(id, all)| {
        one(
            "device",
            id,
            all.iter().map(|&d| topo.device_path(d)).collect(),
        )
    });
    rooms.chain(aisles).chain(racks).chain(devices).collect()
}

pub fn summary(config: &Config) -> Summary {
    Summary {
        counts: config.topology.counts(),
        checks: config.checks.len(),
        checks_bound: (0..config.checks.len())
            .filter(|&ix| config.bindings.listing(ix) == Listing::InUse)
            .count(),
        device_templates: config.catalog.devices.len(),
        rack_templates: config.catalog.racks.len(),
        rack_component_templates: config.catalog.components.len(),
        metrics: config.metrics.len(),
        ambiguous: ambiguous(&config.topology),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checks::RuleValue;
    use crate::severity::Severity;

    fn rule(op: Op, v: f64, s: Severity) -> Located<Rule> {
        Located::new(
            Rule {
                op,
                value: RuleValue::Number(v),
                severity: s,
            },
            Pos::FILE,
        )
    }

    #[test]
    fn warn_before_crit_shadows_crit() {
        let r = [
            rule(Op::Gt, 75.0, Severity::Warn),
            rule(Op::Gt, 90.0, Severity::Crit),
        ];
        assert_eq!(unreachable_rules(&r), vec![(1, Some(0))]);
        let r = [
            rule(Op::Gt, 90.0, Severity::Crit),
            rule(Op::Gt, 75.0, Severity::Warn),
        ];
        assert!(unreachable_rules(&r).is_empty());
    }

    #[test]
    fn union_of_earlier_rules_can_shadow() {
        let r = [
            rule(Op::Lt, 10.0, Severity::Warn),
            rule(Op::Ge, 10.0, Severity::Crit),
            rule(Op::Eq, 3.0, Severity::Crit),
        ];
        assert_eq!(unreachable_rules(&r), vec![(2, Some(0))]);
        let r = [
            rule(Op::Lt, 10.0, Severity::Warn),
            rule(Op::Gt, 10.0, Severity::Warn),
            rule(Op::Ne, 5.0, Severity::Crit),
        ];
        // `!= 5` still matches exactly 10, which neither earlier rule does.
        assert!(unreachable_rules(&r).is_empty());
        let r = [
            rule(Op::Le, 10.0, Severity::Warn),
            rule(Op::Gt, 10.0, Severity::Warn),
            rule(Op::Ne, 5.0, Severity::Crit),
        ];
        assert_eq!(unreachable_rules(&r), vec![(2, None)]);
    }

    #[test]
    fn equal_thresholds_with_different_ops() {
        let r = [
            rule(Op::Ge, 1.0, Severity::Warn),
            rule(Op::Gt, 1.0, Severity::Crit),
        ];
        assert_eq!(unreachable_rules(&r), vec![(1, Some(0))]);
        let r = [
            rule(Op::Gt, 0.0, Severity::Warn),
            rule(Op::Gt, 1.0, Severity::Crit),
        ];
        assert_eq!(unreachable_rules(&r), vec![(1, Some(0))]);
        let r = [
            rule(Op::Eq, 1.0, Severity::Warn),
            rule(Op::Eq, 2.0, Severity::Crit),
        ];
        assert!(unreachable_rules(&r).is_empty());
    }
}
