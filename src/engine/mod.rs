//! The operations the CLI and the desktop app share: profiles, sign-in, tokens, sign-out.
//! Each keeps the rule that a failure changes nothing that was there before it.
//!
//! One struct, [`Latchkey`], with one `impl` block per flow (as `oauth2` splits its `Client`):
//! profiles, browser and password sign-in, the device flow, tokens, client credentials and
//! sign-out each have their own file; what they share is here.
//!
//! May import the parts (`model`, `protocol`, `store`, `error`); never the door or above.

use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::{ClientSecret, TokenResponse};
use url::Url;

use crate::error::{Error, Hint, Result};
use crate::model::account::{self, Account, AccountId};
use crate::model::notice::{Notice, NoticeHook};
use crate::model::profile::{AuthMethod, Profile};
use crate::model::tokens::{TokenSet, now};
use crate::protocol::http::{Http, Timeouts};
use crate::protocol::idtoken::{self, Claims, Expect};
use crate::protocol::jwks::{self, KeySet, Origin};
use crate::protocol::network::Network;
use crate::protocol::oauth::{self, TokenResponseBody};
use crate::store::config::Config;
use crate::store::keychain::{Issued, Keychain, KeychainError};
use crate::store::paths;

mod client_credentials;
pub(crate) mod client_secrets;
mod device;
mod pending;
mod profiles;
mod rejected;
mod removal;
mod resources;
mod settings;
mod share;
mod signin;
mod signout;
mod standing;
mod tokens;

#[cfg(test)]
mod tests;

pub use crate::model::profile::{Endpoints, ManualEndpoints, NewProfile, ProfileExtras};
pub use pending::{BrowserRequest, DeviceLogin, PendingImplicitLogin, PendingLogin};
pub use removal::{AtProvider, Ended, Removed};
pub use resources::{ClientOrigin, ResourceProfile};
pub use settings::ProfileSettings;
pub use share::{MAX_SHARED_FILE, SecretState, check_profile, without_credentials};

/// What [`Latchkey::keep_issued`] stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keep {
    SignIn,
    /// Whether the provider rotated the refresh token in (the old one is then spent).
    Refresh {
        rotated: bool,
    },
    /// A client credentials token: fetched again with the secret when lost, so written once.
    ClientToken,
}

/// The one account of a client credentials profile: `PROFILE/client`.
pub const CLIENT_LABEL: &str = "client";

pub struct Latchkey {
    config: Config,
    keychain: Keychain,
    /// The HTTP clients built so far, one per network setting (proxy, CA file) and scheme.
    clients: Mutex<Vec<(Network, bool, Http)>>,
    /// Tests: one client for every request.
    only_http: Option<Http>,
    timeouts: Timeouts,
    notices: Option<NoticeHook>,
}

impl Latchkey {
    /// The engine on the user's config directory and OS keychain.
    pub fn open() -> Result<Self> {
        Ok(Self::open_at(paths::config_dir()?))
    }

    /// The engine on the config directory `dir` and the OS keychain, whose entries it names
    /// under the directory's own namespace ([`Keychain::for_config`]).
    pub fn open_at(dir: std::path::PathBuf) -> Self {
        let config = Config::new(dir);
        let keychain = Keychain::default().for_config(config.clone());
        Self::new(config, keychain)
    }

    /// Moves this directory's entries of the keychain's old layout (named by profile alone)
    /// into its namespace, once: then no entry of the old layout is read or deleted any more.
    /// Does nothing when nothing is pending; on a keychain failure it stays pending.
    pub async fn finish_keychain_migration(&self) -> Result<()> {
        if !self.keychain.namespace()?.is_some_and(|n| n.legacy) {
            return Ok(());
        }
        for account in self.config.accounts()? {
            self.keychain.get(&account.keychain_key()).await?;
        }
        for profile in self.config.profiles()? {
            self.keychain.get(&secret_key(&profile.name)).await?;
        }
        self.config.finish_keychain_migration()
    }

