//! The operations the CLI and the desktop app share: profiles, sign-in, tokens, sign-out.
//! Each keeps the rule that a failure changes nothing that was there before it.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use oauth2::{
    ClientSecret, CsrfToken, PkceCodeVerifier, RefreshToken, ResourceOwnerPassword, TokenResponse,
};
use url::Url;

use crate::account::{self, Account};
use crate::callback::AuthorizationResponse;
use crate::config::Config;
use crate::discovery;
use crate::error::{Error, Result};
use crate::http::{Http, Timeouts};
use crate::idtoken::{self, Claims, Expect};
use crate::jwks::{self, KeySet, Origin};
use crate::keychain::{Issued, Keychain, KeychainError};
use crate::notice::{Notice, NoticeHook};
use crate::oauth::{self, TokenResponseBody};
use crate::paths;
use crate::profile::{
    AuthMethod, DEEP_LINK_REDIRECT, Grant, LegacyGrant, Profile, RedirectMode, validate_name,
    validate_redirect_uri,
};
use crate::tokens::{TokenSet, now};

/// Where a new profile's endpoints come from.
#[derive(Debug, Clone)]
pub enum Endpoints {
    /// Discover them from this issuer.
    Issuer(String),
    /// Given by hand, for plain OAuth 2.0 providers.
    Manual(Box<ManualEndpoints>),
}

#[derive(Debug, Clone)]
pub struct ManualEndpoints {
    pub authorization: Url,
    pub token: Url,
    pub revocation: Option<Url>,
    pub userinfo: Option<Url>,
}

/// What a user gives to add a profile.
#[derive(Debug, Clone)]
pub struct NewProfile {
    pub name: String,
    pub client_id: String,
    pub endpoints: Endpoints,
    pub scopes: Vec<String>,
    /// `None`: `basic` with a secret, `none` without.
    pub auth_method: Option<AuthMethod>,
    pub redirect: RedirectMode,
    pub redirect_uri: Option<Url>,
}

/// What a profile carries beyond [`NewProfile`]: its grant, the device authorization endpoint,
/// extra request parameters and the legacy grants it allows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileExtras {
    pub grant: Grant,
    /// Overrides what discovery says (or gives it, without discovery).
    pub device_authorization_endpoint: Option<Url>,
    pub extra_authorize_params: BTreeMap<String, String>,
    pub extra_token_params: BTreeMap<String, String>,
    /// Legacy grants the profile opts in to (RFC 9700 discourages them).
    pub allowed_legacy_grants: Vec<LegacyGrant>,
}

/// A device flow sign-in waiting for the user to enter the code (RFC 8628).
#[derive(Debug)]
pub struct DeviceLogin {
    pub profile: Profile,
    pub label: Option<String>,
    /// The code the user types at the verification page.
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code filled in, when the provider gives one.
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    interval: Duration,
    device_code: oauth2::DeviceCode,
}

impl DeviceLogin {
    /// The page to open in a browser: the complete URI when given, if it is a web address.
    pub fn browser_url(&self) -> Option<Url> {
        self.verification_uri_complete
            .as_deref()
            .into_iter()
            .chain([self.verification_uri.as_str()])
            .filter_map(|u| Url::parse(u).ok())
            .find(|u| crate::profile::validate_endpoint(u, "verification URI").is_ok())
    }

    /// The polling interval the server asked for.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// A sign-in between the authorization request and the response. `Debug` shows neither the
/// state, the PKCE verifier nor the nonce (nor the authorization URL's query, which carries two
/// of them).
pub struct PendingLogin {
    pub profile: Profile,
    pub label: Option<String>,
    pub redirect_uri: Url,
    pub authorization_url: Url,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    nonce: Option<String>,
}

impl PendingLogin {
    pub fn state(&self) -> &str {
        self.state.secret()
    }
}

/// An implicit sign-in (legacy, opt-in) between the authorization request and the redirect.
/// `Debug` redacts like [`PendingLogin`]'s.
pub struct PendingImplicitLogin {
    pub profile: Profile,
    pub label: Option<String>,
    pub redirect_uri: Url,
    pub authorization_url: Url,
    state: CsrfToken,
    nonce: Option<String>,
}

impl PendingImplicitLogin {
    pub fn state(&self) -> &str {
        self.state.secret()
    }
}

/// A URL for `Debug` output: without its query and fragment, which may carry secrets.
fn url_without_query(url: &Url) -> String {
    let mut url = url.clone();
    let had_query = url.query().is_some();
    url.set_query(None);
    url.set_fragment(None);
    if had_query {
        format!("{url}?[redacted]")
    } else {
        url.to_string()
    }
}

/// The `Debug` fields both pending sign-ins share; `state` and `nonce` show only as present.
fn debug_pending<'a, 'b>(
    f: &'a mut std::fmt::Formatter<'b>,
    name: &str,
    profile: &Profile,
    label: &Option<String>,
    redirect_uri: &Url,
    authorization_url: &Url,
    nonce: &Option<String>,
) -> std::fmt::DebugStruct<'a, 'b> {
    let mut d = f.debug_struct(name);
    d.field("profile", &profile.name)
        .field("label", label)
        .field("redirect_uri", &redirect_uri.as_str())
        .field("authorization_url", &url_without_query(authorization_url))
        .field("state", &"[redacted]")
        .field("nonce", &nonce.as_ref().map(|_| "[redacted]"));
    d
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_pending(
            f,
            "PendingLogin",
            &self.profile,
            &self.label,
            &self.redirect_uri,
            &self.authorization_url,
            &self.nonce,
        )
        .field("verifier", &"[redacted]")
        .finish()
    }
}

