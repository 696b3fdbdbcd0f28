//! Named cluster views (`views.yaml` beside app.yaml): racks chosen anywhere in the
//! topology, shown side by side on `/views/cluster/{id}`, kept in Git like every other
//! file. The loader checks the file (`load::views_of`); the server reads it when a view is
//! asked for, so a change made by hand or through the page shows at once.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::topology::{RackIx, Topology};

pub const FILE_NAME: &str = "views.yaml";
/// The most views one file holds, and racks one view shows.
pub const MAX_VIEWS: usize = 200;
pub const MAX_RACKS: usize = 64;
pub const MAX_NAME: usize = 120;

/// A view as the file writes it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterViewDef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Rack ids, or qualified paths where an id is shared.
    pub racks: Vec<String>,
}

/// A view with its racks found in the topology.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    pub def: ClusterViewDef,
    pub racks: Vec<RackIx>,
    /// The keys no rack answers to (or several do): shown on the page, not drawn.
    pub missing: Vec<String>,
}

impl ClusterView {
    pub fn name(&self) -> &str {
        self.def.name.as_deref().unwrap_or(&self.def.id)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Views {
    pub cluster: Vec<ClusterView>,
    pub file: PathBuf,
}

impl Views {
    pub fn get(&self, id: &str) -> Option<&ClusterView> {
        self.cluster.iter().find(|v| v.def.id == id)
    }
}

pub fn file_of(app_file: &Path) -> PathBuf {
    app_file
        .parent()
        .map_or_else(|| PathBuf::from(FILE_NAME), |d| d.join(FILE_NAME))
}

/// A view id: what a URL segment and a file key can carry without escaping.
pub fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Why a view cannot be written as it is.
pub fn check(def: &ClusterViewDef) -> Result<(), String> {
    if !is_id(&def.id) {
        return Err(format!(
            "view id `{}` must be 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit",
            def.id.escape_debug()
        ));
    }
    for (what, v) in [("name", &def.name), ("description", &def.description)] {
        if let Some(v) = v
            && (v.len() > MAX_NAME * 4 || v.chars().any(char::is_control))
        {
            return Err(format!(
                "the {what} must be one line of printable text, at most {} bytes",
                MAX_NAME * 4
            ));
        }
    }
    if def.racks.is_empty() {
        return Err("a view shows at least one rack".into());
    }
    if def.racks.len() > MAX_RACKS {
        return Err(format!(
            "a view shows at most {MAX_RACKS} racks, not {}",
            def.racks.len()
        ));
    }
    Ok(())
}

/// The view `def` with its racks found; the racks no key names, or several do, are kept
/// aside.
pub fn resolve(def: ClusterViewDef, topo: &Topology) -> ClusterView {
    let mut racks = Vec::new();
    let mut missing = Vec::new();
    for key in &def.racks {
        match topo.find_rack(key).one() {
            Some(x) if !racks.contains(&x) => racks.push(x),
            Some(_) => {}
            None => missing.push(key.clone()),
        }
    }
    ClusterView {
        def,
        racks,
        missing,
    }
}

/// The rack keys of a `racks=` query: comma- or space-separated, unique, at most
/// `MAX_RACKS`.
pub fn rack_list(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in q
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        if out.len() >= MAX_RACKS {
            break;
        }
        if k.len() <= 512 && !out.iter().any(|o| o == k) {
            out.push(k.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe() {
        assert!(is_id("gpu-row_1.a"));
        for bad in ["", "-a", "a/b", "a b", "é", &"x".repeat(65)] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_rack_list_is_split_deduplicated_and_bounded() {
        assert_eq!(rack_list(" r1,r2  r1,\nr3,"), ["r1", "r2", "r3"]);
        let many = (0..100)
            .map(|i| format!("r{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(rack_list(&many).len(), MAX_RACKS);
    }

    #[test]
    fn a_view_is_checked_before_it_is_written() {
        let mut v = ClusterViewDef {
            id: "gpu".into(),
            name: Some("GPU racks".into()),
            description: None,
            racks: vec!["r1".into()],
        };
        assert_eq!(check(&v), Ok(()));
        v.racks.clear();
        assert!(check(&v).is_err());
        v.racks = vec!["r".into(); MAX_RACKS + 1];
        assert!(check(&v).is_err());
        v.racks = vec!["r1".into()];
        v.name = Some("two\nlines".into());
        assert!(check(&v).is_err());
    }
}
