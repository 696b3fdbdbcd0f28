//! Topology forms as file changes: an operation (add, move or remove a device; add or remove
//! a rack; add a room or an aisle; change a rack's template) on the loaded configuration
//! becomes the new text of each file it touches, checked before any text is made.
//!
//! Every change to an existing file goes through `rackscope_core::edit::Doc`, so a Git diff
//! shows only the lines of the edited item. Where each thing lives is found from the spans
//! the loader recorded (the file and the position of each `id:`), never by re-deriving the
//! layout rules: whatever layout the loader read, the editor edits the same place. Writing,
//! conflict detection and reloading are the caller's (the save pipeline's).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rackscope_core::Config;
use rackscope_core::diag::Pos;
use rackscope_core::edit::{Doc, EditError, Seg};
use rackscope_core::model::catalog::default_rack_height;
use rackscope_core::model::topology::Face;
use rackscope_core::topology::{DeviceIx, Rack, RackIx, RoomIx};
use rackscope_core::yaml::{Kind, Node};

use crate::import::layout::scalar;

/// One form's change to the topology; over the API, a JSON object whose `op` names the
/// variant (`{"op": "add_device", "rack": "r1", ...}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    AddDevice {
        rack: String,
        id: String,
        name: Option<String>,
        template: String,
        u: u32,
        /// `"front"` or `"rear"`; `None` writes no `face:` (front).
        face: Option<String>,
    },
    /// Within a rack or to another one; `face: None` keeps the device's face.
    MoveDevice {
        rack: String,
        device: String,
        to_rack: String,
        u: u32,
        face: Option<String>,
    },
    RemoveDevice {
        rack: String,
        device: String,
    },
    /// `aisle` is an aisle id, or a room id for a standalone rack (an aisle id wins when a
    /// room has the same id).
    AddRack {
        aisle: String,
        id: String,
        name: Option<String>,
        template: Option<String>,
    },
    RemoveRack {
        rack: String,
    },
    AddRoom {
        site: String,
        id: String,
        name: Option<String>,
    },
    AddAisle {
        room: String,
        id: String,
        name: Option<String>,
    },
    SetRackTemplate {
        rack: String,
        template: Option<String>,
    },
}

/// Why an operation produced no change. Every check runs before any text is made.
#[derive(Debug, thiserror::Error)]
pub enum TopologyEditError {
    #[error("there is no {kind} `{id}`")]
    UnknownId { kind: &'static str, id: String },
    #[error("{kind} `{id}` already exists")]
    Exists { kind: &'static str, id: String },
    #[error(
        "device `{device}` at U{u}–U{top} would overlap device `{with}` on the {face} of rack `{rack}`"
    )]
    Overlap {
        rack: String,
        device: String,
        u: u32,
        top: u32,
        face: &'static str,
        with: String,
    },
    #[error("device `{device}` would occupy U{u}–U{top} but rack `{rack}` has U1–U{height}")]
    OutOfRack {
        rack: String,
        device: String,
        u: u32,
        top: u32,
        height: u32,
    },
    #[error("there is no template `{0}`")]
    UnknownTemplate(String),
    /// A value the form sent that no file could hold (an id unfit for a file name, a face
    /// other than front or rear).
    #[error("{0}")]
    Invalid(String),
    /// A layout or YAML the editor cannot change safely; the message says what to edit by
    /// hand.
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Io(String),
    /// The editor's own refusal (a path that is not there, an edit that did not verify).
    #[error("{0}")]
    Edit(String),
}

type Result<T> = std::result::Result<T, TopologyEditError>;

/// One file's new text. `before` is empty for a new file. `delete` means the file goes
/// (`after` is then empty): removing a rack that has a file of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub before: String,
    pub after: String,
    pub delete: bool,
}

