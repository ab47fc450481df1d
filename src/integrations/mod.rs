//! What wires an account into other tools, shared by the CLI and the desktop app's "Use in…":
//! the git credential helper's config, the kubeconfig user entry, and `.latchkey.env` files.
//! None of it is secret.

pub mod envfile;
pub mod git;
pub mod kube;

use crate::profile::Profile;

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

/// `git_url`: the git server, e.g. the one [`crate::presets::GitDefaults`] gives.
pub fn snippets(program: &str, account: &str, profile: &Profile, git_url: &str) -> Snippets {
    let helper = git::Helper {
        program,
        account,
        auth: git::Auth::Basic,
        username: None,
    };
    Snippets {
        git: helper.commands(git_url),
        kubeconfig: kube::user_entry(program, account, &profile.name),
        env_line: envfile::line(&envfile::suggested_variable(&profile.name), account),
    }
}
