//! The original app's routes, where a user of the Flask app finds them, made safe: pages that
//! change data are POST forms with CSRF tokens, login issues a new session id, and there is a
//! logout. Handlers are thin calls into `service` and the session.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures_util::StreamExt;
use minijinja::value::Value;
use serde::Deserialize;
use service::{DatabaseConnection, SchemaOptions};
use settings::Profile;

use crate::csrf::{self, CheckedForm};
use crate::error::{ApiError, WebError};
use crate::session::Session;
use crate::templates::{Templates, with_csrf_fields};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The student database (a pool that reconnects by itself).
    pub db: DatabaseConnection,
    /// The templates in force.
    pub templates: Arc<Templates>,
    /// The settings profile (dropping tables is refused under `product`).
    pub profile: Profile,
    /// The session store, for `/healthz`.
    pub sessions: sessions::Sessions,
}

/// Rows handed on at once between the database and a streamed page: whatever the query has
/// ready, up to this many. One channel message (and one body chunk for the API) per batch, not
/// per row: per-row hand-offs made the million-row page several times slower than `cli list`.
const ROWS_PER_BATCH: usize = 512;
/// Batches in flight between the database and a streamed page (bounded memory).
const BATCHES_IN_FLIGHT: usize = 4;

/// Students as the query yields them; an `Err` means it failed midway.
type Rows = tokio::sync::mpsc::Receiver<Result<Vec<service::Student>, ()>>;

/// A page with forms: rendered, then given the session's CSRF token in every POST form.
async fn page(
    state: &AppState,
    session: &Session,
    name: &str,
    context: Value,
) -> Result<Response, WebError> {
    let token = csrf::token(session).await?;
    let context =
        minijinja::context! { ..context, ..minijinja::context! { csrf_token => token.clone() } };
    let html = state.templates.render(name, context)?;
    Ok(Html(with_csrf_fields(&html, &token)).into_response())
}

/// `GET /`: every page and every form.
pub async fn index(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    page(&state, &session, "index.html", minijinja::context! {}).await
}

/// `GET /writesession/`: `session['age'] = 18`.
pub async fn write_session(session: Session) -> Result<Html<&'static str>, WebError> {
    session.insert("age", 18.into()).await?;
    Ok(Html("写入成功"))
}

/// `GET /login/`: the original login form, with a CSRF token.
pub async fn login(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    page(&state, &session, "Login.html", minijinja::context! {}).await
}

#[derive(Debug, Deserialize)]
pub struct LoginFields {
    username: Option<String>,
}

/// `POST /loginsuccess/`: a valid username (the student-name rules) logs in under a new
/// session id, then 303 to `/welcome/`.
pub async fn login_success(
    session: Session,
    CheckedForm(form): CheckedForm<LoginFields>,
) -> Result<Response, WebError> {
    let username =
        service::validate::name_rule(form.username.as_deref().unwrap_or("")).map_err(|e| {
            WebError::BadRequest(
                e.to_string()
                    .replacen("invalid name", "invalid username", 1),
            )
        })?;
    // A new id and a new CSRF token: whatever an attacker planted before login is worthless.
    session.cycle_id().await?;
    session.remove(csrf::SESSION_KEY).await?;
    session.insert("username", username.into()).await?;
    Ok(Redirect::to("/welcome/").into_response())
}

/// `GET /welcome/`: the greeting, or 303 to `/login/` when nobody is logged in (the original
/// raised a 500).
pub async fn welcome(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    match session.get("username").await? {
        Some(Value_::String(username)) => {
            let html = state
                .templates
                .render("welcome.html", minijinja::context! { username })?;
            Ok(Html(html).into_response())
        }
        _ => Ok(Redirect::to("/login/").into_response()),
    }
}

use serde_json::Value as Value_;

#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /logout/`: deletes the session in the store and the cookie.
pub async fn logout(
    session: Session,
    CheckedForm(_): CheckedForm<NoFields>,
) -> Result<Response, WebError> {
    session.flush().await?;
    Ok(Redirect::to("/login/").into_response())
}

/// `GET` on a route that changes data: 405, pointing to the form.
pub async fn use_the_form() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [
            (header::ALLOW, "POST"),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        "this changes data, so it only answers POST: use its form on / (GET /)",
    )
        .into_response()
}

/// `POST /createmodel/`: creates the tables.
pub async fn create_model(
    State(state): State<AppState>,
    CheckedForm(_): CheckedForm<NoFields>,
) -> Result<Html<&'static str>, WebError> {
    let db = state.db.clone();
    to_the_end(async move { service::create_tables(&db, &SchemaOptions::default()).await }).await?;
    Ok(Html("创建表格成功"))
}

