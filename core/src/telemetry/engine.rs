//! The snapshot lifecycle: a background loop runs the plan's queries concurrently,
//! evaluates the answers and publishes an immutable snapshot atomically. Readers take the
//! current snapshot and never wait on Prometheus.
//!
//! When Prometheus is unreachable the last snapshot stays, marked stale with its age; once
//! it is older than `planner.stale_after_seconds`, every state turns UNKNOWN with the reason.
//! The first refresh that gets answers again recovers. A refresh whose queries all failed,
//! whatever the error, counts as Prometheus being unavailable: nothing was learnt.
//!
//! Staleness is also judged when a snapshot is read (`freshness.rs`), so a refresh loop that
//! stopped or hangs cannot leave old states looking fresh; the loop itself is supervised
//! (`supervise.rs`): a panic restarts it after a backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use futures_util::StreamExt;

use crate::config::Config;
use crate::model::checks::Scope;
use crate::telemetry::adhoc::AdHoc;
use crate::telemetry::eval::{AlertTarget, Answer, ForMemory, Health, evaluate};
use crate::telemetry::outage::{Outages, SourceStatus};
use crate::telemetry::plan::{Plan, plan};
use crate::telemetry::routing::{DEFAULT_SOURCE, SourceIx};
use crate::telemetry::source::{
    BoxFuture, InstantResult, MetricsSource, RangeResult, RangeSpec, SourceError, unix_seconds,
};
use crate::telemetry::stats::{BatchInfo, Stats, StatsView, Task};
use crate::telemetry::supervise::supervise;
use crate::topology::{DeviceIx, RackIx};

/// A query of a refresh that got no answer.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    pub query: String,
    /// The checks whose targets it served.
    pub checks: Vec<Arc<str>>,
    pub error: SourceError,
}

/// Why a snapshot is not fresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    /// When Prometheus stopped answering, or when the last refresh was published.
    pub since: SystemTime,
    pub reason: String,
    /// Past `planner.stale_after_seconds`: the states shown are UNKNOWN, not the last ones.
    pub expired: bool,
    pub cause: StaleCause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleCause {
    /// The last refresh ran and every one of its queries failed.
    RefreshFailed,
    /// No refresh finished within the freshness bound: the loop is stuck or stopped.
    NoRefresh,
}

/// One published view of the world: the configuration it was computed for, and the health
/// found. Immutable; a refresh publishes a new one.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases by one with every publication.
    pub seq: u64,
    pub config: Arc<Config>,
    pub plan: Arc<Plan>,
    pub health: Arc<Health>,
    /// The evaluation time of the health data.
    pub taken_at: SystemTime,
    /// When this snapshot was published (later than `taken_at` when re-published stale).
    pub published_at: SystemTime,
    /// The instant maintenance windows are judged at for this snapshot: its publication,
    /// or the moment the windows changed when it was republished for them. Kept apart from
    /// `published_at`, which staleness is judged from.
    pub windows_at: SystemTime,
    /// The same moment on the monotonic clock: how long ago the refresh loop last published
    /// is judged from it at read time, whatever clock `published_at` was given in.
    pub published_instant: Instant,
    /// Wall time the refresh that produced `health` took.
    pub duration: Duration,
    pub query_count: usize,
    pub errors: Vec<QueryError>,
    pub stale: Option<Stale>,
    /// Slurm state from the same refresh, when the configuration enables the Slurm view.
    pub slurm: Option<Arc<crate::slurm::SlurmState>>,
    /// Each source as the refresh found it (one, `default`, unless `telemetry.sources` names
    /// more): a down one's sites show its last answers, then UNKNOWN.
    pub sources: Arc<[SourceStatus]>,
}

impl Snapshot {
    /// The rack and device an alert is about (no device for a rack alert), and the id it
    /// is raised under: the instance, device or rack id.
    pub fn locate(&self, target: AlertTarget) -> (RackIx, Option<DeviceIx>, &str) {
        let topo = &self.config.topology;
        match target {
            AlertTarget::Node(n) => {
                let d = self.plan.targets.node_device(topo, n);
                let name = self.plan.targets.key(topo, Scope::Node, n);
                (topo.devices[d].rack, Some(d), name)
            }
            AlertTarget::Device(d) => {
                let dev = &topo.devices[d];
                (dev.rack, Some(d), dev.id.as_str())
            }
            AlertTarget::Rack(r) => (r, None, topo.racks[r].id.as_str()),
        }
    }

    /// How old the health data is at `now`.
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.taken_at).unwrap_or_default()
    }

    /// The source answering for a site, when it is down while others answer: that site's
    /// states are its last ones (or UNKNOWN once expired), whatever `stale` says.
    pub fn site_source_down(&self, site: crate::topology::SiteIx) -> Option<&SourceStatus> {
        if self.sources.len() <= 1 {
            return None;
        }
        let s = self.plan.routes.site(site);
        self.sources
            .get(usize::from(s))
            .filter(|st| st.down.is_some())
    }
}

struct Inner {
    /// The plan of `Engine::config`; both change together, under this lock.
    plan: Arc<Plan>,
    memory: ForMemory,
    down_since: Option<SystemTime>,
    outages: Outages,
}

/// Builds a configuration's sources, by position (`Routes`): the server's HTTP clients.
/// Called again when a reload changes the telemetry settings.
pub type Connect =
    Arc<dyn Fn(&Config) -> Vec<Result<Arc<dyn MetricsSource>, String>> + Send + Sync>;

/// The sources in use, by position, and the telemetry settings they were built from.
struct Sources {
    list: Vec<Arc<dyn MetricsSource>>,
    built_from: Option<crate::model::app::Telemetry>,
}

