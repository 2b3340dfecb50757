//! MariaDB Galera (issue 10): every command on any node, conflicts retried, ids that are not
//! contiguous, a node without quorum refused with exit 4, and host lists. One private cluster
//! serves the tests that keep every node up (a database each); the test that kills nodes
//! starts its own.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tests::galera::PrivateGalera;
use tests::servers::{free_port, wait_until};
use tests::{Out, cli_command};

/// `cli ARGS` against `url`, in a fresh directory.
fn cli(url: &str, args: &[&str]) -> Out {
    Out::from_output(command(url, args).output().unwrap())
}

fn command(url: &str, args: &[&str]) -> Command {
    let mut cmd = cli_command(&std::env::temp_dir());
    cmd.env("DATABASE_URL", url).args(args);
    cmd
}

fn spawn(url: &str, args: &[&str]) -> Child {
    command(url, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Out {
    Out::from_output(child.wait_with_output().unwrap())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

#[test]
fn create_tables_on_one_node_is_seen_on_every_node_and_concurrent_runs_both_succeed() {
    let Some(g) = PrivateGalera::shared() else {
        return;
    };
    let db = unique("g_create");
    let urls = g.database(&db);
    cli(&urls[0], &["create-tables"]).ok();
    for url in &urls[1..] {
        let status = cli(url, &["migrate", "status"]).ok();
        assert!(!status.stdout.contains("pending"), "{status:?}");
        cli(url, &["list"]).ok();
        assert_eq!(
            cli(url, &["create-tables"]).ok().stdout.trim(),
            "schema is already up to date; nothing to create"
        );
    }
    // Two nodes at once: GET_LOCK is node-local, so only the cluster-wide lock row keeps
    // them from both creating `student` (one used to fail with "already exists", partway).
    for round in 0..3 {
        let db = unique(&format!("g_create{round}"));
        let urls = g.database(&db);
        let one = spawn(&urls[1], &["create-tables"]);
        let two = spawn(&urls[2], &["create-tables"]);
        let (one, two) = (finish(one).ok(), finish(two).ok());
        let created = [&one, &two]
            .iter()
            .filter(|o| o.stdout.contains("created tables: student, sessions"))
            .count();
        assert_eq!(created, 1, "exactly one run creates\n{one:?}\n{two:?}");
        for i in 0..3 {
            assert_eq!(g.count(i, &db, "seaql_migrations"), 3);
        }
    }
}

#[test]
fn concurrent_seeds_on_two_nodes_are_both_exact_and_every_node_has_the_total() {
    let Some(g) = PrivateGalera::shared() else {
        return;
    };
    let db = unique("g_seed");
    let urls = g.database(&db);
    cli(&urls[0], &["create-tables"]).ok();
    let one = spawn(&urls[0], &["seed", "--count", "20000"]);
    let two = spawn(&urls[1], &["seed", "--count", "20000"]);
    for out in [finish(one).ok(), finish(two).ok()] {
        assert!(
            out.stdout.starts_with("added 20000 students in "),
            "{out:?}"
        );
    }
    for i in 0..3 {
        assert_eq!(g.count(i, &db, "student"), 40_000, "node {}", i + 1);
    }
    // auto_increment_increment = 3 with one offset per node: each node's ids are one residue
    // mod 3, so the ids are not contiguous, and nothing assumed they were.
    let residues = g.sql(
        2,
        &format!("SELECT COUNT(DISTINCT id % 3) FROM `{db}`.student"),
    );
    assert_eq!(residues, "2");
}

#[test]
fn the_same_name_added_on_two_nodes_at_once_is_stored_once_and_the_loser_exits_3() {
    let Some(g) = PrivateGalera::shared() else {
        return;
    };
    let db = unique("g_dup");
    let urls = g.database(&db);
    cli(&urls[0], &["create-tables"]).ok();
    for round in 0..6 {
        let name = format!("race-{round}");
        let args = [
            "add-student",
            "--name",
            &name,
            "--age",
            "20",
            "--score",
            "90",
        ];
        let one = spawn(&urls[0], &args);
        let two = spawn(&urls[1], &args);
        let outs = [finish(one), finish(two)];
        let winners: Vec<&Out> = outs.iter().filter(|o| o.code == 0).collect();
        assert_eq!(winners.len(), 1, "{outs:#?}");
        let loser = outs.iter().find(|o| o.code != 0).unwrap();
        assert_eq!(loser.code, 3, "{loser:?}");
        assert!(loser.stderr.contains("already exists"), "{loser:?}");
        for i in 0..3 {
            let n = g.sql(
                i,
                &format!(
                    "SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM `{db}`.student WHERE s_name = '{name}'"
                ),
            );
            assert_eq!(n, "1", "node {}", i + 1);
        }
    }
}

#[test]
fn list_is_the_same_on_every_node() {
    let Some(g) = PrivateGalera::shared() else {
        return;
    };
    let db = unique("g_list");
    let urls = g.database(&db);
    cli(&urls[0], &["create-tables"]).ok();
    cli(&urls[0], &["seed", "--count", "300", "--seed", "7"]).ok();
    cli(&urls[1], &tests::ADD_XIAOMING).ok();
    cli(&urls[2], &["seed", "--count", "200"]).ok();
    // Right after the writes, with no wait: reads are causal on every node.
    let lists: Vec<String> = urls
        .iter()
        .map(|u| cli(u, &["list", "--format", "csv"]).ok().stdout)
        .collect();
    assert_eq!(lists[0].lines().count(), 502, "header + 501 rows");
    assert_eq!(lists[0], lists[1]);
    assert_eq!(lists[0], lists[2]);
}

#[test]
fn a_host_list_skips_a_dead_first_host_and_config_says_which_host_and_why() {
    let Some(g) = PrivateGalera::shared() else {
        return;
    };
    let db = unique("g_hosts");
    let urls = g.database(&db);
    cli(&urls[0], &["create-tables"]).ok();
    let dead = free_port();
    let (p2, p3) = (g.ports[1], g.ports[2]);
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.toml");
    std::fs::write(
        &settings,
        format!(
            "[default]\ndialect = \"mysql\"\nusername = \"app\"\npassword = \"{}\"\n\
             hosts = [\"127.0.0.1:{dead}\", \"127.0.0.1:{p2}\", \"127.0.0.1:{p3}\"]\n\
             database = \"{db}\"\n",
            PrivateGalera::PASSWORD
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = cli_command(dir.path());
        Out::from_output(cmd.args(args).output().unwrap())
    };
    let config = run(&["config"]).ok();
    let expected = format!("127.0.0.1:{p2} (first synced; 127.0.0.1:{dead} refused connection)");
    assert!(config.stdout.contains(&expected), "{config:?}");
    assert!(
        config
            .stdout
            .contains(&format!("127.0.0.1:{dead}, 127.0.0.1:{p2}, 127.0.0.1:{p3}")),
        "{config:?}"
    );
    assert!(!config.stdout.contains("p@ss"), "{config:?}");
    run(&[
        "add-student",
        "--name",
        "via-list",
        "--age",
        "20",
        "--score",
        "1",
    ])
    .ok();
    let list = cli(&urls[2], &["list", "--format", "csv"]).ok();
    assert!(list.stdout.contains("via-list"), "{list:?}");
    // The same list in the URL, with every host dead: one line naming each, exit 4.
    let url = format!(
        "mysql://app:{}@127.0.0.1:{dead},127.0.0.1:{}/{db}",
        g.password(),
        free_port()
    );
    let out = cli(&url, &["list"]).fails(4);
    assert!(
        out.stderr
            .contains("cannot connect to the database at any of"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("p@ss"), "{out:?}");
}

/// A cluster of its own: it loses nodes for good.
#[test]
fn a_seed_survives_a_node_killed_and_a_node_without_quorum_exits_4() {
    let Some(mut g) = PrivateGalera::start() else {
        return;
    };
    let urls = g.database("kill");
    cli(&urls[0], &["create-tables"]).ok();
    let seed = spawn(
        &urls[0],
        &["seed", "--count", "200000", "--batch-rows", "200"],
    );
    // Node 3 dies once the seed is sending its INSERTs (not after some sleep).
    wait_until("the seed's INSERTs", Duration::from_secs(60), || {
        g.try_sql(
            0,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app' AND DB = 'kill' AND INFO LIKE 'INSERT%'",
        )
        .is_some_and(|n| n != "0")
    });
    g.kill(2);
    let out = finish(seed).ok();
    assert!(
        out.stdout.starts_with("added 200000 students in "),
        "{out:?}"
    );
    assert_eq!(g.count(0, "kill", "student"), 200_000);
    assert_eq!(g.count(1, "kill", "student"), 200_000);

    // Node 2 dies too: node 1 alone is 1 of 3, no majority, and refuses queries with 1047.
    g.kill(1);
    wait_until("node 1 loses quorum", Duration::from_secs(60), || {
        g.ready(0).as_deref() == Some("OFF")
    });
    let out = cli(&urls[0], &["list"]).fails(4);
    assert!(
        out.stderr.contains("is not part of the primary component"),
        "{out:?}"
    );
    // And a host list of only such nodes (and a dead one) says so for each.
    let url = format!(
        "mysql://app:{}@127.0.0.1:{},127.0.0.1:{}/kill",
        g.password(),
        g.ports[2],
        g.ports[0]
    );
    let out = cli(&url, &["list"]).fails(4);
    assert!(
        out.stderr.contains(&format!(
            "127.0.0.1:{} is not part of the primary component",
            g.ports[0]
        )),
        "{out:?}"
    );
}
