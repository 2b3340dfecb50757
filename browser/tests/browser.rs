//! `cli serve` in a real browser: Debian's headless Chromium, driven through chromedriver with
//! fantoccini, against the real binary on a free port. What a user of the Flask app does:
//! log in and see the greeting, write a session, add a student through the form and find it on
//! the list page, log out; plus what only a browser shows: an XSS username stays text (no
//! dialog opens), and the cookie's flags as the browser keeps them.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Records that the browser tests cannot run: a failure under CI, else a line the test
/// script sums up (the same contract as the `tests` crate's `skip`).
fn skip(reason: &str) {
    assert!(
        !under_ci(),
        "the browser tests cannot run ({reason}), but under CI=true nothing may be skipped"
    );
    eprintln!("skipping the browser tests: {reason}");
    if let Some(path) = std::env::var_os("STUDENTS_TEST_SKIPS") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "browser tests: {reason}");
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn cli_path() -> PathBuf {
    if let Some(path) = std::env::var_os("STUDENTS_CLI").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    escargot::CargoBuild::new()
        .manifest_path(manifest)
        .package("cli")
        .bin("cli")
        .current_release()
        .run()
        .expect("building the cli binary")
        .path()
        .to_owned()
}

/// A child process stopped by SIGTERM (then SIGKILL) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} not ready within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A raw HTTP GET's status line, for readiness checks.
fn answers(port: u16, path: &str, expected: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    // Stop reading once the answer is in, and never wait more than 2 s on a read: a server
    // that is still starting may accept the connection and answer nothing.
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&out).contains(expected) {
            return true;
        }
    }
    String::from_utf8_lossy(&out).contains(expected)
}

/// `cli serve` on the embedded SQLite file and the filesystem session store, in `dir`.
fn serve(dir: &Path) -> (Process, u16) {
    let cli = cli_path();
    std::fs::write(
        dir.join("settings.toml"),
        "[default]\nsecret_key = \"a browser-test secret key, long enough to be used\"\n\
         session_type = \"filesystem\"\n",
    )
    .unwrap();
    let created = Command::new(&cli)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("APP_ENV")
        .env_remove("STUDENTS_CONFIG")
        .arg("create-tables")
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let port = free_port();
    let child = Command::new(&cli)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("APP_ENV")
        .env_remove("STUDENTS_CONFIG")
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let process = Process(child);
    wait_until("cli serve", || answers(port, "/healthz", " 200 "));
    (process, port)
}

/// chromedriver on a free port (loopback only: never `--allowed-ips`).
fn chromedriver(dir: &Path) -> (Process, u16) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!(
            "--log-path={}",
            dir.join("chromedriver.log").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let process = Process(child);
    wait_until("chromedriver", || {
        answers(port, "/status", "\"ready\":true")
    });
    (process, port)
}

async fn browser(driver: u16, profile: &Path) -> Client {
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-breakpad",
                "--window-size=900,600", format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("a JSON object literal")
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver}"))
        .await
        .expect("a Chromium session from chromedriver")
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the browser shows a loaded page at `path`: a click that submits a form returns
/// before the next page is there, and reading at once would read the old one.
async fn arrived(c: &Client, path: &str) {
    let start = Instant::now();
    loop {
        let here = c.current_url().await.unwrap();
        let ready = c
            .execute("return document.readyState", vec![])
            .await
            .unwrap();
        if here.path() == path && ready == "complete" {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still at {here} ({ready}), not {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn login(c: &Client, app: &str, name: &str) {
    c.goto(&format!("{app}/login/")).await.unwrap();
    let field = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    field.send_keys(name).await.unwrap();
    c.find(Locator::Css("input[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(c, "/welcome/").await;
}

async fn flows(c: &Client, app: &str) {
    // Log in and see the greeting; the form carried its CSRF token.
    login(c, app, "mingren").await;
    assert_eq!(text(c, "h1").await, "好久不见欢迎回来mingren");
    assert_eq!(c.current_url().await.unwrap().path(), "/welcome/");

    // The cookie as the browser keeps it.
    let cookies = c.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|k| k.name() == "session")
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true), "{session:?}");
    assert_eq!(
        session.secure(),
        Some(false),
        "plain http://localhost in develop"
    );
    assert_eq!(
        session.same_site().map(|s| s.to_string()),
        Some("Lax".to_owned()),
        "{session:?}"
    );
    assert_eq!(session.path(), Some("/"));

    // Write a session.
    c.goto(&format!("{app}/writesession/")).await.unwrap();
    assert_eq!(text(c, "body").await, "写入成功");

    // Add a student through the form on / and find it on the list page.
    c.goto(&format!("{app}/")).await.unwrap();
    let form = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form[action='/add_student/']"))
        .await
        .unwrap();
    form.find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("小明")
        .await
        .unwrap();
    form.find(Locator::Css("input[name=age]"))
        .await
        .unwrap()
        .send_keys("16")
        .await
        .unwrap();
    form.find(Locator::Css("input[name=score]"))
        .await
        .unwrap()
        .send_keys("80")
        .await
        .unwrap();
    form.find(Locator::Css("input[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(c, "/add_student/").await;
    assert_eq!(text(c, "body").await, "添加成功");
    c.goto(&format!("{app}/get_all_student/")).await.unwrap();
    let list = text(c, "ul").await;
    assert!(list.contains("姓名:小明 年纪:16成绩:80.0"), "{list}");

    // An XSS username is text: no dialog opens, and the page shows it literally.
    login(c, app, "<script>alert(1)</script>").await;
    let h1 = text(c, "h1").await;
    assert_eq!(h1, "好久不见欢迎回来<script>alert(1)</script>");
    match c.get_alert_text().await {
        Err(e) if e.is_no_such_alert() => {}
        other => panic!("a dialog opened or the check failed: {other:?}"),
    }

    // Logout (a POST form on /) sends /welcome/ back to /login/.
    c.goto(&format!("{app}/")).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form[action='/logout/'] input[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(c, "/login/").await;
    c.goto(&format!("{app}/welcome/")).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login/");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_works_in_a_real_browser() {
    for program in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(program).exists() {
            skip(&format!(
                "{program} is not installed (apt-get install -y chromium chromium-driver)"
            ));
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (_serve, port) = tokio::task::block_in_place(|| serve(dir.path()));
    let (_driver, driver_port) = tokio::task::block_in_place(|| chromedriver(dir.path()));
    let profile = dir.path().join("chromium-profile");
    let client = browser(driver_port, &profile).await;
    let app = format!("http://127.0.0.1:{port}");
    // Close the browser session whatever happened, or chromedriver leaves Chromium running.
    let outcome = tokio::spawn({
        let client = client.clone();
        async move { flows(&client, &app).await }
    })
    .await;
    client.close().await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