/// A source that could not be built (a CA file unreadable after a reload): every query to
/// it fails with why, so its sites go stale and UNKNOWN rather than silently elsewhere.
struct Unbuilt {
    name: String,
    reason: String,
}

impl MetricsSource for Unbuilt {
    fn instant<'a>(
        &'a self,
        _query: &'a str,
        _at: SystemTime,
    ) -> crate::telemetry::source::BoxFuture<'a, Result<InstantResult, SourceError>> {
        Box::pin(async move { Err(self.error()) })
    }

    fn range<'a>(
        &'a self,
        _query: &'a str,
        _range: RangeSpec,
    ) -> crate::telemetry::source::BoxFuture<'a, Result<RangeResult, SourceError>> {
        Box::pin(async move { Err(self.error()) })
    }

    fn describe(&self) -> String {
        format!("source `{}` (not built)", self.name)
    }
}

impl Unbuilt {
    /// An engine given no source at all.
    fn missing() -> Unbuilt {
        Unbuilt {
            name: "default".into(),
            reason: "no source given".into(),
        }
    }

    fn error(&self) -> SourceError {
        SourceError::Unreachable {
            url: self.describe(),
            reason: self.reason.clone(),
        }
    }
}

struct CacheEntry {
    at: Instant,
    result: Arc<InstantResult>,
}

/// The health engine. Cheap to share (`Arc<Engine>`); all methods take `&self`.
pub struct Engine {
    sources: arc_swap::ArcSwap<Sources>,
    connect: Option<Connect>,
    stats: Stats,
    current: ArcSwapOption<Snapshot>,
    inner: tokio::sync::Mutex<Inner>,
    /// The configuration the next refresh uses, readable without waiting on a refresh.
    config: arc_swap::ArcSwap<Config>,
    /// The maintenance windows in force: the configuration's, replaced by the server's
    /// writes without a reload of the rest. Read at request time, never part of a refresh.
    maintenances: arc_swap::ArcSwap<crate::maintenance::Maintenances>,
    cache: Mutex<HashMap<String, CacheEntry>>,
    /// The bound and failure memory of queries sent for requests.
    adhoc: AdHoc,
    published: tokio::sync::watch::Sender<u64>,
    /// The last `seq` given; held while storing, so sequence numbers are published in order
    /// by the refresh and by readers that mark a snapshot stale.
    seq: Mutex<u64>,
}

/// Above this many entries, expired ones are swept on insert.
const CACHE_SWEEP_AT: usize = 1024;

impl Engine {
    /// An engine sending every query to `source`, whatever sources the configuration names
    /// (tests and benchmarks, and `rackscope health --url`).
    pub fn new(config: Arc<Config>, source: Arc<dyn MetricsSource>) -> Engine {
        let list = vec![source; config.app.telemetry.source_count()];
        Engine::build(config, list, None)
    }

    /// An engine with one source per position of the configuration's routes, in order.
    /// Missing positions are filled with the last given.
    pub fn with_sources(config: Arc<Config>, list: Vec<Arc<dyn MetricsSource>>) -> Engine {
        Engine::build(config, list, None)
    }

    /// An engine whose sources `connect` builds from the configuration, now and after a
    /// reload that changes the telemetry settings.
    pub fn connected(config: Arc<Config>, connect: Connect) -> Engine {
        let list = connect_all(&connect, &config);
        Engine::build(config, list, Some(connect))
    }

    fn build(
        config: Arc<Config>,
        mut list: Vec<Arc<dyn MetricsSource>>,
        connect: Option<Connect>,
    ) -> Engine {
        let wanted = config.app.telemetry.source_count();
        while list.len() < wanted {
            match list.last().cloned() {
                Some(last) => list.push(last),
                None => list.push(Arc::new(Unbuilt::missing())),
            }
        }
        let t = &config.app.telemetry;
        let stats = Stats::new(
            t.prometheus_latency_window,
            heartbeat_interval(&config).as_secs(),
        );
        let plan = Arc::new(plan(&config));
        let adhoc_limit = config.app.server.max_adhoc_queries as usize;
        Engine {
            sources: arc_swap::ArcSwap::from_pointee(Sources {
                list,
                // What a reload compares with, to know whether to connect again.
                built_from: connect.as_ref().map(|_| config.app.telemetry.clone()),
            }),
            connect,
            stats,
            current: ArcSwapOption::empty(),
            inner: tokio::sync::Mutex::new(Inner {
                plan,
                memory: ForMemory::default(),
                down_since: None,
                outages: Outages::default(),
            }),
            maintenances: arc_swap::ArcSwap::new(config.maintenances.clone()),
            config: arc_swap::ArcSwap::new(config),
            cache: Mutex::new(HashMap::new()),
            adhoc: AdHoc::new(adhoc_limit),
            published: tokio::sync::watch::Sender::new(0),
            seq: Mutex::new(0),
        }
    }

