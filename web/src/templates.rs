//! The original app's Jinja templates, rendered unchanged by minijinja (Jinja2-compatible,
//! autoescaping HTML). They are embedded in the binary; `serve --templates DIR` reads a user's
//! own instead (Flask's templates folder), falling back to the embedded ones for any missing.
//!
//! `url_for` and `csrf_token()` are there as in Flask. A page streamed from a query (the
//! student list) renders on a blocking thread into a bounded channel: the first bytes leave
//! before the query ends, and memory does not grow with the rows.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, State};
use tokio::sync::mpsc;

use crate::error::WebError;

/// Bytes sent per chunk of a streamed page.
const CHUNK: usize = 16 * 1024;

/// Flask's endpoint names for `url_for`, with their paths.
const ENDPOINTS: &[(&str, &str)] = &[
    ("index", "/"),
    ("session_blue.write_session", "/writesession/"),
    ("session_blue.login", "/login/"),
    ("session_blue.login_success", "/loginsuccess/"),
    ("session_blue.welcome", "/welcome/"),
    ("session_blue.logout", "/logout/"),
    ("model_blue.create_tale", "/createmodel/"),
    ("model_blue.add_student", "/add_student/"),
    ("model_blue.add_students", "/add_students/"),
    ("model_blue.drop_table", "/drop_table/"),
    ("model_blue.get_all_students", "/get_all_student/"),
];

/// The templates in force.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

fn embedded() -> Environment<'static> {
    let mut env = Environment::new();
    // The templates are compiled by the unit tests; an invalid one never ships.
    #[allow(clippy::expect_used, reason = "minijinja-embed's generated loader")]
    {
        minijinja_embed::load_templates!(&mut env);
    }
    env
}

/// Whether a template is escaped as HTML: Flask's rule (by extension, any letter case).
fn auto_escape(name: &str) -> AutoEscape {
    let lower = name.to_ascii_lowercase();
    if [".html", ".htm", ".xml", ".xhtml", ".svg"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        AutoEscape::Html
    } else {
        AutoEscape::None
    }
}

/// Flask's `url_for(endpoint)`: the path of a route, by its blueprint endpoint name or by
/// the view name alone (`url_for('login')`). Marked safe, as the paths are ours: escaped, their
/// slashes would read `&#x2f;` in the page source.
fn url_for(endpoint: &str) -> Result<Value, minijinja::Error> {
    ENDPOINTS
        .iter()
        .find(|(name, _)| *name == endpoint || name.rsplit('.').next() == Some(endpoint))
        .map(|(_, path)| Value::from_safe_string((*path).to_owned()))
        .ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("url_for: no endpoint called {endpoint:?}"),
            )
        })
}

/// `csrf_token()`: the token of the page being rendered.
fn csrf_token(state: &State<'_, '_>) -> Value {
    state.lookup("csrf_token").unwrap_or_default()
}

impl Templates {
    /// The embedded templates.
    pub fn embedded() -> Self {
        Self::configure(embedded())
    }

