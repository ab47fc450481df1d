//! `latchkey trust`: the user's approval of a `.latchkey.env` that `exec` finds by searching
//! upward. It shows the file's variables and the accounts they take, then records the file's
//! path and the SHA-256 of that content: typing the command is the approval, and any change
//! to the file needs it again.

use std::path::PathBuf;

use clap::Args;
use latchkey::api::integrations::envfile::{self, Value};
use latchkey::model::untrusted::for_terminal;
use latchkey::{Error, Latchkey, Result};

use super::io::{Io, errln, outln};

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

pub fn run(engine: &Latchkey, args: TrustArgs, io: &mut Io) -> Result<()> {
    let config = engine.config();
    if args.list {
        let trusted = envfile::trusted_files(config)?;
        if trusted.is_empty() {
            // On standard error: a script reading the list sees an empty one.
            errln!(
                io,
                "No trusted env files yet (`latchkey trust FILE` trusts one)."
            );
        }
        for t in trusted {
            let state = match envfile::open_found(&t.path) {
                Ok(f) if f.sha256 == t.sha256 => "trusted",
                Ok(_) => "changed since trusted",
                Err(_) => "unreadable or refused",
            };
            let path = for_terminal(&t.path.display().to_string());
            outln!(io, "{path}  ({state})")?;
        }
        return Ok(());
    }
    if let Some(path) = &args.remove {
        if envfile::untrust(config, path)? {
            outln!(
                io,
                "{} is no longer trusted.",
                for_terminal(&path.display().to_string())
            )?;
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
    outln!(
        io,
        "{} sets:",
        for_terminal(&file.path.display().to_string())
    )?;
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
        outln!(io, "  {:width$}  {}{warning}", e.name, for_terminal(&what))?;
    }
    if file.entries.is_empty() {
        outln!(io, "  (no variables)")?;
    }
    envfile::trust(config, &file)?;
    outln!(
        io,
        "Trusted: `latchkey exec` takes these variables from it until its content changes."
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::{Captured, captured, engine, temp_dir};

    fn trust(engine: &Latchkey, args: TrustArgs) -> (Result<()>, Captured) {
        captured(|io| run(engine, args, io))
    }

    fn args(file: Option<PathBuf>, list: bool, remove: Option<PathBuf>) -> TrustArgs {
        TrustArgs { file, list, remove }
    }

    #[test]
    fn trusting_shows_each_variable_and_flags_the_ones_that_redirect_traffic() {
        let engine = engine();
        let file = temp_dir("repo").join(".latchkey.env");
        std::fs::write(
            &file,
            "GH=latchkey:work\nHTTPS_PROXY=http://proxy.example:3128\nMODE=staging\n",
        )
        .unwrap();
        let (result, c) = trust(&engine, args(Some(file.clone()), false, None));
        result.unwrap();
        assert_eq!(
            c.out(),
            format!(
                "{} sets:\n  GH           a token of account `work`\n  HTTPS_PROXY  = http://proxy.example:3128   <- changes where requests go or which certificates are trusted\n  MODE         = staging\nTrusted: `latchkey exec` takes these variables from it until its content changes.\n",
                file.display()
            )
        );
        assert_eq!(c.err(), "");

        let (result, c) = trust(&engine, args(None, true, None));
        result.unwrap();
        assert_eq!(c.out(), format!("{}  (trusted)\n", file.display()));
        std::fs::write(&file, "GH=latchkey:work\n").unwrap();
        let (_, c) = trust(&engine, args(None, true, None));
        assert_eq!(
            c.out(),
            format!("{}  (changed since trusted)\n", file.display())
        );
        std::fs::remove_file(&file).unwrap();
        let (_, c) = trust(&engine, args(None, true, None));
        assert_eq!(
            c.out(),
            format!("{}  (unreadable or refused)\n", file.display())
        );

        let (result, c) = trust(&engine, args(None, false, Some(file.clone())));
        result.unwrap();
        assert_eq!(
            c.out(),
            format!("{} is no longer trusted.\n", file.display())
        );
        let (result, c) = trust(&engine, args(None, true, None));
        result.unwrap();
        assert_eq!(c.out(), "");
        assert_eq!(
            c.err(),
            "No trusted env files yet (`latchkey trust FILE` trusts one).\n"
        );
        let (result, c) = trust(&engine, args(None, false, Some(file.clone())));
        let e = result.expect_err("not trusted any more");
        assert_eq!(e.kind(), latchkey::ErrorKind::Usage);
        assert!(
            e.to_string()
                .ends_with("is not a trusted file (`latchkey trust --list` lists them)"),
            "{e}"
        );
        assert_eq!(c.out(), "");
    }

    #[test]
    fn an_empty_file_is_trusted_with_no_variables() {
        let engine = engine();
        let file = temp_dir("repo").join("empty.env");
        std::fs::write(&file, "# nothing yet\n").unwrap();
        let (result, c) = trust(&engine, args(Some(file.clone()), false, None));
        result.unwrap();
        assert!(
            c.out().starts_with(&format!(
                "{} sets:\n  (no variables)\nTrusted: ",
                file.display()
            )),
            "{}",
            c.out()
        );
    }
}
