//! The importer's configuration: the JSON object built by the host from the user's importer
//! file and `--set` flags, checked and turned into typed options.

use rackscope_importer_abi::OptionSpec;
use serde_json::Value;

/// Where the importer finds the token when the `token` option is absent.
pub const TOKEN_ENV: &str = "NETBOX_TOKEN";

/// Which level of the location tree becomes a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomDepth {
    /// The location at this depth of the tree (0 = top-level locations).
    Depth(usize),
    /// Locations are not rooms: every rack of a site goes to the room `default`.
    None,
}

/// Where a rack's aisle comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AisleFrom {
    /// The rack group when the rack has one, else the location one level below the room,
    /// else the default aisle.
    Auto,
    RackGroup,
    Location,
    /// Every rack of a room goes to the aisle `default`.
    None,
}

/// What becomes a device's Prometheus `instance` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceName {
    Name,
    DnsName,
    PrimaryIp,
    CustomField(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// NetBox base URL, without `/api`.
    pub url: String,
    pub token: Option<String>,
    pub site: Vec<String>,
    pub tag: Vec<String>,
    pub status: Vec<String>,
    pub role: Vec<String>,
    pub rack_status: Vec<String>,
    pub rack_role: Vec<String>,
    pub page_size: u32,
    pub timeout_seconds: u64,
    pub room_location_depth: RoomDepth,
    pub aisle_from: AisleFrom,
    pub instance_name: InstanceName,
    pub instance_port: Option<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: String::new(),
            token: None,
            site: Vec::new(),
            tag: Vec::new(),
            status: vec!["active".into()],
            role: Vec::new(),
            rack_status: Vec::new(),
            rack_role: Vec::new(),
            page_size: 1000,
            timeout_seconds: 30,
            room_location_depth: RoomDepth::Depth(0),
            aisle_from: AisleFrom::Auto,
            instance_name: InstanceName::Name,
            instance_port: None,
        }
    }
}

/// (name, required, default, help): the single list behind `describe()` and the check of
/// unknown keys, so the two cannot drift apart.
const SPECS: &[(&str, bool, Option<&str>, &str)] = &[
    (
        "url",
        true,
        None,
        "NetBox base URL, e.g. https://netbox.example.com (a trailing /api is accepted).",
    ),
    (
        "token",
        false,
        None,
        "API token; read from the NETBOX_TOKEN environment variable when absent. Sent as \
         `Authorization: Bearer <token>` when it starts with nbt_ (v2 token), else as \
         `Authorization: Token <token>` (v1 token).",
    ),
    (
        "site",
        false,
        None,
        "Only these sites (slugs; a list or a comma-separated string).",
    ),
    (
        "tag",
        false,
        None,
        "Only devices with one of these tags (slugs; list or comma-separated).",
    ),
    (
        "status",
        false,
        Some("active"),
        "Only devices with one of these statuses (list or comma-separated); `all` for every \
         status.",
    ),
    (
        "role",
        false,
        None,
        "Only devices with one of these device roles (slugs; list or comma-separated).",
    ),
    (
        "rack_status",
        false,
        None,
        "Only racks with one of these statuses (list or comma-separated); every rack by default.",
    ),
    (
        "rack_role",
        false,
        None,
        "Only racks with one of these rack roles (slugs; list or comma-separated).",
    ),
    (
        "page_size",
        false,
        Some("1000"),
        "Objects per API page (NetBox caps it at its MAX_PAGE_SIZE, 1000 by default).",
    ),
    (
        "timeout_seconds",
        false,
        Some("30"),
        "Timeout of each HTTP request, in seconds.",
    ),
    (
        "room_location_depth",
        false,
        Some("0"),
        "Depth of the location tree that becomes a room (0 = top-level locations), or `none` \
         to put every rack of a site in the room `default`. Racks without a location go to \
         the room `default`.",
    ),
    (
        "aisle_from",
        false,
        Some("auto"),
        "Where a rack's aisle comes from: `rack_group` (NetBox 4.6+), `location` (the \
         location one level below the room), `auto` (rack group, else that location) or \
         `none`. Racks with neither go to the aisle `default`.",
    ),
    (
        "instance_name",
        false,
        Some("name"),
        "The Prometheus instance of a device: `name`, `dns_name` (of the primary IP), \
         `primary_ip` (address without prefix length) or `custom_field:<field>`.",
    ),
    (
        "instance_port",
        false,
        None,
        "Port appended to every instance name as `:<port>` (e.g. 9100).",
    ),
];

pub fn specs() -> Vec<OptionSpec> {
    SPECS
        .iter()
        .map(|(name, required, default, help)| OptionSpec {
            name: (*name).to_owned(),
            help: (*help).to_owned(),
            required: *required,
            default: default.map(str::to_owned),
        })
        .collect()
}

fn valid_keys() -> String {
    SPECS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
}

fn scalar_string(key: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("option `{key}` must be a string, not {v}")),
    }
}