    pub fn new(config: Config, keychain: Keychain) -> Self {
        Latchkey {
            config,
            keychain,
            clients: Mutex::default(),
            only_http: None,
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

    /// The hook given to [`Latchkey::with_notices`], for parts that run beside the engine (the
    /// loopback listener: [`crate::LoopbackListener::with_notices`]).
    pub fn notice_hook(&self) -> Option<NoticeHook> {
        self.notices.clone()
    }

    /// Other HTTP timeouts than the defaults (10 s connect, 30 s total), e.g. for tests of
    /// servers that never answer. Call before the first request.
    pub fn with_http_timeout(mut self, connect: Duration, total: Duration) -> Self {
        self.timeouts = Timeouts { connect, total };
        self.clients = Mutex::default();
        self
    }

    /// Sends every request through `http` (tests: a client for their own local server).
    pub fn with_http(mut self, http: Http) -> Self {
        self.only_http = Some(http);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The HTTP client for `url` with a profile's `network` (its proxy and CA file), built on
    /// first use: loading the TLS roots costs more than a whole cached token read, and
    /// plain-http loopback endpoints never need them. Every request of a profile comes here.
    fn http(&self, network: &Network, url: &Url) -> Result<Http> {
        if let Some(http) = &self.only_http {
            return Ok(http.clone());
        }
        let tls = url.scheme() != "http";
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, http)) = clients.iter().find(|(n, t, _)| n == network && *t == tls) {
            return Ok(http.clone());
        }
        let http = Http::for_network(tls, self.timeouts, network)
            .map_err(|e| e.into_error("cannot set up HTTPS".into()))?;
        clients.push((network.clone(), tls, http.clone()));
        Ok(http)
    }

    /// The HTTP client for `url`, one of `profile`'s endpoints.
    fn profile_http(&self, profile: &Profile, url: &Url) -> Result<Http> {
        self.http(&profile.network(), url)
    }

    /// A client that forwards requests for the account `name` to `upstream` (`latchkey
    /// proxy`): the account's profile's proxy and CA file apply, redirects are not followed,
    /// bodies stream with no total timeout.
    pub fn forwarding_client(&self, name: &str, upstream: &Url) -> Result<reqwest::Client> {
        let network = match self.target(name)? {
            client_credentials::Target::Account(account) => {
                self.profile(&account.profile)?.network()
            }
            client_credentials::Target::Client(profile) => profile.network(),
        };
        let tls = upstream.scheme() != "http";
        crate::protocol::http::forwarding_client(tls, self.timeouts.connect, &network)
            .map_err(|e| e.into_error("cannot set up HTTPS".into()))
    }

    // ----- accounts

    /// Account metadata; reads no secret.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.config.accounts()
    }

    pub fn account(&self, name: &str) -> Result<Account> {
        Ok(account::resolve(&self.config.accounts()?, name)?.clone())
    }

    /// Makes the account `name` its profile's default: the one a bare profile name means.
    pub fn set_default_account(&self, name: &str) -> Result<Account> {
        let id = self.account(name)?.account_id();
        self.config.try_update_accounts(|all| {
            if !account::mark_default(all, &id) {
                return Err(Error::AccountNotFound(id.to_string()));
            }
            Ok(())
        })?;
        self.account(&id.to_string())
    }

    /// The stored metadata of the account `id`, as it is now.
    fn account_by_id(&self, id: &AccountId) -> Result<Option<Account>> {
        Ok(account::find(&self.config.accounts()?, id).cloned())
    }