/// Computes the file changes for `op` on `config`, reading the current text of the files it
/// touches. Ids, templates, the U range against the rack's height and overlaps with other
/// devices on the same face (validation's rule) are checked first. Several files may change:
/// a move between racks kept in two files, a new room or aisle file and its listing. An
/// operation that changes nothing gives no change.
pub fn plan(config: &Config, op: &Op) -> Result<Vec<Change>> {
    let mut w = Work::default();
    let p = Planner { config };
    match op {
        Op::AddDevice {
            rack,
            id,
            name,
            template,
            u,
            face,
        } => p.add_device(&mut w, rack, id, name.as_deref(), template, *u, face)?,
        Op::MoveDevice {
            rack,
            device,
            to_rack,
            u,
            face,
        } => p.move_device(&mut w, rack, device, to_rack, *u, face)?,
        Op::RemoveDevice { rack, device } => p.remove_device(&mut w, rack, device)?,
        Op::AddRack {
            aisle,
            id,
            name,
            template,
        } => p.add_rack(&mut w, aisle, id, name.as_deref(), template.as_deref())?,
        Op::RemoveRack { rack } => p.remove_rack(&mut w, rack)?,
        Op::AddRoom { site, id, name } => p.add_room(&mut w, site, id, name.as_deref())?,
        Op::AddAisle { room, id, name } => p.add_aisle(&mut w, room, id, name.as_deref())?,
        Op::SetRackTemplate { rack, template } => {
            p.set_rack_template(&mut w, rack, template.as_deref())?
        }
    }
    Ok(w.changes())
}

// -----------------------------------------------------------------------------------------
// Paths into a document, owned (the loader's spans outlive any one edit).

#[derive(Debug, Clone, PartialEq, Eq)]
enum P {
    K(String),
    I(usize),
}

fn segs(p: &[P]) -> Vec<Seg<'_>> {
    p.iter()
        .map(|s| match s {
            P::K(k) => Seg::Key(k),
            P::I(i) => Seg::Index(*i),
        })
        .collect()
}

fn with(p: &[P], more: P) -> Vec<P> {
    let mut v = p.to_vec();
    v.push(more);
    v
}

/// The path of the mapping whose `id:` value sits at `pos` (the position the loader keeps
/// for racks, devices, aisles, rooms and sites); else of a mapping that itself sits there
/// (a room file without `id:`).
fn find_by_id_pos(tree: &Node, pos: Pos) -> Option<Vec<P>> {
    let mut fallback = None;
    let mut stack: Vec<(&Node, Vec<P>)> = vec![(tree, Vec::new())];
    while let Some((n, path)) = stack.pop() {
        match &n.kind {
            Kind::Map(entries) => {
                if n.get("id").is_some_and(|v| v.pos == pos) {
                    return Some(path);
                }
                if n.pos == pos && fallback.is_none() {
                    fallback = Some(path.clone());
                }
                for (k, v) in entries {
                    if let Some(k) = k.as_str()
                        && matches!(v.kind, Kind::Map(_) | Kind::Seq(_))
                    {
                        stack.push((v, with(&path, P::K(k.to_string()))));
                    }
                }
            }
            Kind::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    stack.push((it, with(&path, P::I(i))));
                }
            }
            _ => {}
        }
    }
    fallback
}

// -----------------------------------------------------------------------------------------
// Files being changed.

#[derive(Default)]
struct Work {
    order: Vec<PathBuf>,
    docs: HashMap<PathBuf, (String, Doc)>,
    created: HashMap<PathBuf, String>,
    deleted: HashMap<PathBuf, String>,
}

impl Work {
    fn load(&mut self, path: &Path) -> Result<&mut Doc> {
        if !self.docs.contains_key(path) {
            let text = rackscope_core::walk::read_bounded(
                path,
                rackscope_core::load::MAX_CONFIG_FILE_BYTES,
            )
            .map_err(|e| TopologyEditError::Io(format!("{}: {e}", path.display())))?;
            let doc = Doc::parse(&text).map_err(|e| edit_err(path, e))?;
            self.docs.insert(path.to_path_buf(), (text, doc));
            self.order.push(path.to_path_buf());
        }
        match self.docs.get_mut(path) {
            Some((_, doc)) => Ok(doc),
            None => Err(TopologyEditError::Io(format!(
                "{}: not read",
                path.display()
            ))),
        }
    }

    fn create(&mut self, path: PathBuf, text: String) -> Result<()> {
        if path.exists() || self.created.contains_key(&path) {
            return Err(TopologyEditError::Exists {
                kind: "file",
                id: path.display().to_string(),
            });
        }
        self.order.push(path.clone());
        self.created.insert(path, text);
        Ok(())
    }

