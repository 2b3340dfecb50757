//! Writes that must either commit exactly what they report or change nothing: locks, ids
//! that ran out, concurrent seeds, names and scores that would lie when listed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::process::{Child, Stdio};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use service::{ConnectSettings, Error, NewStudent};
use tests::{Backend, Out, TestDb, cli_command, each_backend};

each_backend!(
    add_student_when_ids_run_out_exits_1_and_changes_nothing,
    seed_when_ids_run_out_exits_1_and_changes_nothing,
    seed_four_at_once_with_the_same_seed_adds_exactly_each_count,
    seed_four_at_once_with_different_seeds_adds_exactly_each_count,
    seed_eight_at_once_with_different_seeds_adds_exactly_each_count,
    seed_eight_at_once_with_the_same_seed_adds_exactly_each_count,
    seed_after_a_seed_with_the_same_seed_adds_exactly_n,
    add_student_keeps_names_real_people_write,
    add_student_refuses_invisible_and_direction_changing_names,
    add_student_negative_zero_score_is_stored_as_zero,
    add_student_huge_name_gets_a_short_error,
);

/// Every stored name, ordered by id, read as text: unlike `TestDb::rows` it works when an id
/// does not fit the entity's 32-bit `id`.
fn stored_names(db: &TestDb) -> Vec<String> {
    db.with_db(async |conn| {
        let backend = conn.get_database_backend();
        conn.query_all_raw(Statement::from_string(
            backend,
            "SELECT s_name FROM student ORDER BY id",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "s_name").unwrap())
        .collect()
    })
}

/// Makes the next id of `student` one past 2³¹ - 1, the way another program could: a row
/// with the last 32-bit id (and, on PostgreSQL, the sequence moved to it).
fn use_up_ids(db: &TestDb) {
    db.exec("INSERT INTO student (id, s_name, s_age, s_score) VALUES (2147483647, 'last', 20, 1)");
    if db.backend == Backend::Postgres {
        db.exec("SELECT setval('student_id_seq', 2147483647)");
    }
}

fn add_student_when_ids_run_out_exits_1_and_changes_nothing(db: &TestDb) {
    db.create_tables();
    use_up_ids(db);
    let out = db.cli(&["add-student", "--name", "one too many"]).fails(1);
    assert!(out.stderr.contains("no student id is left"), "{out:?}");
    assert!(out.stderr.contains("nothing was changed"), "{out:?}");
    // Not a taken name (MySQL reports the clash on the primary key as a duplicate).
    assert!(!out.stderr.contains("already exists"), "{out:?}");
    if db.backend == Backend::Sqlite {
        assert!(
            out.stderr
                .contains("the next id, 2147483648, does not fit the 32-bit `id` column"),
            "{out:?}"
        );
    }
    assert_eq!(stored_names(db), ["last"]);
}

fn seed_when_ids_run_out_exits_1_and_changes_nothing(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "5", "--seed", "1"]).ok();
    let before = stored_names(db);
    match db.backend {
        // The issue's own repro: room for 8 more ids, 20 asked for.
        Backend::MySql => db.exec("ALTER TABLE student AUTO_INCREMENT=2147483640"),
        _ => use_up_ids(db),
    }
    let with_last = stored_names(db);
    let out = db.cli(&["seed", "--count", "20"]).fails(1);
    assert!(out.stderr.contains("no student id is left"), "{out:?}");
    assert!(out.stderr.contains("nothing was changed"), "{out:?}");
    assert!(!out.stderr.contains("name is taken"), "{out:?}");
    assert_eq!(stored_names(db), with_last);
    assert!(with_last.starts_with(&before));
}

