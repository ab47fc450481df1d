//! Profiles shared with a team as a file or a URL: export (the `profiles.toml` schema, no
//! secret, no account), and the import: reading, checking and renaming before the engine
//! stores anything, then what it did to each profile (for the CLI and the app alike). The
//! same strict reader as the user's own `profiles.toml` reads an import, so what one accepts
//! the other does.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use url::Url;

use crate::engine::{Latchkey, MAX_SHARED_FILE, SecretState, check_profile, without_credentials};
use crate::error::{Error, Result};
use crate::model::profile::{Profile, validate_name};
use crate::store::config;

const EXPORT_HEADER: &str = "\
# Latchkey profiles, shared: the `profiles.toml` schema, with no client secret and no account.
# Import with `latchkey profile import FILE` (or its URL). Proxy and CA file stay each user's own.
";

/// Where an import comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareSource {
    File(PathBuf),
    Stdin,
    Url(Url),
}

impl ShareSource {
    /// `-` is standard input, `SCHEME://…` a URL, anything else a file path.
    pub fn parse(arg: &str) -> Result<Self> {
        if arg == "-" {
            return Ok(ShareSource::Stdin);
        }
        if arg.contains("://") {
            return Url::parse(arg)
                .map(ShareSource::Url)
                .map_err(|e| Error::InvalidInput(format!("{arg:?} is not a URL: {e}")));
        }
        Ok(ShareSource::File(PathBuf::from(arg)))
    }

    /// The source as errors name it.
    pub fn origin(&self) -> String {
        match self {
            ShareSource::File(path) => path.display().to_string(),
            ShareSource::Stdin => "standard input".into(),
            ShareSource::Url(url) => without_credentials(url).to_string(),
        }
    }

    /// The bytes of the source, at most [`MAX_SHARED_FILE`].
    pub async fn read(&self, engine: &Latchkey) -> Result<Vec<u8>> {
        let origin = self.origin();
        let bytes = match self {
            ShareSource::Url(url) => return engine.fetch_shared(url).await,
            ShareSource::File(path) => std::fs::File::open(path)
                .and_then(read_capped)
                .map_err(|e| Error::io(format!("cannot read {origin}"), e))?,
            ShareSource::Stdin => read_capped(std::io::stdin().lock())
                .map_err(|e| Error::io("cannot read standard input", e))?,
        };
        if bytes.len() > MAX_SHARED_FILE {
            return Err(import_error(
                &origin,
                format!("larger than {MAX_SHARED_FILE} bytes; nothing was imported"),
            ));
        }
        Ok(bytes)
    }
}

/// At most one byte more than the cap, so that a larger input is told apart.
fn read_capped(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_SHARED_FILE as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn import_error(origin: &str, detail: String) -> Error {
    Error::ImportFile {
        origin: origin.to_string(),
        detail,
    }
}

/// The profiles of an import file, read strictly, each checked as the engine checks what it
/// stores and renamed by `renames` (OLD to NEW). Any problem is an error naming `origin`
/// (and the line); nothing is written here.
pub fn read_import(
    bytes: &[u8],
    origin: &str,
    renames: &[(String, String)],
) -> Result<Vec<Profile>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| import_error(origin, "not UTF-8 text; nothing was imported".into()))?;
    let mut profiles =
        config::parse_profiles(text).map_err(|detail| import_error(origin, detail))?;
    if profiles.is_empty() {
        return Err(import_error(
            origin,
            "holds no profiles (tables named [profiles.NAME]); nothing was imported".into(),
        ));
    }
    let lines = crate::store::toml_edits::entry_lines(text, "profiles");
    for (name, p) in &profiles {
        let at = lines
            .get(name)
            .map(|l| format!("line {l}: "))
            .unwrap_or_default();
        // A shared file must not choose where this user's requests go or whom they trust.
        if p.proxy.is_some() || p.ca_file.is_some() {
            return Err(import_error(
                origin,
                format!(
                    "{at}profile `{name}` sets `proxy` or `ca_file`: those are each user's own network settings, never taken from a shared file; remove them (set yours with the app or `profiles.toml` after importing); nothing was imported"
                ),
            ));
        }
        check_profile(p).map_err(|e| {
            import_error(
                origin,
                format!("{at}profile `{name}`: {e}; nothing was imported"),
            )
        })?;
    }
    rename(&mut profiles, origin, renames)?;
    Ok(profiles.into_values().collect())
}

