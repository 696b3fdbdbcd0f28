//! The network side: GETs NetBox's REST lists with a blocking client, following the
//! pagination, and hands the raw objects to the pure mapping.

use std::collections::BTreeSet;
use std::time::Duration;

use rackscope_importer_abi::Reporter;
use serde_json::Value;

use crate::options::Options;

/// The raw objects of every endpoint the mapping reads, as NetBox returned them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lists {
    pub sites: Vec<Value>,
    pub locations: Vec<Value>,
    pub rack_groups: Vec<Value>,
    pub racks: Vec<Value>,
    pub device_types: Vec<Value>,
    pub devices: Vec<Value>,
    /// Things noticed while fetching (e.g. an old NetBox without rack groups).
    pub warnings: Vec<String>,
}

/// A page limit that no real NetBox reaches, so a server that keeps answering with a `next`
/// cannot make the importer loop forever.
const MAX_PAGES: usize = 100_000;
/// Largest response body accepted (a page of 1000 devices is a few MB).
const MAX_BODY: u64 = 512 * 1024 * 1024;

enum Got {
    Json(Value),
    NotFound,
}

struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: Option<String>,
}

impl Client {
    fn new(options: &Options) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(options.timeout_seconds)))
            // The error body says why (bad token, unknown slug): read it ourselves.
            .http_status_as_error(false)
            .user_agent(concat!(
                "rackscope-importer-netbox/",
                env!("CARGO_PKG_VERSION")
            ))
            .build();
        Client {
            agent: config.into(),
            base: options.url.clone(),
            authorization: options.authorization(),
        }
    }

    fn get(&self, url: &str) -> Result<Got, String> {
        let mut req = self.agent.get(url).header("Accept", "application/json");
        if let Some(auth) = &self.authorization {
            req = req.header("Authorization", auth);
        }
        let mut resp = req
            .call()
            .map_err(|e| format!("cannot GET {url} from NetBox: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| format!("cannot read NetBox's answer to GET {url}: {e}"))?;
        match status {
            200 => serde_json::from_slice(&body)
                .map(Got::Json)
                .map_err(|e| format!("NetBox's answer to GET {url} is not JSON: {e}")),
            404 => Ok(Got::NotFound),
            _ => Err(format!(
                "NetBox answered HTTP {status} to GET {url}: {}{}",
                detail(&body),
                match status {
                    401 | 403 => " (check the token: option `token` or NETBOX_TOKEN)",
                    _ => "",
                }
            )),
        }
    }

    /// Every object of an endpoint, page after page. `None` when the endpoint does not exist.
    fn list(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
        page_size: u32,
        progress: &mut Reporter<'_>,
    ) -> Result<Option<Vec<Value>>, String> {
        let mut url = format!(
            "{}/api/dcim/{endpoint}/?limit={page_size}{}",
            self.base,
            query
                .iter()
                .map(|(k, v)| format!("&{}={}", encode(k), encode(v)))
                .collect::<String>()
        );
        let message = format!("fetching {endpoint}");
        let mut all = Vec::new();
        let mut seen = BTreeSet::new();
        for _ in 0..MAX_PAGES {
            if !seen.insert(url.clone()) {
                return Err(format!(
                    "NetBox's pagination of {endpoint} loops back to {url}"
                ));
            }
            let page = match self.get(&url)? {
                Got::Json(v) => v,
                Got::NotFound if all.is_empty() => return Ok(None),
                Got::NotFound => return Err(format!("NetBox answered HTTP 404 to GET {url}")),
            };
            let results = page
                .get("results")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("NetBox's answer to GET {url} has no `results` list"))?;
            all.extend(results.iter().cloned());
            let total = page.get("count").and_then(Value::as_u64);
            progress.report(message.clone(), all.len() as u64, total);
            match page.get("next").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => url = follow_next(&self.base, next),
                _ => return Ok(Some(all)),
            }
        }
        Err(format!(
            "NetBox's pagination of {endpoint} did not end after {MAX_PAGES} pages"
        ))
    }
}