    /// The lock that serialises refreshes and sign-ins of one account, across processes.
    async fn account_lock(&self, id: AccountId) -> Result<std::fs::File> {
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || config.account_lock(&id.profile, &id.label))
            .await
            .map_err(|e| Error::io("lock task failed", std::io::Error::other(e.to_string())))?
    }

    /// Stores the tokens a provider has just issued for `account`, whose account lock `lock`
    /// is. What exists nowhere else (a sign-in's tokens, a rotated refresh token) is retried
    /// while the keychain refuses it ([`Keychain::store_issued`], with notices); when that
    /// gives up after a refresh, the account is marked as needing sign-in. A refresh that
    /// kept the old refresh token writes once: that token still works.
    pub(super) async fn keep_issued(
        &self,
        account: &Account,
        tokens: &TokenSet,
        lock: &Arc<File>,
        keep: Keep,
    ) -> Result<()> {
        let stored = self.store_tokens(account, tokens, lock, keep).await;
        self.mark_if_lost(account, keep, stored)
    }

    /// The keychain half of [`Latchkey::keep_issued`].
    pub(super) async fn store_tokens(
        &self,
        account: &Account,
        tokens: &TokenSet,
        lock: &Arc<File>,
        keep: Keep,
    ) -> std::result::Result<(), KeychainError> {
        let key = account.keychain_key();
        if matches!(keep, Keep::Refresh { rotated: false } | Keep::ClientToken) {
            return self
                .keychain
                .set_holding(&key, tokens.to_bytes(), lock)
                .await;
        }
        let id = account.id();
        let issued = Issued {
            account: &id,
            profile: &account.profile,
            refresh_token: tokens.refresh_token.is_some(),
        };
        let notify = |notice: &Notice| self.notify(notice);
        self.keychain
            .store_issued(&key, tokens.to_bytes(), lock, issued, &notify)
            .await
    }

    /// The rest of [`Latchkey::keep_issued`] once the keychain answered: a refresh whose
    /// tokens the keychain never took leaves the account needing a new sign-in.
    pub(super) fn mark_if_lost(
        &self,
        account: &Account,
        keep: Keep,
        stored: std::result::Result<(), KeychainError>,
    ) -> Result<()> {
        if let Err(KeychainError::GrantLost { .. }) = &stored
            && matches!(keep, Keep::Refresh { .. })
        {
            self.mark_needs_sign_in(
                account,
                "the keychain did not take the refresh token the provider rotated in",
            )?;
        }
        Ok(stored?)
    }

    /// Passes `notice` to the front end's hook, if there is one.
    fn notify(&self, notice: &Notice) {
        if let Some(hook) = &self.notices {
            hook(notice);
        }
    }

    // ----- secrets

    async fn client_secret(&self, profile: &Profile) -> Result<Option<ClientSecret>> {
        if !profile.auth_method.needs_secret() {
            return Ok(None);
        }
        let Some(bytes) = self.keychain.get(&secret_key(&profile.name)).await? else {
            return Err(missing_client_secret(&profile.name));
        };
        let set_again = || Hint::SetClientSecret {
            profile: profile.name.clone(),
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::InvalidInput(format!(
                "the client secret of profile `{}` in the keychain is not text; set it again",
                profile.name
            ))
            .with_hint(set_again())
        })?;
        // A key is never sent as a secret, whatever a profile's method was changed to.
        if profile.auth_method != AuthMethod::PrivateKeyJwt && client_secrets::is_private_key(&text)
        {
            return Err(Error::InvalidInput(format!(
                "the keychain holds a private key for profile `{}`, which authenticates with a client secret (auth method {}); a key is never sent",
                profile.name,
                profile.auth_method.as_str()
            ))
            .with_hint(set_again()));
        }
        Ok(Some(ClientSecret::new(text)))
    }

    // ----- id_tokens

    /// The issuer's signing keys when the profile asks for `openid`, fetched before anything
    /// single-use (a code, a refresh token) is spent.
    async fn keys_for_openid(&self, profile: &Profile) -> Result<Option<(KeySet, Origin)>> {
        if profile.wants_openid() {
            Ok(Some(self.id_token_keys(profile, false).await?))
        } else {
            Ok(None)
        }
    }

    /// The issuer's signing keys, from the JWKS cache unless `refetch`.
    async fn id_token_keys(&self, profile: &Profile, refetch: bool) -> Result<(KeySet, Origin)> {
        let Some(uri) = &profile.jwks_uri else {
            return Err(cannot_verify(profile));
        };
        let cache = jwks::Cache::new(self.config.dir());
        jwks::load(
            &self.profile_http(profile, uri)?,
            &cache,
            &profile.name,
            uri,
            refetch,
            now(),
        )
        .await
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
        let verifier = profile.id_token_verifier();
        let rejected = |r: idtoken::Rejection| {
            let no_issuer = matches!(
                r,
                idtoken::Rejection::Claim(idtoken::ClaimRejection::NoIssuer { .. })
            );
            let err = Error::IdToken {
                profile: profile.name.clone(),
                detail: r.to_string(),
            };
            if no_issuer {
                err.with_hint(Hint::GiveIssuer)
            } else {
                err
            }
        };
        match verifier.verify(jwt, &keys, expect, now) {
            Err(idtoken::Rejection::UnknownKey(_)) if origin == Origin::Cache => {
                let (fresh, _) = self.id_token_keys(profile, true).await?;
                verifier.verify(jwt, &fresh, expect, now).map_err(rejected)
            }
            result => result.map_err(rejected),
        }
    }
}

