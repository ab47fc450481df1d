//! Profiles: add (with discovery), update, set the client secret, remove.

use oauth2::ClientSecret;
use url::Url;

use super::client_secrets::client_key;
use super::{Latchkey, require_keys_for_openid, secret_key};
use crate::error::{Error, Hint, Result};
use crate::model::account::Account;
use crate::model::profile::{
    AuthMethod, Endpoints, Grant, ManualEndpoints, NewProfile, Profile, ProfileExtras,
    validate_name, validate_new_redirect_uri,
};
use crate::protocol::discovery;
use crate::protocol::idtoken;
use crate::protocol::network::{self, Network};

impl Latchkey {
    pub fn profiles(&self) -> Result<Vec<Profile>> {
        self.config.profiles()
    }

    pub fn profile(&self, name: &str) -> Result<Profile> {
        self.config.profile(name)
    }

    /// Fetches an issuer's metadata (the desktop app's "Discover" step).
    pub async fn discover(&self, issuer: &str) -> Result<discovery::Metadata> {
        self.discover_via(issuer, &Network::default()).await
    }

    /// [`Latchkey::discover`] through a profile's proxy and trusting its CA file.
    pub async fn discover_via(
        &self,
        issuer: &str,
        network: &Network,
    ) -> Result<discovery::Metadata> {
        let url = Url::parse(issuer)
            .map_err(|e| Error::InvalidInput(format!("the issuer {issuer:?} is not a URL: {e}")))?;
        if let Some(proxy) = &network.proxy {
            network::check_proxy(proxy)?;
        }
        discovery::discover(&self.http(network, &url)?, issuer).await
    }

    /// Discovers (when given an issuer), checks and stores a profile with its grant and extra
    /// request parameters; the secret goes to the keychain. On any failure nothing is written.
    pub async fn add_profile_with(
        &self,
        new: NewProfile,
        extras: ProfileExtras,
        secret: Option<ClientSecret>,
    ) -> Result<Profile> {
        self.add_profile_with_revocation(new, extras, secret, None)
            .await
    }

    /// [`Latchkey::add_profile_with`], with a revocation endpoint that wins over the one the
    /// endpoints give: for an issuer whose metadata lists none (RFC 7009 revocation may exist
    /// all the same).
    pub async fn add_profile_with_revocation(
        &self,
        new: NewProfile,
        extras: ProfileExtras,
        secret: Option<ClientSecret>,
        revocation: Option<Url>,
    ) -> Result<Profile> {
        validate_name(&new.name, "profile")?;
        if self.config.profile(&new.name).is_ok() {
            return Err(Error::ProfileExists(new.name));
        }
        let secret = client_key(new.auth_method, secret, true)?;
        let mut profile = self.build_profile(new, extras, secret.is_some()).await?;
        if let Some(url) = revocation {
            profile.revocation_endpoint = Some(url);
            profile.validate()?;
        }
        self.store_new_profile(profile, secret).await
    }

    /// Stores a built, checked profile that must be new, and its secret in the keychain.
    pub(super) async fn store_new_profile(
        &self,
        profile: Profile,
        secret: Option<ClientSecret>,
    ) -> Result<Profile> {
        let stored = profile.clone();
        self.config.update_profiles(|all| {
            if all.contains_key(&stored.name) {
                return Err(Error::ProfileExists(stored.name.clone()));
            }
            all.insert(stored.name.clone(), stored);
            Ok(())
        })?;
        if let Some(secret) = secret
            && let Err(e) = self.set_client_secret_entry(&profile.name, &secret).await
        {
            // Roll back: a profile whose secret is not in the keychain is of no use.
            let name = profile.name.clone();
            let _ = self.config.update_profiles(|all| {
                all.remove(&name);
                Ok(())
            });
            return Err(e);
        }
        Ok(profile)
    }