/// Applies `renames`: each OLD must be in the file, each NEW a valid name no other profile
/// of the file takes.
fn rename(
    profiles: &mut BTreeMap<String, Profile>,
    origin: &str,
    renames: &[(String, String)],
) -> Result<()> {
    let mut taken: BTreeMap<String, Profile> = BTreeMap::new();
    for (old, new) in renames {
        validate_name(new, "profile")?;
        let mut p = profiles.remove(old).ok_or_else(|| {
            Error::InvalidInput(format!(
                "cannot rename `{old}`: {origin} has no profile of that name (it has {})",
                names_of(profiles.keys().chain(taken.keys()))
            ))
        })?;
        p.name = new.clone();
        if taken.insert(new.clone(), p).is_some() {
            return Err(Error::InvalidInput(format!(
                "two profiles would be named `{new}`; rename them apart"
            )));
        }
    }
    for (name, p) in taken {
        if profiles.contains_key(&name) {
            return Err(Error::InvalidInput(format!(
                "{origin} has a profile `{name}` already; rename it too, or choose another name"
            )));
        }
        profiles.insert(name, p);
    }
    Ok(())
}

fn names_of<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if all.is_empty() {
        "none left".into()
    } else {
        all.join(", ")
    }
}

/// `names` of `profiles` (all of them when none is named) as a shareable `profiles.toml`: the
/// same schema, no secret, no account; a comment above each profile that needs a client
/// secret says so (its `auth_method` is the marker the reader goes by).
pub fn export_profiles(profiles: &[Profile], names: &[String]) -> Result<String> {
    for name in names {
        if !profiles.iter().any(|p| &p.name == name) {
            return Err(Error::ProfileNotFound(name.clone()));
        }
    }
    // The proxy and CA file are this machine's network, not the provider's: a teammate's
    // differ (and a CA path is local), so they stay out of the shared file.
    let chosen: Vec<Profile> = profiles
        .iter()
        .filter(|p| names.is_empty() || names.contains(&p.name))
        .map(|p| Profile {
            proxy: None,
            ca_file: None,
            // A client Latchkey registered is this user's: its registration token stays here.
            registration: None,
            ..p.clone()
        })
        .collect();
    if chosen.is_empty() {
        return Err(Error::InvalidInput(
            "there are no profiles to export yet".into(),
        ));
    }
    config::render_profiles(EXPORT_HEADER, chosen.iter(), |p| {
        p.auth_method.needs_secret().then(|| {
            format!(
                "# Needs a client secret (auth_method = \"{}\"), which is not in this file: after importing, run `latchkey profile set-secret {}`.\n",
                p.auth_method.as_str(),
                p.name
            )
        })
    })
}

/// What an import did to one profile, for a front end to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ImportedDto"))]
pub struct Imported {
    pub name: String,
    /// It replaced a profile of the same name (whose accounts are kept).
    pub replaced: bool,
    /// It needs a client secret the keychain does not hold (a shared file never carries one).
    pub needs_secret: bool,
    /// What each legacy grant it allows risks (a shared file may turn one on).
    pub warnings: Vec<String>,
}

/// Imports the profiles of `bytes` (read from `origin`), all or nothing: renamed by `renames`
/// (OLD to NEW), replacing those of the same name when `replace`, else refusing any name that
/// exists (the engine's conflict error).
pub async fn import(
    engine: &Latchkey,
    bytes: &[u8],
    origin: &str,
    renames: &[(String, String)],
    replace: bool,
) -> Result<Vec<Imported>> {
    let profiles = read_import(bytes, origin, renames)?;
    let replaced = engine.import_profiles(profiles.clone(), replace).await?;
    let mut out = Vec::with_capacity(profiles.len());
    for p in profiles {
        // A keychain that cannot say is not an import failure: the front ends ask again.
        let missing = engine.client_secret_state(&p).await.ok() == Some(SecretState::Missing);
        out.push(Imported {
            replaced: replaced.contains(&p.name),
            needs_secret: missing,
            warnings: p
                .allowed_legacy_grants
                .iter()
                .map(|g| format!("allows a legacy grant: {}", g.warning()))
                .collect(),
            name: p.name,
        });
    }
    Ok(out)
}

