//! The server's log: one line per request on stderr (method, path, status, milliseconds),
//! and one per problem. Never a cookie, a session id, a query string or a form value.

use std::fmt::Arguments;
use std::io::Write;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Writes one line to stderr; a stderr that cannot be written is no reason to fail a request.
pub fn line(args: Arguments<'_>) {
    let _unwritable = writeln!(std::io::stderr().lock(), "{args}");
}

/// The access log: the path only (no query string), the status and the time taken.
pub async fn access(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    line(format_args!(
        "{method} {} {} {}ms",
        settings::quoted(&path).trim_matches('`'),
        response.status().as_u16(),
        started.elapsed().as_millis()
    ));
    response
}
