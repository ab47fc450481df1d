//! `latchkey completions SHELL`: the shell script that asks `latchkey` itself what to
//! complete (clap_complete's dynamic engine), so account and profile names come from the
//! config at each TAB. Reading them touches no keychain.

use clap::{Args, ValueEnum};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::EnvCompleter;
use latchkey::store::config::Config;
use latchkey::{Error, Result, store::paths};

/// The variable that turns a `latchkey` run into a completion request.
pub const VAR: &str = "LATCHKEY_COMPLETE";

#[derive(Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Args)]
pub struct CompletionsArgs {
    shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<()> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Elvish => &clap_complete::env::Elvish,
        Shell::Powershell => &clap_complete::env::Powershell,
    };
    let mut out = Vec::new();
    shell
        .write_registration(VAR, "latchkey", "latchkey", &super::program(), &mut out)
        .map_err(|e| Error::io("cannot write the completion script", e))?;
    use std::io::Write;
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| Error::io("cannot write the completion script", e))
}

fn config() -> Option<Config> {
    paths::config_dir().ok().map(Config::new)
}

/// Completes account names: `PROFILE/LABEL`, and `PROFILE` alone (its default account).
pub fn account_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let accounts = config().and_then(|c| c.accounts().ok()).unwrap_or_default();
        let mut out: Vec<CompletionCandidate> = accounts
            .iter()
            .map(|a| CompletionCandidate::new(a.id()))
            .collect();
        let mut profiles: Vec<&str> = accounts.iter().map(|a| a.profile.as_str()).collect();
        profiles.dedup();
        profiles.sort_unstable();
        profiles.dedup();
        out.extend(profiles.into_iter().map(CompletionCandidate::new));
        out
    })
}

/// Completes profile names.
pub fn profile_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        config()
            .and_then(|c| c.profiles().ok())
            .unwrap_or_default()
            .into_iter()
            .map(|p| CompletionCandidate::new(p.name))
            .collect()
    })
}