    fn delete(&mut self, path: &Path) -> Result<()> {
        let text =
            rackscope_core::walk::read_bounded(path, rackscope_core::load::MAX_CONFIG_FILE_BYTES)
                .map_err(|e| TopologyEditError::Io(format!("{}: {e}", path.display())))?;
        self.order.push(path.to_path_buf());
        self.deleted.insert(path.to_path_buf(), text);
        Ok(())
    }

    fn changes(mut self) -> Vec<Change> {
        let mut out = Vec::new();
        for path in self.order {
            if let Some(before) = self.deleted.remove(&path) {
                out.push(Change {
                    path,
                    before,
                    after: String::new(),
                    delete: true,
                });
            } else if let Some(after) = self.created.remove(&path) {
                out.push(Change {
                    path,
                    before: String::new(),
                    after,
                    delete: false,
                });
            } else if let Some((before, doc)) = self.docs.remove(&path)
                && doc.text() != before
            {
                out.push(Change {
                    after: doc.text().to_string(),
                    path,
                    before,
                    delete: false,
                });
            }
        }
        out
    }
}

fn edit_err(path: &Path, e: EditError) -> TopologyEditError {
    match e {
        EditError::Unsupported(what) => TopologyEditError::Unsupported(format!(
            "{} holds {what} where this change goes; make the change by editing the file by hand",
            path.display()
        )),
        other => TopologyEditError::Edit(format!("{}: {other}", path.display())),
    }
}

// -----------------------------------------------------------------------------------------
// Values written.

fn node(kind: Kind) -> Node {
    Node::of(kind)
}

fn str_node(s: &str) -> Node {
    Node::string(s)
}

fn map(fields: Vec<(&str, Node)>) -> Node {
    Node::mapping(fields)
}

fn face_name(f: Face) -> &'static str {
    match f {
        Face::Front => "front",
        Face::Rear => "rear",
    }
}

fn parse_face(face: Option<&str>) -> Result<Option<Face>> {
    match face {
        None => Ok(None),
        Some("front") => Ok(Some(Face::Front)),
        Some("rear") => Ok(Some(Face::Rear)),
        Some(other) => Err(TopologyEditError::Invalid(format!(
            "face `{other}`: a device faces `front` or `rear`"
        ))),
    }
}

/// Ids of racks, rooms and aisles name files and directories of the segmented layout and
/// appear in URLs: letters, digits, `-`, `_` and `.`, not starting with a dot.
fn check_path_id(kind: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(TopologyEditError::Invalid(format!(
            "{kind} id `{id}`: use letters, digits, `-`, `_` and `.` (not first), at most 128"
        )))
    }
}

fn check_device_id(id: &str) -> Result<()> {
    if id.trim().is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(TopologyEditError::Invalid(format!(
            "device id `{id}`: a non-empty name of at most 256 characters without control characters"
        )));
    }
    Ok(())
}

/// Where a list of racks lives and how a new rack is written into it.
struct Listing {
    file: PathBuf,
    list: Vec<P>,
    /// The directory of rack files for references in this list; `None`: racks are inline.
    racks_dir: Option<PathBuf>,
}

struct Planner<'c> {
    config: &'c Config,
}

