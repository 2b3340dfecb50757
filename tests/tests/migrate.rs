//! Schema management: migration steps, read-only status, dry runs and the production guard.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use service::{
    SchemaChange, SchemaOptions, migrate_down, migrate_refresh, migrate_up, migration_status,
};
use tests::test_migrator::{TABLES, ThreeSteps};
use tests::{TestDb, each_backend};

each_backend!(
    steps_apply_and_revert_one_at_a_time,
    status_is_read_only,
    dry_run_of_every_change_changes_nothing,
    cli_migrate_status_check_and_steps,
    cli_dry_runs_print_sql_and_change_nothing,
    product_profile_refuses_destructive_commands_without_yes,
);

fn tables(db: &TestDb) -> Vec<bool> {
    TABLES.iter().map(|t| db.has_table(t)).collect()
}

fn applied(db: &TestDb) -> Vec<bool> {
    db.with_db(async |conn| migration_status::<ThreeSteps>(conn).await.unwrap())
        .into_iter()
        .map(|s| s.applied)
        .collect()
}

fn up(db: &TestDb, steps: Option<u32>) -> Vec<String> {
    let options = SchemaOptions::default();
    db.with_db(async |c| migrate_up::<ThreeSteps>(c, steps, &options).await.unwrap())
        .applied
}

fn down(db: &TestDb, steps: Option<u32>) -> Vec<String> {
    let options = SchemaOptions::default();
    db.with_db(async |c| {
        migrate_down::<ThreeSteps>(c, steps, &options)
            .await
            .unwrap()
    })
    .reverted
}

fn steps_apply_and_revert_one_at_a_time(db: &TestDb) {
    assert_eq!(applied(db), [false, false, false]);
    let up1 = up(db, Some(1));
    assert_eq!(up1, ["m20250101_000001_step_one"]);
    assert_eq!(tables(db), [true, false, false]);
    assert_eq!(applied(db), [true, false, false]);

    let rest = up(db, None);
    assert_eq!(rest.len(), 2);
    assert_eq!(tables(db), [true, true, true]);
    assert!(up(db, None).is_empty());

    let down1 = down(db, Some(1));
    assert_eq!(down1, ["m20250101_000003_step_three"]);
    assert_eq!(tables(db), [true, true, false]);
    assert_eq!(applied(db), [true, true, false]);

    let down2 = down(db, Some(2));
    assert_eq!(
        down2,
        ["m20250101_000002_step_two", "m20250101_000001_step_one"]
    );
    assert_eq!(tables(db), [false, false, false]);
    assert!(down(db, Some(1)).is_empty());

    up(db, Some(2));
    db.exec("INSERT INTO step_one (id) VALUES (1)");
    let options = SchemaOptions::default();
    let refreshed = db.with_db(async |c| migrate_refresh::<ThreeSteps>(c, &options).await.unwrap());
    assert_eq!(refreshed.reverted.len(), 2);
    assert_eq!(refreshed.applied.len(), 3);
    assert_eq!(tables(db), [true, true, true]);
    let rows = db.with_db(async |c| {
        use sea_orm::ConnectionTrait;
        c.query_all_raw(sea_orm::Statement::from_string(
            c.get_database_backend(),
            "SELECT id FROM step_one",
        ))
        .await
        .unwrap()
        .len()
    });
    assert_eq!(rows, 0, "refresh recreates the tables empty");
}

fn status_is_read_only(db: &TestDb) {
    assert_eq!(applied(db), [false, false, false]);
    assert!(
        !db.has_table("seaql_migrations"),
        "status must not create the tracking table"
    );
}