/// A profile that asks for `openid` must have the issuer's keys to verify id_tokens with.
fn require_keys_for_openid(profile: &Profile) -> Result<()> {
    if profile.wants_openid() && (profile.jwks_uri.is_none() || profile.issuer.is_none()) {
        return Err(Error::InvalidInput(format!(
            "profile `{}` asks for the `openid` scope, but without an issuer and its jwks_uri Latchkey cannot verify id_tokens",
            profile.name
        ))
        .with_hint(Hint::AddProfileWithIssuer));
    }
    Ok(())
}

/// The error for an id_token that arrived for a profile that cannot verify one.
fn cannot_verify(profile: &Profile) -> Error {
    Error::IdToken {
        profile: profile.name.clone(),
        detail: format!(
            "profile `{}` asks for `openid` but has no jwks_uri to verify id_tokens with",
            profile.name
        ),
    }
    .with_hint(Hint::AddProfileAgainWithIssuer)
}

fn missing_id_token(profile: &Profile) -> Error {
    Error::IdToken {
        profile: profile.name.clone(),
        detail: "the provider returned no id_token although `openid` was asked for".into(),
    }
}

/// A profile authenticates with a client secret the keychain does not hold (e.g. one imported
/// from a shared file, which never carries it).
fn missing_client_secret(profile: &str) -> Error {
    Error::InvalidInput(format!(
        "the client secret of profile `{profile}` is missing from the keychain; set it"
    ))
    .with_hint(Hint::SetClientSecret {
        profile: profile.to_string(),
    })
}

fn secret_key(profile: &str) -> String {
    format!("client-secret:{profile}")
}

/// The keychain entry of a dynamically registered client's RFC 7592 registration access token.
fn registration_token_key(profile: &str) -> String {
    format!("registration-token:{profile}")
}

fn needs_sign_in(account: &Account, reason: &str) -> Error {
    Error::NeedsSignIn {
        account: account.id(),
        profile: account.profile.clone(),
        reason: reason.to_string(),
    }
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
    // A refresh keeps the key its tokens are bound to; a sign-in sets its own.
    let dpop_key = previous.as_ref().and_then(|p| p.dpop_key.clone());
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
        dpop_bound: dpop_key.is_some() && is_dpop(response),
        dpop_key,
    }
}

/// Whether a token response's access token is DPoP-bound (RFC 9449 §5: `token_type` DPoP).
pub(super) fn is_dpop(response: &TokenResponseBody) -> bool {
    matches!(response.token_type(),
        oauth2::basic::BasicTokenType::Extension(t) if t.eq_ignore_ascii_case("dpop"))
}

/// Whether a provider's error description says the client must use PAR: "pushed
/// authorization", or PAR as a word of its own.
fn says_par_required(description: Option<&str>) -> bool {
    description.is_some_and(|d| {
        d.to_ascii_lowercase().contains("pushed authorization")
            || d.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "PAR")
    })
}

/// The provider's refusal with what to do about it, when its OAuth error points at something
/// the user can change: `invalid_client` at the client secret (of a profile that has one),
/// `invalid_scope` at the scopes, `access_denied` at the consent or the scopes. Any other error, or one that has a hint
/// already, is returned as it is.
pub(super) fn advise(profile: &Profile, e: Error) -> Error {
    if e.hint().is_some() {
        return e;
    }
    let Error::Provider {
        error, description, ..
    } = e.unhinted()
    else {
        return e;
    };
    let hint = match error.as_str() {
        // oidc-provider: "Pushed Authorization Request must be used"; Keycloak and Okta
        // name PAR or "pushed" as well.
        "invalid_request" | "unauthorized_client"
            if !profile.par && says_par_required(description.as_deref()) =>
        {
            Hint::UsePar {
                profile: profile.name.clone(),
            }
        }
        "invalid_client" if profile.auth_method == AuthMethod::PrivateKeyJwt => {
            Hint::RegisterClientKey {
                profile: profile.name.clone(),
            }
        }
        "invalid_client" if profile.auth_method.needs_secret() => Hint::WrongClientSecret {
            profile: profile.name.clone(),
        },
        "invalid_scope" => Hint::CheckScopes {
            profile: profile.name.clone(),
        },
        "access_denied" => Hint::SignInDenied {
            profile: profile.name.clone(),
        },
        _ => return e,
    };
    e.with_hint(hint)
}
