//! Session ids and the keys stores file them under.
//!
//! The id is the cookie's secret; stores never see it. They key each record by the SHA-256 of
//! the id, so whoever can read Redis, the table or the directory cannot take over a session.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// Random bytes in an id: 256 bits, as Flask-Session 0.6+ (`secrets.token_urlsafe(32)`).
const ID_BYTES: usize = 32;

/// Characters of an id: base64url of its 32 bytes without padding.
pub const ID_CHARS: usize = 43;

/// A session id: the value of the session cookie. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh id from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; ID_BYTES];
        // The OS generator does not fail on supported platforms; if it ever does there is no
        // safe fallback for a session secret, so stop rather than hand out a weak id.
        #[allow(
            clippy::expect_used,
            reason = "no safe session id without the OS CSPRNG"
        )]
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator failed");
        SessionId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The id in `text`, when it has exactly the shape of one; anything else (a forged or
    /// truncated cookie) is `None` and never reaches a store.
    pub fn parse(text: &str) -> Option<Self> {
        let shaped = text.len() == ID_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| SessionId(text.to_owned()))
    }

    /// The id itself, for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key its record is stored under.
    pub fn key(&self) -> StoreKey {
        StoreKey::of(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(***)")
    }
}

/// What a store files a record under: SHA-256 of the session id, 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey(String);

impl StoreKey {
    /// The key of the session whose id is `id`.
    pub fn of(id: &str) -> Self {
        let digest = Sha256::digest(id.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        }
        StoreKey(hex)
    }

    /// A key an operator typed (as `cli sessions list` printed it).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| StoreKey(text.to_ascii_lowercase()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_256_random_bits_and_keys_reveal_nothing_of_them() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), ID_CHARS);
        assert_eq!(SessionId::parse(a.expose()), Some(a.clone()));
        let key = a.key();
        assert_eq!(key.as_str().len(), 64);
        assert!(!key.as_str().contains(a.expose()));
        assert_eq!(format!("{a:?}"), "SessionId(***)");
    }

    #[test]
    fn malformed_ids_and_keys_are_refused() {
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}!", "a".repeat(42)),
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
        assert!(StoreKey::parse(&"g".repeat(64)).is_none());
        assert_eq!(
            StoreKey::parse(&"AB".repeat(32)).unwrap().as_str(),
            "ab".repeat(32)
        );
    }
}
