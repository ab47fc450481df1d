//! The issuer's signing keys (JWKS, RFC 7517), for id_token signatures. Fetched through the one
//! HTTP client (no redirects, capped body, timeouts) and cached in the config directory: the
//! keys are public, and a refresh should not cost an extra request. The cache lives as long as
//! the server's `Cache-Control: max-age` says, kept between 5 minutes and 24 hours.

use std::fs;
use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyOperations, PublicKeyUse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Error, Result};
use crate::protocol::http::Http;

pub const MIN_CACHE_SECONDS: u64 = 5 * 60;
pub const MAX_CACHE_SECONDS: u64 = 24 * 60 * 60;
/// When the server says nothing about caching.
pub const DEFAULT_CACHE_SECONDS: u64 = 60 * 60;
/// More keys than any provider publishes; a bound on the work one document can cause.
pub const MAX_KEYS: usize = 100;

/// The usable signature keys of one JWKS document.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }
}

/// Reads a JWKS document. Keys that do not parse, are symmetric (`oct`), or are marked for
/// something other than signatures are skipped, so one odd entry does not break the set.
pub fn parse(doc: &Value) -> std::result::Result<KeySet, String> {
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return Err("the key set is not a JSON object with a `keys` array".into());
    };
    let keys: Vec<Jwk> = entries
        .iter()
        .take(MAX_KEYS)
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
        .filter(|jwk| {
            let asymmetric = matches!(
                jwk.algorithm,
                AlgorithmParameters::RSA(_)
                    | AlgorithmParameters::EllipticCurve(_)
                    | AlgorithmParameters::OctetKeyPair(_)
            );
            let for_signatures = match &jwk.common.public_key_use {
                None | Some(PublicKeyUse::Signature) => true,
                Some(_) => false,
            };
            let verifies = jwk
                .common
                .key_operations
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|o| matches!(o, KeyOperations::Verify)));
            asymmetric && for_signatures && verifies
        })
        .collect();
    if keys.is_empty() {
        return Err(format!(
            "the key set has no usable signature key ({} entries)",
            entries.len()
        ));
    }
    Ok(KeySet { keys })
}

/// [`parse`] from raw bytes (for the fuzzer and for the cache file).
pub fn parse_bytes(bytes: &[u8]) -> std::result::Result<KeySet, String> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|_| "the key set is not JSON".to_string())?;
    parse(&doc)
}

/// Whether a key set came from the cache or was just fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Fetched,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    jwks_uri: String,
    fetched_at: i64,
    max_age: u64,
    jwks: Value,
}

/// The on-disk JWKS cache: one file per `jwks_uri` under `<config>/jwks/`.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(config_dir: &Path) -> Self {
        Cache {
            dir: config_dir.join("jwks"),
        }
    }

    fn path(&self, uri: &Url) -> PathBuf {
        let digest = Sha256::digest(uri.as_str().as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    /// The cached key set, while it is fresh. A missing, stale or unreadable file is a miss.
    pub fn get(&self, uri: &Url, now: i64) -> Option<KeySet> {
        // Keys from a directory others could write are not trusted.
        crate::store::private_files::check_dir(&self.dir).ok()?;
        let bytes = fs::read(self.path(uri)).ok()?;
        let file: CacheFile = serde_json::from_slice(&bytes).ok()?;
        let age = now.checked_sub(file.fetched_at)?;
        // A clock set back makes the age negative: refetch rather than trust it.
        let fresh = file.jwks_uri == uri.as_str() && age >= 0 && (age as u64) < file.max_age;
        if !fresh {
            return None;
        }
        parse(&file.jwks).ok()
    }

    /// Stores a fetched document. Failures are ignored: the cache only saves a request.
    pub fn put(&self, uri: &Url, doc: &Value, max_age: Option<u64>, now: i64) {
        let max_age = max_age
            .unwrap_or(DEFAULT_CACHE_SECONDS)
            .clamp(MIN_CACHE_SECONDS, MAX_CACHE_SECONDS);
        let file = CacheFile {
            jwks_uri: uri.to_string(),
            fetched_at: now,
            max_age,
            jwks: doc.clone(),
        };
        let Ok(body) = serde_json::to_vec_pretty(&file) else {
            return;
        };
        if crate::store::private_files::ensure_dir(&self.dir).is_ok() {
            let _ = crate::store::private_files::write_atomic(&self.path(uri), &body);
        }
    }
}

/// The key set for `uri`: from the cache while fresh unless `refetch`, else from the network
/// (and then cached).
pub async fn load(
    http: &Http,
    cache: &Cache,
    profile: &str,
    uri: &Url,
    refetch: bool,
    now: i64,
) -> Result<(KeySet, Origin)> {
    if !refetch && let Some(keys) = cache.get(uri, now) {
        return Ok((keys, Origin::Cache));
    }
    let context = format!("fetching the signing keys of profile `{profile}` from {uri}");
    let doc = http
        .get_document(uri)
        .await
        .map_err(|e| e.into_error(context.clone()))?
        .ok_or_else(|| Error::BadResponse {
            context: context.clone(),
            detail:
                "the jwks_uri answered 404; the provider's discovery document may be out of date"
                    .into(),
        })?;
    let keys = parse(&doc.value).map_err(|detail| Error::BadResponse {
        context: context.clone(),
        detail,
    })?;
    cache.put(uri, &doc.value, doc.max_age, now);
    Ok((keys, Origin::Fetched))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = r#"{"kty":"RSA","kid":"a","use":"sig","alg":"RS256","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;

    #[test]
    fn odd_entries_are_skipped_and_an_empty_set_is_an_error() {
        let doc: Value = serde_json::from_str(&format!(
            r#"{{"keys":[{RSA},{{"kty":"oct","k":"c2VjcmV0"}},{{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}},{{"kty":"weird"}},42]}}"#
        ))
        .unwrap();
        let set = parse(&doc).unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.keys()[0].common.key_id.as_deref(), Some("a"));
        assert!(parse(&serde_json::json!({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})).is_err());
        assert!(parse(&serde_json::json!([])).is_err());
        assert!(parse_bytes(b"{\"keys\":").is_err());
    }

    #[test]
    fn the_cache_keeps_within_bounds_and_per_uri() {
        let dir = tempfile::Builder::new()
            .prefix("latchkey-jwks-test-")
            .tempdir()
            .unwrap();
        let cache = Cache::new(dir.path());
        let uri: Url = "https://as.example/jwks".parse().unwrap();
        let other: Url = "https://as.example/other".parse().unwrap();
        let doc: Value = serde_json::from_str(&format!(r#"{{"keys":[{RSA}]}}"#)).unwrap();
        // max-age 10 s is raised to the 5-minute floor.
        cache.put(&uri, &doc, Some(10), 1000);
        assert!(cache.get(&uri, 1000 + 299).is_some());
        assert!(cache.get(&uri, 1000 + 300).is_none());
        assert!(cache.get(&uri, 999).is_none(), "clock set back");
        assert!(cache.get(&other, 1000).is_none());
        // A year is cut to a day.
        cache.put(&uri, &doc, Some(365 * 86400), 1000);
        assert!(cache.get(&uri, 1000 + 86399).is_some());
        assert!(cache.get(&uri, 1000 + 86400).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(cache.path(&uri)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let jwks = dir.path().join("jwks");
            fs::set_permissions(jwks, fs::Permissions::from_mode(0o777)).unwrap();
            assert!(
                cache.get(&uri, 1000).is_none(),
                "keys others could have written"
            );
        }
    }
}
