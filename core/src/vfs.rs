//! The loader's view of the filesystem: the disk, or the disk with an editor's overlay of
//! changed, new and removed files, so that an edit is validated before anything is written.
//!
//! Every question the loader asks of the filesystem (does it exist, is it a directory, what
//! is in it, where does it really point, what does it say) goes through this module. With
//! no overlay set each function is the `std::fs` call it replaces. With one set, the answer
//! is the one the disk would give once the edit is written: a new file exists and reads as
//! its text, the directories leading to it exist and list it, a removed file is gone.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// An edit not yet written: files with their new text (changed or new) and files removed.
/// Paths may be given in any form naming the file; they are resolved when set.
#[derive(Debug, Default, Clone)]
pub struct Overlay {
    pub files: HashMap<PathBuf, String>,
    pub deleted: HashSet<PathBuf>,
}

impl Overlay {
    /// An overlay that only changes the text of files.
    pub fn texts(files: HashMap<PathBuf, String>) -> Overlay {
        Overlay {
            files,
            deleted: HashSet::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.deleted.is_empty()
    }
}

/// An overlay with every path resolved as `real` resolves it, and the directories that
/// exist only because a new file lies in them.
struct Resolved {
    files: HashMap<PathBuf, String>,
    deleted: HashSet<PathBuf>,
    new_dirs: HashSet<PathBuf>,
}

thread_local! {
    /// The overlay of the load running on this thread. A thread-local rather than a
    /// parameter: every reader of the loader would otherwise carry it through a dozen
    /// signatures for a feature only the editors use, and a plain load pays one empty
    /// check per question. Other threads never see it (the loader's prefetch stands down
    /// while it is set).
    static OVERLAY: std::cell::RefCell<Option<Arc<Resolved>>> =
        const { std::cell::RefCell::new(None) };
}

/// Sets an overlay for the current thread until dropped, even on unwind.
pub(crate) struct Scope(Option<Arc<Resolved>>);

impl Scope {
    pub(crate) fn set(overlay: &Overlay) -> Scope {
        let mut files = HashMap::with_capacity(overlay.files.len());
        let mut new_dirs = HashSet::new();
        for (path, text) in &overlay.files {
            let Some(real) = real(path) else { continue };
            // Checked against the disk: the overlay is not set yet.
            for dir in real.ancestors().skip(1) {
                if dir.exists() || !new_dirs.insert(dir.to_path_buf()) {
                    break;
                }
            }
            files.insert(real, text.clone());
        }
        let deleted = overlay.deleted.iter().filter_map(|p| real(p)).collect();
        let resolved = Resolved {
            files,
            deleted,
            new_dirs,
        };
        Scope(OVERLAY.with(|o| o.replace(Some(Arc::new(resolved)))))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.0.take();
        OVERLAY.with(|o| *o.borrow_mut() = previous);
    }
}

pub(crate) fn active() -> bool {
    OVERLAY.with(|o| o.borrow().is_some())
}

fn with<T>(f: impl FnOnce(&Resolved) -> T) -> Option<T> {
    OVERLAY.with(|o| o.borrow().as_deref().map(f))
}

/// What the overlay says of a path: `None` when it says nothing and the disk answers.
enum Entry<'a> {
    File(&'a str),
    Dir,
    Gone,
}

fn entry<'a>(o: &'a Resolved, real: &Path) -> Option<Entry<'a>> {
    if o.deleted.contains(real) {
        Some(Entry::Gone)
    } else if let Some(text) = o.files.get(real) {
        Some(Entry::File(text))
    } else if o.new_dirs.contains(real) {
        Some(Entry::Dir)
    } else {
        None
    }
}

