//! The exposition: every family of the catalog, for every target it applies to, encoded
//! with prometheus-client as OpenMetrics text at scrape time (nothing is kept between
//! scrapes, so memory stays flat however large the topology).

use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, LabelSetEncoder, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use rackscope_core::topology::{Rack, RackIx, Room, Site};

use crate::catalog::{Catalog, Family, Gen, LabelValue, Scope, Token};
use crate::sim::{EPOCH, Frame, NodeState, RackState, hash, unit};
use crate::world::{Class, Node, World};

/// Content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const IB_STATES: [&str; 4] = ["active", "down", "init", "armed"];

/// Renders one scrape. `size_hint` is the length of the previous scrape, so the buffer is
/// allocated once. (Encoding families on several threads was measured: no faster on this
/// machine, where the time goes to writing and first-touching ~270 MB of text.)
pub fn render(
    world: &Arc<World>,
    catalog: &Arc<Catalog>,
    frame: Arc<Frame>,
    size_hint: usize,
) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        world: world.clone(),
        catalog: catalog.clone(),
        frame,
    }));
    let mut out = String::with_capacity(size_hint + size_hint / 16 + 4096);
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        // Writing into a String cannot fail; keep what was written.
        tracing::warn!("exposition encoding stopped early");
    }
    out
}

#[derive(Debug)]
struct Scrape {
    world: Arc<World>,
    catalog: Arc<Catalog>,
    frame: Arc<Frame>,
}

/// Per-sample label values (`$token`s); "" leaves the label out.
#[derive(Default, Clone, Copy)]
struct Tokens<'a> {
    node: &'a str,
    rack: &'a str,
    site: &'a str,
    room: &'a str,
    chassis: &'a str,
    port: &'a str,
    state: &'a str,
    status: &'a str,
    drive_id: &'a str,
    slot: &'a str,
    tray: &'a str,
    partition: &'a str,
    sensor: &'a str,
    cpu: &'a str,
    pduid: &'a str,
    pduname: &'a str,
    inletid: &'a str,
    inletname: &'a str,
    outletid: &'a str,
    outletname: &'a str,
    psu: &'a str,
}

impl<'a> Tokens<'a> {
    fn get(&self, t: Token) -> &'a str {
        match t {
            Token::NodeId => self.node,
            Token::RackId => self.rack,
            Token::SiteId => self.site,
            Token::RoomId => self.room,
            Token::ChassisId => self.chassis,
            Token::Port => self.port,
            Token::State => self.state,
            Token::Status => self.status,
            Token::DriveId => self.drive_id,
            Token::Slot => self.slot,
            Token::Tray => self.tray,
            Token::Partition => self.partition,
            Token::Sensor => self.sensor,
            Token::Cpu => self.cpu,
            Token::PduId => self.pduid,
            Token::PduName => self.pduname,
            Token::InletId => self.inletid,
            Token::InletName => self.inletname,
            Token::OutletId => self.outletid,
            Token::OutletName => self.outletname,
            Token::Psu => self.psu,
        }
    }
}

/// Keys of the base labels, in order, for node and rack series.
const NODE_BASE: [&str; 7] = [
    "site_id",
    "room_id",
    "rack_id",
    "chassis_id",
    "node_id",
    "instance",
    "job",
];
/// `aisle_id` too: a rack id is unique only within its aisle, and two racks of one room
/// with one id would otherwise write the same series twice (a scrape Prometheus refuses).
/// Empty for a standalone rack, and then left out.
const RACK_BASE: [&str; 6] = [
    "site_id", "room_id", "aisle_id", "rack_id", "instance", "job",
];

/// Which base labels a family keeps, as a bit mask over `keys`: none with `labels_only`,
/// and not those its catalog labels set themselves (`job: sequana3` wins). Computed once
/// per family, not per sample.
fn base_mask(fam: &Family, keys: &[&str]) -> u8 {
    if !fam.base_labels {
        return 0;
    }
    keys.iter().enumerate().fold(0, |m, (i, k)| {
        if fam.labels.iter().any(|(fk, _)| fk == k) {
            m
        } else {
            m | 1 << i
        }
    })
}

