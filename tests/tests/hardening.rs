//! Issue 7's defects found from outside that live in settings, connect and output: each test
//! reproduces one as a user met it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tests::servers::PrivateMariaDb;
use tests::{Backend, Out, TestDb, admin_url, cli_command, closed_pipe, dev_full};

fn run(cmd: &mut Command) -> Out {
    Out::from_output(cmd.output().unwrap())
}

fn no_panic(out: &Out) {
    assert_ne!(out.code, 101, "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
}

#[test]
fn output_that_cannot_be_written_never_panics_and_says_the_change_was_made() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let with = |args: &[&str], stdout: Stdio| {
        Out::from_output(db.command().args(args).stdout(stdout).output().unwrap())
    };
    let created = with(&["create-tables"], Stdio::from(dev_full()));
    no_panic(&created);
    assert_eq!(created.code, 6, "{created:?}");
    assert!(
        created.stderr.contains("the change was made"),
        "{created:?}"
    );
    assert!(db.has_table("student"));

    let added = with(&["add-student", "--name", "a"], Stdio::from(dev_full()));
    assert_eq!(added.code, 6, "{added:?}");
    assert_eq!(db.names(), ["a"], "the row is stored");
    let seeded = with(&["seed", "--count", "5"], Stdio::from(closed_pipe()));
    assert_eq!(seeded.code, 6, "{seeded:?}");
    assert_eq!(db.rows().len(), 6);
    let up = with(&["migrate", "up"], Stdio::from(closed_pipe()));
    no_panic(&up);
    assert_eq!(up.code, 6, "{up:?}");

    // Output of commands that change nothing: a reader that left is no error, a full disk is.
    let listed = with(&["list"], Stdio::from(closed_pipe()));
    assert_eq!((listed.code, listed.stderr.as_str()), (0, ""), "{listed:?}");
    let completions = with(&["completions", "bash"], Stdio::from(dev_full()));
    no_panic(&completions);
    assert_eq!(completions.code, 1, "{completions:?}");
    let completions = with(&["completions", "zsh"], Stdio::from(closed_pipe()));
    assert_eq!(completions.code, 0, "{completions:?}");

    // stderr unwritable too: the exit code still tells what happened.
    let duplicate = Out::from_output(
        db.command()
            .args(["add-student", "--name", "a"])
            .stderr(Stdio::from(dev_full()))
            .output()
            .unwrap(),
    );
    assert_eq!(duplicate.code, 3);
}

#[test]
fn help_version_and_completions_work_whatever_the_settings_hold() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "this is not a dotenv line\n").unwrap();
    std::fs::write(
        dir.path().join("settings.toml"),
        "[default]\npassword_env = \"UNSET_VARIABLE_X\"\ndialect = \"mysql\"\n[[[broken\n",
    )
    .unwrap();
    for args in [
        &["--help"][..],
        &["--version"],
        &["seed", "--help"],
        &["completions", "bash"],
    ] {
        let out = run(cli_command(dir.path())
            .args(args)
            .env("APP_ENV", "nonsense"));
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    // What does read the settings says what is wrong with them.
    let out = run(cli_command(dir.path()).arg("list")).fails(2);
    assert!(out.stderr.contains(".env"), "{out:?}");
}

#[test]
fn a_malformed_dotenv_troubles_only_what_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "password s3cret-line\n").unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display());
    // Everything the command needs is given: `.env` is never read.
    let out = run(cli_command(dir.path())
        .env("DATABASE_URL", &url)
        .env("APP_ENV", "develop")
        .env("STUDENTS_CONFIG", dir.path().join("none.toml"))
        .arg("create-tables"));
    assert!(out.stderr.contains("none.toml"), "{out:?}");
    let out = run(cli_command(dir.path()).arg("create-tables")).fails(2);
    assert!(out.stderr.contains("cannot read `.env`"), "{out:?}");
    assert!(!out.stderr.contains("s3cret"), "{out:?}");
}

#[test]
fn config_with_a_broken_value_prints_everything_else_and_marks_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.toml"),
        "[default]\nurl = \"sqlite://a.db\"\nconnect_timeout = 0\necho = true\n",
    )
    .unwrap();
    let out = run(cli_command(dir.path()).arg("config"));
    assert_eq!(out.code, 2, "{out:?}");
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in {out:?}"))
            .to_owned()
    };
    assert!(line("database url").contains("sqlite://a.db"), "{out:?}");
    assert!(line("echo").contains("settings.toml:4"), "{out:?}");
    let broken = line("connect timeout");
    assert!(
        broken.contains("(invalid)") && broken.contains("settings.toml:3"),
        "{broken}"
    );
    assert!(out.stderr.starts_with("error: settings.toml:3:"), "{out:?}");
    assert!(!dir.path().join("a.db").exists());
}

