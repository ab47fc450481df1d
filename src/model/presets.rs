//! Provider presets: data, not code. Each built-in preset is one TOML file under `presets/`,
//! embedded in the binary; users add their own as `<config dir>/presets/NAME.toml`. A preset
//! only fills in what a user would otherwise type (endpoints or issuer, scopes, auth method,
//! redirect mode, extra parameters); the engine never asks which provider a profile is for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::error::{Error, Hint, Result};
use crate::model::profile::{
    AuthMethod, Endpoints, ManualEndpoints, Profile, ProfileExtras, RedirectMode, parse_base_url,
    validate_endpoint, validate_extra_params,
};

const BUILT_IN: &[(&str, &str)] = &[
    ("github", include_str!("../../presets/github.toml")),
    ("gitlab", include_str!("../../presets/gitlab.toml")),
    ("google", include_str!("../../presets/google.toml")),
    ("microsoft", include_str!("../../presets/microsoft.toml")),
];

/// Whether a preset's provider wants a client secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SecretNeed {
    /// Public clients work; a secret may be given.
    #[default]
    Optional,
    /// The provider refuses token requests without the client's secret.
    Required,
}

/// A value the user supplies (`--tenant`, `--base-url`), written `{name}` in the URLs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub help: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    BuiltIn,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    #[serde(skip)]
    pub name: String,
    #[serde(skip, default = "built_in")]
    pub source: Source,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Where the provider documents client registration.
    #[serde(default)]
    pub docs: Option<String>,
    /// An issuer to discover the endpoints from (may contain `{variable}`s)…
    #[serde(default)]
    pub issuer: Option<String>,
    /// …or the endpoints themselves.
    #[serde(default)]
    pub authorize_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub revocation_url: Option<String>,
    #[serde(default)]
    pub userinfo_url: Option<String>,
    #[serde(default)]
    pub device_authorization_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub auth_method: Option<AuthMethod>,
    #[serde(default)]
    pub redirect: RedirectMode,
    #[serde(default)]
    pub client_secret: SecretNeed,
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    #[serde(default)]
    pub extra_authorize_params: BTreeMap<String, String>,
    #[serde(default)]
    pub extra_token_params: BTreeMap<String, String>,
    /// How the provider's git servers take its tokens.
    #[serde(default)]
    pub git: Option<GitDefaults>,
}

/// A preset's `[git]` table: what `latchkey git-credential` answers git with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitDefaults {
    /// The user name sent with the token in Basic authentication (GitHub `x-access-token`,
    /// GitLab `oauth2`).
    #[serde(default)]
    pub username: Option<String>,
    /// The git server for the helper line the app shows (may contain `{variable}`s).
    #[serde(default)]
    pub url: Option<String>,
}

fn built_in() -> Source {
    Source::BuiltIn
}

/// What a preset fills in, once its variables have values.
#[derive(Debug, Clone)]
pub struct Filled {
    pub endpoints: Endpoints,
    pub scopes: Vec<String>,
    pub auth_method: Option<AuthMethod>,
    pub redirect: RedirectMode,
    pub client_secret: SecretNeed,
    pub extras: ProfileExtras,
}

impl Preset {
    /// Parses one preset file's text.
    pub fn parse(name: &str, text: &str, source: Source) -> Result<Preset> {
        let where_ = match &source {
            Source::BuiltIn => format!("built-in preset `{name}`"),
            Source::File(path) => format!("preset file {}", path.display()),
        };
        let mut preset: Preset = toml::from_str(text)
            .map_err(|e| Error::InvalidInput(format!("{where_}: {}", e.message())))?;
        preset.name = name.to_string();
        preset.source = source;
        let endpoints_given = preset.authorize_url.is_some() || preset.token_url.is_some();
        if preset.issuer.is_some() == endpoints_given {
            return Err(Error::InvalidInput(format!(
                "{where_}: give either `issuer` or `authorize_url` and `token_url`"
            )));
        }
        if endpoints_given && (preset.authorize_url.is_none() || preset.token_url.is_none()) {
            return Err(Error::InvalidInput(format!(
                "{where_}: `authorize_url` and `token_url` go together"
            )));
        }
        validate_extra_params(&preset.extra_authorize_params, "authorization request")
            .and_then(|_| validate_extra_params(&preset.extra_token_params, "token request"))
            .map_err(|e| Error::InvalidInput(format!("{where_}: {e}")))?;
        Ok(preset)
    }

