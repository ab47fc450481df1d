//! `latchkey trust`: the user's approval of a `.latchkey.env` that `exec` finds by searching
//! upward. It shows the file's variables and the accounts they take, then records the file's
//! path and the SHA-256 of that content: typing the command is the approval, and any change
//! to the file needs it again.

use std::path::PathBuf;

use clap::Args;
use latchkey::api::integrations::envfile::{self, Value};
use latchkey::model::untrusted::for_terminal;
use latchkey::{Error, Latchkey, Result};

#[derive(Args)]
pub struct TrustArgs {
    /// The env file to trust (default: the nearest `.latchkey.env` in this directory or a
    /// parent, as `latchkey exec` finds it).
    #[arg(conflicts_with_all = ["list", "remove"])]
    file: Option<PathBuf>,
    /// List the trusted files.
    #[arg(long, conflicts_with = "remove")]
    list: bool,
    /// Stop trusting FILE.
    #[arg(long, value_name = "FILE")]
    remove: Option<PathBuf>,
}

pub fn run(engine: &Latchkey, args: TrustArgs) -> Result<()> {
    let config = engine.config();
    if args.list {
        for t in envfile::trusted_files(config)? {
            let state = match envfile::open_found(&t.path) {
                Ok(f) if f.sha256 == t.sha256 => "trusted",
                Ok(_) => "changed since trusted",
                Err(_) => "unreadable or refused",
            };
            println!("{}  ({state})", for_terminal(&t.path.display().to_string()));
        }
        return Ok(());
    }
    if let Some(path) = &args.remove {
        if envfile::untrust(config, path)? {
            println!(
                "{} is no longer trusted.",
                for_terminal(&path.display().to_string())
            );
        } else {
            return Err(Error::InvalidInput(format!(
                "{} is not a trusted file (`latchkey trust --list` lists them)",
                path.display()
            )));
        }
        return Ok(());
    }
    let path = match args.file {
        Some(path) => path,
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| Error::io("cannot read the current directory", e))?;
            envfile::find(&cwd).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "no {} in {} or a parent directory; name the file to trust",
                    envfile::FILE_NAME,
                    cwd.display()
                ))
            })?
        }
    };
    let file = envfile::open_found(&path)?;
    println!("{} sets:", for_terminal(&file.path.display().to_string()));
    let width = file.entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for e in &file.entries {
        let what = match &e.value {
            Value::Token(account) => format!("a token of account `{account}`"),
            // Shown whole: a proxy or CA variable beside a token is how a file would send it
            // elsewhere, and trusting is approving exactly what is shown.
            Value::Plain(v) => format!("= {v}"),
        };
        let warning = if redirects_traffic(&e.name) {
            "   <- changes where requests go or which certificates are trusted"
        } else {
            ""
        };
        println!("  {:width$}  {}{warning}", e.name, for_terminal(&what));
    }
    if file.entries.is_empty() {
        println!("  (no variables)");
    }
    envfile::trust(config, &file)?;
    println!("Trusted: `latchkey exec` takes these variables from it until its content changes.");
    Ok(())
}

/// Variables that, beside a token, could send it elsewhere: proxies and CA bundles.
fn redirects_traffic(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.ends_with("_PROXY")
        || matches!(
            upper.as_str(),
            "SSL_CERT_FILE"
                | "SSL_CERT_DIR"
                | "REQUESTS_CA_BUNDLE"
                | "CURL_CA_BUNDLE"
                | "NODE_EXTRA_CA_CERTS"
                | "GIT_SSL_CAINFO"
        )
}
