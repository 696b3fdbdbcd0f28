//! The importer's configuration: the JSON object built by the host from the user's importer
//! file and `--set` flags, checked and turned into typed options.

use rackscope_importer_abi::OptionSpec;
use rackscope_importer_abi::options::{self, Config, OptionDef};
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

/// The options `describe()` lists and the configuration may hold.
const DEFS: &[OptionDef] = &[
    OptionDef::new(
        "url",
        "NetBox base URL, e.g. https://netbox.example.com (a trailing /api is accepted).",
    )
    .required(),
    OptionDef::new(
        "token",
        "API token; read from the NETBOX_TOKEN environment variable when absent. Sent as \
         `Authorization: Bearer <token>` when it starts with nbt_ (v2 token), else as \
         `Authorization: Token <token>` (v1 token).",
    ),
    OptionDef::new(
        "site",
        "Only these sites (slugs; a list or a comma-separated string).",
    ),
    OptionDef::new(
        "tag",
        "Only devices with one of these tags (slugs; list or comma-separated).",
    ),
    OptionDef::new(
        "status",
        "Only devices with one of these statuses (list or comma-separated); `all` for every \
         status.",
    )
    .default("active"),
    OptionDef::new(
        "role",
        "Only devices with one of these device roles (slugs; list or comma-separated).",
    ),
    OptionDef::new(
        "rack_status",
        "Only racks with one of these statuses (list or comma-separated); every rack by default.",
    ),
    OptionDef::new(
        "rack_role",
        "Only racks with one of these rack roles (slugs; list or comma-separated).",
    ),
    OptionDef::new(
        "page_size",
        "Objects per API page (NetBox caps it at its MAX_PAGE_SIZE, 1000 by default).",
    )
    .default("1000"),
    OptionDef::new(
        "timeout_seconds",
        "Timeout of each HTTP request, in seconds.",
    )
    .default("30"),
    OptionDef::new(
        "room_location_depth",
        "Depth of the location tree that becomes a room (0 = top-level locations), or `none` \
         to put every rack of a site in the room `default`. Racks without a location go to \
         the room `default`.",
    )
    .default("0"),
    OptionDef::new(
        "aisle_from",
        "Where a rack's aisle comes from: `rack_group` (NetBox 4.6+), `location` (the \
         location one level below the room), `auto` (rack group, else that location) or \
         `none`. Racks with neither go to the aisle `default`.",
    )
    .default("auto"),
    OptionDef::new(
        "instance_name",
        "The Prometheus instance of a device: `name`, `dns_name` (of the primary IP), \
         `primary_ip` (address without prefix length) or `custom_field:<field>`.",
    )
    .default("name"),
    OptionDef::new(
        "instance_port",
        "Port appended to every instance name as `:<port>` (e.g. 9100).",
    ),
];

pub fn specs() -> Vec<OptionSpec> {
    options::specs(DEFS)
}

impl Options {
    /// Checks the configuration object; unknown keys are an error so that a typo is not
    /// silently ignored.
    pub fn from_value(config: &Value) -> Result<Options, String> {
        let c = Config::read("netbox", config, DEFS)?;
        let default = Options::default();
        let url = c.text("url")?.unwrap_or_default();
        let token = c.text("token")?;
        // An explicit null (an empty YAML value) is no filter, like `all`.
        let status = match c.list("status")? {
            Some(s) if s.iter().any(|x| x.eq_ignore_ascii_case("all")) => Vec::new(),
            Some(s) => s,
            None if c.raw("status").is_some() => Vec::new(),
            None => default.status,
        };
        let mut options = Options {
            url: String::new(),
            token: None,
            site: c.list("site")?.unwrap_or_default(),
            tag: c.list("tag")?.unwrap_or_default(),
            status,
            role: c.list("role")?.unwrap_or_default(),
            rack_status: c.list("rack_status")?.unwrap_or_default(),
            rack_role: c.list("rack_role")?.unwrap_or_default(),
            page_size: c
                .integer("page_size", 1, 100_000)?
                .map_or(default.page_size, |n| n as u32),
            timeout_seconds: c
                .integer("timeout_seconds", 1, 86_400)?
                .unwrap_or(default.timeout_seconds),
            room_location_depth: room_depth(&c)?,
            aisle_from: aisle_from(&c)?.unwrap_or(default.aisle_from),
            instance_name: instance_name(&c)?.unwrap_or(default.instance_name),
            instance_port: c.port("instance_port")?,
        };
        // The URL is checked once every value is read, so a bad value is reported first.
        if url.is_empty() {
            return Err("option `url` is required (the NetBox base URL)".into());
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "option `url` must start with http:// or https://, not `{url}`"
            ));
        }
        options.url = normalize_base(&url);
        options.token = token.filter(|t| !t.is_empty()).or_else(|| {
            std::env::var(TOKEN_ENV)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
        });
        Ok(options)
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

/// A depth, or `none`; null also means no rooms from locations.
fn room_depth(c: &Config<'_>) -> Result<RoomDepth, String> {
    let key = "room_location_depth";
    match c.raw(key) {
        None => Ok(RoomDepth::Depth(0)),
        Some(Value::Null) => Ok(RoomDepth::None),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("none") => Ok(RoomDepth::None),
        Some(_) => match c.integer(key, 0, 64) {
            Ok(depth) => Ok(depth.map_or(RoomDepth::Depth(0), |d| RoomDepth::Depth(d as usize))),
            Err(e) => Err(format!("{e} (or `none`)")),
        },
    }
}

fn aisle_from(c: &Config<'_>) -> Result<Option<AisleFrom>, String> {
    let key = "aisle_from";
    let Some(text) = c.text(key)? else {
        return Ok(None);
    };
    Ok(Some(match text.as_str() {
        "auto" => AisleFrom::Auto,
        "rack_group" => AisleFrom::RackGroup,
        "location" => AisleFrom::Location,
        "none" => AisleFrom::None,
        _ => return Err(c.invalid(key, "auto, rack_group, location or none").into()),
    }))
}

fn instance_name(c: &Config<'_>) -> Result<Option<InstanceName>, String> {
    let key = "instance_name";
    let Some(text) = c.text(key)? else {
        return Ok(None);
    };
    Ok(Some(match text.as_str() {
        "name" => InstanceName::Name,
        "dns_name" => InstanceName::DnsName,
        "primary_ip" => InstanceName::PrimaryIp,
        other => match other.strip_prefix("custom_field:") {
            Some(field) if !field.trim().is_empty() => {
                InstanceName::CustomField(field.trim().to_owned())
            }
            _ => {
                return Err(c
                    .invalid(key, "name, dns_name, primary_ip or custom_field:<field>")
                    .into());
            }
        },
    }))
}
