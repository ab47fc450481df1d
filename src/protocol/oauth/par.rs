//! Pushed authorization requests (RFC 9126): the authorization request goes to the provider
//! over the back channel, with client authentication, and the browser gets only its
//! `request_uri`.

use url::Url;

use super::client::Client;
use super::response::error_body;
use crate::error::{Error, Result};
use crate::protocol::http::Endpoint;

impl Client<'_> {
    /// Pushes the request of `authorization_url` (as [`super::start_authorization`] built it) to
    /// the profile's PAR endpoint and returns the URL the browser opens instead:
    /// the authorization endpoint with `client_id` and `request_uri` only (RFC 9126 §4).
    pub async fn push_authorization(&self, authorization_url: &Url) -> Result<Url> {
        let profile = self.profile;
        let context = format!(
            "pushed authorization request for profile `{}`",
            profile.name
        );
        let Some(endpoint) = &profile.pushed_authorization_request_endpoint else {
            return Err(Error::InvalidInput(format!(
                "profile `{}` uses pushed authorization requests, and its provider names no pushed_authorization_request_endpoint",
                profile.name
            )));
        };
        // The client's authentication adds `client_id` itself.
        let params: Vec<(String, String)> = authorization_url
            .query_pairs()
            .filter(|(k, _)| k != "client_id")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let form = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = self
            .post_form(Endpoint::Token, endpoint, form, &context)
            .await?;
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap_or_default();
        if !response.status().is_success() || body.get("error").is_some() {
            return Err(error_body(&context, response.body()));
        }
        let request_uri = body["request_uri"]
            .as_str()
            .filter(|u| !u.is_empty() && !u.chars().any(char::is_control))
            .ok_or_else(|| Error::BadResponse {
                context: context.clone(),
                detail: "the answer has no request_uri".into(),
            })?;
        let mut url = profile.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &profile.client_id)
            .append_pair("request_uri", request_uri);
        Ok(url)
    }
}
