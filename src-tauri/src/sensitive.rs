//! IPC inputs that carry a secret (a client secret, a password).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret the window sends once. `Debug` prints `<redacted>` and serialising it fails, so
/// that no log line, panic or response can carry it back (as GitButler's `Sensitive<T>`).
#[derive(Clone, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// The secret itself, for the engine's own secret types. Do not log it.
    pub fn expose(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Sensitive)
    }
}

impl<T> Serialize for Sensitive<T> {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "a secret sent by the window is never serialised back",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_its_value_but_never_shows_or_writes_it() {
        let s: Sensitive<String> = serde_json::from_str(r#""hunter2""#).unwrap();
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert!(serde_json::to_string(&s).is_err());
        assert_eq!(s.expose(), "hunter2");
    }
}
