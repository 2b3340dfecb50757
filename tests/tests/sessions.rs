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
