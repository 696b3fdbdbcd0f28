//! The import of an inventory as configuration (the work behind `rackscope import`, whose
//! command line is `cli/import.rs`): a plan against the files written before, a trial load,
//! then one transaction; deterministic, atomic, never over a file the importer did not write.

pub mod apply;
pub mod layout;
pub mod plugin;
pub mod safe;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::bail;
use rackscope_importer_abi::Inventory;

/// Rolls forward an import that died after its commit and sweeps the staged files of one
/// that died before, so the plan is made against a whole tree.
pub fn finish_interrupted(out: &Path) -> anyhow::Result<()> {
    if !out.is_dir() {
        return Ok(());
    }
    if apply::recover(out)? {
        eprintln!(
            "note: an interrupted import into {} was completed first",
            out.display()
        );
    }
    apply::sweep(out)?;
    Ok(())
}

/// What the trial import found: the loader's errors, and what it would remove.
pub struct Trial {
    pub errors: Vec<String>,
    pub removal: Removal,
}

/// Devices and racks the configuration holds now, and how many of them the import drops.
#[derive(Debug, Default, PartialEq)]
pub struct Removal {
    pub devices: (usize, usize),
    pub racks: (usize, usize),
}

impl Removal {
    /// Why the import must stop, when it drops more than `max_percent` of either.
    pub fn refusal(&self, max_percent: u8) -> Option<String> {
        let over = |(before, removed): (usize, usize)| {
            before > 0 && removed * 100 > before * usize::from(max_percent)
        };
        let (what, (before, removed)) = if over(self.devices) {
            ("devices", self.devices)
        } else if over(self.racks) {
            ("racks", self.racks)
        } else {
            return None;
        };
        Some(format!(
            "the import would remove {removed} of the {before} {what} the configuration holds ({}%, more than --max-removal {max_percent}%)",
            removed * 100 / before
        ))
    }
}

