//! The device flow (RFC 8628): a code the user enters on another device, then polling.

use std::time::{Duration, Instant};

use oauth2::DeviceCodeErrorResponseType;

use super::pending::DeviceLogin;
use super::{Latchkey, advise};
use crate::error::{Error, Hint, Result};
use crate::model::account::Account;
use crate::model::tokens::now;
use crate::model::untrusted::sanitize;
use crate::protocol::idtoken::Expect;
use crate::protocol::oauth::{self, DevicePoll};

impl Latchkey {
    /// Starts a device flow sign-in (RFC 8628): the user code to show and where to enter it.
    pub async fn begin_device_login(
        &self,
        profile: &str,
        label: Option<String>,
    ) -> Result<DeviceLogin> {
        let profile = self.sign_in_profile(profile, label.as_deref(), None)?;
        let secret = self.client_secret(&profile).await?;
        let url = profile
            .device_authorization_endpoint
            .clone()
            .unwrap_or_else(|| profile.token_endpoint.clone());
        let client = oauth::Client {
            http: &self.profile_http(&profile, &url)?,
            profile: &profile,
            secret: secret.as_ref(),
        };
        let start = client.start_device_authorization().await?;
        Ok(DeviceLogin {
            profile,
            label,
            // Shown to the user as they came: never with control characters.
            user_code: sanitize(&start.user_code),
            verification_uri: sanitize(&start.verification_uri),
            verification_uri_complete: start.verification_uri_complete.as_deref().map(sanitize),
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
        let expired = "the code expired before it was approved";
        let deadline = Instant::now() + pending.expires_in.min(timeout);
        let secret = self.client_secret(profile).await?;
        let client = oauth::Client {
            http: &self.profile_http(profile, &profile.token_endpoint)?,
            profile,
            secret: secret.as_ref(),
        };
        let keys = self.keys_for_openid(profile).await?;
        self.keychain.ensure_writable().await?;
        let mut interval = pending.interval;
        let response = loop {
            let now = Instant::now();
            if now + interval > deadline {
                tokio::time::sleep(deadline.saturating_duration_since(now)).await;
                return Err(if pending.expires_in <= timeout {
                    sign_in_error(expired).with_hint(Hint::RetryDeviceSignIn)
                } else {
                    sign_in_error("no approval arrived in time").with_hint(Hint::AllowMoreTime)
                });
            }
            tokio::time::sleep(interval).await;
            let poll = client.poll_device_token(&pending.device_code).await?;
            let (code, error) = match poll {
                DevicePoll::Token(response) => break response,
                DevicePoll::Refused { code, error } => (code, error),
            };
            match code {
                DeviceCodeErrorResponseType::AuthorizationPending => {}
                // RFC 8628 §3.5: 5 s more for this and every later request.
                DeviceCodeErrorResponseType::SlowDown => interval += Duration::from_secs(5),
                DeviceCodeErrorResponseType::ExpiredToken => {
                    return Err(sign_in_error(expired).with_hint(Hint::RetryDeviceSignIn));
                }
                DeviceCodeErrorResponseType::AccessDenied => {
                    return Err(sign_in_error(
                        "the request was denied at the verification page; nothing was stored",
                    ));
                }
                DeviceCodeErrorResponseType::Basic(_) => return Err(advise(profile, error)),
            }
        };
        let now = now();
        let claims = self
            .sign_in_claims(profile, &response, Expect::Device, keys, now)
            .await?;
        self.store_sign_in(profile, pending.label, &response, claims, None, now)
            .await
    }
}