/// The path with symlinks resolved as far as it exists on disk, and the rest of it (a new
/// file, in new directories) appended lexically. `None` when not even its root resolves.
fn real(path: &Path) -> Option<PathBuf> {
    if let Ok(c) = std::fs::canonicalize(path) {
        return Some(c);
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut base = absolute.as_path();
    let mut rest: Vec<Component> = Vec::new();
    let resolved = loop {
        if let Ok(c) = std::fs::canonicalize(base) {
            break c;
        }
        rest.extend(base.components().next_back());
        base = base.parent()?;
    };
    let mut out = resolved;
    for c in rest.into_iter().rev() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    Some(out)
}

/// Runs `f` against the overlay's entry for `path`, or returns `None` when no overlay is
/// set or it says nothing of the path.
fn overlaid<T>(path: &Path, f: impl FnOnce(Entry<'_>, PathBuf) -> T) -> Option<T> {
    with(|o| {
        let r = real(path)?;
        let e = entry(o, &r)?;
        Some(f(e, r))
    })
    .flatten()
}

pub fn exists(path: &Path) -> bool {
    overlaid(path, |e, _| !matches!(e, Entry::Gone)).unwrap_or_else(|| path.exists())
}

pub fn is_file(path: &Path) -> bool {
    overlaid(path, |e, _| matches!(e, Entry::File(_))).unwrap_or_else(|| path.is_file())
}

pub fn is_dir(path: &Path) -> bool {
    overlaid(path, |e, _| matches!(e, Entry::Dir)).unwrap_or_else(|| path.is_dir())
}

pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    match overlaid(path, |e, r| match e {
        Entry::Gone => Err(io::Error::from(io::ErrorKind::NotFound)),
        Entry::File(_) | Entry::Dir => Ok(r),
    }) {
        Some(answer) => answer,
        None => std::fs::canonicalize(path),
    }
}

/// The entries of a directory as `dir.join(name)`, unsorted as `read_dir` is; with an
/// overlay, removed files left out and new files and directories added.
pub fn read_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let on_disk = || -> io::Result<Vec<PathBuf>> {
        Ok(std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .collect())
    };
    let Some(real_dir) = with(|_| real(dir)).flatten() else {
        return on_disk();
    };
    with(|o| {
        let mut out: Vec<PathBuf> = match on_disk() {
            Ok(v) => v,
            Err(_) if o.new_dirs.contains(&real_dir) => Vec::new(),
            Err(e) => return Err(e),
        };
        out.retain(|p| {
            let named = real_dir.join(p.file_name().unwrap_or_default());
            !(o.deleted.contains(&named)
                || std::fs::canonicalize(p).is_ok_and(|c| o.deleted.contains(&c)))
        });
        let mut names: HashSet<std::ffi::OsString> = out
            .iter()
            .filter_map(|p| p.file_name())
            .map(Into::into)
            .collect();
        let added = o.files.keys().chain(o.new_dirs.iter());
        for p in added.filter(|p| p.parent() == Some(real_dir.as_path())) {
            if let Some(name) = p.file_name()
                && names.insert(name.into())
            {
                out.push(dir.join(name));
            }
        }
        Ok(out)
    })
    .unwrap_or_else(on_disk)
}

/// The overlay's text for `path` when it has one; `Err(NotFound)` when the overlay removed
/// it; `None` when the disk is to be read.
pub(crate) fn text(path: &Path) -> Option<io::Result<String>> {
    overlaid(path, |e, _| match e {
        Entry::File(t) => Some(Ok(t.to_owned())),
        Entry::Gone => Some(Err(io::Error::from(io::ErrorKind::NotFound))),
        Entry::Dir => None,
    })
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_overlay_the_disk_answers() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.yaml"), "a: 1\n").unwrap();
        assert!(exists(&tmp.path().join("a.yaml")));
        assert!(is_file(&tmp.path().join("a.yaml")));
        assert!(!exists(&tmp.path().join("b.yaml")));
        assert_eq!(read_dir(tmp.path()).unwrap().len(), 1);
        assert!(text(&tmp.path().join("a.yaml")).is_none());
    }

    #[test]
    fn an_overlay_adds_files_in_new_directories_and_removes_others() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(root.join("old.yaml"), "old: 1\n").unwrap();
        std::fs::write(root.join("kept.yaml"), "kept: 1\n").unwrap();
        let new = root.join("rooms/r1/aisles/a1/rack.yaml");
        let overlay = Overlay {
            files: HashMap::from([(new.clone(), "id: x\n".to_owned())]),
            deleted: HashSet::from([root.join("old.yaml")]),
        };
        {
            let _scope = Scope::set(&overlay);
            assert!(exists(&new) && is_file(&new) && !is_dir(&new));
            assert!(is_dir(&root.join("rooms/r1")) && !is_file(&root.join("rooms/r1")));
            assert!(!exists(&root.join("old.yaml")));
            assert!(canonicalize(&root.join("old.yaml")).is_err());
            assert_eq!(
                canonicalize(&root.join("rooms/r1/../r1/aisles")).unwrap(),
                std::fs::canonicalize(root).unwrap().join("rooms/r1/aisles")
            );
            let mut top: Vec<String> = read_dir(root)
                .unwrap()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            top.sort();
            assert_eq!(top, ["kept.yaml", "rooms"]);
            assert_eq!(
                read_dir(&root.join("rooms/r1/aisles/a1")).unwrap(),
                vec![new.clone()]
            );
            assert_eq!(text(&new).unwrap().unwrap(), "id: x\n");
            assert!(text(&root.join("old.yaml")).unwrap().is_err());
            assert!(text(&root.join("kept.yaml")).is_none());
        }
        // The scope's end ends the overlay.
        assert!(!exists(&new));
        assert!(exists(&root.join("old.yaml")));
    }
}
