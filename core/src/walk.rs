//! Reading the filesystem safely: directory walks that terminate whatever the symlinks, and
//! paths named in a configuration confined to the directories they are relative to.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostics, Span};

/// The identity of a directory, whatever path reaches it: (device, inode) where the
/// platform has them, the canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DirId {
    #[cfg(unix)]
    Inode(u64, u64),
    Path(PathBuf),
}

pub fn dir_id(path: &Path) -> Option<DirId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        match std::fs::metadata(path) {
            Ok(m) => Some(DirId::Inode(m.dev(), m.ino())),
            // A directory an editor's overlay is about to create.
            Err(_) => crate::vfs::is_dir(path)
                .then(|| crate::vfs::canonicalize(path).ok().map(DirId::Path))
                .flatten(),
        }
    }
    #[cfg(not(unix))]
    {
        crate::vfs::canonicalize(path).ok().map(DirId::Path)
    }
}

/// Every `*.yaml`/`*.yml` file under `dir`, sorted, optionally recursive. A directory
/// reached a second time (a symlink to itself or to an ancestor, or two links to one
/// place) is walked once; the repeat is a warning at its path, so a loop can neither hang
/// the walk nor load the same files twice.
pub fn yaml_files(dir: &Path, recursive: bool, diags: &mut Diagnostics) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut seen: HashSet<DirId> = HashSet::new();
    if let Some(id) = dir_id(dir) {
        seen.insert(id);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = crate::vfs::read_dir(&d) else {
            continue;
        };
        for p in rd {
            if crate::vfs::is_dir(&p) {
                if !recursive {
                    continue;
                }
                match dir_id(&p).map(|id| seen.insert(id)) {
                    Some(true) => stack.push(p),
                    Some(false) => repeated_dir(&p, diags),
                    None => {}
                }
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn repeated_dir(p: &Path, diags: &mut Diagnostics) {
    let file: Arc<Path> = Arc::from(p);
    diags.warning(
        "directory-loop",
        Span::file_only(&file),
        "this directory was already walked (a symlink loop or a second link to it); skipped",
    );
}

/// Reads a text file, refusing one past `max` bytes without reading past it: a file named
/// `.yaml` may be a link to `/dev/zero`, and no file of ours needs to be unbounded.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {} MiB", max >> 20),
        ));
    }
    Ok(text)
}

/// Why a path named in the configuration is refused.
#[derive(Debug)]
pub enum Escape {
    /// It does not exist (or cannot be resolved).
    Missing(std::io::Error),
    /// It resolves, through `..` or a symlink, outside every allowed root.
    Outside,
}

/// Resolves `rel` against `base` and requires the result, symlinks followed, to stay inside
/// one of `roots`. Only the resolved path is returned; nothing is read, so a refusal can
/// never show the content of the file it refused.
pub fn confine(base: &Path, rel: &Path, roots: &[&Path]) -> Result<PathBuf, Escape> {
    let real = crate::vfs::canonicalize(&base.join(rel)).map_err(Escape::Missing)?;
    let inside = roots
        .iter()
        .filter_map(|r| crate::vfs::canonicalize(r).ok())
        .any(|r| real.starts_with(r));
    if inside {
        Ok(real)
    } else {
        Err(Escape::Outside)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn self_and_parent_symlinks_are_walked_once_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/t.yaml"), "templates: []\n").unwrap();
        std::os::unix::fs::symlink(".", root.join("a/self")).unwrap();
        std::os::unix::fs::symlink("..", root.join("a/b/up")).unwrap();
        std::os::unix::fs::symlink("a", root.join("again")).unwrap();
        let mut diags = Diagnostics::default();
        let files = yaml_files(root, true, &mut diags);
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(diags.warnings().count(), 3, "{diags:?}");
        assert!(diags.iter().all(|d| d.code == "directory-loop"));
    }

    #[test]
    fn an_endless_file_is_refused_at_the_bound_not_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let link = tmp.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = read_bounded(&link, 1 << 20).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge, "{e}");
        let ok = tmp.path().join("ok.yaml");
        std::fs::write(&ok, "a: 1\n").unwrap();
        assert_eq!(read_bounded(&ok, 5).unwrap(), "a: 1\n");
        assert!(read_bounded(&ok, 4).is_err());
    }

    #[test]
    fn paths_leaving_the_roots_are_refused_through_dots_and_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("conf");
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::write(root.join("scripts/ok.rhai"), "1").unwrap();
        std::fs::write(tmp.path().join("secret"), "s3cret").unwrap();
        std::os::unix::fs::symlink("../../secret", root.join("scripts/link.rhai")).unwrap();
        let ok = confine(&root, Path::new("scripts/ok.rhai"), &[&root]).unwrap();
        assert!(ok.ends_with("conf/scripts/ok.rhai"));
        for bad in ["../secret", "scripts/link.rhai", "scripts/../../secret"] {
            let e = confine(&root, Path::new(bad), &[&root]).unwrap_err();
            assert!(matches!(e, Escape::Outside), "{bad}: {e:?}");
        }
        assert!(matches!(
            confine(&root, Path::new("scripts/absent.rhai"), &[&root]),
            Err(Escape::Missing(_))
        ));
    }
}
