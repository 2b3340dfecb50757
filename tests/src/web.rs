//! `cli serve` as a user runs it: the real binary on a free loopback port in a test's work
//! directory, with a `settings.toml` written there, and an HTTP client with a cookie jar.
//!
//! [`App::start`] waits until `/healthz` answers; dropping an [`App`] stops it with SIGTERM and
//! asserts that it exits 0 within its grace. Its stderr (the access log) is captured as it is
//! written. [`Client`] follows no redirect and treats no status as an error, so tests see
//! every status, header and body as the server sent it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::servers::{free_port, wait_until};
use crate::{Out, TestDb};

/// Seconds of grace the harness gives `cli serve` (`--grace`): how long a stop may take.
pub const GRACE_SECS: u64 = 5;

/// A secret key long enough for the `product` profile.
pub const PRODUCT_SECRET: &str = "0123456789abcdef0123456789abcdef-test-only";

/// A running `cli serve`.
#[derive(Debug)]
pub struct App {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its `--grace`.
    pub grace: Duration,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

/// How to start `cli serve`.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// The `settings.toml` written into the work directory (empty: none is written).
    pub settings: String,
    /// Extra environment variables (`APP_ENV`, `STUDENTS_SECRET_KEY`, …).
    pub env: Vec<(String, String)>,
    /// Extra arguments after `serve`.
    pub args: Vec<String>,
    /// The port; a free one when `None`.
    pub port: Option<u16>,
    /// `--grace` in seconds; [`GRACE_SECS`] when `None`.
    pub grace: Option<u64>,
}

impl Launch {
    /// A launch with `settings` as the `[default]` table of `settings.toml`.
    pub fn with_settings(default_table: &str) -> Self {
        Launch {
            settings: format!("[default]\n{default_table}\n"),
            ..Launch::default()
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds arguments after `serve`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }
}

impl App {
    /// `cli serve` on `db` as `launch` says, ready to answer; panics with its output if it
    /// exits instead.
    pub fn start(db: &TestDb, launch: &Launch) -> App {
        match Self::try_start(db, launch) {
            Ok(app) => app,
            Err(out) => panic!("cli serve exited before answering\n{out:#?}"),
        }
    }

    /// As [`App::start`], but a server that exits before answering is returned as its output
    /// (for tests of refusals).
    pub fn try_start(db: &TestDb, launch: &Launch) -> Result<App, Out> {
        if !launch.settings.is_empty() {
            std::fs::write(db.workdir.path().join("settings.toml"), &launch.settings)
                .expect("writing settings.toml");
        }
        let port = launch.port.unwrap_or_else(free_port);
        let grace = launch.grace.unwrap_or(GRACE_SECS);
        let mut cmd: Command = db.command();
        cmd.args(["serve", "--port", &port.to_string()])
            .args(["--grace", &grace.to_string()])
            .args(&launch.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &launch.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting cli serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut app = App {
            child: Some(child),
            port,
            grace: Duration::from_secs(grace),
            log,
            reader: Some(reader),
        };
        let start = Instant::now();
        loop {
            if let Some(code) = app.try_exit_code() {
                let stdout = app.stdout();
                app.child = None;
                app.join_reader();
                return Err(Out {
                    code,
                    stdout,
                    stderr: app.log(),
                });
            }
            if app.answers() {
                return Ok(app);
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "cli serve did not answer /healthz within 60 s\n{}",
                app.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn answers(&self) -> bool {
        let agent = agent(Some(Duration::from_secs(5)));
        agent.get(format!("{}/healthz", self.base())).call().is_ok()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client with an empty cookie jar.
    pub fn client(&self) -> Client {
        Client::new(&self.base())
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The access-log lines (`METHOD /path STATUS Nms`) so far.
    pub fn access_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| is_access_line(l))
            .map(str::to_owned)
            .collect()
    }

    /// Waits until the log holds `n` access lines (they are written as responses leave).
    pub fn wait_for_access_lines(&self, n: usize) -> Vec<String> {
        wait_until("the access log", Duration::from_secs(10), || {
            self.access_lines().len() >= n
        });
        self.access_lines()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends `signal` (`TERM`, `INT`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    fn try_exit_code(&mut self) -> Option<i32> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.code().unwrap_or(-1)),
            _ => None,
        }
    }

    fn stdout(&mut self) -> String {
        let mut out = String::new();
        if let Some(mut stdout) = self.child.as_mut().and_then(|c| c.stdout.take()) {
            let _partial = stdout.read_to_string(&mut out);
        }
        out
    }

    fn join_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Waits up to `limit` for the server to exit; its exit code, or `None` if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(code) = self.try_exit_code() {
                self.child = None;
                self.join_reader();
                return Some(code);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server with SIGTERM, asserts that it exits 0 within its grace (plus a
    /// second), and returns its log.
    pub fn stop(mut self) -> String {
        self.stop_now();
        self.log()
    }

    fn stop_now(&mut self) {
        if self.child.is_none() {
            return;
        }
        self.signal("TERM");
        let code = self.wait_exit(self.grace + Duration::from_secs(1));
        if code.is_none()
            && let Some(mut child) = self.child.take()
        {
            let _gone = child.kill();
            let _reaped = child.wait();
        }
        self.join_reader();
        assert_eq!(
            code,
            Some(0),
            "cli serve must exit 0 within its grace after SIGTERM\n{}",
            self.log()
        );
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(mut child) = self.child.take() {
                let _gone = child.kill();
                let _reaped = child.wait();
            }
            return;
        }
        self.stop_now();
    }
}

/// Whether `line` is an access-log line: `METHOD /path STATUS Nms`.
pub fn is_access_line(line: &str) -> bool {
    let parts: Vec<&str> = line.split(' ').collect();
    parts.len() == 4
        && parts[0].chars().all(|c| c.is_ascii_uppercase())
        && parts[1].starts_with('/')
        && parts[2].len() == 3
        && parts[2].chars().all(|c| c.is_ascii_digit())
        && parts[3].ends_with("ms")
}

fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(timeout)
        .build()
        .into()
}

/// An HTTP client for one user: a cookie jar for the app's host, no redirects followed.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    /// The cookies held, by name.
    pub jar: BTreeMap<String, String>,
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    jar: bool,
}

impl Req {
    /// A request without a body.
    pub fn new(method: &'static str, path: &str) -> Self {
        Req {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
            jar: true,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_encode(fields))
    }

    /// A JSON body.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(value.to_string())
    }

    /// Sends no cookie from the jar (a `Cookie` header may still be set by hand).
    pub fn without_jar(mut self) -> Self {
        self.jar = false;
        self
    }
}

/// `fields` as `application/x-www-form-urlencoded`.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// Every header, names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Resp {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `Set-Cookie` header for cookie `name`, if one was sent.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers("set-cookie")
            .into_iter()
            .find(|c| c.split_once('=').is_some_and(|(n, _)| n.trim() == name))
    }

