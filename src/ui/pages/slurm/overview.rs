//! `/slurm/overview`: Slurm nodes by severity and by status, and each partition's nodes
//! by status (`/slurm/partitions` is the same page, at its partitions).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use rackscope_core::read::slurm::{slurm_nodes, slurm_partitions, slurm_summary};
use rackscope_core::slurm::Level;

use super::Sev;
use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, world};
use crate::ui::urls::enc;
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct Count {
    pub label: String,
    pub n: usize,
    pub sev: Option<Sev>,
    /// The nodes table filtered to these nodes.
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct Partition {
    pub name: String,
    pub total: usize,
    pub statuses: Vec<Count>,
}

#[derive(Debug, Serialize)]
pub struct SlurmOverviewPage {
    pub off: Option<&'static str>,
    /// The Slurm query failed (or no refresh yet): the counts are not current.
    pub error: Option<String>,
    pub total: usize,
    pub by_level: Vec<Count>,
    pub by_status: Vec<Count>,
    pub partitions: Vec<Partition>,
}

impl Page for SlurmOverviewPage {
    const TEMPLATE: &'static str = "slurm-overview.html";
}

pub async fn handler(State(st): State<AppState>, ctx: Ctx) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let mut page = SlurmOverviewPage {
        off: config.slurm.is_none().then_some(super::OFF),
        error: rackscope_core::read::slurm::slurm_error(snap),
        total: 0,
        by_level: Vec::new(),
        by_status: Vec::new(),
        partitions: Vec::new(),
    };
    if let (Some(s), None) = (snap, page.off) {
        let nodes = slurm_nodes(s, None);
        let sum = slurm_summary(&nodes);
        // Worst first, as an operator reads them.
        let levels = [
            Level::Crit,
            Level::Warn,
            Level::Unknown,
            Level::Ok,
            Level::Info,
        ];
        page.total = sum.total;
        page.by_level = levels
            .iter()
            .filter_map(|l| sum.by_level.get(l).map(|n| (l, *n)))
            .map(|(l, n)| Count {
                label: l.as_str().to_owned(),
                n,
                sev: Some(Sev::of(*l)),
                url: format!("/slurm/nodes?severity={}", l.as_str()),
            })
            .collect();
        page.by_status = sum
            .by_status
            .iter()
            .map(|(status, n)| Count {
                label: (*status).to_owned(),
                n: *n,
                sev: None,
                url: format!("/slurm/nodes?status={}", enc(status)),
            })
            .collect();
        page.partitions = slurm_partitions(&nodes)
            .into_iter()
            .map(|(name, statuses)| Partition {
                name: name.to_owned(),
                total: statuses.values().sum(),
                statuses: statuses
                    .into_iter()
                    .map(|(status, n)| Count {
                        label: status.to_owned(),
                        n,
                        sev: None,
                        url: format!(
                            "/slurm/nodes?partition={}&status={}",
                            enc(name),
                            enc(status)
                        ),
                    })
                    .collect(),
            })
            .collect();
    }
    let crumbs = crumbs(&config.topology, Above::Overview);
    let c = chrome(&st, &ctx, &config, snap, "Workload", "slurm", crumbs);
    html(&st, &ctx, StatusCode::OK, &c, &page)
}