/// Starts `n` seeds at once; `seed_of(i)` is the `--seed` of the i-th.
fn seeds_at_once(db: &TestDb, n: usize, count: u32, seed_of: impl Fn(usize) -> u64) {
    db.create_tables();
    // Rows already stored make the same seeds collide with them too.
    db.cli(&["seed", "--count", "100", "--seed", &seed_of(0).to_string()])
        .ok();
    let children: Vec<Child> = (0..n)
        .map(|i| {
            db.command()
                .args(["seed", "--count", &count.to_string()])
                .args(["--seed", &seed_of(i).to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Out> = children
        .into_iter()
        .map(|c| Out::from_output(c.wait_with_output().unwrap()))
        .collect();
    for out in &outs {
        assert_eq!(out.code, 0, "{outs:#?}");
        assert!(
            out.stdout.starts_with(&format!("added {count} students")),
            "{out:?}"
        );
    }
    let names = stored_names(db);
    assert_eq!(names.len(), 100 + n * count as usize);
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
}

fn seed_four_at_once_with_the_same_seed_adds_exactly_each_count(db: &TestDb) {
    seeds_at_once(db, 4, 20_000, |_| 31);
}

fn seed_four_at_once_with_different_seeds_adds_exactly_each_count(db: &TestDb) {
    seeds_at_once(db, 4, 100_000, |i| 50 + i as u64);
}

fn seed_eight_at_once_with_different_seeds_adds_exactly_each_count(db: &TestDb) {
    seeds_at_once(db, 8, 20_000, |i| 100 + i as u64);
}

fn seed_eight_at_once_with_the_same_seed_adds_exactly_each_count(db: &TestDb) {
    seeds_at_once(db, 8, 5_000, |_| 32);
}

fn seed_after_a_seed_with_the_same_seed_adds_exactly_n(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "12000", "--seed", "7"]).ok();
    // The same generator first regenerates the 12,000 stored names: every one is taken.
    let out = db.cli(&["seed", "--count", "1", "--seed", "7"]).ok();
    assert!(out.stdout.starts_with("added 1 student "), "{out:?}");
    let out = db.cli(&["seed", "--count", "30", "--seed", "7"]).ok();
    assert!(out.stdout.starts_with("added 30 students"), "{out:?}");
    assert_eq!(stored_names(db).len(), 12_031);
}

#[test]
fn seed_count_over_the_name_space_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: only a count checked before connecting can give exit 2.
    let url = format!("mysql://u:p@127.0.0.1:{}/db", closed_port());
    let space = service::names::NAME_SPACE;
    let over = (space + 1).to_string();
    let out = Out::from_output(
        cli_command(dir.path())
            .args(["--database-url", &url, "seed", "--count", &over])
            .output()
            .unwrap(),
    )
    .fails(2);
    assert!(out.stderr.contains(&format!("`{over}`")), "{out:?}");
    assert!(out.stderr.contains("523994760 distinct names"), "{out:?}");
    // The largest possible count passes the check and goes on to connect.
    let out = Out::from_output(
        cli_command(dir.path())
            .args([
                "--database-url",
                &url,
                "seed",
                "--count",
                &space.to_string(),
            ])
            .output()
            .unwrap(),
    )
    .fails(4);
    assert!(out.stderr.contains("connection refused"), "{out:?}");
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Names with joiners, marks, selectors and tags where real names have them.
const REAL_NAMES: &[&str] = &[
    "नमस्ते",
    "क्\u{200D}ष",
    "می\u{200C}خواهم",
    "👩\u{200D}👩\u{200D}👧",
    "🏳\u{FE0F}\u{200D}🌈",
    "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
    "Zoe\u{0308}",
    "❤\u{FE0F}",
];

fn add_student_keeps_names_real_people_write(db: &TestDb) {
    db.create_tables();
    for name in REAL_NAMES {
        db.cli(&["add-student", "--name", name]).ok();
    }
    assert_eq!(stored_names(db), REAL_NAMES);
    let json: serde_json::Value =
        serde_json::from_str(&db.cli(&["list", "--format", "json"]).ok().stdout).unwrap();
    let listed: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["s_name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, REAL_NAMES);
}

fn add_student_refuses_invisible_and_direction_changing_names(db: &TestDb) {
    db.create_tables();
    let attacks = [
        ("zero\u{200B}width", '\u{200B}'),
        ("evil\u{202E}gnp.exe", '\u{202E}'),
        ("two\u{2028}lines", '\u{2028}'),
        ("\u{3164}", '\u{3164}'),
        ("a \u{200D}b", '\u{200D}'),
    ];
    for (name, c) in attacks {
        let out = db.cli(&["add-student", "--name", name]).fails(2);
        let code = format!("contains U+{:04X}", u32::from(c));
        assert!(out.stderr.contains(&code), "{out:?}");
        // The name is shown escaped: the terminal never receives the character itself.
        assert!(!out.stderr.contains(c), "{out:?}");
    }
    assert!(stored_names(db).is_empty());
}

fn add_student_negative_zero_score_is_stored_as_zero(db: &TestDb) {
    db.create_tables();
    let out = db
        .cli(&["add-student", "--name", "zero", "--score", "-0.0"])
        .ok();
    assert!(out.stdout.trim_end().ends_with("score 0.0"), "{out:?}");
    let csv = db.cli(&["list", "--format", "csv"]).ok().stdout;
    assert_eq!(csv, "id,s_name,s_age,s_score\n1,zero,18,0.0\n");
    let json = db.cli(&["list", "--format", "json"]).ok().stdout;
    assert!(json.contains(r#""s_score":0.0"#), "{json}");
    let row = &db.rows()[0];
    assert!(row.s_score.is_sign_positive(), "{row:?}");
}

fn add_student_huge_name_gets_a_short_error(db: &TestDb) {
    db.create_tables();
    let huge = "名".repeat(40_000); // 120 KB
    let out = db.cli(&["add-student", "--name", &huge]).fails(2);
    assert!(
        out.stderr.len() < 300,
        "{} bytes: {out:?}",
        out.stderr.len()
    );
    assert!(out.stderr.contains("40000 characters"), "{out:?}");
    // What the user typed is shown once, not escaped twice.
    let out = db.cli(&["add-student", "--name", "a\\b\tc"]).fails(2);
    assert!(out.stderr.contains(r"`a\b\u{9}c`"), "{out:?}");
    assert!(stored_names(db).is_empty());
}

// ---- SQLite: another connection reading for longer than the busy timeout ----

/// Runs `f` while another connection holds a read transaction on `db` (SQLite's SHARED
/// lock: a writer cannot commit until it ends), then ends it.
fn while_another_connection_reads<T>(db: &TestDb, f: impl AsyncFnOnce() -> T) -> T {
    db.with_db(async |conn| {
        let reader = conn.begin().await.unwrap();
        reader
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT count(*) FROM sqlite_master",
            ))
            .await
            .unwrap();
        let out = f().await;
        reader.rollback().await.unwrap();
        out
    })
}

fn sqlite() -> TestDb {
    TestDb::new(Backend::Sqlite).unwrap()
}

#[track_caller]
fn assert_locked(out: &Out) {
    assert!(
        out.stderr
            .contains("the database is locked by another process; nothing was changed"),
        "{out:?}"
    );
    assert!(out.stderr.contains("busy_timeout"), "{out:?}");
}

#[test]
fn sqlite_add_student_while_another_connection_reads_fails_and_stores_nothing() {
    let db = sqlite();
    db.create_tables();
    db.cli(&["add-student", "--name", "first"]).ok();
    let out = while_another_connection_reads(&db, async || {
        db.cli(&["--busy-timeout", "1", "add-student", "--name", "held"])
    })
    .fails(1);
    assert_locked(&out);
    assert_eq!(out.stdout, "", "no row may be reported");
    assert_eq!(stored_names(&db), ["first"]);
    // Once the reader is gone the same command works.
    db.cli(&["--busy-timeout", "1", "add-student", "--name", "held"])
        .ok();
    assert_eq!(stored_names(&db), ["first", "held"]);
}

#[test]
fn sqlite_seed_and_drop_tables_while_another_connection_reads_fail_and_change_nothing() {
    let db = sqlite();
    db.create_tables();
    db.cli(&["seed", "--count", "3"]).ok();
    let before = stored_names(&db);
    let (seed, drop) = while_another_connection_reads(&db, async || {
        (
            db.cli(&["--busy-timeout", "1", "seed", "--count", "10"]),
            db.cli(&["--busy-timeout", "1", "drop-tables", "--yes"]),
        )
    });
    assert_locked(&seed.fails(1));
    assert_locked(&drop.fails(1));
    assert_eq!(stored_names(&db), before);
    assert!(db.has_table("student") && db.has_table("seaql_migrations"));
}

#[test]
fn sqlite_service_writes_while_another_connection_reads_fail_locked() {
    let db = sqlite();
    db.create_tables();
    let settings = ConnectSettings {
        busy_timeout: Duration::from_millis(300),
        ..ConnectSettings::new(db.url.clone())
    };
    let batch: Vec<NewStudent> = (0..3)
        .map(|i| NewStudent::new(&format!("s{i}"), None, None).unwrap())
        .collect();
    let (one, many) = while_another_connection_reads(&db, async || {
        let conn: DatabaseConnection = service::connect(&settings).await.unwrap();
        let one = service::add_student(&conn, &batch[0]).await;
        let many = service::add_students(&conn, &batch).await;
        conn.close().await.unwrap();
        (one, many)
    });
    assert!(matches!(one, Err(Error::Locked)), "{one:?}");
    assert!(matches!(many, Err(Error::Locked)), "{many:?}");
    assert!(stored_names(&db).is_empty());
}

#[test]
fn sqlite_writes_refuse_ids_past_the_32_bit_column_and_store_nothing() {
    let db = sqlite();
    db.create_tables();
    // Written by another tool: SQLite's INTEGER takes it, the `id` column's type does not.
    db.exec("INSERT INTO student (id, s_name) VALUES (3000000000, 'big')");
    let out = db.cli(&["add-student", "--name", "next"]).fails(1);
    assert!(
        out.stderr
            .contains("the next id, 3000000001, does not fit the 32-bit `id` column"),
        "{out:?}"
    );
    let out = db.cli(&["seed", "--count", "5"]).fails(1);
    assert!(out.stderr.contains("the 32-bit `id` column"), "{out:?}");
    let batch = [NewStudent::new("bulk", None, None).unwrap()];
    let many = db.with_db(async |_| {
        let conn = service::connect(&ConnectSettings::new(db.url.clone()))
            .await
            .unwrap();
        service::add_students(&conn, &batch).await
    });
    assert!(matches!(many, Err(Error::IdsExhausted(_))), "{many:?}");
    assert_eq!(stored_names(&db), ["big"]);
}

#[test]
fn postgres_add_student_on_a_taken_id_is_not_called_a_taken_name() {
    let Some(db) = TestDb::new(Backend::Postgres) else {
        return;
    };
    db.create_tables();
    // Another program stored id 1 without moving the sequence: nextval() gives 1 again.
    db.exec("INSERT INTO student (id, s_name) VALUES (1, 'imported')");
    let out = db.cli(&["add-student", "--name", "new"]).fails(1);
    assert!(out.stderr.contains("student_pkey"), "{out:?}");
    assert!(
        !out.stderr.contains("already exists; names must be unique"),
        "{out:?}"
    );
    assert_eq!(stored_names(&db), ["imported"]);
}

// ---- MariaDB: a write chosen as a deadlock victim is tried again ----

/// Makes the next write of `x` by another session a deadlock victim, once: this session
/// inserts `x` and holds it; when the writer waits for `x`, this session inserts `w` into the
/// gap the writer's waiting lock covers, and InnoDB rolls the writer back at once (it has
/// changed less). Then this session rolls back, so the writer's next try can store `x`.
fn deadlock_the_writer_of_x<W, R>(
    db: &TestDb,
    start: impl FnOnce() -> W,
    finish: impl FnOnce(W) -> R,
) -> R {
    db.with_db(async |conn| {
        let holder = conn.begin().await.unwrap();
        holder
            .execute_unprepared("INSERT INTO student (s_name) VALUES ('x')")
            .await
            .unwrap();
        let writer = start();
        // Wait for the writer to wait for `x` (a condition, not a time).
        let waiting = "SELECT COUNT(*) AS n FROM information_schema.innodb_trx t \
            JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id \
            WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()";
        let started = std::time::Instant::now();
        loop {
            let row = conn
                .query_one_raw(Statement::from_string(DbBackend::MySql, waiting))
                .await
                .unwrap()
                .unwrap();
            if row.try_get::<i64>("", "n").unwrap() > 0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the writer never waited for `x`"
            );
            // innodb_trx is a cache that MariaDB refreshes only after 100 ms without reads.
            std::thread::sleep(Duration::from_millis(150));
        }
        holder
            .execute_unprepared("INSERT INTO student (s_name) VALUES ('w')")
            .await
            .unwrap();
        holder.rollback().await.unwrap();
        finish(writer)
    })
}

#[test]
fn mysql_add_student_chosen_as_deadlock_victim_is_tried_again() {
    let Some(db) = TestDb::new(Backend::MySql) else {
        return;
    };
    db.create_tables();
    let out = deadlock_the_writer_of_x(
        &db,
        || {
            db.command()
                .args(["add-student", "--name", "x"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        },
        |child| Out::from_output(child.wait_with_output().unwrap()),
    )
    .ok();
    assert!(out.stdout.contains("name x"), "{out:?}");
    assert_eq!(stored_names(&db), ["x"]);
}

#[test]
fn mysql_add_students_chosen_as_deadlock_victim_is_tried_again() {
    let Some(db) = TestDb::new(Backend::MySql) else {
        return;
    };
    db.create_tables();
    let url = db.url.clone();
    let added = deadlock_the_writer_of_x(
        &db,
        || {
            std::thread::spawn(move || {
                let batch = [
                    NewStudent::new("x", None, None).unwrap(),
                    NewStudent::new("y", None, None).unwrap(),
                ];
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        let conn = service::connect(&ConnectSettings::new(url)).await.unwrap();
                        service::add_students(&conn, &batch).await
                    })
            })
        },
        |thread| thread.join().unwrap(),
    );
    assert_eq!(added.unwrap(), 2);
    assert_eq!(stored_names(&db), ["x", "y"]);
}
