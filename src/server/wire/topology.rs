//! The topology and the library as the API shows them: the Python Rackscope's "full model"
//! shapes (site, room, aisle, rack, device), borrowed from the resolved topology rather than
//! copied, the room list, the catalog, the checks and the metrics library.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rackscope_core::Config;
use rackscope_core::model::catalog::{DeviceTemplate, RackComponentTemplate, RackTemplate};
use rackscope_core::model::metrics::MetricDef;
use rackscope_core::model::topology::{Face, Location, RoomLayout};
use rackscope_core::topology::{DeviceIx, RackIx, RoomIx, Site, Topology};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{RefOr, schema};
use utoipa::{PartialSchema, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct SiteView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// `{lat, lon, address?}` as written in the topology.
    #[schema(value_type = Option<Object>)]
    pub location: Option<&'a Location>,
    pub rooms: Vec<RoomView<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct RoomView<'a> {
    pub id: &'a str,
    /// `site/room`: names this room alone even where its id repeats in another site.
    pub path: String,
    pub name: &'a str,
    pub site_id: &'a str,
    pub description: Option<&'a str>,
    /// `{shape, size, orientation, grid, door}` as written in the topology.
    #[schema(value_type = Option<Object>)]
    pub layout: Option<&'a RoomLayout>,
    pub aisles: Vec<AisleView<'a>>,
    pub standalone_racks: Vec<RackView<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct AisleView<'a> {
    pub id: &'a str,
    /// `site/room/aisle`.
    pub path: String,
    pub name: &'a str,
    pub racks: Vec<RackView<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct RackView<'a> {
    pub id: &'a str,
    /// `site/room/aisle/rack` (`site/room/rack` standalone): unique, where `id` is unique
    /// only among the rack's siblings.
    pub path: String,
    pub name: &'a str,
    pub template_id: Option<&'a str>,
    pub u_height: u32,
    pub aisle_id: Option<&'a str>,
    pub room_id: &'a str,
    pub devices: Vec<DeviceView<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceView<'a> {
    pub id: &'a str,
    /// The rack's path followed by the device id.
    pub path: String,
    pub name: &'a str,
    pub template_id: &'a str,
    pub u_position: u32,
    /// `front` or `rear`.
    #[schema(value_type = String)]
    pub face: Face,
    pub instance: InstanceView<'a>,
    #[schema(value_type = BTreeMap<String, String>)]
    pub labels: &'a BTreeMap<String, String>,
}

/// A device's instances as the Python Rackscope writes them: a list when they fill slots
/// 1…n in order, otherwise a map of slot number to name (so that no slot is lost).
pub struct InstanceView<'a>(&'a [rackscope_core::topology::Instance]);

impl Serialize for InstanceView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let in_order = self
            .0
            .iter()
            .enumerate()
            .all(|(i, inst)| inst.slot as usize == i + 1);
        if in_order {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for i in self.0 {
                seq.serialize_element(&i.name)?;
            }
            seq.end()
        } else {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for i in self.0 {
                map.serialize_entry(&i.slot.to_string(), &i.name)?;
            }
            map.end()
        }
    }
}

/// Written by hand: the serializer chooses between the two shapes at run time.
impl PartialSchema for InstanceView<'_> {
    fn schema() -> RefOr<Schema> {
        let names = ArrayBuilder::new().items(schema::Object::with_type(Type::String));
        let slots = ObjectBuilder::new()
            .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some("slot number → instance name"));
        OneOfBuilder::new()
            .item(names)
            .item(slots)
            .description(Some(
                "The device's instances: a list when they fill slots 1…n in order, otherwise a map of slot number to name",
            ))
            .into()
    }
}

impl ToSchema for InstanceView<'_> {}

pub fn site<'a>(topo: &'a Topology, s: &'a Site) -> SiteView<'a> {
    SiteView {
        id: &s.id,
        name: &s.name,
        description: s.description.as_deref(),
        location: s.location.as_ref(),
        rooms: s.rooms.iter().map(|&r| room(topo, r)).collect(),
    }
}

