//! The topology files as written: `sites.yaml`, `room.yaml`, `aisle.yaml`, rack files, and
//! the single-file (monolithic) form. Resolution into the physical tree is in `topology.rs`
//! at the crate root; these types only mirror the YAML.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::yaml::Located;

/// A child list the loader walks node by node (so one bad item does not hide the next).
pub type Skip = serde::de::IgnoredAny;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct SitesFile {
    pub sites: Vec<Skip>,
}

/// One entry of `sites.yaml` (or of a monolithic topology, where rooms are inline).
#[derive(Debug, Clone, Deserialize)]
pub struct SiteDef {
    pub id: Located<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    /// Flat coordinates on the site itself, accepted as well as `location:`.
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub timezone: Option<String>,
    /// Where the site's rooms live, relative to the topology directory
    /// (default `datacenters/<site>/rooms`).
    #[serde(default)]
    pub rooms_path: Option<String>,
    /// `None` or empty: rooms are discovered from the directory.
    #[serde(default)]
    pub rooms: Option<Vec<Skip>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `room.yaml`, or an inline room.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RoomDef {
    #[serde(default)]
    pub id: Option<Located<String>>,
    #[serde(default)]
    pub name: Option<String>,
    /// Back-reference some files carry; checked against the parent when present.
    #[serde(default)]
    pub site_id: Option<Located<String>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub layout: Option<RoomLayout>,
    #[serde(default)]
    pub aisles: Option<Vec<Skip>>,
    #[serde(default)]
    pub standalone_racks: Option<Vec<Skip>>,
}

/// An aisle as listed in `room.yaml`; inline racks make it a full definition.
#[derive(Debug, Clone, Deserialize)]
pub struct AisleEntry {
    pub id: Located<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub racks: Option<Vec<Skip>>,
}

/// `aisle.yaml`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct AisleFile {
    #[serde(default)]
    pub id: Option<Located<String>>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub room_id: Option<Located<String>>,
    #[serde(default)]
    pub racks: Option<Vec<Skip>>,
}

/// A rack file (or inline rack).
#[derive(Debug, Clone, Deserialize)]
pub struct RackDef {
    pub id: Located<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub u_height: Option<Located<u32>>,
    #[serde(default)]
    pub template_id: Option<Located<String>>,
    #[serde(default)]
    pub aisle_id: Option<String>,
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default)]
    pub site_id: Option<String>,
    #[serde(default)]
    pub devices: Option<Vec<Skip>>,
}

/// A device in a rack.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceDef {
    pub id: Located<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub template_id: Located<String>,
    pub u_position: Located<u32>,
    #[serde(default)]
    pub face: Option<Face>,
    #[serde(default)]
    pub instance: Option<Located<InstanceSpec>>,
    /// Deprecated alias of `instance`; honoured with a warning.
    #[serde(default)]
    pub nodes: Option<Located<InstanceSpec>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Face {
    #[default]
    Front,
    Rear,
}

/// The `instance:` of a device, as written: a name or pattern, a list, or a slot map.
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceSpec {
    One(String),
    List(Vec<String>),
    Slots(Vec<(u32, String)>),
}

impl<'de> Deserialize<'de> for InstanceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InstanceSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an instance name or pattern, a list of them, or a map of slot numbers to names")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<InstanceSpec, E> {
                Ok(InstanceSpec::One(s.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<InstanceSpec, E> {
                Ok(InstanceSpec::One(i.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<InstanceSpec, E> {
                Ok(InstanceSpec::List(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<InstanceSpec, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = a.next_element::<ScalarString>()? {
                    v.push(s.0);
                }
                Ok(InstanceSpec::List(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<InstanceSpec, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = a.next_key::<ScalarString>()? {
                    let slot: u32 = k.0.trim().parse().map_err(|_| {
                        de::Error::custom(format!("slot `{}` is not a positive whole number", k.0))
                    })?;
                    let name: ScalarString = a.next_value()?;
                    v.push((slot, name.0));
                }
                Ok(InstanceSpec::Slots(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string that YAML may have typed as a number (`1: compute001`, `- 007`).
struct ScalarString(String);

impl<'de> Deserialize<'de> for ScalarString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ScalarString)
    }
}

/// Floor-plan metadata of a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomLayout {
    pub shape: String,
    pub size: LayoutSize,
    pub orientation: Orientation,
    pub grid: LayoutGrid,
    pub door: Door,
}

impl Default for RoomLayout {
    fn default() -> Self {
        RoomLayout {
            shape: "rectangle".into(),
            size: LayoutSize::default(),
            orientation: Orientation::default(),
            grid: LayoutGrid::default(),
            door: Door::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayoutSize {
    pub width: u32,
    pub height: u32,
}

impl Default for LayoutSize {
    fn default() -> Self {
        LayoutSize {
            width: 24,
            height: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Orientation {
    pub north: Side4,
}

impl Default for Orientation {
    fn default() -> Self {
        Orientation { north: Side4::Top }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side4 {
    Top,
    Right,
    Bottom,
    Left,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayoutGrid {
    pub enabled: bool,
    pub cell: u32,
}

impl Default for LayoutGrid {
    fn default() -> Self {
        LayoutGrid {
            enabled: false,
            cell: 32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Door {
    pub side: Compass,
    pub label: String,
    pub position: f64,
}

impl Default for Door {
    fn default() -> Self {
        Door {
            side: Compass::West,
            label: "Entrance".into(),
            position: 0.2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compass {
    North,
    South,
    East,
    West,
}
