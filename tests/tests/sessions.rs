//! Every session store against the conformance suite on its real server, and the operator
//! commands through the real `cli`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::PathBuf;
use std::time::Duration;

use sessions::StoreKey;
use sessions::stores::FilesystemStore;
use tests::session_stores::{Raw, conformance, settings, shared, through_tower_sessions};

struct Dir(PathBuf);

impl Raw for Dir {
    fn dump(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(&self.0).unwrap() {
            let entry = entry.unwrap();
            out.push_str(&entry.file_name().to_string_lossy());
            out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        out
    }

    fn corrupt(&self, key: &StoreKey) {
        std::fs::write(self.0.join(key.as_str()), b"\x80\x03}q\x00.").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filesystem_store_conforms() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flask_session");
    let store = FilesystemStore::open(&dir).unwrap();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let store = shared(store);
    conformance(store.clone(), &Dir(dir.clone()), false).await;
    let sessions = sessions::Sessions::new(store, &settings(Duration::from_secs(60), None, 65536));
    let (_id, _) = sessions.create(sessions::Data::new()).await.unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "session files are private");
    }
    through_tower_sessions(sessions).await;
}

/// The Redis named by `REDIS_URL`, with a prefix of this test's own.
struct RedisKeys {
    client: fred::prelude::Client,
    prefix: String,
}

impl Raw for RedisKeys {
    fn dump(&self) -> String {
        use fred::prelude::*;
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let keys: Vec<String> = self
                    .client
                    .custom(
                        fred::types::CustomCommand::new_static("KEYS", None, false),
                        vec![format!("{}*", self.prefix)],
                    )
                    .await
                    .unwrap();
                let mut out = String::new();
                for key in keys {
                    let value: Option<String> = self.client.get(&key).await.unwrap();
                    out.push_str(&key);
                    out.push_str(&value.unwrap_or_default());
                }
                out
            })
        })
    }

    fn corrupt(&self, key: &StoreKey) {
        use fred::prelude::*;
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let _: () = self
                    .client
                    .set(
                        format!("{}{}", self.prefix, key.as_str()),
                        "\u{80}\u{3}}q.",
                        Some(fred::types::Expiration::EX(60)),
                        None,
                        false,
                    )
                    .await
                    .unwrap();
            })
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_store_conforms() {
    use fred::prelude::*;
    let Some(url) = tests::server_url("REDIS_URL", "Redis") else {
        return;
    };
    let prefix = format!("test-session-{:016x}:", rand::random::<u64>());
    let secret = settings::SecretUrl::new(url.clone());
    let store = sessions::stores::RedisStore::open(&secret, &prefix, Duration::from_secs(5))
        .await
        .unwrap();
    let client = Builder::from_config(Config::from_url(&url).unwrap())
        .build()
        .unwrap();
    client.init().await.unwrap();
    let raw = RedisKeys {
        client: client.clone(),
        prefix: prefix.clone(),
    };
    let store = shared(store);
    conformance(store.clone(), &raw, true).await;
    let sessions = sessions::Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(60), None, 65536),
    );
    // The value is readable JSON, as `redis-cli get` shows it.
    let (id, _) = sessions
        .create(
            [("age".to_owned(), serde_json::json!(18))]
                .into_iter()
                .collect(),
        )
        .await
        .unwrap();
    let value: String = client
        .get(format!("{prefix}{}", id.key().as_str()))
        .await
        .unwrap();
    assert!(value.ends_with(r#""data":{"age":18}}"#), "{value}");
    let ttl: i64 = client
        .ttl(format!("{prefix}{}", id.key().as_str()))
        .await
        .unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
    through_tower_sessions(sessions).await;
    store.clear().await.unwrap();
    assert!(raw.dump().is_empty(), "the test's keys are cleaned up");
}

#[tokio::test]
async fn redis_down_is_an_error_naming_the_store_without_its_password() {
    let port = tests::servers::free_port();
    let url = settings::SecretUrl::new(format!("redis://:hunter22@127.0.0.1:{port}/0"));
    let err = sessions::stores::RedisStore::open(&url, "session:", Duration::from_secs(2))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(err.is_unavailable(), "{text}");
    assert!(
        text.contains(&format!("redis at 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(!text.contains("hunter22"), "{text}");
}

/// The `sessions` table of a test database.
struct Table<'a>(&'a tests::TestDb);

impl Raw for Table<'_> {
    fn dump(&self) -> String {
        use sea_orm::ConnectionTrait;
        let db = self.0;
        tokio::task::block_in_place(|| {
            db.with_db(async |c| {
                let rows = c
                    .query_all_raw(sea_orm::Statement::from_string(
                        c.get_database_backend(),
                        "SELECT id, data FROM sessions",
                    ))
                    .await
                    .unwrap();
                rows.iter()
                    .map(|r| {
                        let id: String = r.try_get("", "id").unwrap();
                        let data: String = r.try_get("", "data").unwrap();
                        format!("{id}{data}")
                    })
                    .collect::<String>()
            })
        })
    }

    fn corrupt(&self, key: &StoreKey) {
        tokio::task::block_in_place(|| {
            self.0.exec(&format!(
                "UPDATE sessions SET data = 'not json {{' WHERE id = '{}'",
                key.as_str()
            ))
        });
    }
}

fn sql_store_conforms(db: &tests::TestDb) {
    db.create_tables();
    let url = db.url.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let conn = service::connect(&service::ConnectSettings::new(url))
            .await
            .unwrap();
        let store = shared(sessions::stores::SqlStore::new(conn, "sql in test".into()));
        conformance(store.clone(), &Table(db), false).await;
        let sessions =
            sessions::Sessions::new(store, &settings(Duration::from_secs(60), None, 65536));
        through_tower_sessions(sessions).await;
    });
}

