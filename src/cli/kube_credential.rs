//! `latchkey kube-credential`: a client-go exec credential plugin for kubectl, and
//! `--print-user`, the kubeconfig entry that runs it.

use std::io::IsTerminal;

use clap::Args;
use latchkey::api::integrations::kube::{self, ExecInfo};
use latchkey::door::Purpose;
use latchkey::{Latchkey, Result};

use super::completions::account_names;
use super::format::rfc3339;
use super::io::{Io, out, outln};
use super::tool_token::token_for_tool;

#[derive(Args)]
pub struct KubeCredentialArgs {
    /// `PROFILE/LABEL`, or `PROFILE` for the profile's default account.
    #[arg(add = account_names())]
    account: String,
    /// Refresh first when the token expires within this many seconds.
    #[arg(long, default_value_t = 60)]
    min_valid: u32,
    /// Print the kubeconfig `users:` entry that makes kubectl use ACCOUNT (with the
    /// `kubectl config set-credentials` command that adds it), instead of a credential.
    #[arg(long)]
    print_user: bool,
    /// The kubeconfig user name for --print-user (default: ACCOUNT).
    #[arg(long, requires = "print_user", value_name = "NAME")]
    user_name: Option<String>,
}

pub async fn run(
    engine: &std::sync::Arc<Latchkey>,
    args: KubeCredentialArgs,
    io: &mut Io<'_>,
) -> Result<()> {
    if args.print_user {
        return print_user(engine, &args, &super::program(), io);
    }
    let info = ExecInfo::parse(std::env::var("KUBERNETES_EXEC_INFO").ok().as_deref())?;
    // kubectl says whether its user is at a terminal; run by hand, look for one.
    let interactive = info
        .interactive
        .unwrap_or_else(|| std::io::stdin().is_terminal() && std::io::stderr().is_terminal());
    let handed = token_for_tool(
        engine,
        &args.account,
        args.min_valid,
        Purpose::Kube,
        interactive,
        "kubectl runs Latchkey without a terminal (or with interactiveMode: Never)",
    )
    .await?;
    let expires = handed.expires_at.map(rfc3339);
    outln!(
        io,
        "{}",
        kube::exec_credential(info.api_version, &handed.access_token, expires.as_deref())
    )
}

/// `--print-user`: the kubeconfig entry that runs `program` for the account.
fn print_user(
    engine: &Latchkey,
    args: &KubeCredentialArgs,
    program: &str,
    io: &mut Io,
) -> Result<()> {
    // The full account, so that the entry keeps naming it when the profile gets another.
    let account = match engine.account(&args.account) {
        Ok(account) => account.id(),
        Err(e) if e.kind() == latchkey::ErrorKind::NotFound => args.account.clone(),
        Err(e) => return Err(e),
    };
    let user = args.user_name.as_deref().unwrap_or(&account);
    out!(
        io,
        "# Add this to your kubeconfig (and name the user in a context), or run:\n#   {}\n{}",
        kube::set_credentials_command(program, &account, user),
        kube::user_entry(program, &account, user)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::{Captured, add_account, engine};

    fn args(account: &str, user_name: Option<&str>) -> KubeCredentialArgs {
        KubeCredentialArgs {
            account: account.into(),
            min_valid: 60,
            print_user: true,
            user_name: user_name.map(str::to_string),
        }
    }

    #[test]
    fn print_user_names_the_full_account_and_the_command_that_adds_it() {
        let engine = engine();
        add_account(&engine, "k8s/me@example.com", |_| {});
        let mut c = Captured::default();
        print_user(
            &engine,
            &args("k8s", None),
            "/opt/my bin/latchkey",
            &mut c.io(),
        )
        .unwrap();
        assert_eq!(
            c.out(),
            "\
# Add this to your kubeconfig (and name the user in a context), or run:
#   kubectl config set-credentials k8s/me@example.com --exec-api-version=client.authentication.k8s.io/v1 --exec-command='/opt/my bin/latchkey' --exec-arg=kube-credential --exec-arg=k8s/me@example.com --exec-interactive-mode=IfAvailable
users:
- name: \"k8s/me@example.com\"
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: \"/opt/my bin/latchkey\"
      args: [\"kube-credential\", \"k8s/me@example.com\"]
      interactiveMode: IfAvailable
      provideClusterInfo: false
"
        );
        assert_eq!(c.err(), "");
        // An account not signed in yet is named as given; --user-name names the user.
        let mut c = Captured::default();
        print_user(&engine, &args("later", Some("me")), "latchkey", &mut c.io()).unwrap();
        assert!(
            c.out().contains("set-credentials me ")
                && c.out().contains("- name: \"me\"\n")
                && c.out().contains("args: [\"kube-credential\", \"later\"]"),
            "{}",
            c.out()
        );
    }
}