    /// The templates in `dir`, each falling back to the embedded one of the same name.
    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err(format!(
                "the templates directory `{}` does not exist",
                dir.display()
            ));
        }
        let dir: PathBuf = dir.to_owned();
        let builtin = embedded();
        let mut env = Environment::new();
        env.set_loader(move |name| {
            // Names come from templates (`{% include %}`); never leave the directory.
            if name
                .split(['/', '\\'])
                .any(|part| part == ".." || part.is_empty())
            {
                return Ok(None);
            }
            match std::fs::read_to_string(dir.join(name)) {
                Ok(source) => Ok(Some(source)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(builtin
                    .get_template(name)
                    .ok()
                    .map(|t| t.source().to_owned())),
                Err(e) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("cannot read template {name:?}: {e}"),
                )),
            }
        });
        let templates = Self::configure(env);
        // Every page's template must compile now, not on its first request.
        for name in [
            "Login.html",
            "welcome.html",
            "student_list.html",
            "index.html",
        ] {
            templates
                .env
                .get_template(name)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        Ok(templates)
    }

    fn configure(mut env: Environment<'static>) -> Self {
        env.set_auto_escape_callback(auto_escape);
        env.add_function("url_for", |endpoint: String| url_for(&endpoint));
        env.add_function("csrf_token", csrf_token);
        Templates { env }
    }

    /// Renders `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, WebError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(|e| {
                crate::log::line(format_args!("template {name}: {e:#}"));
                WebError::Internal("a template failed to render")
            })
    }

    /// Renders `name` with `context` plus `rows_name` bound to the rows arriving on `rows`,
    /// as a streamed body. A failure after the first byte ends the stream with an error, so
    /// the client sees a truncated transfer rather than a page that looks complete.
    ///
    /// Rows arrive in batches; `to_value` makes each the template's value on the rendering
    /// thread.
    pub fn stream<T: Send + Sync + 'static>(
        self: Arc<Self>,
        name: &'static str,
        context: Value,
        rows_name: &'static str,
        rows: mpsc::Receiver<Result<Vec<T>, ()>>,
        to_value: fn(T) -> Value,
    ) -> Body {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        tokio::task::spawn_blocking(move || {
            let out = Arc::new(Mutex::new(Chunks {
                tx,
                buf: Vec::with_capacity(CHUNK),
            }));
            let mut rows = rows;
            let feeder = out.clone();
            let failed = Arc::new(AtomicBool::new(false));
            let saw_failure = failed.clone();
            let mut batch = Vec::new().into_iter();
            let iter = std::iter::from_fn(move || {
                loop {
                    if let Some(row) = batch.next() {
                        return Some(to_value(row));
                    }
                    let next = match rows.try_recv() {
                        Ok(next) => next,
                        Err(mpsc::error::TryRecvError::Disconnected) => return None,
                        Err(mpsc::error::TryRecvError::Empty) => {
                            // Send what is rendered so far before waiting for the database,
                            // but only then: a chunk per row made the page 5x slower.
                            let _gone = lock(&feeder).send();
                            rows.blocking_recv()?
                        }
                    };
                    match next {
                        Ok(rows) => batch = rows.into_iter(),
                        Err(()) => {
                            saw_failure.store(true, Ordering::Relaxed);
                            return None;
                        }
                    }
                }
            });
            let mut rows = std::collections::BTreeMap::new();
            rows.insert(rows_name.to_owned(), Value::make_one_shot_iterator(iter));
            let context = minijinja::context! { ..context, ..Value::from(rows) };
            let rendered = self.env.get_template(name).and_then(|t| {
                t.render_captured_to(context, Writer(out.clone()))
                    .map(|_| ())
            });
            let mut out = lock(&out);
            match rendered {
                // The rows stopped early: drop the rendered tail, end with an error.
                Ok(()) if failed.load(Ordering::Relaxed) => {
                    let _gone = out
                        .tx
                        .blocking_send(Err(io::Error::other("the query failed midway")));
                }
                Ok(()) => {
                    let _gone = out.send();
                }
                Err(e) => {
                    crate::log::line(format_args!("template {name}: {e:#}"));
                    let _gone = out
                        .tx
                        .blocking_send(Err(io::Error::other("the page could not be completed")));
                }
            }
        });
        Body::from_stream(tokio_stream(rx))
    }
}

/// A `Stream` over a receiver, without pulling in tokio-stream.
fn tokio_stream<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
        .boxed()
}

