//! Form POSTs to token-like endpoints, written by hand on `oauth2`'s request types where
//! `oauth2` itself does not fit (revocation, the device flow).

use oauth2::{ClientSecret, HttpResponse};
use url::Url;

use super::client::Client;
use crate::error::{Error, Result};
use crate::model::profile::{AuthMethod, Profile};
use crate::protocol::http::Endpoint;

impl Client<'_> {
    /// Sends a form POST built by [`form_request`] and returns the answer, normalised by
    /// `http`; `context` names the request in errors.
    pub(super) async fn post_form(
        &self,
        endpoint: Endpoint,
        url: &Url,
        form: Vec<(&str, &str)>,
        context: &str,
    ) -> Result<HttpResponse> {
        let assertion = super::client_auth::assertion_params(self.profile, self.secret)?;
        let mut form = form;
        form.extend(assertion.iter().map(|(k, v)| (*k, v.as_str())));
        let request = form_request(url, self.profile, self.secret, form)
            .map_err(|e| Error::InvalidInput(format!("{context}: {e}")))?;
        self.http
            .oauth(request, endpoint)
            .await
            .map_err(|e| e.into_error(context.to_string()))
    }
}

/// A form POST to a token-like endpoint with the profile's client authentication.
///
/// Written by hand on `oauth2`'s request types where `oauth2` does not fit (see `revoke` and
/// `poll_device_token`).
fn form_request<'a>(
    url: &Url,
    profile: &'a Profile,
    secret: Option<&'a ClientSecret>,
    mut form: Vec<(&'a str, &'a str)>,
) -> std::result::Result<oauth2::HttpRequest, oauth2::http::Error> {
    let mut request = oauth2::http::Request::builder()
        .method(oauth2::http::Method::POST)
        .uri(url.as_str())
        .header(
            oauth2::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(oauth2::http::header::ACCEPT, "application/json");
    match (profile.auth_method, secret) {
        (AuthMethod::Basic, Some(secret)) => {
            // RFC 6749 §2.3.1: form-encode id and secret before Basic.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = format!("{}:{}", enc(&profile.client_id), enc(secret.secret()));
            use base64::Engine;
            let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
            request = request.header(
                oauth2::http::header::AUTHORIZATION,
                format!("Basic {basic}"),
            );
        }
        (AuthMethod::Post, Some(secret)) => {
            form.push(("client_id", &profile.client_id));
            form.push(("client_secret", secret.secret()));
        }
        // A public client, or one whose key signed the assertion already in `form`.
        _ => form.push(("client_id", &profile.client_id)),
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
        .into_bytes();
    request.body(body)
}
