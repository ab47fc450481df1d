//! `latchkey ssh [SSH OPTIONS…] DESTINATION [COMMAND…]`: the system `ssh` with the agent
//! forwarded. The running agent (started when it is not) opens a forwarding socket for this
//! session, named after nothing the far side chooses; `ssh -R` puts it at
//! `/tmp/latchkey-forward-<random>.sock` on the far side, where that side's `latchkey` finds it
//! with no setup (see `latchkey::agent::socket::forwarded_socket`). Every
//! request on the socket arrives at the door as forwarded, from `ssh`, with the destination;
//! without a rule it is asked. The socket closes when ssh exits.

use std::ffi::OsString;
use std::path::Path;

use clap::Args;
use latchkey::agent::client;
use latchkey::agent::socket::FORWARD_PREFIX;
use latchkey::{Error, Latchkey, Result};

#[derive(Args)]
pub struct SshArgs {
    /// ssh's options, the destination and the remote command, as for `ssh`.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    #[arg(value_name = "SSH ARGS")]
    args: Vec<OsString>,
}

/// ssh's options that take a value (`ssh -p 22`, or `-p22`).
const WITH_VALUE: &str = "bceilmopBDEFIJLOPQRSwW";

/// The destination among ssh's arguments: the first that is not an option or an option's value.
fn destination(args: &[OsString]) -> Option<String> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            return args.next().map(|a| a.to_string_lossy().into_owned());
        }
        let Some(flags) = text.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Some(text.into_owned());
        };
        if let Some(at) = flags.find(|c| WITH_VALUE.contains(c))
            && at + 1 == flags.len()
        {
            args.next();
        }
    }
    None
}

pub async fn run(engine: &Latchkey, args: SshArgs) -> Result<()> {
    let destination = destination(&args.args).ok_or_else(|| {
        Error::InvalidInput("`latchkey ssh` needs a destination, as `ssh` does".into())
    })?;
    let config = engine.config().dir().to_path_buf();
    if client::ping(&config).await.is_none() {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        let io = &mut super::io::Io {
            out: &mut out,
            err: &mut err,
        };
        super::agent::start(&config, io, true).await?;
    }
    let (connection, local) = client::forward(&config, Some(destination))
        .await
        .ok_or_else(|| {
            Error::io(
                "the agent opened no forwarding socket",
                std::io::Error::other("it did not answer"),
            )
        })?;
    let remote = format!("/tmp/{FORWARD_PREFIX}{:016x}.sock", rand::random::<u64>());
    // Nothing else runs meanwhile: waiting on the calling thread is fine.
    let status = std::process::Command::new("ssh")
        .args(["-o", "ExitOnForwardFailure=yes"])
        .args(["-o", "StreamLocalBindUnlink=yes"])
        .arg("-R")
        .arg(format!("{remote}:{}", Path::new(&local).display()))
        .args(&args.args)
        .status()
        .map_err(|e| Error::io("cannot run ssh", e))?;
    // The forwarding socket lasts while this connection is open.
    drop(connection);
    std::process::exit(status.code().unwrap_or(255))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(args: &[&str]) -> Option<String> {
        destination(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn the_destination_is_the_first_argument_that_is_no_option() {
        assert_eq!(dest(&["host"]).as_deref(), Some("host"));
        assert_eq!(dest(&["-p", "22", "u@h", "ls"]).as_deref(), Some("u@h"));
        assert_eq!(dest(&["-p22", "-tt", "h"]).as_deref(), Some("h"));
        assert_eq!(dest(&["-vo", "A=b", "h", "-x"]).as_deref(), Some("h"));
        assert_eq!(dest(&["-A", "--", "h"]).as_deref(), Some("h"));
        assert_eq!(dest(&["-i", "key"]), None);
    }
}
