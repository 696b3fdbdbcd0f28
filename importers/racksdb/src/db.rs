//! Reads a RacksDB database as its users write it: one YAML file, or a directory tree that
//! RacksDB merges into one document, with ranges still folded and positions not computed.

use std::path::Path;

use serde_json::{Map, Value};

use crate::nodeset;
use crate::source::{
    Category, Datacenter, EqSet, RackSrc, RoomSrc, RowSrc, Source, eq_type, integer, keyed_list,
    location, short, string_list, text, units,
};

/// Deeper trees are refused: a symbolic link loop must end in an error, not a stack overflow.
const MAX_DEPTH: usize = 16;
/// Entries (files and directories) one database may have: a real one has hundreds.
const MAX_ENTRIES: usize = 100_000;
/// Bytes of one database file.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What a walk has seen: each directory is read once (by device and inode), so links that
/// point back up the tree, or at one directory from many places, cannot multiply the work.
#[derive(Default)]
struct Walk {
    seen: std::collections::HashSet<(u64, u64)>,
    entries: usize,
}

/// Parses YAML text into a JSON value. An empty document is null.
pub(crate) fn parse_yaml(text: &str, what: &str) -> Result<Value, String> {
    if text
        .lines()
        .all(|l| matches!(l.trim(), "" | "---") || l.trim_start().starts_with('#'))
    {
        return Ok(Value::Null);
    }
    let mut opts = serde_saphyr::options::Options::default();
    // YAML 1.2 booleans: a rack called `no` or `on` stays a string.
    opts.strict_booleans = true;
    opts.with_snippet = false;
    serde_saphyr::from_str_with_options::<Value>(text, opts)
        .map_err(|e| format!("{what} is not valid YAML: {e}"))
}

/// Loads a database path the way RacksDB does: a `.yml` file is the document; a directory
/// is a mapping from each entry's stem to its content, except a directory named `*.l`,
/// which is a list of its entries' contents. Entries are read in name order so the result
/// does not depend on the file system.
pub(crate) fn load_tree(path: &Path, warnings: &mut Vec<String>) -> Result<Value, String> {
    load_entry(path, 0, &mut Walk::default(), warnings)
}

fn load_entry(
    path: &Path,
    depth: usize,
    walk: &mut Walk,
    warnings: &mut Vec<String>,
) -> Result<Value, String> {
    walk.entries += 1;
    if walk.entries > MAX_ENTRIES {
        return Err(format!(
            "the database has more than {MAX_ENTRIES} files and directories"
        ));
    }
    if depth > MAX_DEPTH {
        return Err(format!(
            "{} is more than {MAX_DEPTH} directories deep (a symbolic link loop?)",
            path.display()
        ));
    }
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_file() {
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!(
                "{} is {} bytes; a database file may have at most {MAX_FILE_BYTES}",
                path.display(),
                meta.len()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return parse_yaml(&text, &path.display().to_string());
    }
    {
        use std::os::unix::fs::MetadataExt as _;
        if !walk.seen.insert((meta.dev(), meta.ino())) {
            return Err(format!(
                "{} is reached twice (a symbolic link back into the database)",
                path.display()
            ));
        }
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot list {}: {e}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    let is_list = path.extension().is_some_and(|e| e == "l");
    let mut list = Vec::new();
    let mut map = Map::new();
    for entry in entries {
        let Some(file_name) = entry.file_name().and_then(|n| n.to_str()) else {
            warnings.push(format!(
                "{}: skipped, its name is not UTF-8",
                entry.display()
            ));
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let is_dir = std::fs::metadata(&entry)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if !is_dir && entry.extension().is_none_or(|e| e != "yml") {
            warnings.push(format!(
                "{}: skipped, RacksDB only reads files named *.yml",
                entry.display()
            ));
            continue;
        }
        let value = load_entry(&entry, depth + 1, walk, warnings)?;
        if is_list {
            list.push(value);
            continue;
        }
        let key = entry
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file_name)
            .to_owned();
        if map.contains_key(&key) {
            warnings.push(format!(
                "{}: skipped, `{key}` is already defined by another entry of {}",
                entry.display(),
                path.display()
            ));
            continue;
        }
        map.insert(key, value);
    }
    Ok(if is_list {
        Value::Array(list)
    } else {
        Value::Object(map)
    })
}

/// A property that may be written `name` or, for expandable properties, `name[]`.
fn prop<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| m.get(&format!("{key}[]")))
}