/// Rendered bytes, sent in chunks.
struct Chunks {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Chunks {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// The chunk buffer, shared by the template's writer and the row feeder on one thread; a
/// poisoned lock (a panic mid-render) still holds a usable buffer.
fn lock(chunks: &Mutex<Chunks>) -> MutexGuard<'_, Chunks> {
    chunks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Writer(Arc<Mutex<Chunks>>);

impl io::Write for Writer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut out = lock(&self.0);
        out.buf.extend_from_slice(data);
        if out.buf.len() >= CHUNK {
            out.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        lock(&self.0).send()
    }
}

/// Adds the hidden CSRF field to every POST form of a rendered page that does not have one,
/// so the original templates work unchanged.
pub fn with_csrf_fields(html: &str, token: &str) -> String {
    let name = crate::csrf::FIELD;
    let field = format!(r#"<input type="hidden" name="{name}" value="{token}">"#);
    let named = format!("name=\"{name}\"");
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len() + 128);
    let mut copied = 0;
    let mut search = 0;
    while let Some(start) = lower[search..].find("<form").map(|i| i + search) {
        let Some(end) = lower[start..].find('>').map(|i| i + start + 1) else {
            break;
        };
        let tag = &lower[start..end];
        let next_form = lower[end..].find("</form").map_or(lower.len(), |i| i + end);
        let has_field = lower[end..next_form].contains(&named);
        let post = tag.contains("method=\"post\"")
            || tag.contains("method='post'")
            || tag.contains("method=post");
        if post && !has_field {
            out.push_str(&html[copied..end]);
            out.push_str(&field);
            copied = end;
        }
        search = end;
    }
    out.push_str(&html[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_templates_render_unchanged_and_escape_html() {
        let t = Templates::embedded();
        let page = t
            .render(
                "welcome.html",
                minijinja::context! { username => "<script>alert(1)</script>" },
            )
            .unwrap();
        assert!(page.contains("好久不见欢迎回来&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"));
        let login = t.render("Login.html", minijinja::context! {}).unwrap();
        assert!(login.contains(r#"<form action="/loginsuccess/" method="post">"#));
        assert_eq!(
            url_for("session_blue.welcome").unwrap().as_str(),
            Some("/welcome/")
        );
        assert_eq!(url_for("login").unwrap().as_str(), Some("/login/"));
        let index = t.render("index.html", minijinja::context! {}).unwrap();
        assert!(index.contains(r#"<a href="/writesession/">"#), "{index}");
        assert!(url_for("nowhere").is_err());
    }

    #[test]
    fn csrf_fields_go_into_post_forms_only_once() {
        let html = r#"<form action="/a" method="post"><input></form><form method="get"></form><FORM METHOD="POST"><input type="hidden" name="csrf_token" value="x"></FORM>"#;
        let out = with_csrf_fields(html, "tok");
        assert_eq!(out.matches("name=\"csrf_token\"").count(), 2, "{out}");
        assert!(out.starts_with(
            r#"<form action="/a" method="post"><input type="hidden" name="csrf_token" value="tok">"#
        ));
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_streamed_page_renders_every_row() {
        let t = Arc::new(Templates::embedded());
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            // Two batches, the second arriving after the first is rendered.
            for batch in [0..2, 2..3] {
                let rows = batch
                    .map(|i| minijinja::context! { s_name => format!("n{i}"), s_age => i, s_score => 1.5 })
                    .collect::<Vec<_>>();
                tx.send(Ok(rows)).await.unwrap();
            }
        });
        let body = t.stream(
            "student_list.html",
            minijinja::context! {},
            "students",
            rx,
            |v: Value| v,
        );
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        for i in 0..3 {
            assert!(
                text.contains(&format!("姓名:n{i} 年纪:{i}成绩:1.5")),
                "{text}"
            );
        }
        assert!(
            text.ends_with("</html>\n") || text.ends_with("</html>"),
            "{text}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_query_failing_midway_ends_the_page_with_an_error() {
        let t = Arc::new(Templates::embedded());
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let rows = vec![minijinja::context! { s_name => "n0", s_age => 1, s_score => 1.5 }];
            tx.send(Ok(rows)).await.unwrap();
            tx.send(Err(())).await.unwrap();
        });
        let body = t.stream(
            "student_list.html",
            minijinja::context! {},
            "students",
            rx,
            |v: Value| v,
        );
        assert!(axum::body::to_bytes(body, usize::MAX).await.is_err());
    }
}
