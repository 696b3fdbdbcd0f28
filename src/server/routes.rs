//! Every route is declared here with the role it needs, in the same call that mounts it:
//! the router and the access policy are two views of one list, so a route cannot exist
//! without a role. The gate (`auth::gate`) refuses a request whose route is not in the
//! list, whatever its method: a route mounted some other way is closed, not open.

use std::collections::HashMap;

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use rackscope_core::model::users::Role;

use crate::server::AppState;

/// What a route needs of its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not: sign-in itself, probes, static files.
    Public,
    /// At least this role.
    Role(Role),
}

impl Need {
    pub const VIEWER: Need = Need::Role(Role::Viewer);
    pub const OPERATOR: Need = Need::Role(Role::Operator);
    pub const ADMIN: Need = Need::Role(Role::Admin);

    /// The role as the OpenAPI document and the docs name it.
    pub fn label(self) -> &'static str {
        match self {
            Need::Public => "public",
            Need::Role(r) => r.as_str(),
        }
    }
}

/// One method of one route, and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub method: Method,
    /// The route's template as axum matches it (`/api/racks/{rack_id}`).
    pub path: &'static str,
    pub need: Need,
}

impl Entry {
    /// Whether this method changes something (and so needs CSRF protection and an audit
    /// line).
    pub fn writes(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS)
    }
}

/// Routes under construction: the router and the entries, grown together.
pub struct Routes {
    router: Router<AppState>,
    entries: Vec<Entry>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            entries: Vec::new(),
        }
    }

    /// Mounts `handler` at `path`; `needs` lists every method it answers with its need.
    pub fn route(
        mut self,
        path: &'static str,
        needs: &[(Method, Need)],
        handler: MethodRouter<AppState>,
    ) -> Routes {
        self.router = self.router.route(path, handler);
        self.entries
            .extend(needs.iter().map(|(method, need)| Entry {
                method: method.clone(),
                path,
                need: *need,
            }));
        self
    }

    /// A read route for viewers and up: most of the API and of the pages.
    pub fn read(self, path: &'static str, handler: MethodRouter<AppState>) -> Routes {
        self.route(path, &[(Method::GET, Need::VIEWER)], handler)
    }

    /// A read route for anyone (probes, static files).
    pub fn public(self, path: &'static str, handler: MethodRouter<AppState>) -> Routes {
        self.route(path, &[(Method::GET, Need::Public)], handler)
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.entries.extend(other.entries);
        self
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn into_parts(self) -> (Router<AppState>, Policy) {
        let policy = Policy::of(&self.entries);
        (self.router, policy)
    }
}

/// What each (method, route) needs, for the gate.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    needs: HashMap<&'static str, Vec<(Method, Need)>>,
}

impl Policy {
    pub fn of(entries: &[Entry]) -> Policy {
        let mut needs: HashMap<&'static str, Vec<(Method, Need)>> = HashMap::new();
        for e in entries {
            needs
                .entry(e.path)
                .or_default()
                .push((e.method.clone(), e.need));
        }
        Policy { needs }
    }

    /// The need of `method` on the matched route `path`; `None` when it was not declared.
    /// HEAD is answered like GET.
    pub fn need(&self, method: &Method, path: &str) -> Option<Need> {
        let method = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.needs
            .get(path)?
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, n)| *n)
    }
}