fn dry_run_of_every_change_changes_nothing(db: &TestDb) {
    let plan = |change| {
        db.with_db(async |c| {
            service::dry_run::<ThreeSteps>(c, change, false)
                .await
                .unwrap()
        })
    };
    let up1 = plan(SchemaChange::Up(Some(1))).join("\n");
    assert!(
        up1.contains("step_one") && !up1.contains("step_two"),
        "{up1}"
    );
    assert!(up1.contains("INSERT INTO"), "{up1}");
    assert_eq!(tables(db), [false, false, false]);
    assert!(!db.has_table("seaql_migrations"));

    up(db, None);
    assert!(
        plan(SchemaChange::Up(None)).is_empty(),
        "nothing pending, nothing to run"
    );
    let down2 = plan(SchemaChange::Down(Some(2))).join("\n");
    assert!(
        down2.contains("DROP TABLE") && down2.contains("step_three") && down2.contains("step_two"),
        "{down2}"
    );
    assert!(
        !down2.contains("\"step_one\"") && !down2.contains("`step_one`"),
        "{down2}"
    );
    let refresh = plan(SchemaChange::Refresh).join("\n");
    assert_eq!(refresh.matches("DROP TABLE").count(), 3, "{refresh}");
    assert_eq!(
        refresh.matches("CREATE TABLE \"step").count()
            + refresh.matches("CREATE TABLE `step").count(),
        3,
        "{refresh}"
    );
    let reset = plan(SchemaChange::Reset).join("\n");
    assert!(reset.contains("seaql_migrations"), "{reset}");
    assert_eq!(tables(db), [true, true, true]);
    assert_eq!(applied(db), [true, true, true]);
}

fn cli_migrate_status_check_and_steps(db: &TestDb) {
    let out = db.cli(&["migrate", "status"]).ok();
    assert!(
        out.stdout
            .contains("pending  m20240101_000001_create_student_table"),
        "{out:?}"
    );
    assert!(!db.has_table("seaql_migrations"), "status is read-only");
    let check = db.cli(&["migrate", "status", "--check"]).fails(1);
    assert!(
        check.stderr.contains("3 migrations are pending"),
        "{check:?}"
    );

    db.cli(&["migrate", "up", "-n", "1"]).ok();
    assert!(db.has_table("student"));
    let check = db
        .cli(&["migrate", "status", "--format", "json", "--check"])
        .fails(1);
    assert!(
        check.stderr.contains("2 migrations are pending"),
        "{check:?}"
    );
    let json: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    assert_eq!(json[0]["status"], "applied");
    assert_eq!(json[1]["status"], "pending");
    assert_eq!(json[0]["problem"], serde_json::Value::Null);

    db.cli(&["seed", "--count", "3"]).ok();
    let down = db.cli(&["migrate", "down", "-n", "3"]).ok();
    assert!(
        down.stdout
            .contains("reverted migration m20240101_000001_create_student_table"),
        "{down:?}"
    );
    assert!(!db.has_table("student"));
    db.cli(&["migrate", "up"]).ok();
    db.cli(&["seed", "--count", "3"]).ok();
    db.cli(&["migrate", "refresh", "--yes"]).ok();
    assert!(db.has_table("student") && db.rows().is_empty());
}

fn cli_dry_runs_print_sql_and_change_nothing(db: &TestDb) {
    let create = db.cli(&["create-tables", "--dry-run"]).ok();
    assert!(
        create.stdout.contains("CREATE TABLE") && create.stdout.contains("student"),
        "{create:?}"
    );
    assert!(
        create.stdout.lines().all(|l| l.ends_with(';')),
        "{create:?}"
    );
    assert!(!db.has_table("student") && !db.has_table("seaql_migrations"));

    db.create_tables();
    db.cli(&["seed", "--count", "5"]).ok();
    let up_to_date = db.cli(&["create-tables", "--dry-run"]).ok();
    assert!(
        up_to_date.stdout.starts_with("-- nothing to do"),
        "{up_to_date:?}"
    );
    for args in [
        &["drop-tables", "--dry-run"][..],
        &["migrate", "down", "-n", "2", "--dry-run"],
        &["migrate", "refresh", "--dry-run"],
    ] {
        let out = db.cli(args).ok();
        assert!(out.stdout.contains("DROP TABLE"), "{args:?}: {out:?}");
    }
    assert_eq!(db.rows().len(), 5, "dry runs keep every row");
}

