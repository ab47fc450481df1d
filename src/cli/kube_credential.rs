//! `latchkey kube-credential`: a client-go exec credential plugin for kubectl, and
//! `--print-user`, the kubeconfig entry that runs it.

use std::io::IsTerminal;

use clap::Args;
use latchkey::api::integrations::kube::{self, ExecInfo};
use latchkey::door::Purpose;
use latchkey::{Latchkey, Result};

use super::completions::account_names;
use super::format::rfc3339;
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

pub async fn run(engine: &std::sync::Arc<Latchkey>, args: KubeCredentialArgs) -> Result<()> {
    if args.print_user {
        let program = super::program();
        // The full account, so that the entry keeps naming it when the profile gets another.
        let account = match engine.account(&args.account) {
            Ok(account) => account.id(),
            Err(e) if e.kind() == latchkey::ErrorKind::NotFound => args.account.clone(),
            Err(e) => return Err(e),
        };
        let user = args.user_name.as_deref().unwrap_or(&account);
        print!(
            "# Add this to your kubeconfig (and name the user in a context), or run:\n#   {}\n{}",
            kube::set_credentials_command(&program, &account, user),
            kube::user_entry(&program, &account, user)
        );
        return Ok(());
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
    println!(
        "{}",
        kube::exec_credential(info.api_version, &handed.access_token, expires.as_deref())
    );
    Ok(())
}
