//! `rackscope import`: runs an importer plugin and writes its inventory as configuration,
//! deterministic, atomic, and never over a file the importer did not write itself.

pub mod layout;
pub mod plugin;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use rackscope_importer_abi::Inventory;

use plugin::Plugin;

#[derive(clap::Args, Debug)]
pub struct Args {
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
    /// Where importer libraries are looked for first.
    #[arg(long, env = "RACKSCOPE_PLUGIN_DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// List the importers found and their options, then exit.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: &Args) -> anyhow::Result<std::process::ExitCode> {
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
    let path = plugin::find(name, &dirs)?;
    let plugin = Plugin::load(&path)?;
    let config = options(args)?;
    let importer = plugin.describe.name.clone();
    let inv = fetch(&plugin, &config)?;
    for w in &inv.warnings {
        eprintln!("warning: {importer}: {w}");
    }
    let (sites, racks, devices, instances) = inv.counts();
    eprintln!(
        "{importer}: {sites} sites, {racks} racks, {devices} devices, {instances} instances, {} templates",
        inv.templates.len()
    );
    let plan = Plan::new(&importer, &inv, out)?;
    print!("{}", plan.report(args.dry_run));
    if args.dry_run {
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if !plan.conflicts.is_empty() && !args.force {
        bail!(
            "{} file(s) exist that `{importer}` did not write; nothing was written. Move them away, or pass --force to overwrite them:\n  {}",
            plan.conflicts.len(),
            plan.conflicts
                .iter()
                .map(|p| out.join(p).display().to_string())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    // The result must load before anything is replaced: the plan is first applied to a
    // copy, so a configuration that works is never swapped for one that does not.
    // A sibling, so that paths in app.yaml relative to the directory resolve the same.
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trial = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.rackscope-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&trial);
    let checked = copy_tree(out, &trial)
        .and_then(|()| plan.apply(&trial))
        .map(|()| rackscope_core::load(&trial.join("app.yaml")));
    let loaded = match checked {
        Ok(l) => l,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&trial);
            return Err(e.context("cannot try the import in a temporary copy"));
        }
    };
    let errors: Vec<String> = loaded
        .diagnostics
        .errors()
        .map(|d| {
            d.to_string()
                .replace(&*trial.to_string_lossy(), &out.to_string_lossy())
        })
        .collect();
    let _ = std::fs::remove_dir_all(&trial);
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        bail!(
            "the imported configuration would have {} error(s); nothing was written",
            errors.len()
        );
    }
    plan.apply(out)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn list(dirs: &[PathBuf]) -> anyhow::Result<std::process::ExitCode> {
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
    Ok(std::process::ExitCode::SUCCESS)
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

/// What an import changes in the output directory.
pub struct Plan {
    /// Files to write: new or different content.
    pub writes: BTreeMap<PathBuf, String>,
    /// Files this importer wrote before and no longer produces.
    pub removals: Vec<PathBuf>,
    /// Files in the way that the importer did not write.
    pub conflicts: Vec<PathBuf>,
    pub unchanged: usize,
    pub changes: Changes,
}

/// Racks and devices added, removed and changed, by id.
#[derive(Default, Debug, PartialEq)]
pub struct Changes {
    pub racks: Delta,
    pub devices: Delta,
}

#[derive(Default, Debug, PartialEq)]
pub struct Delta {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Plan {
    pub fn new(importer: &str, inv: &Inventory, out: &Path) -> anyhow::Result<Plan> {
        let mut files = layout::files(importer, inv);
        for (p, text) in layout::starter_files(importer, &inv.source) {
            // app.yaml is the user's once it exists, whoever wrote it.
            if !out.join(&p).exists() {
                files.insert(p, text);
            }
        }
        let before = owned_files(out, importer)?;
        let mut plan = Plan {
            writes: BTreeMap::new(),
            removals: Vec::new(),
            conflicts: Vec::new(),
            unchanged: 0,
            changes: Changes::default(),
        };
        for (rel, text) in files.iter_mut() {
            let path = out.join(rel);
            // The importer's own files were read by `owned_files`; only others are read here.
            let old = match before.get(rel) {
                Some(t) => Some(t.clone()),
                None => match std::fs::read_to_string(&path) {
                    Ok(t) => Some(t),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => bail!("cannot read {}: {e}", path.display()),
                },
            };
            let Some(old) = old else {
                plan.writes.insert(rel.clone(), text.clone());
                continue;
            };
            let ours = layout::owner(&old) == Some(importer);
            if ours && rel.starts_with("templates") {
                *text = layout::keep_user_lines(&old, text);
            }
            if old == *text {
                plan.unchanged += 1;
            } else {
                if !ours {
                    plan.conflicts.push(rel.clone());
                }
                plan.writes.insert(rel.clone(), text.clone());
            }
        }
        plan.removals = before
            .keys()
            .filter(|p| !files.contains_key(*p))
            .cloned()
            .collect();
        plan.changes = changes(&before, &files);
        Ok(plan)
    }

    pub fn report(&self, dry_run: bool) -> String {
        let mut s = String::new();
        let c = &self.changes;
        let line = |s: &mut String, what: &str, d: &Delta| {
            s.push_str(&format!(
                "{what}: {} added, {} removed, {} changed\n",
                d.added.len(),
                d.removed.len(),
                d.changed.len()
            ));
            if dry_run {
                for (sign, ids) in [("+", &d.added), ("-", &d.removed), ("~", &d.changed)] {
                    for id in ids {
                        s.push_str(&format!("  {sign} {id}\n"));
                    }
                }
            }
        };
        line(&mut s, "racks", &c.racks);
        line(&mut s, "devices", &c.devices);
        let verb = if dry_run { "would write" } else { "writes" };
        s.push_str(&format!(
            "files: {verb} {}, removes {}, {} unchanged\n",
            self.writes.len(),
            self.removals.len(),
            self.unchanged
        ));
        if dry_run {
            for p in self.writes.keys() {
                s.push_str(&format!("  write {}\n", p.display()));
            }
            for p in &self.removals {
                s.push_str(&format!("  remove {}\n", p.display()));
            }
            for p in &self.conflicts {
                s.push_str(&format!(
                    "  conflict {} (not written by this importer: needs --force)\n",
                    p.display()
                ));
            }
        }
        s
    }

    /// Writes every file through a temporary file and a rename, so a crash leaves either
    /// the old file or the new one, never half of one.
    pub fn apply(&self, out: &Path) -> anyhow::Result<()> {
        for (rel, text) in &self.writes {
            write_atomic(&out.join(rel), text.as_bytes())?;
        }
        for rel in &self.removals {
            let p = out.join(rel);
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
        // The layout's directories exist for checks and metrics the user adds later.
        for d in ["checks/library", "metrics/library"] {
            std::fs::create_dir_all(out.join(d))
                .with_context(|| format!("cannot create {}", out.join(d).display()))?;
        }
        Ok(())
    }
}

/// Copies the YAML (and `.rhai`) files of `from` into `to`, for the trial import.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else if src
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "rhai")
        {
            std::fs::copy(&src, &dst).with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        bail!("cannot write {}: {e}", path.display());
    }
    Ok(())
}

/// The files under `out` that `importer` wrote, with their text.
fn owned_files(out: &Path, importer: &str) -> anyhow::Result<BTreeMap<PathBuf, String>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                && let Ok(text) = std::fs::read_to_string(&p)
                && layout::owner(&text) == Some(importer)
                && let Ok(rel) = p.strip_prefix(out)
            {
                found.insert(rel.to_path_buf(), text);
            }
        }
    }
    Ok(found)
}

