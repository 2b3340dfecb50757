//! Schema changes that complete or are reported exactly: locks taken before anything changes,
//! Ctrl-C, partial failures on MySQL/MariaDB, repair of drifted records, adoption of the
//! original Flask app's table, concurrent runs, the NO PAD collation and exact dry runs.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use service::{
    Error, Migrator, SchemaChange, SchemaOptions, migrate_up, migration_status, run_change,
};
use tests::test_migrator::{FAILING, FailsHalfway, ThreeSteps};
use tests::{Backend, Out, TestDb, each_backend};

each_backend!(
    drop_and_migrate_commands_under_a_held_lock_fail_with_nothing_changed,
    migrate_refresh_interrupted_while_waiting_changes_nothing,
    migrate_up_failing_partway_reports_each_statement,
    migrate_up_interrupted_between_statements_says_what_ran,
    create_tables_recreates_a_recorded_table_that_is_missing,
    create_tables_records_an_unrecorded_table_that_matches,
    create_tables_refuses_the_flask_table_then_adopts_it,
    create_tables_adopt_refuses_a_table_that_does_not_fit,
    drop_tables_drops_an_unrecorded_student_table,
    add_student_tells_names_apart_by_trailing_spaces,
    dry_run_prints_exactly_what_the_real_run_sends,
    migrator_trait_and_cli_share_the_history,
);

const M1: &str = "m20240101_000001_create_student_table";
const M2: &str = "m20261125_000001_student_name_no_pad";
const M3: &str = "m20261125_000002_create_sessions_table";
/// Every migration, as a complete schema records them.
const ALL: [&str; 3] = [M1, M2, M3];

/// The original Flask-SQLAlchemy app's `student` table, as its `db.create_all()` makes it.
fn flask_table(backend: Backend) -> &'static str {
    match backend {
        Backend::MySql => {
            "CREATE TABLE student (id INT AUTO_INCREMENT PRIMARY KEY, s_name VARCHAR(32) NOT NULL UNIQUE, s_age INT NOT NULL, s_score FLOAT NOT NULL)"
        }
        Backend::Postgres => {
            "CREATE TABLE student (id SERIAL PRIMARY KEY, s_name VARCHAR(32) NOT NULL UNIQUE, s_age INTEGER NOT NULL, s_score REAL NOT NULL)"
        }
        Backend::Sqlite => {
            "CREATE TABLE student (id INTEGER NOT NULL, s_name VARCHAR(32) NOT NULL, s_age INTEGER NOT NULL, s_score FLOAT NOT NULL, PRIMARY KEY (id), UNIQUE (s_name))"
        }
    }
}

/// A statement that, inside an open transaction, keeps other sessions from changing `table`.
fn lock_rows_of(backend: Backend, table: &str) -> String {
    match backend {
        // A read transaction's SHARED lock keeps every writer from committing.
        Backend::Sqlite => format!("SELECT * FROM {table}"),
        _ => format!("SELECT * FROM {table} FOR UPDATE"),
    }
}

fn statement(conn: &DatabaseConnection, sql: &str) -> Statement {
    Statement::from_string(conn.get_database_backend(), sql)
}

/// Names of the migrations recorded as applied.
fn recorded(db: &TestDb) -> Vec<String> {
    db.with_db(async |c| migration_status::<Migrator>(c).await.unwrap())
        .into_iter()
        .filter(|s| s.applied)
        .map(|s| s.name)
        .collect()
}

/// Every line of `child`'s stderr up to and including the first that `until` accepts.
fn read_stderr_until(
    child: &mut Child,
    until: impl Fn(&str) -> bool,
) -> BufReader<std::process::ChildStderr> {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "cli ended before printing the awaited line"
        );
        if until(line.trim()) {
            return stderr;
        }
    }
}