/// Rack type id -> (units, initial).
type RackTypes = std::collections::BTreeMap<String, (u32, i64)>;

/// Turns a merged database document into the source model: types first, then the
/// datacenters (whose racks need the rack types), then the infrastructures' equipment.
pub(crate) fn read(root: &Value) -> Result<Source, String> {
    let root = match root {
        Value::Object(m) => m,
        Value::Null => return Err("the RacksDB database is empty".into()),
        other => {
            return Err(format!(
                "the RacksDB database is not a mapping of types, datacenters and infrastructures: {}",
                short(other)
            ));
        }
    };
    let mut src = Source::default();
    let types = match root.get("types") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(format!("`types` is not a mapping: {}", short(other))),
    };
    let rack_types = read_rack_types(&types, &mut src.warnings)?;
    read_equipment_types(&types, &mut src)?;
    for dc in keyed_list(root.get("datacenters"), "name", "datacenters")? {
        let datacenter = read_datacenter(&dc, &rack_types, &mut src)?;
        src.datacenters.push(datacenter);
    }
    for infra in keyed_list(root.get("infrastructures"), "name", "infrastructures")? {
        read_infrastructure(&infra, &mut src)?;
    }
    Ok(src)
}

fn read_rack_types(
    types: &Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<RackTypes, String> {
    let mut rack_types = RackTypes::new();
    for rt in keyed_list(types.get("racks"), "id", "types.racks")? {
        let Some(id) = text(rt.get("id")) else {
            warnings.push("types.racks: a rack type without an id is ignored".into());
            continue;
        };
        let slots = match units(rt.get("slots")) {
            Some(s) if s >= 1.0 && s.fract() == 0.0 => s.min(f64::from(u16::MAX)) as u32,
            _ => {
                warnings.push(format!(
                    "rack type `{id}`: no valid `slots` (such as 42u); 42U assumed"
                ));
                42
            }
        };
        let initial = integer(rt.get("initial")).unwrap_or(1);
        rack_types.insert(id, (slots, initial));
    }
    Ok(rack_types)
}

fn read_equipment_types(types: &Map<String, Value>, src: &mut Source) -> Result<(), String> {
    for cat in Category::ALL {
        for t in keyed_list(types.get(cat.key()), "id", &format!("types.{}", cat.key()))? {
            let Some(id) = text(t.get("id")) else {
                src.warnings.push(format!(
                    "types.{}: a type without an id is ignored",
                    cat.key()
                ));
                continue;
            };
            let ty = eq_type(cat, &id, &t, &mut src.warnings);
            src.types.insert((cat, id), ty);
        }
    }
    Ok(())
}

fn read_datacenter(
    dc: &Map<String, Value>,
    rack_types: &RackTypes,
    src: &mut Source,
) -> Result<Datacenter, String> {
    let name = text(dc.get("name")).unwrap_or_else(|| "unnamed".into());
    let location = location(dc.get("location"));
    let mut rooms = Vec::new();
    for room in keyed_list(
        dc.get("rooms"),
        "name",
        &format!("datacenter `{name}` rooms"),
    )? {
        let room_name = text(room.get("name")).unwrap_or_else(|| "unnamed".into());
        let mut rows = Vec::new();
        for row in keyed_list(
            room.get("rows"),
            "name",
            &format!("room `{room_name}` rows"),
        )? {
            let row_name = text(row.get("name")).unwrap_or_else(|| "unnamed".into());
            let mut racks = Vec::new();
            for set in keyed_list(row.get("racks"), "name", &format!("row `{row_name}` racks"))? {
                read_rack_set(
                    &set,
                    &row_name,
                    rack_types,
                    &mut racks,
                    &mut src.warnings,
                    &mut src.names_left,
                )?;
            }
            rows.push(RowSrc {
                name: row_name,
                racks,
            });
        }
        rooms.push(RoomSrc {
            name: room_name,
            rows,
        });
    }
    Ok(Datacenter {
        name,
        location,
        rooms,
    })
}

/// The equipment sets of an infrastructure's layout, rack part by rack part.
fn read_infrastructure(infra: &Map<String, Value>, src: &mut Source) -> Result<(), String> {
    let infra_name = text(infra.get("name")).unwrap_or_else(|| "unnamed".into());
    let what = format!("infrastructure `{infra_name}` layout");
    for part in keyed_list(infra.get("layout"), "rack", &what)? {
        let Some(rack) = text(part.get("rack")) else {
            src.warnings
                .push(format!("{what}: a part without `rack` is ignored"));
            continue;
        };
        let part_tags = string_list(part.get("tags"));
        for cat in Category::ALL {
            let list_what = format!("infrastructure `{infra_name}` rack `{rack}` {}", cat.key());
            for eq in keyed_list(part.get(cat.key()), "name", &list_what)? {
                let part = Part {
                    infrastructure: &infra_name,
                    rack: &rack,
                    tags: &part_tags,
                    category: cat,
                    what: &list_what,
                };
                if let Some(set) = part.equipment_set(&eq, src)? {
                    src.sets.push(set);
                }
            }
        }
    }
    Ok(())
}

/// One category of equipment in one rack of an infrastructure's layout.
struct Part<'a> {
    infrastructure: &'a str,
    rack: &'a str,
    tags: &'a [String],
    category: Category,
    /// The list's name in messages.
    what: &'a str,
}

