//! Edits of a profile's settings that are not a provider change (scopes, proxy, CA file, DPoP,
//! PAR, resource indicators): made in place in profiles.toml, keeping the rest of the file as
//! the user wrote it, and allowed while the profile has accounts (their tokens stay with the
//! same provider).

use std::path::PathBuf;

use url::Url;

use super::{Latchkey, require_keys_for_openid};
use crate::error::{Error, Result};
use crate::model::profile::Profile;
use crate::model::profile::validate_resource;
use crate::protocol::network;

/// What to change; `None` leaves a setting as it is. `Some(None)` removes a proxy or CA file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSettings {
    pub scopes: Option<Vec<String>>,
    pub proxy: Option<Option<Url>>,
    pub ca_file: Option<Option<PathBuf>>,
    /// DPoP for the next sign-ins (accounts signed in keep their keys).
    pub dpop: Option<bool>,
    /// Pushed authorization requests.
    pub par: Option<bool>,
    /// RFC 8707 resource indicators sent on every request (they apply from the next token).
    pub resources: Option<Vec<String>>,
}

impl ProfileSettings {
    pub fn is_empty(&self) -> bool {
        *self == ProfileSettings::default()
    }
}

impl Latchkey {
    /// Changes the settings of profile `name`; the profile as stored now. Checked (proxy URL,
    /// CA file readable, keys for `openid`) before anything is written.
    pub fn set_profile(&self, name: &str, settings: ProfileSettings) -> Result<Profile> {
        if let Some(Some(proxy)) = &settings.proxy {
            network::check_proxy(proxy)?;
        }
        if let Some(Some(path)) = &settings.ca_file {
            network::load_ca_file(path)?;
        }
        for resource in settings.resources.iter().flatten() {
            validate_resource(resource)?;
        }
        self.config.update_profiles(|all| {
            let profile = all
                .get_mut(name)
                .ok_or_else(|| Error::ProfileNotFound(name.to_string()))?;
            // The resource a profile was discovered from is what its provider is for.
            if settings.resources.is_some() && profile.resource_metadata.is_some() {
                return Err(Error::InvalidInput(format!(
                    "profile `{name}` was discovered from its resource: its resources are its provider's; add the profile again"
                )));
            }
            let mut changed = profile.clone();
            apply(&mut changed, settings);
            if changed.par && changed.pushed_authorization_request_endpoint.is_none() {
                return Err(Error::InvalidInput(format!(
                    "profile `{name}`: its provider named no pushed_authorization_request_endpoint when the profile was added; add the profile again to discover it"
                )));
            }
            changed.validate()?;
            require_keys_for_openid(&changed)?;
            if !profile.provider_changes(&changed).is_empty() {
                return Err(Error::InvalidInput(format!(
                    "profile `{name}`: that change is one of its provider; add the profile again"
                )));
            }
            *profile = changed.clone();
            Ok(changed)
        })
    }
}

fn apply(profile: &mut Profile, settings: ProfileSettings) {
    // Taken apart whole: a setting added to the struct and not applied here does not compile.
    let ProfileSettings {
        scopes,
        proxy,
        ca_file,
        dpop,
        par,
        resources,
    } = settings;
    set(&mut profile.scopes, scopes);
    set(&mut profile.proxy, proxy);
    set(&mut profile.ca_file, ca_file);
    set(&mut profile.dpop, dpop);
    set(&mut profile.par, par);
    set(&mut profile.resources, resources);
}

/// `field` becomes `value` when there is one.
fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::config::Config;
    use crate::store::keychain::Keychain;

    #[test]
    fn settings_change_in_place_and_keep_the_rest_of_the_file() {
        let config = Config::temp();
        config
            .update_profiles(|all| {
                all.insert("p".into(), Profile::for_tests("p"));
                Ok(())
            })
            .unwrap();
        let path = config.profiles_path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("# mine, keep me\n{text}")).unwrap();
        let engine = Latchkey::new(config, Keychain::default());
        let proxy = Url::parse("http://proxy.example:3128").unwrap();
        let changed = engine
            .set_profile(
                "p",
                ProfileSettings {
                    scopes: Some(vec!["read".into(), "write".into()]),
                    proxy: Some(Some(proxy.clone())),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(changed.scopes, ["read", "write"]);
        assert_eq!(engine.profile("p").unwrap().proxy, Some(proxy));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# mine, keep me\n"), "{text}");
        // `openid` without an issuer's keys is refused, and nothing changes.
        let err = engine
            .set_profile(
                "p",
                ProfileSettings {
                    scopes: Some(vec!["openid".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage, "{err}");
        assert_eq!(engine.profile("p").unwrap().scopes, ["read", "write"]);
        let missing = engine.set_profile("nope", ProfileSettings::default());
        assert!(matches!(missing, Err(Error::ProfileNotFound(_))));
    }

    #[test]
    fn resource_indicators_are_set_checked_and_kept_for_a_profile_discovered_from_one() {
        let config = Config::temp();
        let mut discovered = Profile::for_tests("mcp");
        discovered.resources = vec!["https://mcp.example/mcp".into()];
        discovered.resource_metadata =
            Some(Url::parse("https://mcp.example/.well-known/oauth-protected-resource").unwrap());
        config
            .update_profiles(|all| {
                all.insert("p".into(), Profile::for_tests("p"));
                all.insert("mcp".into(), discovered);
                Ok(())
            })
            .unwrap();
        let engine = Latchkey::new(config, Keychain::default());
        let set = |name: &str, resources: Vec<&str>| {
            engine.set_profile(
                name,
                ProfileSettings {
                    resources: Some(resources.into_iter().map(String::from).collect()),
                    ..Default::default()
                },
            )
        };
        let changed = set("p", vec!["https://api.example/v1"]).unwrap();
        assert_eq!(changed.resources, ["https://api.example/v1"]);
        let err = set("p", vec!["https://api.example/#frag"]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage, "{err}");
        assert!(set("p", vec![]).unwrap().resources.is_empty());
        let err = set("mcp", vec!["https://elsewhere.example/"]).unwrap_err();
        assert!(
            err.to_string().contains("discovered from its resource"),
            "{err}"
        );
        assert_eq!(
            engine.profile("mcp").unwrap().resources,
            ["https://mcp.example/mcp"]
        );
    }
}
