//! `cli serve` over HTTP, through the real binary: every route and every rule of issue 9 on
//! each backend, the login flow on each session store, and what happens when a server the app
//! needs goes away.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::web::{App, Client, Launch, PRODUCT_SECRET, Req, Resp, is_access_line};
use tests::{Backend, TestDb, each_backend};

each_backend!(
    serve_answers_every_route_with_the_original_texts,
    serve_refuses_get_on_routes_that_change_data,
    serve_login_issues_a_new_session_id_and_logout_ends_it,
    serve_refuses_forms_without_a_token_or_from_another_site,
    serve_api_lists_and_adds_students_as_json,
    serve_streams_every_student_line,
    serve_sends_the_first_bytes_before_the_query_ends,
);

/// A settings table with the `sql` store (the default) and a fixed secret key.
fn sql_store() -> Launch {
    Launch::with_settings("secret_key = \"a test secret, not for production use\"")
}

/// A page as a browser shows it: status 200 and the body.
#[track_caller]
fn page(resp: Resp) -> String {
    resp.status(200);
    resp.body
}

fn serve_answers_every_route_with_the_original_texts(db: &TestDb) {
    db.create_tables();
    let app = App::start(db, &sql_store());
    let mut c = app.client();

    let index = page(c.get("/"));
    for link in [
        "/writesession/",
        "/login/",
        "/welcome/",
        "/get_all_student/",
        "/api/students",
        "/healthz",
    ] {
        assert!(
            index.contains(&format!("href=\"{link}\"")),
            "{link}\n{index}"
        );
    }
    for form in [
        "/logout/",
        "/createmodel/",
        "/add_student/",
        "/add_students/",
        "/drop_table/",
    ] {
        let tag = format!(
            "<form action=\"{form}\" method=\"post\"><input type=\"hidden\" name=\"csrf_token\" value=\""
        );
        assert!(index.contains(&tag), "{form} without its token\n{index}");
    }

    assert_eq!(page(c.get("/writesession/")), "写入成功");
    let login = page(c.get("/login/"));
    assert!(login.contains(r#"<form action="/loginsuccess/" method="post"><input type="hidden" name="csrf_token" value=""#), "{login}");
    assert!(login.contains(r#"name="username""#), "{login}");

    assert_eq!(page(c.submit("/createmodel/", &[])), "创建表格成功");
    let added = c.submit(
        "/add_student/",
        &[("name", "小明"), ("age", "16"), ("score", "80")],
    );
    assert_eq!(page(added), "添加成功");
    assert_eq!(page(c.submit("/add_students/", &[])), "批量添加学生成功");
    let rows = db.rows();
    assert_eq!(rows.len(), 11, "{rows:?}");
    assert_eq!((rows[0].s_name.as_str(), rows[0].s_age), ("小明", 16));

    let list = page(c.get("/get_all_student/"));
    assert!(list.contains("姓名:小明 年纪:16成绩:80.0"), "{list}");
    assert_eq!(list.matches("<li>姓名:").count(), 11, "{list}");
    let api: Vec<Value> = serde_json::from_str(&page(c.get("/api/students"))).unwrap();
    assert_eq!(api.len(), 11);

    // The form's own checks: a bad number and a taken name are one-line 400/409s.
    let bad = c.submit("/add_student/", &[("name", "小红"), ("age", "old")]);
    bad.status(400);
    assert!(bad.body.contains("invalid age"), "{bad:#?}");
    let taken = c.submit("/add_student/", &[("name", "小明")]);
    taken.status(409);
    assert_eq!(db.rows().len(), 11);

    assert_eq!(page(c.submit("/drop_table/", &[])), "删除表格成功");
    assert!(!db.has_table("student"));
    let gone = c.get("/get_all_student/");
    gone.status(409);
    assert!(gone.body.contains("/createmodel/"), "{gone:#?}");
    // The `sql` store's table went with the others: pages that need a session say what to do.
    let no_store = c.get("/");
    no_store.status(503);
    assert_eq!(
        no_store.body,
        "the session store has no `sessions` table; run `cli create-tables`"
    );
    db.create_tables();
    assert_eq!(page(c.submit("/drop_table/", &[])), "删除表格成功");
    db.create_tables();
    assert!(db.has_table("student"));
    assert_eq!(page(c.submit("/createmodel/", &[])), "创建表格成功");
    assert_eq!(c.get("/api/students").body.trim(), "[]");

    let health = c.get("/healthz");
    assert_eq!(page(health), "ok\n");
    let missing = c.get("/no/such/page");
    missing.status(404);
    assert_eq!(missing.body, "not found\n");
}

fn serve_refuses_get_on_routes_that_change_data(db: &TestDb) {
    db.create_tables();
    let app = App::start(db, &sql_store());
    let mut c = app.client();
    for path in [
        "/loginsuccess/",
        "/logout/",
        "/createmodel/",
        "/add_student/",
        "/add_students/",
        "/drop_table/",
    ] {
        let r = c.get(path);
        r.status(405);
        assert_eq!(r.header("allow"), Some("POST"), "{path}: {r:#?}");
        assert!(
            r.body.contains("GET /"),
            "{path} points to the form: {r:#?}"
        );
    }
    assert!(db.has_table("student"), "a GET dropped the table");
    assert!(db.rows().is_empty(), "a GET added students");
}

/// The sessions the store holds, through `cli sessions list` in the app's work directory.
fn stored_sessions(db: &TestDb) -> Vec<Value> {
    let out = db.cli(&["sessions", "list", "--format", "json"]).ok();
    serde_json::from_str(&out.stdout).unwrap()
}

fn serve_login_issues_a_new_session_id_and_logout_ends_it(db: &TestDb) {
    db.create_tables();
    let app = App::start(db, &sql_store());
    login_flow(db, &app);
}

/// The whole login story on whatever store `app` uses.
fn login_flow(db: &TestDb, app: &App) {
    let mut c = app.client();
    c.get("/welcome/").redirects_to("/login/");
    assert_eq!(
        c.cookie("session"),
        None,
        "a page that only read made a session"
    );

    // A session before login (as an attacker could plant one)...
    page(c.get("/writesession/"));
    let before = c.cookie("session").expect("a session cookie").to_owned();
    assert_eq!(stored_sessions(db).len(), 1);
    // ...is not the session after it.
    let r = c.login("小明");
    r.redirects_to("/welcome/");
    let after = c.cookie("session").expect("a session cookie").to_owned();
    assert_ne!(before, after, "login kept the session id");
    let stored = stored_sessions(db);
    assert_eq!(
        stored.len(),
        1,
        "the old session is still stored: {stored:?}"
    );
    let welcome = page(c.get("/welcome/"));
    assert!(welcome.contains("好久不见欢迎回来小明"), "{welcome}");

    // The old id opens nothing, and is told to go.
    let mut old = app.client();
    old.jar.insert("session".into(), before);
    let r = old.get("/welcome/");
    r.redirects_to("/login/");
    let removal = r
        .set_cookie("session")
        .expect("the stale cookie is removed");
    assert!(removal.contains("Max-Age=0"), "{removal}");

    // Logout: the record and the cookie go; the cookie, replayed, opens nothing.
    let r = c.submit("/logout/", &[]);
    r.redirects_to("/login/");
    assert!(
        r.set_cookie("session").unwrap().contains("Max-Age=0"),
        "{r:#?}"
    );
    assert_eq!(c.cookie("session"), None);
    assert!(stored_sessions(db).is_empty(), "logout left the record");
    let mut replay = app.client();
    replay.jar.insert("session".into(), after);
    replay.get("/welcome/").redirects_to("/login/");
    c.get("/welcome/").redirects_to("/login/");
}

fn serve_refuses_forms_without_a_token_or_from_another_site(db: &TestDb) {
    db.create_tables();
    let app = App::start(db, &sql_store());
    let mut c = app.client();
    let token = c.get("/").csrf_token();
    let student = [("name", "mallory"), ("age", "20")];

    let refused = |r: Resp| {
        r.status(403);
        assert_eq!(r.body.lines().count(), 1, "{r:#?}");
    };
    // No token, an empty one, another session's token.
    refused(c.post_form("/add_student/", &student));
    refused(c.post_form("/add_student/", &[("csrf_token", ""), ("name", "mallory")]));
    let other = app.client().get("/").csrf_token();
    refused(c.post_form(
        "/add_student/",
        &[("csrf_token", &other), ("name", "mallory")],
    ));
    // A right token from another site, by either header a browser sends.
    let body = tests::web::form_encode(&[("csrf_token", &token), ("name", "mallory")]);
    let cross = |c: &mut Client, header: (&str, &str)| {
        c.send(
            Req::new("POST", "/add_student/")
                .header(header.0, header.1)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone()),
        )
    };
    refused(cross(&mut c, ("Origin", "http://evil.example")));
    refused(cross(&mut c, ("Sec-Fetch-Site", "cross-site")));
    refused(cross(&mut c, ("Sec-Fetch-Site", "same-site")));
    // Nothing changed: no student, no dropped table, no login.
    refused(c.post_form("/drop_table/", &[]));
    refused(c.post_form("/loginsuccess/", &[("username", "mallory")]));
    refused(c.post_form("/logout/", &[]));
    assert!(db.rows().is_empty());
    assert!(db.has_table("student"));
    c.get("/welcome/").redirects_to("/login/");
    // The same token from this site works.
    page(c.post_form(
        "/add_student/",
        &[("csrf_token", &token), ("name", "alice")],
    ));
    assert_eq!(db.names(), ["alice"]);
}

fn serve_api_lists_and_adds_students_as_json(db: &TestDb) {
    db.create_tables();
    let app = App::start(db, &sql_store());
    let mut c = app.client();
    let empty = c.get("/api/students");
    empty.status(200);
    assert_eq!(empty.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_str::<Value>(&empty.body).unwrap(),
        json!([])
    );

    // No cookie and no token: API clients need neither.
    let post = |c: &mut Client, body: &Value| {
        c.send(Req::new("POST", "/api/students").json(body).without_jar())
    };
    let created = post(&mut c, &json!({"name": "小明", "age": 16, "score": 80.5}));
    created.status(201);
    let row: Value = serde_json::from_str(&created.body).unwrap();
    assert_eq!(row["s_name"], "小明");
    assert_eq!(row["s_age"], 16);
    assert_eq!(row["s_score"], 80.5);
    assert!(row["id"].is_number(), "{row}");
    assert_eq!(
        created.set_cookie("session"),
        None,
        "the API made a session"
    );

    let error = |r: Resp, status: u16, needle: &str| {
        r.status(status);
        let body: Value =
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {r:#?}"));
        let message = body["error"].as_str().unwrap_or_else(|| panic!("{body}"));
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    };
    error(post(&mut c, &json!({"name": "小明"})), 409, "小明");
    error(post(&mut c, &json!({"name": ""})), 400, "invalid name");
    error(post(&mut c, &json!({"name": "x", "age": -1})), 400, "age");
    error(post(&mut c, &json!({"age": 3})), 400, "name");
    let malformed = c.send(
        Req::new("POST", "/api/students")
            .header("Content-Type", "application/json")
            .body("{\"name\": "),
    );
    error(malformed, 400, "");
    let form = c.send(Req::new("POST", "/api/students").form(&[("name", "form")]));
    error(form, 415, "");
    let text = c.send(
        Req::new("POST", "/api/students")
            .header("Content-Type", "text/plain")
            .body("{\"name\": \"plain\"}"),
    );
    error(text, 415, "");
    assert_eq!(db.names(), ["小明"]);

    let list: Vec<Value> = serde_json::from_str(&page(c.get("/api/students"))).unwrap();
    assert_eq!(list, vec![row]);
}

/// Adds `n` students named `s0`, `s1`, … through the service, in one call.
fn add_many(db: &TestDb, n: usize) {
    let batch: Vec<service::NewStudent> = (0..n)
        .map(|i| {
            service::NewStudent::new(&format!("s{i}"), Some(20), Some(60.0 + (i % 40) as f64))
                .unwrap()
        })
        .collect();
    let url = db.url.clone();
    db.with_db(async |_| {
        let conn = service::connect(&service::ConnectSettings::new(url))
            .await
            .unwrap();
        service::add_students(&conn, &batch).await.unwrap();
        conn.close().await.unwrap();
    });
}

fn serve_streams_every_student_line(db: &TestDb) {
    db.create_tables();
    db.cli(&tests::ADD_XIAOMING).ok();
    add_many(db, 1_200);
    let app = App::start(db, &sql_store());
    let mut c = app.client();
    let r = c.get("/get_all_student/");
    r.status(200);
    assert_eq!(
        r.header("content-length"),
        None,
        "not streamed: {:?}",
        r.headers
    );
    let lines: Vec<&str> = r
        .body
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<li>"))
        .collect();
    assert_eq!(lines.len(), 1_201);
    assert_eq!(lines[0], "<li>姓名:小明 年纪:16成绩:80.0</li>");
    assert_eq!(lines[1], "<li>姓名:s0 年纪:20成绩:60.0</li>");
    assert_eq!(lines[1_200], "<li>姓名:s1199 年纪:20成绩:99.0</li>");
    assert!(r.body.trim_end().ends_with("</html>"), "the page is whole");
    let api: Vec<Value> = serde_json::from_str(&page(c.get("/api/students"))).unwrap();
    assert_eq!(api.len(), 1_201);
    assert_eq!(api[1_200]["s_name"], "s1199");
}

/// Whether the database shows a statement on `student` still running for another client.
fn query_running(db: &TestDb) -> Option<bool> {
    let sql = match db.backend {
        Backend::Sqlite => return None,
        Backend::MySql => {
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE INFO LIKE '%FROM `student`%' AND ID <> CONNECTION_ID()"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' \
             AND query LIKE '%FROM \"student\"%' AND pid <> pg_backend_pid()"
        }
    };
    Some(db.with_db(async |conn| {
        use sea_orm::ConnectionTrait;
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap() > 0
    }))
}

fn serve_sends_the_first_bytes_before_the_query_ends(db: &TestDb) {
    db.create_tables();
    // Far more than every buffer between the database and this test holds.
    const ROWS: usize = 200_000;
    add_many(db, ROWS);
    let app = App::start(db, &sql_store());
    let mut c = app.client();
    let response = c.open(Req::new("GET", "/get_all_student/"));
    assert_eq!(response.status(), 200);
    let mut body = response.into_body().into_reader();
    let mut first = vec![0u8; 4096];
    body.read_exact(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first).contains("<li>姓名:s0 年纪:20成绩:60.0</li>"));
    // The first bytes are here; the query that feeds the page has not finished.
    if let Some(running) = query_running(db) {
        assert!(running, "the query ended before the first bytes were read");
    }
    let mut rest = String::new();
    body.read_to_string(&mut rest).unwrap();
    let lines =
        String::from_utf8_lossy(&first).matches("<li>").count() + rest.matches("<li>").count();
    assert_eq!(lines, ROWS);
    assert!(rest.trim_end().ends_with("</html>"));
}

// ---------------------------------------------------------------------------------------------
// The login flow on each session store (on SQLite: the store is what differs).

fn sqlite() -> TestDb {
    TestDb::new(Backend::Sqlite).unwrap()
}

/// A key prefix no other test or user of the shared Redis has.
fn private_prefix() -> String {
    format!("webtest:{:016x}:", rand::random::<u64>())
}

#[test]
fn serve_login_flow_on_the_sql_store() {
    let db = sqlite();
    db.create_tables();
    let app = App::start(&db, &sql_store());
    login_flow(&db, &app);
}

#[test]
fn serve_login_flow_on_the_redis_store() {
    let Some(url) = tests::server_url("REDIS_URL", "the redis session store over HTTP") else {
        return;
    };
    let db = sqlite();
    db.create_tables();
    let launch = Launch::with_settings(&format!(
        "secret_key = \"a test secret\"\nsession_type = \"redis\"\nsession_url = \"{url}\"\n\
         session_key_prefix = \"{}\"",
        private_prefix()
    ));
    let app = App::start(&db, &launch);
    login_flow(&db, &app);
}

#[test]
fn serve_login_flow_on_the_filesystem_store() {
    let db = sqlite();
    db.create_tables();
    let launch = Launch::with_settings(
        "secret_key = \"a test secret\"\nsession_type = \"filesystem\"\nsession_dir = \"sessions\"",
    );
    let app = App::start(&db, &launch);
    login_flow(&db, &app);
    assert!(db.workdir.path().join("sessions").is_dir());
}

#[test]
fn serve_login_flow_on_the_memcached_store() {
    let Some(mc) = tests::servers::PrivateMemcached::start() else {
        return;
    };
    let db = sqlite();
    db.create_tables();
    let launch = Launch::with_settings(&format!(
        "secret_key = \"a test secret\"\nsession_type = \"memcached\"\nsession_url = \"{}\"\n\
         session_key_prefix = \"{}\"",
        mc.url(),
        private_prefix()
    ));
    let app = App::start(&db, &launch);
    login_flow(&db, &app);
}

#[test]
fn serve_login_flow_on_the_mongodb_store() {
    let Some(mongo) = tests::servers::PrivateMongo::start() else {
        return;
    };
    let db = sqlite();
    db.create_tables();
    let launch = Launch::with_settings(&format!(
        "secret_key = \"a test secret\"\nsession_type = \"mongodb\"\nsession_url = \"{}\"",
        mongo.url("students")
    ));
    let app = App::start(&db, &launch);
    login_flow(&db, &app);
}

#[test]
fn serve_starts_while_memcached_or_mongodb_is_down_and_uses_it_when_it_comes() {
    let Some(mut mc) = tests::servers::PrivateMemcached::start() else {
        return;
    };
    mc.kill();
    let db = sqlite();
    db.create_tables();
    let launch = Launch::with_settings(&format!(
        "secret_key = \"a test secret\"\nsession_type = \"memcached\"\nsession_url = \"{}\"\nconnect_timeout = 1",
        mc.url()
    ));
    let app = App::start(&db, &launch);
    let log = app.log();
    assert!(
        log.contains(&format!(
            "the session store (memcached at 127.0.0.1:{})",
            mc.port
        )) && log.contains("connection refused")
            && log.contains("serving anyway"),
        "{log}"
    );
    let mut c = app.client();
    unavailable(
        &c.get("/writesession/"),
        "the session store is unavailable",
        mc.port,
    );
    page(c.get("/get_all_student/"));
    mc.restart();
    tests::servers::wait_until("/writesession/", Duration::from_secs(30), || {
        app.client().get("/writesession/").status == 200
    });
    c.login("小明").redirects_to("/welcome/");
    assert!(page(c.get("/welcome/")).contains("好久不见欢迎回来小明"));

    // MongoDB: the driver keeps looking for the server; the TTL index comes with the first
    // session.
    let port = tests::servers::free_port();
    let launch = Launch::with_settings(&format!(
        "secret_key = \"a test secret\"\nsession_type = \"mongodb\"\n\
         session_url = \"mongodb://127.0.0.1:{port}/students\"\nconnect_timeout = 1"
    ));
    let app = App::start(&db, &launch);
    let log = app.log();
    assert!(
        log.contains(&format!("the session store (mongodb at 127.0.0.1:{port})"))
            && log.contains("connection refused")
            && log.contains("serving anyway"),
        "{log}"
    );
    let mut c = app.client();
    unavailable(
        &c.get("/writesession/"),
        "the session store is unavailable",
        port,
    );
    let Some(_mongo) = tests::servers::PrivateMongo::start_on(port) else {
        return;
    };
    tests::servers::wait_until("/writesession/", Duration::from_secs(30), || {
        app.client().get("/writesession/").status == 200
    });
    c.login("小明").redirects_to("/welcome/");
    assert!(page(c.get("/welcome/")).contains("好久不见欢迎回来小明"));
}

// ---------------------------------------------------------------------------------------------
// Cookies, expiry, escaping, limits, headers, profiles, the log.

#[test]
fn serve_starts_a_fresh_session_for_a_forged_tampered_or_unknown_cookie() {
    let db = sqlite();
    db.create_tables();
    let app = App::start(&db, &sql_store());
    let mut real = app.client();
    real.login("小明").redirects_to("/welcome/");
    let valid = real.cookie("session").unwrap().to_owned();
    let (id, tag) = valid.split_once('.').unwrap();
    let flip = |s: &str| {
        let mut chars: Vec<char> = s.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    let forged_id = "A".repeat(id.len());
    let cookies = [
        "forged".to_owned(),
        format!("{forged_id}.{tag}"),
        format!("{}.{tag}", flip(id)),
        format!("{id}.{}", flip(tag)),
        id.to_owned(),
        format!("{valid}x"),
        "\"".to_owned(),
    ];
    for cookie in cookies {
        let mut c = app.client();
        c.jar.insert("session".into(), cookie.clone());
        c.get("/welcome/").redirects_to("/login/");
        // The login page works, in a fresh session with a fresh cookie.
        let login = c.get("/login/");
        login.status(200);
        let fresh = c.cookie("session").expect("a fresh session").to_owned();
        assert_ne!(fresh, cookie);
        assert_ne!(fresh, valid);
        c.login("小红").redirects_to("/welcome/");
        assert!(page(c.get("/welcome/")).contains("小红"));
    }
    // The real session is untouched by all of it.
    assert!(page(real.get("/welcome/")).contains("好久不见欢迎回来小明"));
}

#[test]
fn serve_ends_an_idle_session_after_its_lifetime() {
    let db = sqlite();
    db.create_tables();
    let launch =
        Launch::with_settings("secret_key = \"a test secret\"\npermanent_session_lifetime = 2");
    let app = App::start(&db, &launch);
    let mut c = app.client();
    let r = c.login("小明");
    let cookie = r.set_cookie("session").unwrap();
    assert!(
        cookie.contains("Max-Age=2;") || cookie.contains("Max-Age=1;"),
        "{cookie}"
    );
    page(c.get("/welcome/"));
    std::thread::sleep(Duration::from_secs(3));
    // The browser would have dropped the cookie; the server must not need it to.
    c.get("/welcome/").redirects_to("/login/");
}

#[test]
fn serve_ends_an_active_session_at_its_absolute_lifetime() {
    let db = sqlite();
    db.create_tables();
    let launch = Launch::with_settings(
        "secret_key = \"a test secret\"\npermanent_session_lifetime = 2\nsession_absolute_lifetime = 3",
    );
    let app = App::start(&db, &launch);
    let mut c = app.client();
    let logged_in = Instant::now();
    c.login("小明").redirects_to("/welcome/");
    // Used every half second, it never idles out, but it ends 3 s after it began.
    let mut ended = None;
    while logged_in.elapsed() < Duration::from_secs(6) {
        let r = c.get("/welcome/");
        if r.status == 303 {
            ended = Some(logged_in.elapsed());
            break;
        }
        r.status(200);
        std::thread::sleep(Duration::from_millis(500));
    }
    let ended = ended.expect("the session outlived its absolute lifetime");
    assert!(ended >= Duration::from_secs(3), "ended after {ended:?}");
}

#[test]
fn serve_shows_a_script_username_as_text() {
    let db = sqlite();
    db.create_tables();
    let app = App::start(&db, &sql_store());
    let mut c = app.client();
    c.login("<script>alert(1)</script>")
        .redirects_to("/welcome/");
    let welcome = page(c.get("/welcome/"));
    // minijinja also escapes `/` (as `&#x2f;`), which a browser shows as `/`.
    assert!(
        welcome.contains("好久不见欢迎回来&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{welcome}"
    );
    assert!(!welcome.contains("<script>"), "{welcome}");
    // A student name is escaped on the list page too.
    page(c.submit("/add_student/", &[("name", "<img src=x onerror=alert(1)>")]));
    let list = page(c.get("/get_all_student/"));
    assert!(
        list.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{list}"
    );
    assert!(!list.contains("<img"), "{list}");
}

#[test]
fn serve_refuses_bodies_over_16_kib() {
    let db = sqlite();
    db.create_tables();
    let app = App::start(&db, &sql_store());
    let mut c = app.client();
    let token = c.get("/").csrf_token();
    let big = "x".repeat(17 * 1024);
    let r = c.post_form("/add_student/", &[("csrf_token", &token), ("name", &big)]);
    r.status(413);
    assert_eq!(r.body.trim_end().lines().count(), 1, "{r:#?}");
    let r = c.send(Req::new("POST", "/api/students").json(&json!({ "name": big })));
    r.status(413);
    let r = c.post_form(
        "/loginsuccess/",
        &[("csrf_token", &token), ("username", &big)],
    );
    r.status(413);
    assert!(db.rows().is_empty());
    // Just under the limit is read (and refused for what it says, not for its size).
    let under = "y".repeat(15 * 1024);
    let r = c.post_form("/add_student/", &[("csrf_token", &token), ("name", &under)]);
    r.status(400);
}

#[test]
fn serve_sends_the_security_headers() {
    let db = sqlite();
    db.create_tables();
    let app = App::start(&db, &sql_store());
    let mut c = app.client();
    let session_pages = ["/", "/login/", "/welcome/", "/writesession/"];
    let other_pages = [
        "/get_all_student/",
        "/api/students",
        "/healthz",
        "/nowhere",
        "/add_student/",
    ];
    for path in session_pages.iter().chain(&other_pages) {
        let r = c.get(path);
        let csp = r
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: {r:#?}"));
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert!(
            r.headers("vary")
                .iter()
                .any(|v| v.eq_ignore_ascii_case("cookie")),
            "{path}: {r:#?}"
        );
        if session_pages.contains(path) {
            assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        }
    }
    c.login("小明");
    let r = c.get("/welcome/");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let cookie = r.set_cookie("session").expect("the touched cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "develop serves http://localhost: {cookie}"
    );
}

/// `cli serve` under `product` with `secret` (none when `None`) in `STUDENTS_SECRET_KEY`,
/// named by `secret_key_env` as the example settings file does.
fn product(db: &TestDb, secret: Option<&str>, default_table: &str) -> Result<App, tests::Out> {
    let mut launch = Launch::with_settings(default_table).env("APP_ENV", "product");
    if let Some(secret) = secret {
        launch
            .settings
            .push_str("[product]\nsecret_key_env = \"STUDENTS_SECRET_KEY\"\n");
        launch = launch.env("STUDENTS_SECRET_KEY", secret);
    }
    App::try_start(db, &launch)
}

#[test]
fn serve_under_product_needs_a_real_secret() {
    let db = sqlite();
    db.create_tables();
    let cases = [
        (None, "", "no `secret_key`"),
        (Some("short"), "", "5 bytes; at least 32"),
        (
            None,
            "secret_key = \"super secret key\"",
            "the example file's value",
        ),
    ];
    for (secret, settings, reason) in cases {
        let out = product(&db, secret, settings).map(|_| ()).unwrap_err();
        let out = out.fails(2);
        assert!(out.stderr.contains(reason), "{reason}: {out:#?}");
        assert!(out.stderr.contains("product"), "{out:#?}");
        if let Some(secret) = secret {
            assert!(
                !out.stderr.contains(secret),
                "the secret is shown: {out:#?}"
            );
        }
    }
}

#[test]
fn serve_under_product_sends_secure_cookies_and_keeps_the_tables() {
    let db = sqlite();
    db.create_tables();
    let app = product(&db, Some(PRODUCT_SECRET), "").unwrap();
    let mut c = app.client();
    let r = c.login("小明");
    r.redirects_to("/welcome/");
    let cookie = r.set_cookie("session").unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let refused = c.submit("/drop_table/", &[]);
    refused.status(403);
    assert!(refused.body.contains("product"), "{refused:#?}");
    assert!(db.has_table("student"));
    assert!(!app.log().contains(PRODUCT_SECRET));
}

#[test]
fn serve_logs_one_line_per_request_and_no_secrets() {
    let db = sqlite();
    db.create_tables();
    let app = App::start(&db, &sql_store());
    let mut c = app.client();
    let mut requests = app.wait_for_access_lines(1).len(); // the harness's /healthz
    let mut seen = Vec::new();
    page(c.get("/writesession/"));
    requests += 1;
    seen.push(c.cookie("session").unwrap().to_owned());
    let token = c.get("/login/").csrf_token();
    requests += 1;
    let r = c.post_form(
        "/loginsuccess/",
        &[("csrf_token", &token), ("username", "secret-user")],
    );
    requests += 1;
    r.redirects_to("/welcome/");
    seen.push(c.cookie("session").unwrap().to_owned());
    page(c.get("/welcome/?q=query-value"));
    requests += 1;
    page(c.submit(
        "/add_student/",
        &[("name", "form-value-name"), ("score", "77.25")],
    ));
    requests += 2;
    c.get("/nowhere");
    c.get("/add_student/");
    requests += 2;
    let lines = app.wait_for_access_lines(requests);
    assert_eq!(lines.len(), requests, "{lines:#?}");
    assert!(
        lines.contains(&"POST /loginsuccess/ 303".to_owned())
            || lines
                .iter()
                .any(|l| l.starts_with("POST /loginsuccess/ 303 ")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("GET /welcome/ 200 ")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("GET /nowhere 404 ")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET /add_student/ 405 ")),
        "{lines:#?}"
    );
    let log = app.log();
    for cookie in &seen {
        let (id, tag) = cookie.split_once('.').unwrap();
        assert!(!log.contains(id), "a session id is in the log:\n{log}");
        assert!(!log.contains(tag), "a cookie is in the log:\n{log}");
    }
    for value in [
        "secret-user",
        "query-value",
        "form-value-name",
        "77.25",
        &token,
    ] {
        assert!(!log.contains(value), "{value} is in the log:\n{log}");
    }
    for line in log.lines() {
        assert!(
            is_access_line(line) || line.starts_with("serving on "),
            "an unexpected log line: {line}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reliability: a server going away, and stopping.

/// Asserts a 503 whose body is one line saying `what` is unavailable, and nothing internal.
#[track_caller]
fn unavailable(r: &Resp, what: &str, port: u16) {
    r.status(503);
    assert_eq!(r.body.trim_end().lines().count(), 1, "{r:#?}");
    assert!(r.body.contains(what), "{r:#?}");
    for internal in [
        &port.to_string(),
        "127.0.0.1",
        "redis://",
        "mysql://",
        "error:",
        "Error",
    ] {
        assert!(!r.body.contains(internal), "{internal} shown: {r:#?}");
    }
}

#[test]
fn serve_keeps_the_student_pages_while_the_session_store_is_down() {
    let Some(mut redis) = tests::servers::PrivateRedis::start() else {
        return;
    };
    let db = sqlite();
    db.create_tables();
    db.cli(&tests::ADD_XIAOMING).ok();
    let launch = Launch::with_settings(&format!(
        "secret_key = \"a test secret\"\nsession_type = \"redis\"\nsession_url = \"{}\"\nconnect_timeout = 2",
        redis.url()
    ));
    let app = App::start(&db, &launch);
    let mut c = app.client();
    c.login("小明").redirects_to("/welcome/");

    redis.kill();
    unavailable(
        &c.get("/welcome/"),
        "the session store is unavailable",
        redis.port,
    );
    unavailable(
        &c.get("/login/"),
        "the session store is unavailable",
        redis.port,
    );
    unavailable(
        &c.get("/writesession/"),
        "the session store is unavailable",
        redis.port,
    );
    let health = c.get("/healthz");
    unavailable(&health, "the session store", redis.port);
    assert!(!health.body.contains("database"), "{health:#?}");
    // Pages that need no session go on.
    assert!(page(c.get("/get_all_student/")).contains("姓名:小明 年纪:16成绩:80.0"));
    let api = c.send(Req::new("POST", "/api/students").json(&json!({"name": "小红"})));
    api.status(201);
    assert_eq!(db.names(), ["小明", "小红"]);

    // Back by itself once Redis is (empty: the old session is gone, a new login works).
    redis.restart();
    tests::servers::wait_until("/healthz", Duration::from_secs(20), || {
        app.client().get("/healthz").status == 200
    });
    c.get("/welcome/").redirects_to("/login/");
    c.login("小明").redirects_to("/welcome/");
    assert!(page(c.get("/welcome/")).contains("小明"));
    let log = app.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn serve_keeps_the_session_pages_while_the_database_is_down() {
    let Some(mut maria) = tests::servers::PrivateMariaDb::start(&[]) else {
        return;
    };
    let db = sqlite();
    let launch = Launch::with_settings(
        "secret_key = \"a test secret\"\nsession_type = \"filesystem\"\nconnect_timeout = 2",
    )
    .env("DATABASE_URL", &maria.url());
    let app = App::start(&db, &launch);
    let mut c = app.client();
    page(c.submit("/createmodel/", &[]));
    page(c.submit("/add_student/", &[("name", "小明")]));
    c.login("小明").redirects_to("/welcome/");

    maria.kill();
    unavailable(
        &c.get("/get_all_student/"),
        "the database is unavailable",
        maria.port,
    );
    let api = c.get("/api/students");
    api.status(503);
    let error: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(
        error["error"],
        "the database is unavailable; try again shortly"
    );
    unavailable(
        &c.submit("/add_student/", &[("name", "小红")]),
        "the database",
        maria.port,
    );
    unavailable(&c.get("/healthz"), "the database", maria.port);
    // Pages that need only the session go on.
    assert!(page(c.get("/welcome/")).contains("好久不见欢迎回来小明"));
    page(c.get("/writesession/"));
    let mut other = app.client();
    other.login("小红").redirects_to("/welcome/");

    maria.restart();
    tests::servers::wait_until("/get_all_student/", Duration::from_secs(30), || {
        app.client().get("/get_all_student/").status == 200
    });
    assert!(page(c.get("/get_all_student/")).contains("姓名:小明"));
    page(c.get("/healthz"));
    page(c.submit("/add_student/", &[("name", "小红")]));
    assert!(!app.log().contains("panicked"));
}

#[test]
fn serve_starts_while_the_session_store_is_down_and_uses_it_when_it_comes() {
    let Some(mut redis) = tests::servers::PrivateRedis::start() else {
        return;
    };
    redis.kill();
    let db = sqlite();
    db.create_tables();
    let launch = Launch::with_settings(&format!(
        "secret_key = \"a test secret\"\nsession_type = \"redis\"\nsession_url = \"{}\"\nconnect_timeout = 1",
        redis.url()
    ));
    let app = App::start(&db, &launch);
    let mut c = app.client();
    assert!(
        app.log().contains("the session store (redis at 127.0.0.1:")
            && app.log().contains("connection refused")
            && app.log().contains("serving anyway"),
        "{}",
        app.log()
    );
    assert_eq!(c.get("/writesession/").status, 503);
    page(c.get("/get_all_student/"));
    redis.restart();
    tests::servers::wait_until("/writesession/", Duration::from_secs(30), || {
        app.client().get("/writesession/").status == 200
    });
    c.login("小明").redirects_to("/welcome/");
    assert!(page(c.get("/welcome/")).contains("好久不见欢迎回来小明"));
}

#[test]
fn serve_starts_while_the_database_is_down_and_serves_when_it_comes() {
    let Some(mut maria) = tests::servers::PrivateMariaDb::start(&[]) else {
        return;
    };
    let db = sqlite();
    let created = db
        .command()
        .env("DATABASE_URL", maria.url())
        .arg("create-tables")
        .output()
        .unwrap();
    tests::Out::from_output(created).ok();
    maria.kill();
    let launch = Launch::with_settings(
        "secret_key = \"a test secret\"\nsession_type = \"filesystem\"\nconnect_timeout = 1",
    )
    .env("DATABASE_URL", &maria.url());
    let app = App::start(&db, &launch);
    let mut c = app.client();
    unavailable(
        &c.get("/get_all_student/"),
        "the database is unavailable",
        maria.port,
    );
    c.login("小明").redirects_to("/welcome/");
    assert!(app.log().contains("serving anyway"), "{}", app.log());
    maria.restart();
    tests::servers::wait_until("/get_all_student/", Duration::from_secs(30), || {
        app.client().get("/get_all_student/").status == 200
    });
    page(c.get("/healthz"));
}

/// Rows enough that the page cannot sit whole in the buffers between the server and a client
/// that stops reading.
const HELD_ROWS: usize = 200_000;

#[test]
fn serve_finishes_a_request_in_flight_on_sigterm_and_exits_0() {
    let db = sqlite();
    db.create_tables();
    add_many(&db, HELD_ROWS);
    // Grace enough for the whole page on a debug build.
    let launch = Launch {
        grace: Some(30),
        ..sql_store()
    };
    let mut app = App::start(&db, &launch);
    let mut c = app.client();
    let response = c.open(Req::new("GET", "/get_all_student/"));
    let mut body = response.into_body().into_reader();
    let mut first = vec![0u8; 4096];
    body.read_exact(&mut first).unwrap();

    app.signal("TERM");
    // No new connections...
    let port = app.port;
    tests::servers::wait_until("the listener to close", Duration::from_secs(5), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    // ...but the page in flight ends whole.
    let mut rest = String::new();
    if let Err(e) = body.read_to_string(&mut rest) {
        panic!(
            "the page in flight was cut off ({e}) after {} bytes\n{}",
            rest.len(),
            app.log()
        );
    }
    let lines =
        String::from_utf8_lossy(&first).matches("<li>").count() + rest.matches("<li>").count();
    assert_eq!(lines, HELD_ROWS);
    assert!(rest.trim_end().ends_with("</html>"));
    assert_eq!(app.wait_exit(app.grace), Some(0), "{}", app.log());
    let log = app.log();
    assert!(log.contains("GET /get_all_student/ 200"), "{log}");
    assert!(log.lines().last().unwrap().ends_with("stopped"), "{log}");
}

#[test]
fn serve_stops_on_sigint_and_exits_0() {
    let db = sqlite();
    db.create_tables();
    let mut app = App::start(&db, &sql_store());
    page(app.client().get("/healthz"));
    app.signal("INT");
    assert_eq!(app.wait_exit(app.grace), Some(0), "{}", app.log());
}

#[test]
fn serve_cuts_off_a_stalled_request_after_its_grace_and_exits_0() {
    let db = sqlite();
    db.create_tables();
    add_many(&db, HELD_ROWS);
    let launch = Launch {
        grace: Some(1),
        ..sql_store()
    };
    let mut app = App::start(&db, &launch);
    let mut c = app.client();
    let response = c.open(Req::new("GET", "/get_all_student/"));
    let mut body = response.into_body().into_reader();
    let mut first = vec![0u8; 4096];
    body.read_exact(&mut first).unwrap();
    // This client reads no further: the server must not wait for it past its grace.
    app.signal("TERM");
    assert_eq!(
        app.wait_exit(Duration::from_secs(5)),
        Some(0),
        "{}",
        app.log()
    );
    assert!(app.log().contains("cut off"), "{}", app.log());
    let mut rest = Vec::new();
    assert!(
        body.read_to_end(&mut rest).is_err(),
        "a cut-off page must not look complete"
    );
}