    /// The current snapshot as it must be shown now; `None` until the first refresh
    /// finished. Past its freshness bound it is marked stale, and past
    /// `planner.stale_after_seconds` its states are UNKNOWN, even if the loop is dead.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshot_at(Instant::now())
    }

    /// `snapshot` as read at `now` on the monotonic clock (tests read "later" with it).
    pub fn snapshot_at(&self, now: Instant) -> Option<Arc<Snapshot>> {
        let snap = self.current.load_full()?;
        match crate::telemetry::freshness::at_read(&snap, now) {
            None => Some(snap),
            Some(marked) => Some(self.publish_over(&snap, marked)),
        }
    }

    /// The configuration in force (the next refresh's).
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    pub fn stats(&self) -> StatsView {
        self.stats.view()
    }

    /// The maintenance windows in force.
    pub fn maintenances(&self) -> Arc<crate::maintenance::Maintenances> {
        self.maintenances.load_full()
    }

    /// Puts `m` in force (a window created, stopped or removed) and republishes the
    /// current snapshot, so that open pages show the change now rather than at the next
    /// refresh. No query is sent.
    pub fn set_maintenances(&self, m: Arc<crate::maintenance::Maintenances>) {
        self.maintenances.store(m);
        if let Some(snap) = self.current.load_full() {
            let again = Snapshot {
                windows_at: SystemTime::now(),
                ..(*snap).clone()
            };
            self.publish_over(&snap, again);
        }
    }

    /// Switches to a new configuration. `for:` timers of checks whose definition did not
    /// change carry over; the current snapshot stays until the next refresh replaces it.
    pub async fn reload(&self, config: Arc<Config>) {
        let plan = Arc::new(plan(&config));
        let mut inner = self.inner.lock().await;
        inner.memory.retain_unchanged(&config, &plan);
        inner.plan = plan;
        let t = &config.app.telemetry;
        self.stats.configure(
            t.prometheus_latency_window,
            heartbeat_interval(&config).as_secs(),
        );
        self.adhoc
            .resize(config.app.server.max_adhoc_queries as usize);
        self.maintenances.store(config.maintenances.clone());
        self.reconnect(&config);
        self.config.store(config);
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// Builds the sources again when the telemetry settings they came from changed (a URL
    /// edited on the settings page, a source added): the next refresh uses them.
    fn reconnect(&self, config: &Config) {
        let Some(connect) = &self.connect else {
            return;
        };
        let t = &config.app.telemetry;
        if self.sources.load().built_from.as_ref() == Some(t) {
            return;
        }
        let list = connect_all(connect, config);
        tracing::info!(
            sources = list.len(),
            "telemetry settings changed; Prometheus clients rebuilt"
        );
        self.sources.store(Arc::new(Sources {
            list,
            built_from: Some(t.clone()),
        }));
    }

    /// The source at a position of the routes (the default one past the last).
    fn source(&self, ix: SourceIx) -> Arc<dyn MetricsSource> {
        let sources = self.sources.load();
        match sources
            .list
            .get(usize::from(ix))
            .or_else(|| sources.list.first())
        {
            Some(s) => s.clone(),
            None => Arc::new(Unbuilt::missing()),
        }
    }

    /// Refreshes now.
    pub async fn refresh(&self) -> Arc<Snapshot> {
        self.refresh_at(SystemTime::now()).await
    }

    /// Refreshes with every query evaluated at `at` (Prometheus's `time` parameter) and `at`
    /// as the clock for `for:` and staleness. Tests and benchmarks pass fixed times.
    ///
    /// A future boxed here: an async fn's body is compiled again in every crate that
    /// awaits it (its coroutine is never exported), and this one is most of the engine.
    #[inline(never)]
    pub fn refresh_at(&self, at: SystemTime) -> BoxFuture<'_, Arc<Snapshot>> {
        Box::pin(self.refresh_at_inner(at))
    }

    async fn refresh_at_inner(&self, at: SystemTime) -> Arc<Snapshot> {
        let mut inner = self.inner.lock().await;
        let started = Instant::now();
        let config = self.config();
        let plan = inner.plan.clone();
        let mut answers = self.run_queries(&config, &plan, at).await;
        let duration = started.elapsed();
        let query_count = answers.len();
        self.stats.set_batch(BatchInfo {
            total_ids: plan.total_ids,
            query_count,
            max_ids_per_query: plan.max_ids_per_query,
            ts: unix_seconds(at) * 1000.0,
        });
        let errors = query_errors(&plan, &answers);
        let slurm = slurm_state(&config, &plan, &answers);
        let failed = !answers.is_empty() && answers.iter().all(Result::is_err);
        self.stats.refresh_done(!failed);
        // One source down among several holds only its own sites; all of them down is the
        // whole snapshot's outage, judged below as with one source.
        let window = Duration::from_secs(u64::from(config.app.planner.stale_after_seconds));
        let verdict = inner
            .outages
            .judge(&plan, &mut answers, at, window, !failed, |s| {
                self.source(s).describe()
            });
        for st in &verdict.statuses {
            if let Some(down) = &st.down
                && !failed
            {
                tracing::warn!(source = %st.name, url = %st.url, error = %down.reason, expired = down.expired,
                    "a Prometheus source does not answer; its sites are stale");
            }
        }
        // A source that answered: requests to it need not wait for their own probe.
        for (s, st) in verdict.statuses.iter().enumerate() {
            if st.down.is_none() && st.queries > 0 {
                self.adhoc
                    .succeeded(SourceIx::try_from(s).unwrap_or(SourceIx::MAX));
            }
        }
        let done = Done {
            config,
            plan,
            at,
            duration,
            query_count,
            errors,
            slurm,
            sources: verdict.statuses.into(),
        };
        if failed {
            let snap = self.failed_refresh(&mut inner, &answers, done);
            return self.publish(snap);
        }
        if inner.down_since.take().is_some() {
            tracing::info!("Prometheus answers again; states recovered");
        }
        for e in &done.errors {
            tracing::warn!(query = %e.query, error = %e.error, "query failed");
        }
        // Evaluation and roll-up are CPU work proportional to the topology: on the
        // blocking pool, so that the executor keeps serving requests meanwhile.
        let (config, plan) = (done.config.clone(), done.plan.clone());
        let mut memory = std::mem::take(&mut inner.memory);
        let reasons = verdict.reasons;
        let job = tokio::task::spawn_blocking(move || {
            let view = view_of(&plan, &answers, &reasons);
            let health = evaluate(&config, &plan, &view, at, &mut memory);
            drop(view);
            (health, memory, answers)
        });
        let (health, memory, answers) = match job.await {
            Ok(done) => done,
            // A panic in evaluation unwinds the refresh as it did inline: the supervisor
            // counts it and restarts the loop.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        inner.memory = memory;
        inner.outages.keep(&done.plan, answers);
        self.publish(done.snapshot(health, None))
    }

    /// Rebuilds the `for:` timers a fresh process lacks from Prometheus itself: the plan's
    /// queries evaluated at the aligned instants of the longest `for:` window before `at`
    /// (at most `MAX_WARM_UP` of them), into the memory only; nothing is published. A
    /// restart, or a second replica, then reports the failing states pending since when
    /// they started, not since it started. Returns the instants replayed.
    pub async fn warm_up(&self, at: SystemTime) -> usize {
        const MAX_WARM_UP: u64 = 20;
        const MAX_WARM_UP_QUERIES: usize = 20_000;
        let mut inner = self.inner.lock().await;
        let config = self.config();
        let plan = inner.plan.clone();
        let longest = plan
            .checks
            .iter()
            .filter_map(|c| c.for_seconds)
            .max()
            .unwrap_or(0);
        if longest == 0 {
            return 0;
        }
        let ttl = u64::from(config.app.planner.cache_ttl_seconds.max(1));
        // At most `MAX_WARM_UP` instants, and at most `MAX_WARM_UP_QUERIES` queries in all,
        // so that a restart of a large estate does not flood Prometheus: past either cap,
        // coarser steps over the same window.
        let affordable = (MAX_WARM_UP_QUERIES / plan.queries.len().max(1)).max(1) as u64;
        let step = ttl.max(longest.div_ceil(MAX_WARM_UP.min(affordable)));
        let steps = longest.div_ceil(step);
        let mut replayed = 0;
        let started = Instant::now();
        for k in (1..=steps).rev() {
            let Some(t) = at.checked_sub(Duration::from_secs(k * step)) else {
                continue;
            };
            let answers = self.run_queries(&config, &plan, t).await;
            // A Prometheus that does not answer, or answers slowly, must not hold back the
            // first real refresh (and its stale or UNKNOWN verdict): the rebuild stops.
            if answers.iter().all(Result::is_err) || started.elapsed() > Duration::from_secs(ttl) {
                break;
            }
            let view = view_of(&plan, &answers, &[]);
            let _ = evaluate(&config, &plan, &view, t, &mut inner.memory);
            replayed += 1;
        }
        if replayed > 0 {
            tracing::info!(
                instants = replayed,
                window_s = longest,
                "for: timers rebuilt from Prometheus"
            );
        }
        replayed
    }

    /// A refresh that learnt nothing: the last snapshot again, marked stale, while it is
    /// younger than `planner.stale_after_seconds`; past that, every state UNKNOWN.
    fn failed_refresh(
        &self,
        inner: &mut Inner,
        answers: &[Result<InstantResult, SourceError>],
        done: Done,
    ) -> Snapshot {
        let at = done.at;
        let unavailable = answers
            .iter()
            .find_map(|a| a.as_ref().err().filter(|e| e.is_unavailable()));
        let first = unavailable.or_else(|| answers.iter().find_map(|a| a.as_ref().err()));
        let err = first.map(ToString::to_string).unwrap_or_default();
        let since = *inner.down_since.get_or_insert(at);
        let window = Duration::from_secs(u64::from(done.config.app.planner.stale_after_seconds));
        let previous = self.current.load_full().filter(|p| {
            Arc::ptr_eq(&p.config, &done.config) && p.stale.as_ref().is_none_or(|s| !s.expired)
        });
        if let Some(prev) = previous
            && prev.age(at) <= window
        {
            tracing::warn!(
                age_s = prev.age(at).as_secs(),
                error = %err,
                "every query of the refresh failed; serving the last snapshot, marked stale"
            );
            return Snapshot {
                published_at: at,
                windows_at: at,
                errors: done.errors,
                sources: done.sources,
                stale: Some(Stale {
                    since,
                    reason: err,
                    expired: false,
                    cause: StaleCause::RefreshFailed,
                }),
                ..(*prev).clone()
            };
        }
        let down_for = at.duration_since(since).unwrap_or_default().as_secs();
        let what = match unavailable {
            Some(_) => "Prometheus unavailable",
            None => "every query failed",
        };
        let reason: Arc<str> = Arc::from(format!("{what} for {down_for} s: {err}"));
        tracing::warn!(%reason, "no usable snapshot; every state is UNKNOWN");
        let failed: Vec<Answer<'_>> = answers
            .iter()
            .map(|_| Answer::Failed(reason.clone()))
            .collect();
        let health = evaluate(&done.config, &done.plan, &failed, at, &mut inner.memory);
        let stale = Stale {
            since,
            reason: reason.to_string(),
            expired: true,
            cause: StaleCause::RefreshFailed,
        };
        done.snapshot(health, Some(stale))
    }

    /// Publishes a refresh's snapshot, numbered and timed here.
    fn publish(&self, snapshot: Snapshot) -> Arc<Snapshot> {
        let mut seq = lock(&self.seq);
        *seq += 1;
        let snap = Arc::new(Snapshot {
            seq: *seq,
            published_instant: Instant::now(),
            ..snapshot
        });
        self.current.store(Some(snap.clone()));
        self.published.send_replace(snap.seq);
        snap
    }

    /// Publishes `marked` (the current snapshot as a reader must now show it) in place of
    /// `base`, unless a refresh published in the meantime: then that one is returned.
    fn publish_over(&self, base: &Arc<Snapshot>, marked: Snapshot) -> Arc<Snapshot> {
        let mut seq = lock(&self.seq);
        if let Some(current) = self.current.load_full()
            && !Arc::ptr_eq(&current, base)
        {
            return current;
        }
        *seq += 1;
        let snap = Arc::new(Snapshot {
            seq: *seq,
            ..marked
        });
        self.current.store(Some(snap.clone()));
        self.published.send_replace(snap.seq);
        snap
    }

    /// The sequence number of every publication, for pushing updates to open pages; the
    /// receiver sees the latest only, never a backlog.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.subscribe()
    }

    async fn run_queries(
        &self,
        config: &Config,
        plan: &Plan,
        at: SystemTime,
    ) -> Vec<Result<InstantResult, SourceError>> {
        let limit = (config.app.planner.max_concurrent_queries as usize).max(1);
        let sources = self.sources.load_full();
        // Each source's timeouts are its own (`telemetry.sources[].timeout_seconds`).
        let timeouts: Vec<Duration> = (0..sources.list.len())
            .map(|i| source_timeout(config, i))
            .collect();
        let mut out: Vec<Option<Result<InstantResult, SourceError>>> =
            (0..plan.queries.len()).map(|_| None).collect();
        // Built eagerly rather than in a `map` closure: a closure returning a borrowing
        // future makes the whole refresh future not `Send` for every lifetime, and the
        // server must be able to spawn it. All sources share the concurrency bound, in the
        // plan's order: each site's queries go to its own source meanwhile.
        let futures: Vec<_> = plan
            .queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let s = usize::from(q.source).min(sources.list.len().saturating_sub(1));
                let timeout = timeouts.get(s).copied().unwrap_or(DEFAULT_QUERY_TIMEOUT);
                self.indexed(&*sources.list[s], i, &q.expr, at, timeout)
            })
            .collect();
        let read = super::eval::labels_read(config, plan);
        let mut stream = futures_util::stream::iter(futures).buffer_unordered(limit);
        while let Some((i, mut r)) = stream.next().await {
            if let (Ok(answer), Some(Some(names))) = (&mut r, read.get(i)) {
                for s in &mut answer.samples {
                    s.labels = s.labels.only(names);
                }
            }
            out[i] = Some(match r {
                // The planner chose one query without the id regex; this backend holds more
                // series than its answers may carry: say how to go back to regex chunks.
                Err(SourceError::TooLarge(why)) if plan.queries[i].unfiltered => {
                    Err(SourceError::TooLarge(format!(
                        "{why} (a query without the id regex: planner.unfiltered_coverage_percent: 0 sends the ids instead)"
                    )))
                }
                r => r,
            });
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(SourceError::Decode("query not run".into()))))
            .collect()
    }

    async fn indexed(
        &self,
        source: &dyn MetricsSource,
        i: usize,
        query: &str,
        at: SystemTime,
        timeout: Duration,
    ) -> (usize, Result<InstantResult, SourceError>) {
        let r = self.timed_instant(source, query, at, timeout).await;
        match r {
            Err(e) if e.is_too_long() => (i, self.in_pieces(source, query, e, at, timeout).await),
            r => (i, r),
        }
    }

    /// A query the backend refused for its length, asked again in halves (and halves of
    /// halves, up to `MAX_PIECES` queries) and answered as one: the planner's byte bound
    /// was above the backend's. Any other failure of a piece fails the whole.
    async fn in_pieces(
        &self,
        source: &dyn MetricsSource,
        query: &str,
        refused: SourceError,
        at: SystemTime,
        timeout: Duration,
    ) -> Result<InstantResult, SourceError> {
        const MAX_PIECES: usize = 64;
        let Some(halves) = super::alternation::split_query(query) else {
            return Err(refused);
        };
        tracing::warn!(error = %refused, "query refused for its length; asking in smaller pieces (lower planner.max_query_bytes)");
        let mut todo: Vec<String> = halves.into();
        let mut merged = InstantResult {
            samples: Vec::new(),
            warnings: Vec::new(),
        };
        let mut sent = 0;
        while let Some(q) = todo.pop() {
            sent += 1;
            if sent > MAX_PIECES {
                return Err(refused);
            }
            match self.timed_instant(source, &q, at, timeout).await {
                Ok(r) => {
                    merged.samples.extend(r.samples);
                    merged.warnings.extend(r.warnings);
                }
                Err(e) if e.is_too_long() => match super::alternation::split_query(&q) {
                    Some(h) => todo.extend(h),
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
        Ok(merged)
    }

    async fn timed_instant(
        &self,
        source: &dyn MetricsSource,
        query: &str,
        at: SystemTime,
        timeout: Duration,
    ) -> Result<InstantResult, SourceError> {
        self.timed(source, source.instant(query, at), timeout).await
    }

    /// Runs one query under the outer timeout, counted in the statistics.
    async fn timed<T>(
        &self,
        source: &dyn MetricsSource,
        query: impl std::future::Future<Output = Result<T, SourceError>>,
        timeout: Duration,
    ) -> Result<T, SourceError> {
        let _guard = self.stats.start_query();
        let t = Instant::now();
        let r = match tokio::time::timeout(timeout, query).await {
            Ok(r) => r,
            Err(_) => Err(SourceError::Timeout {
                url: source.describe(),
                seconds: timeout.as_secs_f64(),
            }),
        };
        match &r {
            Ok(_) => self.stats.record_success(t.elapsed(), SystemTime::now()),
            Err(_) => self.stats.record_error(),
        }
        r
    }

    /// An instant query at the current time through the short cache (metrics views, check
    /// tests): identical queries within `ttl` are answered from memory.
    pub async fn instant_cached(
        &self,
        query: &str,
        ttl: Duration,
    ) -> Result<Arc<InstantResult>, SourceError> {
        self.instant_cached_via(DEFAULT_SOURCE, query, ttl).await
    }

    /// `instant_cached` sent to one source (a site's: `Routes::site`).
    pub async fn instant_cached_via(
        &self,
        via: SourceIx,
        query: &str,
        ttl: Duration,
    ) -> Result<Arc<InstantResult>, SourceError> {
        let key = adhoc_key(via, query);
        if let Ok(c) = self.cache.lock()
            && let Some(e) = c.get(key.as_ref())
            && e.at.elapsed() < ttl
        {
            self.stats.cache_hit();
            return Ok(e.result.clone());
        }
        self.stats.cache_miss();
        let config = self.config();
        let source = self.source(via);
        let r = Arc::new(
            self.adhoc_query(
                (via, &source),
                &key,
                source.instant(query, SystemTime::now()),
                &config,
            )
            .await?,
        );
        // An empty answer is not kept: right after a start, or a new exporter, the data
        // arrives within a scrape, and a view must not stay blank for the whole TTL.
        if r.samples.is_empty() {
            return Ok(r);
        }
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_SWEEP_AT {
                c.retain(|_, e| e.at.elapsed() < ttl);
            }
            c.insert(
                key.into_owned(),
                CacheEntry {
                    at: Instant::now(),
                    result: r.clone(),
                },
            );
        }
        Ok(r)
    }

    /// An instant query at the current time, never cached (the check tester: an operator
    /// editing an expression wants Prometheus's answer, not a remembered one), but bounded
    /// with the other queries made for requests.
    pub async fn instant_now(&self, query: &str) -> Result<InstantResult, SourceError> {
        self.instant_now_via(DEFAULT_SOURCE, query).await
    }

    /// `instant_now` sent to one source.
    pub async fn instant_now_via(
        &self,
        via: SourceIx,
        query: &str,
    ) -> Result<InstantResult, SourceError> {
        let config = self.config();
        let source = self.source(via);
        let key = adhoc_key(via, query);
        self.adhoc_query(
            (via, &source),
            &key,
            source.instant(query, SystemTime::now()),
            &config,
        )
        .await
    }

    /// A range query (charts), with the same accounting, timeout and bound as the others.
    pub async fn range(&self, query: &str, range: RangeSpec) -> Result<RangeResult, SourceError> {
        self.range_via(DEFAULT_SOURCE, query, range).await
    }

    /// `range` sent to one source.
    pub async fn range_via(
        &self,
        via: SourceIx,
        query: &str,
        range: RangeSpec,
    ) -> Result<RangeResult, SourceError> {
        let config = self.config();
        let source = self.source(via);
        let span = range.end.duration_since(range.start).unwrap_or_default();
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            adhoc_key(via, query),
            span.as_secs(),
            range.step.as_millis()
        );
        self.adhoc_query((via, &source), &key, source.range(query, range), &config)
            .await
    }

    /// Queries sent for requests in flight now, and their bound.
    pub fn adhoc_in_flight(&self) -> (usize, usize) {
        (self.adhoc.in_flight(), self.adhoc.limit())
    }

    /// One query made for a request: answered from the failure memory when the same query
    /// (or any, when Prometheus was not there) failed moments ago, else sent once a slot of
    /// the server-wide bound is free.
    async fn adhoc_query<T>(
        &self,
        (via, source): (SourceIx, &Arc<dyn MetricsSource>),
        key: &str,
        query: impl std::future::Future<Output = Result<T, SourceError>>,
        config: &Config,
    ) -> Result<T, SourceError> {
        let probe = self.adhoc.admit(via, key)?;
        let _slot = self.adhoc.slot().await?;
        // Asked again: while this request waited for its slot, the ones ahead of it may
        // have found Prometheus gone. Not the probe: asking again would find its own mark
        // and it would never reach Prometheus, nor clear the mark.
        if !probe {
            self.adhoc.admit(via, key)?;
        }
        let timeout = source_timeout(config, usize::from(via));
        let r = self.timed(&**source, query, timeout).await;
        match &r {
            Ok(_) => self.adhoc.succeeded(via),
            Err(e) => self.adhoc.fail(via, key, e),
        }
        r
    }

    /// One heartbeat: `vector(1)`, for the latency display and the "Prometheus is down"
    /// banner between refreshes.
    pub async fn heartbeat(&self) {
        let config = self.config();
        let source = self.source(DEFAULT_SOURCE);
        let r = self
            .timed_instant(
                &*source,
                "vector(1)",
                SystemTime::now(),
                query_timeout(&config),
            )
            .await;
        let next = SystemTime::now() + heartbeat_interval(&config);
        if r.is_ok() {
            self.adhoc.succeeded(DEFAULT_SOURCE);
        }
        self.stats
            .heartbeat_done(r.map(|_| ()).map_err(|e| e.to_string()), next);
    }

    /// Refreshes every `planner.cache_ttl_seconds` and sends heartbeats until `shutdown`
    /// resolves. A refresh in progress is abandoned at shutdown. Each loop is supervised: a
    /// panic is caught, logged and counted, and the loop resumes after a backoff.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        // Only this select is generic: the loops are compiled once, here, not again in
        // every crate that passes its own kind of shutdown future.
        tokio::select! {
            _ = shutdown => {}
            _ = self.loops() => {}
        }
    }

    /// The refresh and heartbeat loops, supervised; they never end by themselves. Boxed
    /// here like `refresh_at`, so that a crate calling `run` does not compile them again.
    #[inline(never)]
    fn loops(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.loops_inner())
    }

    async fn loops_inner(&self) {
        // Refreshes evaluate at instants aligned to the wall clock (multiples of the period
        // since the epoch), so that every replica of the same configuration asks Prometheus
        // about the same instants and shows the same states, whenever it started.
        let ttl = || {
            Duration::from_secs(u64::from(
                self.config().app.planner.cache_ttl_seconds.max(1),
            ))
        };
        // The `for:` rebuild runs once, inside the supervised step: a panic there is caught
        // and counted like a refresh's, and the next step goes on without it.
        let warmed = std::sync::atomic::AtomicBool::new(false);
        let refresh_loop = supervise(&self.stats, Task::Refresh, || async {
            if !warmed.swap(true, std::sync::atomic::Ordering::Relaxed) {
                self.warm_up(aligned(SystemTime::now(), ttl()).0).await;
            }
            let (at, _) = aligned(SystemTime::now(), ttl());
            self.refresh_at(at).await;
            aligned(SystemTime::now(), ttl()).1
        });
        let heartbeat_loop = supervise(&self.stats, Task::Heartbeat, || async {
            self.heartbeat().await;
            heartbeat_interval(&self.config())
        });
        futures_util::future::join(refresh_loop, heartbeat_loop).await;
    }
}