struct Labels<'a> {
    keys: &'a [&'a str],
    values: &'a [&'a str],
    mask: u8,
    family: &'a [(String, LabelValue)],
    tokens: &'a Tokens<'a>,
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        let mut put = |k: &str, v: &str| -> Result<(), std::fmt::Error> {
            if v.is_empty() {
                return Ok(());
            }
            let mut label = encoder.encode_label();
            let mut key = label.encode_label_key()?;
            key.write_str(k)?;
            let mut value = key.encode_label_value()?;
            value.write_str(v)?;
            value.finish()
        };
        for (i, (k, v)) in self.keys.iter().zip(self.values).enumerate() {
            if self.mask & (1 << i) != 0 {
                put(k, v)?;
            }
        }
        for (k, v) in self.family {
            let v = match v {
                LabelValue::Literal(s) => s.as_str(),
                LabelValue::Token(t) => self.tokens.get(*t),
                LabelValue::Empty => "",
            };
            put(k, v)?;
        }
        Ok(())
    }
}

/// Writes the samples of one family.
struct Out<'e, 'm, 'a> {
    enc: &'e mut MetricEncoder<'m>,
    counter: bool,
    keys: &'a [&'a str],
    values: &'a [&'a str],
    mask: u8,
    family: &'a Family,
    forced: Option<f64>,
}

impl Out<'_, '_, '_> {
    fn put(&mut self, tokens: &Tokens<'_>, v: f64) -> Result<(), std::fmt::Error> {
        let v = self.forced.unwrap_or(v);
        let labels = Labels {
            keys: self.keys,
            values: self.values,
            mask: self.mask,
            family: &self.family.labels,
            tokens,
        };
        let mut m = self.enc.encode_family(&labels)?;
        if self.counter {
            m.encode_counter::<NoLabelSet, f64, f64>(&v, None)
        } else {
            m.encode_gauge(&v)
        }
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let max_slot = self
            .world
            .nodes
            .iter()
            .flat_map(|n| n.slots.iter().copied())
            .max()
            .unwrap_or(0)
            .max(16);
        let nums: Vec<String> = (0..=max_slot).map(|n| n.to_string()).collect();
        for fam in &self.catalog.families {
            // OpenMetrics counters are declared without `_total`, which the encoder adds.
            let counter = fam.name.ends_with("_total");
            let name = if counter {
                fam.name.trim_end_matches("_total")
            } else {
                fam.name.as_str()
            };
            let kind = if counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            let mut enc = encoder.encode_descriptor(name, &fam.help, None, kind)?;
            match fam.scope {
                Scope::Node => self.node_family(fam, counter, &mut enc, &nums)?,
                Scope::Rack => self.rack_family(fam, counter, &mut enc)?,
            }
        }
        Ok(())
    }
}

/// The rack-level label values every sample has.
fn rack_tokens<'a>(site: &'a Site, room: &'a Room, rack: &'a Rack) -> Tokens<'a> {
    Tokens {
        rack: &rack.id,
        site: &site.id,
        room: &room.id,
        ..Tokens::default()
    }
}

impl Scrape {
    /// The site, room and rack of rack `rack_ix`.
    fn place(&self, rack_ix: RackIx) -> (&Site, &Room, &Rack) {
        let topo = &self.world.config.topology;
        let rack = &topo.racks[rack_ix];
        let room = &topo.rooms[rack.room];
        (&topo.sites[room.site], room, rack)
    }

    /// The samples of a node family, node by node.
    fn node_family(
        &self,
        fam: &Family,
        counter: bool,
        enc: &mut MetricEncoder<'_>,
        nums: &[String],
    ) -> Result<(), std::fmt::Error> {
        let world = &*self.world;
        let topo = &world.config.topology;
        let frame = &*self.frame;
        let mask = base_mask(fam, &NODE_BASE);
        for (node_ix, node) in world.nodes.iter().enumerate() {
            if !applies(fam.fgen, node.class, !node.slots.is_empty()) || !fam.applies(&node.name) {
                continue;
            }
            let dev = &topo.devices[node.device];
            let (site, room, rack) = self.place(node.rack);
            let values = [
                site.id.as_str(),
                room.id.as_str(),
                rack.id.as_str(),
                dev.id.as_str(),
                node.name.as_str(),
                node.name.as_str(),
                "node",
            ];
            let tokens = Tokens {
                node: &node.name,
                chassis: &dev.id,
                ..rack_tokens(site, room, rack)
            };
            let mut out = Out {
                enc,
                counter,
                keys: &NODE_BASE,
                values: &values,
                mask,
                family: fam,
                forced: frame.forced.node_value(node_ix as u32, &fam.name),
            };
            let samples = NodeSamples {
                node_ix,
                node,
                state: &frame.nodes[node_ix],
                frame,
                base: &tokens,
                nums,
            };
            samples.write(fam.fgen, &mut out)?;
        }
        Ok(())
    }

