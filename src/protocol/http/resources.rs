//! The requests of resource discovery (RFC 9728) and client registration (RFC 7591, 7592).

use oauth2::http::header;
use serde_json::Value;

use super::{Http, HttpError, MAX_BODY, check_redirect};

impl Http {
    /// An unauthenticated GET of a protected resource, for its RFC 9728 challenge: the status
    /// and the `WWW-Authenticate` header (the body is read, bounded, and dropped).
    pub async fn probe(&self, url: &url::Url) -> Result<(u16, Option<String>), HttpError> {
        let (status, headers, _) = self
            .exchange(self.client.get(url.as_str()), MAX_BODY)
            .await?;
        let challenge = headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((status.as_u16(), challenge))
    }

    /// A JSON request of the client registration protocols (RFC 7591, RFC 7592): `body` as
    /// JSON, `bearer` as the Authorization; the status and the body (bounded). A redirect is
    /// an error.
    pub async fn json_request(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), HttpError> {
        let mut request = self
            .client
            .request(method, url.as_str())
            .header(header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let (status, headers, body) = self.exchange(request, MAX_BODY).await?;
        check_redirect(status, &headers)?;
        Ok((status.as_u16(), body))
    }
}
