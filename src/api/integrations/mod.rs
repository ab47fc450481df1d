//! What wires an account into other tools, shared by the CLI and the desktop app's "Use in…":
//! the git credential helper's config, the kubeconfig user entry, and `.latchkey.env` files.
//! None of it is secret.

pub mod envfile;
pub mod git;
pub mod kube;
pub mod program;

pub use program::{ProgramError, resolve_program};

use std::path::Path;

use crate::model::profile::Profile;

/// The command that signs in to `profile`, as the account `label` when given (without it, the
/// id_token names the account), its words quoted for a shell.
pub fn login_command(profile: &str, label: Option<&str>) -> String {
    use git::shell_quote;
    match label {
        Some(label) => format!(
            "latchkey login {} --account {}",
            shell_quote(profile),
            shell_quote(label)
        ),
        None => format!("latchkey login {}", shell_quote(profile)),
    }
}

/// The CLI's file name.
pub use crate::door::caller::CLI_FILE;

/// How other programs (git, kubectl, shells) should start the `latchkey` CLI at `cli`:
/// `latchkey` when that is what the PATH finds, else its full path.
pub fn program_for(cli: &Path) -> String {
    let Ok(cli) = std::fs::canonicalize(cli) else {
        return "latchkey".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(CLI_FILE))
            .find(|candidate| candidate.is_file())
            .and_then(|found| std::fs::canonicalize(found).ok())
            .is_some_and(|found| found == cli)
    });
    if on_path {
        "latchkey".into()
    } else {
        cli.to_string_lossy().into_owned()
    }
}

/// The three ways to use one account, as the app shows them for copying. `program` is how the
/// tools start Latchkey (`latchkey` when it is on the PATH).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippets {
    /// `git config` commands for `url`.
    pub git: String,
    /// The kubeconfig `users:` entry.
    pub kubeconfig: String,
    /// The `.latchkey.env` line.
    pub env_line: String,
}

/// `git_url`: the git server, e.g. the one [`crate::model::presets::GitDefaults`] gives.
pub fn snippets(program: &str, account: &str, profile: &Profile, git_url: &str) -> Snippets {
    let helper = git::Helper {
        program,
        account,
        auth: git::Auth::Basic,
        username: None,
        hosts: git::host_of(git_url).into_iter().collect(),
    };
    Snippets {
        git: helper.commands(git_url),
        kubeconfig: kube::user_entry(program, account, &profile.name),
        env_line: envfile::line(&envfile::suggested_variable(&profile.name), account),
    }
}