impl std::fmt::Debug for PendingImplicitLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_pending(
            f,
            "PendingImplicitLogin",
            &self.profile,
            &self.label,
            &self.redirect_uri,
            &self.authorization_url,
            &self.nonce,
        )
        .finish()
    }
}

pub struct Latchkey {
    config: Config,
    keychain: Keychain,
    https: OnceLock<Http>,
    plain_http: OnceLock<Http>,
    timeouts: Timeouts,
    notices: Option<NoticeHook>,
}

impl Latchkey {
    /// The engine on the user's config directory and OS keychain.
    pub fn open() -> Result<Self> {
        Ok(Self::new(
            Config::new(paths::config_dir()?),
            Keychain::default(),
        ))
    }

    pub fn new(config: Config, keychain: Keychain) -> Self {
        Latchkey {
            config,
            keychain,
            https: OnceLock::new(),
            plain_http: OnceLock::new(),
            timeouts: Timeouts::default(),
            notices: None,
        }
    }

    /// Where notices go while an operation runs (e.g. "unlock your keyring to keep the new
    /// refresh token"): the CLI prints them, the desktop app shows them. Without a hook they
    /// are dropped.
    pub fn with_notices(mut self, hook: NoticeHook) -> Self {
        self.notices = Some(hook);
        self
    }