/// Runs a schema change in its own task, so that it runs to its end even when the client goes
/// away: dropped halfway on MySQL/MariaDB, whose DDL commits at once, the statements that had
/// taken effect would be reported to no one.
async fn to_the_end(
    change: impl Future<Output = service::Result<service::SchemaReport>> + Send + 'static,
) -> Result<service::SchemaReport, WebError> {
    tokio::spawn(change)
        .await
        .map_err(|e| {
            WebError::Service(service::Error::Database(format!(
                "the schema change did not finish: {e}"
            )))
        })?
        .map_err(WebError::from)
}

#[derive(Debug, Deserialize)]
pub struct StudentFields {
    name: Option<String>,
    age: Option<String>,
    score: Option<String>,
}

/// A number from a form field; empty means the column default.
fn number<T: std::str::FromStr>(
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<T>, WebError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            WebError::BadRequest(format!(
                "invalid {field} {}: a number is expected",
                settings::quoted(t)
            ))
        }),
    }
}

/// `POST /add_student/`: fields `name`, `age`, `score`, with the service's rules.
pub async fn add_student(
    State(state): State<AppState>,
    CheckedForm(form): CheckedForm<StudentFields>,
) -> Result<Html<&'static str>, WebError> {
    let new = service::NewStudent::new(
        form.name.as_deref().unwrap_or(""),
        number("age", form.age.as_deref())?,
        number("score", form.score.as_deref())?,
    )?;
    service::add_student(&state.db, &new).await?;
    Ok(Html("添加成功"))
}

/// `POST /add_students/`: ten random students, exactly.
pub async fn add_students(
    State(state): State<AppState>,
    CheckedForm(_): CheckedForm<NoFields>,
) -> Result<Html<&'static str>, WebError> {
    service::seed(&state.db, &service::SeedOptions::new(10), &mut |_| {}).await?;
    Ok(Html("批量添加学生成功"))
}

/// `POST /drop_table/`: drops the tables; refused under the production profile.
pub async fn drop_table(
    State(state): State<AppState>,
    CheckedForm(_): CheckedForm<NoFields>,
) -> Result<Html<&'static str>, WebError> {
    if state.profile.is_production() {
        return Err(WebError::Forbidden(
            "dropping the tables is refused under the `product` profile; use `cli drop-tables --yes`".into(),
        ));
    }
    let db = state.db.clone();
    to_the_end(async move { service::drop_tables(&db, &SchemaOptions::default()).await }).await?;
    Ok(Html("删除表格成功"))
}