    /// Fills the preset with the user's variable values (missing ones take their default).
    pub fn fill(&self, values: &BTreeMap<String, String>) -> Result<Filled> {
        for given in values.keys() {
            if !self.variables.contains_key(given) {
                return Err(Error::InvalidInput(format!(
                    "preset `{}` has no `{}` setting{}",
                    self.name,
                    flag(given).trim_end_matches("=VALUE"),
                    self.variables_hint()
                )));
            }
        }
        let mut resolved = BTreeMap::new();
        for (name, var) in &self.variables {
            let value = values.get(name).or(var.default.as_ref()).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "preset `{}` needs {} ({})",
                    self.name,
                    flag(name),
                    var.help
                ))
            })?;
            resolved.insert(name.clone(), check_value(name, value)?);
        }
        let url = |template: &str, what: &str| -> Result<Url> {
            let text = substitute(template, &resolved, &self.name)?;
            let url = Url::parse(&text).map_err(|e| {
                Error::InvalidInput(format!(
                    "preset `{}`: the {what} {text:?} is not a URL: {e}",
                    self.name
                ))
            })?;
            validate_endpoint(&url, what)?;
            Ok(url)
        };
        let optional = |template: &Option<String>, what: &str| -> Result<Option<Url>> {
            template.as_deref().map(|t| url(t, what)).transpose()
        };
        let endpoints = match (&self.issuer, &self.authorize_url, &self.token_url) {
            // Discovery compares issuers exactly: keep the issuer as written (Url would add a
            // `/` to a bare origin).
            (Some(issuer), _, _) => {
                let text = substitute(issuer, &resolved, &self.name)?;
                url(&text, "issuer")?;
                Endpoints::Issuer(text)
            }
            (None, Some(authorization), Some(token)) => {
                Endpoints::Manual(Box::new(ManualEndpoints {
                    authorization: url(authorization, "authorization endpoint")?,
                    token: url(token, "token endpoint")?,
                    revocation: optional(&self.revocation_url, "revocation endpoint")?,
                    userinfo: optional(&self.userinfo_url, "userinfo endpoint")?,
                }))
            }
            _ => unreachable!("checked in Preset::parse"),
        };
        Ok(Filled {
            endpoints,
            scopes: self.scopes.clone(),
            auth_method: self.auth_method,
            redirect: self.redirect,
            client_secret: self.client_secret,
            extras: ProfileExtras {
                grant: Default::default(),
                device_authorization_endpoint: optional(
                    &self.device_authorization_url,
                    "device authorization endpoint",
                )?,
                extra_authorize_params: self.extra_authorize_params.clone(),
                extra_token_params: self.extra_token_params.clone(),
                allowed_legacy_grants: Vec::new(),
                network: Default::default(),
                resources: Vec::new(),
                dpop: false,
                par: false,
            },
        })
    }

    /// The git server URL of the `[git]` table, its variables filled with their defaults.
    pub fn git_url(&self) -> Option<String> {
        let template = self.git.as_ref()?.url.as_deref()?;
        let defaults = self
            .variables
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.default.clone()?)))
            .collect();
        substitute(template, &defaults, &self.name).ok()
    }

    fn variables_hint(&self) -> String {
        if self.variables.is_empty() {
            String::new()
        } else {
            format!(
                "; it takes {}",
                self.variables
                    .keys()
                    .map(|k| flag(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// How the command line gives a variable: `tenant` and `base_url` have flags of their own
/// (`--base-url`); any other (a user preset's) is `--preset-var NAME=VALUE`.
pub fn flag(variable: &str) -> String {
    match variable {
        "tenant" | "base_url" => format!("--{}", variable.replace('_', "-")),
        _ => format!("--preset-var {variable}=VALUE"),
    }
}

/// Values go into URLs: a tenant is one path segment, a base URL an https origin (+ path).
fn check_value(name: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if name == "base_url" {
        parse_base_url(value, "--base-url", "base URL")?;
        return Ok(value.trim_end_matches('/').to_string());
    }
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if ok {
        Ok(value.to_string())
    } else {
        Err(Error::InvalidInput(format!(
            "{} {value:?} may contain only letters, digits, `-`, `.` and `_`",
            flag(name)
        )))
    }
}

fn substitute(template: &str, values: &BTreeMap<String, String>, preset: &str) -> Result<String> {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    if let Some(start) = out.find('{')
        && let Some(len) = out[start..].find('}')
    {
        return Err(Error::InvalidInput(format!(
            "preset `{preset}` uses {} but declares no such variable",
            &out[start..=start + len]
        )));
    }
    Ok(out)
}

/// The built-in presets, then the user's (a user file named like a built-in replaces it).
pub fn all(config_dir: &Path) -> Result<Vec<Preset>> {
    let mut presets: BTreeMap<String, Preset> = BTreeMap::new();
    for (name, text) in BUILT_IN {
        presets.insert(
            name.to_string(),
            Preset::parse(name, text, Source::BuiltIn)?,
        );
    }
    let dir = config_dir.join("presets");
    // A preset decides where tokens go: only from directories no one else can write.
    crate::store::private_files::check_dir(config_dir)?;
    crate::store::private_files::check_dir(&dir)?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(presets.into_values().collect());
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        crate::model::profile::validate_name(name, "preset")?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let preset = Preset::parse(name, &text, Source::File(path.clone()))?;
        presets.insert(name.to_string(), preset);
    }
    Ok(presets.into_values().collect())
}

/// The preset a profile was made from, as far as can be told: the one whose issuer or token
/// endpoint, filled with its variables' defaults, is the profile's. (Profiles do not record
/// their preset; a self-managed instance's profile therefore matches none.)
pub fn for_profile(config_dir: &Path, profile: &Profile) -> Result<Option<Preset>> {
    Ok(all(config_dir)?.into_iter().find(|preset| {
        let Ok(filled) = preset.fill(&BTreeMap::new()) else {
            return false;
        };
        match filled.endpoints {
            Endpoints::Issuer(issuer) => profile.issuer.as_deref() == Some(issuer.as_str()),
            Endpoints::Manual(m) => m.token == profile.token_endpoint,
        }
    }))
}

/// The user name git gets with a profile's token: its preset's, else `oauth2` (what GitLab
/// and most token-taking git servers accept).
pub fn git_username(config_dir: &Path, profile: &Profile) -> Result<String> {
    Ok(for_profile(config_dir, profile)?
        .and_then(|p| p.git)
        .and_then(|g| g.username)
        .unwrap_or_else(|| DEFAULT_GIT_USERNAME.to_string()))
}

pub const DEFAULT_GIT_USERNAME: &str = "oauth2";

pub fn find(config_dir: &Path, name: &str) -> Result<Preset> {
    let all = all(config_dir)?;
    let names: Vec<String> = all.iter().map(|p| p.name.clone()).collect();
    all.into_iter().find(|p| p.name == name).ok_or_else(|| {
        Error::InvalidInput(format!(
            "no preset `{name}`; the presets are {}",
            names.join(", ")
        ))
        .with_hint(Hint::ListPresets)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in(name: &str) -> Preset {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name).unwrap();
        Preset::parse(name, text, Source::BuiltIn).unwrap()
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn issuer(f: &Filled) -> &str {
        match &f.endpoints {
            Endpoints::Issuer(i) => i,
            Endpoints::Manual(_) => panic!("expected an issuer"),
        }
    }

    #[test]
    fn every_built_in_preset_parses_and_fills_with_defaults() {
        let all = all(Path::new("/nonexistent-latchkey-dir")).unwrap();
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["github", "gitlab", "google", "microsoft"]);
        for p in &all {
            assert!(!p.title.is_empty() && p.docs.is_some(), "{}", p.name);
            p.fill(&BTreeMap::new()).unwrap();
        }
    }

    #[test]
    fn github_is_plain_oauth_with_post_auth_and_device_flow() {
        let f = built_in("github").fill(&BTreeMap::new()).unwrap();
        let Endpoints::Manual(m) = &f.endpoints else {
            panic!("GitHub has no discovery")
        };
        assert_eq!(
            m.authorization.as_str(),
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(
            m.token.as_str(),
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(f.auth_method, Some(AuthMethod::Post));
        assert!(!f.scopes.iter().any(|s| s == "openid"));
        assert_eq!(f.client_secret, SecretNeed::Required);
        assert_eq!(
            f.extras.device_authorization_endpoint.unwrap().as_str(),
            "https://github.com/login/device/code"
        );
        assert_eq!(f.redirect, RedirectMode::Loopback);
    }

    #[test]
    fn google_asks_offline_access_its_own_way() {
        let f = built_in("google").fill(&BTreeMap::new()).unwrap();
        assert_eq!(issuer(&f), "https://accounts.google.com");
        assert!(!f.scopes.iter().any(|s| s == "offline_access"));
        assert!(f.scopes.iter().any(|s| s == "openid"));
        let p = &f.extras.extra_authorize_params;
        assert_eq!(p["access_type"], "offline");
        assert_eq!(p["prompt"], "consent");
        assert_eq!(f.client_secret, SecretNeed::Required);
    }

    #[test]
    fn microsoft_puts_the_tenant_in_the_issuer() {
        let p = built_in("microsoft");
        let f = p.fill(&BTreeMap::new()).unwrap();
        assert_eq!(issuer(&f), "https://login.microsoftonline.com/common/v2.0");
        assert!(f.scopes.iter().any(|s| s == "offline_access"));
        assert!(f.extras.extra_authorize_params.is_empty());
        let f = p
            .fill(&vars(&[("tenant", "contoso.onmicrosoft.com")]))
            .unwrap();
        assert_eq!(
            issuer(&f),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
        );
        assert!(p.fill(&vars(&[("tenant", "a/../b")])).is_err());
        let err = p.fill(&vars(&[("base_url", "https://x")])).unwrap_err();
        assert!(err.to_string().contains("--tenant"), "{err}");
    }

    #[test]
    fn gitlab_takes_a_base_url_for_self_managed_instances() {
        let p = built_in("gitlab");
        assert_eq!(
            issuer(&p.fill(&BTreeMap::new()).unwrap()),
            "https://gitlab.com"
        );
        let f = p
            .fill(&vars(&[("base_url", "https://gitlab.example.com/")]))
            .unwrap();
        assert_eq!(issuer(&f), "https://gitlab.example.com");
        assert!(
            p.fill(&vars(&[("base_url", "http://gitlab.example.com")]))
                .is_err()
        );
    }

    #[test]
    fn git_defaults_are_data_and_follow_the_profile() {
        assert_eq!(
            built_in("github").git.unwrap().username.as_deref(),
            Some("x-access-token")
        );
        assert_eq!(
            built_in("gitlab").git.unwrap().username.as_deref(),
            Some("oauth2")
        );
        let none = Path::new("/nonexistent-latchkey-dir");
        let github = Profile {
            authorization_endpoint: "https://github.com/login/oauth/authorize".parse().unwrap(),
            token_endpoint: "https://github.com/login/oauth/access_token"
                .parse()
                .unwrap(),
            ..Profile::for_tests("work-gh")
        };
        assert_eq!(git_username(none, &github).unwrap(), "x-access-token");
        let gitlab = Profile {
            issuer: Some("https://gitlab.com".into()),
            ..Profile::for_tests("gl")
        };
        let preset = for_profile(none, &gitlab).unwrap().unwrap();
        assert_eq!(preset.name, "gitlab");
        assert_eq!(preset.git_url().as_deref(), Some("https://gitlab.com"));
        let other = Profile {
            issuer: Some("https://gitlab.example.com".into()),
            ..Profile::for_tests("self-managed")
        };
        assert!(for_profile(none, &other).unwrap().is_none());
        assert_eq!(git_username(none, &other).unwrap(), DEFAULT_GIT_USERNAME);
    }

    #[test]
    fn user_presets_are_read_from_the_config_dir_and_checked() {
        let dir = std::env::temp_dir().join(format!("latchkey-presets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("presets")).unwrap();
        std::fs::write(
            dir.join("presets/acme.toml"),
            "title = \"Acme\"\nissuer = \"https://{org}.acme.example\"\nscopes = [\"openid\"]\n[variables.org]\nhelp = \"your org\"\n[extra_token_params]\naudience = \"https://api.acme.example\"\n",
        )
        .unwrap();
        let acme = find(&dir, "acme").unwrap();
        assert!(matches!(acme.source, Source::File(_)));
        let err = acme.fill(&BTreeMap::new()).unwrap_err().to_string();
        // A user preset's variable has no flag of its own.
        assert!(
            err.contains("needs --preset-var org=VALUE (your org)"),
            "{err}"
        );
        let f = acme.fill(&vars(&[("org", "widgets")])).unwrap();
        assert_eq!(issuer(&f), "https://widgets.acme.example");
        assert_eq!(
            f.extras.extra_token_params["audience"],
            "https://api.acme.example"
        );
        std::fs::write(
            dir.join("presets/bad.toml"),
            "title = \"Bad\"\nissuer = \"https://x\"\n[extra_authorize_params]\nstate = \"fixed\"\n",
        )
        .unwrap();
        assert!(all(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