    /// The samples of a rack family, rack by rack.
    fn rack_family(
        &self,
        fam: &Family,
        counter: bool,
        enc: &mut MetricEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        let world = &*self.world;
        let topo = &world.config.topology;
        let frame = &*self.frame;
        let mask = base_mask(fam, &RACK_BASE);
        for (rack_ix, rack) in topo.racks.iter_ix() {
            if !fam.applies(&rack.id) {
                continue;
            }
            let (site, room, _) = self.place(rack_ix);
            let [pdu, sequana, rack_inst] = &world.rack_instances[rack_ix.index()];
            let (instance, job) = match fam.fgen {
                Gen::SequanaState
                | Gen::SequanaPressure
                | Gen::SequanaFlow
                | Gen::SequanaLeak
                | Gen::SequanaPcbTemp
                | Gen::SequanaPmcWatt
                | Gen::PmcTotalPower
                | Gen::HmcCoolantTemp => (sequana.as_str(), "sequana3"),
                Gen::RackFanState | Gen::RackPsuStatus => (rack_inst.as_str(), "rack"),
                _ => (pdu.as_str(), "pdu"),
            };
            let aisle = rack.aisle.map_or("", |a| topo.aisles[a].id.as_str());
            let values = [
                site.id.as_str(),
                room.id.as_str(),
                aisle,
                rack.id.as_str(),
                instance,
                job,
            ];
            let tokens = rack_tokens(site, room, rack);
            let mut out = Out {
                enc,
                counter,
                keys: &RACK_BASE,
                values: &values,
                mask,
                family: fam,
                forced: frame.forced.rack_value(rack_ix.get(), &fam.name),
            };
            rack_samples(fam.fgen, rack_ix.index(), frame, &tokens, &mut out)?;
        }
        Ok(())
    }
}