    /// Replaces an existing profile's settings (its name stays; accounts are kept). `secret`
    /// replaces the client secret; `None` keeps the stored one. The grant cannot change, nor
    /// the provider (issuer, client id, authorization, token or revocation endpoint) while the
    /// profile has accounts. What only a hand edit sets is kept (see [`keep_hand_edits`]). On
    /// failure the old profile stays.
    pub async fn update_profile(
        &self,
        new: NewProfile,
        extras: ProfileExtras,
        secret: Option<ClientSecret>,
    ) -> Result<Profile> {
        let old = self.config.profile(&new.name)?;
        let becomes_key_client = old.auth_method != AuthMethod::PrivateKeyJwt;
        let secret = client_key(new.auth_method, secret, becomes_key_client)?;
        if extras.grant != old.grant {
            return Err(Error::InvalidInput(format!(
                "the grant of profile `{}` cannot change; add a new profile for the other grant",
                old.name
            )));
        }
        // A key client left on "automatic" stays one; moved to a secret method, it needs the
        // secret (the key it holds is never sent as one).
        let mut new = new;
        if old.auth_method == AuthMethod::PrivateKeyJwt && new.auth_method.is_none() {
            new.auth_method = Some(AuthMethod::PrivateKeyJwt);
        }
        let keeps_secret = secret.is_none()
            && old.auth_method.needs_secret()
            && new.auth_method.is_none_or(AuthMethod::needs_secret)
            && (old.auth_method == AuthMethod::PrivateKeyJwt)
                == (new.auth_method == Some(AuthMethod::PrivateKeyJwt));
        let mut profile = self
            .build_profile(new, extras, secret.is_some() || keeps_secret)
            .await?;
        if keeps_secret && profile.auth_method == AuthMethod::None {
            profile.auth_method = old.auth_method;
        }
        keep_hand_edits(&old, &mut profile);
        refuse_provider_change(&old, &profile, &self.config.accounts()?, EDIT)?;
        let key = secret_key(&profile.name);
        let previous_secret = match &secret {
            Some(secret) => {
                let previous = self.keychain.get(&key).await?;
                self.set_client_secret_entry(&profile.name, secret).await?;
                Some(previous)
            }
            None => None,
        };
        let stored = profile.clone();
        let config = self.config.clone();
        let written = self.config.update_profiles(|all| {
            // Again under the config lock, which a sign-in's account write takes too: an
            // account that appeared since the check above is seen here, or the sign-in sees
            // the new provider and stores nothing.
            let current = all
                .get(&stored.name)
                .ok_or_else(|| Error::ProfileNotFound(stored.name.clone()))?;
            refuse_provider_change(current, &stored, &config.accounts()?, EDIT)?;
            all.insert(stored.name.clone(), stored);
            Ok(())
        });
        if let Err(e) = written {
            let _ = match previous_secret {
                Some(Some(previous)) => self.keychain.set(&key, previous).await,
                Some(None) => self.keychain.delete(&key).await,
                None => Ok(()),
            };
            return Err(e);
        }
        if !profile.auth_method.needs_secret() && old.auth_method.needs_secret() {
            self.keychain.delete(&secret_key(&profile.name)).await?;
        }
        Ok(profile)
    }

