//! The optional Alertmanager integration (app.yaml `alertmanager:`, docs/maintenance.md):
//! each active maintenance window gets exactly one matching silence, and a window that
//! stops, expires or goes away has its silence expired.
//!
//! Ours are the silences created by `rackscope` whose comment names a window
//! (`rackscope maintenance <id>: <reason>`); no other silence is ever written or expired,
//! whatever it matches. A pass (`Syncer::sync_once`) reads every silence, works out what
//! the windows in force want (`wanted`, a pure function of the windows, the topology and
//! the settings), and writes only the difference (`actions`). `run` makes a pass every
//! `alertmanager.sync_seconds` and at once after the windows or the configuration change.
//! An Alertmanager that is down or slow is retried at the next pass, logged once per
//! outage and counted on `/metrics`; nothing else ever waits on it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rackscope_core::Config;
use rackscope_core::maintenance::{Maintenances, Reach, Status, format_time, parse_time};
use rackscope_core::model::app::Alertmanager;
use rackscope_core::model::maintenance::TargetType;
use rackscope_core::telemetry::Engine;
use rackscope_core::topology::Topology;
use serde::{Deserialize, Serialize};

/// `createdBy` of every silence we make: one of the two marks of ours.
pub const CREATED_BY: &str = "rackscope";

/// How the comment of ours starts; the window's id follows.
pub const COMMENT_PREFIX: &str = "rackscope maintenance ";

/// An open-ended window's silence ends this far ahead and is extended once less than half
/// of it is left: if Rackscope stops, the silence still ends on its own.
pub const HORIZON_SECONDS: i64 = 3600;

/// The most instance names one silence lists; a window over more, on a level without a
/// label, is not sent (a warning, and `rackscope_alertmanager_windows_not_sent`).
pub const MAX_NAMES: usize = 2_000;

/// The longest regular expression one silence carries.
pub const MAX_REGEX_BYTES: usize = 64 * 1024;

/// The most bytes read of the list of silences (expired ones included, which Alertmanager
/// keeps for days).
pub const MAX_LIST_BYTES: usize = 32 * 1024 * 1024;

/// The most bytes read of any other answer: an id, or an error text.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Writes (creations, updates, expiries) per pass; the rest waits for the next pass, so
/// that one pass stays short whatever the number of windows.
pub const MAX_WRITES_PER_PASS: usize = 500;

/// The longest reason copied into a comment.
const MAX_COMMENT_REASON: usize = 500;

/// How often `run` looks for a change of the windows or of the configuration (two atomic
/// loads).
const POLL: Duration = Duration::from_secs(1);

/// One matcher of a silence, as Alertmanager's API v2 writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    /// Absent in answers of Alertmanager before 0.22, where every matcher was equal.
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_owned(),
            value: value.to_owned(),
            is_regex: false,
            is_equal: true,
        }
    }

    pub fn regex(name: &str, value: String) -> Matcher {
        Matcher {
            name: name.to_owned(),
            value,
            is_regex: true,
            is_equal: true,
        }
    }
}

/// Why an active window has no silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotSent {
    /// Limited to a check: alerts do not say which check of Rackscope's they match.
    Check,
    /// Its target is not in the topology, or holds no instance.
    NoTarget,
    /// More than `MAX_NAMES` names, or a regular expression over `MAX_REGEX_BYTES`.
    TooLarge,
    /// Its level has no label and `labels.instance` is unset.
    NoLabel,
}

impl NotSent {
    pub const ALL: [NotSent; 4] = [
        NotSent::Check,
        NotSent::NoTarget,
        NotSent::TooLarge,
        NotSent::NoLabel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotSent::Check => "check",
            NotSent::NoTarget => "no_target",
            NotSent::TooLarge => "too_large",
            NotSent::NoLabel => "no_label",
        }
    }

    fn explain(self) -> String {
        match self {
            NotSent::Check => {
                "the window is limited to a check; alerts do not say which check they come from, so it is not sent to Alertmanager".into()
            }
            NotSent::NoTarget => {
                "the window's target is not in the topology or holds no instance; no silence".into()
            }
            NotSent::TooLarge => format!(
                "the window covers more than {MAX_NAMES} instance names (or {MAX_REGEX_BYTES} bytes of regular expression); set alertmanager.labels for its level to silence it by label"
            ),
            NotSent::NoLabel => {
                "alertmanager.labels has no label for the window's level and labels.instance is unset; no silence".into()
            }
        }
    }
}

/// The silence an active window wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub window: String,
    /// Sorted, as compared.
    pub matchers: Vec<Matcher>,
    /// The window's end, or its current occurrence's for a repeating window; `None` for
    /// an open-ended window (a rolling horizon).
    pub ends: Option<i64>,
    /// The window's start, when it has one (it is in the past: the window is active).
    pub starts: Option<i64>,
    pub comment: String,
}

