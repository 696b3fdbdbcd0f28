//! Reads the JSON that RacksDB itself produces (`racksdb <command> --format json`, or the
//! same routes of `racksdb-web`): ranges expanded and positions computed by RacksDB, or, with
//! `--fold`, ranges kept folded and positions left for us to compute.
//!
//! No single command returns everything: `datacenters` (or `racks`) gives the rooms, rows
//! and racks; `infrastructures` gives every equipment with its position, while `nodes` (and
//! the nodes listed in `racks`) only cover compute nodes. Several documents are combined.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::nodeset;
use crate::source::{
    Category, Datacenter, EqSet, EqType, RackSrc, RoomSrc, RowSrc, Source, eq_type, integer,
    location, short, string_list, text, units,
};

/// What one top-level list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Datacenters,
    Racks,
    Infrastructures,
    Nodes,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Datacenters => "datacenters",
            Kind::Racks => "racks",
            Kind::Infrastructures => "infrastructures",
            Kind::Nodes => "nodes",
        }
    }
}

/// One parsed JSON document: either computed lists, or a whole database written in JSON.
pub(crate) enum Document {
    Lists(Vec<(Kind, Vec<Value>)>),
    Database(Value),
}

fn classify_list(items: &[Value]) -> Option<Kind> {
    let first = items.iter().find_map(Value::as_object)?;
    if first.contains_key("rooms") {
        Some(Kind::Datacenters)
    } else if first.contains_key("layout") {
        Some(Kind::Infrastructures)
    } else if first.contains_key("row") && first.contains_key("room") {
        Some(Kind::Racks)
    } else if first.contains_key("infrastructure") && first.contains_key("rack") {
        Some(Kind::Nodes)
    } else {
        None
    }
}

/// Recognises a document by its shape. `what` names it in messages.
pub(crate) fn classify(doc: Value, what: &str) -> Result<Document, String> {
    match doc {
        Value::Array(items) => {
            if items.is_empty() {
                return Ok(Document::Lists(Vec::new()));
            }
            match classify_list(&items) {
                Some(kind) => Ok(Document::Lists(vec![(kind, items)])),
                None => Err(format!(
                    "{what}: not RacksDB output (expected the JSON of `racksdb datacenters`, \
                     `racks`, `infrastructures` or `nodes`)"
                )),
            }
        }
        Value::Object(m) => {
            if m.contains_key("types") {
                return Ok(Document::Database(Value::Object(m)));
            }
            let mut lists = Vec::new();
            for (key, kind) in [
                ("datacenters", Kind::Datacenters),
                ("racks", Kind::Racks),
                ("infrastructures", Kind::Infrastructures),
                ("nodes", Kind::Nodes),
            ] {
                match m.get(key) {
                    Some(Value::Array(items)) => lists.push((kind, items.clone())),
                    Some(other) => {
                        return Err(format!("{what}: `{key}` is not a list: {}", short(other)));
                    }
                    None => {}
                }
            }
            if lists.is_empty() {
                return Err(format!(
                    "{what}: not RacksDB output (an object without `datacenters`, \
                     `infrastructures`, `racks`, `nodes` or `types`)"
                ));
            }
            Ok(Document::Lists(lists))
        }
        other => Err(format!("{what}: not RacksDB output: {}", short(&other))),
    }
}

