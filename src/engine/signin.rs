//! Sign-in of a user: the authorization code flow and the implicit grant through the browser,
//! the password grant, and the storing of the account any sign-in produced.

use std::collections::BTreeMap;
use std::sync::Arc;

use oauth2::{PkceCodeVerifier, RefreshToken, ResourceOwnerPassword, TokenResponse};
use url::Url;

use super::pending::{BrowserRequest, PendingImplicitLogin, PendingLogin};
use super::{
    Keep, Latchkey, advise, is_dpop, missing_id_token, require_keys_for_openid, token_set,
};
use crate::error::provider_error;
use crate::error::{Error, Hint, Result};
use crate::model::account::Account;
use crate::model::notice::{EarlierGrant, Notice};
use crate::model::profile::{
    DEEP_LINK_REDIRECT, Grant, LegacyGrant, Profile, RedirectMode, validate_name,
};
use crate::model::secret::KeyPem;
use crate::model::tokens::now;
use crate::model::untrusted::is_hidden_or_control;
use crate::protocol::callback::AuthorizationResponse;
use crate::protocol::idtoken::{self, Claims, Expect};
use crate::protocol::keys::SigningKey;
use crate::protocol::oauth::{self, TokenResponseBody};

/// What a browser sign-in's answer carries before any of it is trusted: its `state`, RFC 9207
/// `iss`, and either what it answers with (a code, or the implicit grant's token) or the
/// provider's error.
struct Received<T> {
    state: Option<String>,
    iss: Option<String>,
    answer: Result<T>,
}

impl<T> Received<T> {
    /// The one check both browser responses pass: `state` first (an error response with a
    /// foreign state is not ours to report either), then the provider's error, then the
    /// issuer (RFC 9207, mix-up defence). `iss_may_be_missing`: the response carries an
    /// id_token, whose verified `iss` claim stands in for it (RFC 9207 §2.4).
    fn check(self, profile: &Profile, expected_state: &str, iss_may_be_missing: bool) -> Result<T> {
        let sign_in_error = |detail: &str| Error::SignIn {
            profile: profile.name.clone(),
            detail: detail.to_string(),
        };
        if self.state.as_deref() != Some(expected_state) {
            return Err(sign_in_error(
                "the response's `state` does not match the sign-in in progress (a stale tab or a forged redirect); nothing was stored",
            ));
        }
        let answer = self.answer?;
        match (&self.iss, &profile.issuer) {
            (Some(got), Some(expected)) if !idtoken::issuer_matches(expected, got, None) => {
                return Err(sign_in_error(&format!(
                    "the response comes from issuer {got:?}, not {expected:?}; nothing was stored"
                )));
            }
            (None, Some(_))
                if profile.authorization_response_iss_parameter_supported
                    && !iss_may_be_missing =>
            {
                return Err(sign_in_error(
                    "the response lacks the `iss` parameter the provider promises (RFC 9207); nothing was stored",
                ));
            }
            _ => {}
        }
        Ok(answer)
    }
}

impl Received<String> {
    /// An authorization code response (or its error), from the loopback or a deep link.
    fn code(response: AuthorizationResponse, context: String) -> Self {
        let state = response.state().map(str::to_string);
        let (iss, answer) = match response {
            AuthorizationResponse::Code { code, iss, .. } => (iss, Ok(code)),
            AuthorizationResponse::Error {
                error,
                description,
                uri,
                iss,
                ..
            } => (
                iss,
                Err(provider_error(
                    &context,
                    &error,
                    description.as_deref(),
                    uri.as_deref(),
                )),
            ),
        };
        Received { state, iss, answer }
    }
}

impl Received<()> {
    /// The parameters of an implicit response (the redirect's fragment).
    fn implicit(params: &BTreeMap<String, String>, context: String) -> Self {
        Received {
            state: params.get("state").cloned(),
            iss: params.get("iss").cloned(),
            answer: match params.get("error") {
                Some(error) => Err(provider_error(
                    &context,
                    error,
                    params.get("error_description").map(String::as_str),
                    params.get("error_uri").map(String::as_str),
                )),
                None => Ok(()),
            },
        }
    }
}