/// Applies the plan to a copy of `out` and loads it as `rackscope check` would, so a
/// configuration that works is never swapped for one that does not; and compares the
/// devices and racks with those `out` holds now. The copy is a sibling, so that paths in
/// app.yaml relative to the directory resolve the same.
pub fn trial(plan: &Plan, out: &Path) -> anyhow::Result<Trial> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.rackscope-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let checked = safe::copy_tree(out, &dir)
        .and_then(|()| plan.apply(&dir))
        .map(|()| rackscope_core::load(&dir.join("app.yaml")));
    let loaded = match checked {
        Ok(l) => l,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e.context("cannot try the import in a temporary copy"));
        }
    };
    // A generated template that redefines one of the user's (or the reverse) would change
    // what the user's devices are without a word beyond a warning: refused like an error.
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.level == rackscope_core::Level::Error || d.code == "template-redefined")
        .map(|d| {
            d.to_string()
                .replace(&*dir.to_string_lossy(), &out.to_string_lossy())
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let app = out.join("app.yaml");
    let removal = if app.is_file() {
        let now = rackscope_core::load(&app);
        removed(&now.config.topology, &loaded.config.topology)
    } else {
        Removal::default()
    };
    Ok(Trial { errors, removal })
}

/// Devices and racks of `before` that `after` no longer has, by id.
fn removed(
    before: &rackscope_core::topology::Topology,
    after: &rackscope_core::topology::Topology,
) -> Removal {
    let count = |old: Vec<&str>, new: BTreeSet<&str>| {
        (
            old.len(),
            old.iter().filter(|id| !new.contains(*id)).count(),
        )
    };
    Removal {
        devices: count(
            before.devices.iter().map(|d| d.id.as_str()).collect(),
            after.devices.iter().map(|d| d.id.as_str()).collect(),
        ),
        racks: count(
            before.racks.iter().map(|r| r.id.as_str()).collect(),
            after.racks.iter().map(|r| r.id.as_str()).collect(),
        ),
    }
}

/// What an import changes in the output directory.
pub struct Plan {
    pub importer: String,
    /// Files to write: new or different content.
    pub writes: BTreeMap<PathBuf, String>,
    /// Files this importer's previous run wrote and this one no longer produces (with
    /// --prune, also the strays).
    pub removals: Vec<PathBuf>,
    /// Files with this importer's mark at paths of its layout that its previous run did not
    /// write (an operator's copy, a file from before the manifest): kept unless --prune.
    pub strays: Vec<PathBuf>,
    /// Files in the way that the importer did not write.
    pub conflicts: Vec<PathBuf>,
    /// Paths of the import under `--out` that go through a symbolic link: always refused.
    pub linked: Vec<PathBuf>,
    /// The new list of files this run owns, when it differs from the stored one.
    pub manifest: Option<String>,
    /// app.yaml is (or will be) the one the importer generated: the directories it names
    /// are created.
    pub starter_app: bool,
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
    pub fn new(importer: &str, inv: &Inventory, out: &Path, prune: bool) -> anyhow::Result<Plan> {
        layout::check_importer_name(importer).map_err(anyhow::Error::msg)?;
        let mut files = layout::files(importer, inv);
        // Ids become path components: one with a `/`, `..` or a leading dot would put a
        // file outside the layout, or outside --out.
        if let Some(bad) = files.keys().find(|p| !layout::is_layout_path(importer, p)) {
            bail!(
                "`{importer}` returned an id that is not a plain name (it would be written as {}); nothing was written",
                bad.display()
            );
        }
        let generated: BTreeSet<PathBuf> = files.keys().cloned().collect();
        let mut starter_app = false;
        for (p, text) in layout::starter_files(importer, &inv.source) {
            // app.yaml is the user's once it exists, whoever wrote it; one an import
            // started still gets the directories it names.
            let path = out.join(&p);
            if std::fs::symlink_metadata(&path).is_err() {
                files.insert(p, text);
                starter_app = true;
            } else if !safe::is_link(&path)
                && let Ok(Some(old)) = safe::read_bounded(&path)
            {
                starter_app |= layout::is_starter(&old);
            }
        }
        let before = owned_files(out, importer)?;
        let previous = read_manifest(out, importer)?;
        let mut plan = Plan {
            starter_app,
            importer: importer.to_owned(),
            writes: BTreeMap::new(),
            removals: Vec::new(),
            strays: Vec::new(),
            conflicts: Vec::new(),
            linked: Vec::new(),
            manifest: None,
            unchanged: 0,
            changes: Changes::default(),
        };
        for (rel, text) in files.iter_mut() {
            if let Some(l) = safe::linked_ancestor(out, rel) {
                plan.linked.push(l);
                continue;
            }
            let path = out.join(rel);
            // The importer's own files were read by `owned_files`; only others are read
            // here. A link in the file's place is never followed: it is someone else's.
            let old = match before.get(rel) {
                Some(t) => Some(t.clone()),
                None if safe::is_link(&path) => Some(String::new()),
                None => safe::read_bounded(&path)?,
            };
            let Some(old) = old else {
                plan.writes.insert(rel.clone(), text.clone());
                continue;
            };
            let ours = before.contains_key(rel);
            if ours && layout::keeps_user_lines_at(rel) {
                *text = layout::keep_user_lines(&old, text);
            }
            if old == *text && !safe::is_link(&path) {
                plan.unchanged += 1;
            } else {
                if !ours {
                    plan.conflicts.push(rel.clone());
                }
                plan.writes.insert(rel.clone(), text.clone());
            }
        }
        plan.linked.sort();
        plan.linked.dedup();
        for rel in before.keys().filter(|p| !files.contains_key(*p)) {
            let written_last = previous.as_ref().is_some_and(|m| m.contains(rel));
            if written_last || prune {
                plan.removals.push(rel.clone());
            } else {
                plan.strays.push(rel.clone());
            }
        }
        let manifest = manifest_text(importer, &generated);
        let manifest_rel = layout::manifest_path(importer);
        if safe::read_bounded(&out.join(&manifest_rel))?.as_deref() != Some(manifest.as_str()) {
            plan.manifest = Some(manifest);
        }
        // Strays left alone are not part of the change.
        let affected: BTreeMap<PathBuf, String> = before
            .into_iter()
            .filter(|(p, _)| !plan.strays.contains(p))
            .collect();
        plan.changes = changes(&affected, &files);
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
            "files: {verb} {}, removes {}, {} unchanged",
            self.writes.len(),
            self.removals.len(),
            self.unchanged
        ));
        if !self.strays.is_empty() {
            s.push_str(&format!(", leaves {} (needs --prune)", self.strays.len()));
        }
        s.push('\n');
        if dry_run {
            for p in self.writes.keys() {
                s.push_str(&format!("  write {}\n", p.display()));
            }
            for p in &self.removals {
                s.push_str(&format!("  remove {}\n", p.display()));
            }
            for p in &self.strays {
                s.push_str(&format!(
                    "  leave {} (not written by the previous import: --prune removes it)\n",
                    p.display()
                ));
            }
            for p in &self.conflicts {
                s.push_str(&format!(
                    "  conflict {} (not written by this importer: needs --force)\n",
                    p.display()
                ));
            }
            for p in &self.linked {
                s.push_str(&format!(
                    "  refuse {} (a symbolic link: the import never writes through one)\n",
                    p.display()
                ));
            }
        }
        s
    }

    /// Applies the whole plan as one transaction ([`apply`]): a crash leaves the old tree
    /// or the new one. Creates every directory the generated app.yaml names.
    pub fn apply(&self, out: &Path) -> anyhow::Result<()> {
        let mut writes = self.writes.clone();
        if let Some(m) = &self.manifest {
            writes.insert(layout::manifest_path(&self.importer), m.clone());
        }
        let dirs: Vec<&str> = if self.starter_app {
            layout::STARTER_DIRS.iter().map(|(_, d)| *d).collect()
        } else {
            Vec::new()
        };
        apply::apply(out, &self.importer, &writes, &self.removals, &dirs)
    }
}

