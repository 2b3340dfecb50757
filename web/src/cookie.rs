//! The session cookie: the session id signed with HMAC-SHA256 under `secret_key`, so a cookie
//! the server did not issue (forged, tampered, or a raw id guessed from elsewhere) is no
//! cookie at all.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use sessions::SessionId;
use settings::SameSite;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What the MAC covers besides the id, so a MAC made for anything else never fits a cookie.
const CONTEXT: &[u8] = b"students session cookie v1\0";

/// The key that signs session cookies.
#[derive(Clone)]
pub struct CookieKey(Vec<u8>);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(***)")
    }
}

impl CookieKey {
    /// A key from `secret_key` (HMAC takes a key of any length).
    pub fn new(secret: &[u8]) -> Self {
        CookieKey(secret.to_vec())
    }

    /// A random key for this run only: cookies stop working when the server restarts.
    pub fn random() -> Self {
        let mut bytes = vec![0u8; 64];
        #[allow(
            clippy::expect_used,
            reason = "no safe signing key without the OS CSPRNG"
        )]
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator failed");
        CookieKey(bytes)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of every length; `new_from_slice` cannot fail for it.
        #[allow(clippy::expect_used, reason = "HMAC takes keys of any length")]
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(CONTEXT);
        mac
    }

    /// The cookie value for `id`: `<id>.<signature>`.
    pub fn sign(&self, id: &SessionId) -> String {
        let mut mac = self.mac();
        mac.update(id.expose().as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{}.{tag}", id.expose())
    }

    /// The id in a cookie value, if this key signed it (compared in constant time).
    pub fn verify(&self, value: &str) -> Option<SessionId> {
        let (id, tag) = value.split_once('.')?;
        let id = SessionId::parse(id)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.mac();
        mac.update(id.expose().as_bytes());
        mac.verify_slice(&tag).ok().map(|()| id)
    }
}

/// Every value of the cookie `name` in the request's `Cookie` headers.
pub fn values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"'))
        })
}

/// How the session cookie is sent.
#[derive(Debug, Clone)]
pub struct CookieRules {
    /// Its name.
    pub name: String,
    /// Whether it is sent only over HTTPS.
    pub secure: bool,
    /// Its `SameSite`.
    pub same_site: SameSite,
}

impl CookieRules {
    /// `Set-Cookie` for `value`, kept by the browser for `max_age` seconds.
    pub fn set(&self, value: &str, max_age: u64) -> String {
        format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={}{}",
            self.name,
            self.same_site.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn remove(&self) -> String {
        format!(
            "{}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite={}{}",
            self.name,
            self.same_site.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cookies_this_key_signed_verify() {
        let key = CookieKey::new(b"super secret key");
        let id = SessionId::generate();
        let value = key.sign(&id);
        assert_eq!(key.verify(&value), Some(id.clone()));
        assert_eq!(CookieKey::new(b"another key").verify(&value), None);
        assert_eq!(key.verify(id.expose()), None, "an unsigned raw id");
        let mut tampered = value.clone();
        tampered.replace_range(0..1, if value.starts_with('A') { "B" } else { "A" });
        assert_eq!(key.verify(&tampered), None);
        assert_eq!(key.verify("garbage.garbage"), None);
    }
}