    /// Asserts the status, showing the response when it differs.
    #[track_caller]
    pub fn status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status\n{self:#?}");
        self
    }

    /// Asserts a 303 to `location`.
    #[track_caller]
    pub fn redirects_to(&self, location: &str) -> &Self {
        self.status(303);
        assert_eq!(self.header("location"), Some(location), "{self:#?}");
        self
    }

    /// The value of the hidden `csrf_token` field of the page.
    #[track_caller]
    pub fn csrf_token(&self) -> String {
        let marker = r#"name="csrf_token" value=""#;
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf_token field in\n{}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }
}

impl Client {
    /// A client of the app at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Self {
        Client {
            agent: agent(Some(Duration::from_secs(60))),
            base: base.to_owned(),
            jar: BTreeMap::new(),
        }
    }

    /// The cookie `name` in the jar.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    /// Sends `req` and returns the response with its head only; the body is left to read.
    pub fn open(&mut self, req: Req) -> ureq::http::Response<ureq::Body> {
        let mut builder = ureq::http::Request::builder()
            .method(req.method)
            .uri(format!("{}{}", self.base, req.path));
        if req.jar && !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            builder = builder.header("Cookie", cookies.join("; "));
        }
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let response = match req.body {
            Some(body) => self.agent.run(builder.body(body).expect("a valid request")),
            None => self.agent.run(builder.body(()).expect("a valid request")),
        }
        .unwrap_or_else(|e| panic!("{} {}: {e}", req.method, req.path));
        for value in response.headers().get_all("set-cookie") {
            let Ok(value) = value.to_str() else { continue };
            let first = value.split(';').next().unwrap_or("");
            let Some((name, val)) = first.split_once('=') else {
                continue;
            };
            let removed = val.is_empty()
                || value
                    .split(';')
                    .any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            if removed {
                self.jar.remove(name.trim());
            } else {
                self.jar.insert(name.trim().to_owned(), val.to_owned());
            }
        }
        response
    }

    /// Sends `req` and reads the whole response.
    pub fn send(&mut self, req: Req) -> Resp {
        let what = format!("{} {}", req.method, req.path);
        let mut response = self.open(req);
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_string()
            .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
        Resp {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Resp {
        self.send(Req::new("GET", path))
    }

    /// `POST path` with a form, from this site's own page (as a browser sends it:
    /// `Origin` and `Sec-Fetch-Site: same-origin`), without a CSRF token unless given.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let origin = self.base.clone();
        self.send(
            Req::new("POST", path)
                .header("Origin", &origin)
                .header("Sec-Fetch-Site", "same-origin")
                .form(fields),
        )
    }

    /// Fetches `/` for this session's CSRF token, then posts `fields` with it to `path`.
    pub fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.get("/").status(200).csrf_token();
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all)
    }

    /// Logs in as `username` through the login form; the response of `/loginsuccess/`.
    pub fn login(&mut self, username: &str) -> Resp {
        let token = self.get("/login/").status(200).csrf_token();
        self.post_form(
            "/loginsuccess/",
            &[("csrf_token", &token), ("username", username)],
        )
    }
}
