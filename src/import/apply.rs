//! Applies an import as one transaction, so a crash leaves the old tree or the new one.
//!
//! 1. *Stage*: every new file is written and fsynced beside its target under a hidden name
//!    (`.NAME.rackscope-staged`, which the loader never reads), and its directory synced.
//! 2. *Commit*: a journal listing the renames and removals is written, fsynced and renamed
//!    into place (`.rackscope-import.journal`); its directory is synced. This one rename is
//!    the switch from the old tree to the new.
//! 3. *Finish*: the renames and removals are carried out, their directories synced, and
//!    the journal removed.
//!
//! A crash before 2 leaves the old tree and stray staged files, swept by the next import. A
//! crash after 2 leaves a journal, which [`recover`] rolls forward: the next import does it
//! first, and so does every command that loads the configuration (`load_config`). Every
//! step of the roll-forward is idempotent.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use super::{layout, safe};

/// The journal of a committed, unfinished import, relative to `--out`.
pub const JOURNAL: &str = ".rackscope-import.journal";
const STAGED: &str = ".rackscope-staged";

/// What a committed import still has to do. Paths are relative to `--out` and checked when
/// read back, since the file could have been edited: only the layout's paths, the starter
/// files and the importer's manifest may be touched.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Journal {
    pub importer: String,
    /// (staged file, target), in order.
    pub renames: Vec<(PathBuf, PathBuf)>,
    pub removals: Vec<PathBuf>,
}

/// The staged file of `target`: hidden, in the same directory, so the rename is atomic.
fn staged_of(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{STAGED}"))
}

/// Paths a journal may name as a target: what [`super::Plan`] can write or remove.
fn allowed_target(importer: &str, rel: &Path) -> bool {
    layout::is_layout_path(importer, rel)
        || rel == Path::new("app.yaml")
        || rel == layout::manifest_path(importer)
}

/// Stage 1: writes every file of `writes` under its staged name and creates `dirs`.
pub fn stage(
    out: &Path,
    importer: &str,
    writes: &BTreeMap<PathBuf, String>,
    removals: &[PathBuf],
    dirs: &[&str],
) -> anyhow::Result<Journal> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut synced = BTreeSet::new();
    let mut renames = Vec::with_capacity(writes.len());
    for (rel, text) in writes {
        let staged = staged_of(rel);
        let path = out.join(&staged);
        let dir = path.parent().unwrap_or(out).to_path_buf();
        create_dirs(out, &dir)?;
        // A stray staged file of a crashed run is replaced; `create_new` refuses to write
        // through anything (a link) that appeared in its place since.
        let _ = std::fs::remove_file(&path);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()));
        written.with_context(|| format!("cannot write {}", path.display()))?;
        synced.insert(dir);
        renames.push((staged, rel.clone()));
    }
    for d in dirs {
        create_dirs(out, &out.join(d))?;
    }
    for dir in &synced {
        safe::sync_dir(dir)?;
    }
    Ok(Journal {
        importer: importer.to_owned(),
        renames,
        removals: removals.to_vec(),
    })
}

/// Creates `dir` and the missing directories above it, syncing each parent so that a new
/// directory survives a crash with the files staged in it.
fn create_dirs(out: &Path, dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent()
        && parent != out
        && parent.starts_with(out)
    {
        create_dirs(out, parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => bail!("cannot create {}: {e}", dir.display()),
    }
    safe::sync_dir(dir.parent().unwrap_or(out))
}

/// Stage 2: writes the journal through a rename and syncs `out`. After this returns, the
/// import happens even if the process dies.
pub fn commit(out: &Path, journal: &Journal) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(journal)?;
    let tmp = out.join(format!("{JOURNAL}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, out.join(JOURNAL)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        bail!("cannot write {}: {e}", out.join(JOURNAL).display());
    }
    safe::sync_dir(out)
}

/// Stage 3: renames and removals, then the journal goes. Safe to run again after a crash
/// at any point: a rename already done has no staged file left, a removal already done
/// finds nothing.
pub fn finish(out: &Path, journal: &Journal) -> anyhow::Result<()> {
    let mut touched = BTreeSet::new();
    for (staged, target) in &journal.renames {
        let (from, to) = (out.join(staged), out.join(target));
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && to.exists() => {}
            Err(e) => bail!("cannot rename {} to {}: {e}", from.display(), to.display()),
        }
        touched.insert(to.parent().unwrap_or(out).to_path_buf());
    }
    for rel in &journal.removals {
        let p = out.join(rel);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => bail!("cannot remove {}: {e}", p.display()),
        }
        touched.insert(p.parent().unwrap_or(out).to_path_buf());
    }
    for dir in &touched {
        safe::sync_dir(dir)?;
    }
    match std::fs::remove_file(out.join(JOURNAL)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("cannot remove {}: {e}", out.join(JOURNAL).display()),
    }
    safe::sync_dir(out)
}

/// All three stages.
pub fn apply(
    out: &Path,
    importer: &str,
    writes: &BTreeMap<PathBuf, String>,
    removals: &[PathBuf],
    dirs: &[&str],
) -> anyhow::Result<()> {
    let journal = stage(out, importer, writes, removals, dirs)?;
    commit(out, &journal)?;
    finish(out, &journal)
}

/// Rolls a committed, unfinished import forward. `Ok(true)` when there was one.
pub fn recover(out: &Path) -> anyhow::Result<bool> {
    let path = out.join(JOURNAL);
    let Some(text) = safe::read_bounded(&path)? else {
        return Ok(false);
    };
    let journal: Journal = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a journal of rackscope import", path.display()))?;
    check(out, &journal).with_context(|| format!("{} refused", path.display()))?;
    finish(out, &journal)?;
    Ok(true)
}