/// The `detail` of a NetBox error body, or the body itself (shortened).
fn detail(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(d) = v.get("detail").and_then(Value::as_str) {
            return d.to_owned();
        }
        let s = v.to_string();
        return shorten(&s);
    }
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    if s.is_empty() {
        "(empty body)".into()
    } else {
        shorten(s)
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// The `next` link with its scheme and host replaced by those of the configured URL: NetBox
/// builds it from the request it saw, which behind a TLS-terminating proxy says `http://`
/// or an internal host name. The path and query are NetBox's own and kept as given.
pub fn follow_next(base: &str, next: &str) -> String {
    match (origin(base), split_origin(next)) {
        (Some(o), Some((_, rest))) => format!("{o}{rest}"),
        // A relative link: resolve it against the configured origin.
        (Some(o), None) if next.starts_with('/') => format!("{o}{next}"),
        _ => next.to_owned(),
    }
}

/// `scheme://authority` of an absolute URL.
fn origin(url: &str) -> Option<&str> {
    split_origin(url).map(|(o, _)| o)
}

/// Splits an absolute URL into `scheme://authority` and the rest (path, query).
fn split_origin(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let rest = url.get(scheme_end..)?;
    let end = rest
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    Some((url.get(..end)?, url.get(end..)?))
}

/// Percent-encoding of a query component (everything but RFC 3986 unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn repeated<'a>(key: &'a str, values: &'a [String]) -> impl Iterator<Item = (&'a str, &'a str)> {
    values.iter().map(move |v| (key, v.as_str()))
}

/// Fetches every list the mapping needs, with the filters applied by NetBox itself.
pub fn fetch(options: &Options, progress: &mut Reporter<'_>) -> Result<Lists, String> {
    let client = Client::new(options);
    let size = options.page_size;
    let mut lists = Lists::default();
    let need = |endpoint: &str, got: Option<Vec<Value>>| {
        got.ok_or_else(|| {
            format!(
                "NetBox answered HTTP 404 to GET {}/api/dcim/{endpoint}/: is `url` the NetBox base URL?",
                client.base
            )
        })
    };

    let sites: Vec<_> = repeated("slug", &options.site).collect();
    lists.sites = need("sites", client.list("sites", &sites, size, progress)?)?;

    let site: Vec<_> = repeated("site", &options.site).collect();
    lists.locations = need(
        "locations",
        client.list("locations", &site, size, progress)?,
    )?;

    lists.rack_groups = match client.list("rack-groups", &[], size, progress)? {
        Some(v) => v,
        None => {
            lists.warnings.push(
                "NetBox has no rack groups (older than 4.6): aisles come from locations or default"
                    .into(),
            );
            Vec::new()
        }
    };

    let racks: Vec<_> = repeated("site", &options.site)
        .chain(repeated("status", &options.rack_status))
        .chain(repeated("role", &options.rack_role))
        .collect();
    lists.racks = need("racks", client.list("racks", &racks, size, progress)?)?;

    lists.device_types = need(
        "device-types",
        client.list("device-types", &[], size, progress)?,
    )?;

    // Config contexts are rendered per device and can dwarf the rest of the answer.
    let devices: Vec<_> = std::iter::once(("exclude", "config_context"))
        .chain(repeated("site", &options.site))
        .chain(repeated("status", &options.status))
        .chain(repeated("role", &options.role))
        .chain(repeated("tag", &options.tag))
        .collect();
    lists.devices = need("devices", client.list("devices", &devices, size, progress)?)?;
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_keep_the_configured_origin() {
        assert_eq!(
            follow_next(
                "https://netbox.example.com",
                "http://internal:8001/api/dcim/devices/?limit=50&offset=50"
            ),
            "https://netbox.example.com/api/dcim/devices/?limit=50&offset=50"
        );
        assert_eq!(
            follow_next("http://127.0.0.1:9", "/api/dcim/racks/?offset=2"),
            "http://127.0.0.1:9/api/dcim/racks/?offset=2"
        );
        assert_eq!(follow_next("not a url", "x"), "x");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("ncsu-065"), "ncsu-065");
    }
}