#[test]
fn a_numeric_password_in_any_toml_form_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "default.password = 987654321\n",
        "default = { password = 987654321 }\n",
        "[default]\n'password' = 987654321\n",
    ] {
        std::fs::write(dir.path().join("settings.toml"), text).unwrap();
        for args in [&["list"][..], &["config"]] {
            let out = run(cli_command(dir.path()).args(args));
            assert_eq!(out.code, 2, "{text}: {out:?}");
            let all = format!("{}{}", out.stdout, out.stderr);
            assert!(!all.contains("987654321"), "{text}: {out:?}");
            assert!(
                all.contains("`password` must be a string"),
                "{text}: {out:?}"
            );
        }
    }
}

#[test]
fn passwords_in_urls_are_masked_by_structure() {
    let dir = tempfile::tempdir().unwrap();
    let config = |url: &str| run(cli_command(dir.path()).args(["config", "--database-url", url]));
    // A PostgreSQL password given as a query parameter.
    let out = config("postgres://app@127.0.0.1:5432/db?sslmode=disable&password=hunter22").ok();
    assert!(!out.stdout.contains("hunter22"), "{out:?}");
    assert!(out.stdout.contains("password=***"), "{out:?}");
    let port = tests::servers::free_port();
    let out = run(cli_command(dir.path()).args([
        "list",
        "--database-url",
        &format!("postgres://app@127.0.0.1:{port}/db?password=hunter22&sslmode=bogus"),
    ]))
    .fails(2);
    assert!(!out.stderr.contains("hunter22"), "{out:?}");
    // An unencoded `/` in a password: nothing in the password position is ever printed.
    let out = config("mysql://app:12345/67@127.0.0.1:3306/db").ok();
    assert!(
        !out.stdout.contains("12345") && !out.stdout.contains("67@"),
        "{out:?}"
    );
    let out = run(cli_command(dir.path()).args([
        "list",
        "--database-url",
        "mysql://app:12345/67@127.0.0.1:3306/db",
    ]))
    .fails(2);
    assert!(out.stderr.contains("percent-encode"), "{out:?}");
    assert!(!out.stderr.contains("12345"), "{out:?}");
}

#[test]
fn mysql_a_password_that_is_a_common_word_does_not_mask_that_word() {
    let Some(admin) = admin_url(Backend::MySql) else {
        return;
    };
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_password(Some("user")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(cli_command(dir.path()).args(["--database-url", url.as_str(), "list"])).fails(4);
    assert!(
        out.stderr.contains("Access denied for user 'cli_test'"),
        "{out:?}"
    );
}

#[test]
fn postgres_password_as_a_query_parameter_logs_in_and_is_never_shown() {
    let Some(db) = TestDb::new(Backend::Postgres) else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    let password = percent_encoding::percent_decode_str(url.password().unwrap())
        .decode_utf8()
        .unwrap()
        .into_owned();
    url.set_password(None).unwrap();
    url.query_pairs_mut().append_pair("password", &password);
    let as_query = |args: &[&str]| {
        Out::from_output(
            db.command()
                .env("DATABASE_URL", url.as_str())
                .args(args)
                .output()
                .unwrap(),
        )
    };
    let encoded = url.query().unwrap().to_owned();
    let encoded = encoded.split("password=").nth(1).unwrap().to_owned();
    let shows_it = |text: &str| text.contains(&password) || text.contains(&encoded);
    as_query(&["create-tables"]).ok();
    let config = as_query(&["config"]).ok();
    assert!(!shows_it(&config.stdout), "{config:?}");
    assert!(config.stdout.contains("password=***"), "{config:?}");
    let listed = as_query(&["list", "-v"]).ok();
    assert!(!shows_it(&listed.stderr), "{listed:?}");
    let refused = as_query(&["list", "--database-url", &format!("{url}&sslmode=bogus")]).fails(2);
    assert!(!shows_it(&refused.stderr), "{refused:?}");
}

#[test]
fn long_and_hostile_values_are_quoted_safely_and_briefly() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    db.create_tables();
    let hostile = format!("{}\u{1b}]0;pwned\u{7}\u{1b}[2J", "x".repeat(40));
    let out = db.cli(&["add-student", "--name", &hostile]).fails(2);
    assert!(
        !out.stderr.contains('\u{1b}') && !out.stderr.contains('\u{7}'),
        "{out:?}"
    );
    let huge = "n".repeat(120_000);
    let out = db.cli(&["add-student", "--name", &huge]).fails(2);
    assert!(out.stderr.len() < 400, "{} bytes", out.stderr.len());
    assert!(out.stderr.contains("120000 characters"), "{out:?}");
    let out = db.cli(&["--env", "\u{1b}[31mred", "list"]).fails(2);
    assert!(!out.stderr.contains('\u{1b}'), "{out:?}");
    assert!(db.rows().is_empty());
}

