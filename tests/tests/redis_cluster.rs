//! Sessions on Redis Cluster and Redis Sentinel (issue 10): the conformance suite on each,
//! sessions spread over every master, the operator commands over all of them, and failover.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sessions::stores::RedisStore;
use sessions::{Data, Sessions, Store, StoreKey};
use tests::redis_servers::{RedisCluster, RedisSentinel};
use tests::session_stores::{Raw, conformance, settings, through_tower_sessions};

/// What a test's prefix holds on the given ports, through redis-cli.
struct Nodes {
    ports: Vec<u16>,
    prefix: String,
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Raw for Nodes {
    fn dump(&self) -> String {
        let mut out = String::new();
        for &p in &self.ports {
            for key in redis_cli(p, &["--scan", "--pattern", &format!("{}*", self.prefix)]).lines()
            {
                out.push_str(key);
                out.push_str(&redis_cli(p, &["get", key]));
            }
        }
        out
    }

    fn corrupt(&self, key: &StoreKey) {
        // `-c` follows MOVED to the node that owns the key's slot.
        let out = std::process::Command::new("redis-cli")
            .args(["-c", "-h", "127.0.0.1", "-p", &self.ports[0].to_string()])
            .args([
                "set",
                &format!("{}{}", self.prefix, key.as_str()),
                "\u{80}pickle",
                "EX",
                "60",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
}

async fn open(url: &str, prefix: &str) -> Arc<RedisStore> {
    Arc::new(
        RedisStore::open(
            &settings::SecretUrl::new(url),
            prefix,
            Duration::from_secs(2),
        )
        .await
        .unwrap(),
    )
}

/// Creates sessions until one succeeds, within `limit`; every failure on the way must be the
/// store being unavailable (a 503 to the web), never another error.
async fn create_until_it_works(sessions: &Sessions, limit: Duration) -> usize {
    let start = Instant::now();
    let mut unavailable = 0;
    loop {
        match sessions.create(Data::new()).await {
            Ok(_) => return unavailable,
            Err(e) => {
                assert!(e.is_unavailable(), "during a failover: {e}");
                unavailable += 1;
                assert!(start.elapsed() < limit, "no failover within {limit:?}: {e}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_cluster_sessions_spread_over_masters_and_survive_a_failover() {
    let Some(mut cluster) = RedisCluster::start() else {
        return;
    };
    let prefix = "session:";
    let store = open(&cluster.url(), prefix).await;
    let raw = Nodes {
        ports: cluster.ports.clone(),
        prefix: prefix.to_owned(),
    };
    conformance(store.clone(), &raw, true).await;
    let sessions = Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(600), None, 65536),
    );
    through_tower_sessions(sessions.clone()).await;

    for i in 0..60 {
        let data: Data = [("n".to_owned(), serde_json::json!(i))]
            .into_iter()
            .collect();
        sessions.create(data).await.unwrap();
    }
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "{masters:?}");
    for &m in &masters {
        assert!(
            cluster.keys_on(m, "session:*") > 0,
            "no session on master {m}"
        );
    }

    // The operator commands see every master.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.toml"),
        format!(
            "[default]\nsession_type = \"redis\"\nsession_url = \"{}\"\nconnect_timeout = 2\n",
            cluster.url()
        ),
    )
    .unwrap();
    let cli = |args: &[&str]| {
        tests::Out::from_output(tests::cli_command(dir.path()).args(args).output().unwrap())
    };
    let listed = cli(&["sessions", "list", "--format", "json"]).ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(rows.len(), 60, "{}", listed.stdout);
    let stats = cli(&["sessions", "stats"]).ok();
    assert!(stats.stdout.contains("live     60"), "{stats:?}");
    let cleanup = cli(&["sessions", "cleanup"]).ok();
    assert!(
        cleanup
            .stdout
            .contains("Redis removes expired sessions itself"),
        "{cleanup:?}"
    );

    // A master dies: until a replica takes its slots, writes there are "unavailable" (503),
    // then they work again.
    let victim = masters[0];
    cluster.kill(victim);
    let unavailable = create_until_it_works_everywhere(&sessions, Duration::from_secs(60)).await;
    assert!(cluster.ok());
    assert!(!cluster.masters().contains(&victim));
    eprintln!("writes refused as unavailable during the failover: {unavailable}");
    let cleared = cli(&["sessions", "clear", "--yes"]).ok();
    assert!(cleared.stdout.contains("cleared"), "{cleared:?}");
}

/// Creates sessions until 30 in a row succeed (so every slot range is served again).
async fn create_until_it_works_everywhere(sessions: &Sessions, limit: Duration) -> usize {
    let start = Instant::now();
    let mut unavailable = 0;
    let mut streak = 0;
    while streak < 30 {
        match sessions.create(Data::new()).await {
            Ok(_) => streak += 1,
            Err(e) => {
                assert!(e.is_unavailable(), "during a failover: {e}");
                unavailable += 1;
                streak = 0;
                assert!(start.elapsed() < limit, "no failover within {limit:?}: {e}");
            }
        }
    }
    unavailable
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_sentinel_sessions_follow_the_master_through_a_failover() {
    let Some(mut deployment) = RedisSentinel::start() else {
        return;
    };
    let store = open(&deployment.url(), "session:").await;
    let raw = Nodes {
        ports: vec![deployment.master],
        prefix: "session:".to_owned(),
    };
    conformance(store.clone(), &raw, true).await;
    let sessions = Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(600), None, 65536),
    );
    let master = deployment.master;
    deployment.kill(master);
    create_until_it_works(&sessions, Duration::from_secs(60)).await;
    assert_eq!(deployment.current_master(), Some(deployment.replica));
    store.ping().await.unwrap();
}

/// One HTTP/1.1 GET on loopback: the status code.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        tests::servers::stop(&mut self.0);
    }
}

#[test]
fn serve_on_a_redis_cluster_answers_503_not_500_during_a_failover() {
    let Some(mut cluster) = RedisCluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.toml"),
        format!(
            "[default]\nsession_type = \"redis\"\nsession_url = \"{}\"\nconnect_timeout = 2\n",
            cluster.url()
        ),
    )
    .unwrap();
    let port = tests::servers::free_port();
    let child = tests::cli_command(dir.path())
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _serve = Serve(child);
    tests::servers::wait_until("cli serve", Duration::from_secs(60), || {
        get_status(port, "/healthz") == Some(200)
    });
    // Every request makes a new session: a third of them land on the master that dies.
    for _ in 0..20 {
        assert_eq!(get_status(port, "/writesession/"), Some(200));
    }
    let victim = cluster.masters()[0];
    cluster.kill(victim);
    let start = Instant::now();
    let (mut refused, mut streak) = (0, 0);
    while streak < 30 {
        match get_status(port, "/writesession/") {
            Some(200) => streak += 1,
            Some(503) => {
                refused += 1;
                streak = 0;
            }
            other => panic!("during a failover the page answered {other:?}, not 200 or 503"),
        }
        assert!(start.elapsed() < Duration::from_secs(90), "no recovery");
    }
    eprintln!("pages answered 503 during the failover: {refused}");
    assert_eq!(get_status(port, "/healthz"), Some(200));
}
