//! Reads the JSON of `ansible-inventory --list` (or `--list --export`) into hosts with their
//! variables and the transitive set of groups they belong to.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value};

/// One Ansible host.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub name: String,
    /// Variables as Ansible resolves them for the host (group vars merged in).
    pub vars: Map<String, Value>,
    /// Every group the host is in, directly or through `children`, without `all`.
    pub groups: BTreeSet<String>,
}

struct Group<'a> {
    hosts: Vec<&'a str>,
    children: Vec<&'a str>,
    vars: Option<&'a Map<String, Value>>,
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Hosts in natural name order. Warnings go to `warnings`.
pub(crate) fn read(doc: &Value, warnings: &mut Vec<String>) -> Result<Vec<Host>, String> {
    let top = doc
        .as_object()
        .ok_or("the ansible-inventory JSON must be an object (the output of `--list`)")?;
    let empty = Map::new();
    let hostvars = match top.get("_meta").and_then(|m| m.get("hostvars")) {
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`_meta.hostvars` must be an object".into()),
        None => &empty,
    };
    let groups = read_groups(top, warnings);
    let mut names: BTreeSet<&str> = hostvars.keys().map(String::as_str).collect();
    for g in groups.values() {
        names.extend(g.hosts.iter().copied());
    }
    let mut member_of = memberships(&groups);
    let depth = group_depths(&groups);
    let has_group_vars = groups.values().any(|g| g.vars.is_some());
    let mut hosts = Vec::with_capacity(names.len());
    for name in names {
        let own = member_of.remove(name).unwrap_or_default();
        let mut vars = if has_group_vars {
            group_vars(&own, &groups, &depth)
        } else {
            Map::new()
        };
        match hostvars.get(name) {
            Some(Value::Object(m)) => {
                for (k, val) in m {
                    vars.insert(k.clone(), val.clone());
                }
            }
            Some(_) => warnings.push(format!(
                "host {name}: its hostvars are not an object; ignored"
            )),
            None => {}
        }
        hosts.push(Host {
            name: name.to_owned(),
            vars,
            groups: own
                .into_iter()
                .filter(|g| *g != "all")
                .map(str::to_owned)
                .collect(),
        });
    }
    hosts.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    Ok(hosts)
}

/// Every top-level key but `_meta` is a group.
fn read_groups<'a>(
    top: &'a Map<String, Value>,
    warnings: &mut Vec<String>,
) -> BTreeMap<&'a str, Group<'a>> {
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for (name, g) in top {
        if name == "_meta" {
            continue;
        }
        let Some(g) = g.as_object() else {
            warnings.push(format!("group `{name}`: not an object; ignored"));
            continue;
        };
        groups.insert(
            name.as_str(),
            Group {
                hosts: strings(g.get("hosts")),
                children: strings(g.get("children")),
                vars: g.get("vars").and_then(Value::as_object),
            },
        );
    }
    groups
}

/// Transitive membership, host -> groups: each group's descendants walked once.
fn memberships<'a>(groups: &BTreeMap<&'a str, Group<'a>>) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut member_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for &gname in groups.keys() {
        let mut seen = BTreeSet::from([gname]);
        let mut todo = vec![gname];
        while let Some(cur) = todo.pop() {
            let Some(g) = groups.get(cur) else { continue };
            for &h in &g.hosts {
                member_of.entry(h).or_default().insert(gname);
            }
            for &c in &g.children {
                if seen.insert(c) {
                    todo.push(c);
                }
            }
        }
    }
    member_of
}

/// `--export` keeps group vars on the groups: merge them as Ansible does (shallow, by
/// depth, then ansible_group_priority, then name; host vars go last, on top).
fn group_vars(
    own: &BTreeSet<&str>,
    groups: &BTreeMap<&str, Group<'_>>,
    depth: &BTreeMap<&str, u64>,
) -> Map<String, Value> {
    let mut order: Vec<&str> = own.iter().copied().filter(|g| *g != "all").collect();
    order.push("all");
    let key = |g: &str| {
        let prio = groups
            .get(g)
            .and_then(|x| x.vars)
            .and_then(|v| v.get("ansible_group_priority"))
            .and_then(Value::as_i64)
            .unwrap_or(1);
        (depth.get(g).copied().unwrap_or(1), prio)
    };
    order.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.cmp(b)));
    let mut vars = Map::new();
    for g in order {
        if let Some(v) = groups.get(g).and_then(|x| x.vars) {
            for (k, val) in v {
                vars.insert(k.clone(), val.clone());
            }
        }
    }
    vars
}

/// Longest distance from a root (`all` is 0, other roots 1), as Ansible's group depth.
/// Groups caught in a cycle keep the depth reached before it.
fn group_depths<'a>(groups: &BTreeMap<&'a str, Group<'a>>) -> BTreeMap<&'a str, u64> {
    let mut indegree: BTreeMap<&str, usize> = groups.keys().map(|g| (*g, 0)).collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (&name, g) in groups {
        for &c in &g.children {
            if groups.contains_key(c) && edges.entry(name).or_default().insert(c) {
                *indegree.entry(c).or_default() += 1;
            }
        }
    }
    let mut depth: BTreeMap<&str, u64> = BTreeMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for (&g, &d) in &indegree {
        if d == 0 {
            depth.insert(g, u64::from(g != "all"));
            queue.push_back(g);
        }
    }
    while let Some(g) = queue.pop_front() {
        let d = depth.get(g).copied().unwrap_or(1);
        for &c in edges.get(g).into_iter().flatten() {
            let e = depth.entry(c).or_insert(0);
            *e = (*e).max(d + 1);
            if let Some(n) = indegree.get_mut(c) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    queue.push_back(c);
                }
            }
        }
    }
    depth
}

/// Follows a dotted path (`labels.rack`) through nested maps.
pub(crate) fn lookup<'v>(vars: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = vars.get(parts.next()?.trim())?;
    for p in parts {
        cur = cur.as_object()?.get(p.trim())?;
    }
    Some(cur)
}

pub use rackscope_importer_abi::natural_cmp;
