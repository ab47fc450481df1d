//! The device flow's requests (RFC 8628): the device authorization request and one poll of the
//! token endpoint. Written on `oauth2`'s request types: its own polling loop cannot be stopped.

use oauth2::{DeviceCode, DeviceCodeErrorResponseType};
use serde::Deserialize;

use super::client::Client;
use super::response::{TokenResponseBody, check_token_type, error_body, without_quoted};
use crate::error::{Error, Hint, Result};
use crate::protocol::http::{Endpoint, masked_excerpt};

/// A device authorization response (RFC 8628 §3.2).
#[derive(Debug, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: DeviceCode,
    pub user_code: String,
    /// Google says `verification_url`.
    #[serde(alias = "verification_url")]
    pub verification_uri: String,
    #[serde(default, alias = "verification_url_complete")]
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    #[serde(default)]
    pub interval: Option<u64>,
}

/// One poll of the token endpoint in the device flow.
pub enum DevicePoll {
    Token(Box<TokenResponseBody>),
    /// Not (yet) a token: `code` says whether to ask again (`authorization_pending`,
    /// `slow_down`) or stop; `error` is the provider's answer as an engine error.
    Refused {
        code: DeviceCodeErrorResponseType,
        error: Error,
    },
}

impl Client<'_> {
    /// Starts the device flow: asks for a device code and the user code to show.
    pub async fn start_device_authorization(&self) -> Result<DeviceAuthorization> {
        let profile = self.profile;
        let context = format!(
            "device authorization request for profile `{}`",
            profile.name
        );
        let Some(url) = &profile.device_authorization_endpoint else {
            let error = Error::InvalidInput(format!(
                "profile `{}` has no device authorization endpoint: its provider's discovery does not list one",
                profile.name
            ));
            return Err(error.with_hint(Hint::AddDeviceEndpoint));
        };
        let scope = profile.scopes.join(" ");
        let mut form = Vec::new();
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let response = self.post_form(Endpoint::Token, url, form, &context).await?;
        if !response.status().is_success() {
            return Err(error_body(&context, response.body()));
        }
        serde_json::from_slice(response.body()).map_err(|e| Error::BadResponse {
            context,
            detail: format!(
                "the response is not a device authorization response: {}",
                without_quoted(&e.to_string())
            ),
        })
    }

    /// Polls once: `oauth2`'s own polling loop retries transport errors silently until the code
    /// expires and cannot be stopped, so the loop is the caller's.
    pub async fn poll_device_token(&self, device_code: &DeviceCode) -> Result<DevicePoll> {
        let profile = self.profile;
        let context = format!("device sign-in for profile `{}`", profile.name);
        let mut form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code.secret().as_str()),
        ];
        form.extend(profile.resources.iter().map(|r| ("resource", r.as_str())));
        form.extend(
            profile
                .extra_token_params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let url = &profile.token_endpoint;
        let response = self.post_form(Endpoint::Token, url, form, &context).await?;
        if response.status().is_success() {
            let sent = || masked_excerpt(response.body());
            let token: TokenResponseBody =
                serde_json::from_slice(response.body()).map_err(|e| Error::BadResponse {
                    context: context.clone(),
                    detail: format!(
                        "the response is not a usable token response: {}; the provider sent {}",
                        without_quoted(&e.to_string()),
                        sent()
                    ),
                })?;
            return Ok(DevicePoll::Token(Box::new(check_token_type(
                &context, token, false, sent,
            )?)));
        }
        let error = error_body(&context, response.body());
        let code = match &error {
            Error::Provider { error, .. } => {
                serde_json::from_value(error.as_str().into()).unwrap_or_else(|_| unknown_code())
            }
            _ => unknown_code(),
        };
        Ok(DevicePoll::Refused { code, error })
    }
}

fn unknown_code() -> DeviceCodeErrorResponseType {
    DeviceCodeErrorResponseType::Basic(oauth2::basic::BasicErrorResponseType::Extension(
        "unknown_error".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_responses_accept_googles_field_names() {
        let d: DeviceAuthorization = serde_json::from_str(
            r#"{"device_code":"dc-secret-value","user_code":"ABCD-EFGH","verification_url":"https://www.google.com/device","expires_in":1800,"interval":5}"#,
        )
        .unwrap();
        assert_eq!(d.verification_uri, "https://www.google.com/device");
        assert_eq!(d.interval, Some(5));
        assert!(!format!("{d:?}").contains("dc-secret-value"));
    }
}