pub fn room(topo: &Topology, ix: RoomIx) -> RoomView<'_> {
    let r = &topo.rooms[ix];
    RoomView {
        id: &r.id,
        path: topo.room_path(ix),
        name: &r.name,
        site_id: &topo.sites[r.site].id,
        description: r.description.as_deref(),
        layout: r.layout.as_ref(),
        aisles: r
            .aisles
            .iter()
            .map(|&ax| {
                let a = &topo.aisles[ax];
                AisleView {
                    id: &a.id,
                    path: topo.aisle_path(ax),
                    name: &a.name,
                    racks: a.racks.iter().map(|&x| rack(topo, x)).collect(),
                }
            })
            .collect(),
        standalone_racks: r.standalone_racks.iter().map(|&x| rack(topo, x)).collect(),
    }
}

pub fn rack(topo: &Topology, ix: RackIx) -> RackView<'_> {
    let r = &topo.racks[ix];
    RackView {
        id: &r.id,
        path: topo.rack_path(ix),
        name: &r.name,
        template_id: r.template_id.as_deref(),
        u_height: r.u_height,
        aisle_id: r.aisle.map(|a| topo.aisles[a].id.as_str()),
        room_id: &topo.rooms[r.room].id,
        devices: r.devices.iter().map(|&d| device(topo, d)).collect(),
    }
}

pub fn device(topo: &Topology, ix: DeviceIx) -> DeviceView<'_> {
    let d = &topo.devices[ix];
    DeviceView {
        id: &d.id,
        path: topo.device_path(ix),
        name: &d.name,
        template_id: &d.template_id,
        u_position: d.u_position,
        face: d.face,
        instance: InstanceView(topo.device_instances(d)),
        labels: &d.labels,
    }
}

/// One room of `/api/rooms`.
#[derive(Serialize, ToSchema)]
pub struct RoomSummary<'a> {
    id: &'a str,
    /// `site/room`.
    path: String,
    name: &'a str,
    site_id: &'a str,
    site_name: &'a str,
    aisle_count: usize,
    rack_count: usize,
    standalone_rack_count: usize,
    /// The Python version's list shape; standalone racks form a virtual aisle
    /// `<room>-standalone` named "Standalone", as its front end expects.
    aisles: Vec<AisleSummary<'a>>,
}

#[derive(Serialize, ToSchema)]
struct AisleSummary<'a> {
    #[schema(value_type = String)]
    id: Cow<'a, str>,
    name: &'a str,
    racks: Vec<RackRef<'a>>,
}

#[derive(Serialize, ToSchema)]
struct RackRef<'a> {
    id: &'a str,
    path: String,
    name: &'a str,
}

/// `/api/rooms`.
pub fn rooms(topo: &Topology) -> Vec<RoomSummary<'_>> {
    let refs = |racks: &[RackIx]| -> Vec<RackRef<'_>> {
        racks
            .iter()
            .map(|&x| {
                let r = &topo.racks[x];
                RackRef {
                    id: &r.id,
                    path: topo.rack_path(x),
                    name: &r.name,
                }
            })
            .collect()
    };
    topo.rooms
        .iter_ix()
        .map(|(ix, room)| {
            let site = &topo.sites[room.site];
            let mut aisles: Vec<AisleSummary<'_>> = room
                .aisles
                .iter()
                .map(|&a| {
                    let a = &topo.aisles[a];
                    AisleSummary {
                        id: Cow::Borrowed(&a.id),
                        name: &a.name,
                        racks: refs(&a.racks),
                    }
                })
                .collect();
            if !room.standalone_racks.is_empty() {
                aisles.push(AisleSummary {
                    id: Cow::Owned(format!("{}-standalone", room.id)),
                    name: "Standalone",
                    racks: refs(&room.standalone_racks),
                });
            }
            RoomSummary {
                id: &room.id,
                path: topo.room_path(ix),
                name: &room.name,
                site_id: &site.id,
                site_name: &site.name,
                aisle_count: room.aisles.len(),
                rack_count: topo.room_racks(ix).count(),
                standalone_rack_count: room.standalone_racks.len(),
                aisles,
            }
        })
        .collect()
}

