//! Profiles: add (with discovery), update, set the client secret, remove.

use oauth2::ClientSecret;
use url::Url;

use super::{Latchkey, require_keys_for_openid, secret_key};
use crate::account::Account;
use crate::discovery;
use crate::error::{Error, Result};
use crate::idtoken;
use crate::profile::{
    AuthMethod, Endpoints, Grant, ManualEndpoints, NewProfile, Profile, ProfileExtras,
    validate_name, validate_new_redirect_uri,
};

impl Latchkey {
    pub fn profiles(&self) -> Result<Vec<Profile>> {
        self.config.profiles()
    }

    pub fn profile(&self, name: &str) -> Result<Profile> {
        self.config.profile(name)
    }

    /// Fetches an issuer's metadata (the desktop app's "Discover" step).
    pub async fn discover(&self, issuer: &str) -> Result<discovery::Metadata> {
        let url = Url::parse(issuer)
            .map_err(|e| Error::InvalidInput(format!("the issuer {issuer:?} is not a URL: {e}")))?;
        discovery::discover(self.http(&url)?, issuer).await
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
        let mut profile = self.build_profile(new, extras, secret.is_some()).await?;
        if let Some(url) = revocation {
            profile.revocation_endpoint = Some(url);
            profile.validate()?;
        }
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
    /// replaces the client secret; `None` keeps the stored one. The grant cannot change; a
    /// device authorization endpoint that neither `extras` nor discovery gives is kept. On
    /// failure the old profile stays.
    pub async fn update_profile(
        &self,
        new: NewProfile,
        extras: ProfileExtras,
        secret: Option<ClientSecret>,
    ) -> Result<Profile> {
        let old = self.config.profile(&new.name)?;
        if extras.grant != old.grant {
            return Err(Error::InvalidInput(format!(
                "the grant of profile `{}` cannot change; add a new profile for the other grant",
                old.name
            )));
        }
        let keeps_secret = secret.is_none()
            && old.auth_method.needs_secret()
            && new.auth_method.is_none_or(AuthMethod::needs_secret);
        let old_device = old.device_authorization_endpoint.clone();
        let mut profile = self
            .build_profile(new, extras, secret.is_some() || keeps_secret)
            .await?;
        if profile.device_authorization_endpoint.is_none() {
            profile.device_authorization_endpoint = old_device;
        }
        if keeps_secret && profile.auth_method == AuthMethod::None {
            profile.auth_method = old.auth_method;
        }
        if let Some(secret) = &secret {
            self.set_client_secret_entry(&profile.name, secret).await?;
        }
        let stored = profile.clone();
        self.config.update_profiles(|all| {
            all.insert(stored.name.clone(), stored);
            Ok(())
        })?;
        if !profile.auth_method.needs_secret() && old.auth_method.needs_secret() {
            self.keychain.delete(&secret_key(&profile.name)).await?;
        }
        Ok(profile)
    }

    /// Validates a profile description and fills its endpoints, by discovery when it names an
    /// issuer. Writes nothing.
    async fn build_profile(
        &self,
        new: NewProfile,
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
                    "a client secret was given for --auth-method none; drop one of them".into(),
                ));
            }
            (Some(m), false) if m.needs_secret() => {
                return Err(Error::InvalidInput(format!(
                    "--auth-method {} needs a client secret: pass --client-secret-stdin and the secret on standard input",
                    m.as_str()
                )));
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
                "the client credentials grant needs a client secret: pass --client-secret-stdin and the secret on standard input".into(),
            ));
        }
        let mut algorithms = Vec::new();
        let mut discovered_device = None;
        let (issuer, authorization, token, revocation, userinfo, jwks, iss_supported) =
            match new.endpoints {
                Endpoints::Issuer(issuer) => {
                    let m = self.discover(&issuer).await?;
                    let missing = |what: &str| Error::Discovery {
                        issuer: issuer.clone(),
                        detail: format!("no {what}"),
                    };
                    algorithms = signing_algorithms(&issuer, &m, &new.scopes)?;
                    discovered_device = m.device_authorization_endpoint.clone();
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
        };
        profile.validate()?;
        require_keys_for_openid(&profile)?;
        Ok(profile)
    }

    /// Replaces the client secret of an existing profile.
    pub async fn set_client_secret(&self, profile: &str, secret: ClientSecret) -> Result<()> {
        let profile = self.config.profile(profile)?;
        if !profile.auth_method.needs_secret() {
            return Err(Error::InvalidInput(format!(
                "profile `{}` is a public client (auth_method none) and uses no secret",
                profile.name
            )));
        }
        self.set_client_secret_entry(&profile.name, &secret).await
    }

    async fn set_client_secret_entry(&self, profile: &str, secret: &ClientSecret) -> Result<()> {
        Ok(self
            .keychain
            .set(&secret_key(profile), secret.secret().as_bytes().to_vec())
            .await?)
    }

    /// Removes a profile, its accounts and every keychain entry of theirs. Keychain entries go
    /// first: if the keychain fails, the profile stays and the command can be repeated.
    pub async fn remove_profile(&self, name: &str) -> Result<Vec<Account>> {
        self.config.profile(name)?;
        let accounts: Vec<Account> = self
            .config
            .accounts()?
            .into_iter()
            .filter(|a| a.profile == name)
            .collect();
        for account in &accounts {
            self.keychain.delete(&account.keychain_key()).await?;
        }
        self.keychain.delete(&secret_key(name)).await?;
        self.config
            .update_accounts(|all| all.retain(|a| a.profile != name))?;
        self.config.update_profiles(|all| {
            all.remove(name);
            Ok(())
        })?;
        Ok(accounts)
    }
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
