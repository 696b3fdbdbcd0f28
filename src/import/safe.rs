//! The filesystem side of `rackscope import` that must never leave `--out`: walks that do
//! not follow symbolic links and are bounded in depth and size, the refusal of paths that
//! pass through a link, and the symlink-preserving copy used for the trial import.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};

/// Deeper than any path the layout produces (`topology/datacenters/S/rooms/R/aisles/A/
/// racks/X.yaml` has 9 components); a configuration deeper than this is not walked further.
pub const MAX_DEPTH: usize = 32;
/// Directory entries one walk visits before it stops with an error: far above any real
/// configuration, low enough that a pathological tree cannot exhaust memory.
pub const MAX_ENTRIES: usize = 1_000_000;
/// The largest file read as one the importer may have written (and the largest journal or
/// manifest): generated files are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Whether `rel` is a plain relative path: only normal components, so that joining it to
/// `--out` cannot leave it.
pub fn is_plain(rel: &Path) -> bool {
    rel.components().count() > 0 && rel.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The first directory between `out` and `rel` (exclusive of `out`, inclusive of `rel`'s
/// parent) that is a symbolic link: writing or removing through it would act outside
/// `--out`. `out` itself may be a link; the user named it.
pub fn linked_ancestor(out: &Path, rel: &Path) -> Option<PathBuf> {
    let mut cur = out.to_path_buf();
    for c in rel.parent()?.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => return Some(cur),
            Ok(_) => {}
            // Missing: it will be created as a real directory.
            Err(_) => return None,
        }
    }
    None
}

/// Whether `path` itself is a symbolic link (not followed).
pub fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Reads a file of at most [`MAX_FILE_BYTES`] as text; `None` when it is missing.
pub fn read_bounded(path: &Path) -> anyhow::Result<Option<String>> {
    match rackscope_core::walk::read_bounded(path, MAX_FILE_BYTES) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => bail!(
            "{} is {e}; it is not a file rackscope import wrote",
            path.display()
        ),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    }
}

/// The regular files under `out/root` (paths relative to `out`), without following any
/// symbolic link: a linked directory or file is not part of the tree.
pub fn files_under(out: &Path, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let start = out.join(root);
    if is_link(&start) || !start.is_dir() {
        return Ok(found);
    }
    let mut stack = vec![(start, 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                bail!(
                    "{} holds more than {MAX_ENTRIES} entries; not walked",
                    out.join(root).display()
                );
            }
            // `DirEntry::file_type` does not follow links: a link is neither file nor dir.
            let Ok(kind) = e.file_type() else { continue };
            let p = e.path();
            if kind.is_dir() && depth < MAX_DEPTH {
                stack.push((p, depth + 1));
            } else if kind.is_file()
                && let Ok(rel) = p.strip_prefix(out)
            {
                found.push(rel.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Copies the configuration files (`.yaml`, `.yml`, `.rhai`) of `from` into `to`, for the
/// trial import. Links are recreated, not followed: one pointing inside `from` points at
/// the same place inside `to`, one pointing elsewhere at its resolved target, so the loader
/// sees in the copy what it would see in the original, and a link loop is never walked here.
pub fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let Ok(root) = std::fs::canonicalize(from) else {
        return Ok(());
    };
    let mut stack = vec![(root.clone(), to.to_path_buf(), 0usize)];
    let mut seen = 0usize;
    while let Some((src_dir, dst_dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&src_dir) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                bail!("{} holds more than {MAX_ENTRIES} entries", from.display());
            }
            let name = e.file_name();
            if name.to_string_lossy().starts_with(".rackscope") {
                continue;
            }
            let (src, dst) = (e.path(), dst_dir.join(&name));
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_symlink() {
                relink(&root, to, &src, &dst)?;
            } else if kind.is_dir() {
                if depth >= MAX_DEPTH {
                    continue;
                }
                std::fs::create_dir_all(&dst)
                    .with_context(|| format!("cannot create {}", dst.display()))?;
                stack.push((src, dst, depth + 1));
            } else if is_config_file(&src) {
                std::fs::copy(&src, &dst)
                    .with_context(|| format!("cannot copy {}", src.display()))?;
            }
        }
    }
    Ok(())
}

fn is_config_file(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x == "yaml" || x == "yml" || x == "rhai")
}

#[cfg(unix)]
fn relink(root: &Path, to: &Path, src: &Path, dst: &Path) -> anyhow::Result<()> {
    let target = match std::fs::canonicalize(src) {
        Ok(t) => match t.strip_prefix(root) {
            Ok(inside) => to.join(inside),
            Err(_) => t,
        },
        // Dangling (or a loop): keep it as it is, the loader reports it the same way.
        Err(_) => {
            std::fs::read_link(src).with_context(|| format!("cannot read {}", src.display()))?
        }
    };
    std::os::unix::fs::symlink(&target, dst)
        .with_context(|| format!("cannot create the link {}", dst.display()))
}

#[cfg(not(unix))]
fn relink(_root: &Path, _to: &Path, _src: &Path, _dst: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Makes a directory's entries (new names, renames, removals) durable.
pub fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync the directory {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn walks_do_not_follow_links_out_of_the_tree_nor_loop() {
        let tmp = tempfile::tempdir().unwrap();
        let (out, elsewhere) = (tmp.path().join("out"), tmp.path().join("elsewhere"));
        std::fs::create_dir_all(out.join("topology/a")).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(out.join("topology/a/x.yaml"), "x").unwrap();
        std::fs::write(elsewhere.join("y.yaml"), "y").unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("topology/away")).unwrap();
        // Two self-links: following them would walk 2^40 paths.
        std::os::unix::fs::symlink(".", out.join("topology/a/l1")).unwrap();
        std::os::unix::fs::symlink(".", out.join("topology/a/l2")).unwrap();
        let found = files_under(&out, Path::new("topology")).unwrap();
        assert_eq!(found, [PathBuf::from("topology/a/x.yaml")]);

        let copy = tmp.path().join("copy");
        copy_tree(&out, &copy).unwrap();
        assert_eq!(
            std::fs::read_link(copy.join("topology/a/l1")).unwrap(),
            copy.join("topology/a")
        );
        assert_eq!(
            std::fs::read_link(copy.join("topology/away")).unwrap(),
            std::fs::canonicalize(&elsewhere).unwrap()
        );
        assert_eq!(
            linked_ancestor(&out, Path::new("topology/away/y.yaml")),
            Some(out.join("topology/away"))
        );
        assert_eq!(
            linked_ancestor(&out, Path::new("topology/a/new/z.yaml")),
            None
        );
        assert!(!is_plain(Path::new("topology/../../etc/passwd")));
        assert!(!is_plain(Path::new("/etc/passwd")));
        assert!(is_plain(Path::new("topology/sites.yaml")));
    }
}
