//! `app.yaml`: the application configuration, every section with its documented default.
//!
//! Defaults follow the Python Rackscope's code defaults (not its `app.yaml.reference`, which
//! disagrees with them in places); ARCHITECTURE.md lists where we differ and why.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::severity::Severity;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AppConfig {
    pub app: AppSection,
    pub paths: Paths,
    pub refresh: Refresh,
    pub cache: Cache,
    pub telemetry: Telemetry,
    pub planner: Planner,
    pub features: Features,
    pub auth: Auth,
    pub map: MapConfig,
    pub playlist: Playlist,
    pub api: Api,
    pub server: Server,
    pub editors: Editors,
    pub alertmanager: Alertmanager,
    /// Free-form per-plugin settings; only `enabled` means anything at this level.
    pub plugins: BTreeMap<String, serde_json::Value>,
    /// Legacy top-level plugin blocks of old configurations, kept so they load.
    pub simulator: Option<serde_json::Value>,
    pub slurm: Option<serde_json::Value>,
}

impl AppConfig {
    pub fn plugin_enabled(&self, id: &str) -> bool {
        self.plugins
            .get(id)
            .and_then(|v| v.get("enabled"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSection {
    pub name: String,
    pub description: String,
}

impl Default for AppSection {
    fn default() -> Self {
        AppSection {
            name: "Rackscope".into(),
            description: "Datacenter Overview".into(),
        }
    }
}

/// Where the other configuration files live. Relative paths are resolved against the
/// directory of app.yaml first, then against the working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Paths {
    pub topology: PathBuf,
    pub templates: PathBuf,
    pub checks: PathBuf,
    pub metrics: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            topology: "topology".into(),
            templates: "templates".into(),
            checks: "checks/library".into(),
            metrics: "metrics/library".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Refresh {
    pub room_state_seconds: u32,
    pub rack_state_seconds: u32,
}

impl Default for Refresh {
    fn default() -> Self {
        Refresh {
            room_state_seconds: 30,
            rack_state_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cache {
    pub ttl_seconds: u32,
    pub health_checks_ttl_seconds: u32,
    pub metrics_ttl_seconds: u32,
    pub service_ttl_seconds: u32,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            ttl_seconds: 30,
            health_checks_ttl_seconds: 30,
            metrics_ttl_seconds: 120,
            service_ttl_seconds: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Telemetry {
    /// `None` falls back to `http://127.0.0.1:9090`; `""` counts as unset.
    pub prometheus_url: Option<String>,
    /// Read timeout of one Prometheus request.
    pub prometheus_timeout_seconds: f64,
    pub prometheus_connect_timeout_seconds: f64,
    pub identity_label: String,
    pub rack_label: String,
    pub chassis_label: String,
    /// Labels naming a series' site, room and aisle, for rack- and chassis-scope results whose
    /// rack id is shared by racks of several rooms (ids are unique among siblings only).
    pub site_label: Option<String>,
    pub room_label: Option<String>,
    pub aisle_label: Option<String>,
    /// Substituted for `$jobs`.
    pub job_regex: String,
    pub prometheus_heartbeat_seconds: u32,
    /// How many recent queries the rolling latency average covers.
    pub prometheus_latency_window: u32,
    pub debug_stats: bool,
    pub basic_auth_user: Option<String>,
    pub basic_auth_password: Option<String>,
    pub tls_verify: bool,
    pub tls_ca_file: Option<PathBuf>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Bounds of one Prometheus answer (`telemetry::source::Limits`): past one, that query
    /// fails alone with a message naming the key to raise.
    pub max_response_bytes: u64,
    pub max_series_per_answer: u64,
    pub max_points_per_answer: u64,
    /// More Prometheus servers, each answering for the sites it names; every other site is
    /// asked at `prometheus_url` (the default source).
    pub sources: Vec<Source>,
}

/// A Prometheus (or anything speaking its HTTP API) that answers for some sites: a site's
/// own Prometheus where a global layer is missing or slower. Credentials and TLS settings
/// are its own, never inherited from the default source: they belong to another server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Source {
    /// Shown in logs, on the status page and in the stale banner.
    pub name: String,
    pub url: String,
    /// The ids of the sites whose queries go here.
    pub sites: Vec<String>,
    /// Unset: the default source's timeouts.
    pub timeout_seconds: Option<f64>,
    pub connect_timeout_seconds: Option<f64>,
    pub basic_auth_user: Option<String>,
    pub basic_auth_password: Option<String>,
    pub tls_verify: bool,
    pub tls_ca_file: Option<PathBuf>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
}

impl Default for Source {
    fn default() -> Self {
        Source {
            name: String::new(),
            url: String::new(),
            sites: Vec::new(),
            timeout_seconds: None,
            connect_timeout_seconds: None,
            basic_auth_user: None,
            basic_auth_password: None,
            tls_verify: true,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// The most entries `telemetry.sources` may have: each one is a client, a connection pool
/// and a share of every refresh.
pub const MAX_SOURCES: usize = 64;

pub const DEFAULT_PROMETHEUS_URL: &str = "http://127.0.0.1:9090";

/// The longest Prometheus timeout (read or connect) `rackscope check` accepts, in seconds.
pub const MAX_TIMEOUT_SECONDS: f64 = 300.0;
/// The longest interval or TTL `rackscope check` accepts, in seconds (a day).
pub const MAX_INTERVAL_SECONDS: u32 = 86_400;

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            prometheus_url: None,
            prometheus_timeout_seconds: 5.0,
            prometheus_connect_timeout_seconds: 2.0,
            identity_label: "instance".into(),
            rack_label: "rack_id".into(),
            chassis_label: "chassis_id".into(),
            site_label: None,
            room_label: None,
            aisle_label: None,
            job_regex: ".*".into(),
            prometheus_heartbeat_seconds: 30,
            prometheus_latency_window: 20,
            debug_stats: false,
            basic_auth_user: None,
            basic_auth_password: None,
            tls_verify: true,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_series_per_answer: DEFAULT_MAX_SERIES,
            max_points_per_answer: DEFAULT_MAX_POINTS,
            sources: Vec::new(),
        }
    }
}

impl Telemetry {
    /// How many sources the engine sends to: the default one, then `sources` in order.
    pub fn source_count(&self) -> usize {
        1 + self.sources.len().min(MAX_SOURCES)
    }

    /// The name of source `i` (0 is the default: `default`).
    pub fn source_name(&self, i: usize) -> &str {
        match i.checked_sub(1).and_then(|j| self.sources.get(j)) {
            Some(s) => &s.name,
            None => "default",
        }
    }

    /// The read and connect timeouts (seconds) of source `i`: its own, else this section's.
    pub fn source_timeouts(&self, i: usize) -> (f64, f64) {
        let own = i
            .checked_sub(1)
            .filter(|&j| j < MAX_SOURCES)
            .and_then(|j| self.sources.get(j));
        (
            own.and_then(|s| s.timeout_seconds)
                .unwrap_or(self.prometheus_timeout_seconds),
            own.and_then(|s| s.connect_timeout_seconds)
                .unwrap_or(self.prometheus_connect_timeout_seconds),
        )
    }

    /// The settings a client of source `i` is built from: this section for the default
    /// one; for another, its own URL, credentials and TLS, with the answer bounds and (unless
    /// it sets its own) the timeouts of this section. `None` past the last source.
    pub fn for_source(&self, i: usize) -> Option<Telemetry> {
        let Some(j) = i.checked_sub(1) else {
            return Some(Telemetry {
                sources: Vec::new(),
                ..self.clone()
            });
        };
        let s = self.sources.get(j).filter(|_| j < MAX_SOURCES)?;
        let (read, connect) = self.source_timeouts(i);
        Some(Telemetry {
            prometheus_url: Some(s.url.clone()),
            prometheus_timeout_seconds: read,
            prometheus_connect_timeout_seconds: connect,
            basic_auth_user: s.basic_auth_user.clone(),
            basic_auth_password: s.basic_auth_password.clone(),
            tls_verify: s.tls_verify,
            tls_ca_file: s.tls_ca_file.clone(),
            tls_cert_file: s.tls_cert_file.clone(),
            tls_key_file: s.tls_key_file.clone(),
            sources: Vec::new(),
            ..self.clone()
        })
    }

    pub fn url(&self) -> &str {
        match self.prometheus_url.as_deref() {
            Some(u) if !u.trim().is_empty() => u.trim(),
            _ => DEFAULT_PROMETHEUS_URL,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Planner {
    /// The state of a target for which Prometheus returned no series.
    pub unknown_state: Severity,
    /// How often the background loop refreshes the health snapshot.
    pub cache_ttl_seconds: u32,
    pub max_ids_per_query: u32,
    /// The most bytes one query's text may have (0: no bound). VictoriaMetrics refuses
    /// queries over 16 KB by default (`-search.maxQueryLen`); longer chunks are split.
    pub max_query_bytes: u32,
    /// A check that covers at least this share of its scope's ids in the topology, and
    /// would need several queries, is sent as one query without the id regex (its answer
    /// filtered here): cheaper for Prometheus than many regex chunks. 0: never.
    pub unfiltered_coverage_percent: u32,
    /// How many queries may be in flight at once (the Python version sends one at a time).
    pub max_concurrent_queries: u32,
    /// How long the last good snapshot is served, marked stale, while Prometheus fails;
    /// after that every state turns UNKNOWN with the reason.
    pub stale_after_seconds: u32,
}

impl Default for Planner {
    fn default() -> Self {
        Planner {
            unknown_state: Severity::Unknown,
            cache_ttl_seconds: 30,
            max_ids_per_query: 200,
            max_query_bytes: 16_384,
            unfiltered_coverage_percent: 90,
            max_concurrent_queries: 8,
            stale_after_seconds: 300,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Features {
    pub notifications: bool,
    pub notifications_max_visible: u32,
    pub playlist: bool,
    pub offline: bool,
    pub wizard: bool,
    pub worldmap: bool,
    pub show_logs: bool,
    pub dev_tools: bool,
    pub maintenances: bool,
    // Keys the Python front end reads; accepted so that configurations load quietly.
    pub toast_duration_seconds: Option<u32>,
    pub toast_position: Option<String>,
    pub toast_stack_threshold: Option<u32>,
    pub aisle_dashboard: Option<bool>,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            notifications: true,
            notifications_max_visible: 10,
            playlist: false,
            offline: false,
            wizard: true,
            worldmap: true,
            show_logs: true,
            dev_tools: false,
            maintenances: true,
            toast_duration_seconds: None,
            toast_position: None,
            toast_stack_threshold: None,
            aisle_dashboard: None,
        }
    }
}

/// Sign-in and roles. The first seven keys are the Python version's, with its meaning; the
/// rest are ours (docs/auth.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Auth {
    pub enabled: bool,
    /// The Python version's single user; an admin here.
    pub username: String,
    pub password_hash: String,
    /// Signs sessions and tokens; every replica needs the same one. Empty: a random secret
    /// per process (sessions end when it restarts).
    pub secret_key: String,
    /// `8h`, `24h` or `unlimited` (upstream), or any duration such as `12h`.
    pub session_duration: String,
    pub policy: PasswordPolicy,
    /// Client networks (CIDR or single addresses) granted `trusted_role`.
    pub trusted_networks: Vec<String>,
    /// Users beside the single upstream one (also read from `users_file`).
    pub users: Vec<crate::model::users::UserEntry>,
    /// The users and tokens file, relative to app.yaml's directory; read when it exists.
    pub users_file: PathBuf,
    /// The role of a client that has not signed in (wallboards); absent: none, sign in.
    pub anonymous: Option<crate::model::users::Role>,
    /// The role `trusted_networks` grant. Absent: `admin` with auth disabled (the Python
    /// version's meaning: only those networks may use admin routes), nothing with auth
    /// enabled (the Python version ignored the list then).
    pub trusted_role: Option<crate::model::users::Role>,
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<String>,
    /// How many Rackscope processes serve this configuration behind one address; above 1
    /// they must share `secret_key`.
    pub replicas: u32,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            enabled: false,
            username: "admin".into(),
            password_hash: String::new(),
            secret_key: String::new(),
            session_duration: "24h".into(),
            policy: PasswordPolicy::default(),
            trusted_networks: Vec::new(),
            users: Vec::new(),
            users_file: PathBuf::from("users.yaml"),
            anonymous: None,
            trusted_role: None,
            trusted_proxies: Vec::new(),
            replicas: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    pub min_length: u32,
    pub max_length: u32,
    pub require_digit: bool,
    pub require_symbol: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 6,
            max_length: 128,
            require_digit: false,
            require_symbol: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MapConfig {
    pub default_view: String,
    pub default_zoom: Option<u32>,
    pub min_zoom: u32,
    pub max_zoom: u32,
    pub zoom_controls: bool,
    pub center: LatLon,
}

impl Default for MapConfig {
    fn default() -> Self {
        MapConfig {
            default_view: "world".into(),
            default_zoom: None,
            min_zoom: 2,
            max_zoom: 7,
            zoom_controls: true,
            center: LatLon {
                lat: 20.0,
                lon: 0.0,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Playlist {
    pub interval_seconds: u32,
    pub views: Vec<PlaylistView>,
}

impl Default for Playlist {
    fn default() -> Self {
        Playlist {
            interval_seconds: 30,
            views: vec![
                PlaylistView::Path("/".into()),
                PlaylistView::Path("/views/worldmap".into()),
            ],
        }
    }
}

/// A wallboard view: a path, as upstream writes them, or (ours) a path with its own time
/// on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PlaylistView {
    Path(String),
    Timed { view: String, seconds: u32 },
}

impl PlaylistView {
    pub fn path(&self) -> &str {
        match self {
            PlaylistView::Path(p) | PlaylistView::Timed { view: p, .. } => p,
        }
    }

    /// Its own time on screen, where it has one.
    pub fn seconds(&self) -> Option<u32> {
        match self {
            PlaylistView::Path(_) => None,
            PlaylistView::Timed { seconds, .. } => Some(*seconds),
        }
    }
}

/// The JSON API's optional parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Api {
    /// `POST /api/checks/test` and the tester of the checks page: they send any PromQL a
    /// visitor types to Prometheus with Rackscope's own credentials, so they are off unless
    /// asked for.
    pub query_tester: bool,
    /// Tester runs allowed per minute, for the whole server (a burst of the same size).
    pub query_tester_per_minute: u32,
}

/// Editing the configuration's files through the server (docs/editing.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Editors {
    /// With sign-in off, editing is allowed only to a server listening on loopback; this
    /// allows it on any address (whoever reaches the server may then rewrite its files).
    pub enabled: bool,
    /// Commit each saved file (`git add` and `git commit` of that file, authored by the
    /// user) when the configuration directory is in a Git work tree.
    pub git_commit: bool,
}

impl Default for Api {
    fn default() -> Self {
        Api {
            query_tester: false,
            query_tester_per_minute: 30,
        }
    }
}

/// Limits of the HTTP server itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    /// Connections open at once; past it a new connection gets a 503 and is closed.
    pub max_connections: u32,
    /// Open live-update streams (`/events`); past it a 503.
    pub max_sse_clients: u32,
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may stay idle.
    pub header_timeout_seconds: u32,
    /// How long one request may take, its body included (live streams excepted).
    pub request_timeout_seconds: u32,
    /// At shutdown, how long open requests may finish before their connections are closed.
    pub shutdown_grace_seconds: u32,
    /// Queries sent to Prometheus on behalf of requests (live values, charts, the tester)
    /// in flight at once, for the whole server.
    pub max_adhoc_queries: u32,
    /// A PEM certificate chain to serve HTTPS with (relative to app.yaml's directory);
    /// set with `tls_key` or not at all.
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            max_connections: 1024,
            max_sse_clients: 256,
            header_timeout_seconds: 10,
            request_timeout_seconds: 60,
            shutdown_grace_seconds: 10,
            max_adhoc_queries: 16,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Silences in Alertmanager for the active maintenance windows (docs/maintenance.md).
/// Ours, not the Python version's; off while `url` is unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Alertmanager {
    /// `http(s)://host:port[/prefix]` of Alertmanager; absent or empty: off.
    pub url: Option<String>,
    /// How long one request to Alertmanager may take, connecting included.
    pub timeout_seconds: f64,
    /// How often the silences are reconciled with the windows (a change of the windows is
    /// reconciled at once as well).
    pub sync_seconds: u32,
    /// The label names the user's alerts carry for each level.
    pub labels: AlertmanagerLabels,
    /// A regular expression appended to the instance names in a silence's matcher, for
    /// alerts whose `instance` is `host:port`.
    pub instance_pattern: String,
    pub basic_auth_user: Option<String>,
    pub basic_auth_password: Option<String>,
    /// Sent as `Authorization: Bearer`; best set from the environment
    /// (`RACKSCOPE_ALERTMANAGER__BEARER_TOKEN`).
    pub bearer_token: Option<String>,
    pub tls_verify: bool,
    /// A PEM bundle of the CAs to trust (relative to app.yaml's directory).
    pub tls_ca_file: Option<PathBuf>,
}

/// The default `alertmanager.instance_pattern`: an optional `:port`.
pub const DEFAULT_INSTANCE_PATTERN: &str = "(?::[0-9]+)?";

impl Default for Alertmanager {
    fn default() -> Self {
        Alertmanager {
            url: None,
            timeout_seconds: 5.0,
            sync_seconds: 30,
            labels: AlertmanagerLabels::default(),
            instance_pattern: DEFAULT_INSTANCE_PATTERN.into(),
            basic_auth_user: None,
            basic_auth_password: None,
            bearer_token: None,
            tls_verify: true,
            tls_ca_file: None,
        }
    }
}

impl Alertmanager {
    /// The URL without its trailing slash, or `None` when the integration is off.
    pub fn url(&self) -> Option<&str> {
        self.url
            .as_deref()
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }
}

/// For each level of the topology, the name of the label that carries its id on the
/// user's alerts. A window on a level whose label is unset silences the instance names
/// under it instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertmanagerLabels {
    /// Empty: windows are silenced only through the other labels.
    pub instance: Option<String>,
    pub device: Option<String>,
    pub rack: Option<String>,
    pub aisle: Option<String>,
    pub room: Option<String>,
    pub site: Option<String>,
}

impl Default for AlertmanagerLabels {
    fn default() -> Self {
        AlertmanagerLabels {
            instance: Some("instance".into()),
            device: None,
            rack: None,
            aisle: None,
            room: None,
            site: None,
        }
    }
}

impl AlertmanagerLabels {
    /// Each level with its label as written (`None` and `""` both mean unset).
    pub fn each(&self) -> [(&'static str, Option<&str>); 6] {
        fn set(l: &Option<String>) -> Option<&str> {
            l.as_deref().filter(|s| !s.is_empty())
        }
        [
            ("instance", set(&self.instance)),
            ("device", set(&self.device)),
            ("rack", set(&self.rack)),
            ("aisle", set(&self.aisle)),
            ("room", set(&self.room)),
            ("site", set(&self.site)),
        ]
    }
}

// The bounds of one Prometheus answer, the defaults of `telemetry.max_*`.
/// 256 MiB: the body of a chart of 300 series × 11,000 points (the most a chart asks) is
/// about 100 MiB, an answer of 1,000,000 series about 125 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;
/// 100,000: a planned query names at most `planner.max_ids_per_query` ids (200), so this
/// leaves room for 500 series per id.
pub const DEFAULT_MAX_SERIES: u64 = 100_000;
/// 10,000,000: three times the largest chart (300 series × 11,000 points); 160 MB decoded.
pub const DEFAULT_MAX_POINTS: u64 = 10_000_000;
