//! Where `cli` connects and how it fails when it cannot: no server is needed for most of these.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::TcpListener;
use std::process::{Command, Stdio};

use tests::{ADD_XIAOMING, Backend, Out, TestDb, admin_url, cli_command, cli_path};

fn run(cmd: &mut Command) -> Out {
    Out::from_output(cmd.output().unwrap())
}

/// A loopback port that nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn unreachable_server_exits_4_naming_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    for scheme in ["mysql", "postgres"] {
        let url = format!("{scheme}://app:s3cr3t-pw@127.0.0.1:{port}/db");
        let out = run(cli_command(dir.path()).args(["--database-url", &url, "list"])).fails(4);
        assert!(out.stderr.contains(&format!("127.0.0.1:{port}")), "{out:?}");
        assert!(out.stderr.contains("connection refused"), "{out:?}");
        assert!(!out.stderr.contains("s3cr3t-pw"), "{out:?}");
    }
}

#[test]
fn silent_server_times_out_with_exit_4() {
    // Accepts TCP connections (into the backlog) but never speaks the protocol.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("mysql://app:pw@127.0.0.1:{port}/db");
    let out = run(cli_command(dir.path()).args([
        "--connect-timeout",
        "1",
        "--database-url",
        &url,
        "list",
    ]))
    .fails(4);
    assert!(out.stderr.contains("no answer within 1s"), "{out:?}");
    drop(listener);
}

#[test]
fn mysql_wrong_password_exits_4_without_showing_it() {
    let Some(admin) = admin_url(Backend::MySql) else {
        return;
    };
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_password(Some("Wr0ng@pass:word")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(cli_command(dir.path()).args(["--database-url", url.as_str(), "list"])).fails(4);
    assert!(out.stderr.contains("Access denied"), "{out:?}");
    assert!(!out.stderr.contains("Wr0ng"), "{out:?}");
}

#[test]
fn bad_urls_exit_2_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "oracle://u:topsecret@h/db",
        "not a url topsecret",
        "mysql://u:topsecret@/db",
    ] {
        let out = run(cli_command(dir.path()).args(["--database-url", url, "list"])).fails(2);
        assert!(!out.stderr.contains("topsecret"), "{url}: {out:?}");
    }
}

#[test]
fn help_hides_the_database_url_value_and_documents_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cli_command(dir.path())
        .env("DATABASE_URL", "mysql://u:topsecret@h/db")
        .arg("--help"))
    .ok();
    assert!(!out.stdout.contains("topsecret"), "{out:?}");
    for cmd in [
        "create-tables",
        "add-student",
        "seed",
        "list",
        "drop-tables",
        "DATABASE_URL",
    ] {
        assert!(
            out.stdout.contains(cmd),
            "--help lacks {cmd}: {}",
            out.stdout
        );
    }
}

#[test]
fn no_url_uses_students_db_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    run(cli_command(dir.path()).arg("create-tables")).ok();
    assert!(dir.path().join("students.db").exists());
    run(cli_command(dir.path()).args(ADD_XIAOMING)).ok();
    run(cli_command(dir.path()).args(["seed", "--count", "10"])).ok();
    let out = run(cli_command(dir.path()).args(["list", "--format", "csv"])).ok();
    assert_eq!(out.stdout.lines().count(), 12, "{out:?}");
    assert!(out.stdout.contains("1,小明,16,80.0"), "{out:?}");
}

#[test]
fn dotenv_in_the_current_directory_supplies_the_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://from_dotenv.db?mode=rwc\n",
    )
    .unwrap();
    run(cli_command(dir.path()).arg("create-tables")).ok();
    assert!(dir.path().join("from_dotenv.db").exists());
    assert!(!dir.path().join("students.db").exists());
    // The flag wins over `.env`.
    run(cli_command(dir.path()).args([
        "--database-url",
        "sqlite://flag.db?mode=rwc",
        "create-tables",
    ]))
    .ok();
    assert!(dir.path().join("flag.db").exists());
}

#[test]
fn verbose_echoes_sql_and_quiet_runs_print_nothing_on_stderr() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let quiet = db.cli(&["create-tables"]).ok();
    assert_eq!(quiet.stderr, "");
    let loud = db.cli(&["-v", "add-student", "--name", "echoed"]).ok();
    assert!(loud.stderr.contains("INSERT INTO \"student\""), "{loud:?}");
    assert!(loud.stderr.contains("'echoed'"), "{loud:?}");
    let quiet = db.cli(&["list"]).ok();
    assert_eq!(quiet.stderr, "");
}

#[test]
fn mysql_latin1_database_stores_cjk_and_emoji_intact() {
    let Some(db) = TestDb::with_mysql_charset(Backend::MySql, Some("latin1")) else {
        return;
    };
    db.create_tables();
    let names = ["小明", "🎓😀", "Zoë"];
    for name in names {
        db.cli(&["add-student", "--name", name]).ok();
    }
    assert_eq!(db.names(), names);
    let csv = db.cli(&["list", "--format", "csv"]).ok().stdout;
    assert!(names.iter().all(|n| csv.contains(n)), "{csv}");
}

#[test]
fn drop_tables_without_a_terminal_proceeds_without_asking() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    db.create_tables();
    let out = Out::from_output(
        db.command()
            .arg("drop-tables")
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
    .ok();
    assert!(out.stdout.contains("dropped tables"), "{out:?}");
}

/// Runs `cli ARGS` with a pseudo-terminal as stdin (through util-linux `script`), typing `typed`.
fn cli_on_a_terminal(db: &TestDb, args: &str, typed: &str) -> Out {
    use std::io::Write;
    let inner = format!("{} {args}", cli_path().display());
    let mut child = tests::hermetic(&mut Command::new("script"))
        .args(["-qec", &inner, "/dev/null"])
        .current_dir(db.workdir.path())
        .env("DATABASE_URL", &db.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` provides the terminal for this test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    Out::from_output(child.wait_with_output().unwrap())
}

#[test]
fn drop_tables_on_a_terminal_asks_and_respects_no() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    db.create_tables();
    let declined = cli_on_a_terminal(&db, "drop-tables", "n\n");
    assert_eq!(declined.code, 1, "{declined:?}");
    assert!(declined.stdout.contains("[y/N]"), "{declined:?}");
    assert!(
        declined.stdout.contains("nothing was dropped"),
        "{declined:?}"
    );
    assert!(db.has_table("student"));
    let yes_flag = cli_on_a_terminal(&db, "drop-tables --yes", "");
    assert_eq!(yes_flag.code, 0, "{yes_flag:?}");
    assert!(!yes_flag.stdout.contains("[y/N]"), "{yes_flag:?}");
    assert!(!db.has_table("student"));
}

#[test]
fn usage_errors_are_one_line_naming_the_flag_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = run(cli_command(dir.path()).arg("add-student")).fails(2);
    assert!(missing.stderr.contains("--name"), "{missing:?}");
    let bad = run(cli_command(dir.path()).args(["seed", "--count", "many"])).fails(2);
    assert!(bad.stderr.contains("'many'"), "{bad:?}");
    run(cli_command(dir.path()).arg("lst")).fails(2);
    assert!(
        !dir.path().join("students.db").exists(),
        "bad input must not touch the database"
    );
}
