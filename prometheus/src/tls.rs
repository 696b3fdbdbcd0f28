//! The one rustls crypto provider of every Rackscope process: ring, installed as the
//! process default before any HTTP client is built.
//!
//! reqwest is built with `rustls-no-provider` (aws-lc-sys, its default, is the longest
//! part of a first build; docs/decisions/0020), so it takes rustls's process default and
//! panics when there is none. Every place that builds a client, or a TLS configuration of
//! its own, goes through `provider()` first; the binary calls it at start as well.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The process's default provider, ring installed first when none is. An embedding
/// program that installed its own keeps it.
pub fn provider() -> Arc<CryptoProvider> {
    if let Some(p) = CryptoProvider::get_default() {
        return p.clone();
    }
    // Another thread may install between the check and here; its Err is that race lost,
    // and the default it set is as good as ours.
    let _ = rustls::crypto::ring::default_provider().install_default();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// A `reqwest::Client` with reqwest's defaults, for the places that need nothing more
/// (probes, the demo's readiness wait, tests and benchmarks).
pub fn http_client() -> reqwest::Client {
    provider();
    reqwest::Client::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_builds_without_anyone_installing_a_provider_first() {
        let _ = super::http_client();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