/// Combines computed lists into the source model. Of each kind, the first list with
/// computed positions wins (a folded copy of the same data is then ignored).
pub(crate) fn read(lists: Vec<(Kind, Vec<Value>)>) -> Result<Source, String> {
    let mut src = Source::default();
    let mut by_kind: BTreeMap<Kind, Vec<Value>> = BTreeMap::new();
    for (kind, items) in lists {
        match by_kind.get(&kind) {
            None => {
                by_kind.insert(kind, items);
            }
            Some(existing) => {
                if is_folded(existing) && !is_folded(&items) {
                    by_kind.insert(kind, items);
                }
                src.warnings.push(format!(
                    "several `{}` documents were given; the one with computed positions (or the first) is used",
                    kind.name()
                ));
            }
        }
    }

    if let Some(dcs) = by_kind.get(&Kind::Datacenters) {
        read_datacenters(dcs, &mut src)?;
    } else if let Some(racks) = by_kind.get(&Kind::Racks) {
        read_racks_hierarchy(racks, &mut src)?;
    } else {
        return Err(
            "no datacenters: give the JSON of `racksdb datacenters` (or `racksdb racks`) \
             with the equipment"
                .into(),
        );
    }

    let mut types = TypeBook::default();
    if let Some(infras) = by_kind.get(&Kind::Infrastructures) {
        for infra in infras {
            let Some(infra) = infra.as_object() else {
                continue;
            };
            let infra_name = text(infra.get("name")).unwrap_or_else(|| "unnamed".into());
            let Some(Value::Array(layout)) = infra.get("layout") else {
                continue;
            };
            for part in layout.iter().filter_map(Value::as_object) {
                let part_rack = text(part.get("rack")).unwrap_or_default();
                for cat in Category::ALL {
                    let Some(Value::Array(items)) = part.get(cat.key()) else {
                        continue;
                    };
                    for item in items.iter().filter_map(Value::as_object) {
                        read_item(item, cat, &infra_name, &part_rack, &mut types, &mut src)?;
                    }
                }
            }
        }
    } else {
        let mut found = false;
        if let Some(nodes) = by_kind.get(&Kind::Nodes) {
            for item in nodes.iter().filter_map(Value::as_object) {
                let infra_name = text(item.get("infrastructure")).unwrap_or_default();
                read_item(item, Category::Nodes, &infra_name, "", &mut types, &mut src)?;
                found = true;
            }
        } else if let Some(racks) = by_kind.get(&Kind::Racks) {
            for rack in racks.iter().filter_map(Value::as_object) {
                let rack_name = text(rack.get("name")).unwrap_or_default();
                let Some(Value::Array(nodes)) = rack.get("nodes") else {
                    continue;
                };
                for item in nodes.iter().filter_map(Value::as_object) {
                    let infra_name = text(item.get("infrastructure")).unwrap_or_default();
                    read_item(
                        item,
                        Category::Nodes,
                        &infra_name,
                        &rack_name,
                        &mut types,
                        &mut src,
                    )?;
                    found = true;
                }
            }
        }
        if found {
            src.warnings.push(
                "only compute nodes were imported: RacksDB's `nodes` and `racks` output leaves out \
                 storage, network and misc equipment; add the JSON of `racksdb infrastructures` \
                 for them"
                    .into(),
            );
        }
    }
    for ((cat, id), ty) in types.resolved(&mut src.warnings) {
        src.types.insert((cat, id), ty);
    }
    Ok(src)
}

fn is_folded(items: &[Value]) -> bool {
    fn has_position(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.contains_key("position") || m.values().any(has_position),
            Value::Array(a) => a.iter().any(has_position),
            _ => false,
        }
    }
    !items.iter().any(has_position)
}

/// Equipment types as found embedded in items; an item of the `racks` output only names
/// its type, which another item may describe.
#[derive(Default)]
struct TypeBook {
    types: BTreeMap<(Category, String), Option<Map<String, Value>>>,
}

impl TypeBook {
    fn note(&mut self, cat: Category, v: Option<&Value>) -> Option<String> {
        match v? {
            Value::Object(m) => {
                let id = text(m.get("id"))?;
                let slot = self.types.entry((cat, id.clone())).or_insert(None);
                if slot.is_none() {
                    *slot = Some(m.clone());
                }
                Some(id)
            }
            other => {
                let id = text(Some(other))?;
                self.types.entry((cat, id.clone())).or_insert(None);
                Some(id)
            }
        }
    }

    fn resolved(self, warnings: &mut Vec<String>) -> Vec<((Category, String), EqType)> {
        self.types
            .into_iter()
            .map(|((cat, id), m)| {
                let ty = match m {
                    Some(m) => eq_type(cat, &id, &m, warnings),
                    None => {
                        warnings.push(format!(
                            "{} type `{id}`: the output does not describe it; 1U full width assumed",
                            cat.key()
                        ));
                        EqType {
                            id: id.clone(),
                            model: None,
                            height: 1,
                            width: 1.0,
                        }
                    }
                };
                ((cat, id), ty)
            })
            .collect()
    }
}

fn read_item(
    item: &Map<String, Value>,
    cat: Category,
    infra: &str,
    part_rack: &str,
    types: &mut TypeBook,
    src: &mut Source,
) -> Result<(), String> {
    let Some(set_name) = text(item.get("name")) else {
        src.warnings
            .push(format!("{}: an item without a name is ignored", cat.key()));
        return Ok(());
    };
    let rack = match item.get("rack") {
        Some(Value::Object(r)) => text(r.get("name")),
        other => text(other),
    }
    .unwrap_or_else(|| part_rack.to_owned());
    let Some(type_id) = types.note(cat, item.get("type")) else {
        src.warnings
            .push(format!("{} `{set_name}`: no type; skipped", cat.key()));
        return Ok(());
    };
    let Some(first_slot) = integer(item.get("slot")) else {
        src.warnings.push(format!(
            "{} `{set_name}` in rack `{rack}`: no valid slot; skipped",
            cat.key()
        ));
        return Ok(());
    };
    let names = nodeset::expand_within(&set_name, &mut src.names_left)
        .map_err(|e| format!("{} `{set_name}`: {e}", cat.key()))?;
    let position = match item.get("position") {
        Some(Value::Object(p)) => {
            integer(p.get("height")).map(|h| (h, integer(p.get("width")).unwrap_or(0)))
        }
        _ => None,
    };
    // A position belongs to one expanded item; a folded set is placed by the rule instead.
    let positions = match position {
        Some(p) if names.len() == 1 => Some(vec![p]),
        _ => None,
    };
    src.sets.push(EqSet {
        names,
        category: cat,
        type_id,
        rack,
        infrastructure: infra.to_owned(),
        tags: string_list(item.get("tags")),
        first_slot,
        positions,
    });
    Ok(())
}