    /// Other HTTP timeouts than the defaults (10 s connect, 30 s total), e.g. for tests of
    /// servers that never answer. Call before the first request.
    pub fn with_http_timeout(mut self, connect: Duration, total: Duration) -> Self {
        self.timeouts = Timeouts { connect, total };
        self.https = OnceLock::new();
        self.plain_http = OnceLock::new();
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The HTTP client for `url`, built on first use: loading the TLS roots costs more than a
    /// whole cached token read, and plain-http loopback endpoints never need them.
    fn http(&self, url: &Url) -> Result<&Http> {
        let tls = url.scheme() != "http";
        let cell = if tls { &self.https } else { &self.plain_http };
        if let Some(http) = cell.get() {
            return Ok(http);
        }
        let http = Http::with_timeouts(tls, self.timeouts)?;
        Ok(cell.get_or_init(|| http))
    }

    // ----- profiles

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

    /// Discovers (when given an issuer), checks and stores a profile; the secret goes to the
    /// keychain. On any failure nothing is written.
    pub async fn add_profile(
        &self,
        new: NewProfile,
        secret: Option<ClientSecret>,
    ) -> Result<Profile> {
        self.add_profile_with(new, ProfileExtras::default(), secret)
            .await
    }

    /// [`Latchkey::add_profile`] with a grant and extra request parameters.
    pub async fn add_profile_with(
        &self,
        new: NewProfile,
        extras: ProfileExtras,
        secret: Option<ClientSecret>,
    ) -> Result<Profile> {
        validate_name(&new.name, "profile")?;
        if self.config.profile(&new.name).is_ok() {
            return Err(Error::ProfileExists(new.name));
        }
        let profile = self.build_profile(new, extras, secret.is_some()).await?;
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
            validate_redirect_uri(uri, new.redirect)?;
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

    async fn client_secret(&self, profile: &Profile) -> Result<Option<ClientSecret>> {
        if !profile.auth_method.needs_secret() {
            return Ok(None);
        }
        match self.keychain.get(&secret_key(&profile.name)).await? {
            Some(bytes) => Ok(Some(ClientSecret::new(
                String::from_utf8(bytes).map_err(|_| {
                    Error::InvalidInput(format!(
                        "the client secret of profile `{}` in the keychain is not text; set it again with `latchkey profile set-secret {}`",
                        profile.name, profile.name
                    ))
                })?,
            ))),
            None => Err(Error::InvalidInput(format!(
                "the client secret of profile `{}` is missing from the keychain; set it with `latchkey profile set-secret {}`",
                profile.name, profile.name
            ))),
        }
    }

    // ----- accounts

    /// Account metadata; reads no secret.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.config.accounts()
    }

    pub fn account(&self, name: &str) -> Result<Account> {
        Ok(account::resolve(&self.config.accounts()?, name)?.clone())
    }

    // ----- sign-in

    /// The profile a browser sign-in starts from, checked before the browser opens: a grant
    /// that signs in users, a valid account label, and keys for any id_token it will receive.
    fn sign_in_profile(&self, name: &str, label: Option<&str>) -> Result<Profile> {
        let profile = self.config.profile(name)?;
        no_sign_in_for_client_credentials(&profile)?;
        if let Some(label) = label {
            validate_name(label, "account")?;
        }
        require_keys_for_openid(&profile)?;
        Ok(profile)
    }

    /// Starts the authorization code flow for `profile`, with the redirect URI the response
    /// will come back to.
    pub fn begin_login(
        &self,
        profile: &str,
        label: Option<String>,
        redirect_uri: Url,
    ) -> Result<PendingLogin> {
        let profile = self.sign_in_profile(profile, label.as_deref())?;
        let start =
            oauth::start_authorization(&profile, &redirect_uri, &authorize_params(&profile));
        Ok(PendingLogin {
            profile,
            label,
            redirect_uri,
            authorization_url: start.url,
            state: start.state,
            verifier: start.verifier,
            nonce: start.nonce,
        })
    }

    /// The redirect URI a profile uses for a deep-link sign-in.
    pub fn deep_link_redirect(profile: &Profile) -> Url {
        profile
            .redirect_uri
            .clone()
            .filter(|_| profile.redirect == RedirectMode::DeepLink)
            .unwrap_or_else(|| Url::parse(DEEP_LINK_REDIRECT).expect("static URL"))
    }

    /// Checks the authorization response, exchanges the code and stores the account.
    pub async fn complete_login(
        &self,
        pending: PendingLogin,
        response: AuthorizationResponse,
    ) -> Result<Account> {
        let profile = &pending.profile;
        let context = format!("sign-in for profile `{}`", profile.name);
        let sign_in_error = |detail: &str| Error::SignIn {
            profile: profile.name.clone(),
            detail: detail.to_string(),
        };
        // State first: an error response with a foreign state is not ours to report either.
        if response.state() != Some(pending.state()) {
            return Err(sign_in_error(
                "the response's `state` does not match the sign-in in progress (a stale tab or a forged redirect); nothing was stored",
            ));
        }
        let (code, iss) = match response {
            AuthorizationResponse::Error {
                error,
                description,
                uri,
                ..
            } => {
                return Err(Error::Provider {
                    context,
                    error,
                    description,
                    uri,
                });
            }
            AuthorizationResponse::Code { code, iss, .. } => (code, iss),
        };
        // RFC 9207: the issuer in the response must be the profile's (mix-up defence).
        match (&iss, &profile.issuer) {
            (Some(got), Some(expected)) if !idtoken::issuer_matches(expected, got, None) => {
                return Err(sign_in_error(&format!(
                    "the response comes from issuer {got:?}, not {expected:?}; nothing was stored"
                )));
            }
            (None, Some(_)) if profile.authorization_response_iss_parameter_supported => {
                return Err(sign_in_error(
                    "the response lacks the `iss` parameter the provider promises (RFC 9207); nothing was stored",
                ));
            }
            _ => {}
        }
        let secret = self.client_secret(profile).await?;
        // Keys first: a JWKS failure should not cost the one-time code.
        let keys = match &pending.nonce {
            Some(_) => Some(self.id_token_keys(profile, false).await?),
            None => None,
        };
        // The code is single-use: make sure its tokens can be stored before spending it.
        self.keychain.ensure_writable().await?;
        let response = oauth::exchange_code(
            self.http(&profile.token_endpoint)?,
            profile,
            secret.as_ref(),
            code,
            pending.verifier,
            &pending.redirect_uri,
        )
        .await?;
        let now = now();
        // Keys were fetched exactly when a nonce was sent, i.e. when `openid` was asked for.
        let expect = pending
            .nonce
            .as_deref()
            .map_or(Expect::Device, |nonce| Expect::SignIn { nonce });
        let claims = self
            .sign_in_claims(profile, &response, expect, keys, now)
            .await?;
        self.store_sign_in(profile, pending.label, &response, claims, now)
            .await
    }

    /// Stores the account a sign-in produced (under its lock: a refresh may be running).
    async fn store_sign_in(
        &self,
        profile: &Profile,
        label: Option<String>,
        response: &TokenResponseBody,
        claims: Option<Claims>,
        now: i64,
    ) -> Result<Account> {
        let label = match label {
            Some(label) => label,
            None => claims
                .as_ref()
                .and_then(|c| {
                    [&c.email, &c.preferred_username, &Some(c.sub.clone())]
                        .into_iter()
                        .flatten()
                        .map(|s| sanitize_label(s))
                        .find(|s| validate_name(s, "account").is_ok())
                })
                .unwrap_or_else(|| "default".to_string()),
        };
        let tokens = token_set(response, &profile.scopes, None, claims.is_some(), now);
        let account = Account {
            profile: profile.name.clone(),
            label,
            subject: claims.map(|c| c.sub),
            scopes: tokens.scopes.clone(),
            expires_at: tokens.expires_at,
            has_refresh_token: tokens.refresh_token.is_some(),
            needs_sign_in: None,
            signed_in_at: now,
        };
        let lock = Arc::new(self.account_lock(&account).await?);
        self.keep_issued(&account, &tokens, &lock, Keep::SignIn)
            .await?;
        self.config.put_account(account.clone())?;
        Ok(account)
    }

    /// Starts a device flow sign-in (RFC 8628): the user code to show and where to enter it.
    pub async fn begin_device_login(
        &self,
        profile: &str,
        label: Option<String>,
    ) -> Result<DeviceLogin> {
        let profile = self.config.profile(profile)?;
        no_sign_in_for_client_credentials(&profile)?;
        if let Some(label) = &label {
            validate_name(label, "account")?;
        }
        require_keys_for_openid(&profile)?;
        let secret = self.client_secret(&profile).await?;
        let url = profile
            .device_authorization_endpoint
            .clone()
            .unwrap_or_else(|| profile.token_endpoint.clone());
        let start =
            oauth::start_device_authorization(self.http(&url)?, &profile, secret.as_ref()).await?;
        Ok(DeviceLogin {
            profile,
            label,
            user_code: start.user_code,
            verification_uri: start.verification_uri,
            verification_uri_complete: start.verification_uri_complete,
            expires_in: Duration::from_secs(start.expires_in.clamp(1, 24 * 3600)),
            interval: Duration::from_secs(start.interval.unwrap_or(5).clamp(1, 300)),
            device_code: start.device_code,
        })
    }

    /// Polls until the user approved the device sign-in, then stores the account. Honours the
    /// server's `interval` and `slow_down`; stops on `expired_token`, `access_denied`, the code's
    /// lifetime or `timeout`, whichever comes first.
    pub async fn complete_device_login(
        &self,
        pending: DeviceLogin,
        timeout: Duration,
    ) -> Result<Account> {
        let profile = &pending.profile;
        let sign_in_error = |detail: &str| Error::SignIn {
            profile: profile.name.clone(),
            detail: detail.to_string(),
        };
        let expired =
            "the code expired before it was approved; run `latchkey login --device` again";
        let started = std::time::Instant::now();
        let deadline = started + pending.expires_in.min(timeout);
        let secret = self.client_secret(profile).await?;
        let http = self.http(&profile.token_endpoint)?;
        let keys = if profile.wants_openid() {
            Some(self.id_token_keys(profile, false).await?)
        } else {
            None
        };
        self.keychain.ensure_writable().await?;
        let mut interval = pending.interval;
        let response = loop {
            let now = std::time::Instant::now();
            if now + interval > deadline {
                tokio::time::sleep(deadline.saturating_duration_since(now)).await;
                return Err(sign_in_error(if pending.expires_in <= timeout {
                    expired
                } else {
                    "no approval arrived in time (see --timeout)"
                }));
            }
            tokio::time::sleep(interval).await;
            match oauth::poll_device_token(http, profile, secret.as_ref(), &pending.device_code)
                .await
            {
                Ok(oauth::DevicePoll::Token(response)) => break response,
                Ok(oauth::DevicePoll::Pending) => {}
                Ok(oauth::DevicePoll::SlowDown) => interval += Duration::from_secs(5),
                Err(Error::Provider { error, .. }) if error == "expired_token" => {
                    return Err(sign_in_error(expired));
                }
                Err(Error::Provider { error, .. }) if error == "access_denied" => {
                    return Err(sign_in_error(
                        "the request was denied at the verification page; nothing was stored",
                    ));
                }
                Err(e) => return Err(e),
            }
        };
        let now = now();
        let claims = self
            .sign_in_claims(profile, &response, Expect::Device, keys, now)
            .await?;
        self.store_sign_in(profile, pending.label, &response, claims, now)
            .await
    }

    /// Starts an implicit sign-in (RFC 6749 §4.2) for a profile that opted in to it.
    pub fn begin_implicit_login(
        &self,
        profile: &str,
        label: Option<String>,
        redirect_uri: Url,
    ) -> Result<PendingImplicitLogin> {
        let profile = self.sign_in_profile(profile, label.as_deref())?;
        profile.require_legacy_grant(LegacyGrant::Implicit)?;
        let start = oauth::start_implicit(&profile, &redirect_uri, &authorize_params(&profile));
        Ok(PendingImplicitLogin {
            profile,
            label,
            redirect_uri,
            authorization_url: start.url,
            state: start.state,
            nonce: start.nonce,
        })
    }

    /// Checks an implicit response (the parameters of the redirect's fragment) and stores the
    /// account: `state` first, then the token, and with `openid` the id_token (signature,
    /// claims, nonce and `at_hash`). No refresh token is ever stored.
    pub async fn complete_implicit_login(
        &self,
        pending: PendingImplicitLogin,
        params: BTreeMap<String, String>,
    ) -> Result<Account> {
        let profile = &pending.profile;
        let context = format!("implicit sign-in for profile `{}`", profile.name);
        let sign_in_error = |detail: &str| Error::SignIn {
            profile: profile.name.clone(),
            detail: detail.to_string(),
        };
        if params.get("state").map(String::as_str) != Some(pending.state()) {
            return Err(sign_in_error(
                "the response's `state` does not match the sign-in in progress (a stale tab or a forged redirect); nothing was stored",
            ));
        }
        if let Some(error) = params.get("error") {
            return Err(Error::Provider {
                context,
                error: error.clone(),
                description: params.get("error_description").cloned(),
                uri: params.get("error_uri").cloned(),
            });
        }
        // RFC 9207 covers fragment responses too; one that carries an id_token may leave `iss`
        // to the id_token's (verified) `iss` claim (RFC 9207 §2.4).
        match (params.get("iss"), &profile.issuer) {
            (Some(got), Some(expected)) if !idtoken::issuer_matches(expected, got, None) => {
                return Err(sign_in_error(&format!(
                    "the response comes from issuer {got:?}, not {expected:?}; nothing was stored"
                )));
            }
            (None, Some(_))
                if profile.authorization_response_iss_parameter_supported
                    && !params.contains_key("id_token") =>
            {
                return Err(sign_in_error(
                    "the response lacks the `iss` parameter the provider promises (RFC 9207); nothing was stored",
                ));
            }
            _ => {}
        }
        let response = oauth::implicit_token(&context, &params)?;
        let now = now();
        let claims = match (&pending.nonce, &response.extra_fields().id_token) {
            (Some(nonce), Some(id_token)) => {
                let keys = self.id_token_keys(profile, false).await?;
                let claims = self
                    .verify_id_token(
                        profile,
                        id_token.secret(),
                        Expect::SignIn { nonce },
                        now,
                        keys,
                    )
                    .await?;
                idtoken::check_at_hash(id_token.secret(), response.access_token().secret())
                    .map_err(|detail| Error::IdToken {
                        profile: profile.name.clone(),
                        detail: format!("the id_token is not valid: {detail}"),
                    })?;
                Some(claims)
            }
            (Some(_), None) => return Err(missing_id_token(profile)),
            (None, _) => None,
        };
        self.store_sign_in(profile, pending.label, &response, claims, now)
            .await
    }

    /// Signs in with the resource owner password grant (RFC 6749 §4.3), for a profile that
    /// opted in to it. The password is sent once and kept nowhere.
    pub async fn login_password(
        &self,
        profile: &str,
        label: Option<String>,
        username: &str,
        password: &ResourceOwnerPassword,
    ) -> Result<Account> {
        let profile = self.config.profile(profile)?;
        no_sign_in_for_client_credentials(&profile)?;
        profile.require_legacy_grant(LegacyGrant::Password)?;
        if let Some(label) = &label {
            validate_name(label, "account")?;
        }
        if username.is_empty() {
            return Err(Error::InvalidInput("the username is empty".into()));
        }
        require_keys_for_openid(&profile)?;
        let secret = self.client_secret(&profile).await?;
        let keys = if profile.wants_openid() {
            Some(self.id_token_keys(&profile, false).await?)
        } else {
            None
        };
        self.keychain.ensure_writable().await?;
        let response = oauth::password(
            self.http(&profile.token_endpoint)?,
            &profile,
            secret.as_ref(),
            username,
            password,
        )
        .await?;
        let now = now();
        let claims = self
            .sign_in_claims(&profile, &response, Expect::Device, keys, now)
            .await?;
        let label = label.or_else(|| {
            claims
                .is_none()
                .then(|| sanitize_label(username))
                .filter(|l| validate_name(l, "account").is_ok())
        });
        self.store_sign_in(&profile, label, &response, claims, now)
            .await
    }

    // ----- tokens

    /// A token valid for at least `min_valid` seconds, refreshed first when needed. The common
    /// case (a valid cached token) is two small file reads and one keychain read.
    pub async fn token(&self, name: &str, min_valid: i64) -> Result<(Account, TokenSet)> {
        let account = match self.account(name) {
            // The hot path reads no profile: only a client credentials account is `…/client`.
            Ok(account) if account.label != CLIENT_LABEL => account,
            other => {
                if let Some(profile) = self.client_credentials_profile(name)? {
                    return self
                        .client_credentials_token(&profile, Some(min_valid))
                        .await;
                }
                other?
            }
        };
        if let Some(reason) = &account.needs_sign_in {
            return Err(needs_sign_in(&account, reason));
        }
        // The metadata carries the same expiry as the keychain entry: when it already says the
        // token is too old, go straight to the refresh.
        if account.expires_at.is_none_or(|t| t - now() > min_valid) {
            let tokens = self.load_tokens(&account).await?;
            if tokens.valid_for(now(), min_valid) {
                return Ok((account, tokens));
            }
        }
        self.refresh_account(&account, Some(min_valid)).await
    }

    /// Refreshes now, whatever the expiry.
    pub async fn refresh(&self, name: &str) -> Result<(Account, TokenSet)> {
        let account = match self.account(name) {
            Ok(account) if account.label != CLIENT_LABEL => account,
            other => {
                if let Some(profile) = self.client_credentials_profile(name)? {
                    return self.client_credentials_token(&profile, None).await;
                }
                other?
            }
        };
        self.refresh_account(&account, None).await
    }

    /// Refresh under the account's lock, so concurrent callers in any process make one request:
    /// the first refreshes, the others find its fresh token when they get the lock.
    async fn refresh_account(
        &self,
        account: &Account,
        min_valid: Option<i64>,
    ) -> Result<(Account, TokenSet)> {
        let lock = Arc::new(self.account_lock(account).await?);
        let account = self
            .config
            .accounts()?
            .into_iter()
            .find(|a| a.profile == account.profile && a.label == account.label)
            .ok_or_else(|| Error::AccountNotFound(account.id()))?;
        if let Some(reason) = &account.needs_sign_in {
            return Err(needs_sign_in(&account, reason));
        }
        let profile = self.config.profile(&account.profile)?;
        // Set up HTTP while the keychain answers: both take a few milliseconds.
        let (tokens, http) = tokio::join!(self.load_tokens(&account), async {
            self.http(&profile.token_endpoint)
        });
        let tokens = tokens?;
        if let Some(min_valid) = min_valid
            && tokens.valid_for(now(), min_valid)
        {
            return Ok((account, tokens));
        }
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(needs_sign_in(
                &account,
                "the access token has expired and the provider issued no refresh token",
            ));
        };
        let secret = self.client_secret(&profile).await?;
        // Keys before the refresh token is spent: rotation makes it single-use.
        let keys = if profile.wants_openid() {
            Some(self.id_token_keys(&profile, false).await?)
        } else {
            None
        };
        // Rotation makes the refresh token single-use: the keychain must take its successor.
        self.keychain.ensure_writable().await?;
        let response = match oauth::refresh(http?, &profile, secret.as_ref(), &refresh_token).await
        {
            Ok(r) => r,
            Err(oauth::RefreshFailure {
                error,
                rotated: Some(rotated),
            }) => {
                // An answer we cannot use, but with a new refresh token: the one sent may be
                // spent, so keep the new one (and nothing else) before reporting the error.
                self.keep_rotated_refresh_token(&account, &tokens, Some(&rotated), &lock)
                    .await?;
                return Err(error);
            }
            Err(oauth::RefreshFailure {
                error:
                    Error::Provider {
                        error, description, ..
                    },
                ..
            }) if error == "invalid_grant" => {
                let reason = match description {
                    Some(d) => {
                        format!("the provider rejected the refresh token (invalid_grant: {d})")
                    }
                    None => "the provider rejected the refresh token (invalid_grant)".into(),
                };
                self.mark_needs_sign_in(&account, &reason)?;
                return Err(needs_sign_in(&account, &reason));
            }
            Err(failure) => return Err(failure.error),
        };
        let now = now();
        let checked = match (&response.extra_fields().id_token, keys) {
            (Some(id_token), Some(keys)) => {
                let expect = Expect::Refresh {
                    subject: account.subject.as_deref(),
                };
                match self
                    .verify_id_token(&profile, id_token.secret(), expect, now, keys)
                    .await
                {
                    Ok(_) => true,
                    Err(e) => {
                        // The refresh token sent is spent; a rotated one is all that is left of
                        // the grant. Keep it, and nothing else from an unverified answer.
                        self.keep_rotated_refresh_token(
                            &account,
                            &tokens,
                            response.refresh_token(),
                            &lock,
                        )
                        .await?;
                        // A refused id_token needs a new sign-in; a failure to fetch the keys
                        // says nothing about the account, and the next refresh tries again.
                        if matches!(e, Error::IdToken { .. }) {
                            self.mark_needs_sign_in(&account, &e.to_string())?;
                        }
                        return Err(e);
                    }
                }
            }
            _ => false,
        };
        let tokens = token_set(
            &response,
            &tokens.scopes,
            Some(tokens.clone()),
            checked,
            now,
        );
        // The rotated refresh token is stored before anything else happens: the old one is dead.
        let rotated = response.refresh_token().is_some();
        self.keep_issued(&account, &tokens, &lock, Keep::Refresh { rotated })
            .await?;
        let updated = Account {
            scopes: tokens.scopes.clone(),
            expires_at: tokens.expires_at,
            has_refresh_token: tokens.refresh_token.is_some(),
            needs_sign_in: None,
            ..account
        };
        self.config.put_account(updated.clone())?;
        Ok((updated, tokens))
    }

