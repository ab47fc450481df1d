//! Shared profiles: fetching a profiles file from a URL, importing profiles (all of them or
//! none), and whether a profile's client secret is in the keychain (a shared file never
//! carries it).

use std::collections::BTreeMap;

use url::Url;

use super::profiles::{refuse_changes, refuse_provider_change};
use super::{Latchkey, missing_client_secret, require_keys_for_openid, secret_key};
use crate::error::{Error, Result};
use crate::model::profile::{Profile, is_loopback};
use crate::protocol::http::HttpError;
use crate::protocol::network::Network;

/// The largest profiles file an import reads: a few hundred profiles.
pub const MAX_SHARED_FILE: usize = 256 * 1024;

/// Where a profile's client secret stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretState {
    /// A public client: it has none.
    NotNeeded,
    Stored,
    /// The profile authenticates with a secret the keychain does not hold.
    Missing,
}

impl SecretState {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretState::NotNeeded => "none",
            SecretState::Stored => "stored",
            SecretState::Missing => "missing",
        }
    }
}

/// What the engine checks of every profile it stores, also one that was never discovered
/// (a hand edit, an import).
pub fn check_profile(profile: &Profile) -> Result<()> {
    profile.validate()?;
    require_keys_for_openid(profile)
}

impl Latchkey {
    /// The bytes of a shared profiles file at `url`: https, or plain http on a loopback host
    /// only (refused before any request); no redirect is followed; at most
    /// [`MAX_SHARED_FILE`] bytes.
    pub async fn fetch_shared(&self, url: &Url) -> Result<Vec<u8>> {
        let allowed = match url.scheme() {
            "https" => true,
            "http" => is_loopback(url),
            _ => false,
        };
        if !allowed {
            return Err(Error::InvalidInput(format!(
                "cannot import from {}: use https (plain http only on 127.0.0.1, ::1 or localhost)",
                without_credentials(url)
            )));
        }
        let context = format!("cannot fetch profiles from {}", without_credentials(url));
        // The environment's proxy (as for any request); a shared file has no profile yet.
        self.http(&Network::default(), url)?
            .get_capped(url, MAX_SHARED_FILE)
            .await
            .map_err(|e| match e {
                HttpError::Redirect { status, location } => Error::BadResponse {
                    context,
                    detail: format!(
                        "the server answered HTTP {status} redirecting to {location}; redirects are not followed for imports, so give the final URL"
                    ),
                },
                other => other.into_error(context),
            })
    }

    /// Adds `incoming` (checked, named) to the profiles, all or none. A name that exists is a
    /// conflict unless `replace`; a replaced profile keeps its accounts and so may not change
    /// its grant, nor, while it has accounts, its provider, its `auth_method` or its
    /// `jwks_uri`. The client secret of a replaced profile is deleted only when the new one
    /// talks to another client or provider (possible only without accounts: it would reach
    /// that provider otherwise); one the new auth method does not use is kept. Returns the
    /// names that replaced a profile.
    pub async fn import_profiles(
        &self,
        incoming: Vec<Profile>,
        replace: bool,
    ) -> Result<Vec<String>> {
        for p in &incoming {
            check_profile(p)?;
        }
        let before = self.config.profiles()?;
        let current: BTreeMap<String, Profile> =
            before.into_iter().map(|p| (p.name.clone(), p)).collect();
        let (replaced, stale) = self.import_plan(&current, &incoming, replace)?;
        let previous = self.config.update_profiles(|all| {
            // Again under the config lock, which a sign-in's account write takes too.
            let (again, _) = self.import_plan(all, &incoming, replace)?;
            if again != replaced {
                return Err(Error::ImportConflict { names: again });
            }
            let mut previous = BTreeMap::new();
            for mut p in incoming {
                // A shared file never says where a registration access token is sent (RFC
                // 7592): only `profile add` records a registration.
                p.registration = None;
                // The user's own network settings stay (a shared file never sets them).
                if let Some(old) = all.get(&p.name) {
                    p.proxy.clone_from(&old.proxy);
                    p.ca_file.clone_from(&old.ca_file);
                }
                previous.insert(p.name.clone(), all.insert(p.name.clone(), p));
            }
            Ok(previous)
        })?;
        // Deleted secrets are kept in memory until all are gone, to be put back on a failure.
        let mut deleted: Vec<(String, zeroize::Zeroizing<Vec<u8>>)> = Vec::new();
        for name in &stale {
            let key = secret_key(name);
            let result = match self.keychain.get(&key).await {
                Ok(old) => self.keychain.delete(&key).await.map(|()| old),
                Err(e) => Err(e),
            };
            match result {
                Ok(old) => deleted.extend(old.map(|v| (key, zeroize::Zeroizing::new(v)))),
                Err(e) => {
                    // Put back what was there: a stale secret must not reach the new provider,
                    // and the restored profiles need theirs.
                    for (key, secret) in deleted {
                        let _ = self.keychain.set(&key, secret.to_vec()).await;
                    }
                    let _ = self.config.update_profiles(|all| {
                        for (name, old) in &previous {
                            match old {
                                Some(old) => all.insert(name.clone(), old.clone()),
                                None => all.remove(name),
                            };
                        }
                        Ok(())
                    });
                    return Err(e.into());
                }
            }
        }
        Ok(replaced)
    }

