//! The engine's hints worded for the command line: the command or flag to use. The app words
//! the same hints as actions (src-tauri/src/dto.rs).

use latchkey::api::integrations::git::shell_quote;
use latchkey::api::integrations::login_command;
use latchkey::{Error, Hint};

/// The error as the CLI prints it: the engine's message with its hint as a command.
pub fn render(error: &Error) -> String {
    match error {
        Error::Context { context, source } => format!("{context}: {}", render(source)),
        Error::Hinted { source, hint } => match hint {
            // The flag is the subject of the sentence, so the CLI says it all.
            Hint::PassClientSecret {
                auth_method: Some(m),
            } => format!("--auth-method {m} needs a client secret{}", suffix(hint)),
            Hint::DropClientSecret => {
                "a client secret was given for --auth-method none; drop one of them".into()
            }
            // It replaces the error's own hint (the list of names), which it repeats.
            Hint::DidYouMeanProfile { .. } | Hint::DidYouMeanAccount { .. } => {
                format!("{source}{}", suffix(hint))
            }
            _ => format!("{}{}", render(source), suffix(hint)),
        },
        other => match other.hint() {
            Some(hint) => format!("{other}{}", suffix(&hint)),
            None => other.to_string(),
        },
    }
}

/// What follows the engine's sentence for `hint`.
fn suffix(hint: &Hint) -> String {
    match hint {
        Hint::ListProfiles => "; `latchkey profile list` shows the profiles".into(),
        Hint::RemoveProfile { name } => {
            format!("; remove it first (`latchkey profile remove {name}`) or choose another name")
        }
        Hint::ReplaceOrRename { names } => format!(
            ". Pass --replace to replace, or import under other names with {}",
            names
                .iter()
                .map(|n| format!("--rename {n}=NEW"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Hint::ListAccounts => "; `latchkey accounts` shows the accounts".into(),
        Hint::DidYouMeanProfile { name } => {
            format!("; did you mean `{name}`? (`latchkey profile list` shows the profiles)")
        }
        Hint::DidYouMeanAccount { name } => {
            format!("; did you mean `{name}`? (`latchkey accounts` shows the accounts)")
        }
        Hint::SignIn { profile, account } => format!(
            ". Run `{}` to sign in again",
            login_command(profile, account.as_deref())
        ),
        Hint::ReplaceLostGrant { profile } => {
            format!(": sign in again with `latchkey login {profile}`")
        }
        Hint::RetrySignIn { profile } => format!(
            ". Run `latchkey login {profile}` again; with --no-browser it prints the URL to open yourself"
        ),
        Hint::RetryImplicitSignIn { profile } => format!(
            ". Run `latchkey login {profile} --implicit` again; the page needs JavaScript to hand the token over"
        ),
        Hint::RetryDeviceSignIn => "; run `latchkey login --device` again".into(),
        Hint::AllowMoreTime => " (see --timeout)".into(),
        Hint::SetClientSecret { profile } => {
            format!(" with `latchkey profile set-secret {profile}`")
        }
        Hint::WrongClientSecret { profile } => format!(
            ". The client secret may be wrong: set it with `latchkey profile set-secret {profile}`"
        ),
        Hint::CheckScopes { profile } => format!(
            ". The profile's scopes may be the cause: `latchkey profile show {profile}` lists them, `latchkey profile set {profile} --scope '…'` changes them"
        ),
        Hint::SignInDenied { profile } => format!(
            ". If you refused it, run `latchkey login {profile}` again and approve; otherwise the provider refused the profile's scopes: `latchkey profile show {profile}` lists them, `latchkey profile set {profile} --scope '…'` changes them"
        ),
        Hint::FetchToken { profile } => format!("; `latchkey token {profile}` fetches its token"),
        Hint::RemoveWithoutRevoking => "; use --no-revoke to remove it without revoking".into(),
        Hint::AddProfileWithIssuer => ". Add the profile with --issuer (its discovery document lists the keys), or leave out `openid`".into(),
        Hint::AddProfileAgainWithIssuer => ". Add the profile again with --issuer so discovery finds the provider's keys, or remove `openid` from its scopes".into(),
        Hint::GiveIssuer => "; add it again with --issuer".into(),
        Hint::AddDeviceEndpoint => {
            ". Add the profile again with --device-authorization-url URL".into()
        }
        Hint::AllowLegacyGrant { grant } => format!(
            ". If this provider leaves no other way, add the profile again with --allow-legacy-grant {grant}"
        ),
        Hint::GiveEndpoints => ", or give the endpoints with --authorize-url and --token-url".into(),
        Hint::UseScopes => "; use --scope".into(),
        Hint::PassClientSecret { .. } => {
            ": pass --client-secret-stdin and the secret on standard input".into()
        }
        Hint::DropClientSecret => "; drop one of them".into(),
        Hint::ListPresets => " (`latchkey presets` lists them)".into(),
        // The keychain's own message says how; there is no command for it.
        Hint::UnlockKeychain => String::new(),
        Hint::ChangeAccessRule {
            id,
            account,
            program,
        } => format!(
            ". `latchkey access remove {id}` removes the rule; `latchkey access allow {} --program {}` allows this program",
            shell_quote(account),
            shell_quote(program)
        ),
        Hint::AllowProgram { account, program } => format!(
            ". To allow it: `latchkey access allow {} --program {}`",
            shell_quote(account),
            shell_quote(program)
        ),
        Hint::CheckProxy => ". Check the proxy: the profile's (--proxy), else HTTPS_PROXY or ALL_PROXY; NO_PROXY lists hosts reached directly".into(),
        Hint::ProxyCredentials => ". Proxy credentials go in the environment, never in a profile: set HTTPS_PROXY=http://USER:PASSWORD@HOST:PORT (a profile's --proxy with the same scheme, host and port borrows them)".into(),
        Hint::GiveCaFile => ". If your network uses a company CA, add the profile with --ca-file PATH (that CA's PEM file)".into(),
        Hint::CheckCertificate => ". Check the URL and this machine's clock".into(),
        Hint::CheckHostName => ". Check the URL; behind a proxy, set HTTPS_PROXY or the profile's --proxy".into(),
        Hint::UsePar { profile } => format!(
            ". The provider requires pushed authorization requests of this client: `latchkey profile set {} --par`, then sign in again",
            shell_quote(profile)
        ),
        Hint::RegisterClientKey { profile } => format!(
            ". The provider may not know the client's key: register the public key that `latchkey profile show {} --jwks` prints",
            shell_quote(profile)
        ),
        Hint::UseProxyForDpop { account } => format!(
            ". Send its requests through `latchkey proxy {} --upstream URL`, which signs a proof for each, or make one with `latchkey token {} --format header --method METHOD --url URL`",
            shell_quote(account),
            shell_quote(account)
        ),
        Hint::TrustFile { path } => format!(
            ". Read it; if you trust it, run `latchkey trust {}`",
            shell_quote(path)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_become_commands_after_the_engine_sentence() {
        let needs = Error::NeedsSignIn {
            account: "okta/me".into(),
            profile: "okta".into(),
            reason: "the grant was revoked".into(),
        };
        assert_eq!(
            render(&needs.context("TOKEN")),
            "TOKEN: account `okta/me` needs sign-in: the grant was revoked. Run `latchkey login okta --account me` to sign in again"
        );
        let secret = Error::InvalidInput("the auth method `basic` needs a client secret".into())
            .with_hint(Hint::PassClientSecret {
                auth_method: Some("basic".into()),
            });
        assert_eq!(
            render(&secret),
            "--auth-method basic needs a client secret: pass --client-secret-stdin and the secret on standard input"
        );
        assert!(!secret.to_string().contains("--"), "{secret}");
    }

    #[test]
    fn provider_refusals_say_what_to_change() {
        let refused = |error: &str| {
            latchkey::error::provider_error("sign-in for profile `p`", error, Some("failed"), None)
        };
        assert_eq!(
            render(
                &refused("invalid_client").with_hint(Hint::WrongClientSecret {
                    profile: "p".into()
                })
            ),
            "sign-in for profile `p`: the provider answered `invalid_client`: failed. The client secret may be wrong: set it with `latchkey profile set-secret p`"
        );
        let scopes = render(&refused("invalid_scope").with_hint(Hint::CheckScopes {
            profile: "p".into(),
        }));
        assert!(
            scopes.ends_with("The profile's scopes may be the cause: `latchkey profile show p` lists them, `latchkey profile set p --scope '…'` changes them"),
            "{scopes}"
        );
    }

    #[test]
    fn did_you_mean_replaces_the_list_hint() {
        let e = Error::AccountNotFound("tset".into())
            .context("API_TOKEN")
            .with_hint(Hint::DidYouMeanAccount {
                name: "test".into(),
            });
        assert_eq!(
            render(&e),
            "API_TOKEN: account `tset` not found; did you mean `test`? (`latchkey accounts` shows the accounts)"
        );
        let e = Error::ProfileNotFound("githib".into()).with_hint(Hint::DidYouMeanProfile {
            name: "github".into(),
        });
        assert_eq!(
            render(&e),
            "profile `githib` not found; did you mean `github`? (`latchkey profile list` shows the profiles)"
        );
    }

    #[test]
    fn an_import_conflict_suggests_a_rename_for_each_name() {
        let e = Error::ImportConflict {
            names: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            render(&e),
            "profile `a`, profile `b` already exist; nothing was imported. Pass --replace to replace, or import under other names with --rename a=NEW --rename b=NEW"
        );
    }

    /// One of each hint (the match fails to compile when a variant is added and not here).
    fn every_hint() -> Vec<Hint> {
        let p = || "my-prof".to_string();
        let all = vec![
            Hint::ListProfiles,
            Hint::RemoveProfile { name: p() },
            Hint::ReplaceOrRename {
                names: vec![p(), "b".into()],
            },
            Hint::ListAccounts,
            Hint::DidYouMeanProfile { name: p() },
            Hint::DidYouMeanAccount { name: p() },
            Hint::SignIn {
                profile: p(),
                account: None,
            },
            Hint::ReplaceLostGrant { profile: p() },
            Hint::RetrySignIn { profile: p() },
            Hint::RetryImplicitSignIn { profile: p() },
            Hint::RetryDeviceSignIn,
            Hint::AllowMoreTime,
            Hint::SetClientSecret { profile: p() },
            Hint::WrongClientSecret { profile: p() },
            Hint::CheckScopes { profile: p() },
            Hint::SignInDenied { profile: p() },
            Hint::FetchToken { profile: p() },
            Hint::RemoveWithoutRevoking,
            Hint::AddProfileWithIssuer,
            Hint::AddProfileAgainWithIssuer,
            Hint::GiveIssuer,
            Hint::AddDeviceEndpoint,
            Hint::AllowLegacyGrant {
                grant: "password".into(),
            },
            Hint::GiveEndpoints,
            Hint::UseScopes,
            Hint::PassClientSecret { auth_method: None },
            Hint::PassClientSecret {
                auth_method: Some("post".into()),
            },
            Hint::DropClientSecret,
            Hint::ListPresets,
            Hint::UnlockKeychain,
            Hint::CheckProxy,
            Hint::ProxyCredentials,
            Hint::GiveCaFile,
            Hint::CheckCertificate,
            Hint::CheckHostName,
            Hint::ChangeAccessRule {
                id: "0badc0de".into(),
                account: "my-prof/a b".into(),
                program: "/usr/bin/my tool".into(),
            },
            Hint::AllowProgram {
                account: "my-prof/a b".into(),
                program: "/usr/bin/my tool".into(),
            },
            Hint::UseProxyForDpop {
                account: "my-prof/a b".into(),
            },
            Hint::RegisterClientKey { profile: p() },
            Hint::UsePar { profile: p() },
            Hint::TrustFile {
                path: "/home/me/repo/.latchkey.env".into(),
            },
        ];
        for hint in &all {
            match hint {
                Hint::ListProfiles
                | Hint::RemoveProfile { .. }
                | Hint::ReplaceOrRename { .. }
                | Hint::ListAccounts
                | Hint::DidYouMeanProfile { .. }
                | Hint::DidYouMeanAccount { .. }
                | Hint::SignIn { .. }
                | Hint::ReplaceLostGrant { .. }
                | Hint::RetrySignIn { .. }
                | Hint::RetryImplicitSignIn { .. }
                | Hint::RetryDeviceSignIn
                | Hint::AllowMoreTime
                | Hint::SetClientSecret { .. }
                | Hint::WrongClientSecret { .. }
                | Hint::CheckScopes { .. }
                | Hint::SignInDenied { .. }
                | Hint::FetchToken { .. }
                | Hint::RemoveWithoutRevoking
                | Hint::AddProfileWithIssuer
                | Hint::AddProfileAgainWithIssuer
                | Hint::GiveIssuer
                | Hint::AddDeviceEndpoint
                | Hint::AllowLegacyGrant { .. }
                | Hint::GiveEndpoints
                | Hint::UseScopes
                | Hint::PassClientSecret { .. }
                | Hint::DropClientSecret
                | Hint::RegisterClientKey { .. }
                | Hint::UsePar { .. }
                | Hint::ListPresets
                | Hint::UnlockKeychain
                | Hint::CheckProxy
                | Hint::ProxyCredentials
                | Hint::GiveCaFile
                | Hint::CheckCertificate
                | Hint::CheckHostName
                | Hint::ChangeAccessRule { .. }
                | Hint::AllowProgram { .. }
                | Hint::UseProxyForDpop { .. }
                | Hint::TrustFile { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_hint_names_the_command_flag_or_variable_to_use() {
        for hint in every_hint() {
            let text = render(
                &Error::InvalidInput("the engine's sentence".into()).with_hint(hint.clone()),
            );
            let added = text.strip_prefix("the engine's sentence").unwrap_or(&text);
            match hint {
                // The keychain's own message says how to unlock it.
                Hint::UnlockKeychain => assert_eq!(added, "", "{hint:?}"),
                Hint::CheckCertificate => assert!(added.contains("clock"), "{added}"),
                _ => assert!(
                    added.contains("`latchkey ")
                        || added.contains("--")
                        || added.contains("HTTPS_PROXY"),
                    "{hint:?} renders no command: {text}"
                ),
            }
            // Whatever it names comes through, shell-quoted where it must be.
            if format!("{hint:?}").contains("my-prof")
                && !matches!(hint, Hint::ReplaceOrRename { .. })
            {
                assert!(text.contains("my-prof"), "{hint:?}: {text}");
            }
            if format!("{hint:?}").contains("a b") {
                assert!(text.contains("'my-prof/a b'"), "{hint:?}: {text}");
            }
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn access_hints_quote_what_the_shell_would_split() {
        let refused = Error::InvalidInput("refused".into()).with_hint(Hint::ChangeAccessRule {
            id: "0badc0de".into(),
            account: "work/a b".into(),
            program: "/usr/bin/my tool".into(),
        });
        assert_eq!(
            render(&refused),
            "refused. `latchkey access remove 0badc0de` removes the rule; `latchkey access allow 'work/a b' --program '/usr/bin/my tool'` allows this program"
        );
        let trust = Error::InvalidInput("not trusted".into()).with_hint(Hint::TrustFile {
            path: "/home/me/it's/.latchkey.env".into(),
        });
        assert_eq!(
            render(&trust),
            "not trusted. Read it; if you trust it, run `latchkey trust '/home/me/it'\\''s/.latchkey.env'`"
        );
    }
}
