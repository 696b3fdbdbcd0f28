//! `rackscope generate`: a synthetic configuration of any size, for benchmarks and load tests.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

#[derive(clap::Args)]
pub(super) struct Args {
    /// Directory to write the configuration into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Number of instances (nodes) to generate.
    #[arg(long, default_value_t = 10_000)]
    instances: usize,
}

pub(super) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let out = &args.out;
    if out.join("app.yaml").exists() || out.join("topology").exists() {
        anyhow::bail!(
            "{} already holds a configuration; choose an empty directory",
            out.display()
        );
    }
    let shape = rackscope_core::generate::Shape::for_instances(args.instances);
    rackscope_core::generate::write(out, shape)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} racks and {} instances to {}",
        shape.racks(),
        args.instances,
        out.join("app.yaml").display()
    );
    Ok(ExitCode::SUCCESS)
}