    /// Validates a profile description and fills its endpoints, by discovery when it names an
    /// issuer. Writes nothing.
    pub(super) async fn build_profile(
        &self,
        mut new: NewProfile,
        extras: ProfileExtras,
        has_secret: bool,
    ) -> Result<Profile> {
        validate_name(&new.name, "profile")?;
        if new.client_id.trim().is_empty() {
            return Err(Error::InvalidInput("the client id is empty".into()));
        }
        let auth_method = match (new.auth_method, has_secret) {
            (Some(AuthMethod::None), true) => {
                return Err(Error::InvalidInput(
                    "a client secret was given for the auth method `none`".into(),
                )
                .with_hint(Hint::DropClientSecret));
            }
            (Some(m), false) if m.needs_secret() => {
                return Err(Error::InvalidInput(format!(
                    "the auth method `{}` needs a client secret",
                    m.as_str()
                ))
                .with_hint(Hint::PassClientSecret {
                    auth_method: Some(m.as_str().to_string()),
                }));
            }
            (Some(m), _) => m,
            (None, true) => AuthMethod::Basic,
            (None, false) => AuthMethod::None,
        };
        if let Some(uri) = &new.redirect_uri {
            validate_new_redirect_uri(uri, new.redirect)?;
        }
        if extras.grant == Grant::ClientCredentials && !auth_method.needs_secret() {
            return Err(Error::InvalidInput(
                "the client credentials grant needs a client secret".into(),
            )
            .with_hint(Hint::PassClientSecret { auth_method: None }));
        }
        // Checked before anything is fetched: a CA file that is no PEM fails here, clearly.
        if let Some(proxy) = &extras.network.proxy {
            network::check_proxy(proxy)?;
        }
        if let Some(path) = &extras.network.ca_file {
            network::load_ca_file(path)?;
        }
        let mut algorithms = Vec::new();
        let mut discovered_device = None;
        let mut discovered = None;
        let (issuer, authorization, token, revocation, userinfo, jwks, iss_supported) =
            match new.endpoints {
                Endpoints::Issuer(issuer) => {
                    let m = self.discover_via(&issuer, &extras.network).await?;
                    let missing = |what: &str| Error::Discovery {
                        issuer: issuer.clone(),
                        detail: format!("no {what}"),
                    };
                    if new.scopes.is_empty() && extras.grant != Grant::ClientCredentials {
                        new.scopes = default_scopes(&m);
                    }
                    algorithms = signing_algorithms(&issuer, &m, &new.scopes)?;
                    discovered_device = m.device_authorization_endpoint.clone();
                    discovered = Some(m.clone());
                    (
                        Some(m.issuer.clone()),
                        m.authorization_endpoint
                            .ok_or_else(|| missing("authorization_endpoint"))?,
                        m.token_endpoint.ok_or_else(|| missing("token_endpoint"))?,
                        m.revocation_endpoint,
                        m.userinfo_endpoint,
                        m.jwks_uri,
                        m.authorization_response_iss_parameter_supported,
                    )
                }
                Endpoints::Manual(m) => {
                    let ManualEndpoints {
                        authorization,
                        token,
                        revocation,
                        userinfo,
                    } = *m;
                    (
                        None,
                        authorization,
                        token,
                        revocation,
                        userinfo,
                        None,
                        false,
                    )
                }
            };
        let (par_endpoint, requires_par) = match &discovered {
            Some(m) => (
                m.pushed_authorization_request_endpoint.clone(),
                m.require_pushed_authorization_requests,
            ),
            None => (None, false),
        };
        if extras.par && par_endpoint.is_none() {
            return Err(Error::InvalidInput(
                "--par: the provider's metadata names no pushed_authorization_request_endpoint"
                    .into(),
            ));
        }
        let profile = Profile {
            name: new.name,
            client_id: new.client_id.trim().to_string(),
            issuer,
            authorization_endpoint: authorization,
            token_endpoint: token,
            revocation_endpoint: revocation,
            userinfo_endpoint: userinfo,
            jwks_uri: jwks,
            scopes: new.scopes,
            auth_method,
            redirect: new.redirect,
            redirect_uri: new.redirect_uri,
            authorization_response_iss_parameter_supported: iss_supported,
            id_token_signing_alg_values_supported: algorithms,
            id_token_leeway_seconds: None,
            grant: extras.grant,
            device_authorization_endpoint: extras
                .device_authorization_endpoint
                .or(discovered_device),
            extra_authorize_params: extras.extra_authorize_params,
            extra_token_params: extras.extra_token_params,
            allowed_legacy_grants: {
                let mut g = extras.allowed_legacy_grants;
                g.sort();
                g.dedup();
                g
            },
            proxy: extras.network.proxy,
            ca_file: extras.network.ca_file,
            resources: {
                let mut r = Vec::new();
                for resource in extras.resources {
                    if !r.contains(&resource) {
                        r.push(resource);
                    }
                }
                r
            },
            resource_metadata: None,
            registration: None,
            dpop: extras.dpop,
            par: extras.par || (requires_par && par_endpoint.is_some()),
            pushed_authorization_request_endpoint: par_endpoint,
            client_metadata_document: false,
        };
        profile.validate()?;
        require_keys_for_openid(&profile)?;
        Ok(profile)
    }
}

/// What to do after signing out, when an edit changes the provider.
const EDIT: &str = "edit the profile";