/// What a refresh learnt besides the health: the pieces of its snapshot.
struct Done {
    config: Arc<Config>,
    plan: Arc<Plan>,
    at: SystemTime,
    duration: Duration,
    query_count: usize,
    errors: Vec<QueryError>,
    slurm: Option<Arc<crate::slurm::SlurmState>>,
    sources: Arc<[SourceStatus]>,
}

/// The Slurm state of a refresh: its query's answer joined to the topology, or why there
/// is none (the query failed: the nodes' Slurm states are unknown, never assumed fine).
fn slurm_state(
    config: &Config,
    plan: &Plan,
    answers: &[Result<InstantResult, SourceError>],
) -> Option<Arc<crate::slurm::SlurmState>> {
    let (slurm, q) = config.slurm.as_ref().zip(plan.slurm_query)?;
    let jobs = plan
        .slurm_jobs_query
        .and_then(|j| answers.get(j as usize))
        .and_then(|a| a.as_ref().ok())
        .map(|res| {
            slurm.jobs(
                &config.topology,
                res.samples.iter().map(|s| (&s.labels, s.value)),
            )
        });
    Some(Arc::new(match answers.get(q as usize) {
        Some(Ok(res)) => crate::slurm::SlurmState {
            view: slurm.join(
                &config.topology,
                res.samples.iter().map(|s| (&s.labels, s.value)),
            ),
            error: None,
            jobs,
        },
        Some(Err(e)) => crate::slurm::SlurmState {
            view: Default::default(),
            error: Some(e.to_string()),
            jobs: None,
        },
        None => crate::slurm::SlurmState::default(),
    }))
}

