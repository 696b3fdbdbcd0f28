//! HTTPS served by Rackscope itself (`server.tls_cert` and `server.tls_key`, or `serve
//! --tls-cert/--tls-key`): the certificate chain and key read, parsed and matched once at
//! start, so that `serve` refuses a bad pair before it listens and `rackscope check` reports
//! it at its key. rustls on ring, the provider of the HTTP clients too
//! (docs/decisions/0020); TLS 1.2 and 1.3, ALPN `http/1.1` (the server speaks nothing else).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rackscope_core::diag::{Pos, Span};
use rackscope_core::validate::MAX_TLS_FILE_BYTES;
use rackscope_core::{Config, Diagnostic, Level};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};

/// Which of the two files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Cert,
    Key,
}

impl Part {
    /// The app.yaml key under `server:` naming this file.
    pub fn key(self) -> &'static str {
        match self {
            Part::Cert => "tls_cert",
            Part::Key => "tls_key",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Part::Cert => "certificate",
            Part::Key => "private key",
        }
    }
}

/// Why the TLS files cannot be served, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {} {}: {source}", part.what(), path.display())]
    Read {
        part: Part,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the TLS {} {} is not usable: {detail}", part.what(), path.display())]
    Invalid {
        part: Part,
        path: PathBuf,
        detail: String,
    },
    #[error(
        "the TLS private key {} does not match the certificate {}",
        key.display(),
        cert.display()
    )]
    Mismatch { cert: PathBuf, key: PathBuf },
}

impl TlsError {
    /// The file at fault (the key, for a pair that does not match).
    pub fn part(&self) -> Part {
        match self {
            TlsError::Read { part, .. } | TlsError::Invalid { part, .. } => *part,
            TlsError::Mismatch { .. } => Part::Key,
        }
    }
}

/// The server's TLS settings from a PEM certificate chain (leaf first) and its private key
/// (PKCS#8, PKCS#1 or SEC1).
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let invalid = |part: Part, path: &Path, detail: String| TlsError::Invalid {
        part,
        path: path.to_path_buf(),
        detail,
    };
    let cert_pem = read(Part::Cert, cert)?;
    let key_pem = read(Part::Key, key)?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(Part::Cert, cert, format!("bad PEM: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(
            Part::Cert,
            cert,
            "no `BEGIN CERTIFICATE` block in it".into(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| {
        invalid(
            Part::Key,
            key,
            format!("no PKCS#8, PKCS#1 or SEC1 private key in PEM: {e}"),
        )
    })?;
    let provider = rackscope_prometheus::tls::provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| invalid(Part::Key, key, e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        // A key type whose public half the provider cannot derive: the handshake will tell.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(TlsError::Mismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            });
        }
        Err(e) => return Err(invalid(Part::Cert, cert, e.to_string())),
    }
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| invalid(Part::Cert, cert, e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(part: Part, path: &Path) -> Result<String, TlsError> {
    rackscope_core::walk::read_bounded(path, MAX_TLS_FILE_BYTES).map_err(|source| TlsError::Read {
        part,
        path: path.to_path_buf(),
        source,
    })
}

/// What `rackscope check` adds to the loader's diagnostics: the configured pair loaded as
/// `serve` would, a failure reported at the app.yaml key of the file at fault. Pairing and
/// unreadable files are the loader's own errors, so they are not repeated here.
pub fn diagnostic(config: &Config) -> Option<Diagnostic> {
    let (Some(cert), Some(key)) = (&config.paths.tls_cert, &config.paths.tls_key) else {
        return None;
    };
    let e = match load(cert, key) {
        Ok(_) | Err(TlsError::Read { .. }) => return None,
        Err(e) => e,
    };
    let file: Arc<Path> = Arc::from(config.app_file.as_path());
    // The loader keeps no syntax tree: app.yaml is read again for the key's position, the
    // whole file standing in when that fails.
    let pos = rackscope_core::walk::read_bounded(
        &config.app_file,
        rackscope_core::load::MAX_CONFIG_FILE_BYTES,
    )
    .ok()
    .and_then(|src| rackscope_core::yaml::parse(&src).ok())
    .map_or(Pos::FILE, |node| {
        rackscope_core::app_keys::key_pos(&node, &["server", e.part().key()])
    });
    Some(Diagnostic {
        level: Level::Error,
        code: "tls",
        span: Span::new(&file, pos),
        message: format!("server.{}: {e}", e.part().key()),
    })
}