/// The comment of the silence of window `id`.
pub fn comment(id: &str, reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() {
        return format!("{COMMENT_PREFIX}{id}");
    }
    let mut cut = reason.len().min(MAX_COMMENT_REASON);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let ellipsis = if cut < reason.len() { "…" } else { "" };
    format!("{COMMENT_PREFIX}{id}: {}{ellipsis}", &reason[..cut])
}

/// What the windows of `m` active at `now` want of Alertmanager, and the active ones that
/// want nothing, with why.
pub fn wanted(
    am: &Alertmanager,
    topo: &Topology,
    m: &Maintenances,
    now: i64,
) -> (Vec<Want>, Vec<(String, NotSent)>) {
    let mut want = Vec::new();
    let mut not_sent = Vec::new();
    for w in m.windows.iter().filter(|w| w.status(now) == Status::Active) {
        let e = &w.entry;
        let found = if e.check.is_some() {
            Err(NotSent::Check)
        } else {
            Reach::of(topo, e.target_type, &e.target_id)
                .ok_or(NotSent::NoTarget)
                .and_then(|r| matchers(am, &r))
        };
        match found {
            Ok(mut matchers) => {
                matchers.sort();
                want.push(Want {
                    window: e.id.clone(),
                    matchers,
                    ends: w.active_until(now),
                    starts: w.starts,
                    comment: comment(&e.id, &e.reason),
                });
            }
            Err(why) => not_sent.push((e.id.clone(), why)),
        }
    }
    (want, not_sent)
}

/// The matchers of a target: its level's label equal to its id when `labels` names one,
/// else the names of the instances under it on `labels.instance`, bounded.
pub fn matchers(am: &Alertmanager, reach: &Reach<'_>) -> Result<Vec<Matcher>, NotSent> {
    let labels = am.labels.each();
    let label = |level: TargetType| {
        labels
            .iter()
            .find(|(l, _)| *l == level.as_str())
            .and_then(|(_, v)| *v)
    };
    let level = reach.level();
    if level != TargetType::Instance
        && let Some(name) = label(level)
    {
        return Ok(vec![Matcher::equal(name, reach.id())]);
    }
    let instance = label(TargetType::Instance).ok_or(NotSent::NoLabel)?;
    let names = reach.nodes(MAX_NAMES).ok_or(NotSent::TooLarge)?;
    if names.is_empty() {
        return Err(NotSent::NoTarget);
    }
    let re = instance_regex(&names, &am.instance_pattern);
    if re.len() > MAX_REGEX_BYTES {
        return Err(NotSent::TooLarge);
    }
    Ok(vec![Matcher::regex(instance, re)])
}

/// `(?:name|name…)(?:suffix)`: the names escaped (Alertmanager anchors the whole), each
/// once, then the suffix in a group of its own so that it cannot widen the alternation.
pub fn instance_regex(names: &[&str], suffix: &str) -> String {
    let mut seen = HashSet::with_capacity(names.len());
    let mut out = String::with_capacity(names.iter().map(|n| n.len() + 1).sum::<usize>() + 16);
    out.push_str("(?:");
    for (i, n) in names.iter().filter(|n| seen.insert(**n)).enumerate() {
        if i > 0 {
            out.push('|');
        }
        escape_regex(n, &mut out);
    }
    out.push(')');
    if !suffix.is_empty() {
        out.push_str("(?:");
        out.push_str(suffix);
        out.push(')');
    }
    out
}

/// Escapes what means something outside a character class in RE2 (Alertmanager's regex
/// engine), as Go's `regexp.QuoteMeta` does; dashes, common in names, stay as they are.
fn escape_regex(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// One silence of ours as Alertmanager lists it, not yet expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ours {
    pub id: String,
    /// Sorted.
    pub matchers: Vec<Matcher>,
    /// As Alertmanager wrote it: sent back unchanged so that an update is made in place.
    pub starts_at: String,
    pub ends: i64,
    pub comment: String,
}

/// A write a pass makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'w> {
    Create(&'w Want),
    /// The silence `id` with a new end or comment, same matchers.
    Update {
        id: String,
        starts_at: String,
        want: &'w Want,
    },
    Expire {
        id: String,
        /// The window it was for, when it can be read.
        window: Option<String>,
    },
}

/// The window a comment of ours names, among `ids`: the longest id the text after the
/// prefix is or starts with before a `:` (a reason may hold colons, and so may an id).
fn owner<'a>(comment: &str, ids: &HashMap<&'a str, usize>) -> Option<(&'a str, usize)> {
    let rest = comment.strip_prefix(COMMENT_PREFIX)?;
    let whole = std::iter::once(rest.len());
    let cuts = rest.match_indices(':').map(|(i, _)| i).rev();
    whole
        .chain(cuts)
        .find_map(|i| ids.get_key_value(&rest[..i]).map(|(k, v)| (*k, *v)))
}