impl Done {
    fn snapshot(self, health: Health, stale: Option<Stale>) -> Snapshot {
        Snapshot {
            seq: 0,
            config: self.config,
            plan: self.plan,
            health: Arc::new(health),
            taken_at: self.at,
            published_at: self.at,
            windows_at: self.at,
            published_instant: Instant::now(),
            duration: self.duration,
            query_count: self.query_count,
            errors: self.errors,
            stale,
            slurm: self.slurm,
            sources: self.sources,
        }
    }
}

/// The key of a query made for a request: the text, and the source when not the default
/// (the same text asked of two sites' Prometheus are two answers).
fn adhoc_key(via: SourceIx, query: &str) -> std::borrow::Cow<'_, str> {
    match via {
        DEFAULT_SOURCE => query.into(),
        s => format!("@{s}\u{0}{query}").into(),
    }
}

/// Builds every source of a configuration with `connect`; one that fails is replaced by
/// an `Unbuilt` that fails its queries with why.
fn connect_all(connect: &Connect, config: &Config) -> Vec<Arc<dyn MetricsSource>> {
    let t = &config.app.telemetry;
    connect(config)
        .into_iter()
        .enumerate()
        .map(|(i, r)| match r {
            Ok(s) => s,
            Err(reason) => {
                tracing::error!(source = t.source_name(i), %reason, "cannot build a Prometheus client");
                Arc::new(Unbuilt {
                    name: t.source_name(i).to_owned(),
                    reason,
                }) as Arc<dyn MetricsSource>
            }
        })
        .collect()
}

