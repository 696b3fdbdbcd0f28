//! A loopback HTTP server that replays recorded NetBox REST answers, for tests of this
//! importer and of the host that loads it: no NetBox needed, std only.
//!
//! Requests are matched on path and query, not on the order of the query:
//! - `/api/dcim/<endpoint>/` with no filter and a large enough `limit`: the recorded
//!   `dcim-<endpoint>.json`, byte for byte;
//! - `/api/dcim/devices/?exclude=config_context&limit=50` and `...&offset=50`: the recorded
//!   pages `dcim-devices.page1-limit50.json` and `page2`;
//! - one filter `k=v` with a recorded `dcim-<endpoint>.filter-<k>-<v>.json`: that file;
//! - any other filter or page: computed from `dcim-<endpoint>.json`, filtering on the fields
//!   NetBox filters on (`status`, `site`, `role`, `tag`, `<x>_id`) and slicing with
//!   `limit`/`offset` like NetBox, with `next`/`previous` links to this server;
//! - an endpoint without a recorded file: 404, as NetBox before 4.6 answers for rack groups.
//!
//! `http://127.0.0.1:8001` (where the answers were recorded) is replaced by this server's
//! address in every body. Several folders may be layered: the first holding a file wins, so
//! the augmented recording can be served over the pristine one.
//!
//! Authentication is checked like NetBox: `Token <TOKEN_V1>` or `Bearer <TOKEN_V2>`, else
//! HTTP 403 with NetBox's `detail`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{Value, json};

/// The v1 token the server accepts (`Authorization: Token <this>`).
pub const TOKEN_V1: &str = "0123456789abcdef0123456789abcdef01234567";
/// The v2 token the server accepts (`Authorization: Bearer <this>`).
pub const TOKEN_V2: &str = "nbt_replaykey01.replaysecret0123456789";
/// Where the recorded answers came from; rewritten to the replay server's address.
pub const RECORDED_ORIGIN: &str = "http://127.0.0.1:8001";
/// NetBox's default `MAX_PAGE_SIZE`, also its answer to `limit=0`.
const MAX_PAGE_SIZE: usize = 1000;
/// NetBox's default `PAGINATE_COUNT`, used without `limit`.
const DEFAULT_PAGE_SIZE: usize = 50;

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Path and query as sent, e.g. `/api/dcim/racks/?limit=1000`.
    pub target: String,
    pub authorization: Option<String>,
    pub status: u16,
}

/// A running replay server; it serves until the process exits.
#[derive(Debug, Clone)]
pub struct Replay {
    /// `http://127.0.0.1:<port>`: the `url` option for the importer.
    pub url: String,
    /// Every request answered, in order.
    pub log: Arc<Mutex<Vec<Seen>>>,
}

impl Replay {
    /// A copy of the requests answered so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Starts serving the recorded answers in `dirs` (first folder holding a file wins) on a
/// free loopback port, in a background thread.
pub fn serve(dirs: &[PathBuf]) -> io::Result<Replay> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let log = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new(State {
        dirs: dirs.to_vec(),
        url: url.clone(),
        log: Arc::clone(&log),
    });
    thread::Builder::new()
        .name("netbox-replay".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&state);
                // One thread per connection: a client may hold one open while opening another.
                let _ = thread::Builder::new()
                    .name("netbox-replay-conn".into())
                    .spawn(move || {
                        let _ = handle(&state, stream);
                    });
            }
        })?;
    Ok(Replay { url, log })
}