/// The window id a comment of ours names, for the log, when the comment has a reason.
fn window_in(comment: &str) -> Option<String> {
    let rest = comment.strip_prefix(COMMENT_PREFIX)?;
    Some(rest.split_once(": ").map_or(rest, |(id, _)| id).to_owned())
}

/// What to write so that each wanted window has exactly one silence of ours with its
/// matchers, end and comment, and no other silence of ours is left active. Creations and
/// updates come first, so that a replaced silence is expired only once its successor
/// exists. Of two silences of ours for one window (two replicas, or a pass cut short), the
/// one with the smallest id is kept, so that replicas agree on it.
pub fn actions<'w>(want: &'w [Want], ours: &[Ours], now: i64) -> Vec<Action<'w>> {
    let ids: HashMap<&str, usize> = want
        .iter()
        .enumerate()
        .map(|(i, w)| (w.window.as_str(), i))
        .collect();
    let mut mine: Vec<Vec<&Ours>> = vec![Vec::new(); want.len()];
    let mut expire = Vec::new();
    for s in ours {
        match owner(&s.comment, &ids) {
            Some((_, i)) => mine[i].push(s),
            None => expire.push(Action::Expire {
                id: s.id.clone(),
                window: window_in(&s.comment),
            }),
        }
    }
    let mut writes = Vec::new();
    for (w, mut mine) in want.iter().zip(mine) {
        mine.sort_by(|a, b| a.id.cmp(&b.id));
        let keep = mine.iter().position(|s| s.matchers == w.matchers);
        match keep {
            Some(k) => {
                let s = mine[k];
                if !fresh(s, w, now) {
                    writes.push(Action::Update {
                        id: s.id.clone(),
                        starts_at: s.starts_at.clone(),
                        want: w,
                    });
                }
            }
            None => writes.push(Action::Create(w)),
        }
        expire.extend(
            mine.iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != keep)
                .map(|(_, s)| Action::Expire {
                    id: s.id.clone(),
                    window: Some(w.window.clone()),
                }),
        );
    }
    writes.extend(expire);
    writes
}

/// Whether silence `s` says what `w` wants: the same comment and end (within a second), or
/// for an open-ended window at least half the horizon still ahead.
fn fresh(s: &Ours, w: &Want, now: i64) -> bool {
    s.comment == w.comment
        && match w.ends {
            Some(e) => (s.ends - e).abs() <= 1,
            None => s.ends - now >= HORIZON_SECONDS / 2,
        }
}

// ---------------------------------------------------------------- HTTP

/// Why a request to Alertmanager failed.
#[derive(Debug, thiserror::Error)]
pub enum AmError {
    #[error("cannot build the Alertmanager client: {0}")]
    Client(String),
    #[error("Alertmanager at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Alertmanager at {url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: f64 },
    #[error("Alertmanager answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("Alertmanager's answer is over {0} bytes")]
    TooLarge(usize),
    #[error("Alertmanager's answer is not what its API v2 returns: {0}")]
    Decode(String),
}

#[derive(Clone)]
enum Credentials {
    None,
    Basic(String, Option<String>),
    Bearer(String),
}

/// The API v2 client, built from the settings it was made with (rebuilt when they change).
struct Client {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    timeout: f64,
    from: Alertmanager,
}

/// Without the credentials, which have no business in a log.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The silence as written on `POST /api/v2/silences`.
#[derive(Serialize)]
struct Postable<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    matchers: &'a [Matcher],
    #[serde(rename = "startsAt")]
    starts_at: &'a str,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "createdBy")]
    created_by: &'a str,
    comment: &'a str,
}

/// A silence as listed, every field optional: one that lacks a field is not ours (ours
/// have them all) and is skipped rather than failing the list.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Listed {
    id: String,
    status: ListedStatus,
    matchers: Vec<Matcher>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "createdBy")]
    created_by: String,
    comment: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListedStatus {
    state: String,
}

#[derive(Deserialize)]
struct Posted {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// A timeout as a `Duration`, clamped: `rackscope check` refuses values outside (0, 300],
/// but nothing here may panic on a configuration that skipped it.
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.clamp(0.001, 300.0)).unwrap_or(Duration::from_secs(5))
}

