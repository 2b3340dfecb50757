//! Every failure a page can meet, as one type with one status table. Pages show a one-line
//! message; nothing internal (driver messages, paths) reaches a response: those go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The student service refused or failed.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// The session store failed.
    #[error(transparent)]
    Session(#[from] sessions::Error),
    /// The request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// A request axum could not read (wrong content type, malformed body, too large).
    #[error("{message}")]
    Rejected {
        /// The status axum chose (400, 413, 415, 422).
        status: StatusCode,
        /// What was wrong, in axum's words.
        message: String,
    },
    /// A form without a valid CSRF token.
    #[error("the form's CSRF token is missing or wrong: reload the page and submit the form again")]
    Csrf,
    /// Not allowed here (e.g. dropping tables under the production profile).
    #[error("{0}")]
    Forbidden(String),
    /// A bug: logged, shown only as "internal server error".
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl WebError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        use service::Error as S;
        match self {
            WebError::Service(e) => match e {
                S::Invalid { .. } | S::InvalidUrl { .. } | S::UrlOption { .. } => {
                    StatusCode::BAD_REQUEST
                }
                S::DuplicateName(_)
                | S::TablesMissing
                | S::IdsExhausted(_)
                | S::ForeignTable { .. }
                | S::SchemaConflict(_)
                | S::UnknownMigration(_)
                | S::NeedsRepair(_) => StatusCode::CONFLICT,
                S::Unreachable { .. }
                | S::ConnectionLost(_)
                | S::NotPrimary(_)
                | S::NotSqlite(_)
                | S::Locked
                | S::LockTimeout { .. }
                | S::Interrupted
                | S::InterruptedUnchanged => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            WebError::Session(e) => match e {
                sessions::Error::Unavailable { .. } | sessions::Error::TableMissing { .. } => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                sessions::Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            // 422 (well-formed but the wrong shape) is a bad request to our clients.
            WebError::Rejected { status, .. } if *status == StatusCode::UNPROCESSABLE_ENTITY => {
                StatusCode::BAD_REQUEST
            }
            WebError::Rejected { status, .. } => *status,
            WebError::Csrf | WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The one line a client may see.
    pub fn public_message(&self) -> String {
        match (self, self.status()) {
            (WebError::Service(_), StatusCode::SERVICE_UNAVAILABLE) => {
                "the database is unavailable; try again shortly".to_owned()
            }
            // The `sql` store after `/drop_table/` (which drops it too): no form can fix that,
            // since every form needs a session for its CSRF token.
            (WebError::Session(sessions::Error::TableMissing { .. }), _) => {
                "the session store has no `sessions` table; run `cli create-tables`".to_owned()
            }
            (WebError::Session(_), StatusCode::SERVICE_UNAVAILABLE) => {
                "the session store is unavailable; try again shortly".to_owned()
            }
            (WebError::Service(e @ service::Error::TablesMissing), _) => {
                format!("{e}: create it first (POST /createmodel/)")
            }
            (_, StatusCode::INTERNAL_SERVER_ERROR) => "internal server error".to_owned(),
            (e, _) => e.to_string(),
        }
    }

    /// Logs what the client is not shown.
    fn log(&self) {
        let status = self.status();
        if status.is_server_error() {
            crate::log::line(format_args!("{} {}", status.as_u16(), self));
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), self.public_message()).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

/// The same failures for JSON clients: `{"error": "…"}` with the same status.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let body = serde_json::json!({ "error": self.0.public_message() });
        (self.0.status(), axum::Json(body)).into_response()
    }
}