fn sigint(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn drop_and_migrate_commands_under_a_held_lock_fail_with_nothing_changed(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "100", "--seed", "3"]).ok();
    let before = db.rows();
    for table in ["seaql_migrations", "student"] {
        db.with_db(async |conn| {
            let holder = conn.begin().await.unwrap();
            holder
                .query_all_raw(statement(conn, &lock_rows_of(db.backend, table)))
                .await
                .unwrap();
            for args in [
                &["migrate", "down", "-n", "3", "--yes", "--lock-timeout", "1"][..],
                &["migrate", "refresh", "--yes", "--lock-timeout", "1"],
                &["drop-tables", "--yes", "--lock-timeout", "1"],
            ] {
                let started = Instant::now();
                let out = db.cli(args).fails(1);
                let said = match db.backend {
                    // SQLite's one message for another process's lock on the file.
                    Backend::Sqlite => out
                        .stderr
                        .contains("the database is locked by another process; nothing was changed"),
                    _ => {
                        out.stderr
                            .contains("within 1s (the lock timeout); nothing was changed")
                            && out.stderr.contains("--lock-timeout")
                    }
                };
                assert!(said, "{table} {args:?}: {out:?}");
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the wait is bounded by --lock-timeout"
                );
                // A read still works, and finds the schema complete.
                db.cli(&["migrate", "status", "--check"]).ok();
            }
            holder.rollback().await.unwrap();
        });
        assert_eq!(
            db.rows(),
            before,
            "lock on {table}: every row is still there"
        );
        assert_eq!(recorded(db), ALL);
    }
    // Without the lock the same command goes through.
    let out = db
        .cli(&["migrate", "down", "-n", "3", "--yes", "--lock-timeout", "1"])
        .ok();
    assert!(
        out.stdout.contains(&format!("reverted migration {M1}")),
        "{out:?}"
    );
    assert!(!db.has_table("student"));
}