/// A list option: a JSON list, or one string that may hold several comma-separated values
/// (a `--set` flag can only give a string).
fn list(key: &str, v: &Value) -> Result<Vec<String>, String> {
    let items: Vec<String> = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a
            .iter()
            .map(|x| scalar_string(key, x))
            .collect::<Result<_, _>>()?,
        other => vec![scalar_string(key, other)?],
    };
    Ok(items
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

fn integer(key: &str, v: &Value, min: u64, max: u64) -> Result<u64, String> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "option `{key}` must be an integer from {min} to {max}, not {v}"
        )),
    }
}

impl Options {
    /// Checks the configuration object; unknown keys are an error so that a typo is not
    /// silently ignored.
    pub fn from_value(config: &Value) -> Result<Options, String> {
        let map = match config {
            Value::Object(m) => m,
            Value::Null => return Err("option `url` is required (the NetBox base URL)".into()),
            other => {
                return Err(format!(
                    "the importer configuration must be an object, not {other}"
                ));
            }
        };
        let mut o = Options::default();
        let mut url = None;
        for (key, v) in map {
            match key.as_str() {
                "url" => url = Some(scalar_string(key, v)?),
                "token" => {
                    let t = scalar_string(key, v)?;
                    o.token = (!t.is_empty()).then_some(t);
                }
                "site" => o.site = list(key, v)?,
                "tag" => o.tag = list(key, v)?,
                "status" => {
                    let s = list(key, v)?;
                    o.status = if s.iter().any(|x| x.eq_ignore_ascii_case("all")) {
                        Vec::new()
                    } else {
                        s
                    };
                }
                "role" => o.role = list(key, v)?,
                "rack_status" => o.rack_status = list(key, v)?,
                "rack_role" => o.rack_role = list(key, v)?,
                "page_size" => o.page_size = integer(key, v, 1, 100_000)? as u32,
                "timeout_seconds" => o.timeout_seconds = integer(key, v, 1, 86_400)?,
                "room_location_depth" => {
                    o.room_location_depth = match v {
                        Value::String(s) if s.trim().eq_ignore_ascii_case("none") => {
                            RoomDepth::None
                        }
                        Value::Null => RoomDepth::None,
                        _ => RoomDepth::Depth(
                            integer(key, v, 0, 64).map_err(|e| format!("{e} (or `none`)"))?
                                as usize,
                        ),
                    }
                }
                "aisle_from" => {
                    o.aisle_from = match scalar_string(key, v)?.as_str() {
                        "auto" => AisleFrom::Auto,
                        "rack_group" => AisleFrom::RackGroup,
                        "location" => AisleFrom::Location,
                        "none" => AisleFrom::None,
                        other => {
                            return Err(format!(
                                "option `aisle_from` must be auto, rack_group, location or none, not `{other}`"
                            ));
                        }
                    }
                }
                "instance_name" => {
                    let s = scalar_string(key, v)?;
                    o.instance_name = match s.as_str() {
                        "name" => InstanceName::Name,
                        "dns_name" => InstanceName::DnsName,
                        "primary_ip" => InstanceName::PrimaryIp,
                        other => match other.strip_prefix("custom_field:") {
                            Some(f) if !f.trim().is_empty() => {
                                InstanceName::CustomField(f.trim().to_owned())
                            }
                            _ => {
                                return Err(format!(
                                    "option `instance_name` must be name, dns_name, primary_ip or custom_field:<field>, not `{other}`"
                                ));
                            }
                        },
                    }
                }
                "instance_port" => {
                    o.instance_port = match v {
                        Value::Null => None,
                        _ => Some(integer(key, v, 1, 65_535)? as u16),
                    }
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}` for the netbox importer; valid options: {}",
                        valid_keys()
                    ));
                }
            }
        }
        let url = url.unwrap_or_default();
        if url.is_empty() {
            return Err("option `url` is required (the NetBox base URL)".into());
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "option `url` must start with http:// or https://, not `{url}`"
            ));
        }
        o.url = normalize_base(&url);
        if o.token.is_none() {
            o.token = std::env::var(TOKEN_ENV)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty());
        }
        Ok(o)
    }

    /// The `Authorization` header value for the token, if any.
    pub fn authorization(&self) -> Option<String> {
        self.token.as_ref().map(|t| authorization_for(t))
    }
}

/// v2 tokens (NetBox 4.5+) are `nbt_<key>.<secret>` and go with `Bearer`; v1 tokens with `Token`.
pub fn authorization_for(token: &str) -> String {
    if token.starts_with("nbt_") {
        format!("Bearer {token}")
    } else {
        format!("Token {token}")
    }
}

/// The base URL without trailing `/` nor `/api`, so users may give either form.
fn normalize_base(url: &str) -> String {
    let mut u = url.trim().trim_end_matches('/');
    if let Some(stripped) = u.strip_suffix("/api") {
        u = stripped;
    }
    u.trim_end_matches('/').to_owned()
}