/// Writes `names` of the engine's profiles (all when empty) as a shareable file at `path`.
pub fn export_to(engine: &Latchkey, names: &[String], path: &Path) -> Result<()> {
    let text = export_profiles(&engine.profiles()?, names)?;
    std::fs::write(path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::profile::AuthMethod;

    fn shared() -> Vec<Profile> {
        let mut confidential = Profile::for_tests("conf");
        confidential.auth_method = AuthMethod::Post;
        confidential
            .extra_token_params
            .insert("audience".into(), "https://api.example".into());
        confidential.scopes = vec!["read".into(), "write".into()];
        vec![confidential, Profile::for_tests("public")]
    }

    #[test]
    fn an_export_reads_back_as_the_same_profiles() {
        let profiles = shared();
        let text = export_profiles(&profiles, &[]).unwrap();
        assert!(
            text.contains("auth_method = \"post\"")
                && text.contains("latchkey profile set-secret conf"),
            "{text}"
        );
        assert_eq!(read_import(text.as_bytes(), "f", &[]).unwrap(), profiles);
        let one = export_profiles(&profiles, &["public".into()]).unwrap();
        assert!(!one.contains("[profiles.conf]"), "{one}");
        assert!(matches!(
            export_profiles(&profiles, &["nope".into()]),
            Err(Error::ProfileNotFound(_))
        ));
    }

    #[test]
    fn an_export_leaves_out_this_machines_proxy_and_ca_file() {
        let mut profiles = shared();
        profiles[0].proxy = Some(Url::parse("http://proxy.corp:3128").unwrap());
        profiles[0].ca_file = Some("/etc/ssl/corp-ca.pem".into());
        let text = export_profiles(&profiles, &[]).unwrap();
        assert!(
            !text.contains("proxy =") && !text.contains("corp-ca.pem"),
            "{text}"
        );
        assert_eq!(read_import(text.as_bytes(), "f", &[]).unwrap(), shared());
    }

    #[test]
    fn an_import_names_the_file_and_line_of_what_is_wrong() {
        let text = export_profiles(&shared(), &[]).unwrap();
        let typo = text.replace("scopes = [", "scope = [");
        let line = typo.lines().position(|l| l.starts_with("scope =")).unwrap() + 1;
        let err = read_import(typo.as_bytes(), "team.toml", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("team.toml: ")
                && err.contains(&format!("line {line}: unknown key `scope`")),
            "{err}"
        );
        // Parsed, but not a profile the engine would store.
        let bad = text.replace("https://as.example/token", "http://as.example/token");
        let err = read_import(bad.as_bytes(), "team.toml", &[])
            .unwrap_err()
            .to_string();
        let header = bad.lines().position(|l| l == "[profiles.conf]").unwrap() + 1;
        assert!(
            err.contains(&format!("team.toml: line {header}: profile `conf`"))
                && err.contains("https"),
            "{err}"
        );
        let empty = read_import(b"# nothing\n", "e.toml", &[]).unwrap_err();
        assert!(empty.to_string().contains("holds no profiles"), "{empty}");
    }

    #[test]
    fn renames_apply_before_anything_is_stored() {
        let text = export_profiles(&shared(), &[]).unwrap();
        let renamed =
            read_import(text.as_bytes(), "f", &[("conf".into(), "conf-team".into())]).unwrap();
        let names: Vec<&str> = renamed.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["conf-team", "public"]);
        for renames in [
            vec![("nope".to_string(), "x".to_string())],
            vec![("conf".into(), "public".into())],
            vec![("conf".into(), "a/b".into())],
            vec![("conf".into(), "x".into()), ("public".into(), "x".into())],
        ] {
            assert!(
                read_import(text.as_bytes(), "f", &renames).is_err(),
                "{renames:?}"
            );
        }
        // Swapping two names is fine.
        let swapped = read_import(
            text.as_bytes(),
            "f",
            &[
                ("conf".into(), "public".into()),
                ("public".into(), "conf".into()),
            ],
        )
        .unwrap();
        assert_eq!(swapped[0].auth_method, AuthMethod::None);
    }

    #[test]
    fn sources_are_told_apart() {
        assert_eq!(ShareSource::parse("-").unwrap(), ShareSource::Stdin);
        assert!(matches!(
            ShareSource::parse("https://x.example/p.toml").unwrap(),
            ShareSource::Url(_)
        ));
        assert_eq!(
            ShareSource::parse("team/profiles.toml").unwrap(),
            ShareSource::File("team/profiles.toml".into())
        );
        let url = ShareSource::parse("https://me:pw@x.example/p").unwrap();
        assert!(!url.origin().contains("pw"), "{}", url.origin());
    }
}
