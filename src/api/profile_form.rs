//! A new profile from what a user gave (command-line flags or the app's form): the preset
//! filled in, the endpoints chosen, the user's values over the preset's.

use std::collections::BTreeMap;
use std::path::Path;

use oauth2::ClientSecret;
use url::Url;

use crate::engine::ManualEndpoints;
use crate::model::presets::{self, Filled, SecretNeed};
use crate::{AuthMethod, Endpoints, Error, Grant, NewProfile, ProfileExtras, RedirectMode};

/// A preset and the values of its variables (`tenant`, `base_url`…; missing ones take their
/// default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresetChoice {
    pub name: String,
    pub values: BTreeMap<String, String>,
}

impl PresetChoice {
    /// What the preset fills in, looked up among the built-in presets and the user's.
    pub fn fill(&self, config_dir: &Path) -> Result<Filled, Error> {
        presets::find(config_dir, &self.name)?.fill(&self.values)
    }
}

/// Where the endpoints come from: an issuer, or endpoints given by hand. All empty: the
/// preset's.
#[derive(Debug, Clone, Default)]
pub struct EndpointsForm {
    pub issuer: Option<String>,
    pub authorization: Option<Url>,
    pub token: Option<Url>,
    pub revocation: Option<Url>,
    pub userinfo: Option<Url>,
}

/// Everything a user may give for a new profile. Unset values come from the preset, then from
/// the engine's defaults.
#[derive(Debug, Clone, Default)]
pub struct ProfileForm {
    pub name: String,
    pub client_id: String,
    pub preset: Option<PresetChoice>,
    pub endpoints: EndpointsForm,
    /// Empty: the preset's.
    pub scopes: Vec<String>,
    /// `None`: the preset's, else `basic` with a secret and `none` without.
    pub auth_method: Option<AuthMethod>,
    /// `None`: the preset's, else loopback.
    pub redirect: Option<RedirectMode>,
    pub redirect_uri: Option<Url>,
    /// Over the preset's: the grant and the legacy grants replace them, the device endpoint
    /// does when given, the extra parameters are added (the user's value wins).
    pub extras: ProfileExtras,
}

/// What the engine's `add_profile_with` and `update_profile` take.
#[derive(Debug)]
pub struct ProfileRequest {
    pub new: NewProfile,
    pub extras: ProfileExtras,
    pub client_secret: Option<ClientSecret>,
}

/// Why a form does not make a profile. The front ends word the first three in their own terms
/// (flags for the CLI, fields for the app).
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("no endpoints: give an issuer, a preset, or the authorization and token endpoints")]
    NoEndpoints,
    #[error(
        "a token endpoint alone is for the client credentials grant; give the authorization endpoint too"
    )]
    TokenEndpointAlone,
    #[error("the `{preset}` preset's provider needs the client secret")]
    SecretRequired { preset: String },
    #[error(transparent)]
    Engine(#[from] Error),
}

/// Builds the engine's inputs from `form`. `client_secret` is asked for only once the rest of
/// the form holds together (the CLI reads it from standard input).
pub fn build_profile(
    config_dir: &Path,
    form: ProfileForm,
    client_secret: impl FnOnce() -> Result<Option<ClientSecret>, Error>,
) -> Result<ProfileRequest, FormError> {
    let filled = form
        .preset
        .as_ref()
        .map(|p| p.fill(config_dir))
        .transpose()?;
    let endpoints = endpoints(form.endpoints, form.extras.grant, filled.as_ref())?;
    let client_secret = client_secret()?;
    if let (Some(f), Some(preset)) = (&filled, &form.preset)
        && f.client_secret == SecretNeed::Required
        && client_secret.is_none()
    {
        return Err(FormError::SecretRequired {
            preset: preset.name.clone(),
        });
    }
    let mut extras = filled
        .as_ref()
        .map(|f| f.extras.clone())
        .unwrap_or_default();
    let given = form.extras;
    extras.grant = given.grant;
    extras.network = given.network;
    extras.allowed_legacy_grants = given.allowed_legacy_grants;
    extras.resources.extend(given.resources);
    extras.dpop = given.dpop;
    extras.par = given.par;
    if given.device_authorization_endpoint.is_some() {
        extras.device_authorization_endpoint = given.device_authorization_endpoint;
    }
    extras
        .extra_authorize_params
        .extend(given.extra_authorize_params);
    extras.extra_token_params.extend(given.extra_token_params);
    let scopes = match &filled {
        Some(f) if form.scopes.is_empty() => f.scopes.clone(),
        _ => form.scopes,
    };
    let new = NewProfile {
        name: form.name,
        client_id: form.client_id,
        endpoints,
        scopes,
        auth_method: form
            .auth_method
            .or(filled.as_ref().and_then(|f| f.auth_method)),
        redirect: form
            .redirect
            .or(filled.as_ref().map(|f| f.redirect))
            .unwrap_or_default(),
        redirect_uri: form.redirect_uri,
    };
    Ok(ProfileRequest {
        new,
        extras,
        client_secret,
    })
}