fn migrate_refresh_interrupted_while_waiting_changes_nothing(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "20", "--seed", "4"]).ok();
    let before = db.rows();
    // The statement the run is blocked on when the signal comes, as `-v` echoes it.
    let blocked_on = |line: &str| match db.backend {
        Backend::MySql => line.starts_with("LOCK TABLES"),
        Backend::Postgres => line.starts_with("DROP TABLE \"student\""),
        // SQLite runs every statement, then waits to commit.
        Backend::Sqlite => line.starts_with("INSERT INTO") && line.contains(M3),
    };
    db.with_db(async |conn| {
        let holder = conn.begin().await.unwrap();
        holder
            .query_all_raw(statement(conn, &lock_rows_of(db.backend, "student")))
            .await
            .unwrap();
        let mut child = db
            .command()
            .args(["-v", "migrate", "refresh", "--yes", "--lock-timeout", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = read_stderr_until(&mut child, blocked_on);
        let started = Instant::now();
        sigint(&child);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Ctrl-C does not wait for the 60 s lock timeout: {:?} {rest}",
            started.elapsed()
        );
        assert_eq!(out.status.code(), Some(130), "{rest}");
        let expected = match db.backend {
            Backend::MySql => "error: interrupted before anything was changed",
            _ => "error: interrupted; the transaction was rolled back and nothing was changed",
        };
        assert!(rest.contains(expected), "{rest}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
        holder.rollback().await.unwrap();
    });
    assert_eq!(db.rows(), before);
    assert_eq!(recorded(db), ALL);
}

fn migrate_up_failing_partway_reports_each_statement(db: &TestDb) {
    let options = SchemaOptions::default();
    let err = db.with_db(async |c| {
        migrate_up::<FailsHalfway>(c, None, &options)
            .await
            .unwrap_err()
    });
    if db.backend != Backend::MySql {
        // One transaction: the failure rolled back the tables created before it.
        assert!(matches!(err, Error::Database(_)), "{err:?}");
        assert!(!db.has_table("step_one") && !db.has_table("half"));
        assert!(!db.has_table("seaql_migrations"));
        return;
    }
    let Error::PartialChange(partial) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(err.exit_code(), 1);
    assert!(!partial.interrupted);
    assert_eq!(partial.done.len(), 4, "{partial:?}");
    assert!(partial.done[0].starts_with("CREATE TABLE IF NOT EXISTS `seaql_migrations`"));
    assert!(partial.done[1].starts_with("CREATE TABLE `step_one`"));
    assert!(partial.done[2].contains("m20250101_000001_step_one"));
    assert_eq!(
        partial.done[3],
        "CREATE TABLE half (id INTEGER NOT NULL PRIMARY KEY)"
    );
    assert_eq!(partial.failed.as_deref(), Some(FAILING));
    assert!(!partial.outcome_unknown);
    assert_eq!(partial.not_done.len(), 2);
    assert!(partial.not_done[0].starts_with("CREATE TABLE never"));
    assert!(partial.not_done[1].contains("m20250101_000002_broken"));
    let text = err.to_string();
    assert!(
        text.contains("took effect: [1] CREATE TABLE IF NOT EXISTS")
            && text.contains("failed and did not take effect: [5] INSERT INTO no_such_table")
            && text.contains("not sent: [6] CREATE TABLE never"),
        "{text}"
    );
    // The message is the truth: exactly those tables and that record exist.
    assert!(db.has_table("step_one") && db.has_table("half") && !db.has_table("never"));
    let states = db.with_db(async |c| migration_status::<FailsHalfway>(c).await.unwrap());
    assert!(states[0].applied && !states[1].applied);
}

fn migrate_up_interrupted_between_statements_says_what_ran(db: &TestDb) {
    let (trigger, interrupt) = service::interrupt_pair();
    let options = SchemaOptions {
        interrupt,
        ..SchemaOptions::default()
    };
    let mut ran = 0;
    let err = db.with_db(async |c| {
        run_change::<ThreeSteps>(c, SchemaChange::Up(None), &options, &mut |_| {
            ran += 1;
            if ran == 2 {
                trigger.trigger();
            }
        })
        .await
        .unwrap_err()
    });
    assert_eq!(err.exit_code(), 130);
    if db.backend != Backend::MySql {
        assert!(matches!(err, Error::Interrupted), "{err:?}");
        assert!(!db.has_table("step_one") && !db.has_table("seaql_migrations"));
        return;
    }
    let Error::PartialChange(partial) = &err else {
        panic!("{err:?}")
    };
    assert!(partial.interrupted && partial.failed.is_none());
    assert_eq!(partial.done.len(), 2, "{partial:?}");
    assert!(partial.done[1].starts_with("CREATE TABLE `step_one`"));
    assert_eq!(partial.not_done.len(), 5, "{partial:?}");
    assert!(partial.not_done[0].contains("m20250101_000001_step_one"));
    assert!(db.has_table("step_one") && !db.has_table("step_two"));
    // The next run records the table the stopped one created and carries on.
    let report = db.with_db(async |c| {
        migrate_up::<ThreeSteps>(c, None, &SchemaOptions::default())
            .await
            .unwrap()
    });
    assert_eq!(report.applied.len(), 3);
    assert!(
        report.notes[0].contains("`step_one` already existed and matches"),
        "{report:?}"
    );
}

fn create_tables_recreates_a_recorded_table_that_is_missing(db: &TestDb) {
    db.create_tables();
    db.exec("DROP TABLE student");
    let status = db.cli(&["migrate", "status"]).ok();
    assert!(
        status
            .stdout
            .contains("(recorded as applied, but table `student` is missing"),
        "{status:?}"
    );
    let check = db.cli(&["migrate", "status", "--check"]).fails(1);
    assert!(
        check.stderr.contains("the schema needs repair"),
        "{check:?}"
    );
    db.cli(&["list"]).fails(5);

    let repaired = db.cli(&["create-tables"]).ok();
    assert!(
        repaired.stdout.contains(&format!(
            "re-created table `student`: migration {M1} is recorded as applied, but the table was missing"
        )),
        "{repaired:?}"
    );
    db.cli(&["migrate", "status", "--check"]).ok();
    db.cli(&["add-student", "--name", "back"]).ok();

    // `migrate up` repairs the same way.
    db.exec("DROP TABLE student");
    let up = db.cli(&["migrate", "up"]).ok();
    assert!(up.stdout.contains("re-created table `student`"), "{up:?}");
    assert!(db.has_table("student"));

    // Reverting and dropping work when the table is already gone (they used to fail with
    // "Unknown table").
    db.exec("DROP TABLE student");
    let down = db.cli(&["migrate", "down", "-n", "3", "--yes"]).ok();
    assert!(
        down.stdout.contains(&format!(
            "table `student` of migration {M1} was already missing"
        )),
        "{down:?}"
    );
    assert!(recorded(db).is_empty());
    db.create_tables();
    db.exec("DROP TABLE student");
    let dropped = db.cli(&["drop-tables", "--yes"]).ok();
    assert!(
        dropped
            .stdout
            .contains("dropped tables: sessions, seaql_migrations"),
        "{dropped:?}"
    );
    assert!(!db.has_table("seaql_migrations"));
}

fn create_tables_records_an_unrecorded_table_that_matches(db: &TestDb) {
    db.create_tables();
    db.cli(&["add-student", "--name", "kept"]).ok();
    db.exec("DROP TABLE seaql_migrations");
    let status = db.cli(&["migrate", "status"]).ok();
    assert!(
        status
            .stdout
            .contains("table `student` already exists and matches; `cli create-tables` records it"),
        "{status:?}"
    );
    let out = db.cli(&["create-tables"]).ok();
    assert!(
        out.stdout.contains(&format!(
            "table `student` already existed and matches migration {M1}; recorded it as applied without creating it"
        )),
        "{out:?}"
    );
    assert!(!out.stdout.contains("created tables"), "{out:?}");
    assert_eq!(db.names(), ["kept"]);
    assert_eq!(recorded(db), ALL);
}

fn create_tables_refuses_the_flask_table_then_adopts_it(db: &TestDb) {
    db.exec(flask_table(db.backend));
    db.exec("INSERT INTO student (s_name, s_age, s_score) VALUES ('flask', 16, 80)");
    for args in [
        &["create-tables"][..],
        &["create-tables", "--dry-run"],
        &["migrate", "up"],
    ] {
        let out = db.cli(args).fails(1);
        assert!(
            out.stderr
                .contains("table `student` already exists, no migration records it")
                && out.stderr.contains("`s_age` has no default (cli's is 18)")
                && out.stderr.contains("nothing was changed")
                && out.stderr.contains("cli create-tables --adopt"),
            "{args:?}: {out:?}"
        );
        assert!(
            !db.has_table("seaql_migrations"),
            "{args:?} left seaql_migrations behind"
        );
    }
    let status = db.cli(&["migrate", "status"]).ok();
    assert!(
        status.stdout.contains("made by another program"),
        "{status:?}"
    );

    let plan = db.cli(&["create-tables", "--adopt", "--dry-run"]).ok();
    assert!(
        !plan.stdout.contains("CREATE TABLE \"student\""),
        "{plan:?}"
    );
    assert!(!plan.stdout.contains("CREATE TABLE `student`"), "{plan:?}");
    let adopted = db.cli(&["create-tables", "--adopt"]).ok();
    assert!(
        adopted.stdout.contains("adopted table `student` as it is"),
        "{adopted:?}"
    );
    assert_eq!(recorded(db), ALL);
    assert_eq!(db.names(), ["flask"]);
    db.cli(&["add-student", "--name", "cli"]).ok();
    db.cli(&["create-tables"]).ok();
    let dropped = db.cli(&["drop-tables", "--yes"]).ok();
    assert!(
        dropped
            .stdout
            .contains("dropped tables: sessions, student, seaql_migrations"),
        "{dropped:?}"
    );
}

fn create_tables_adopt_refuses_a_table_that_does_not_fit(db: &TestDb) {
    db.exec(
        "CREATE TABLE student (id INTEGER PRIMARY KEY, s_name VARCHAR(64) NOT NULL, s_age INTEGER, s_score FLOAT NOT NULL, email VARCHAR(100))",
    );
    let out = db.cli(&["create-tables", "--adopt"]).fails(1);
    assert!(
        out.stderr.contains("`s_name` has no unique key")
            && out.stderr.contains("`s_age` allows NULL")
            && out
                .stderr
                .contains("a column `email` that cli does not know")
            && out.stderr.contains("rename or drop that table"),
        "{out:?}"
    );
    assert!(!db.has_table("seaql_migrations"));
}

fn drop_tables_drops_an_unrecorded_student_table(db: &TestDb) {
    db.exec(flask_table(db.backend));
    let out = db.cli(&["drop-tables", "--yes"]).ok();
    assert!(
        out.stdout.contains("dropped tables: student")
            && out
                .stdout
                .contains("was not recorded as created by a migration"),
        "{out:?}"
    );
    assert!(!db.has_table("student"));
    let again = db.cli(&["drop-tables", "--yes"]).ok();
    assert!(again.stdout.contains("nothing to drop"), "{again:?}");
}

fn add_student_tells_names_apart_by_trailing_spaces(db: &TestDb) {
    db.create_tables();
    // Another client stores a name with a trailing space (`cli` trims its input).
    db.exec("INSERT INTO student (s_name, s_age, s_score) VALUES ('padx ', 20, 1)");
    db.cli(&["add-student", "--name", "padx"]).ok();
    db.cli(&["add-student", "--name", "padx"]).fails(3);
    assert_eq!(db.names(), ["padx ", "padx"]);
}

#[test]
fn mysql_create_tables_converts_tables_of_earlier_versions_to_no_pad() {
    let Some(db) = TestDb::new(Backend::MySql) else {
        return;
    };
    db.create_tables();
    // What earlier versions created and recorded.
    db.exec("ALTER TABLE student CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    db.exec(&format!(
        "DELETE FROM seaql_migrations WHERE version = '{M2}'"
    ));
    db.exec("INSERT INTO student (s_name, s_age, s_score) VALUES ('padx ', 20, 1)");
    // The defect, reproduced: PAD SPACE makes `padx` a duplicate of `padx `.
    db.cli(&["add-student", "--name", "padx"]).fails(3);

    let status = db.cli(&["migrate", "status"]).ok();
    assert!(
        status.stdout.contains(&format!("pending  {M2}")),
        "{status:?}"
    );
    let out = db.cli(&["create-tables"]).ok();
    assert!(
        out.stdout.contains(&format!("applied migration {M2}")),
        "{out:?}"
    );
    let collation: String = db.with_db(async |c| {
        c.query_one_raw(statement(
            c,
            "SELECT CAST(COLLATION_NAME AS CHAR) AS c FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'student' AND COLUMN_NAME = 's_name'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "c")
        .unwrap()
    });
    assert_eq!(collation, "utf8mb4_nopad_bin");
    db.cli(&["add-student", "--name", "padx"]).ok();
    assert_eq!(db.names(), ["padx ", "padx"]);
}

/// The statements a `-v` run echoed that change the schema or its records, as a dry run
/// prints them.
fn changes_echoed(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            [
                "CREATE ", "DROP ", "ALTER ", "INSERT ", "DELETE ", "UPDATE ",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l};"))
        .collect()
}

fn dry_run_prints_exactly_what_the_real_run_sends(db: &TestDb) {
    let compare = |args: &[&str], setup: &dyn Fn()| {
        setup();
        let mut dry_args = args.to_vec();
        dry_args.push("--dry-run");
        let plan: Vec<String> = db
            .cli(&dry_args)
            .ok()
            .stdout
            .lines()
            .map(str::to_owned)
            .collect();
        let mut real_args = vec!["-v"];
        real_args.extend_from_slice(args);
        let real = db.cli(&real_args).ok();
        let sent = changes_echoed(&real.stderr);
        if sent.is_empty() {
            assert_eq!(
                plan,
                ["-- nothing to do; nothing would be changed"],
                "{args:?}"
            );
        } else {
            assert_eq!(plan, sent, "{args:?}\n{}", real.stderr);
        }
        sent.len()
    };
    let none = &|| {};
    // MySQL/MariaDB also run the second migration's `ALTER TABLE … CONVERT TO`.
    let alter = usize::from(db.backend == Backend::MySql);
    // create-tables used to print four `CREATE TABLE IF NOT EXISTS seaql_migrations`, and
    // send three.
    // The sessions migration sends three: CREATE TABLE, CREATE INDEX, its record.
    assert_eq!(compare(&["create-tables"], none), 7 + alter);
    assert_eq!(compare(&["create-tables"], none), 0);
    assert_eq!(compare(&["migrate", "down", "--yes"], none), 2);
    assert_eq!(compare(&["migrate", "up"], none), 3);
    db.cli(&["seed", "--count", "5"]).ok();
    assert_eq!(compare(&["migrate", "refresh", "--yes"], none), 11 + alter);
    assert_eq!(compare(&["migrate", "down", "-n", "3", "--yes"], none), 5);
    db.create_tables();
    let repair = compare(&["create-tables"], &|| db.exec("DROP TABLE student"));
    assert_eq!(repair, 1 + alter);
    assert_eq!(compare(&["drop-tables", "--yes"], none), 6);
    assert_eq!(compare(&["drop-tables", "--yes"], none), 0);
    let adopt = compare(&["create-tables", "--adopt"], &|| {
        db.exec(flask_table(db.backend));
    });
    assert_eq!(adopt, 6 + alter);
}

fn migrator_trait_and_cli_share_the_history(db: &TestDb) {
    // sea-orm-migration (sea-orm-cli's `migrate up`) applies the same statements and records.
    db.with_db(async |c| <Migrator as MigratorTrait>::up(c, None).await.unwrap());
    let status = db.cli(&["migrate", "status", "--check"]).ok();
    assert!(
        !status.stdout.contains('('),
        "no problem reported: {status:?}"
    );
    db.cli(&["add-student", "--name", "shared"]).ok();
    db.cli(&["migrate", "down", "-n", "1", "--yes"]).ok();
    let pending = db.with_db(async |c| {
        <Migrator as MigratorTrait>::get_pending_migrations(c)
            .await
            .unwrap()
            .len()
    });
    assert_eq!(pending, 1, "sea-orm-migration reads cli's records");
    db.with_db(async |c| <Migrator as MigratorTrait>::up(c, None).await.unwrap());
    assert_eq!(db.names(), ["shared"]);
    db.cli(&["create-tables"]).ok();
}

/// `n` concurrent `create-tables` on a fresh database, `rounds` times: every run succeeds,
/// exactly one applies the migrations, the others find the schema up to date.
fn concurrent_create_tables(backend: Backend, n: usize, rounds: usize) {
    for _ in 0..rounds {
        let Some(db) = TestDb::new(backend) else {
            return;
        };
        let children: Vec<Child> = (0..n)
            .map(|_| {
                db.command()
                    .arg("create-tables")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<Out> = children
            .into_iter()
            .map(|c| Out::from_output(c.wait_with_output().unwrap()).ok())
            .collect();
        let applied = outs
            .iter()
            .filter(|o| o.stdout.contains(&format!("applied migration {M1}")))
            .count();
        let current = outs
            .iter()
            .filter(|o| o.stdout.contains("already up to date"))
            .count();
        assert_eq!((applied, current), (1, n - 1), "{outs:#?}");
        assert_eq!(recorded(&db), ALL);
    }
}

#[test]
fn sqlite_create_tables_run_concurrently_all_succeed() {
    concurrent_create_tables(Backend::Sqlite, 4, 3);
    concurrent_create_tables(Backend::Sqlite, 8, 3);
}

#[test]
fn mysql_create_tables_run_concurrently_all_succeed() {
    concurrent_create_tables(Backend::MySql, 4, 3);
    concurrent_create_tables(Backend::MySql, 8, 3);
}

#[test]
fn postgres_create_tables_run_concurrently_all_succeed() {
    concurrent_create_tables(Backend::Postgres, 4, 3);
    concurrent_create_tables(Backend::Postgres, 8, 3);
}

#[test]
fn sqlite_drop_tables_and_migrate_down_on_a_missing_file_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Out::from_output(tests::cli_command(dir.path()).args(args).output().unwrap())
    };
    let dropped = run(&["drop-tables", "--yes"]).ok();
    assert!(dropped.stdout.contains("nothing to drop"), "{dropped:?}");
    let reverted = run(&["migrate", "down", "--yes"]).ok();
    assert!(reverted.stdout.contains("nothing reverted"), "{reverted:?}");
    run(&["migrate", "refresh", "--dry-run"]).ok();
    assert!(!dir.path().join("students.db").exists());
}