/// The answers as evaluation reads them: a failed query becomes the reason its targets get,
/// its source's own (`reasons`, by source) once that source's outage has expired.
fn view_of<'a>(
    plan: &Plan,
    answers: &'a [Result<InstantResult, SourceError>],
    reasons: &[Option<Arc<str>>],
) -> Vec<Answer<'a>> {
    answers
        .iter()
        .enumerate()
        .map(|(i, a)| match a {
            Ok(res) => Answer::Ok(res),
            Err(e) => {
                let source = plan.queries.get(i).map_or(0, |q| usize::from(q.source));
                match reasons.get(source) {
                    Some(Some(reason)) => Answer::Failed(reason.clone()),
                    _ => Answer::Failed(Arc::from(format!("query failed: {e}"))),
                }
            }
        })
        .collect()
}

/// The last instant at or before `now` that is a whole number of `period`s since the
/// epoch, and how long from `now` to the next one.
pub fn aligned(now: SystemTime, period: Duration) -> (SystemTime, Duration) {
    let p = period.as_millis().max(1);
    let since = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let into = since % p;
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(since - into).unwrap_or(0));
    let wait = Duration::from_millis(u64::try_from(p - into).unwrap_or(0));
    (at, wait)
}

/// Locks a mutex whose data stays valid even if a holder panicked (a counter).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn query_timeout(config: &Config) -> Duration {
    source_timeout(config, usize::from(DEFAULT_SOURCE))
}

