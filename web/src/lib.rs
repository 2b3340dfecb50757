//! The original Flask app, served by `cli serve`: its session and student routes on axum 0.8,
//! with the sessions of the `sessions` crate, the original Jinja templates, and nothing that
//! makes the original unsafe (state changes only by POST with CSRF tokens, a new session id at
//! login, signed `HttpOnly` cookies, escaped output, bounded bodies, strict headers).
//!
//! [`router`] builds the app for tests; [`run`] serves it until the shutdown future resolves,
//! then lets requests in flight finish within a grace period.

mod cookie;
mod csrf;
mod error;
mod log;
mod routes;
mod session;
mod templates;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use settings::{Profile, Settings};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use cookie::{CookieKey, CookieRules};
pub use error::WebError;
pub use routes::AppState;
pub use session::SessionLayer;
pub use templates::Templates;

/// The largest request body accepted (a form or a JSON student): 16 KiB.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The secret the example settings file ships with, refused under `product`.
pub const EXAMPLE_SECRET: &str = "super secret key";

/// The shortest secret key accepted under `product`, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// What `cli serve` asks for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (loopback unless told).
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// A directory of the user's own Jinja templates, like Flask's templates folder.
    pub templates: Option<PathBuf>,
    /// How long requests in flight may take to finish after a shutdown signal.
    pub grace: Duration,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The settings forbid starting (e.g. no real secret key under `product`).
    #[error("{0}")]
    Refused(String),
    /// The student database cannot be used.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// The session store cannot be used.
    #[error(transparent)]
    Sessions(#[from] sessions::Error),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// The operating system's reason.
        reason: String,
    },
}

impl ServeError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ServeError::Refused(_) => 2,
            ServeError::Service(e) => e.exit_code(),
            ServeError::Sessions(e) => e.exit_code(),
            ServeError::Listen { .. } => 1,
        }
    }
}

/// The key that signs cookies: `secret_key`, which under `product` must be set, at least 32
/// bytes and not the example file's; elsewhere a missing key becomes a random one for this run.
pub fn cookie_key(settings: &Settings) -> Result<CookieKey, ServeError> {
    let key = settings.cookie.secret_key.as_ref();
    if settings.profile.value.is_production() {
        let reason = match key {
            None => Some("no `secret_key` (or `secret_key_env`) is set".to_owned()),
            Some(k) if k.value.expose() == EXAMPLE_SECRET => Some(format!(
                "`secret_key` ({}) is the example file's value",
                k.source
            )),
            Some(k) if k.value.expose().len() < MIN_SECRET_BYTES => Some(format!(
                "`secret_key` ({}) is {} bytes; at least {MIN_SECRET_BYTES} are needed",
                k.source,
                k.value.expose().len()
            )),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            return Err(ServeError::Refused(format!(
                "refusing to serve under the `{}` profile: {reason}; set a random one, e.g. `openssl rand -base64 48`",
                Profile::Product
            )));
        }
    }
    Ok(match key {
        Some(k) => CookieKey::new(k.value.expose().as_bytes()),
        None => {
            log::line(format_args!(
                "no secret_key is set: cookies are signed with a random key and sessions end when the server stops"
            ));
            CookieKey::random()
        }
    })
}

/// The app: every route, the session layer and the protections around them.
pub fn router(state: AppState, sessions: Arc<SessionLayer>) -> Router {
    use routes::*;
    let csrf_rejected = |_| {
        (
            StatusCode::FORBIDDEN,
            "cross-site request refused: this form must be submitted from this site's pages",
        )
            .into_response()
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/writesession/", get(write_session))
        .route("/login/", get(login))
        .route("/loginsuccess/", post(login_success).get(use_the_form))
        .route("/welcome/", get(welcome))
        .route("/logout/", post(logout).get(use_the_form))
        .route("/createmodel/", post(create_model).get(use_the_form))
        .route("/add_student/", post(add_student).get(use_the_form))
        .route("/add_students/", post(add_students).get(use_the_form))
        .route("/drop_table/", post(drop_table).get(use_the_form))
        .route("/get_all_student/", get(all_students))
        .route("/api/students", get(api_list).post(api_add))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            sessions,
            session::layer,
        ))
        .layer(CsrfLayer::new().with_rejection_response(csrf_rejected));
    protect(app)
}

