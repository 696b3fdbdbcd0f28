//! Applying a topology form's changes (`topology_edit::plan`) to several files as one save:
//! under the lock of every touched file, each file must still be the text the plan started
//! from; the whole configuration must load with every change; then the files are written,
//! the removed ones deleted, the edit audited and, with `editors.git_commit`, committed.

use std::fs::File;
use std::path::{Path, PathBuf};

use rackscope_core::Config;
use rackscope_core::edit::{holding_dir, lock_dir, write_atomic};
use rackscope_core::vfs::Overlay;

use super::{EditingError, MAX_DIFF_LINES, diff, git_commit_files, read_text, validate_overlay};
use crate::topology_edit::Change;

/// Writes `changes` when every touched file is still their `before` (a new file must not
/// exist yet) and the configuration loads with all of them applied; nothing is written
/// otherwise. `who` is audited and, with `editors.git_commit`, the commit's author.
/// Returns the touched paths, in the plan's order.
pub fn apply(config: &Config, changes: &[Change], who: &str) -> Result<Vec<PathBuf>, EditingError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    // Locks taken in order, so that two edits touching the same directories cannot each
    // hold one and wait for the other.
    let mut dirs: Vec<PathBuf> = changes.iter().map(|c| holding_dir(&c.path)).collect();
    dirs.sort();
    dirs.dedup();
    let _locks: Vec<File> = dirs
        .iter()
        .map(|d| lock_dir(d).map_err(|e| io(d, e)))
        .collect::<Result<_, _>>()?;
    for c in changes {
        check_before(c)?;
    }
    // Validated entirely in memory, new and removed files included (`core::vfs`): nothing
    // touches the disk, where the watcher would see it, until the whole edit loads.
    let overlay = Overlay {
        files: changes
            .iter()
            .filter(|c| !c.delete)
            .map(|c| (c.path.clone(), c.after.clone()))
            .collect(),
        deleted: changes
            .iter()
            .filter(|c| c.delete)
            .map(|c| c.path.clone())
            .collect(),
    };
    validate_overlay(config, &overlay)?;
    for c in changes.iter().filter(|c| !c.delete) {
        if let Some(dir) = c.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        write_atomic(&c.path, &c.after, false).map_err(|e| io(&c.path, e))?;
    }
    for c in changes.iter().filter(|c| c.delete) {
        match std::fs::remove_file(&c.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&c.path, e)),
        }
    }
    let touched: Vec<PathBuf> = changes.iter().map(|c| c.path.clone()).collect();
    for c in changes {
        tracing::info!(
            target: "rackscope::audit",
            event = "topology_edit",
            user = %who.escape_debug(),
            file = %c.path.display(),
            action = if c.delete { "delete" } else if c.before.is_empty() { "create" } else { "change" },
            "topology file edited"
        );
    }
    if config.app.editors.git_commit {
        git_commit_files(&touched, "topology", who);
    }
    Ok(touched)
}

fn io(p: &Path, e: std::io::Error) -> EditingError {
    EditingError::Io(format!("{}: {e}", p.display()))
}

/// Locks the directory holding `path` (`core::edit::lock_dir_of`).
pub(super) fn lock(path: &Path) -> Result<File, EditingError> {
    rackscope_core::edit::lock_dir_of(path).map_err(|e| io(path, e))
}

/// Whether the file on disk is still what the plan read.
fn check_before(c: &Change) -> Result<(), EditingError> {
    let exists = c.path.exists();
    let current = if exists {
        read_text(&c.path)?
    } else {
        String::new()
    };
    let new_file = c.before.is_empty() && !c.delete;
    let same = if new_file {
        !exists
    } else {
        exists && current == c.before
    };
    if same {
        return Ok(());
    }
    let wanted = if c.delete { "" } else { c.after.as_str() };
    Err(EditingError::Conflict {
        current_etag: super::etag(&current),
        diff: format!(
            "{}\n{}",
            c.path.display(),
            diff::unified(&current, wanted, MAX_DIFF_LINES)
        ),
    })
}