/// Which families a node of this class exports, like the real exporters it imitates.
fn applies(fgen: Gen, class: Class, has_drives: bool) -> bool {
    use Gen::*;
    let server = matches!(class, Class::Compute | Class::Gpu | Class::Service);
    match fgen {
        Up | Temperature | Power | Load | HealthStatus | BootTime => true,
        IpmiUp | IpmiState(_) | IpmiTemperatureCelsius | IpmiPowerWatts => server,
        SwitchPortOper | SwitchPortIn | SwitchPortOut | IfErrors(_) | InfinibandPortState => {
            class == Class::Network
        }
        EseriesCollectError | EseriesSystemStatus | EseriesDriveStatus | EseriesComponent(_) => {
            has_drives
        }
        SlurmNodeStatus | SlurmNodeJobs => matches!(class, Class::Compute | Class::Gpu),
        CpuSeconds | MemTotal | MemAvailable | FsSize | FsAvail | DiskBytes(_) | NetBytes(_) => {
            server
        }
        _ => false,
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// One node's view of the frame, with its base label values.
struct NodeSamples<'a, 'b> {
    node_ix: usize,
    node: &'b Node,
    state: &'b NodeState,
    frame: &'b Frame,
    base: &'b Tokens<'a>,
    /// Numbers as text, for port and slot labels.
    nums: &'a [String],
}

impl<'a> NodeSamples<'a, '_> {
    fn num(&self, n: u32) -> &'a str {
        self.nums.get(n as usize).map_or("", String::as_str)
    }

    /// A constant per-node draw in [0, 1), by salt.
    fn salt(&self, k: u64) -> f64 {
        unit(hash(self.node_ix as u64, k, 0x5eed))
    }

    fn write(&self, fgen: Gen, out: &mut Out<'_, '_, '_>) -> Result<(), std::fmt::Error> {
        use Gen::*;
        let (s, base) = (self.state, self.base);
        match fgen {
            Up => out.put(base, flag(s.up)),
            Temperature => out.put(base, round2(s.temp)),
            Power => out.put(base, round2(s.power)),
            Load => out.put(base, round2(s.load)),
            HealthStatus => out.put(base, s.health as f64),
            BootTime => out.put(base, s.boot.floor()),
            IpmiUp => out.put(base, flag(s.ipmi_up)),
            IpmiState(state_ix) => out.put(base, s.ipmi[state_ix] as f64),
            IpmiTemperatureCelsius => {
                let tk = Tokens {
                    sensor: "CPU1",
                    ..*base
                };
                out.put(&tk, round2(s.temp + 8.0))
            }
            IpmiPowerWatts => out.put(base, round2(s.power)),
            SwitchPortOper | SwitchPortIn | SwitchPortOut | IfErrors(_) => {
                self.switch_ports(fgen, out)
            }
            InfinibandPortState => self.infiniband_ports(out),
            EseriesCollectError => out.put(base, 0.0),
            EseriesSystemStatus => self.eseries_system(out),
            EseriesDriveStatus => self.eseries_drives(out),
            EseriesComponent(_) => self.eseries_components(out),
            SlurmNodeStatus => {
                // The node's own partition and its current status only: one series per node
                // (a one-hot over twelve statuses would weigh twelve times more).
                let tk = Tokens {
                    partition: if self.node.class == Class::Gpu {
                        "gpu"
                    } else {
                        "cpu"
                    },
                    status: s.slurm,
                    ..*base
                };
                out.put(&tk, 1.0)
            }
            SlurmNodeJobs => {
                // An allocated node runs one to four jobs (a GPU node one or two), drawn once
                // per node; any other status runs none.
                let most = if self.node.class == Class::Gpu {
                    2.0
                } else {
                    4.0
                };
                let jobs = if s.slurm == "allocated" {
                    1.0 + (self.salt(0x10b5) * most).floor()
                } else {
                    0.0
                };
                out.put(base, jobs)
            }
            CpuSeconds | MemTotal | MemAvailable | FsSize | FsAvail | DiskBytes(_)
            | NetBytes(_) => self.host(fgen, out),
            _ => Ok(()),
        }
    }

    fn switch_ports(&self, fgen: Gen, out: &mut Out<'_, '_, '_>) -> Result<(), std::fmt::Error> {
        let (s, t) = (self.state, self.frame.t);
        let since_epoch = (t - EPOCH).max(0.0);
        for port in 1..=8u32 {
            let tk = Tokens {
                port: self.num(port),
                ..*self.base
            };
            let v = match fgen {
                Gen::SwitchPortOper => {
                    if s.up {
                        1.0
                    } else {
                        2.0
                    }
                }
                // Constant per-port rates: counters that only grow.
                Gen::SwitchPortIn => (since_epoch * 1.0e6 * (1.0 + self.salt(port as u64))).floor(),
                Gen::SwitchPortOut => {
                    (since_epoch * 0.8e6 * (1.0 + self.salt(100 + port as u64))).floor()
                }
                _ => {
                    let burst = if s.port_errors && port == 1 {
                        (t % 3600.0) * 25.0
                    } else {
                        0.0
                    };
                    (since_epoch * 0.001 + burst).floor()
                }
            };
            out.put(&tk, v)?;
        }
        Ok(())
    }

    fn infiniband_ports(&self, out: &mut Out<'_, '_, '_>) -> Result<(), std::fmt::Error> {
        let s = self.state;
        for port in 1..=4u32 {
            let current = if !s.up || (s.port_errors && port == 1) {
                "down"
            } else {
                "active"
            };
            for state in IB_STATES {
                let tk = Tokens {
                    port: self.num(port),
                    state,
                    ..*self.base
                };
                out.put(&tk, flag(state == current))?;
            }
        }
        Ok(())
    }

    fn eseries_system(&self, out: &mut Out<'_, '_, '_>) -> Result<(), std::fmt::Error> {
        let any_failed = self.node.slots.iter().any(|slot| {
            self.frame
                .failed_disks
                .contains(&(self.node_ix as u32, *slot))
        });
        let current = if !self.state.up {
            "failed"
        } else if any_failed {
            "degraded"
        } else {
            "optimal"
        };
        for status in ["optimal", "degraded", "failed"] {
            let tk = Tokens {
                status,
                ..*self.base
            };
            out.put(&tk, flag(status == current))?;
        }
        Ok(())
    }

    fn eseries_drives(&self, out: &mut Out<'_, '_, '_>) -> Result<(), std::fmt::Error> {
        let node = self.node;
        let tray = node.tray.to_string();
        for &slot in &node.slots {
            let failed = self
                .frame
                .failed_disks
                .contains(&(self.node_ix as u32, slot));
            let drive_id = format!("{}{:02}", node.tray, slot);
            for status in ["optimal", "failed"] {
                let tk = Tokens {
                    status,
                    slot: self.num(slot),
                    tray: &tray,
                    drive_id: &drive_id,
                    ..*self.base
                };
                out.put(&tk, flag((status == "failed") == failed))?;
            }
        }
        Ok(())
    }

    fn eseries_components(&self, out: &mut Out<'_, '_, '_>) -> Result<(), std::fmt::Error> {
        let tray = self.node.tray.to_string();
        for slot in 1..=2u32 {
            for status in ["optimal", "failed"] {
                let tk = Tokens {
                    status,
                    slot: self.num(slot),
                    tray: &tray,
                    ..*self.base
                };
                // A component fails with its array (node down).
                out.put(&tk, flag((status == "failed") != self.state.up))?;
            }
        }
        Ok(())
    }

    /// node_exporter's host families: CPU, memory, file system, disk and network.
    fn host(&self, fgen: Gen, out: &mut Out<'_, '_, '_>) -> Result<(), std::fmt::Error> {
        use Gen::*;
        let (s, t, base) = (self.state, self.frame.t, self.base);
        match fgen {
            CpuSeconds => {
                let tk = Tokens {
                    cpu: self.num(0),
                    ..*base
                };
                out.put(&tk, ((t - s.boot).max(0.0) * 0.5).floor())
            }
            MemTotal | MemAvailable => {
                let gib = match self.node.class {
                    Class::Gpu => 512.0,
                    Class::Compute => 256.0,
                    _ => 64.0,
                } * 1024.0
                    * 1024.0
                    * 1024.0;
                let v = if fgen == MemTotal {
                    gib
                } else {
                    gib * (1.0 - s.load / 100.0 * 0.8)
                };
                out.put(base, v.floor())
            }
            FsSize => out.put(base, 500.0e9),
            FsAvail => out.put(base, (300.0e9 - 50.0e9 * self.salt(7)).floor()),
            DiskBytes(read) => {
                let rate = if read { 2.0e6 } else { 1.0e6 } * (1.0 + self.salt(8));
                out.put(base, ((t - s.boot).max(0.0) * rate).floor())
            }
            NetBytes(rx) => {
                let rate = if rx { 5.0e6 } else { 3.0e6 } * (1.0 + self.salt(9));
                out.put(base, ((t - s.boot).max(0.0) * rate).floor())
            }
            _ => Ok(()),
        }
    }
}

