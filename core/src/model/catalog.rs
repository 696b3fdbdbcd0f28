//! Template files: device templates, rack templates and rack component templates. Any YAML
//! file under `paths.templates` (searched recursively) may hold any of the three lists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::topology::Skip;
use crate::yaml::Located;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct TemplatesFile {
    pub templates: Option<Vec<Skip>>,
    pub rack_templates: Option<Vec<Skip>>,
    pub rack_component_templates: Option<Vec<Skip>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceTemplate {
    pub id: Located<String>,
    pub name: String,
    #[serde(rename = "type", default = "default_device_type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub u_height: Located<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Located<Layout>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_layout: Option<Located<Layout>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rear_layout: Option<Located<Layout>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rear_components: Vec<RearComponent>,
    #[serde(default)]
    pub checks: Vec<Located<String>>,
    #[serde(default)]
    pub metrics: Vec<Located<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub display_thresholds: BTreeMap<String, Thresholds>,
}

fn default_device_type() -> String {
    "server".into()
}

/// A grid of slots: each matrix cell holds the slot number drawn there (0 or less: empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    #[serde(rename = "type", default = "default_layout_type")]
    pub kind: String,
    #[serde(default = "one")]
    pub rows: u32,
    #[serde(default = "one")]
    pub cols: u32,
    pub matrix: Vec<Vec<i64>>,
}

fn default_layout_type() -> String {
    "grid".into()
}

fn one() -> u32 {
    1
}

impl Layout {
    /// The slot numbers drawn in the grid, in reading order, empty cells left out.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.matrix
            .iter()
            .flatten()
            .filter(|c| **c > 0)
            .map(|c| *c as u32)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RearComponent {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub checks: Vec<Located<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    #[serde(default)]
    pub warn: Option<f64>,
    #[serde(default)]
    pub crit: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RackTemplate {
    pub id: Located<String>,
    pub name: String,
    #[serde(default = "default_rack_height")]
    pub u_height: u32,
    #[serde(default)]
    pub checks: Vec<Located<String>>,
    #[serde(default)]
    pub metrics: Vec<Located<String>>,
    #[serde(default)]
    pub infrastructure: Infrastructure,
}

pub fn default_rack_height() -> u32 {
    42
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Infrastructure {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<InfraComponent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub front_components: Vec<InfraComponent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rear_components: Vec<InfraComponent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub side_components: Vec<InfraComponent>,
    pub rack_components: Vec<RackComponentRef>,
}

/// Legacy inline infrastructure component of a rack template.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InfraComponent {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub u_position: Option<u32>,
    #[serde(default)]
    pub u_height: Option<u32>,
}

/// A rack component template placed in a rack template.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RackComponentRef {
    pub template_id: Located<String>,
    /// The placed component's own id (`pdu-left`), used to key its metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u_position: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u_height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    /// `left`, `right`, `rear`… as the example files write it; `left`/`right` mean `side`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl RackComponentRef {
    /// The side a component hangs on: `side:`, else a `location:` of left or right.
    pub fn effective_side(&self) -> Option<&str> {
        self.side.as_deref().or(match self.location.as_deref() {
            Some(l @ ("left" | "right")) => Some(l),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RackComponentTemplate {
    pub id: Located<String>,
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub side: Option<String>,
    pub u_height: u32,
    #[serde(default)]
    pub u_position: Option<u32>,
    #[serde(default)]
    pub checks: Vec<Located<String>>,
    #[serde(default)]
    pub metrics: Vec<Located<String>>,
}