/// An issuer wins; then endpoints given by hand; then the preset's.
fn endpoints(
    form: EndpointsForm,
    grant: Grant,
    filled: Option<&Filled>,
) -> Result<Endpoints, FormError> {
    Ok(match (form.issuer, form.authorization, form.token) {
        (Some(issuer), _, _) => Endpoints::Issuer(issuer),
        (None, Some(authorization), Some(token)) => Endpoints::Manual(Box::new(ManualEndpoints {
            authorization,
            token,
            revocation: form.revocation,
            userinfo: form.userinfo,
        })),
        // A machine client has no authorization endpoint; the token endpoint stands in for it
        // (never used: there is no sign-in for such a profile).
        (None, None, Some(token)) if grant == Grant::ClientCredentials => {
            Endpoints::Manual(Box::new(ManualEndpoints {
                authorization: token.clone(),
                token,
                revocation: form.revocation,
                userinfo: None,
            }))
        }
        (None, None, Some(_)) => return Err(FormError::TokenEndpointAlone),
        _ => filled
            .map(|f| f.endpoints.clone())
            .ok_or(FormError::NoEndpoints)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LegacyGrant;

    /// No user presets there: only the built-in ones.
    fn dir() -> std::path::PathBuf {
        std::env::temp_dir().join("latchkey-api-tests-no-such-dir")
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn form() -> ProfileForm {
        ProfileForm {
            name: "p".into(),
            client_id: "c".into(),
            ..Default::default()
        }
    }

    fn preset(name: &str, values: &[(&str, &str)]) -> Option<PresetChoice> {
        Some(PresetChoice {
            name: name.into(),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    fn no_secret() -> Result<Option<ClientSecret>, Error> {
        Ok(None)
    }

    fn a_secret() -> Result<Option<ClientSecret>, Error> {
        Ok(Some(ClientSecret::new("s".into())))
    }

    fn manual(e: &Endpoints) -> &ManualEndpoints {
        match e {
            Endpoints::Manual(m) => m,
            Endpoints::Issuer(i) => panic!("issuer {i}"),
        }
    }

    #[test]
    fn an_issuer_makes_a_discovered_profile_with_the_engine_defaults() {
        let mut f = form();
        f.endpoints.issuer = Some("https://idp.example".into());
        f.scopes = vec!["openid".into()];
        let r = build_profile(&dir(), f, no_secret).unwrap();
        assert!(matches!(&r.new.endpoints, Endpoints::Issuer(i) if i == "https://idp.example"));
        assert_eq!(r.new.scopes, ["openid"]);
        assert_eq!(r.new.auth_method, None);
        assert_eq!(r.new.redirect, RedirectMode::Loopback);
        assert_eq!(r.extras, ProfileExtras::default());
        assert!(r.client_secret.is_none());
    }

    #[test]
    fn endpoints_by_hand_keep_revocation_and_userinfo() {
        let mut f = form();
        f.endpoints = EndpointsForm {
            authorization: Some(url("https://a.example/auth")),
            token: Some(url("https://a.example/token")),
            revocation: Some(url("https://a.example/revoke")),
            userinfo: Some(url("https://a.example/me")),
            ..Default::default()
        };
        let r = build_profile(&dir(), f, no_secret).unwrap();
        let m = manual(&r.new.endpoints);
        assert_eq!(m.authorization.as_str(), "https://a.example/auth");
        assert_eq!(
            m.revocation.as_ref().unwrap().as_str(),
            "https://a.example/revoke"
        );
        assert_eq!(
            m.userinfo.as_ref().unwrap().as_str(),
            "https://a.example/me"
        );
    }

    #[test]
    fn a_token_endpoint_alone_is_only_for_client_credentials() {
        let mut f = form();
        f.endpoints.token = Some(url("https://a.example/token"));
        let err = build_profile(&dir(), f.clone(), no_secret).unwrap_err();
        assert!(matches!(err, FormError::TokenEndpointAlone), "{err}");
        f.extras.grant = Grant::ClientCredentials;
        let r = build_profile(&dir(), f, no_secret).unwrap();
        let m = manual(&r.new.endpoints);
        assert_eq!(m.authorization, m.token);
        assert_eq!(r.extras.grant, Grant::ClientCredentials);
    }

    #[test]
    fn nothing_to_find_endpoints_in_is_refused() {
        let err = build_profile(&dir(), form(), no_secret).unwrap_err();
        assert!(matches!(err, FormError::NoEndpoints), "{err}");
    }

    #[test]
    fn a_preset_fills_what_the_user_left_out_and_the_user_wins() {
        let mut f = form();
        f.preset = preset("github", &[]);
        f.extras.extra_authorize_params = [("allow_signup".to_string(), "true".to_string())].into();
        let r = build_profile(&dir(), f, a_secret).unwrap();
        let m = manual(&r.new.endpoints);
        assert_eq!(
            m.token.as_str(),
            "https://github.com/login/oauth/access_token"
        );
        assert!(!r.new.scopes.is_empty());
        assert_eq!(r.new.auth_method, Some(AuthMethod::Post));
        assert!(r.extras.device_authorization_endpoint.is_some());
        assert_eq!(r.extras.extra_authorize_params["allow_signup"], "true");

        let mut f = form();
        f.preset = preset("github", &[]);
        f.scopes = vec!["repo".into()];
        f.auth_method = Some(AuthMethod::Basic);
        f.redirect = Some(RedirectMode::DeepLink);
        let r = build_profile(&dir(), f, a_secret).unwrap();
        assert_eq!(r.new.scopes, ["repo"]);
        assert_eq!(r.new.auth_method, Some(AuthMethod::Basic));
        assert_eq!(r.new.redirect, RedirectMode::DeepLink);
    }

    #[test]
    fn preset_variables_go_into_its_urls() {
        let mut f = form();
        f.preset = preset("microsoft", &[("tenant", "contoso")]);
        let r = build_profile(&dir(), f, no_secret).unwrap();
        match &r.new.endpoints {
            Endpoints::Issuer(i) => assert!(i.contains("/contoso/"), "{i}"),
            Endpoints::Manual(m) => panic!("manual {}", m.token),
        }
        let mut f = form();
        f.preset = preset("microsoft", &[("no_such_variable", "x")]);
        assert!(matches!(
            build_profile(&dir(), f, no_secret),
            Err(FormError::Engine(Error::InvalidInput(_)))
        ));
    }

    #[test]
    fn a_preset_that_requires_the_secret_refuses_a_form_without() {
        let mut f = form();
        f.preset = preset("google", &[]);
        let err = build_profile(&dir(), f.clone(), no_secret).unwrap_err();
        assert!(matches!(&err, FormError::SecretRequired { preset } if preset == "google"));
        let r = build_profile(&dir(), f, a_secret).unwrap();
        assert_eq!(r.client_secret.unwrap().secret(), "s");
    }

    #[test]
    fn the_secret_is_not_asked_for_when_the_form_is_wrong() {
        let asked = std::cell::Cell::new(false);
        let err = build_profile(&dir(), form(), || {
            asked.set(true);
            Ok(None)
        })
        .unwrap_err();
        assert!(matches!(err, FormError::NoEndpoints));
        assert!(!asked.get());
    }

    #[test]
    fn legacy_grants_and_device_endpoint_come_from_the_form() {
        let mut f = form();
        f.endpoints.issuer = Some("https://idp.example".into());
        f.extras.allowed_legacy_grants = vec![LegacyGrant::Password];
        f.extras.device_authorization_endpoint = Some(url("https://idp.example/device"));
        f.extras.extra_token_params = [("audience".to_string(), "api".to_string())].into();
        let r = build_profile(&dir(), f, no_secret).unwrap();
        assert_eq!(r.extras.allowed_legacy_grants, [LegacyGrant::Password]);
        assert_eq!(
            r.extras.device_authorization_endpoint.unwrap().as_str(),
            "https://idp.example/device"
        );
        assert_eq!(r.extras.extra_token_params["audience"], "api");
    }
}
