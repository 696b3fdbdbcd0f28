//! `rackscope import`: the command over `rackscope::import`: finds and runs the importer,
//! prints what it found and what would change, and refuses what the flags do not allow.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use rackscope::import::plugin::{self, Plugin};
use rackscope::import::{Plan, finish_interrupted, layout, trial};
use rackscope_importer_abi::Inventory;

#[derive(clap::Args, Debug)]
pub(super) struct Args {
    /// The importer: a name (`netbox`, `racksdb`, `bluebanquise`) looked up in the plugin
    /// directories, or the path of an importer library.
    pub importer: Option<String>,
    /// The importer's options as a YAML file (a map of option to value).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// One option, `key=value`; the value is read as YAML (`42`, `true`, `[a, b]`).
    /// Overrides the same key from --config. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The configuration directory to write into (created if missing).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print what would change (racks and devices added, removed, changed) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite files that the importer did not write (or that were edited and unmarked).
    #[arg(long)]
    pub force: bool,
    /// Also remove files that carry this importer's mark at paths of its layout but were
    /// not written by its previous run (copies, files from before the list was kept).
    #[arg(long)]
    pub prune: bool,
    /// Stop when the import would remove more than this share of the devices (or racks)
    /// the configuration holds now, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_removal: u8,
    /// Remove devices and racks past --max-removal all the same.
    #[arg(long)]
    pub force_removal: bool,
    /// Where importer libraries are looked for first.
    #[arg(long, env = "RACKSCOPE_PLUGIN_DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// List the importers found and their options, then exit.
    #[arg(long)]
    pub list: bool,
}

pub(super) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let dirs = plugin::search_dirs(args.plugin_dir.as_deref());
    if args.list {
        return list(&dirs);
    }
    let Some(name) = &args.importer else {
        bail!("name an importer (or pass --list to see those installed)");
    };
    let Some(out) = &args.out else {
        bail!("--out: the configuration directory to write into is required");
    };
    let plugin = Plugin::load(&plugin::find(name, &dirs)?)?;
    let config = options(args)?;
    let importer = plugin.describe.name.clone();
    layout::check_importer_name(&importer).map_err(anyhow::Error::msg)?;
    finish_interrupted(out)?;
    let inv = fetch(&plugin, &config)?;
    report_inventory(&importer, &inv)?;
    let plan = Plan::new(&importer, &inv, out, args.prune)?;
    print!("{}", plan.report(args.dry_run));
    if !may_write(args, &importer, &plan, out)? {
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    plan.apply(out)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the importer's warnings and counts; an inventory whose every record was skipped
/// means an unreadable source, not an empty one, and stops the import.
fn report_inventory(importer: &str, inv: &Inventory) -> anyhow::Result<()> {
    for w in &inv.warnings {
        eprintln!("warning: {importer}: {w}");
    }
    let (sites, racks, devices, instances) = inv.counts();
    eprintln!(
        "{importer}: {sites} sites, {racks} racks, {devices} devices, {instances} instances, {} templates",
        inv.templates.len()
    );
    if let Some(r) = inv.records
        && r.read > 0
        && r.skipped >= r.read
    {
        bail!(
            "`{importer}` skipped every one of the {} device records its source returned (see the warnings above): the source is unreadable, not empty; nothing was written",
            r.read
        );
    }
    Ok(())
}

/// The refusals between a plan and its writing: links on the way, files the importer did
/// not write, a configuration that would not load, too much removed. `Ok(false)` is a dry
/// run that stops here after saying why; an error stops a real run.
fn may_write(args: &Args, importer: &str, plan: &Plan, out: &Path) -> anyhow::Result<bool> {
    if !plan.linked.is_empty() {
        bail!(
            "{} path(s) of the import pass through a symbolic link, which could lead out of {}; nothing was written. Replace the link(s) with directories:\n  {}",
            plan.linked.len(),
            out.display(),
            lines(plan.linked.iter().map(|p| p.display().to_string()))
        );
    }
    let under_out =
        |paths: &[PathBuf]| lines(paths.iter().map(|p| out.join(p).display().to_string()));
    if !plan.strays.is_empty() && !args.prune {
        eprintln!(
            "note: {} file(s) marked as written by `{importer}` were not written by its previous run and are left alone (pass --prune to remove them):\n  {}",
            plan.strays.len(),
            under_out(&plan.strays)
        );
    }
    if !plan.conflicts.is_empty() && !args.force {
        let msg = format!(
            "{} file(s) exist that `{importer}` did not write; nothing was written. Move them away, or pass --force to overwrite them:\n  {}",
            plan.conflicts.len(),
            under_out(&plan.conflicts)
        );
        if args.dry_run {
            eprintln!("would stop: {msg}");
            return Ok(false);
        }
        bail!(msg);
    }
    let trial = trial(plan, out)?;
    if !trial.errors.is_empty() {
        for e in &trial.errors {
            eprintln!("{e}");
        }
        bail!(
            "the imported configuration would have {} error(s); nothing was written",
            trial.errors.len()
        );
    }
    match trial.removal.refusal(args.max_removal) {
        Some(why) if args.dry_run => eprintln!("would stop: {why} (--force-removal to go ahead)"),
        Some(why) if !args.force_removal => bail!(
            "{why}; nothing was written. If the source is right, pass --force-removal (or raise --max-removal)"
        ),
        _ => {}
    }
    Ok(true)
}

fn lines(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join("\n  ")
}

fn list(dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let found = plugin::discover(dirs);
    if found.is_empty() {
        println!(
            "no importers found in {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for path in found {
        match Plugin::load(&path) {
            Ok(p) => {
                let d = &p.describe;
                println!(
                    "{} {} — {}\n  {}",
                    d.name,
                    d.version,
                    d.description,
                    path.display()
                );
                for o in &d.options {
                    let mut line = format!("    {}", o.name);
                    if o.required {
                        line.push_str(" (required)");
                    }
                    if let Some(def) = &o.default {
                        line.push_str(&format!(" [default: {def}]"));
                    }
                    println!("{line}\n        {}", o.help);
                }
            }
            Err(e) => println!("{e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The options object: --config's map, then each --set over it.
fn options(args: &Args) -> anyhow::Result<serde_json::Value> {
    let mut map = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let v: serde_json::Value = serde_saphyr::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            match v {
                serde_json::Value::Object(m) => m,
                serde_json::Value::Null => serde_json::Map::new(),
                other => bail!(
                    "{}: expected a map of options, found {}",
                    p.display(),
                    kind(&other)
                ),
            }
        }
        None => serde_json::Map::new(),
    };
    for kv in &args.set {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--set {kv}: expected KEY=VALUE");
        };
        let value: serde_json::Value = if v.is_empty() {
            serde_json::Value::String(String::new())
        } else {
            serde_saphyr::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()))
        };
        map.insert(k.trim().to_owned(), value);
    }
    Ok(serde_json::Value::Object(map))
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::Bool(_) => "a boolean",
        _ => "something else",
    }
}

/// Runs the plugin with a progress bar on stderr (hidden when stderr is not a terminal).
fn fetch(plugin: &Plugin, config: &serde_json::Value) -> anyhow::Result<Inventory> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let mut on_progress = |p: rackscope_importer_abi::Progress| {
        bar.set_message(p.message);
        if let Some(t) = p.total {
            bar.set_length(t);
        }
        bar.set_position(p.done);
        bar.tick();
    };
    let r = plugin.run(config, &mut on_progress);
    bar.finish_and_clear();
    Ok(r?)
}