impl Part<'_> {
    /// An equipment set; `None`, with a warning, when it has no name, type or slot.
    fn equipment_set(
        &self,
        eq: &Map<String, Value>,
        src: &mut Source,
    ) -> Result<Option<EqSet>, String> {
        let (what, cat, rack) = (self.what, self.category, self.rack);
        let Some(set_name) = text(prop(eq, "name")) else {
            src.warnings
                .push(format!("{what}: an item without a name is ignored"));
            return Ok(None);
        };
        let names = nodeset::expand_within(&set_name, &mut src.names_left)
            .map_err(|e| format!("{what}: {e}"))?;
        let Some(type_id) = text(eq.get("type")) else {
            src.warnings
                .push(format!("{} `{set_name}`: no type; skipped", cat.key()));
            return Ok(None);
        };
        let Some(first_slot) = integer(eq.get("slot")) else {
            src.warnings.push(format!(
                "{} `{set_name}` in rack `{rack}`: no valid slot; skipped",
                cat.key()
            ));
            return Ok(None);
        };
        let mut tags = self.tags.to_vec();
        for t in string_list(eq.get("tags")) {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        Ok(Some(EqSet {
            names,
            category: cat,
            type_id,
            rack: rack.to_owned(),
            infrastructure: self.infrastructure.to_owned(),
            tags,
            first_slot,
            positions: None,
        }))
    }
}

fn read_rack_set(
    set: &Map<String, Value>,
    row: &str,
    rack_types: &RackTypes,
    racks: &mut Vec<RackSrc>,
    warnings: &mut Vec<String>,
    names_left: &mut usize,
) -> Result<(), String> {
    let Some(set_name) = text(prop(set, "name")) else {
        warnings.push(format!("row `{row}`: a rack without a name is ignored"));
        return Ok(());
    };
    let names = nodeset::expand_within(&set_name, names_left)
        .map_err(|e| format!("row `{row}` racks: {e}"))?;
    let first = integer(set.get("slot")).unwrap_or(0);
    let type_id = text(set.get("type")).unwrap_or_default();
    let (units, initial) = match rack_types.get(&type_id) {
        Some(t) => *t,
        None => {
            warnings.push(format!(
                "racks `{set_name}`: unknown rack type `{type_id}`; 42U starting at 1 assumed"
            ));
            (42, 1)
        }
    };
    racks.extend(RackSrc::set(names, first, (units, initial)));
    Ok(())
}

#[cfg(test)]
mod walk_tests {
    use super::*;

    /// A directory with links back to itself: without the record of what was read, ten
    /// links and the depth limit of 16 would make 10^16 directory listings.
    #[test]
    fn links_back_into_the_database_end_in_an_error_at_once() {
        let dir = std::env::temp_dir().join(format!("racksdb-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = dir.join("db");
        std::fs::create_dir_all(&db).unwrap();
        std::fs::write(db.join("types.yml"), "{}\n").unwrap();
        for i in 0..10 {
            std::os::unix::fs::symlink(&db, db.join(format!("loop{i}"))).unwrap();
        }
        let e = load_tree(&db, &mut Vec::new()).unwrap_err();
        assert!(e.contains("reached twice"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