/// The manifest: the layout files one run produced, one path per line.
fn manifest_text(importer: &str, files: &BTreeSet<PathBuf>) -> String {
    let mut s = format!(
        "# The files `rackscope import {importer}` wrote in its last run; it removes only these.\n"
    );
    for p in files {
        s.push_str(&p.to_string_lossy());
        s.push('\n');
    }
    s
}

/// The files the previous run wrote; `None` when no list was kept. Lines that are not
/// paths of the layout are ignored: the list can only narrow what may be removed.
fn read_manifest(out: &Path, importer: &str) -> anyhow::Result<Option<BTreeSet<PathBuf>>> {
    let path = out.join(layout::manifest_path(importer));
    if safe::is_link(&path) {
        return Ok(None);
    }
    Ok(safe::read_bounded(&path)?.map(|text| {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(PathBuf::from)
            .filter(|p| layout::is_layout_path(importer, p))
            .collect()
    }))
}

/// The files under `out` that `importer` wrote, with their text: only at paths of its
/// layout, carrying its mark, reached without following a symbolic link.
fn owned_files(out: &Path, importer: &str) -> anyhow::Result<BTreeMap<PathBuf, String>> {
    let mut found = BTreeMap::new();
    for root in ["topology", "templates"] {
        for rel in safe::files_under(out, Path::new(root))? {
            if !layout::is_layout_path(importer, &rel) {
                continue;
            }
            // Unreadable (not UTF-8, too large): not a file the importer wrote.
            if let Ok(Some(text)) = safe::read_bounded(&out.join(&rel))
                && layout::owner(&text) == Some(importer)
            {
                found.insert(rel, text);
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