fn rack_samples(
    fgen: Gen,
    rack_ix: usize,
    frame: &Frame,
    base: &Tokens<'_>,
    out: &mut Out<'_, '_, '_>,
) -> Result<(), std::fmt::Error> {
    use Gen::*;
    let s = &frame.racks[rack_ix];
    let jitter = |k: u64| unit(hash(rack_ix as u64, frame.tick, k)) - 0.5;
    match fgen {
        PduActivePower | PduApparentPower | PduCurrent | PduInletRating | PduVoltage => {
            pdu_inlets(fgen, s, base, &jitter, out)
        }
        PduEnergy => pdu_energy(frame, base, out),
        RackFanState => out.put(base, flag(s.hot)),
        RackPsuStatus => {
            for psu in ["1", "2"] {
                let tk = Tokens { psu, ..*base };
                out.put(&tk, flag(s.down))?;
            }
            Ok(())
        }
        PduTotalLoad => out.put(base, round2(s.power)),
        PduOutletCurrent => {
            for outlet in 1..=3u32 {
                let outletid = outlet.to_string();
                let tk = Tokens {
                    outletid: &outletid,
                    ..*base
                };
                out.put(&tk, round2(s.power / 6.0 / 230.0))?;
            }
            Ok(())
        }
        SequanaState => {
            let state = if s.down { "stopped" } else { "running" };
            let tk = Tokens { state, ..*base };
            out.put(&tk, 1.0)
        }
        SequanaPressure | SequanaFlow | SequanaLeak | SequanaPcbTemp | SequanaPmcWatt
        | PmcTotalPower | HmcCoolantTemp => cooling(fgen, s, base, &jitter, out),
        _ => Ok(()),
    }
}