/// Keeps in an edited profile what the edit cannot give (the app's form has no field for it):
/// the id_token leeway, the resource indicators, resource metadata and registration of a
/// profile added from a resource (the registration only while the client id stays), and
/// endpoints that neither the form nor discovery gives (a device
/// authorization endpoint; a revocation or userinfo endpoint added by hand to a profile that
/// discovers from the same issuer).
fn keep_hand_edits(old: &Profile, edited: &mut Profile) {
    edited.id_token_leeway_seconds = old.id_token_leeway_seconds;
    // What `profile add --resource` found and registered (the form has no fields for it).
    if edited.resources.is_empty() {
        edited.resources.clone_from(&old.resources);
    }
    edited.resource_metadata.clone_from(&old.resource_metadata);
    if edited.client_id == old.client_id {
        edited.registration.clone_from(&old.registration);
        edited.client_metadata_document = old.client_metadata_document;
    }
    if edited.device_authorization_endpoint.is_none() {
        edited.device_authorization_endpoint = old.device_authorization_endpoint.clone();
    }
    if edited.issuer.is_some() && edited.issuer == old.issuer {
        if edited.revocation_endpoint.is_none() {
            edited.revocation_endpoint = old.revocation_endpoint.clone();
        }
        if edited.userinfo_endpoint.is_none() {
            edited.userinfo_endpoint = old.userinfo_endpoint.clone();
        }
    }
}

/// An edit that changes the provider of a profile with accounts is refused: their refresh
/// tokens come from the old provider and would be sent, with the client secret, to the new one.
/// `retry` says what to do once they are signed out.
pub(super) fn refuse_provider_change(
    old: &Profile,
    new: &Profile,
    accounts: &[Account],
    retry: &str,
) -> Result<()> {
    refuse_changes(
        old,
        &old.provider_changes(new),
        accounts,
        retry,
        "would send their refresh tokens and the client secret to another provider",
    )
}

/// The error for `changed` (what of `old`'s provider a change would touch) while `old` has
/// accounts; `why` says what it would do to them.
pub(super) fn refuse_changes(
    old: &Profile,
    changed: &[&str],
    accounts: &[Account],
    retry: &str,
    why: &str,
) -> Result<()> {
    let ids: Vec<String> = accounts
        .iter()
        .filter(|a| a.profile == old.name)
        .map(Account::id)
        .collect();
    if changed.is_empty() || ids.is_empty() {
        return Ok(());
    }
    let logouts: Vec<String> = ids
        .iter()
        .map(|id| format!("`latchkey logout {id}`"))
        .collect();
    Err(Error::InvalidInput(format!(
        "profile `{}` has accounts ({}): changing its {} {why}. Sign them out first ({}), then {retry}; nothing was changed",
        old.name,
        ids.join(", "),
        changed.join(", "),
        logouts.join(", ")
    )))
}

/// The scopes of a sign-in profile added from an issuer without any: `openid` when the issuer
/// is an OpenID Provider (it lists `openid`, or, listing no scopes, has a JWKS to sign
/// id_tokens with), and `offline_access` when it lists that too, so that a refresh token is
/// issued. None for a plain OAuth server: what to ask for is the API's own business.
pub(super) fn default_scopes(m: &discovery::Metadata) -> Vec<String> {
    let lists = |s: &str| {
        m.scopes_supported
            .as_ref()
            .is_some_and(|all| all.iter().any(|x| x == s))
    };
    let openid = match &m.scopes_supported {
        Some(_) => lists("openid"),
        None => m.jwks_uri.is_some() && m.id_token_signing_alg_values_supported.is_some(),
    };
    if !openid {
        return Vec::new();
    }
    let mut scopes = vec!["openid".to_string()];
    if lists("offline_access") {
        scopes.push("offline_access".into());
    }
    scopes
}