fn sql_store_without_its_table_says_to_create_it(db: &tests::TestDb) {
    let url = db.url.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let conn = service::connect(&service::ConnectSettings::new(url))
            .await
            .unwrap();
        let store = sessions::stores::SqlStore::new(conn, "sql in test".into());
        let sessions = sessions::Sessions::new(
            std::sync::Arc::new(store),
            &settings(Duration::from_secs(60), None, 65536),
        );
        let err = sessions.create(sessions::Data::new()).await.unwrap_err();
        assert_eq!(err.exit_code(), 5, "{err}");
        assert!(err.to_string().contains("cli create-tables"), "{err}");
    });
}

tests::each_backend!(
    sql_store_conforms,
    sql_store_without_its_table_says_to_create_it
);

// ---------------------------------------------------------------------------------------------
// memcached and MongoDB, each on a private server of its own.

/// Everything a private memcached holds, as its own `lru_crawler metadump` and `get` show it.
struct MemcachedItems<'a>(&'a tests::servers::PrivateMemcached);

impl Raw for MemcachedItems<'_> {
    fn dump(&self) -> String {
        let dump = self.0.send("lru_crawler metadump hash", None);
        let mut out = dump.clone();
        for line in dump.lines().filter(|l| l.starts_with("key=")) {
            let key = line
                .split_ascii_whitespace()
                .next()
                .unwrap()
                .trim_start_matches("key=");
            let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
            out.push_str(&self.0.send(&format!("get {key}"), None));
        }
        out
    }

    fn corrupt(&self, key: &StoreKey) {
        let bytes = b"\x80\x03}q\x00.";
        let reply = self.0.send(
            &format!("set session:{} 0 60 {}", key.as_str(), bytes.len()),
            Some(bytes),
        );
        assert_eq!(reply, "STORED\r\n");
    }
}

/// The expiry memcached holds for `full_key`, as a Unix time, from its metadump.
fn memcached_exp(mc: &tests::servers::PrivateMemcached, full_key: &str) -> i64 {
    let encoded = full_key.replace(':', "%3A");
    let dump = mc.send("lru_crawler metadump hash", None);
    let line = dump
        .lines()
        .find(|l| l.starts_with(&format!("key={encoded} ")))
        .unwrap_or_else(|| panic!("{full_key} not in {dump}"));
    line.split_ascii_whitespace()
        .find_map(|f| f.strip_prefix("exp="))
        .unwrap()
        .parse()
        .unwrap()
}

fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn memcached_store_conforms() {
    let Some(mc) = tests::servers::PrivateMemcached::start() else {
        return;
    };
    let secret = settings::SecretUrl::new(mc.url());
    let store = sessions::stores::MemcachedStore::open(&secret, "session:", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        sessions::Store::name(&store),
        format!("memcached at 127.0.0.1:{}", mc.port)
    );
    let store = shared(store);
    let raw = MemcachedItems(&mc);
    tests::session_stores::conformance_at_resolution(
        store.clone(),
        &raw,
        true,
        Duration::from_secs(1),
    )
    .await;

    // The value is readable JSON under `session:<store key>`, expiring by memcached's clock.
    let sessions = sessions::Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(60), None, 65536),
    );
    let (id, _) = sessions
        .create(
            [("age".to_owned(), serde_json::json!(18))]
                .into_iter()
                .collect(),
        )
        .await
        .unwrap();
    let full = format!("session:{}", id.key().as_str());
    let value = mc.send(&format!("get {full}"), None);
    assert!(value.contains(r#""data":{"age":18}}"#), "{value}");
    let exp = memcached_exp(&mc, &full) - unix_now();
    assert!((58..=61).contains(&exp), "{exp}");

    // Flask's default 31 days is over memcached's 30-day limit for relative times: sent as
    // relative seconds it would be read as a date in 1970 and the session would be gone.
    let month = sessions::Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(31 * 86_400), None, 65536),
    );
    let (long_id, long_record) = month.create(sessions::Data::new()).await.unwrap();
    assert!(month.load(&long_id).await.unwrap().is_some());
    let full = format!("session:{}", long_id.key().as_str());
    let exp = memcached_exp(&mc, &full) - unix_now();
    assert!((31 * 86_400 - 5..=31 * 86_400 + 1).contains(&exp), "{exp}");
    assert!(month.touch(&long_id, &long_record).await.unwrap());
    assert!(month.load(&long_id).await.unwrap().is_some());

    through_tower_sessions(sessions).await;
    store.clear().await.unwrap();
    let left = raw.dump();
    assert!(
        !left.contains("key=session"),
        "the test's keys are cleaned up: {left}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn memcached_store_keeps_other_keys_and_prefixes_apart() {
    let Some(mc) = tests::servers::PrivateMemcached::start() else {
        return;
    };
    let secret = settings::SecretUrl::new(mc.url());
    let ours = shared(
        sessions::stores::MemcachedStore::open(&secret, "app1:", Duration::from_secs(5))
            .await
            .unwrap(),
    );
    let theirs = shared(
        sessions::stores::MemcachedStore::open(&secret, "app2:", Duration::from_secs(5))
            .await
            .unwrap(),
    );
    let rules = settings(Duration::from_secs(60), None, 65536);
    let (mine, _) = sessions::Sessions::new(ours.clone(), &rules)
        .create(sessions::Data::new())
        .await
        .unwrap();
    sessions::Sessions::new(theirs.clone(), &rules)
        .create(sessions::Data::new())
        .await
        .unwrap();
    assert_eq!(mc.send("set unrelated 0 0 1", Some(b"x")), "STORED\r\n");
    let listed = ours.list(None).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, mine.key());
    assert!(listed[0].expires_at.is_some());
    assert_eq!(ours.stats().await.unwrap().live, 1);
    assert_eq!(ours.clear().await.unwrap(), 1);
    assert_eq!(theirs.list(None).await.unwrap().len(), 1);
    assert!(mc.send("get unrelated", None).contains("VALUE unrelated"));
}

