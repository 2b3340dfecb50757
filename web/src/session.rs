//! The session of a request, Flask-style (`session['username'] = …`), kept by the configured
//! store. Loaded lazily: a page that never looks at the session never reaches the store, so the
//! student pages keep working while the session store is down.
//!
//! After the handler: a changed session is saved (a new one created, with a fresh id in a new
//! cookie); an unchanged one is touched, which restarts its idle time without rewriting it; a
//! flushed one is deleted with its cookie. A store that cannot be reached makes the page a
//! 503, never a 500. Every response says `Vary: Cookie`, and one that read the session
//! `Cache-Control: no-store`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sessions::{Data, Record, SessionId, Sessions};
use tokio::sync::Mutex;

use crate::cookie::{CookieKey, CookieRules, values};
use crate::error::WebError;

/// Everything the session layer needs.
#[derive(Debug, Clone)]
pub struct SessionLayer {
    /// The store and its rules.
    pub sessions: Sessions,
    /// Signs and checks cookies.
    pub key: CookieKey,
    /// How the cookie is sent.
    pub cookie: CookieRules,
}

#[derive(Debug, Default)]
struct State_ {
    /// The id a validly signed cookie named, if any.
    cookie_id: Option<SessionId>,
    loaded: bool,
    /// The id of the stored record this request works on; `None` for a new session.
    id: Option<SessionId>,
    /// The stored record's header and data, when one was loaded.
    record: Option<Record>,
    data: Data,
    modified: bool,
    flushed: bool,
}

/// The request's session: an extractor for handlers.
#[derive(Debug, Clone)]
pub struct Session {
    state: Arc<Mutex<State_>>,
    layer: Arc<SessionLayer>,
}

impl Session {
    async fn loaded(&self) -> Result<tokio::sync::MutexGuard<'_, State_>, WebError> {
        let mut st = self.state.lock().await;
        if !st.loaded {
            if let Some(id) = st.cookie_id.clone()
                && let Some(record) = self.layer.sessions.load(&id).await?
            {
                st.data = record.data.clone();
                st.record = Some(record);
                st.id = Some(id);
            }
            st.loaded = true;
        }
        Ok(st)
    }

    /// The value under `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Value>, WebError> {
        Ok(self.loaded().await?.data.get(key).cloned())
    }

    /// Sets `key` to `value`.
    pub async fn insert(&self, key: &str, value: Value) -> Result<(), WebError> {
        let mut st = self.loaded().await?;
        if st.data.get(key) != Some(&value) {
            st.data.insert(key.to_owned(), value);
            st.modified = true;
        }
        Ok(())
    }

    /// Removes `key`.
    pub async fn remove(&self, key: &str) -> Result<(), WebError> {
        let mut st = self.loaded().await?;
        if st.data.remove(key).is_some() {
            st.modified = true;
        }
        Ok(())
    }

    /// Gives the session a new id (on login, against fixation): the old record is deleted
    /// now and the data moves to a record under the new id when the response is sent.
    pub async fn cycle_id(&self) -> Result<(), WebError> {
        let mut st = self.loaded().await?;
        if let Some(old) = st.id.take() {
            self.layer.sessions.delete(&old).await?;
        }
        st.record = None;
        st.modified = true;
        Ok(())
    }

    /// Ends the session: its record is deleted now and its cookie removed.
    pub async fn flush(&self) -> Result<(), WebError> {
        let mut st = self.loaded().await?;
        if let Some(id) = st.id.take() {
            self.layer.sessions.delete(&id).await?;
        }
        st.data.clear();
        st.record = None;
        st.flushed = true;
        Ok(())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(WebError::Internal("the session layer is not installed"))
    }
}

/// The middleware: reads the cookie, hands the handler a [`Session`], and keeps the store and
/// the cookie in step with what the handler did.
pub async fn layer(
    State(layer): State<Arc<SessionLayer>>,
    mut request: Request,
    next: Next,
) -> Response {
    let cookie_id = values(request.headers(), &layer.cookie.name).find_map(|v| layer.key.verify(v));
    let session = Session {
        state: Arc::new(Mutex::new(State_ {
            cookie_id,
            ..State_::default()
        })),
        layer: layer.clone(),
    };
    request.extensions_mut().insert(session.clone());
    let response = next.run(request).await;
    finish(&session, response).await
}

async fn finish(session: &Session, mut response: Response) -> Response {
    let layer = &session.layer;
    let st = session.state.lock().await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Cookie"));
    if st.loaded {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let had_cookie = st.cookie_id.is_some();
    let set_cookie = if st.flushed {
        had_cookie.then(|| layer.cookie.remove())
    } else if st.modified && response.status().as_u16() < 500 {
        match write(layer, &st).await {
            Ok(cookie) => cookie,
            Err(e) => return e.into_response(),
        }
    } else if let (Some(id), Some(record)) = (&st.id, &st.record) {
        // Read, not changed: restart the idle time without rewriting the record.
        match layer.sessions.touch(id, record).await {
            Ok(true) => Some(
                layer
                    .cookie
                    .set(&layer.key.sign(id), max_age(layer, record)),
            ),
            Ok(false) => Some(layer.cookie.remove()),
            Err(e) => {
                crate::log::line(format_args!("session touch failed: {e}"));
                None
            }
        }
    } else if st.loaded && had_cookie && st.id.is_none() {
        // The cookie named a session that is gone (expired, logged out, unknown).
        Some(layer.cookie.remove())
    } else {
        None
    };
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Seconds the browser keeps the cookie: the idle lifetime, cut short by the absolute one.
fn max_age(layer: &SessionLayer, record: &Record) -> u64 {
    layer
        .sessions
        .ttl(record)
        .unwrap_or_default()
        .as_secs()
        .max(1)
}

/// Stores a changed session; the `Set-Cookie` to send, if any.
async fn write(layer: &SessionLayer, st: &State_) -> Result<Option<String>, WebError> {
    match (&st.id, &st.record) {
        (Some(id), Some(_)) if st.data.is_empty() => {
            // Emptied: Flask deletes the session and its cookie.
            layer.sessions.delete(id).await?;
            Ok(Some(layer.cookie.remove()))
        }
        (Some(id), Some(record)) => {
            let updated = Record {
                data: st.data.clone(),
                ..record.clone()
            };
            if layer.sessions.save(id, &updated).await? {
                Ok(Some(
                    layer
                        .cookie
                        .set(&layer.key.sign(id), max_age(layer, &updated)),
                ))
            } else {
                // Deleted meanwhile (a logout elsewhere): it stays deleted.
                Ok(Some(layer.cookie.remove()))
            }
        }
        _ if st.data.is_empty() => Ok(None),
        _ => {
            let (id, record) = layer.sessions.create(st.data.clone()).await?;
            Ok(Some(
                layer
                    .cookie
                    .set(&layer.key.sign(&id), max_age(layer, &record)),
            ))
        }
    }
}