/// A journal read back names only what an import may touch, through no link: renames
/// into the layout, app.yaml or the manifest; removals of layout files only.
fn check(out: &Path, j: &Journal) -> anyhow::Result<()> {
    layout::check_importer_name(&j.importer).map_err(anyhow::Error::msg)?;
    let renamed = j
        .renames
        .iter()
        .map(|(_, t)| (t, allowed_target(&j.importer, t)));
    let removed = j
        .removals
        .iter()
        .map(|t| (t, layout::is_layout_path(&j.importer, t)));
    for (t, allowed) in renamed.chain(removed) {
        if !safe::is_plain(t) || !allowed {
            bail!("{} is not a path an import may touch", t.display());
        }
        if let Some(l) = safe::linked_ancestor(out, t) {
            bail!("{} passes through the link {}", t.display(), l.display());
        }
    }
    for (staged, target) in &j.renames {
        if *staged != staged_of(target) {
            bail!(
                "{} is not the staged file of {}",
                staged.display(),
                target.display()
            );
        }
    }
    Ok(())
}

/// Removes staged files an import left when it died before its commit, under the
/// directories imports write to.
pub fn sweep(out: &Path) -> anyhow::Result<usize> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| PathBuf::from(e.file_name()))
        .collect();
    for root in ["topology", "templates"] {
        candidates.extend(safe::files_under(out, Path::new(root))?);
    }
    let mut n = 0;
    for rel in candidates {
        let stray = rel
            .file_name()
            .map(|n| n.to_string_lossy())
            .is_some_and(|n| n.starts_with('.') && n.ends_with(STAGED));
        if stray {
            let p = out.join(&rel);
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rackscope_importer_abi::Inventory;

    /// The files of an import of one rack holding `devices`, as the plan would write them.
    fn tree(devices: &[&str]) -> BTreeMap<PathBuf, String> {
        let devs: Vec<_> = devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                serde_json::json!({"id": d, "name": d, "template_id": "srv",
                                   "u_position": i + 1, "instances": [d]})
            })
            .collect();
        let inv: Inventory = serde_json::from_value(serde_json::json!({
            "source": "test",
            "sites": [{"id": "s", "name": "S", "rooms": [{"id": "r", "name": "R", "aisles": [
                {"id": "a", "name": "A", "racks": [{"id": "k1", "name": "K1", "u_height": 42,
                 "devices": devs}]}]}]}],
            "templates": [{"id": "srv", "name": "Server", "type": "server", "u_height": 1}]
        }))
        .unwrap();
        let mut files = layout::files("t", &inv);
        files.extend(layout::starter_files("t", "test"));
        files
    }

    fn devices(out: &Path) -> Vec<String> {
        let loaded = rackscope_core::load(&out.join("app.yaml"));
        let errors: Vec<_> = loaded.diagnostics.errors().map(|d| d.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        loaded
            .config
            .topology
            .devices
            .iter()
            .map(|d| d.id.clone())
            .collect()
    }

    fn dirs() -> Vec<&'static str> {
        layout::STARTER_DIRS.iter().map(|(_, d)| *d).collect()
    }

    const RACK: &str = "topology/datacenters/s/rooms/r/aisles/a/racks/k1.yaml";

    #[test]
    fn a_crash_before_the_commit_leaves_the_old_tree_and_the_next_import_sweeps() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        apply(out, "t", &tree(&["n1", "n2"]), &[], &dirs()).unwrap();
        assert_eq!(devices(out), ["n1", "n2"]);
        // Staged, then the process "dies": no commit, no finish.
        let journal = stage(out, "t", &tree(&["n3"]), &[], &dirs()).unwrap();
        assert!(out.join(staged_of(Path::new(RACK))).is_file());
        assert_eq!(devices(out), ["n1", "n2"], "the old tree no longer loads");
        assert!(!recover(out).unwrap(), "nothing was committed");
        assert_eq!(sweep(out).unwrap(), journal.renames.len());
        assert!(!out.join(staged_of(Path::new(RACK))).exists());
        assert_eq!(devices(out), ["n1", "n2"]);
    }

    #[test]
    fn a_crash_after_the_commit_is_rolled_forward_to_the_new_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        apply(out, "t", &tree(&["n1", "n2"]), &[], &dirs()).unwrap();
        let journal = stage(out, "t", &tree(&["n3"]), &[], &dirs()).unwrap();
        commit(out, &journal).unwrap();
        // Part of the renames done, then the crash.
        let (staged, target) = &journal.renames[0];
        std::fs::rename(out.join(staged), out.join(target)).unwrap();
        assert!(recover(out).unwrap());
        assert!(!out.join(JOURNAL).exists());
        assert_eq!(devices(out), ["n3"]);
        // Rolling forward twice is harmless.
        assert!(!recover(out).unwrap());
        assert_eq!(sweep(out).unwrap(), 0);
    }

    #[test]
    fn an_edited_journal_cannot_touch_files_outside_the_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let victim = tmp.path().join("victim.yaml");
        std::fs::write(&victim, "mine").unwrap();
        std::fs::write(out.join("app.yaml"), "app: {}\n").unwrap();
        for removals in [
            vec![PathBuf::from("../victim.yaml")],
            vec![PathBuf::from("notes/victim.yaml")],
            vec![PathBuf::from("app.yaml")],
        ] {
            let j = Journal {
                importer: "t".into(),
                renames: Vec::new(),
                removals,
            };
            std::fs::write(out.join(JOURNAL), serde_json::to_string(&j).unwrap()).unwrap();
            let err = recover(&out).unwrap_err();
            assert!(
                format!("{err:#}").contains("not a path an import may touch"),
                "{err:#}"
            );
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert!(out.join("app.yaml").exists());
    }
}
