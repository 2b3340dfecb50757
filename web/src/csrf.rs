//! CSRF protection of every form: a synchronizer token kept in the session and sent in a
//! hidden field, checked on every POST (login included), on top of tower-http's check of the
//! `Origin` and `Sec-Fetch-Site` headers. The token changes with the session id at login.

use axum::Form;
use axum::extract::{FromRequest, Request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::error::WebError;
use crate::session::Session;

/// Where the session keeps the token.
pub const SESSION_KEY: &str = "_csrf";

/// The form field that carries it.
pub const FIELD: &str = "csrf_token";

/// The session's token, made now if it has none.
pub async fn token(session: &Session) -> Result<String, WebError> {
    if let Some(Value::String(token)) = session.get(SESSION_KEY).await? {
        return Ok(token);
    }
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    session
        .insert(SESSION_KEY, Value::String(token.clone()))
        .await?;
    Ok(token)
}

/// A form whose CSRF token matched the session's: `T` are its other fields.
#[derive(Debug)]
pub struct CheckedForm<T>(pub T);

#[derive(serde::Deserialize)]
struct WithToken<T> {
    csrf_token: Option<String>,
    #[serde(flatten)]
    fields: T,
}

impl<S, T> FromRequest<S> for CheckedForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = request
            .extensions()
            .get::<Session>()
            .cloned()
            .ok_or(WebError::Internal("the session layer is not installed"))?;
        let Form(form) = Form::<WithToken<T>>::from_request(request, state)
            .await
            .map_err(|e| WebError::Rejected {
                status: e.status(),
                message: e.body_text(),
            })?;
        let expected = match session.get(SESSION_KEY).await? {
            Some(Value::String(token)) => token,
            _ => return Err(WebError::Csrf),
        };
        let given = form.csrf_token.unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(WebError::Csrf);
        }
        Ok(CheckedForm(form.fields))
    }
}