/// Starts the student query and feeds its rows to a bounded channel; `None` for an empty
/// table. The query's own failure (a missing table) is returned before anything is sent.
async fn rows(db: &DatabaseConnection) -> Result<Option<Rows>, WebError> {
    let db = db.clone();
    let (ready, started) = tokio::sync::oneshot::channel::<Result<bool, service::Error>>();
    let (tx, rx) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
    tokio::spawn(async move {
        let mut stream = match service::stream_students(&db).await {
            Ok(stream) => stream,
            Err(e) => {
                let _gone = ready.send(Err(e));
                return;
            }
        };
        let first = match stream.next().await {
            None => {
                let _gone = ready.send(Ok(false));
                return;
            }
            Some(Err(e)) => {
                let _gone = ready.send(Err(e));
                return;
            }
            Some(Ok(row)) => row,
        };
        if ready.send(Ok(true)).is_err() || tx.send(Ok(vec![first])).await.is_err() {
            return;
        }
        let mut batches = stream.ready_chunks(ROWS_PER_BATCH);
        while let Some(batch) = batches.next().await {
            let mut rows = Vec::with_capacity(batch.len());
            let mut failure = None;
            for row in batch {
                match row {
                    Ok(row) => rows.push(row),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            if !rows.is_empty() && tx.send(Ok(rows)).await.is_err() {
                return; // the client went away
            }
            if let Some(e) = failure {
                // The status is sent already: the page must end visibly truncated.
                crate::log::line(format_args!("streaming students stopped: {e}"));
                let _gone = tx.send(Err(())).await;
                return;
            }
        }
    });
    match started.await {
        Ok(Ok(true)) => Ok(Some(rx)),
        Ok(Ok(false)) => Ok(None),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(WebError::Internal(
            "the student query stopped before starting",
        )),
    }
}

/// `GET /get_all_student/`: every student as `姓名:… 年纪:…成绩:…`, streamed.
pub async fn all_students(State(state): State<AppState>) -> Result<Response, WebError> {
    let students = rows(&state.db).await?;
    // The rows become template values on a task of their own, beside the rendering thread:
    // the page is as fast as the slower of the two, not their sum. An empty table closes the
    // channel at once and renders the page with no rows.
    let (tx, values) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
    if let Some(mut students) = students {
        tokio::spawn(async move {
            while let Some(batch) = students.recv().await {
                let batch = batch.map(|rows| rows.into_iter().map(StudentRow::value).collect());
                if tx.send(batch).await.is_err() {
                    return; // the client went away
                }
            }
        });
    }
    let body = state.templates.clone().stream(
        "student_list.html",
        minijinja::context! {},
        "students",
        values,
        |value: minijinja::Value| value,
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}

/// `GET /api/students`: every student as one JSON array, streamed.
pub async fn api_list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(rows) = rows(&state.db).await? else {
        return Ok(([(header::CONTENT_TYPE, "application/json")], "[]\n").into_response());
    };
    let items = futures_util::stream::unfold((rows, true), |(mut rows, first)| async move {
        let Ok(batch) = rows.recv().await? else {
            // A failure midway ends the transfer with an error, never with a closing `]`.
            return Some((
                Err(std::io::Error::other("the query failed")),
                (rows, false),
            ));
        };
        let mut chunk = Vec::with_capacity(batch.len() * 64);
        for (i, row) in batch.iter().enumerate() {
            chunk.extend_from_slice(if first && i == 0 { b"[\n" } else { b",\n" });
            serde_json::to_writer(&mut chunk, row).ok()?;
        }
        Some((Ok(chunk), (rows, false)))
    });
    let body = items.chain(futures_util::stream::once(async {
        Ok::<_, std::io::Error>(b"\n]\n".to_vec())
    }));
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// A student as the list template sees it (`student.s_name`, …): one allocation per row,
/// where a map value would build four keys.
#[derive(Debug)]
struct StudentRow {
    id: i32,
    s_name: minijinja::Value,
    s_age: i32,
    s_score: f64,
}

impl StudentRow {
    fn value(s: service::Student) -> minijinja::Value {
        // The score as written (80.1, not 80.0999…), as a number for the template.
        let s_score = service::format_score(s.s_score)
            .parse()
            .unwrap_or_else(|_| f64::from(s.s_score));
        minijinja::Value::from_object(StudentRow {
            id: s.id,
            s_name: minijinja::Value::from(s.s_name),
            s_age: s.s_age,
            s_score,
        })
    }
}

impl minijinja::value::Object for StudentRow {
    fn get_value(self: &std::sync::Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        self.get_value_by_str(key.as_str()?)
    }

    // `student.s_name` looks up by `&str`: no temporary key value per lookup.
    fn get_value_by_str(self: &std::sync::Arc<Self>, key: &str) -> Option<minijinja::Value> {
        Some(match key {
            "id" => minijinja::Value::from(self.id),
            "s_name" => self.s_name.clone(),
            "s_age" => minijinja::Value::from(self.s_age),
            "s_score" => minijinja::Value::from(self.s_score),
            _ => return None,
        })
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(&["id", "s_name", "s_age", "s_score"])
    }
}

#[derive(Debug, Deserialize)]
pub struct NewStudentBody {
    name: String,
    age: Option<i64>,
    score: Option<f64>,
}

/// `POST /api/students`: a JSON body adds one student: 201 with the row, 400/409 with
/// `{"error": …}`, 415 for any other content type.
pub async fn api_add(
    State(state): State<AppState>,
    body: Result<Json<NewStudentBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| WebError::Rejected {
        status: e.status(),
        message: e.body_text(),
    })?;
    let new = service::NewStudent::new(&body.name, body.age, body.score)?;
    let row = service::add_student(&state.db, &new).await?;
    Ok((StatusCode::CREATED, Json(row)).into_response())
}

/// `GET /healthz`: 200 when the database and the session store answer, else 503 naming
/// which does not.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let (db, store) = tokio::join!(state.db.ping(), state.sessions.store().ping());
    let mut down = Vec::new();
    if db.is_err() {
        down.push("the database");
    }
    if store.is_err() {
        down.push("the session store");
    }
    if down.is_empty() {
        return (StatusCode::OK, "ok\n").into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("unavailable: {}\n", down.join(" and ")),
    )
        .into_response()
}

/// Anything else: 404 in one line.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}
