//! `latchkey profile export|import`: profiles shared with a team as a file or a URL.

use std::path::PathBuf;

use clap::Args;
use latchkey::api::{ShareSource, export_profiles, read_import};
use latchkey::engine::SecretState;
use latchkey::model::profile::parse_param;
use latchkey::{Error, Latchkey, Result};

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
    let text = export_profiles(&engine.profiles()?, &args.names)?;
    match args.output {
        None => out!(io, "{text}")?,
        Some(path) => {
            std::fs::write(&path, &text)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
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
    let profiles = read_import(&bytes, &source.origin(), &args.renames)?;
    let replaced = engine
        .import_profiles(profiles.clone(), args.replace)
        .await?;
    for p in &profiles {
        let verb = if replaced.contains(&p.name) {
            "Replaced"
        } else {
            "Imported"
        };
        outln!(io, "{verb} profile `{}`.", p.name)?;
        for grant in &p.allowed_legacy_grants {
            errln!(
                io,
                "warning: `{}` allows a legacy grant: {}.",
                p.name,
                grant.warning()
            );
        }
        // A keychain that cannot say is not an import failure; `profile show` asks again.
        if engine.client_secret_state(p).await.ok() == Some(SecretState::Missing) {
            outln!(
                io,
                "  It needs its client secret: run `latchkey profile set-secret {}`.",
                p.name
            )?;
        }
    }
    Ok(())
}