/// The `pduid` and `pduname` of PDU `pdu` (1 or 2) of a rack.
fn pdu_labels(pdu: u32, rack: &str) -> (String, String) {
    (pdu.to_string(), format!("pdu{pdu}-{rack}"))
}

/// Two PDUs per rack, one inlet each, sharing the rack's power.
fn pdu_inlets(
    fgen: Gen,
    s: &RackState,
    base: &Tokens<'_>,
    jitter: &dyn Fn(u64) -> f64,
    out: &mut Out<'_, '_, '_>,
) -> Result<(), std::fmt::Error> {
    for pdu in 1..=2u32 {
        let (pduid, pduname) = pdu_labels(pdu, base.rack);
        let tk = Tokens {
            pduid: &pduid,
            pduname: &pduname,
            inletid: "I1",
            inletname: "Inlet 1",
            ..*base
        };
        let active = s.power / 2.0 + jitter(pdu as u64) * 10.0;
        let volts = 230.0 + jitter(10 + pdu as u64) * 2.0;
        let v = match fgen {
            Gen::PduActivePower => active,
            Gen::PduApparentPower => active / 0.95,
            Gen::PduCurrent => active / 230.0,
            Gen::PduInletRating => 32.0,
            _ => volts,
        };
        out.put(&tk, round2(v))?;
    }
    Ok(())
}

/// Three outlets on each of the two PDUs.
fn pdu_energy(
    frame: &Frame,
    base: &Tokens<'_>,
    out: &mut Out<'_, '_, '_>,
) -> Result<(), std::fmt::Error> {
    let since_epoch = (frame.t - EPOCH).max(0.0);
    for pdu in 1..=2u32 {
        for outlet in 1..=3u32 {
            let (pduid, pduname) = pdu_labels(pdu, base.rack);
            let outletid = outlet.to_string();
            let outletname = format!("Outlet {outlet}");
            let tk = Tokens {
                pduid: &pduid,
                pduname: &pduname,
                outletid: &outletid,
                outletname: &outletname,
                ..*base
            };
            // A constant mean draw, so the counter only grows.
            out.put(&tk, (since_epoch / 3600.0 * 400.0).floor())?;
        }
    }
    Ok(())
}

/// The Sequana cooling families: one value per rack.
fn cooling(
    fgen: Gen,
    s: &RackState,
    base: &Tokens<'_>,
    jitter: &dyn Fn(u64) -> f64,
    out: &mut Out<'_, '_, '_>,
) -> Result<(), std::fmt::Error> {
    use Gen::*;
    let v = match fgen {
        SequanaPressure => round2(if s.down {
            160.0
        } else if s.hot {
            175.0
        } else {
            200.0 + jitter(20) * 4.0
        }),
        SequanaFlow => round2(if s.down {
            0.0
        } else if s.hot {
            4.2
        } else {
            12.0 + jitter(21)
        }),
        SequanaLeak => flag(s.down),
        SequanaPcbTemp => round2(if s.hot {
            40.0
        } else {
            30.0 + 4.0 * s.avg_load / 100.0
        }),
        SequanaPmcWatt | PmcTotalPower => round2(if s.down {
            0.0
        } else {
            4000.0 + 8000.0 * s.avg_load / 100.0 * s.up_fraction
        }),
        HmcCoolantTemp => round2(18.0 + 6.0 * s.avg_load / 100.0 + if s.hot { 8.0 } else { 0.0 }),
        _ => return Ok(()),
    };
    out.put(base, v)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
