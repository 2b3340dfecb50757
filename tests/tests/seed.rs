//! `seed` at scale: statement boundaries, exact counts and Ctrl-C, on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use sea_orm::DbBackend;
use service::mutation::{max_rows_per_statement, rows_per_statement};
use tests::{Backend, TestDb, each_backend};

each_backend!(
    seed_is_exact_around_statement_boundaries,
    seed_with_the_largest_allowed_statement_is_exact,
    seed_rejects_statements_over_the_bind_limit,
    seed_interrupted_by_sigint_leaves_no_new_rows,
    list_into_a_closed_pipe_exits_0_quietly,
);

fn backend(db: &TestDb) -> DbBackend {
    match db.backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::MySql => DbBackend::MySql,
        Backend::Postgres => DbBackend::Postgres,
    }
}

fn seed(db: &TestDb, count: usize, extra: &[&str]) -> String {
    let count = count.to_string();
    let mut args = vec!["seed", "--count", count.as_str()];
    args.extend_from_slice(extra);
    let out = db.cli(&args).ok();
    // Not a terminal here: no progress bar, nothing at all on stderr.
    assert_eq!(out.stderr, "", "{out:?}");
    out.stdout
}

fn seed_is_exact_around_statement_boundaries(db: &TestDb) {
    db.create_tables();
    let chunk = rows_per_statement(backend(db));
    let mut expected = 0;
    // One under, exactly, one over a statement, then several statements.
    for count in [chunk - 1, chunk, chunk + 1, 2 * chunk + chunk / 2] {
        let out = seed(db, count, &[]);
        assert!(out.starts_with(&format!("added {count} students")), "{out}");
        expected += count;
        assert_eq!(db.rows().len(), expected);
    }
}

fn seed_with_the_largest_allowed_statement_is_exact(db: &TestDb) {
    db.create_tables();
    let max = max_rows_per_statement(backend(db));
    // Pre-fill with the same seed so every generated name of the first statement collides.
    seed(db, 500, &["--seed", "11"]);
    let out = seed(
        db,
        max + 1,
        &["--seed", "11", "--batch-rows", &max.to_string()],
    );
    assert!(
        out.starts_with(&format!("added {} students", max + 1)),
        "{out}"
    );
    assert_eq!(db.rows().len(), 500 + max + 1);
}

fn seed_rejects_statements_over_the_bind_limit(db: &TestDb) {
    db.create_tables();
    let over = (max_rows_per_statement(backend(db)) + 1).to_string();
    let out = db
        .cli(&["seed", "--count", "10", "--batch-rows", &over])
        .fails(2);
    assert!(
        out.stderr.contains(&over) && out.stderr.contains("bind parameters"),
        "{out:?}"
    );
    assert!(db.rows().is_empty());
}

fn seed_interrupted_by_sigint_leaves_no_new_rows(db: &TestDb) {
    db.create_tables();
    seed(db, 100, &[]);
    let before = db.rows();
    // With -v every statement is echoed: the first echoed INSERT proves the transaction is
    // open and writing when the signal arrives. No sleeps.
    let mut child = db
        .command()
        .args(["-v", "seed", "--count", "5000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "seed ended before inserting"
        );
        if line.contains("INSERT") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if !line.contains("INSERT") {
            rest.push_str(&line);
        }
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{rest}");
    assert!(
        rest.contains("error: interrupted; the transaction was rolled back"),
        "{rest}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(db.rows(), before);
}

fn list_into_a_closed_pipe_exits_0_quietly(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "20000"]).ok();
    for format in ["table", "json", "csv"] {
        let mut child = db
            .command()
            .args(["list", "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is gone (like `head -1`); the rest of the output has nowhere to go.
        let out = child.wait_with_output().unwrap();
        assert!(!first.is_empty());
        assert_eq!(out.status.code(), Some(0), "{format}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}");
    }
}