impl Planner<'_> {
    fn rack(&self, id: &str) -> Result<(RackIx, &Rack)> {
        let topo = &self.config.topology;
        topo.rack_ix(id)
            .map(|ix| (ix, &topo.racks[ix]))
            .ok_or_else(|| TopologyEditError::UnknownId {
                kind: "rack",
                id: id.to_string(),
            })
    }

    fn device(&self, rack: RackIx, rack_id: &str, id: &str) -> Result<DeviceIx> {
        self.config
            .topology
            .device_ix_in_rack(rack, id)
            .ok_or_else(|| TopologyEditError::UnknownId {
                kind: "device",
                id: format!("{rack_id}/{id}"),
            })
    }

    /// The file and path of the mapping whose `id:` the loader saw at `span`.
    fn locate(
        &self,
        w: &mut Work,
        span: &rackscope_core::diag::Span,
        what: &str,
    ) -> Result<(PathBuf, Vec<P>)> {
        let file = span.file.to_path_buf();
        let doc = w.load(&file)?;
        let path = find_by_id_pos(doc.tree(), span.pos).ok_or_else(|| {
            TopologyEditError::Edit(format!(
                "{what} is no longer at {span}; the file changed since it was loaded"
            ))
        })?;
        Ok((file, path))
    }

    fn device_height(&self, template: &str) -> Result<u32> {
        self.config
            .catalog
            .devices
            .get(template)
            .map(|t| t.def.u_height.value.max(1))
            .ok_or_else(|| TopologyEditError::UnknownTemplate(template.to_string()))
    }

    /// Validation's placement rule: U1 to the rack's height, and no overlap with another
    /// device on the same face (`skip`: the device being moved).
    fn check_fit(
        &self,
        rack: &Rack,
        device: &str,
        template: &str,
        u: u32,
        face: Face,
        skip: Option<DeviceIx>,
    ) -> Result<()> {
        let height = rack.u_height;
        let top = u.saturating_add(self.device_height(template)? - 1);
        if u == 0 || top > height {
            return Err(TopologyEditError::OutOfRack {
                rack: rack.id.clone(),
                device: device.to_string(),
                u,
                top,
                height,
            });
        }
        let topo = &self.config.topology;
        for &d in rack.devices.iter().filter(|&&d| Some(d) != skip) {
            let other = &topo.devices[d];
            // Validation skips devices without a known template; so does this check.
            let Some(t) = self.config.catalog.devices.get(&other.template_id) else {
                continue;
            };
            let otop = other
                .u_position
                .saturating_add(t.def.u_height.value.max(1) - 1);
            if other.face == face && u <= otop && top >= other.u_position {
                return Err(TopologyEditError::Overlap {
                    rack: rack.id.clone(),
                    device: device.to_string(),
                    u,
                    top,
                    face: face_name(face),
                    with: other.id.clone(),
                });
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn add_device(
        &self,
        w: &mut Work,
        rack_id: &str,
        id: &str,
        name: Option<&str>,
        template: &str,
        u: u32,
        face: &Option<String>,
    ) -> Result<()> {
        let (_, rack) = self.rack(rack_id)?;
        check_device_id(id)?;
        // Device ids used twice across racks load with a warning only; a form never makes one.
        if self.config.topology.device(id).is_some() {
            return Err(TopologyEditError::Exists {
                kind: "device",
                id: id.to_string(),
            });
        }
        let face = parse_face(face.as_deref())?;
        self.check_fit(rack, id, template, u, face.unwrap_or_default(), None)?;
        let (file, path) = self.locate(w, &rack.span, "the rack")?;
        let mut fields = vec![("id", str_node(id))];
        if let Some(n) = name {
            fields.push(("name", str_node(n)));
        }
        fields.push(("template_id", str_node(template)));
        fields.push(("u_position", node(Kind::Int(i64::from(u)))));
        if let Some(f) = face {
            fields.push(("face", str_node(face_name(f))));
        }
        let list = with(&path, P::K("devices".into()));
        w.load(&file)?
            .push_node(&segs(&list), &map(fields), None)
            .map_err(|e| edit_err(&file, e))
    }

    fn move_device(
        &self,
        w: &mut Work,
        rack_id: &str,
        device_id: &str,
        to_rack_id: &str,
        u: u32,
        face: &Option<String>,
    ) -> Result<()> {
        let (rack_ix, _) = self.rack(rack_id)?;
        let dix = self.device(rack_ix, rack_id, device_id)?;
        let (to_ix, to_rack) = self.rack(to_rack_id)?;
        let same_rack = to_ix == rack_ix;
        if !same_rack
            && self
                .config
                .topology
                .device_ix_in_rack(to_ix, device_id)
                .is_some()
        {
            return Err(TopologyEditError::Exists {
                kind: "device",
                id: format!("{to_rack_id}/{device_id}"),
            });
        }
        let dev = &self.config.topology.devices[dix];
        let new_face = parse_face(face.as_deref())?;
        let face = new_face.unwrap_or(dev.face);
        self.check_fit(to_rack, device_id, &dev.template_id, u, face, Some(dix))?;
        let (file, path) = self.locate(w, &dev.span, "the device")?;
        let Some((P::I(index), list)) = path.split_last() else {
            return Err(TopologyEditError::Unsupported(format!(
                "device `{device_id}` in {} is not a list item; move it by hand",
                file.display()
            )));
        };
        let u_node = node(Kind::Int(i64::from(u)));
        let face_changed = new_face.is_some_and(|f| f != dev.face);
        if same_rack {
            if u == dev.u_position && !face_changed {
                return Ok(());
            }
            let doc = w.load(&file)?;
            if u != dev.u_position {
                doc.set_scalar(&segs(&with(&path, P::K("u_position".into()))), &u_node)
                    .map_err(|e| edit_err(&file, e))?;
            }
            if face_changed {
                doc.set_scalar(
                    &segs(&with(&path, P::K("face".into()))),
                    &str_node(face_name(face)),
                )
                .map_err(|e| edit_err(&file, e))?;
            }
            return Ok(());
        }
        // The copy: the device's mapping as read, with its new U (and face).
        let source = w.load(&file)?.clone();
        let Some(original) = source.get(&segs(&path)) else {
            return Err(TopologyEditError::Edit(format!(
                "device `{device_id}` is no longer in {}",
                file.display()
            )));
        };
        let mut item = original.clone();
        let Kind::Map(entries) = &mut item.kind else {
            return Err(TopologyEditError::Unsupported(format!(
                "device `{device_id}` in {} is not a mapping; move it by hand",
                file.display()
            )));
        };
        let mut u_at = None;
        let mut face_set = false;
        for (i, (k, v)) in entries.iter_mut().enumerate() {
            match k.as_str() {
                Some("u_position") => {
                    *v = u_node.clone();
                    u_at = Some(i);
                }
                Some("face") if face_changed => {
                    *v = str_node(face_name(face));
                    face_set = true;
                }
                _ => {}
            }
        }
        if face_changed && !face_set {
            let at = u_at.map_or(entries.len(), |i| i + 1);
            entries.insert(at, (str_node("face"), str_node(face_name(face))));
        }
        source
            .check_copyable(original)
            .map_err(|e| edit_err(&file, e))?;
        let (to_file, to_path) = self.locate(w, &to_rack.span, "the target rack")?;
        let to_list = with(&to_path, P::K("devices".into()));
        w.load(&to_file)?
            .push_node(&segs(&to_list), &item, Some(&source))
            .map_err(|e| edit_err(&to_file, e))?;
        // Pushing into another rack's list moves no index of the source path.
        w.load(&file)?
            .remove_item(&segs(list), *index)
            .map_err(|e| edit_err(&file, e))
    }

    fn remove_device(&self, w: &mut Work, rack_id: &str, device_id: &str) -> Result<()> {
        let (rack_ix, _) = self.rack(rack_id)?;
        let dix = self.device(rack_ix, rack_id, device_id)?;
        let dev = &self.config.topology.devices[dix];
        let (file, path) = self.locate(w, &dev.span, "the device")?;
        let Some((P::I(index), list)) = path.split_last() else {
            return Err(TopologyEditError::Unsupported(format!(
                "device `{device_id}` in {} is not a list item; remove it by hand",
                file.display()
            )));
        };
        w.load(&file)?
            .remove_item(&segs(list), *index)
            .map_err(|e| edit_err(&file, e))
    }

    fn monolithic(&self) -> bool {
        self.config.paths.topology.is_file()
    }

    /// A room's file, its path there, and its directory when it has a `room.yaml` of its own
    /// (rooms inline in `sites.yaml` or a single-file topology have none).
    fn room_place(&self, w: &mut Work, room: RoomIx) -> Result<(PathBuf, Vec<P>, Option<PathBuf>)> {
        let r = &self.config.topology.rooms[room];
        let (file, path) = self.locate(w, &r.span, "the room")?;
        let own = path.is_empty()
            && !self.monolithic()
            && file.file_name().is_some_and(|n| n == "room.yaml");
        let dir = if own {
            file.parent().map(Path::to_path_buf)
        } else {
            None
        };
        Ok((file, path, dir))
    }

    /// The racks a new rack under `parent` (an aisle, else a room's standalone racks)
    /// must not share its id with.
    fn sibling_racks(&self, parent: &str) -> Result<Vec<RackIx>> {
        let topo = &self.config.topology;
        if let Some(a) = topo.find_aisle(parent).one() {
            return Ok(topo.aisles[a].racks.clone());
        }
        match topo.room_ix(parent) {
            Some(r) => Ok(topo.rooms[r].standalone_racks.clone()),
            None => Err(TopologyEditError::UnknownId {
                kind: "aisle or room",
                id: parent.to_string(),
            }),
        }
    }

    /// Where the racks of an aisle (or a room's standalone racks) are listed, as the loader
    /// reads them.
    fn rack_listing(&self, w: &mut Work, parent: &str) -> Result<Listing> {
        let topo = &self.config.topology;
        if let Some(aisle) = topo.aisle(parent) {
            let (room_file, _, room_dir) = self.room_place(w, aisle.room)?;
            let (file, entry) = self.locate(w, &aisle.span, "the aisle")?;
            if file != room_file {
                return Err(TopologyEditError::Unsupported(format!(
                    "aisle `{parent}` is not listed in its room's file; add the rack by hand"
                )));
            }
            let inline_racks = w
                .load(&file)?
                .get(&segs(&entry))
                .and_then(|n| n.get("racks"))
                .is_some();
            return Ok(match room_dir {
                Some(dir) if !inline_racks => {
                    let aisle_dir = dir.join("aisles").join(&aisle.id);
                    Listing {
                        file: aisle_dir.join("aisle.yaml"),
                        list: vec![P::K("racks".into())],
                        racks_dir: Some(aisle_dir.join("racks")),
                    }
                }
                dir => Listing {
                    file,
                    list: with(&entry, P::K("racks".into())),
                    racks_dir: dir.map(|d| d.join("aisles").join(&aisle.id).join("racks")),
                },
            });
        }
        let Some(room) = topo.room_ix(parent) else {
            return Err(TopologyEditError::UnknownId {
                kind: "aisle or room",
                id: parent.to_string(),
            });
        };
        let (file, path, dir) = self.room_place(w, room)?;
        Ok(Listing {
            file,
            list: with(&path, P::K("standalone_racks".into())),
            racks_dir: dir.map(|d| d.join("standalone_racks")),
        })
    }

    fn add_rack(
        &self,
        w: &mut Work,
        parent: &str,
        id: &str,
        name: Option<&str>,
        template: Option<&str>,
    ) -> Result<()> {
        check_path_id("rack", id)?;
        // Rack ids are unique among the racks of one aisle (or of one room's standalone
        // racks); the same id elsewhere is another rack.
        if self
            .sibling_racks(parent)?
            .iter()
            .any(|&r| self.config.topology.racks[r].id == id)
        {
            return Err(TopologyEditError::Exists {
                kind: "rack",
                id: id.to_string(),
            });
        }
        if let Some(t) = template
            && !self.config.catalog.racks.contains(t)
        {
            return Err(TopologyEditError::UnknownTemplate(t.to_string()));
        }
        let listing = self.rack_listing(w, parent)?;
        let doc = w.load(&listing.file)?;
        // The new rack follows the items already there: inline mappings stay inline, and a
        // list of plain ids gets a plain id.
        let first = doc
            .get(&segs(&listing.list))
            .and_then(Node::seq)
            .and_then(|items| items.first())
            .map(|n| n.kind.clone());
        let inline = match (&listing.racks_dir, &first) {
            (None, _) => true,
            (Some(_), Some(Kind::Map(e))) => !(e.len() == 1 && e[0].0.as_str() == Some("id")),
            _ => false,
        };
        if inline {
            let mut fields = vec![("id", str_node(id))];
            if let Some(n) = name {
                fields.push(("name", str_node(n)));
            }
            if let Some(t) = template {
                fields.push(("template_id", str_node(t)));
            }
            return doc
                .push_node(&segs(&listing.list), &map(fields), None)
                .map_err(|e| edit_err(&listing.file, e));
        }
        let item = match first {
            Some(Kind::Str(_) | Kind::Int(_)) => str_node(id),
            _ => map(vec![("id", str_node(id))]),
        };
        doc.push_node(&segs(&listing.list), &item, None)
            .map_err(|e| edit_err(&listing.file, e))?;
        let Some(dir) = listing.racks_dir else {
            return Ok(());
        };
        let rack_file = dir.join(format!("{id}.yaml"));
        if dir.join(format!("{id}.yml")).exists() {
            return Err(TopologyEditError::Exists {
                kind: "file",
                id: dir.join(format!("{id}.yml")).display().to_string(),
            });
        }
        let mut text = format!("id: {}\n", scalar(id));
        if let Some(n) = name {
            text.push_str(&format!("name: {}\n", scalar(n)));
        }
        if let Some(t) = template {
            text.push_str(&format!("template_id: {}\n", scalar(t)));
        }
        text.push_str("devices: []\n");
        w.create(rack_file, text)
    }

    fn remove_rack(&self, w: &mut Work, rack_id: &str) -> Result<()> {
        let (_, rack) = self.rack(rack_id)?;
        let (file, path) = self.locate(w, &rack.span, "the rack")?;
        if let Some((P::I(index), list)) = path.split_last() {
            // An inline rack: its item goes, devices and all.
            return w
                .load(&file)?
                .remove_item(&segs(list), *index)
                .map_err(|e| edit_err(&file, e));
        }
        // A rack file: its reference goes, and the file with it.
        let parent = match rack.aisle {
            Some(a) => self.config.topology.aisles[a].id.clone(),
            None => self.config.topology.rooms[rack.room].id.clone(),
        };
        let listing = self.rack_listing(w, &parent)?;
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let doc = w.load(&listing.file)?;
        let index = doc
            .get(&segs(&listing.list))
            .and_then(Node::seq)
            .and_then(|items| {
                items.iter().position(|n| match &n.kind {
                    Kind::Map(_) => n.get("id").and_then(Node::as_str) == Some(stem.as_str()),
                    _ => n.as_str() == Some(stem.as_str()) || raw_int(n, &stem),
                })
            })
            .ok_or_else(|| {
                TopologyEditError::Unsupported(format!(
                    "rack `{rack_id}` is not listed in {} as the loader reads it; remove it by hand",
                    listing.file.display()
                ))
            })?;
        doc.remove_item(&segs(&listing.list), index)
            .map_err(|e| edit_err(&listing.file, e))?;
        w.delete(&file)
    }

    fn add_room(&self, w: &mut Work, site_id: &str, id: &str, name: Option<&str>) -> Result<()> {
        let topo = &self.config.topology;
        let Some(site) = topo.site(site_id) else {
            return Err(TopologyEditError::UnknownId {
                kind: "site",
                id: site_id.to_string(),
            });
        };
        check_path_id("room", id)?;
        // Room ids are unique within their site only.
        if site.rooms.iter().any(|&r| topo.rooms[r].id == id) {
            return Err(TopologyEditError::Exists {
                kind: "room",
                id: id.to_string(),
            });
        }
        let (file, path) = self.locate(w, &site.span, "the site")?;
        let list = with(&path, P::K("rooms".into()));
        if self.monolithic() {
            let mut fields = vec![("id", str_node(id))];
            if let Some(n) = name {
                fields.push(("name", str_node(n)));
            }
            return w
                .load(&file)?
                .push_node(&segs(&list), &map(fields), None)
                .map_err(|e| edit_err(&file, e));
        }
        let doc = w.load(&file)?;
        let site_node = doc.get(&segs(&path));
        let rooms_path = site_node
            .and_then(|n| n.get("rooms_path"))
            .and_then(Node::as_str)
            .map(str::to_string);
        let listed: Vec<Kind> = site_node
            .and_then(|n| n.get("rooms"))
            .and_then(Node::seq)
            .map(|items| items.iter().map(|n| n.kind.clone()).collect())
            .unwrap_or_default();
        let topo_dir = &self.config.paths.topology;
        let rooms_dir = match rooms_path {
            Some(p) => topo_dir.join(p),
            None => topo_dir.join("datacenters").join(site_id).join("rooms"),
        };
        // A site without a `rooms:` list finds its rooms in the directory: listing the new
        // one would hide the others.
        if let Some(first) = listed.first() {
            let item = match first {
                Kind::Str(_) | Kind::Int(_) => str_node(id),
                _ => map(vec![("id", str_node(id))]),
            };
            doc.push_node(&segs(&list), &item, None)
                .map_err(|e| edit_err(&file, e))?;
        }
        let room_dir = rooms_dir.join(id);
        if room_dir.exists() {
            return Err(TopologyEditError::Exists {
                kind: "directory",
                id: room_dir.display().to_string(),
            });
        }
        let mut text = format!("id: {}\n", scalar(id));
        if let Some(n) = name {
            text.push_str(&format!("name: {}\n", scalar(n)));
        }
        text.push_str(&format!("site_id: {}\naisles: []\n", scalar(site_id)));
        w.create(room_dir.join("room.yaml"), text)
    }

    fn add_aisle(&self, w: &mut Work, room_id: &str, id: &str, name: Option<&str>) -> Result<()> {
        let topo = &self.config.topology;
        let Some(room) = topo.room_ix(room_id) else {
            return Err(TopologyEditError::UnknownId {
                kind: "room",
                id: room_id.to_string(),
            });
        };
        check_path_id("aisle", id)?;
        if topo.rooms[room]
            .aisles
            .iter()
            .any(|&a| topo.aisles[a].id == id)
        {
            return Err(TopologyEditError::Exists {
                kind: "aisle",
                id: id.to_string(),
            });
        }
        let (file, path, dir) = self.room_place(w, room)?;
        let list = with(&path, P::K("aisles".into()));
        let doc = w.load(&file)?;
        // Aisles whose racks are listed in the room file itself keep that style.
        let racks_inline = doc
            .get(&segs(&list))
            .and_then(Node::seq)
            .and_then(|items| items.first())
            .is_some_and(|n| n.get("racks").is_some());
        let mut fields = vec![("id", str_node(id))];
        if let Some(n) = name {
            fields.push(("name", str_node(n)));
        }
        let aisle_file = match &dir {
            Some(d) if !racks_inline => Some(d.join("aisles").join(id)),
            _ => None,
        };
        if aisle_file.is_none() && dir.is_some() {
            fields.push(("racks", node(Kind::Seq(Vec::new()))));
        }
        doc.push_node(&segs(&list), &map(fields), None)
            .map_err(|e| edit_err(&file, e))?;
        let Some(aisle_dir) = aisle_file else {
            return Ok(());
        };
        if aisle_dir.exists() {
            return Err(TopologyEditError::Exists {
                kind: "directory",
                id: aisle_dir.display().to_string(),
            });
        }
        let mut text = format!("id: {}\n", scalar(id));
        if let Some(n) = name {
            text.push_str(&format!("name: {}\n", scalar(n)));
        }
        text.push_str(&format!("room_id: {}\nracks: []\n", scalar(room_id)));
        w.create(aisle_dir.join("aisle.yaml"), text)
    }

    fn set_rack_template(&self, w: &mut Work, rack_id: &str, template: Option<&str>) -> Result<()> {
        let (_, rack) = self.rack(rack_id)?;
        if rack.template_id.as_deref() == template {
            return Ok(());
        }
        let catalog = &self.config.catalog;
        if let Some(t) = template
            && !catalog.racks.contains(t)
        {
            return Err(TopologyEditError::UnknownTemplate(t.to_string()));
        }
        let (file, path) = self.locate(w, &rack.span, "the rack")?;
        let doc = w.load(&file)?;
        let fixed_height = doc
            .get(&segs(&path))
            .and_then(|n| n.get("u_height"))
            .is_some_and(|n| !n.is_null());
        // Without its own `u_height:`, a rack is as high as its template: the devices must
        // still fit.
        if !fixed_height {
            let height = template
                .and_then(|t| catalog.racks.get(t))
                .map_or_else(default_rack_height, |t| t.def.u_height);
            let topo = &self.config.topology;
            for &d in &rack.devices {
                let dev = &topo.devices[d];
                let Some(t) = catalog.devices.get(&dev.template_id) else {
                    continue;
                };
                let top = dev
                    .u_position
                    .saturating_add(t.def.u_height.value.max(1) - 1);
                if top > height {
                    return Err(TopologyEditError::OutOfRack {
                        rack: rack.id.clone(),
                        device: dev.id.clone(),
                        u: dev.u_position,
                        top,
                        height,
                    });
                }
            }
        }
        let key = with(&path, P::K("template_id".into()));
        let doc = w.load(&file)?;
        match template {
            Some(t) => doc.set_scalar(&segs(&key), &str_node(t)),
            None => doc.remove_key(&segs(&key)),
        }
        .map_err(|e| edit_err(&file, e))
    }
}

/// A list item YAML read as a number that names the file `stem` (`- 101` for `101.yaml`).
fn raw_int(n: &Node, stem: &str) -> bool {
    matches!(n.kind, Kind::Int(i) if i.to_string() == stem)
}

#[cfg(test)]
mod tests;