/// `/api/racks/{rack}/devices/{device}`: the device with its template and where it is.
#[derive(Serialize, ToSchema)]
pub struct RackDevice<'a> {
    pub device: DeviceView<'a>,
    /// The device template as written in the catalog; null when it is missing.
    #[schema(value_type = Option<Object>)]
    pub template: Option<&'a DeviceTemplate>,
    pub rack: RackView<'a>,
    pub room: IdName<'a>,
    pub site: SiteRef<'a>,
    /// Null for a standalone rack.
    pub aisle: Option<IdName<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct IdName<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct SiteRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
}

pub fn rack_device(config: &Config, ix: DeviceIx) -> RackDevice<'_> {
    let topo = &config.topology;
    let d = &topo.devices[ix];
    let rack = &topo.racks[d.rack];
    let room = &topo.rooms[rack.room];
    let site = &topo.sites[room.site];
    RackDevice {
        device: device(topo, ix),
        template: config.catalog.devices.get(&d.template_id).map(|t| &t.def),
        rack: self::rack(topo, d.rack),
        room: IdName {
            id: &room.id,
            name: &room.name,
        },
        site: SiteRef {
            id: &site.id,
            name: &site.name,
            description: site.description.as_deref(),
        },
        aisle: rack.aisle.map(|a| {
            let a = &topo.aisles[a];
            IdName {
                id: &a.id,
                name: &a.name,
            }
        }),
    }
}

/// `/api/catalog`: the templates as written.
#[derive(Serialize, ToSchema)]
pub struct CatalogView<'a> {
    #[schema(value_type = Vec<Object>)]
    pub device_templates: Vec<&'a DeviceTemplate>,
    #[schema(value_type = Vec<Object>)]
    pub rack_templates: Vec<&'a RackTemplate>,
    #[schema(value_type = Vec<Object>)]
    pub rack_component_templates: Vec<&'a RackComponentTemplate>,
}

pub fn catalog(config: &Config) -> CatalogView<'_> {
    let c = &config.catalog;
    CatalogView {
        device_templates: c.devices.iter().map(|t| &t.def).collect(),
        rack_templates: c.racks.iter().map(|t| &t.def).collect(),
        rack_component_templates: c.components.iter().map(|t| &t.def).collect(),
    }
}

/// `/api/checks`.
#[derive(Serialize, ToSchema)]
pub struct ChecksView {
    /// Each check's definition as written, with its `kind`.
    #[schema(value_type = Vec<Object>)]
    pub checks: Vec<Value>,
}

/// `/api/checks`: the definitions as written, each with its kind.
pub fn checks(config: &Config) -> ChecksView {
    let list: Vec<Value> = config
        .checks
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(&c.def).unwrap_or_default();
            // A check grouped under `kinds:` carries its kind from the group.
            if let (Some(o), Some(k)) = (v.as_object_mut(), config.check_kinds.get(&*c.def.id)) {
                o.insert("kind".into(), json!(k));
            }
            v
        })
        .collect();
    ChecksView { checks: list }
}

/// `/api/metrics/library`.
#[derive(Serialize, ToSchema)]
pub struct MetricsLibrary<'a> {
    pub count: usize,
    /// Each metric's definition as written in the library.
    #[schema(value_type = Vec<Object>)]
    pub metrics: Vec<&'a MetricDef>,
}

/// Filtered by category and tag.
pub fn metrics_library<'a>(
    config: &'a Config,
    category: Option<&str>,
    tag: Option<&str>,
) -> MetricsLibrary<'a> {
    let metrics: Vec<_> = config
        .metrics
        .iter()
        .map(|m| &m.def)
        .filter(|m| category.is_none_or(|c| m.category.as_deref() == Some(c)))
        .filter(|m| tag.is_none_or(|t| m.tags.iter().any(|x| x == t)))
        .collect();
    MetricsLibrary {
        count: metrics.len(),
        metrics,
    }
}