#[test]
fn table_columns_fit_the_data_and_never_misalign() {
    use unicode_width::UnicodeWidthStr;
    let db = TestDb::new(Backend::Sqlite).unwrap();
    db.create_tables();
    for (name, score) in [("ab", "3.4028235e38"), ("c", "123456790"), ("小明", "80")] {
        db.cli(&["add-student", "--name", name, "--score", score])
            .ok();
    }
    let table = db.cli(&["list"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    let width = lines[0].width();
    for line in &lines[..lines.len() - 1] {
        assert_eq!(line.width(), width, "{line:?} in\n{table}");
    }
    assert!(width < 50, "the name column fits the names:\n{table}");
    assert!(
        table.contains("3.4028235e38") && table.contains("123456790.0"),
        "{table}"
    );
}

#[test]
fn input_is_validated_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let down = format!(
        "mysql://app:pw@127.0.0.1:{}/db",
        tests::servers::free_port()
    );
    for args in [
        &["seed", "--count", "5", "--batch-rows", "0"][..],
        &["seed", "--count", "5", "--batch-rows", "30000"],
        &["add-student", "--name", ""],
        &["add-student", "--name", "x", "--age", "151"],
    ] {
        let out = run(cli_command(dir.path())
            .env("DATABASE_URL", &down)
            .args(args))
        .fails(2);
        assert!(!out.stderr.contains("cannot connect"), "{args:?}: {out:?}");
    }
}

#[test]
fn unusable_url_options_and_files_that_are_not_sqlite_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cli_command(dir.path()).args([
        "list",
        "--database-url",
        "mysql://app:pw@127.0.0.1:3306/db?ssl-mode=bogus",
    ]))
    .fails(2);
    assert!(out.stderr.contains("bogus"), "{out:?}");
    assert!(!out.stderr.contains("error with configuration"), "{out:?}");
    assert_eq!(out.stderr.matches("error").count(), 1, "{out:?}");

    let file = dir.path().join("notes.db");
    std::fs::write(&file, "these are my notes, not a database\n".repeat(100)).unwrap();
    let url = format!("sqlite://{}", file.display());
    for args in [
        &["list"][..],
        &["add-student", "--name", "x"],
        &["create-tables"],
    ] {
        let out = run(cli_command(dir.path()).env("DATABASE_URL", &url).args(args)).fails(4);
        assert!(out.stderr.contains("is not a SQLite database"), "{out:?}");
        assert!(!out.stderr.contains("cannot connect"), "{out:?}");
    }
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("these are my notes")
    );
}

#[test]
fn mariadb_never_sees_a_connection_that_does_not_log_in() {
    let Some(server) = PrivateMariaDb::start(&["--max-connect-errors=3"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cli =
        |url: &str, args: &[&str]| run(cli_command(dir.path()).env("DATABASE_URL", url).args(args));
    let before = server.status("Aborted_connects");
    cli(&server.url(), &["create-tables"]).ok();
    cli(&server.url(), &["seed", "--count", "10"]).ok();
    cli(&server.url(), &["list"]).ok();
    assert_eq!(
        server.status("Aborted_connects"),
        before,
        "successful runs abort nothing"
    );
    let log = server.error_log();
    assert!(!log.contains("Aborted connection"), "{log}");

    // Wrong passwords, more often than max_connect_errors: the host is never blocked.
    for _ in 0..5 {
        let out = cli(&server.url_with_password("wrong"), &["list"]).fails(4);
        assert!(out.stderr.contains("Access denied"), "{out:?}");
    }
    let out = cli(&server.url(), &["list"]).ok();
    assert!(out.stdout.contains("10 rows"), "{out:?}");
    let blocked = server.sql(
        "SELECT COUNT(*) FROM performance_schema.host_cache WHERE COUNT_HOST_BLOCKED_ERRORS > 0",
    );
    assert!(blocked == "0" || blocked.is_empty(), "{blocked}");
}

#[test]
fn mariadb_dying_mid_command_is_a_lost_connection_reported_promptly() {
    let Some(mut server) = PrivateMariaDb::start(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    run(cli_command(dir.path())
        .env("DATABASE_URL", &url)
        .arg("create-tables"))
    .ok();
    // -v echoes each INSERT: the first one proves the seed is writing when the server dies.
    let mut child = cli_command(dir.path())
        .env("DATABASE_URL", &url)
        // A long connect timeout: waiting for the pool to reconnect would take that long.
        .args([
            "--connect-timeout",
            "30",
            "-v",
            "seed",
            "--count",
            "5000000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("INSERT") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "seed ended early");
    }
    server.kill();
    let killed = std::time::Instant::now();
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
    let status = child.wait().unwrap();
    let took = killed.elapsed();
    assert_eq!(status.code(), Some(4), "{rest}");
    assert!(rest.contains("lost the connection"), "{rest}");
    assert!(
        took < std::time::Duration::from_secs(10),
        "reported {took:?} after the server died: {rest}"
    );
}