impl Latchkey {
    /// The profile a sign-in starts from, checked before a browser opens or anything is sent:
    /// a grant that signs in users, the legacy grant it opted in to (if one is used), a valid
    /// account label, and keys for any id_token it will receive.
    pub(super) fn sign_in_profile(
        &self,
        name: &str,
        label: Option<&str>,
        legacy: Option<LegacyGrant>,
    ) -> Result<Profile> {
        let profile = self.config.profile(name)?;
        if profile.grant == Grant::ClientCredentials {
            return Err(Error::InvalidInput(format!(
                "profile `{}` uses the client credentials grant: there is no sign-in",
                profile.name
            ))
            .with_hint(Hint::FetchToken {
                profile: profile.name.clone(),
            }));
        }
        if let Some(grant) = legacy {
            profile.require_legacy_grant(grant)?;
        }
        if let Some(label) = label {
            validate_name(label, "account")?;
        }
        require_keys_for_openid(&profile)?;
        Ok(profile)
    }

    /// Starts the authorization code flow for `profile`, with the redirect URI the response
    /// will come back to. A DPoP profile gets the key its tokens will be bound to; a PAR
    /// profile pushes the request now (RFC 9126), and the browser gets only its `request_uri`.
    pub async fn begin_login(
        &self,
        profile: &str,
        label: Option<String>,
        redirect_uri: Url,
    ) -> Result<PendingLogin> {
        let profile = self.sign_in_profile(profile, label.as_deref(), None)?;
        let dpop_key = profile.dpop.then(SigningKey::generate);
        let start = oauth::start_authorization(&profile, &redirect_uri, dpop_key.as_ref());
        let authorization_url = if profile.par {
            let secret = self.client_secret(&profile).await?;
            let endpoint = profile
                .pushed_authorization_request_endpoint
                .as_ref()
                .unwrap_or(&profile.token_endpoint);
            let http = self.profile_http(&profile, endpoint)?;
            let client = oauth::Client {
                http: &http,
                profile: &profile,
                secret: secret.as_ref(),
            };
            client
                .push_authorization(&start.url)
                .await
                .map_err(|e| advise(&profile, e))?
        } else {
            start.url
        };
        Ok(PendingLogin {
            request: BrowserRequest {
                profile,
                label,
                redirect_uri,
                authorization_url,
                state: start.state,
                nonce: start.nonce,
            },
            verifier: start.verifier,
            dpop_key,
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
        let PendingLogin {
            request,
            verifier,
            dpop_key,
        } = pending;
        let profile = &request.profile;
        let context = format!("sign-in for profile `{}`", profile.name);
        let code = Received::code(response, context)
            .check(profile, request.state(), false)
            .map_err(|e| advise(profile, e))?;
        let secret = self.client_secret(profile).await?;
        // Keys first: a JWKS failure should not cost the one-time code.
        let keys = match &request.nonce {
            Some(_) => Some(self.id_token_keys(profile, false).await?),
            None => None,
        };
        // The code is single-use: make sure its tokens can be stored before spending it.
        self.keychain.ensure_writable().await?;
        let http = self.profile_http(profile, &profile.token_endpoint)?;
        let client = oauth::Client {
            http: &http,
            profile,
            secret: secret.as_ref(),
        };
        let exchange = |key: Option<SigningKey>, code: String, verifier: PkceCodeVerifier| {
            let redirect = &request.redirect_uri;
            async move {
                let r = client
                    .exchange_code(key.as_ref(), code, verifier, redirect)
                    .await;
                (r, key)
            }
        };
        let first_verifier = PkceCodeVerifier::new(verifier.secret().clone());
        let mut learned_dpop = false;
        let (response, dpop_key) = match exchange(dpop_key, code.clone(), first_verifier).await {
            // The provider wants DPoP for this client (RFC 9449 §5): it refused the proof-less
            // request before redeeming the code, so redeem it once more with a key, and make
            // the profile a DPoP one for its next sign-ins.
            (Err(e), None) if wants_dpop(&e) || self.may_want_dpop(profile, &e).await => {
                learned_dpop = true;
                exchange(Some(SigningKey::generate()), code, verifier).await
            }
            other => other,
        };
        let response = response.map_err(|e| advise(profile, e))?;
        let now = now();
        // Keys were fetched exactly when a nonce was sent, i.e. when `openid` was asked for.
        let expect = request
            .nonce
            .as_ref()
            .map_or(Expect::Device, |nonce| Expect::SignIn { nonce });
        let claims = self
            .sign_in_claims(profile, &response, expect, keys, now)
            .await?;
        let account = self
            .store_sign_in(
                profile,
                request.label,
                &response,
                claims,
                dpop_key.as_ref(),
                now,
            )
            .await?;
        // The next sign-ins send a proof from the start. Best effort, once the tokens are kept:
        // a config that cannot be written costs a retry next time, never the tokens.
        if learned_dpop && account.dpop_bound {
            let _ = self.config.update_profiles(|all| {
                if let Some(p) = all.get_mut(&profile.name) {
                    p.dpop = true;
                }
                Ok(())
            });
        }
        Ok(account)
    }

    /// Starts an implicit sign-in (RFC 6749 §4.2) for a profile that opted in to it.
    pub fn begin_implicit_login(
        &self,
        profile: &str,
        label: Option<String>,
        redirect_uri: Url,
    ) -> Result<PendingImplicitLogin> {
        let profile =
            self.sign_in_profile(profile, label.as_deref(), Some(LegacyGrant::Implicit))?;
        let start = oauth::start_implicit(&profile, &redirect_uri);
        Ok(PendingImplicitLogin {
            request: BrowserRequest {
                profile,
                label,
                redirect_uri,
                authorization_url: start.url,
                state: start.state,
                nonce: start.nonce,
            },
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
        let request = pending.request;
        let profile = &request.profile;
        let context = format!("implicit sign-in for profile `{}`", profile.name);
        Received::implicit(&params, context.clone())
            .check(profile, request.state(), params.contains_key("id_token"))
            .map_err(|e| advise(profile, e))?;
        let response = oauth::implicit_token(&context, &params)?;
        let now = now();
        let claims = match (&request.nonce, &response.extra_fields().id_token) {
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
                    .map_err(|rejection| Error::IdToken {
                        profile: profile.name.clone(),
                        detail: format!("the id_token is not valid: {rejection}"),
                    })?;
                Some(claims)
            }
            (Some(_), None) => return Err(missing_id_token(profile)),
            (None, _) => None,
        };
        self.store_sign_in(profile, request.label, &response, claims, None, now)
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
        let profile =
            self.sign_in_profile(profile, label.as_deref(), Some(LegacyGrant::Password))?;
        if username.is_empty() {
            return Err(Error::InvalidInput("the username is empty".into()));
        }
        let secret = self.client_secret(&profile).await?;
        let keys = self.keys_for_openid(&profile).await?;
        self.keychain.ensure_writable().await?;
        let client = oauth::Client {
            http: &self.profile_http(&profile, &profile.token_endpoint)?,
            profile: &profile,
            secret: secret.as_ref(),
        };
        let response = client
            .password(username, password)
            .await
            .map_err(|e| advise(&profile, e))?;
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
        self.store_sign_in(&profile, label, &response, claims, None, now)
            .await
    }

    /// Stores the account a sign-in produced (under its lock: a refresh may be running), while
    /// its profile stands with the provider the sign-in used.
    pub(super) async fn store_sign_in(
        &self,
        profile: &Profile,
        label: Option<String>,
        response: &TokenResponseBody,
        claims: Option<Claims>,
        dpop_key: Option<&SigningKey>,
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
        let mut tokens = token_set(response, &profile.scopes, None, claims.is_some(), now);
        // The key is kept whenever a proof was sent: a public client's refresh token is bound
        // to it even when the access token is a Bearer one (RFC 9449 §5).
        tokens.dpop_key = dpop_key.map(|k| KeyPem::new(k.pem()));
        tokens.dpop_bound = tokens.dpop_key.is_some() && is_dpop(response);
        let account = Account {
            profile: profile.name.clone(),
            label,
            subject: claims.map(|c| c.sub),
            scopes: tokens.scopes.clone(),
            expires_at: tokens.expires_at,
            has_refresh_token: tokens.refresh_token.is_some(),
            needs_sign_in: None,
            signed_in_at: now,
            default: false,
            dpop_bound: tokens.dpop_bound,
        };
        let lock = Arc::new(self.account_lock(account.account_id()).await?);
        // A sign-in of an account that exists replaces its grant: read the earlier refresh
        // token under the lock, to revoke it once the new tokens are stored (the keychain
        // keeps only one, so no `logout` could revoke the earlier one later).
        let earlier = self.earlier_refresh_token(&account).await;
        // Not when the profile was removed or changed provider meanwhile (see `standing`).
        self.store_standing(&account, &tokens, profile, &lock, Keep::SignIn)
            .await?;
        if let Some(earlier) = earlier.filter(|old| {
            tokens.refresh_token.as_ref().map(|new| new.secret()) != Some(old.secret())
        }) {
            let secret = self.client_secret(profile).await.ok().flatten();
            let outcome = match self
                .revoke_refresh_token(profile, secret.as_ref(), earlier)
                .await
            {
                Ok(true) => EarlierGrant::Revoked,
                Ok(false) => EarlierGrant::NoRevocationEndpoint,
                Err(e) => EarlierGrant::NotRevoked(e.to_string()),
            };
            self.notify(&Notice::EarlierGrantReplaced {
                account: account.id(),
                outcome,
            });
        }
        Ok(account)
    }

    /// The refresh token of the stored account that `account` will replace, when it has a
    /// usable one (one marked as needing sign-in was refused by the provider already).
    async fn earlier_refresh_token(&self, account: &Account) -> Option<RefreshToken> {
        let stored = self.account_by_id(&account.account_id()).ok()??;
        if stored.needs_sign_in.is_some() {
            return None;
        }
        self.load_tokens(&stored).await.ok()?.refresh_token
    }
}

/// Whether a token endpoint refused a request for want of a DPoP proof. RFC 9449 names no
/// error for a missing proof: servers say `invalid_dpop_proof`, or `invalid_grant` /
/// `invalid_request`, with a description naming DPoP when they give one.
fn wants_dpop(e: &Error) -> bool {
    let Error::Provider {
        error, description, ..
    } = e.unhinted()
    else {
        return false;
    };
    error == "invalid_dpop_proof"
        || error == crate::protocol::dpop::USE_NONCE
        || (matches!(error.as_str(), "invalid_grant" | "invalid_request")
            && description.as_deref().is_some_and(|d| d.contains("DPoP")))
}

impl Latchkey {
    /// Whether an `invalid_grant` from a provider that offers DPoP may be its refusal of a
    /// proof-less request (oidc-provider words every `invalid_grant` the same, and checks the
    /// proof before it redeems the code). Asked on a failed sign-in only: one discovery more.
    async fn may_want_dpop(&self, profile: &Profile, e: &Error) -> bool {
        let offers_dpop = async {
            let issuer = profile.issuer.as_deref()?;
            let m = self.discover_via(issuer, &profile.network()).await.ok()?;
            Some(
                m.dpop_signing_alg_values_supported
                    .is_some_and(|a| !a.is_empty()),
            )
        };
        matches!(e.unhinted(), Error::Provider { error, .. } if error == "invalid_grant")
            && offers_dpop.await == Some(true)
    }
}

/// Labels come from claims; `/` would break `PROFILE/LABEL`, and invisible characters would
/// make two labels look alike.
fn sanitize_label(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| {
            if c == '/' || is_hidden_or_control(c) {
                '_'
            } else {
                c
            }
        })
        .take(128)
        .collect()
}
