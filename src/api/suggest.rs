//! "Did you mean" for the names users type: a profile or account that does not exist gets the
//! nearest existing name as its hint (front ends call this on the errors they show).

use crate::engine::Latchkey;
use crate::error::{Error, Hint};
use crate::model::suggest::closest;

/// `error` with a "did you mean" hint when it says a profile or account was not found and a
/// name close to the one given exists; otherwise `error` as it is. Reads only the config.
pub fn with_suggestion(engine: &Latchkey, error: Error) -> Error {
    if error.kind() != crate::ErrorKind::NotFound {
        return error;
    }
    let hint = match innermost(&error) {
        Error::ProfileNotFound(name) => {
            let profiles = engine.profiles().unwrap_or_default();
            closest(name, profiles.iter().map(|p| p.name.as_str())).map(|n| {
                Hint::DidYouMeanProfile {
                    name: n.to_string(),
                }
            })
        }
        Error::AccountNotFound(name) => {
            let accounts = engine.accounts().unwrap_or_default();
            let ids: Vec<String> = accounts.iter().map(|a| a.id()).collect();
            let bare = accounts.iter().map(|a| a.profile.as_str());
            closest(name, ids.iter().map(String::as_str).chain(bare)).map(|n| {
                Hint::DidYouMeanAccount {
                    name: n.to_string(),
                }
            })
        }
        _ => None,
    };
    match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

/// The error under any context and hint wrappers.
fn innermost(error: &Error) -> &Error {
    match error {
        Error::Context { source, .. } | Error::Hinted { source, .. } => innermost(source),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::account::Account;
    use crate::store::config::Config;
    use crate::store::keychain::Keychain;

    #[test]
    fn a_mistyped_account_gets_the_nearest_name() {
        let config = Config::temp();
        let engine = Latchkey::new(config, Keychain::default());
        engine
            .config()
            .put_account(Account {
                profile: "test".into(),
                label: "alice".into(),
                subject: None,
                scopes: vec![],
                expires_at: None,
                has_refresh_token: false,
                needs_sign_in: None,
                signed_in_at: 0,
                default: false,
                dpop_bound: false,
            })
            .unwrap();
        let hinted = with_suggestion(&engine, Error::AccountNotFound("tset".into()));
        assert_eq!(
            hinted.hint(),
            Some(Hint::DidYouMeanAccount {
                name: "test".into()
            })
        );
        assert_eq!(hinted.kind(), crate::ErrorKind::NotFound);
        let hinted = with_suggestion(
            &engine,
            Error::AccountNotFound("test/alicce".into()).context("TOKEN"),
        );
        assert_eq!(
            hinted.hint(),
            Some(Hint::DidYouMeanAccount {
                name: "test/alice".into()
            })
        );
        let far = with_suggestion(&engine, Error::AccountNotFound("zzzzzz".into()));
        assert_eq!(far.hint(), Some(Hint::ListAccounts));
    }
}