#[tokio::test]
async fn memcached_down_is_an_error_naming_the_store() {
    let port = tests::servers::free_port();
    let url = settings::SecretUrl::new(format!("memcache://127.0.0.1:{port}"));
    let err = sessions::stores::MemcachedStore::open(&url, "session:", Duration::from_secs(2))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(err.is_unavailable(), "{text}");
    assert!(
        text.contains(&format!("memcached at 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
    // memcached takes no password; one in the URL is refused without being shown.
    let url = settings::SecretUrl::new(format!("memcache://app:hunter22@127.0.0.1:{port}"));
    let err = sessions::stores::MemcachedStore::open(&url, "session:", Duration::from_secs(2))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.exit_code(), 2, "{text}");
    assert!(!text.contains("hunter22"), "{text}");
    assert!(
        text.contains(&format!("memcached at 127.0.0.1:{port}")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn memcached_store_comes_back_with_its_server() {
    let Some(mut mc) = tests::servers::PrivateMemcached::start() else {
        return;
    };
    mc.kill();
    let secret = settings::SecretUrl::new(mc.url());
    // Down at start: `cli serve` gets a store all the same, and the reason.
    let (store, down) = sessions::stores::MemcachedStore::open_in_background(
        &secret,
        "session:",
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let down = down.expect("memcached is down");
    assert!(down.is_unavailable(), "{down}");
    let sessions = sessions::Sessions::new(
        shared(store),
        &settings(Duration::from_secs(60), None, 65536),
    );
    let err = sessions.create(sessions::Data::new()).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    mc.restart();
    let (id, _) = sessions.create(sessions::Data::new()).await.unwrap();
    assert!(sessions.load(&id).await.unwrap().is_some());
    // A restart (the pooled connections now dead) costs no failed request.
    mc.restart();
    assert!(sessions.load(&id).await.unwrap().is_none());
    let (again, _) = sessions.create(sessions::Data::new()).await.unwrap();
    assert!(sessions.load(&again).await.unwrap().is_some());
}

/// Runs `cli` in `dir` (which holds settings.toml).
fn cli_in(dir: &std::path::Path, args: &[&str]) -> tests::Out {
    tests::Out::from_output(tests::cli_command(dir).args(args).output().unwrap())
}

/// A settings file naming `session_type` and `session_url`.
fn store_settings(session_type: &str, url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.toml"),
        format!(
            "[default]\nsession_type = \"{session_type}\"\nsession_url = \"{url}\"\nconnect_timeout = 2\n"
        ),
    )
    .unwrap();
    dir
}

/// The operator commands on a store holding two sessions, one named `alice`: what every
/// store shows alike.
async fn cli_sessions_commands(
    store_name: &str,
    dir: &std::path::Path,
    sessions: &sessions::Sessions,
) {
    let data = |name: &str| -> sessions::Data {
        [("username".to_owned(), serde_json::json!(name))]
            .into_iter()
            .collect()
    };
    let (alice, _) = sessions.create(data("alice")).await.unwrap();
    let (bob, _) = sessions.create(data("bob")).await.unwrap();

    let listed = cli_in(dir, &["sessions", "list", "--format", "json"]).ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{}", listed.stdout);
    assert!(
        rows.iter()
            .all(|r| r["names"] == serde_json::json!(["username"]))
    );
    assert!(
        rows.iter().all(|r| r["expires"].is_string()),
        "{}",
        listed.stdout
    );
    assert!(!listed.stdout.contains(alice.expose()));
    let table = cli_in(dir, &["sessions", "list"]).ok();
    assert!(
        table
            .stdout
            .contains(&format!("2 sessions in {store_name}")),
        "{table:?}"
    );
    let limited = cli_in(
        dir,
        &["sessions", "list", "--format", "json", "--limit", "1"],
    )
    .ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&limited.stdout).unwrap();
    assert_eq!(rows.len(), 1);

    let alice_key = alice.key().as_str().to_owned();
    let shown = cli_in(dir, &["sessions", "show", &alice_key]).ok();
    let values: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(values, serde_json::json!({"username": "alice"}));
    let stats = cli_in(dir, &["sessions", "stats"]).ok();
    assert!(
        stats.stdout.contains(&format!("store    {store_name}")),
        "{stats:?}"
    );
    assert!(stats.stdout.contains("live     2"), "{stats:?}");

    let deleted = cli_in(dir, &["sessions", "delete", &alice_key]).ok();
    assert_eq!(
        deleted.stdout.trim(),
        format!("deleted session {alice_key}")
    );
    assert!(sessions.load(&alice).await.unwrap().is_none());
    assert!(sessions.load(&bob).await.unwrap().is_some());
    let again = cli_in(dir, &["sessions", "delete", &alice_key]).ok();
    assert!(again.stdout.contains("nothing deleted"), "{again:?}");
    cli_in(dir, &["sessions", "show", &alice_key]).fails(1);
    let bad = cli_in(dir, &["sessions", "show", "not-a-key"]).fails(2);
    assert!(bad.stderr.contains("invalid session key"), "{bad:?}");

    let cleared = cli_in(dir, &["sessions", "clear", "--yes"]).ok();
    assert_eq!(
        cleared.stdout.trim(),
        format!("cleared 1 session from {store_name}")
    );
    assert!(sessions.load(&bob).await.unwrap().is_none());
    let empty = cli_in(dir, &["sessions", "list", "--format", "json"]).ok();
    assert_eq!(empty.stdout.trim(), "[]");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_sessions_commands_on_memcached() {
    let Some(mc) = tests::servers::PrivateMemcached::start() else {
        return;
    };
    let store = sessions::stores::MemcachedStore::open(
        &settings::SecretUrl::new(mc.url()),
        "session:",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let sessions = sessions::Sessions::new(
        shared(store),
        &settings(Duration::from_secs(600), None, 65536),
    );
    let dir = store_settings("memcached", &mc.url());
    let name = format!("memcached at 127.0.0.1:{}", mc.port);
    cli_sessions_commands(&name, dir.path(), &sessions).await;
    let cleanup = cli_in(dir.path(), &["sessions", "cleanup"]).ok();
    assert_eq!(
        cleanup.stdout.trim(),
        "nothing to do: memcached removes expired sessions itself (each item has an expiry time)"
    );
    let stats = cli_in(dir.path(), &["sessions", "stats"]).ok();
    assert!(stats.stdout.contains("expired  none kept"), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_sessions_on_memcached_without_its_crawler_says_what_it_cannot_do() {
    let Some(mc) = tests::servers::PrivateMemcached::start_with(&["-o", "no_lru_crawler"]) else {
        return;
    };
    let store = sessions::stores::MemcachedStore::open(
        &settings::SecretUrl::new(mc.url()),
        "session:",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let sessions = sessions::Sessions::new(
        shared(store),
        &settings(Duration::from_secs(600), None, 65536),
    );
    let (id, _) = sessions.create(sessions::Data::new()).await.unwrap();
    let dir = store_settings("memcached", &mc.url());
    for (command, what) in [
        (&["sessions", "list"][..], "cannot list sessions"),
        (&["sessions", "stats"][..], "cannot count sessions"),
        (&["sessions", "clear", "--yes"][..], "cannot clear sessions"),
    ] {
        let out = cli_in(dir.path(), command).fails(2);
        assert!(
            out.stderr.contains(&format!(
                "the session store (memcached at 127.0.0.1:{}) {what}",
                mc.port
            )),
            "{out:?}"
        );
        assert!(out.stderr.contains("lru_crawler metadump"), "{out:?}");
    }
    // What needs no listing still works, and nothing was cleared.
    let key = id.key().as_str().to_owned();
    cli_in(dir.path(), &["sessions", "show", &key]).ok();
    cli_in(dir.path(), &["sessions", "cleanup"]).ok();
    cli_in(dir.path(), &["sessions", "delete", &key]).ok();
    assert!(sessions.load(&id).await.unwrap().is_none());
}

#[test]
fn cli_sessions_on_an_unreachable_memcached_or_mongodb_exit_4_naming_it() {
    let port = tests::servers::free_port();
    for (kind, url, shown) in [
        (
            "memcached",
            format!("memcache://127.0.0.1:{port}"),
            format!("memcached at 127.0.0.1:{port}"),
        ),
        (
            "mongodb",
            format!("mongodb://app:hunter22@127.0.0.1:{port}/students"),
            format!("mongodb at 127.0.0.1:{port}"),
        ),
    ] {
        let dir = store_settings(kind, &url);
        let out = cli_in(dir.path(), &["sessions", "list"]).fails(4);
        assert!(out.stderr.contains(&shown), "{out:?}");
        assert!(out.stderr.contains("connection refused"), "{out:?}");
        assert!(!out.stderr.contains("hunter22"), "{out:?}");
    }
}

/// Every document of the private MongoDB's `students.sessions`, as the shell would show them.
struct MongoDocs(mongodb::Collection<mongodb::bson::Document>);

impl Raw for MongoDocs {
    fn dump(&self) -> String {
        use futures_util::TryStreamExt;
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let docs: Vec<mongodb::bson::Document> = self
                    .0
                    .find(mongodb::bson::doc! {})
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                format!("{docs:?}")
            })
        })
    }

    fn corrupt(&self, key: &StoreKey) {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let updated = self
                    .0
                    .update_one(
                        mongodb::bson::doc! { "_id": key.as_str() },
                        mongodb::bson::doc! { "$set": { "data": "\u{80}\u{3}}q." } },
                    )
                    .await
                    .unwrap();
                assert_eq!(updated.matched_count, 1);
            })
        });
    }
}

async fn mongo_collection(
    server: &tests::servers::PrivateMongo,
) -> mongodb::Collection<mongodb::bson::Document> {
    mongodb::Client::with_uri_str(server.url("students"))
        .await
        .unwrap()
        .database("students")
        .collection("sessions")
}

#[tokio::test(flavor = "multi_thread")]
async fn mongodb_store_conforms() {
    use futures_util::TryStreamExt;
    let Some(server) = tests::servers::PrivateMongo::start() else {
        return;
    };
    let secret = settings::SecretUrl::new(server.url("students"));
    let store = sessions::stores::MongoStore::open(&secret, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        sessions::Store::name(&store),
        format!("mongodb at 127.0.0.1:{}", server.port)
    );
    let collection = mongo_collection(&server).await;
    // The TTL index, made at open.
    let indexes: Vec<mongodb::IndexModel> = collection
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let ttl = indexes
        .iter()
        .find(|i| i.keys == mongodb::bson::doc! { "expiresAt": 1 })
        .unwrap_or_else(|| panic!("no index on expiresAt: {indexes:?}"));
    assert_eq!(
        ttl.options.as_ref().and_then(|o| o.expire_after),
        Some(Duration::ZERO)
    );

    let store = shared(store);
    let raw = MongoDocs(collection.clone());
    conformance(store.clone(), &raw, false).await;

    // One document per session: the store key, BSON dates, the data as JSON text.
    let sessions = sessions::Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(60), None, 65536),
    );
    let (id, _) = sessions
        .create(
            [("age".to_owned(), serde_json::json!(18))]
                .into_iter()
                .collect(),
        )
        .await
        .unwrap();
    let doc = collection
        .find_one(mongodb::bson::doc! { "_id": id.key().as_str() })
        .await
        .unwrap()
        .expect("the session's document");
    assert_eq!(doc.get_str("data").unwrap(), r#"{"age":18}"#);
    let left = doc.get_datetime("expiresAt").unwrap().timestamp_millis() - sessions::now_ms();
    assert!((55_000..=60_000).contains(&left), "{left}");
    assert!(doc.get_datetime("created").is_ok(), "{doc:?}");

    // An expired document the TTL monitor has not reached yet is no session, and save and
    // touch do not revive it.
    collection
        .update_one(
            mongodb::bson::doc! { "_id": id.key().as_str() },
            mongodb::bson::doc! { "$set": { "expiresAt": mongodb::bson::DateTime::from_millis(sessions::now_ms() - 1000) } },
        )
        .await
        .unwrap();
    assert!(sessions.load(&id).await.unwrap().is_none());
    let record = sessions::Record::new(sessions::Data::new(), None);
    assert!(!sessions.save(&id, &record).await.unwrap());
    assert!(!sessions.touch(&id, &record).await.unwrap());
    assert_eq!(store.stats().await.unwrap().expired, Some(1));
    assert_eq!(
        store.cleanup().await.unwrap(),
        sessions::Cleanup::Removed(1)
    );
    assert_eq!(
        collection
            .count_documents(mongodb::bson::doc! {})
            .await
            .unwrap(),
        0
    );

    through_tower_sessions(sessions).await;
    store.clear().await.unwrap();
    assert_eq!(raw.dump(), "[]");
}