    /// Stores the refresh token a refresh response rotated in, beside the tokens held before
    /// (the response's access token and id_token are not taken: its id_token did not verify).
    /// Without rotation the stored refresh token is still the live one, and nothing is written.
    async fn keep_rotated_refresh_token(
        &self,
        account: &Account,
        held: &TokenSet,
        rotated: Option<&RefreshToken>,
        lock: &Arc<File>,
    ) -> Result<()> {
        let Some(rotated) = rotated else {
            return Ok(());
        };
        let kept = TokenSet {
            refresh_token: Some(rotated.clone()),
            ..held.clone()
        };
        self.keep_issued(account, &kept, lock, Keep::Refresh { rotated: true })
            .await
    }

    /// Stores the tokens a provider has just issued for `account`, whose account lock `lock`
    /// is. What exists nowhere else (a sign-in's tokens, a rotated refresh token) is retried
    /// while the keychain refuses it ([`Keychain::store_issued`], with notices); when that
    /// gives up after a refresh, the account is marked as needing sign-in. A refresh that
    /// kept the old refresh token writes once: that token still works.
    async fn keep_issued(
        &self,
        account: &Account,
        tokens: &TokenSet,
        lock: &Arc<File>,
        keep: Keep,
    ) -> Result<()> {
        let key = account.keychain_key();
        if keep == (Keep::Refresh { rotated: false }) {
            return Ok(self
                .keychain
                .set_holding(&key, tokens.to_bytes(), lock)
                .await?);
        }
        let id = account.id();
        let issued = Issued {
            account: &id,
            profile: &account.profile,
            refresh_token: tokens.refresh_token.is_some(),
        };
        let notify = |notice: &Notice| {
            if let Some(hook) = &self.notices {
                hook(notice);
            }
        };
        let stored = self
            .keychain
            .store_issued(&key, tokens.to_bytes(), lock, issued, &notify)
            .await;
        if let Err(KeychainError::GrantLost { .. }) = &stored
            && keep != Keep::SignIn
        {
            self.mark_needs_sign_in(
                account,
                "the keychain did not take the refresh token the provider rotated in",
            )?;
        }
        Ok(stored?)
    }