/// The id_token algorithms discovery advertises that Latchkey verifies. None of them, for a
/// profile that asks for `openid`, is an error now rather than at every sign-in.
fn signing_algorithms(
    issuer: &str,
    m: &discovery::Metadata,
    scopes: &[String],
) -> Result<Vec<String>> {
    let Some(advertised) = m
        .id_token_signing_alg_values_supported
        .as_ref()
        .filter(|a| !a.is_empty())
    else {
        return Ok(Vec::new());
    };
    let supported: Vec<String> = advertised
        .iter()
        .filter(|a| idtoken::SUPPORTED_ALGORITHMS.contains(&a.as_str()))
        .cloned()
        .collect();
    if supported.is_empty() && scopes.iter().any(|s| s == "openid") {
        return Err(Error::Discovery {
            issuer: issuer.to_string(),
            detail: format!(
                "the provider signs id_tokens with {}, none of which Latchkey verifies ({})",
                advertised.join(", "),
                idtoken::SUPPORTED_ALGORITHMS.join(", ")
            ),
        });
    }
    Ok(supported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::config::Config;
    use crate::store::keychain::Keychain;

    /// An engine on a fresh config directory holding `profile` and accounts labelled `labels`.
    /// The edits below read no secret, so the keychain is never asked.
    fn engine_with(profile: &Profile, labels: &[&str]) -> Latchkey {
        let engine = Latchkey::new(Config::temp(), Keychain::default());
        let stored = profile.clone();
        engine
            .config
            .update_profiles(|all| {
                all.insert(stored.name.clone(), stored);
                Ok(())
            })
            .unwrap();
        for label in labels {
            engine
                .config
                .put_account(Account {
                    profile: profile.name.clone(),
                    label: label.to_string(),
                    subject: None,
                    scopes: vec![],
                    expires_at: None,
                    has_refresh_token: true,
                    needs_sign_in: None,
                    signed_in_at: 0,
                    default: false,
                    dpop_bound: false,
                })
                .unwrap();
        }
        engine
    }

    /// What the app's edit form sends for `p` (hand-given endpoints), after `change`.
    fn edit(
        engine: &Latchkey,
        p: &Profile,
        change: impl FnOnce(&mut NewProfile),
    ) -> Result<Profile> {
        let mut new = NewProfile {
            name: p.name.clone(),
            client_id: p.client_id.clone(),
            endpoints: Endpoints::Manual(Box::new(ManualEndpoints {
                authorization: p.authorization_endpoint.clone(),
                token: p.token_endpoint.clone(),
                revocation: p.revocation_endpoint.clone(),
                userinfo: p.userinfo_endpoint.clone(),
            })),
            scopes: p.scopes.clone(),
            auth_method: Some(AuthMethod::None),
            redirect: p.redirect,
            redirect_uri: p.redirect_uri.clone(),
        };
        change(&mut new);
        let run = engine.update_profile(new, ProfileExtras::default(), None);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run)
    }

    /// One change to an edit.
    type Change = fn(&mut NewProfile);

    fn endpoints(token: &str) -> Endpoints {
        Endpoints::Manual(Box::new(ManualEndpoints {
            authorization: "https://as.example/authorize".parse().unwrap(),
            token: token.parse().unwrap(),
            revocation: None,
            userinfo: None,
        }))
    }

    #[test]
    fn an_edit_of_the_provider_is_refused_while_the_profile_has_accounts() {
        let profile = Profile::for_tests("work");
        let engine = engine_with(&profile, &["alice", "bob"]);
        let before = std::fs::read(engine.config.profiles_path()).unwrap();
        let changes: [(&str, Change); 3] = [
            ("token endpoint", |n| {
                n.endpoints = endpoints("https://other.example/token")
            }),
            ("client id", |n| n.client_id = "another-client".into()),
            ("authorization endpoint", |n| {
                n.endpoints = Endpoints::Manual(Box::new(ManualEndpoints {
                    authorization: "https://other.example/authorize".parse().unwrap(),
                    token: "https://as.example/token".parse().unwrap(),
                    revocation: None,
                    userinfo: None,
                }))
            }),
        ];
        for (what, change) in changes {
            let err = edit(&engine, &profile, change).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::Usage, "{what}: {err}");
            let message = err.to_string();
            for needle in [
                what,
                "work/alice, work/bob",
                "`latchkey logout work/alice`",
                "nothing was changed",
            ] {
                assert!(message.contains(needle), "{what}: {message}");
            }
            assert_eq!(
                std::fs::read(engine.config.profiles_path()).unwrap(),
                before
            );
        }
        // Other settings still change, and without accounts the provider may too.
        let scoped = edit(&engine, &profile, |n| n.scopes = vec!["read".into()]).unwrap();
        assert_eq!(scoped.scopes, ["read"]);
        let empty = engine_with(&profile, &[]);
        let moved = edit(&empty, &profile, |n| {
            n.endpoints = endpoints("https://other.example/token")
        })
        .unwrap();
        assert_eq!(engine.config.accounts().unwrap().len(), 2);
        assert_eq!(moved.token_endpoint.as_str(), "https://other.example/token");
    }

    #[test]
    fn an_edit_keeps_what_only_a_hand_edit_sets() {
        let profile = Profile {
            id_token_leeway_seconds: Some(300),
            device_authorization_endpoint: Some("https://as.example/device".parse().unwrap()),
            resources: vec!["https://mcp.example/mcp".into()],
            resource_metadata: Some(
                "https://mcp.example/.well-known/oauth-protected-resource/mcp"
                    .parse()
                    .unwrap(),
            ),
            registration: Some(crate::model::profile::Registration {
                registration_endpoint: "https://as.example/register".parse().unwrap(),
                registration_client_uri: Some("https://as.example/register/c".parse().unwrap()),
            }),
            ..Profile::for_tests("leeway")
        };
        let engine = engine_with(&profile, &[]);
        let edited = edit(&engine, &profile, |n| n.scopes = vec!["read".into()]).unwrap();
        assert_eq!(edited.id_token_leeway_seconds, Some(300));
        assert_eq!(
            edited.device_authorization_endpoint,
            profile.device_authorization_endpoint
        );
        assert_eq!(edited.resources, profile.resources);
        assert_eq!(edited.resource_metadata, profile.resource_metadata);
        assert_eq!(edited.registration, profile.registration);
        let stored = engine.config.profile("leeway").unwrap();
        assert_eq!(stored.id_token_leeway_seconds, Some(300));
        assert_eq!(stored.scopes, ["read"]);
        assert_eq!(stored.registration, profile.registration);
        // Another client id: the registration was of the old client.
        let other = edit(&engine, &stored, |n| n.client_id = "other".into()).unwrap();
        assert_eq!(other.registration, None);
        assert_eq!(other.resources, profile.resources);
    }

    #[test]
    fn a_revocation_endpoint_within_the_token_endpoints_origin_is_the_same_provider() {
        let old = Profile::for_tests("p");
        let same_origin = Profile {
            revocation_endpoint: Some("https://as.example/revoke".parse().unwrap()),
            ..old.clone()
        };
        let elsewhere = Profile {
            revocation_endpoint: Some("https://other.example/revoke".parse().unwrap()),
            ..old.clone()
        };
        assert!(old.provider_changes(&same_origin).is_empty());
        assert!(same_origin.provider_changes(&old).is_empty());
        assert_eq!(old.provider_changes(&elsewhere), ["revocation endpoint"]);
        // The device flow sends the client secret: moving it elsewhere is another provider.
        let device_elsewhere = Profile {
            device_authorization_endpoint: Some("https://evil.example/device".parse().unwrap()),
            ..old.clone()
        };
        assert_eq!(
            old.provider_changes(&device_elsewhere),
            ["device authorization endpoint"]
        );
    }

    #[test]
    fn provider_text_with_escape_or_bidi_characters_is_refused() {
        let old = Profile::for_tests("p");
        for bad in [
            Profile {
                client_id: "app\u{1b}]52;c;eA==\u{7}".into(),
                ..old.clone()
            },
            Profile {
                issuer: Some("https://as.example/\u{202e}".into()),
                ..old.clone()
            },
            Profile {
                scopes: vec!["read".into(), "x\u{9b}31m".into()],
                ..old.clone()
            },
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains("control or invisible"), "{err}");
            assert!(
                !err.contains('\u{1b}') && !err.contains('\u{202e}'),
                "{err:?}"
            );
        }
        old.validate().unwrap();
    }
}
