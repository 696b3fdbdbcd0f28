//! `rackscope plan` and `rackscope health`: the queries a configuration sends, and one
//! refresh against Prometheus printed as the physical tree with its alerts.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rackscope_core::Severity;
use rackscope_core::telemetry::{Snapshot, plan};

#[derive(clap::Args)]
pub(super) struct PlanArgs {
    /// The configuration's app.yaml, or its directory.
    #[arg(env = "RACKSCOPE_APP_CONFIG")]
    app: PathBuf,
    /// Shorten long id alternations (`a|b|c|…197 more…|y|z`).
    #[arg(long)]
    short: bool,
}

#[derive(clap::Args)]
pub(super) struct HealthArgs {
    /// The configuration's app.yaml, or its directory.
    #[arg(env = "RACKSCOPE_APP_CONFIG")]
    app: PathBuf,
    /// Prometheus URL, overriding telemetry.prometheus_url.
    #[arg(long)]
    prometheus: Option<String>,
    /// Evaluate at this Unix time instead of now.
    #[arg(long)]
    at: Option<f64>,
    /// Print every rack, not only those that are not OK.
    #[arg(long)]
    all: bool,
}

pub(super) fn plan_cmd(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let config = rackscope::demo::load_config(&args.app)?;
    print!("{}", plan(&config).describe(&config, !args.short));
    Ok(ExitCode::SUCCESS)
}

fn state(s: Option<Severity>) -> &'static str {
    s.map_or("-", Severity::as_str)
}

pub(super) fn health_cmd(args: &HealthArgs) -> anyhow::Result<ExitCode> {
    let mut config = rackscope::demo::load_config(&args.app)?;
    if let Some(url) = &args.prometheus {
        config.app.telemetry.prometheus_url = Some(url.clone());
    }
    let engine = rackscope::demo::connected_engine(config)?;
    let at = match args.at {
        // A hostile `--at` (1e30, inf) is a clear error, not a panic in the conversion.
        Some(t) => Duration::try_from_secs_f64(t.max(0.0))
            .ok()
            .and_then(|d| UNIX_EPOCH.checked_add(d))
            .with_context(|| format!("--at {t} is not a usable Unix time"))?,
        None => SystemTime::now(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let snap = rt.block_on(engine.refresh_at(at));
    print!("{}", render(&snap, args.all));
    Ok(if snap.stale.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn render(s: &Snapshot, all: bool) -> String {
    let mut out = String::new();
    let topo = &s.config.topology;
    let h = &s.health;
    let _ = writeln!(
        out,
        "refresh: {} queries in {:.0} ms, {} failed",
        s.query_count,
        s.duration.as_secs_f64() * 1000.0,
        s.errors.len()
    );
    if let Some(st) = &s.stale {
        let _ = writeln!(out, "PROMETHEUS UNAVAILABLE: {}", st.reason);
    }
    // One line per distinct error: when Prometheus is down every query fails the same way.
    let mut by_error: Vec<(String, usize, Vec<&str>)> = Vec::new();
    for e in &s.errors {
        let text = e.error.to_string();
        let i = match by_error.iter().position(|(t, _, _)| *t == text) {
            Some(i) => i,
            None => {
                by_error.push((text, 0, Vec::new()));
                by_error.len() - 1
            }
        };
        by_error[i].1 += 1;
        for c in &e.checks {
            if !by_error[i].2.contains(&&**c) {
                by_error[i].2.push(c);
            }
        }
    }
    for (text, n, checks) in &by_error {
        let _ = writeln!(out, "{n} queries failed ({}): {text}", checks.join(", "));
    }
    let _ = writeln!(out, "global: {}", state(h.global));
    for (si, site) in topo.sites.iter().enumerate() {
        let _ = writeln!(out, "site {} {}", site.id, state(h.sites[si]));
        for &r in &site.rooms {
            let room = &topo.rooms[r];
            let _ = writeln!(out, "  room {} {}", room.id, state(h.rooms[r.index()]));
            for rk in topo.room_racks(r) {
                let rs = &h.racks[rk.index()];
                if !all && rs.state.is_none_or(|x| x == Severity::Ok) {
                    continue;
                }
                let rack = &topo.racks[rk];
                let aisle = rack
                    .aisle
                    .map_or("(standalone)", |a| topo.aisles[a].id.as_str());
                let _ = writeln!(
                    out,
                    "    {aisle} rack {} {}{}",
                    rack.id,
                    state(rs.state),
                    if rs.pending { " (pending)" } else { "" }
                );
            }
        }
    }
    let _ = writeln!(out, "alerts: {}", h.alerts.len());
    for a in &h.alerts {
        let (rack, device, name) = s.locate(a.target);
        let path = topo.path(rack, device);
        let checks: Vec<String> = a
            .checks
            .iter()
            .map(|c| {
                let id = &s.plan.checks[c.check as usize].id;
                let slot = c
                    .slot
                    .as_deref()
                    .map(|x| format!("[{x}]"))
                    .unwrap_or_default();
                let value = c.value.map(|v| format!("={v}")).unwrap_or_default();
                format!("{id}{slot}{value} {}", c.severity)
            })
            .collect();
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            a.state,
            path.join("/"),
            name,
            checks.join(", ")
        );
    }
    out
}