    /// The client-credentials profile `name` refers to (`PROFILE` or `PROFILE/client`), if any.
    fn client_credentials_profile(&self, name: &str) -> Result<Option<Profile>> {
        let (profile, label) = match name.split_once('/') {
            Some((p, l)) => (p, Some(l)),
            None => (name, None),
        };
        let profile = match self.config.profile(profile) {
            Ok(p) if p.grant == Grant::ClientCredentials => p,
            Ok(_) | Err(Error::ProfileNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        match label {
            None | Some(CLIENT_LABEL) => Ok(Some(profile)),
            Some(_) => Err(Error::AccountNotFound(name.to_string())),
        }
    }

    /// The client credentials token of `profile`: the cached one while it stays valid for
    /// `min_valid` seconds (`None`: always fetch). Under the account lock, so concurrent callers
    /// in any process make one request; the account `PROFILE/client` appears on first fetch.
    async fn client_credentials_token(
        &self,
        profile: &Profile,
        min_valid: Option<i64>,
    ) -> Result<(Account, TokenSet)> {
        let probe = Account {
            profile: profile.name.clone(),
            label: CLIENT_LABEL.to_string(),
            subject: None,
            scopes: profile.scopes.clone(),
            expires_at: None,
            has_refresh_token: false,
            needs_sign_in: None,
            signed_in_at: 0,
        };
        let cached = |account: &Account, tokens: &TokenSet| {
            min_valid.is_some_and(|m| {
                account.expires_at.is_none_or(|t| t - now() > m) && tokens.valid_for(now(), m)
            })
        };
        let find = || -> Result<Option<Account>> {
            Ok(self
                .config
                .accounts()?
                .into_iter()
                .find(|a| a.profile == probe.profile && a.label == probe.label))
        };
        // The common case without the lock: a valid cached token.
        if let Some(account) = find()?
            && min_valid.is_some()
            && let Some(bytes) = self.keychain.get(&account.keychain_key()).await?
        {
            let tokens = TokenSet::from_bytes(&account.keychain_key(), &bytes)?;
            if cached(&account, &tokens) {
                return Ok((account, tokens));
            }
        }
        let lock = Arc::new(self.account_lock(&probe).await?);
        let existing = find()?;
        if let Some(account) = &existing
            && let Some(bytes) = self.keychain.get(&account.keychain_key()).await?
        {
            let tokens = TokenSet::from_bytes(&account.keychain_key(), &bytes)?;
            if cached(account, &tokens) {
                return Ok((account.clone(), tokens));
            }
        }
        let secret = self.client_secret(profile).await?.ok_or_else(|| {
            Error::InvalidInput(format!(
                "profile `{}` uses the client credentials grant but has no client secret; set it with `latchkey profile set-secret {}`",
                profile.name, profile.name
            ))
        })?;
        let http = self.http(&profile.token_endpoint)?;
        let response = oauth::client_credentials(http, profile, &secret).await?;
        let now = now();
        let mut tokens = token_set(&response, &profile.scopes, None, false, now);
        // RFC 6749 §4.4.3: no refresh token here; a new token is fetched with the secret.
        tokens.refresh_token = None;
        self.keychain
            .set_holding(&probe.keychain_key(), tokens.to_bytes(), &lock)
            .await?;
        let account = Account {
            scopes: tokens.scopes.clone(),
            expires_at: tokens.expires_at,
            signed_in_at: existing.map_or(now, |a| a.signed_in_at),
            ..probe
        };
        self.config.put_account(account.clone())?;
        Ok((account, tokens))
    }

    /// The issuer's signing keys, from the JWKS cache unless `refetch`.
    async fn id_token_keys(&self, profile: &Profile, refetch: bool) -> Result<(KeySet, Origin)> {
        let Some(uri) = &profile.jwks_uri else {
            return Err(idtoken::cannot_verify(profile));
        };
        let cache = jwks::Cache::new(self.config.dir());
        jwks::load(self.http(uri)?, &cache, &profile.name, uri, refetch, now()).await
    }

    /// The verified claims of a sign-in's id_token: `None` when `openid` was not asked for (no
    /// keys were fetched; an id_token then is not trusted), an error when it was and none came.
    async fn sign_in_claims(
        &self,
        profile: &Profile,
        response: &TokenResponseBody,
        expect: Expect<'_>,
        keys: Option<(KeySet, Origin)>,
        now: i64,
    ) -> Result<Option<Claims>> {
        let Some(keys) = keys else {
            return Ok(None);
        };
        let Some(id_token) = &response.extra_fields().id_token else {
            return Err(missing_id_token(profile));
        };
        let claims = self
            .verify_id_token(profile, id_token.secret(), expect, now, keys)
            .await?;
        Ok(Some(claims))
    }

    /// Signature and claims of an id_token. A key id missing from cached keys fetches the JWKS
    /// once more (the provider rotated its keys); never more than once per token.
    async fn verify_id_token(
        &self,
        profile: &Profile,
        jwt: &str,
        expect: Expect<'_>,
        now: i64,
        (keys, origin): (KeySet, Origin),
    ) -> Result<Claims> {
        match idtoken::verify(profile, jwt, &keys, expect, now) {
            Err(idtoken::Rejection::UnknownKey(_)) if origin == Origin::Cache => {
                let (fresh, _) = self.id_token_keys(profile, true).await?;
                idtoken::verify(profile, jwt, &fresh, expect, now)
                    .map_err(|r| r.into_error(profile))
            }
            result => result.map_err(|r| r.into_error(profile)),
        }
    }

    fn mark_needs_sign_in(&self, account: &Account, reason: &str) -> Result<()> {
        self.config.update_accounts(|all| {
            if let Some(a) = all
                .iter_mut()
                .find(|a| a.profile == account.profile && a.label == account.label)
            {
                a.needs_sign_in = Some(reason.to_string());
            }
        })
    }

    async fn load_tokens(&self, account: &Account) -> Result<TokenSet> {
        let key = account.keychain_key();
        match self.keychain.get(&key).await? {
            Some(bytes) => Ok(TokenSet::from_bytes(&key, &bytes)?),
            None => Err(needs_sign_in(
                account,
                "its tokens are missing from the keychain",
            )),
        }
    }

    /// The account's tokens as stored, without refreshing (for reveal and details views).
    pub async fn stored_tokens(&self, name: &str) -> Result<(Account, TokenSet)> {
        let account = self.account(name)?;
        let tokens = self.load_tokens(&account).await?;
        Ok((account, tokens))
    }

    async fn account_lock(&self, account: &Account) -> Result<std::fs::File> {
        let config = self.config.clone();
        let (profile, label) = (account.profile.clone(), account.label.clone());
        tokio::task::spawn_blocking(move || config.account_lock(&profile, &label))
            .await
            .map_err(|e| Error::io("lock task failed", std::io::Error::other(e.to_string())))?
    }

    // ----- sign-out

    /// Revokes the refresh token when asked and possible, then deletes the account. Returns
    /// whether the provider revoked it. A failed revocation keeps the account.
    pub async fn logout(&self, name: &str, revoke: bool) -> Result<(Account, bool)> {
        let account = self.account(name)?;
        let _lock = self.account_lock(&account).await?;
        let mut revoked = false;
        if revoke {
            let tokens = match self.load_tokens(&account).await {
                Ok(t) => Some(t),
                Err(Error::NeedsSignIn { .. }) => None,
                Err(e) => return Err(e),
            };
            if let Some(refresh_token) = tokens.and_then(|t| t.refresh_token) {
                let profile = self.config.profile(&account.profile)?;
                let secret = self.client_secret(&profile).await?;
                let http = match &profile.revocation_endpoint {
                    Some(url) => self.http(url)?,
                    None => self.http(&profile.token_endpoint)?,
                };
                revoked = oauth::revoke(http, &profile, secret.as_ref(), refresh_token)
                    .await
                    .map_err(|e| Error::BadResponse {
                        context: format!("signing out of `{}`", account.id()),
                        detail: format!(
                            "{e}. The account was kept; use --no-revoke to remove it without revoking"
                        ),
                    })?;
            }
        }
        self.keychain.delete(&account.keychain_key()).await?;
        self.config.update_accounts(|all| {
            all.retain(|a| !(a.profile == account.profile && a.label == account.label))
        })?;
        Ok((account, revoked))
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

/// A profile that asks for `openid` must have the issuer's keys to verify id_tokens with.
fn require_keys_for_openid(profile: &Profile) -> Result<()> {
    if profile.wants_openid() && (profile.jwks_uri.is_none() || profile.issuer.is_none()) {
        return Err(Error::InvalidInput(format!(
            "profile `{}` asks for the `openid` scope, but without an issuer and its jwks_uri Latchkey cannot verify id_tokens. Add the profile with --issuer (its discovery document lists the keys), or leave out `openid`",
            profile.name
        )));
    }
    Ok(())
}

fn no_sign_in_for_client_credentials(profile: &Profile) -> Result<()> {
    if profile.grant == Grant::ClientCredentials {
        return Err(Error::InvalidInput(format!(
            "profile `{}` uses the client credentials grant: there is no sign-in; `latchkey token {}` fetches its token",
            profile.name, profile.name
        )));
    }
    Ok(())
}

/// What [`Latchkey::keep_issued`] stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    SignIn,
    /// Whether the provider rotated the refresh token in (the old one is then spent).
    Refresh {
        rotated: bool,
    },
}

/// The one account of a client credentials profile: `PROFILE/client`.
pub const CLIENT_LABEL: &str = "client";

fn secret_key(profile: &str) -> String {
    format!("client-secret:{profile}")
}

fn needs_sign_in(account: &Account, reason: &str) -> Error {
    Error::NeedsSignIn {
        account: account.id(),
        profile: account.profile.clone(),
        reason: reason.to_string(),
    }
}

/// Labels come from claims; `/` would break `PROFILE/LABEL`.
fn sanitize_label(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .take(128)
        .collect()
}

/// The token set after a response; `previous` supplies what a refresh response may omit.
fn token_set(
    response: &TokenResponseBody,
    requested_scopes: &[String],
    previous: Option<TokenSet>,
    id_token_checked: bool,
    now: i64,
) -> TokenSet {
    let previous_refresh = previous.as_ref().and_then(|p| p.refresh_token.clone());
    let previous_id = previous.and_then(|p| p.id_token);
    TokenSet {
        access_token: response.access_token().clone(),
        refresh_token: response.refresh_token().cloned().or(previous_refresh),
        id_token: if id_token_checked {
            response.extra_fields().id_token.clone()
        } else {
            previous_id
        },
        expires_at: response
            .expires_in()
            .map(|d| now.saturating_add(d.as_secs().min(i64::MAX as u64 / 2) as i64)),
        scopes: oauth::granted_scopes(response, requested_scopes),
    }
}

fn authorize_params(profile: &Profile) -> Vec<(String, String)> {
    profile
        .extra_authorize_params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn missing_id_token(profile: &Profile) -> Error {
    Error::IdToken {
        profile: profile.name.clone(),
        detail: "the provider returned no id_token although `openid` was asked for".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            issuer: Some("https://issuer.example".into()),
            authorization_endpoint: "https://issuer.example/authorize".parse().unwrap(),
            token_endpoint: "https://issuer.example/token".parse().unwrap(),
            jwks_uri: Some("https://issuer.example/jwks".parse().unwrap()),
            scopes: vec!["openid".into(), "email".into()],
            auth_method: Default::default(),
            ..Profile::for_tests("p")
        }
    }

    #[test]
    fn debug_output_never_shows_state_nonce_or_verifier() {
        let profile = profile();
        let redirect: Url = "http://127.0.0.1:4711/callback".parse().unwrap();
        let start = oauth::start_authorization(&profile, &redirect, &[]);
        let secrets = [
            start.state.secret().clone(),
            start.verifier.secret().clone(),
            start.nonce.clone().unwrap(),
        ];
        let pending = PendingLogin {
            profile: profile.clone(),
            label: Some("work".into()),
            redirect_uri: redirect.clone(),
            authorization_url: start.url,
            state: start.state,
            verifier: start.verifier,
            nonce: start.nonce,
        };
        let implicit = oauth::start_implicit(&profile, &redirect, &[]);
        let implicit_secrets = [
            implicit.state.secret().clone(),
            implicit.nonce.clone().unwrap(),
        ];
        let pending_implicit = PendingImplicitLogin {
            profile,
            label: None,
            redirect_uri: redirect,
            authorization_url: implicit.url,
            state: implicit.state,
            nonce: implicit.nonce,
        };
        let debug = format!("{pending:?} {pending_implicit:?}");
        for secret in secrets.iter().chain(&implicit_secrets) {
            assert!(!debug.contains(secret.as_str()), "{secret} in {debug}");
        }
        // What is not secret stays readable.
        assert!(
            debug.contains("https://issuer.example/authorize?[redacted]")
                && debug.contains("http://127.0.0.1:4711/callback")
                && debug.contains("work"),
            "{debug}"
        );
    }
}