#[tokio::test]
async fn mongodb_down_is_an_error_naming_the_store_without_its_password() {
    let port = tests::servers::free_port();
    let url = settings::SecretUrl::new(format!("mongodb://app:hunter22@127.0.0.1:{port}/students"));
    let err = sessions::stores::MongoStore::open(&url, Duration::from_secs(2))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(err.is_unavailable(), "{text}");
    assert!(
        text.contains(&format!("mongodb at 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
    assert!(!text.contains("hunter22"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    // In the background, the same reason, and a store all the same.
    let (_store, down) =
        sessions::stores::MongoStore::open_in_background(&url, Duration::from_secs(2))
            .await
            .unwrap();
    assert!(down.is_some_and(|e| e.is_unavailable()));
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_sessions_commands_on_mongodb() {
    let Some(server) = tests::servers::PrivateMongo::start() else {
        return;
    };
    let url = server.url("students");
    let store = sessions::stores::MongoStore::open(
        &settings::SecretUrl::new(url.clone()),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let store = shared(store);
    let sessions = sessions::Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(600), None, 65536),
    );
    let dir = store_settings("mongodb", &url);
    let name = format!("mongodb at 127.0.0.1:{}", server.port);
    cli_sessions_commands(&name, dir.path(), &sessions).await;

    // Cleanup removes what has expired and says how many; stats count it until then.
    let brief = sessions::Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(1), None, 65536),
    );
    brief.create(sessions::Data::new()).await.unwrap();
    brief.create(sessions::Data::new()).await.unwrap();
    sessions.create(sessions::Data::new()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stats = cli_in(dir.path(), &["sessions", "stats"]).ok();
    assert!(stats.stdout.contains("live     1"), "{stats:?}");
    assert!(stats.stdout.contains("expired  2"), "{stats:?}");
    let cleanup = cli_in(dir.path(), &["sessions", "cleanup"]).ok();
    assert_eq!(cleanup.stdout.trim(), "removed 2 expired sessions");
    let stats = cli_in(dir.path(), &["sessions", "stats"]).ok();
    assert!(stats.stdout.contains("expired  0"), "{stats:?}");
}

/// `cli sessions` whose output cannot be written: a change made stays made and says so (exit
/// 6), a listing to a reader that went away is no error, one to a full disk is (exit 1).
#[tokio::test(flavor = "multi_thread")]
async fn cli_sessions_with_output_that_cannot_be_written() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.toml"),
        "[default]\nsession_type = \"filesystem\"\nsession_dir = \"kept\"\n",
    )
    .unwrap();
    let store = shared(FilesystemStore::open(&dir.path().join("kept")).unwrap());
    let sessions = sessions::Sessions::new(store, &settings(Duration::from_secs(60), None, 65536));
    let (one, _) = sessions.create(sessions::Data::new()).await.unwrap();
    let (two, _) = sessions.create(sessions::Data::new()).await.unwrap();
    let with = |args: &[&str], stdout: Stdio| {
        tests::Out::from_output(
            tests::cli_command(dir.path())
                .args(args)
                .stdout(stdout)
                .output()
                .unwrap(),
        )
    };
    let no_panic = |out: &tests::Out| {
        assert_ne!(out.code, 101, "{out:?}");
        assert!(!out.stderr.contains("panicked"), "{out:?}");
    };

    let deleted = with(
        &["sessions", "delete", one.key().as_str()],
        Stdio::from(tests::dev_full()),
    );
    no_panic(&deleted);
    assert_eq!(deleted.code, 6, "{deleted:?}");
    assert!(
        deleted.stderr.contains("the change was made"),
        "{deleted:?}"
    );
    assert!(sessions.load(&one).await.unwrap().is_none());

    let listed = with(&["sessions", "list"], Stdio::from(tests::closed_pipe()));
    assert_eq!((listed.code, listed.stderr.as_str()), (0, ""), "{listed:?}");
    let stats = with(&["sessions", "stats"], Stdio::from(tests::dev_full()));
    no_panic(&stats);
    assert_eq!(stats.code, 1, "{stats:?}");

    let cleared = with(
        &["sessions", "clear", "--yes"],
        Stdio::from(tests::closed_pipe()),
    );
    no_panic(&cleared);
    assert_eq!(cleared.code, 6, "{cleared:?}");
    assert!(sessions.load(&two).await.unwrap().is_none());
}