impl Client {
    fn new(am: &Alertmanager, base_dir: &std::path::Path) -> Result<Client, AmError> {
        let base = am.url().unwrap_or_default().to_owned();
        let t = secs(am.timeout_seconds);
        rackscope_prometheus::tls::provider();
        let mut b = reqwest::Client::builder()
            .connect_timeout(t)
            .timeout(t)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rackscope/", env!("CARGO_PKG_VERSION")));
        if !am.tls_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(ca) = &am.tls_ca_file {
            let path = if ca.is_absolute() {
                ca.clone()
            } else {
                base_dir.join(ca)
            };
            let pem = rackscope_core::walk::read_bounded(&path, 1 << 20)
                .map_err(|e| AmError::Client(format!("{}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| AmError::Client(format!("{}: {e}", path.display())))?;
            b = b.tls_certs_merge(certs);
        }
        let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let credentials = match (set(&am.basic_auth_user), set(&am.bearer_token)) {
            (Some(u), _) => Credentials::Basic(u, set(&am.basic_auth_password)),
            (None, Some(t)) => Credentials::Bearer(t),
            (None, None) => Credentials::None,
        };
        Ok(Client {
            http: b.build().map_err(|e| AmError::Client(e.to_string()))?,
            base,
            credentials,
            timeout: am.timeout_seconds,
            from: am.clone(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.credentials {
            Credentials::None => req,
            Credentials::Basic(u, p) => req.basic_auth(u, p.as_ref()),
            Credentials::Bearer(t) => req.bearer_auth(t),
        }
    }

    /// Sends `req` and reads the body up to `bound` bytes; an error status is an error
    /// with the start of its body.
    async fn send(&self, req: reqwest::RequestBuilder, bound: usize) -> Result<Vec<u8>, AmError> {
        let mut resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let error = !(200..300).contains(&status);
        let bound = if error { MAX_ANSWER_BYTES } else { bound };
        if !error && resp.content_length().is_some_and(|n| n > bound as u64) {
            return Err(AmError::TooLarge(bound));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(e))? {
            let room = bound - body.len();
            if chunk.len() > room {
                if error {
                    body.extend_from_slice(&chunk[..room]);
                    break;
                }
                return Err(AmError::TooLarge(bound));
            }
            body.extend_from_slice(&chunk);
        }
        if error {
            let text = String::from_utf8_lossy(&body);
            let body = rackscope_core::telemetry::source::clip(text.trim());
            let body = if status == 401 || status == 403 {
                format!(
                    "authentication refused ({body}); check alertmanager.basic_auth_user, basic_auth_password or bearer_token"
                )
            } else {
                body
            };
            return Err(AmError::Status { status, body });
        }
        Ok(body)
    }

    fn transport(&self, e: reqwest::Error) -> AmError {
        if e.is_timeout() {
            return AmError::Timeout {
                url: self.base.clone(),
                seconds: self.timeout,
            };
        }
        // The cause chain says what happened (connection refused, certificate unknown);
        // reqwest's own message only repeats the URL.
        let mut causes = Vec::new();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            causes.push(s.to_string());
            src = s.source();
        }
        let reason = if causes.is_empty() {
            e.to_string()
        } else {
            causes.join(": ")
        };
        AmError::Unreachable {
            url: self.base.clone(),
            reason: rackscope_core::telemetry::source::clip(&reason),
        }
    }

    /// Every silence of ours that is not expired; those of others are skipped. An answer
    /// that is not a list of silences is an error.
    async fn ours(&self) -> Result<Vec<Ours>, AmError> {
        let body = self
            .send(
                self.request(reqwest::Method::GET, "/api/v2/silences"),
                MAX_LIST_BYTES,
            )
            .await?;
        // Decoded straight into the few fields read (unknown ones skipped), not into a
        // JSON tree: the list can be most of `MAX_LIST_BYTES`.
        let all: Vec<Listed> = serde_json::from_slice(&body).map_err(decode)?;
        drop(body);
        let mut out = Vec::new();
        for s in all {
            let is_ours = s.created_by == CREATED_BY && s.comment.starts_with(COMMENT_PREFIX);
            if !is_ours || s.status.state == "expired" || !valid_id(&s.id) {
                continue;
            }
            let Ok(ends) = parse_time(&s.ends_at, None) else {
                continue;
            };
            let mut matchers = s.matchers;
            matchers.sort();
            out.push(Ours {
                id: s.id,
                matchers,
                starts_at: s.starts_at,
                ends,
                comment: s.comment,
            });
        }
        Ok(out)
    }

    async fn post(&self, p: &Postable<'_>) -> Result<String, AmError> {
        let body = self
            .send(
                self.request(reqwest::Method::POST, "/api/v2/silences")
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::to_vec(p).map_err(decode)?),
                MAX_ANSWER_BYTES,
            )
            .await?;
        let posted: Posted = serde_json::from_slice(&body).map_err(decode)?;
        Ok(posted.silence_id)
    }

    async fn expire(&self, id: &str) -> Result<(), AmError> {
        let req = self.request(reqwest::Method::DELETE, &format!("/api/v2/silence/{id}"));
        match self.send(req, MAX_ANSWER_BYTES).await {
            Ok(_) => Ok(()),
            // Gone or ended between the list and now: what we wanted. Alertmanager 0.25
            // answers 500 "silence not found" for an id it does not know.
            Err(AmError::Status { status: 404, .. }) => Ok(()),
            Err(AmError::Status { body, .. })
                if body.contains("not found") || body.contains("already expired") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// A decoding error, clipped: serde quotes the values it refuses.
fn decode(e: serde_json::Error) -> AmError {
    AmError::Decode(rackscope_core::telemetry::source::clip(&e.to_string()))
}

/// Alertmanager's silence ids are UUIDs; anything else is not put into a URL path.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

// ---------------------------------------------------------------- passes

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// What `/metrics` says of the integration.
#[derive(Debug)]
pub struct Stats {
    syncs: Family<ResultLabels, Counter>,
    silences: Gauge,
    not_sent: Family<ReasonLabels, Gauge>,
    last_success: Gauge<i64, AtomicI64>,
}

impl Default for Stats {
    fn default() -> Stats {
        let s = Stats {
            syncs: Family::default(),
            silences: Gauge::default(),
            not_sent: Family::default(),
            last_success: Gauge::default(),
        };
        // Every series from the start, so that a rate over them never misses its first.
        for result in ["ok", "error"] {
            let _ = s.syncs.get_or_create(&ResultLabels { result });
        }
        for r in NotSent::ALL {
            let _ = s
                .not_sent
                .get_or_create(&ReasonLabels { reason: r.as_str() });
        }
        s
    }
}

impl Stats {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "rackscope_alertmanager_sync",
            "Reconciliations of maintenance windows with Alertmanager silences, by result",
            self.syncs.clone(),
        );
        registry.register(
            "rackscope_alertmanager_silences",
            "Active Alertmanager silences Rackscope keeps for its maintenance windows, after the last pass",
            self.silences.clone(),
        );
        registry.register(
            "rackscope_alertmanager_windows_not_sent",
            "Active maintenance windows with no silence at the last pass, by reason",
            self.not_sent.clone(),
        );
        registry.register(
            "rackscope_alertmanager_last_success_timestamp_seconds",
            "When a pass last completed without an error (Unix seconds; 0: never)",
            self.last_success.clone(),
        );
    }

    /// Passes counted with `result`.
    pub fn syncs(&self, result: &'static str) -> u64 {
        self.syncs.get_or_create(&ResultLabels { result }).get()
    }

    pub fn silences(&self) -> i64 {
        self.silences.get()
    }
}

/// How one pass went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    pub created: usize,
    pub updated: usize,
    pub expired: usize,
    /// Silences already right.
    pub kept: usize,
    /// Active windows without a silence, with why.
    pub not_sent: Vec<(String, NotSent)>,
    /// Writes left for the next pass (past `MAX_WRITES_PER_PASS`, or after Alertmanager
    /// stopped answering).
    pub deferred: usize,
}

/// The reconciler's memory between passes: the client, whether Alertmanager is known to be
/// down (so an outage is logged once), and which windows' reasons for having no silence
/// were logged already.
#[derive(Debug)]
pub struct Syncer {
    stats: Arc<Stats>,
    client: Option<Client>,
    down: bool,
    noted: HashSet<(String, NotSent)>,
}

impl Syncer {
    pub fn new(stats: Arc<Stats>) -> Syncer {
        Syncer {
            stats,
            client: None,
            down: false,
            noted: HashSet::new(),
        }
    }

    /// One pass over the windows `m` at `now` (Unix seconds) with `config`'s settings and
    /// topology: `Ok(None)` when the integration is off. A failed request ends the pass
    /// (an unreachable Alertmanager) or is skipped for the next pass (one refused write);
    /// either way the pass counts as an error.
    pub async fn sync_once(
        &mut self,
        config: &Config,
        m: &Maintenances,
        now: i64,
    ) -> Result<Option<Pass>, AmError> {
        let am = &config.app.alertmanager;
        if am.url().is_none() {
            self.client = None;
            self.stats.silences.set(0);
            for r in NotSent::ALL {
                self.stats
                    .not_sent
                    .get_or_create(&ReasonLabels { reason: r.as_str() })
                    .set(0);
            }
            return Ok(None);
        }
        let result = self.pass(config, m, now).await;
        match &result {
            Ok(pass) => {
                self.stats
                    .syncs
                    .get_or_create(&ResultLabels { result: "ok" })
                    .inc();
                self.stats.last_success.set(now);
                if self.down {
                    tracing::info!(
                        url = am.url().unwrap_or_default(),
                        "Alertmanager answers again; silences reconciled"
                    );
                    self.down = false;
                }
                tracing::debug!(?pass, "Alertmanager silences reconciled");
            }
            Err(e) => {
                self.stats
                    .syncs
                    .get_or_create(&ResultLabels { result: "error" })
                    .inc();
                if !self.down {
                    tracing::warn!(error = %e, "Alertmanager silences could not be reconciled; retrying every alertmanager.sync_seconds (logged once until it recovers)");
                    self.down = true;
                } else {
                    tracing::debug!(error = %e, "Alertmanager still failing");
                }
            }
        }
        result.map(Some)
    }

    async fn pass(&mut self, config: &Config, m: &Maintenances, now: i64) -> Result<Pass, AmError> {
        let am = &config.app.alertmanager;
        let (want, not_sent) = wanted(am, &config.topology, m, now);
        self.note(&not_sent);
        if self.client.as_ref().is_none_or(|c| c.from != *am) {
            self.client = None;
            self.client = Some(Client::new(am, &config.base_dir)?);
        }
        let Some(client) = self.client.as_ref() else {
            return Err(AmError::Client("no client".into()));
        };
        let mut counts = [0i64; NotSent::ALL.len()];
        for (_, why) in &not_sent {
            if let Some(i) = NotSent::ALL.iter().position(|r| r == why) {
                counts[i] += 1;
            }
        }
        for (r, n) in NotSent::ALL.iter().zip(counts) {
            self.stats
                .not_sent
                .get_or_create(&ReasonLabels { reason: r.as_str() })
                .set(n);
        }
        let ours = client.ours().await?;
        let todo = actions(&want, &ours, now);
        let mut pass = Pass {
            not_sent,
            ..Pass::default()
        };
        let mut first_error = None;
        // Windows whose silence is right after the pass: those left alone, and those whose
        // write succeeded.
        let mut right: HashSet<&str> = want.iter().map(|w| w.window.as_str()).collect();
        let start = |w: &Want| {
            // The window's own start when it has one: Alertmanager moves a past start to
            // its own now, so a clock a little behind ours never makes the silence pending.
            format_time(w.starts.map_or(now, |s| s.min(now)))
        };
        let mut attempted = 0;
        for action in todo.iter().take(MAX_WRITES_PER_PASS) {
            attempted += 1;
            let done = match action {
                Action::Create(w) => {
                    let r = client
                        .post(&Postable {
                            id: None,
                            matchers: &w.matchers,
                            starts_at: &start(w),
                            ends_at: ends_at(w, now),
                            created_by: CREATED_BY,
                            comment: &w.comment,
                        })
                        .await;
                    if let Ok(id) = &r {
                        pass.created += 1;
                        tracing::info!(window = %w.window.escape_debug(), silence = %id.escape_debug(), "Alertmanager silence created for a maintenance window");
                    }
                    r.map(|_| ()).map_err(|e| (e, Some(w.window.as_str())))
                }
                Action::Update {
                    id,
                    starts_at,
                    want: w,
                } => {
                    let r = client
                        .post(&Postable {
                            id: Some(id),
                            matchers: &w.matchers,
                            starts_at,
                            ends_at: ends_at(w, now),
                            created_by: CREATED_BY,
                            comment: &w.comment,
                        })
                        .await;
                    if r.is_ok() {
                        pass.updated += 1;
                    }
                    r.map(|_| ()).map_err(|e| (e, Some(w.window.as_str())))
                }
                Action::Expire { id, window } => {
                    let r = client.expire(id).await;
                    if r.is_ok() {
                        pass.expired += 1;
                        tracing::info!(window = %window.as_deref().unwrap_or("?").escape_debug(), silence = %id.escape_debug(), "Alertmanager silence expired: its window is over, or a new silence replaced it");
                    }
                    r.map_err(|e| (e, None))
                }
            };
            if let Err((e, window)) = done {
                if let Some(w) = window {
                    right.remove(w);
                }
                // Unreachable: the next writes would wait out the same timeout each.
                let gone = matches!(e, AmError::Unreachable { .. } | AmError::Timeout { .. });
                first_error.get_or_insert(e);
                if gone {
                    break;
                }
            }
        }
        pass.deferred = todo.len() - attempted;
        for action in &todo[attempted..] {
            if let Action::Create(w) = action {
                right.remove(w.window.as_str());
            }
        }
        let written = todo
            .iter()
            .filter(|a| !matches!(a, Action::Expire { .. }))
            .count();
        pass.kept = want.len().saturating_sub(written);
        self.stats.silences.set(right.len() as i64);
        match first_error {
            Some(e) => Err(e),
            None => Ok(pass),
        }
    }

    /// Logs each active window without a silence once, and forgets windows no longer in
    /// that case, so the memory stays as large as the file.
    fn note(&mut self, not_sent: &[(String, NotSent)]) {
        let now: HashSet<(String, NotSent)> = not_sent.iter().cloned().collect();
        for (id, why) in not_sent {
            if !self.noted.contains(&(id.clone(), *why)) {
                match why {
                    NotSent::Check | NotSent::NoTarget => {
                        tracing::info!(window = %id.escape_debug(), reason = %why.explain(), "maintenance window not sent to Alertmanager");
                    }
                    NotSent::TooLarge | NotSent::NoLabel => {
                        tracing::warn!(window = %id.escape_debug(), reason = %why.explain(), "maintenance window not sent to Alertmanager");
                    }
                }
            }
        }
        self.noted = now;
    }
}

/// The end a silence is given: the window's, or the rolling horizon.
fn ends_at(w: &Want, now: i64) -> String {
    format_time(w.ends.unwrap_or(now.saturating_add(HORIZON_SECONDS)))
}

/// The reconciler of a server, until `closing` turns true: a pass at once, then every
/// `alertmanager.sync_seconds`, and as soon as the windows in force or the configuration
/// change (a new `Arc` from `Engine::set_maintenances` or a reload). A pass in progress is
/// dropped at shutdown rather than waited for.
pub async fn run(
    engine: Arc<Engine>,
    stats: Arc<Stats>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let mut syncer = Syncer::new(stats);
    let mut seen: Option<(Arc<Maintenances>, Arc<Config>)> = None;
    let mut due = tokio::time::Instant::now();
    loop {
        if *closing.borrow() {
            return;
        }
        let config = engine.config();
        let m = engine.maintenances();
        let changed = seen
            .as_ref()
            .is_none_or(|(sm, sc)| !Arc::ptr_eq(sm, &m) || !Arc::ptr_eq(sc, &config));
        if changed || tokio::time::Instant::now() >= due {
            let interval =
                Duration::from_secs(u64::from(config.app.alertmanager.sync_seconds.max(5)));
            seen = Some((m.clone(), config.clone()));
            tokio::select! {
                // The outcome is logged and counted inside.
                _ = syncer.sync_once(&config, &m, rackscope_core::clock::unix_seconds(SystemTime::now())) => {}
                _ = closing.changed() => return,
            }
            due = tokio::time::Instant::now() + interval;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            r = closing.changed() => if r.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(window: &str, value: &str, ends: Option<i64>) -> Want {
        Want {
            window: window.into(),
            matchers: vec![Matcher::regex("instance", value.into())],
            ends,
            starts: None,
            comment: comment(window, "why"),
        }
    }

    fn ours(id: &str, w: &Want, ends: i64) -> Ours {
        Ours {
            id: id.into(),
            matchers: w.matchers.clone(),
            starts_at: "2026-01-01T00:00:00.000Z".into(),
            ends,
            comment: w.comment.clone(),
        }
    }

    #[test]
    fn names_are_escaped_deduplicated_and_the_suffix_kept_in_its_group() {
        assert_eq!(
            instance_regex(&["node.1", "a+b", "n03", "node.1"], "(?::[0-9]+)?"),
            r"(?:node\.1|a\+b|n03)(?:(?::[0-9]+)?)"
        );
        assert_eq!(
            instance_regex(&["[fe80::1]:9100", "x(1)|y", "rack-01", r"a\b"], ""),
            r"(?:\[fe80::1\]:9100|x\(1\)\|y|rack-01|a\\b)"
        );
        // What the escaped alternation matches, read as Alertmanager does (anchored).
        let re = regex::Regex::new(&format!(
            "^(?:{})$",
            instance_regex(&["node.1", "a+b"], "(?::[0-9]+)?")
        ))
        .unwrap();
        for yes in ["node.1", "node.1:9100", "a+b", "a+b:80"] {
            assert!(re.is_match(yes), "{yes}");
        }
        for no in [
            "nodex1",
            "aab",
            "node.1:",
            "node.1:x",
            "a+b.c",
            "node.1|a+b",
        ] {
            assert!(!re.is_match(no), "{no}");
        }
    }

    fn fixture() -> Config {
        let app = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/maintenance/app.yaml");
        let loaded = rackscope_core::load_with_env(&app, std::iter::empty());
        assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
        loaded.config
    }

    fn at(s: &str) -> i64 {
        parse_time(s, None).unwrap()
    }

    #[test]
    fn the_fixtures_active_windows_want_their_matchers_and_check_windows_nothing() {
        let config = fixture();
        let topo = &config.topology;
        let mut am = config.app.alertmanager.clone();
        let t = at("2026-12-01T10:30:00Z");
        let (want, not_sent) = wanted(&am, topo, &config.maintenances, t);
        let suffix = "(?:(?::[0-9]+)?)";
        assert_eq!(
            want,
            vec![
                Want {
                    window: "3f2a9c1b7d4e".into(),
                    matchers: vec![Matcher::regex(
                        "instance",
                        format!("(?:n05|n06|n07|n08){suffix}")
                    )],
                    ends: Some(at("2026-12-01T12:00:00Z")),
                    starts: Some(at("2026-12-01T08:00:00Z")),
                    comment: "rackscope maintenance 3f2a9c1b7d4e: Firmware update".into(),
                },
                Want {
                    window: "a1b2c3d4e5f6".into(),
                    matchers: vec![Matcher::regex("instance", format!("(?:n03){suffix}"))],
                    ends: None,
                    starts: None,
                    comment: "rackscope maintenance a1b2c3d4e5f6: Fan swap, upstream style (a device target naming an instance)".into(),
                },
            ]
        );
        assert_eq!(not_sent, vec![("disks-r01".to_owned(), NotSent::Check)]);

        // r01 holds `node.1` and `a+b`, escaped; its switch has no instance: its id.
        let r01 = Reach::of(topo, TargetType::Rack, "r01").unwrap();
        assert_eq!(
            matchers(&am, &r01).unwrap(),
            vec![Matcher::regex(
                "instance",
                format!(r"(?:node\.1|a\+b|n03|n04|sw-1|da01-c1){suffix}")
            )]
        );
        // A level with its label: the id, equal. An instance never uses another level's.
        am.labels.rack = Some("rack".into());
        am.labels.site = Some("datacenter".into());
        assert_eq!(
            matchers(&am, &r01).unwrap(),
            vec![Matcher::equal("rack", "r01")]
        );
        let dc1 = Reach::of(topo, TargetType::Site, "dc1").unwrap();
        assert_eq!(
            matchers(&am, &dc1).unwrap(),
            vec![Matcher::equal("datacenter", "dc1")]
        );
        let n03 = Reach::of(topo, TargetType::Device, "n03").unwrap();
        assert_eq!(
            matchers(&am, &n03).unwrap(),
            vec![Matcher::regex("instance", format!("(?:n03){suffix}"))]
        );
        // No instance label: levels without a label of their own have no silence.
        am.labels.instance = None;
        assert_eq!(matchers(&am, &n03), Err(NotSent::NoLabel));
        let aisle = Reach::of(topo, TargetType::Aisle, "aisle-2").unwrap();
        assert_eq!(matchers(&am, &aisle), Err(NotSent::NoLabel));
        assert_eq!(
            matchers(&am, &r01).unwrap(),
            vec![Matcher::equal("rack", "r01")]
        );
        // An empty pattern: the names alone.
        am.labels.instance = Some("host".into());
        am.instance_pattern = String::new();
        assert_eq!(
            matchers(&am, &aisle).unwrap(),
            vec![Matcher::regex("host", "(?:n09|n10|n11|n12)".into())]
        );
    }

    #[test]
    fn a_comment_names_its_window_even_with_colons_and_is_clipped() {
        let ids: HashMap<&str, usize> = [("x", 0), ("a: b", 1)].into_iter().collect();
        assert_eq!(owner(&comment("x", "fix: fan"), &ids), Some(("x", 0)));
        assert_eq!(owner(&comment("a: b", "c"), &ids), Some(("a: b", 1)));
        assert_eq!(owner(&comment("x", ""), &ids), Some(("x", 0)));
        assert_eq!(owner(&comment("y", "fix"), &ids), None);
        assert_eq!(owner("someone else's x: fix", &ids), None);
        let long = comment("x", &"é".repeat(400));
        assert!(long.ends_with('…') && long.len() < 600, "{long}");
    }

    #[test]
    fn each_window_gets_one_silence_and_strays_of_ours_are_expired() {
        let now = 1_000_000;
        let a = want("a", "(?:n1)", Some(now + 600));
        let b = want("b", "(?:n2)", None);
        let c = want("c", "(?:n3)", Some(now + 60));
        let wants = [a.clone(), b.clone(), c.clone()];
        let mut moved = ours("s-c-old", &c, now + 60);
        moved.matchers = vec![Matcher::regex("instance", "(?:n9)".into())];
        let existing = [
            ours("s-a", &a, now + 600),
            // Two for one window (two replicas): the smaller id stays.
            ours("s-a0", &a, now + 600),
            // Open-ended, less than half the horizon left: extended in place.
            ours("s-b", &b, now + 100),
            moved,
            // A window that is over (stopped, deleted, expired).
            ours("s-gone", &want("gone", "(?:n4)", None), now + 1000),
        ];
        let got = actions(&wants, &existing, now);
        assert_eq!(
            got,
            vec![
                Action::Update {
                    id: "s-b".into(),
                    starts_at: "2026-01-01T00:00:00.000Z".into(),
                    want: &b
                },
                Action::Create(&c),
                Action::Expire {
                    id: "s-gone".into(),
                    window: Some("gone".into())
                },
                Action::Expire {
                    id: "s-a0".into(),
                    window: Some("a".into())
                },
                Action::Expire {
                    id: "s-c-old".into(),
                    window: Some("c".into())
                },
            ]
        );
        // Once right, a pass writes nothing; an end changed by an edit is an update.
        let settled = [
            ours("s-a", &a, now + 600),
            ours("s-b", &b, now + HORIZON_SECONDS),
            ours("s-c", &c, now + 60),
        ];
        assert!(actions(&wants, &settled, now).is_empty());
        let a2 = want("a", "(?:n1)", Some(now + 1200));
        assert!(matches!(
            actions(std::slice::from_ref(&a2), &settled[..1], now)[..],
            [Action::Update { .. }]
        ));
    }
}
