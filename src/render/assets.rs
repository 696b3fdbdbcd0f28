//! The templates and static files built into the binary, by the names pages use. A
//! directory given with `--templates` overrides any of them file by file.

/// (name, source) of every template.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "components.html",
        include_str!("../../templates/components.html"),
    ),
    ("base.html", include_str!("../../templates/base.html")),
    (
        "partials/banner.html",
        include_str!("../../templates/partials/banner.html"),
    ),
    (
        "partials/tree.html",
        include_str!("../../templates/partials/tree.html"),
    ),
    (
        "overview.html",
        include_str!("../../templates/overview.html"),
    ),
    ("site.html", include_str!("../../templates/site.html")),
    ("room.html", include_str!("../../templates/room.html")),
    ("rack.html", include_str!("../../templates/rack.html")),
    ("device.html", include_str!("../../templates/device.html")),
    ("alerts.html", include_str!("../../templates/alerts.html")),
    ("checks.html", include_str!("../../templates/checks.html")),
    ("search.html", include_str!("../../templates/search.html")),
    (
        "maintenances.html",
        include_str!("../../templates/maintenances.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "slurm-overview.html",
        include_str!("../../templates/slurm-overview.html"),
    ),
    (
        "slurm-nodes.html",
        include_str!("../../templates/slurm-nodes.html"),
    ),
    (
        "slurm-wallboard.html",
        include_str!("../../templates/slurm-wallboard.html"),
    ),
    (
        "playlist.html",
        include_str!("../../templates/playlist.html"),
    ),
    ("cluster.html", include_str!("../../templates/cluster.html")),
    (
        "ambiguous.html",
        include_str!("../../templates/ambiguous.html"),
    ),
    ("signin.html", include_str!("../../templates/signin.html")),
    (
        "settings.html",
        include_str!("../../templates/settings.html"),
    ),
    ("editors.html", include_str!("../../templates/editors.html")),
    ("logs.html", include_str!("../../templates/logs.html")),
    (
        "editors-checks.html",
        include_str!("../../templates/editors-checks.html"),
    ),
    ("editor.html", include_str!("../../templates/editor.html")),
];

/// (name, content type, body) of every file under `/static/`.
pub const STATIC: &[(&str, &str, &str)] = &[
    (
        "rackscope.css",
        "text/css; charset=utf-8",
        include_str!("../../templates/static/rackscope.css"),
    ),
    (
        "rackscope.js",
        "text/javascript; charset=utf-8",
        include_str!("../../templates/static/rackscope.js"),
    ),
    (
        "notify.js",
        "text/javascript; charset=utf-8",
        include_str!("../../templates/static/notify.js"),
    ),
    (
        "logs.js",
        "text/javascript; charset=utf-8",
        include_str!("../../templates/static/logs.js"),
    ),
    // Prism (templates/static/vendor/prism/README.md), core then its YAML grammar, which
    // registers itself on the core's global: one file, so that their order cannot change.
    (
        "prism.js",
        "text/javascript; charset=utf-8",
        concat!(
            include_str!("../../templates/static/vendor/prism/prism-core.min.js"),
            "\n",
            include_str!("../../templates/static/vendor/prism/prism-yaml.min.js"),
            "\n"
        ),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../templates/static/favicon.svg"),
    ),
];
