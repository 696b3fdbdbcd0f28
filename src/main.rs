//! The `rackscope` command: logging set up (stderr as text or JSON lines, and the buffer
//! the logs page reads), then the subcommands of `cli`.

use std::process::ExitCode;
use std::sync::Arc;

use rackscope::logbook::LogBook;
use rackscope::logbook::layer::{Format, install};

mod cli;

fn main() -> ExitCode {
    // A log shipper that expects JSON and is handed text (or the reverse) loses every
    // line silently: a value we do not know stops the command before it does anything.
    let format = match std::env::var("RACKSCOPE_LOG_FORMAT") {
        Ok(v) => match Format::parse(&v) {
            Some(f) => f,
            None => {
                eprintln!(
                    "rackscope: RACKSCOPE_LOG_FORMAT is `{}`; it must be `text` (the default) or `json`",
                    v.escape_debug()
                );
                return ExitCode::from(2);
            }
        },
        Err(_) => Format::Text,
    };
    // Before anything can build an HTTP client or a TLS configuration: reqwest takes the
    // process's rustls provider and has none of its own (docs/decisions/0020).
    rackscope_prometheus::tls::provider();
    let logs = Arc::new(LogBook::default());
    install(
        logs.clone(),
        format,
        std::env::var("RACKSCOPE_LOG").ok().as_deref(),
    );
    cli::main(logs)
}
