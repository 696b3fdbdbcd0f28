//! Named cluster views written to `views.yaml`: save (create or replace) and delete, each
//! one edit of the file in place (`core::edit`, comments kept), checked as the loader checks
//! it before it is written, written atomically under the directory lock, audited, and
//! committed with `editors.git_commit`. The pages call these from `spawn_blocking`.

use rackscope_core::Config;
use rackscope_core::edit::{Doc, Seg, lock_dir_of, write_atomic};
use rackscope_core::views::{ClusterViewDef, Views};
use rackscope_core::yaml::{Kind, Node};

use crate::editing::Problem;

const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

const HEADER: &str = "# Cluster views (docs/ui.md): racks shown side by side on /views/cluster/<id>.\n\
# Written by Rackscope's cluster page, and fine to edit by hand.\nviews: []\n";

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("no view `{0}`")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("views.yaml would not load")]
    Invalid(Vec<Problem>),
    #[error("{0}")]
    Io(String),
}

/// The views as the server shows them now: the file read again, so that a change made by
/// hand shows at once. A file that does not load gives no view and its first problem.
pub fn current(config: &Config) -> (Views, Option<String>) {
    let (views, diags) = rackscope_core::load::views_of(config, None);
    let problem = diags.errors().next().map(|d| d.to_string());
    (views, problem)
}

enum Change<'a> {
    Save(&'a ClusterViewDef),
    Delete(&'a str),
}

pub fn save(config: &Config, def: &ClusterViewDef, who: &str) -> Result<Views, ViewError> {
    rackscope_core::views::check(def).map_err(ViewError::BadRequest)?;
    write(config, Change::Save(def), who)
}

pub fn delete(config: &Config, id: &str, who: &str) -> Result<Views, ViewError> {
    write(config, Change::Delete(id), who)
}

fn write(config: &Config, change: Change<'_>, who: &str) -> Result<Views, ViewError> {
    let path = rackscope_core::views::file_of(&config.app_file);
    let io = |e: std::io::Error| ViewError::Io(format!("{}: {e}", path.display()));
    let _lock = lock_dir_of(&path).map_err(io)?;
    let text = match rackscope_core::walk::read_bounded(&path, MAX_FILE_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HEADER.to_owned(),
        Err(e) => return Err(io(e)),
    };
    // A file that does not load now is fixed first, by hand or in the editor, rather than
    // written over.
    let (_, diags) = rackscope_core::load::views_of(config, Some(&text));
    if diags.has_errors() {
        return Err(ViewError::Invalid(
            diags.errors().take(50).map(Problem::of).collect(),
        ));
    }
    let mut doc = Doc::parse(&text).map_err(|e| ViewError::Io(e.to_string()))?;
    let edit = |e: rackscope_core::edit::EditError| ViewError::Io(e.to_string());
    let list = [Seg::Key("views")];
    let (id, action) = match change {
        Change::Save(def) => {
            // Replaced in place of the old one would need a splice the editor does not
            // make; removed and added again, it moves to the end of the list.
            let action = match doc.find_item(&list, "id", &def.id) {
                Some(i) => {
                    doc.remove_item(&list, i).map_err(edit)?;
                    "update"
                }
                None => "create",
            };
            doc.push_node(&list, &node_of(def), None).map_err(edit)?;
            (def.id.as_str(), action)
        }
        Change::Delete(id) => {
            let i = doc
                .find_item(&list, "id", id)
                .ok_or_else(|| ViewError::NotFound(id.to_owned()))?;
            doc.remove_item(&list, i).map_err(edit)?;
            (id, "delete")
        }
    };
    let (after, diags) = rackscope_core::load::views_of(config, Some(doc.text()));
    if diags.has_errors() {
        return Err(ViewError::Invalid(
            diags.errors().take(50).map(Problem::of).collect(),
        ));
    }
    write_atomic(&path, doc.text(), false).map_err(io)?;
    tracing::info!(
        target: "rackscope::audit",
        event = "cluster_view",
        action,
        id = %id.escape_debug(),
        user = %who.escape_debug(),
        "cluster view changed"
    );
    if config.app.editors.git_commit {
        crate::editing::git_commit_files(std::slice::from_ref(&path), "cluster views", who);
    }
    Ok(after)
}

fn node_of(def: &ClusterViewDef) -> Node {
    let mut fields = vec![("id", Node::string(&def.id))];
    if let Some(n) = &def.name {
        fields.push(("name", Node::string(n)));
    }
    if let Some(d) = &def.description {
        fields.push(("description", Node::string(d)));
    }
    fields.push((
        "racks",
        Node::of(Kind::Seq(
            def.racks.iter().map(|r| Node::string(r)).collect(),
        )),
    ));
    Node::mapping(fields)
}