fn product_profile_refuses_destructive_commands_without_yes(db: &TestDb) {
    db.create_tables();
    db.cli(&["add-student", "--name", "keep"]).ok();
    for args in [
        &["drop-tables"][..],
        &["migrate", "down"],
        &["migrate", "refresh"],
    ] {
        let mut full = vec!["--env", "product"];
        full.extend_from_slice(args);
        let out = db.cli(&full).fails(2);
        assert!(
            out.stderr.contains("`product` profile") && out.stderr.contains("--yes"),
            "{out:?}"
        );
        let out = tests::Out::from_output(
            db.command()
                .env("APP_ENV", "product")
                .args(args)
                .output()
                .unwrap(),
        )
        .fails(2);
        assert!(out.stderr.contains("environment APP_ENV"), "{out:?}");
    }
    assert_eq!(db.names(), ["keep"]);
    // Dry runs change nothing, so they need no --yes; --yes itself goes ahead.
    db.cli(&["--env", "product", "drop-tables", "--dry-run"])
        .ok();
    db.cli(&["--env", "product", "drop-tables", "--yes"]).ok();
    assert!(!db.has_table("student"));
}

#[test]
fn completions_are_printed_for_every_shell() {
    let db = TestDb::new(tests::Backend::Sqlite).unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = db.cli(&["completions", shell]).ok();
        assert!(
            out.stdout.contains("create-tables") && out.stdout.len() > 500,
            "{shell}: {out:?}"
        );
    }
    db.cli(&["completions", "tcsh"]).fails(2);
    assert!(
        !db.workdir.path().join("test.db").exists(),
        "completions need no database"
    );
}

#[test]
fn mysql_read_only_user_can_run_status_and_dry_runs() {
    read_only_user_can_run_status_and_dry_runs(tests::Backend::MySql);
}

#[test]
fn postgres_read_only_user_can_run_status_and_dry_runs() {
    read_only_user_can_run_status_and_dry_runs(tests::Backend::Postgres);
}

fn read_only_user_can_run_status_and_dry_runs(backend: tests::Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let Some(readonly) = db.readonly_url() else {
        return;
    };
    let as_reader = |args: &[&str]| {
        tests::Out::from_output(
            db.command()
                .env("DATABASE_URL", &readonly)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    // The user really cannot write: a sanity check that the test proves something.
    let refused = as_reader(&["create-tables"]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(!db.has_table("student"));

    let fresh = as_reader(&["migrate", "status", "--check"]).fails(1);
    assert!(fresh.stdout.contains("pending"), "{fresh:?}");
    assert!(!db.has_table("seaql_migrations"));
    as_reader(&["create-tables", "--dry-run"]).ok();

    db.create_tables();
    db.cli(&["seed", "--count", "3"]).ok();
    let current = as_reader(&["migrate", "status", "--check"]).ok();
    assert!(current.stdout.contains("applied"), "{current:?}");
    let plan = as_reader(&["drop-tables", "--dry-run"]).ok();
    assert!(plan.stdout.contains("DROP TABLE"), "{plan:?}");
    as_reader(&["list", "--format", "csv"]).ok();
    assert_eq!(db.rows().len(), 3);
}

#[test]
fn sqlite_read_only_commands_never_create_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        tests::Out::from_output(tests::cli_command(dir.path()).args(args).output().unwrap())
    };
    let status = run(&["migrate", "status", "--check"]).fails(1);
    assert!(status.stdout.contains("pending"), "{status:?}");
    run(&["list"]).fails(5);
    let plan = run(&["create-tables", "--dry-run"]).ok();
    assert!(plan.stdout.contains("CREATE TABLE \"student\""), "{plan:?}");
    run(&["drop-tables", "--dry-run"]).ok();
    assert!(
        !dir.path().join("students.db").exists(),
        "a read-only command created students.db"
    );

    // An existing file is opened read-only: a dry run leaves it byte for byte the same.
    run(&["create-tables"]).ok();
    run(&["seed", "--count", "20"]).ok();
    let before = std::fs::read(dir.path().join("students.db")).unwrap();
    run(&["migrate", "refresh", "--dry-run"]).ok();
    run(&["list", "--format", "csv"]).ok();
    run(&["migrate", "status"]).ok();
    assert_eq!(
        std::fs::read(dir.path().join("students.db")).unwrap(),
        before
    );
}