/// A rack type embedded in a rack: (units, initial).
fn rack_type(rack_name: &str, v: Option<&Value>, warnings: &mut Vec<String>) -> (u32, i64) {
    let t = v.and_then(Value::as_object);
    let slots = t.and_then(|t| units(t.get("slots")));
    let initial = t.and_then(|t| integer(t.get("initial"))).unwrap_or(1);
    match slots {
        Some(s) if s >= 1.0 && s.fract() == 0.0 => (s.min(f64::from(u16::MAX)) as u32, initial),
        _ => {
            warnings.push(format!(
                "rack `{rack_name}`: no valid rack type slots; 42U assumed"
            ));
            (42, initial)
        }
    }
}

fn read_datacenters(dcs: &[Value], src: &mut Source) -> Result<(), String> {
    for dc in dcs {
        let Some(dc) = dc.as_object() else {
            return Err(format!("a datacenter is not an object: {}", short(dc)));
        };
        let name = text(dc.get("name")).unwrap_or_else(|| "unnamed".into());
        let mut rooms = Vec::new();
        for room in dc
            .get("rooms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(room) = room.as_object() else {
                continue;
            };
            let room_name = text(room.get("name")).unwrap_or_else(|| "unnamed".into());
            let mut rows = Vec::new();
            for row in room
                .get("rows")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(row) = row.as_object() else { continue };
                let row_name = text(row.get("name")).unwrap_or_else(|| "unnamed".into());
                let mut racks = Vec::new();
                for rack in row
                    .get("racks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(rack) = rack.as_object() else {
                        continue;
                    };
                    let Some(set_name) = text(rack.get("name")) else {
                        continue;
                    };
                    let names = nodeset::expand_within(&set_name, &mut src.names_left)
                        .map_err(|e| format!("rack `{set_name}`: {e}"))?;
                    let first = integer(rack.get("slot")).unwrap_or(0);
                    let rack_type = rack_type(&set_name, rack.get("type"), &mut src.warnings);
                    racks.extend(RackSrc::set(names, first, rack_type));
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
        src.datacenters.push(Datacenter {
            name,
            location: location(dc.get("location")),
            rooms,
        });
    }
    Ok(())
}

/// The hierarchy from the `racks` output, where each rack names its datacenter, room and
/// row; rooms and rows without racks are not in it.
fn read_racks_hierarchy(racks: &[Value], src: &mut Source) -> Result<(), String> {
    src.warnings.push(
        "the rooms and rows come from the `racks` output: empty rooms and rows, and datacenter \
         locations, are not in it"
            .into(),
    );
    for rack in racks {
        let Some(rack) = rack.as_object() else {
            return Err(format!("a rack is not an object: {}", short(rack)));
        };
        let Some(set_name) = text(rack.get("name")) else {
            continue;
        };
        let dc_name = text(rack.get("datacenter")).unwrap_or_else(|| "unnamed".into());
        let room_name = text(rack.get("room")).unwrap_or_else(|| "unnamed".into());
        let row_name = text(rack.get("row")).unwrap_or_else(|| "unnamed".into());
        let names = nodeset::expand_within(&set_name, &mut src.names_left)
            .map_err(|e| format!("rack `{set_name}`: {e}"))?;
        let first = integer(rack.get("slot")).unwrap_or(0);
        let rack_type = rack_type(&set_name, rack.get("type"), &mut src.warnings);
        let Some(dc) = find_or_push(
            &mut src.datacenters,
            |d| d.name == dc_name,
            || Datacenter {
                name: dc_name.clone(),
                ..Datacenter::default()
            },
        ) else {
            continue;
        };
        let Some(room) = find_or_push(
            &mut dc.rooms,
            |r| r.name == room_name,
            || RoomSrc {
                name: room_name.clone(),
                rows: Vec::new(),
            },
        ) else {
            continue;
        };
        let Some(row) = find_or_push(
            &mut room.rows,
            |r| r.name == row_name,
            || RowSrc {
                name: row_name.clone(),
                racks: Vec::new(),
            },
        ) else {
            continue;
        };
        row.racks.extend(RackSrc::set(names, first, rack_type));
    }
    Ok(())
}

/// The first item of `items` that `matches`, else a new one made by `make` at the end
/// (`None` never happens: the item is found or pushed).
fn find_or_push<T>(
    items: &mut Vec<T>,
    matches: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
) -> Option<&mut T> {
    let ix = match items.iter().position(matches) {
        Some(ix) => ix,
        None => {
            items.push(make());
            items.len() - 1
        }
    };
    items.get_mut(ix)
}
