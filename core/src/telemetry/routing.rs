//! Which Prometheus answers for which site: `telemetry.sources` names sites, every other
//! site is asked at `telemetry.prometheus_url` (source 0). The one place a target, a site or
//! an ad hoc query is mapped to a source.

use std::sync::Arc;

use crate::bind::Targets;
use crate::config::Config;
use crate::model::checks::Scope;
use crate::topology::{DeviceIx, RackIx, SiteIx, Topology};

/// A source's position: 0 is the default, then `telemetry.sources` in order.
pub type SourceIx = u16;

/// The default source (`telemetry.prometheus_url`).
pub const DEFAULT_SOURCE: SourceIx = 0;

#[derive(Debug, Clone, PartialEq)]
pub struct Routes {
    /// Site index → its source.
    of_site: Vec<SourceIx>,
    /// The sources' names, by position.
    pub names: Vec<Arc<str>>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            of_site: Vec::new(),
            names: vec![Arc::from("default")],
        }
    }
}

impl Routes {
    /// The routes a configuration asks for. A site named by two sources goes to the first
    /// (validation reports the second), an unknown site id is ignored (reported too).
    pub fn of(config: &Config) -> Routes {
        let t = &config.app.telemetry;
        let topo = &config.topology;
        let mut of_site = vec![DEFAULT_SOURCE; topo.sites.len()];
        let names = (0..t.source_count())
            .map(|i| Arc::from(t.source_name(i)))
            .collect();
        for (j, source) in t.sources.iter().enumerate().take(t.source_count() - 1) {
            let ix = SourceIx::try_from(j + 1).unwrap_or(SourceIx::MAX);
            for id in &source.sites {
                if let Some((s, _)) = topo.sites.iter_ix().find(|(_, s)| &s.id == id)
                    && of_site[s.index()] == DEFAULT_SOURCE
                {
                    of_site[s.index()] = ix;
                }
            }
        }
        Routes { of_site, names }
    }

    /// How many sources there are (1 when only `prometheus_url` is set).
    pub fn count(&self) -> usize {
        self.names.len()
    }

    pub fn is_single(&self) -> bool {
        self.names.len() <= 1
    }

    /// The source that answers for a site.
    pub fn site(&self, site: SiteIx) -> SourceIx {
        self.of_site
            .get(site.index())
            .copied()
            .unwrap_or(DEFAULT_SOURCE)
    }

    /// The sites a source answers for.
    pub fn sites_of(&self, source: SourceIx) -> impl Iterator<Item = SiteIx> + '_ {
        self.of_site
            .iter()
            .enumerate()
            .filter(move |(_, s)| **s == source)
            .map(|(i, _)| SiteIx::new(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// The source of a rack's site.
    pub fn rack(&self, topo: &Topology, rack: RackIx) -> SourceIx {
        self.site(topo.rooms[topo.racks[rack].room].site)
    }

    /// The source of a plan target (a node, a chassis or a rack, by its scope).
    pub fn target(&self, topo: &Topology, targets: &Targets, scope: Scope, t: u32) -> SourceIx {
        if self.is_single() {
            return DEFAULT_SOURCE;
        }
        let rack = match scope {
            Scope::Node => topo.devices[targets.node_device(topo, t)].rack,
            Scope::Chassis => topo.devices[DeviceIx::new(t)].rack,
            Scope::Rack => RackIx::new(t),
        };
        self.rack(topo, rack)
    }
}
