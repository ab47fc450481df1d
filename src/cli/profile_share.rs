//! `latchkey profile export|import`: profiles shared with a team as a file or a URL.

use std::path::PathBuf;

use clap::Args;
use latchkey::api::{self, ShareSource, export_profiles, export_to};
use latchkey::model::profile::parse_param;
use latchkey::{Latchkey, Result};

use super::completions::profile_names;
use super::io::{Io, errln, out, outln};

#[derive(Args)]
pub struct ExportArgs {
    /// The profiles to export (all when none is named).
    #[arg(add = profile_names())]
    names: Vec<String>,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// A file, `-` for standard input, or an https URL (plain http only on loopback).
    #[arg(value_name = "FILE|-|URL")]
    source: String,
    /// Replace profiles of the same name (their accounts are kept).
    #[arg(long)]
    replace: bool,
    /// Import the file's profile OLD as NEW (repeatable).
    #[arg(long = "rename", value_name = "OLD=NEW", value_parser = parse_param)]
    renames: Vec<(String, String)>,
}

pub fn export(engine: &Latchkey, args: ExportArgs, io: &mut Io) -> Result<()> {
    match args.output {
        None => out!(io, "{}", export_profiles(&engine.profiles()?, &args.names)?)?,
        Some(path) => {
            export_to(engine, &args.names, &path)?;
            errln!(
                io,
                "Exported to {} (no client secret, no account).",
                path.display()
            );
        }
    }
    Ok(())
}

pub async fn import(engine: &Latchkey, args: ImportArgs, io: &mut Io<'_>) -> Result<()> {
    let source = ShareSource::parse(&args.source)?;
    let bytes = source.read(engine).await?;
    let imported = api::import(
        engine,
        &bytes,
        &source.origin(),
        &args.renames,
        args.replace,
    )
    .await?;
    for p in imported {
        let verb = if p.replaced { "Replaced" } else { "Imported" };
        outln!(io, "{verb} profile `{}`.", p.name)?;
        for warning in &p.warnings {
            errln!(io, "warning: `{}` {warning}.", p.name);
        }
        if p.needs_secret {
            outln!(
                io,
                "  It needs its client secret: run `latchkey profile set-secret {}`.",
                p.name
            )?;
        }
    }
    Ok(())
}