/// Racks and devices, compared between the rack files before and after.
fn changes(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) -> Changes {
    let racks = |files: &BTreeMap<PathBuf, String>| -> BTreeMap<String, (String, BTreeMap<String, String>)> {
        files
            .iter()
            .filter(|(p, _)| p.parent().is_some_and(|d| d.ends_with("racks")))
            .filter_map(|(_, text)| split_rack(text))
            .map(|(id, head, devices)| (id, (head, devices)))
            .collect()
    };
    let (old, new) = (racks(before), racks(after));
    let mut c = Changes::default();
    let ids: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for id in ids {
        match (old.get(id), new.get(id)) {
            (None, Some((_, devs))) => {
                c.racks.added.push(id.clone());
                c.devices.added.extend(devs.keys().cloned());
            }
            (Some((_, devs)), None) => {
                c.racks.removed.push(id.clone());
                c.devices.removed.extend(devs.keys().cloned());
            }
            (Some((oh, od)), Some((nh, nd))) => {
                let mut rack_changed = oh != nh;
                for (d, text) in nd {
                    match od.get(d) {
                        None => c.devices.added.push(d.clone()),
                        Some(t) if t != text => c.devices.changed.push(d.clone()),
                        Some(_) => {}
                    }
                }
                for d in od.keys().filter(|d| !nd.contains_key(*d)) {
                    c.devices.removed.push(d.clone());
                }
                rack_changed |= od != nd;
                if rack_changed {
                    c.racks.changed.push(id.clone());
                }
            }
            (None, None) => {}
        }
    }
    c
}

/// A generated rack file as (rack id, its own fields, device id → device text). The
/// files are ours, so their layout is known: fields, then `- id:` items under `devices:`.
fn split_rack(text: &str) -> Option<(String, String, BTreeMap<String, String>)> {
    let mut id = None;
    let mut head = String::new();
    let mut devices = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("- id: ") {
            if let Some((d, t)) = current.take() {
                devices.insert(d, t);
            }
            current = Some((rest.trim_matches('"').to_owned(), String::new()));
        } else if let Some((_, t)) = current.as_mut() {
            t.push_str(line);
            t.push('\n');
        } else {
            if let Some(rest) = line.strip_prefix("id: ") {
                id = Some(rest.trim_matches('"').to_owned());
            }
            head.push_str(line);
            head.push('\n');
        }
    }
    if let Some((d, t)) = current {
        devices.insert(d, t);
    }
    Some((id?, head, devices))
}