/// The outer bound of one query to source `i` (`Telemetry::source_timeouts`).
fn source_timeout(config: &Config, i: usize) -> Duration {
    let (read, connect) = config.app.telemetry.source_timeouts(i);
    // The client enforces its own connect and read timeouts; this outer bound also covers
    // sources that do not, with a second of slack so the client's clearer error wins.
    // `rackscope check` refuses out-of-range timeouts, but an engine built from a
    // configuration that skipped validation must still never panic on one.
    let total = (read + connect).clamp(0.1, 2.0 * crate::model::app::MAX_TIMEOUT_SECONDS) + 1.0;
    Duration::try_from_secs_f64(total).unwrap_or(DEFAULT_QUERY_TIMEOUT)
}

/// The outer bound used when the configured timeouts are not numbers (NaN).
const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(8);

fn heartbeat_interval(config: &Config) -> Duration {
    Duration::from_secs(u64::from(
        config
            .app
            .telemetry
            .prometheus_heartbeat_seconds
            .clamp(10, crate::model::app::MAX_INTERVAL_SECONDS),
    ))
}

fn query_errors(plan: &Plan, answers: &[Result<InstantResult, SourceError>]) -> Vec<QueryError> {
    if answers.iter().all(Result::is_ok) {
        return Vec::new();
    }
    // Which checks each failed query served, in one pass over the plan.
    let mut users: Vec<Vec<Arc<str>>> = vec![Vec::new(); answers.len()];
    for c in &plan.checks {
        for ch in &c.chunks {
            for q in std::iter::once(ch.query).chain(ch.discovery) {
                let q = q as usize;
                if answers.get(q).is_some_and(Result::is_err)
                    && users[q].last().is_none_or(|last| *last != c.id)
                {
                    users[q].push(c.id.clone());
                }
            }
        }
    }
    answers
        .iter()
        .zip(users)
        .enumerate()
        .filter_map(|(i, (a, checks))| {
            a.as_ref().err().map(|e| QueryError {
                query: plan.queries[i].expr.clone(),
                checks,
                error: e.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod conversion_tests {
    use super::*;

    fn with_timeouts(read: f64, connect: f64, heartbeat: u32) -> Config {
        let mut c = Config::default();
        c.app.telemetry.prometheus_timeout_seconds = read;
        c.app.telemetry.prometheus_connect_timeout_seconds = connect;
        c.app.telemetry.prometheus_heartbeat_seconds = heartbeat;
        c
    }

    #[test]
    fn hostile_timeouts_give_a_bounded_duration_instead_of_a_panic() {
        for (read, connect) in [
            (1e20, 2.0),
            (5.0, 1e20),
            (f64::NAN, 2.0),
            (f64::INFINITY, f64::INFINITY),
            (-5.0, -2.0),
            (f64::NEG_INFINITY, 0.0),
        ] {
            let t = query_timeout(&with_timeouts(read, connect, 30));
            assert!(t >= Duration::from_millis(1100), "{read} {connect}: {t:?}");
            assert!(t <= Duration::from_secs(601), "{read} {connect}: {t:?}");
        }
        assert_eq!(
            query_timeout(&with_timeouts(5.0, 2.0, 30)),
            Duration::from_secs(8)
        );
        // A source's own timeouts, else the section's; past the last source, the section's.
        let mut c = with_timeouts(5.0, 2.0, 30);
        c.app.telemetry.sources = vec![
            crate::model::app::Source {
                timeout_seconds: Some(20.0),
                ..Default::default()
            },
            crate::model::app::Source {
                connect_timeout_seconds: Some(9.0),
                ..Default::default()
            },
        ];
        assert_eq!(source_timeout(&c, 1), Duration::from_secs(23));
        assert_eq!(source_timeout(&c, 2), Duration::from_secs(15));
        assert_eq!(source_timeout(&c, 3), Duration::from_secs(8));
    }

    #[test]
    fn refreshes_align_to_the_wall_clock() {
        let t = |s: u64, ms: u64| UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms);
        let ttl = Duration::from_secs(30);
        // Two replicas started 7 s apart evaluate at the same instant and wake together.
        let (a, wa) = aligned(t(1_700_000_012, 0), ttl);
        let (b, wb) = aligned(t(1_700_000_019, 0), ttl);
        assert_eq!((a, b), (t(1_700_000_010, 0), t(1_700_000_010, 0)));
        assert_eq!(t(1_700_000_012, 0) + wa, t(1_700_000_019, 0) + wb);
        assert_eq!(wa, Duration::from_secs(28));
        // On an instant, that instant, and a whole period to the next.
        assert_eq!(
            aligned(t(1_700_000_040, 0), ttl),
            (t(1_700_000_040, 0), ttl)
        );
        assert_eq!(aligned(t(5, 500), Duration::ZERO).0, t(5, 500));
    }

    #[test]
    fn the_heartbeat_interval_stays_between_ten_seconds_and_a_day() {
        assert_eq!(
            heartbeat_interval(&with_timeouts(5.0, 2.0, 0)),
            Duration::from_secs(10)
        );
        assert_eq!(
            heartbeat_interval(&with_timeouts(5.0, 2.0, u32::MAX)),
            Duration::from_secs(86_400)
        );
    }
}