/// The layers around every route: the body limit, the security headers, a panic turned into
/// a logged 500, and the access log.
fn protect(app: Router) -> Router {
    let csp = HeaderValue::from_static(
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    app.layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // Inside the header layers, so a panic's 500 carries them too.
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                log::line(format_args!("a request handler panicked; answered 500"));
                (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
            },
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(axum::middleware::from_fn(log::access))
}

/// Serves the app on `options`' address until `shutdown` resolves, then gives requests in
/// flight `options.grace` to finish.
pub async fn run(
    settings: &Settings,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let key = cookie_key(settings)?;
    let templates = match &options.templates {
        Some(dir) => Templates::from_dir(dir).map_err(ServeError::Refused)?,
        None => Templates::embedded(),
    };
    let connect = service::ConnectSettings::from_settings(settings, service::Access::Create);
    let db = match service::connect(&connect).await {
        Ok(db) => db,
        // Down now: start anyway and let the pool connect when it comes back.
        Err(
            e @ (service::Error::Unreachable { .. }
            | service::Error::ConnectionLost(_)
            | service::Error::NotPrimary(_)),
        ) => {
            log::line(format_args!(
                "{e}; serving anyway, student pages answer 503 until it is back"
            ));
            service::connect_lazy(&connect)?
        }
        Err(e) => return Err(e.into()),
    };
    let (sessions, down) = sessions::open_in_background(settings, Some(&db)).await?;
    if let Some(e) = down {
        // Down now: serve anyway; pages that need a session answer 503 until it is back.
        log::line(format_args!(
            "{e}; serving anyway, session pages answer 503 until it is back"
        ));
    }
    let layer = Arc::new(SessionLayer {
        sessions: sessions.clone(),
        key,
        cookie: CookieRules {
            name: settings.cookie.name.value.clone(),
            secure: settings.cookie.secure.value,
            same_site: settings.cookie.same_site.value,
        },
    });
    let state = AppState {
        db: db.clone(),
        templates: Arc::new(templates),
        profile: settings.profile.value,
        sessions: sessions.clone(),
    };
    let addr = format!("{}:{}", options.host, options.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| ServeError::Listen {
            addr: addr.clone(),
            reason: e.to_string(),
        })?;
    let local: SocketAddr = listener.local_addr().map_err(|e| ServeError::Listen {
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    log::line(format_args!(
        "serving on http://{local}/ (profile {}, database {}, sessions {})",
        settings.profile.value,
        settings.database.url.value,
        sessions.store().name()
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut stopped_rx = stopped.clone();
    // TCP_NODELAY: a streamed page goes out in several writes, and with Nagle's algorithm the
    // last one waited for the client's delayed ACK (40 ms a page on Linux).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ignored = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router(state, layer))
        .with_graceful_shutdown(async move {
            let _ = stopped_rx.wait_for(|s| *s).await;
        })
        .into_future();
    let mut server = tokio::spawn(server);
    tokio::select! {
        result = &mut server => {
            return result
                .map_err(|e| ServeError::Refused(format!("the server stopped: {e}")))?
                .map_err(|e| ServeError::Listen { addr, reason: e.to_string() });
        }
        () = shutdown => {}
    }
    log::line(format_args!(
        "stopping: no new connections; requests in flight get {}s",
        options.grace.as_secs()
    ));
    let _ = stop.send(true);
    drop(stopped);
    match tokio::time::timeout(options.grace, &mut server).await {
        Ok(_) => log::line(format_args!("stopped")),
        Err(_) => {
            server.abort();
            log::line(format_args!(
                "stopped after the grace period; unfinished requests were cut off"
            ));
        }
    }
    let _closed = db.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Serves `app` on a loopback port and sends it one raw GET; the raw response.
    async fn fetch(app: Router, path: &str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).unwrap();
            out
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_handler_is_a_500_with_the_usual_headers_and_the_server_lives() {
        #[allow(clippy::panic, reason = "the panic under test")]
        async fn boom() -> &'static str {
            panic!("a bug in a handler, with internals: /etc/secret")
        }
        let app = protect(
            Router::new()
                .route("/boom", get(boom))
                .route("/ok", get(|| async { "fine" })),
        );
        let response = fetch(app.clone(), "/boom").await;
        assert!(response.starts_with("HTTP/1.1 500"), "{response}");
        assert!(
            response.ends_with("\r\n\r\ninternal server error"),
            "{response}"
        );
        assert!(!response.contains("/etc/secret"), "{response}");
        let lower = response.to_ascii_lowercase();
        assert!(
            lower.contains("x-content-type-options: nosniff"),
            "{response}"
        );
        assert!(
            lower.contains("content-security-policy: default-src 'none'"),
            "{response}"
        );
        let ok = fetch(app, "/ok").await;
        assert!(
            ok.starts_with("HTTP/1.1 200") && ok.ends_with("fine"),
            "{ok}"
        );
    }
}