struct State {
    dirs: Vec<PathBuf>,
    url: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

fn handle(state: &State, stream: TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut authorization = None;
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_owned();
            match name.as_str() {
                "authorization" => authorization = Some(value),
                "content-length" => content_length = value.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    if content_length > 0 {
        let mut sink = vec![0u8; content_length.min(1 << 20)];
        reader.read_exact(&mut sink)?;
    }
    let (status, body) = if method != "GET" {
        (
            405,
            json!({"detail": format!("Method \"{method}\" not allowed.")}).to_string(),
        )
    } else if let Some(denied) = check_auth(authorization.as_deref()) {
        (403, json!({ "detail": denied }).to_string())
    } else {
        answer(state, &target)
    };
    if let Ok(mut log) = state.log.lock() {
        log.push(Seen {
            target,
            authorization,
            status,
        });
    }
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nAPI-Version: 4.6\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(body.as_bytes())?;
    out.flush()
}

/// NetBox's `detail` for a refused request, or `None` when the credentials are good.
fn check_auth(authorization: Option<&str>) -> Option<&'static str> {
    let Some(a) = authorization else {
        return Some("Authentication credentials were not provided.");
    };
    let (scheme, key) = a.split_once(' ').unwrap_or((a, ""));
    match scheme {
        "Token" if key.trim() == TOKEN_V1 => None,
        "Token" => Some("Invalid v1 token"),
        "Bearer" if key.trim() == TOKEN_V2 => None,
        // Recorded live for v1 only; the v2 wording is assumed by symmetry.
        "Bearer" => Some("Invalid v2 token"),
        _ => Some("Authentication credentials were not provided."),
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b.get(i) {
            Some(b'+') => out.push(b' '),
            Some(b'%') => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(x) = hex {
                    out.push(x);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            Some(c) => out.push(*c),
            None => {}
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn find(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn read(state: &State, path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.replace(RECORDED_ORIGIN, &state.url))
}

fn not_found() -> (u16, String) {
    (404, json!({"detail": "Not found."}).to_string())
}

fn answer(state: &State, target: &str) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(endpoint) = path
        .strip_prefix("/api/dcim/")
        .and_then(|p| p.strip_suffix('/'))
        .filter(|e| !e.is_empty() && !e.contains('/'))
    else {
        return not_found();
    };
    let mut limit = None;
    let mut offset = 0usize;
    let mut exclude = Vec::new();
    let mut filters: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match k.as_str() {
            "limit" => limit = v.parse::<usize>().ok(),
            "offset" => offset = v.parse().unwrap_or(0),
            "exclude" => exclude.push(v),
            "brief" | "format" => {}
            _ => filters.push((k, v)),
        }
    }
    let limit = match limit {
        None => DEFAULT_PAGE_SIZE,
        Some(0) => MAX_PAGE_SIZE,
        Some(n) => n.min(MAX_PAGE_SIZE),
    };
    let Some(base) = find(&state.dirs, &format!("dcim-{endpoint}.json")) else {
        return not_found();
    };
    let excludes_context = exclude.iter().any(|e| e == "config_context");

    // Recorded pages of the device list.
    if endpoint == "devices" && filters.is_empty() && limit == 50 && excludes_context {
        let page = match offset {
            0 => Some("dcim-devices.page1-limit50.json"),
            50 => Some("dcim-devices.page2-limit50.json"),
            _ => None,
        };
        if let Some(body) = page
            .and_then(|p| find(&state.dirs, p))
            .and_then(|p| read(state, &p))
        {
            return (200, body);
        }
    }
    // A recorded filter.
    if let [(k, v)] = filters.as_slice()
        && offset == 0
        && let Some(body) = find(&state.dirs, &format!("dcim-{endpoint}.filter-{k}-{v}.json"))
            .and_then(|p| read(state, &p))
        && fits(&body, limit)
    {
        return (200, body);
    }
    let Some(body) = read(state, &base) else {
        return not_found();
    };
    if filters.is_empty() && offset == 0 && fits(&body, limit) {
        return (200, body);
    }
    // Computed from the full recorded list.
    let Ok(page) = serde_json::from_str::<Value>(&body) else {
        return (500, json!({"detail": "bad recording"}).to_string());
    };
    let results = page
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut kept = Vec::new();
    for r in results {
        if matches_all(&r, &filters) {
            kept.push(r);
        }
    }
    let count = kept.len();
    let slice: Vec<Value> = kept.into_iter().skip(offset).take(limit).collect();
    let link = |off: usize| {
        let mut q: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("offset="))
            .map(str::to_owned)
            .collect();
        if off > 0 {
            q.push(format!("offset={off}"));
        }
        format!("{}{path}?{}", state.url, q.join("&"))
    };
    let next = (offset + limit < count).then(|| link(offset + limit));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(limit)));
    (
        200,
        json!({"count": count, "next": next, "previous": previous, "results": slice}).to_string(),
    )
}

/// Whether a recorded page holds everything (its `next` is null) and `limit` lets it all out.
fn fits(body: &str, limit: usize) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|v| {
        v.get("next").is_some_and(Value::is_null)
            && v.get("results")
                .and_then(Value::as_array)
                .is_some_and(|r| r.len() <= limit)
    })
}

/// NetBox ORs repeated values of one filter and ANDs different filters.
fn matches_all(r: &Value, filters: &[(String, String)]) -> bool {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    by_key
        .iter()
        .all(|(k, vs)| vs.iter().any(|v| matches(r, k, v)))
}

fn matches(r: &Value, key: &str, want: &str) -> bool {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let id = |v: Option<&Value>| v.and_then(Value::as_i64).map(|i| i.to_string());
    match key {
        "status" => s(r.get("status").and_then(|x| x.get("value"))).as_deref() == Some(want),
        "slug" => s(r.get("slug")).as_deref() == Some(want),
        "site" | "role" | "manufacturer" => {
            s(r.get(key).and_then(|x| x.get("slug"))).as_deref() == Some(want)
        }
        "tag" => r
            .get("tags")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|x| s(x.get("slug")).as_deref() == Some(want))),
        _ => match key.strip_suffix("_id") {
            Some(field) => id(r.get(field).and_then(|x| x.get("id"))).as_deref() == Some(want),
            // NetBox ignores unknown parameters.
            None => true,
        },
    }
}