    /// The names `incoming` replaces (an error for any unless `replace`) and those whose
    /// client secret must go; refuses a replacement the profile's accounts rule out.
    fn import_plan(
        &self,
        current: &BTreeMap<String, Profile>,
        incoming: &[Profile],
        replace: bool,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let replaced: Vec<&Profile> = incoming
            .iter()
            .filter(|p| current.contains_key(&p.name))
            .collect();
        let names: Vec<String> = replaced.iter().map(|p| p.name.clone()).collect();
        if !replace && !names.is_empty() {
            return Err(Error::ImportConflict { names });
        }
        let accounts = self.config.accounts()?;
        let mut stale = Vec::new();
        for new in replaced {
            let old = &current[&new.name];
            if old.grant != new.grant {
                return Err(Error::InvalidInput(format!(
                    "the grant of profile `{}` cannot change ({} to {}); remove the profile first, or import it under another name; nothing was imported",
                    old.name,
                    old.grant.as_str(),
                    new.grant.as_str()
                )));
            }
            refuse_provider_change(old, new, &accounts, "import it again")?;
            refuse_changes(
                old,
                &trust_changes(old, new),
                &accounts,
                "import it again",
                "would change how the provider is trusted with their tokens",
            )?;
            // The old client's secret must not reach another client's provider. A secret the
            // new auth method does not use is kept: only the user deletes one.
            let moved = !old.provider_changes(new).is_empty();
            if old.auth_method.needs_secret() && moved {
                stale.push(new.name.clone());
            }
        }
        Ok((names, stale))
    }

    /// Whether `profile`'s client secret is in the keychain (asks it only when one is needed).
    pub async fn client_secret_state(&self, profile: &Profile) -> Result<SecretState> {
        if !profile.auth_method.needs_secret() {
            return Ok(SecretState::NotNeeded);
        }
        Ok(match self.keychain.get(&secret_key(&profile.name)).await? {
            Some(_) => SecretState::Stored,
            None => SecretState::Missing,
        })
    }

    /// An error (hint: set the secret) when `profile` needs a client secret the keychain does
    /// not hold: checked before a sign-in starts, not after the browser.
    pub async fn require_client_secret(&self, profile: &Profile) -> Result<()> {
        match self.client_secret_state(profile).await? {
            SecretState::Missing => Err(missing_client_secret(&profile.name)),
            _ => Ok(()),
        }
    }
}

/// What else of a replaced profile counts as a change of provider while it has accounts: how
/// the client authenticates (`auth_method`: with none, a secret in the keychain stops being
/// used; from none, tokens issued to a public client meet a confidential one) and the keys its
/// id_tokens are checked with (`jwks_uri`: whoever serves them can sign any identity).
fn trust_changes(old: &Profile, new: &Profile) -> Vec<&'static str> {
    [
        (old.auth_method != new.auth_method, "auth_method"),
        (old.jwks_uri != new.jwks_uri, "jwks_uri"),
        // The accounts' tokens are bound to keys (or not): a shared file does not change that.
        (old.dpop != new.dpop, "dpop"),
        (old.par != new.par, "par"),
    ]
    .into_iter()
    .filter_map(|(changed, what)| changed.then_some(what))
    .collect()
}

/// `url` without a user name or password, for messages.
pub fn without_credentials(url: &Url) -> Url {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown
}
