//! The libraries of a configuration: definitions addressed by id, each with the file it came
//! from (templates, checks, metrics).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::diag::{Diagnostics, Pos, Span};
use crate::model::catalog::{DeviceTemplate, RackComponentTemplate, RackTemplate};
use crate::model::checks::CheckDef;
use crate::yaml::Located;

/// A definition together with the file it came from.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub def: T,
    pub file: Arc<Path>,
}

impl<T> Sourced<T> {
    pub fn span(&self, pos: Pos) -> Span {
        Span::new(&self.file, pos)
    }
}

/// Definitions that carry their own id.
pub trait HasId {
    fn id(&self) -> &str;
}

impl HasId for CheckDef {
    fn id(&self) -> &str {
        &self.id.value
    }
}

/// A library of definitions addressed by id, in load order.
#[derive(Debug, Clone)]
pub struct Library<T> {
    pub items: Vec<Sourced<T>>,
    by_id: HashMap<String, usize>,
}

impl<T> Default for Library<T> {
    fn default() -> Self {
        Library {
            items: Vec::new(),
            by_id: HashMap::new(),
        }
    }
}

impl<T> Library<T> {
    pub fn get(&self, id: &str) -> Option<&Sourced<T>> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }
    /// A library of the given definitions; of two with one id, the first wins.
    pub fn from_items(items: Vec<Sourced<T>>) -> Library<T>
    where
        T: HasId,
    {
        let mut by_id = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            by_id.entry(it.def.id().to_owned()).or_insert(i);
        }
        Library { items, by_id }
    }
    /// The position of a definition in `items`, a stable handle for the engine's tables.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Sourced<T>> {
        self.items.iter()
    }
    /// Adds a definition; a second one with the same id is refused and reported.
    pub(crate) fn insert(
        &mut self,
        id: &Located<String>,
        item: Sourced<T>,
        what: &str,
        diags: &mut Diagnostics,
    ) {
        if let Some(&first) = self.by_id.get(&id.value) {
            let prev = &self.items[first].file;
            diags.error(
                "duplicate-id",
                item.span(id.pos),
                format!(
                    "{what} id `{}` is already defined in {}; ids must be unique",
                    id.value,
                    prev.display()
                ),
            );
            return;
        }
        self.by_id.insert(id.value.clone(), self.items.len());
        self.items.push(item);
    }

    /// Adds a template, as the Python version merges template files: an id defined again
    /// in a later file replaces the earlier definition, with a warning naming both files,
    /// unless the two definitions are the same (two vendors' files both shipping
    /// `generic-2u-jbod`). Twice in one file is still an error.
    pub(crate) fn insert_later_wins(
        &mut self,
        id: &Located<String>,
        item: Sourced<T>,
        what: &str,
        diags: &mut Diagnostics,
    ) where
        T: serde::Serialize,
    {
        let Some(&first) = self.by_id.get(&id.value) else {
            return self.insert(id, item, what, diags);
        };
        let prev = &self.items[first];
        if prev.file == item.file {
            return self.insert(id, item, what, diags);
        }
        // Compared as written, positions aside (`Located` serializes as its value).
        let same = match (
            serde_json::to_value(&prev.def),
            serde_json::to_value(&item.def),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return;
        }
        diags.warning(
            "template-redefined",
            item.span(id.pos),
            format!(
                "{what} `{}` is also defined, differently, in {}; this later definition is the one used",
                id.value,
                prev.file.display()
            ),
        );
        self.items[first] = item;
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub devices: Library<DeviceTemplate>,
    pub racks: Library<RackTemplate>,
    pub components: Library<RackComponentTemplate>,
}
