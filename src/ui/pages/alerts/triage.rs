//! The alerts page's links: this view's URL with some keys changed, for the sort headers,
//! the pager and the export (the filters themselves are `core::read::triage`).

use rackscope_core::read::triage::{PER_DEFAULT, Triage};

use crate::ui::urls::enc;

/// The query string of this view with some keys changed (`None` removes one).
pub(super) fn href(t: &Triage, changes: &[(&str, Option<String>)]) -> String {
    let mut keys: Vec<(&str, Option<String>)> = vec![
        ("severity", t.severity.clone()),
        ("type", t.kind.clone()),
        ("site", t.site.clone()),
        ("room", t.room.clone()),
        ("rack", t.rack.clone()),
        ("check", t.check.clone()),
        ("q", t.text.clone()),
        ("sort", t.sort.map(|c| c.key().to_owned())),
        (
            "dir",
            t.sort
                .map(|_| if t.desc { "desc" } else { "asc" }.to_owned()),
        ),
        ("per", (t.per != PER_DEFAULT).then(|| t.per.to_string())),
        ("page", (t.page > 1).then(|| t.page.to_string())),
    ];
    for (k, v) in changes {
        if let Some(slot) = keys.iter_mut().find(|(key, _)| key == k) {
            slot.1 = v.clone();
        }
    }
    let q: Vec<String> = keys
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", enc(&v))))
        .collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}
