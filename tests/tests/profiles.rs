//! The settings file, its profiles and `cli config`, driven through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::Path;
use std::process::Command;

use tests::{Backend, Out, TestDb, cli_command, each_backend};

each_backend!(settings_parts_log_in_with_a_password_needing_encoding);

fn run(cmd: &mut Command) -> Out {
    Out::from_output(cmd.output().unwrap())
}

/// A TOML basic string: JSON's escaping is valid TOML for every character.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The test database's URL taken apart into the settings file's parts.
fn parts_of(db: &TestDb, password_key: &str) -> (String, Option<String>) {
    let url = url::Url::parse(&db.url).unwrap();
    if db.backend == Backend::Sqlite {
        let file = db
            .url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap();
        return (
            format!(
                "[default]\ndialect = \"sqlite\"\ndatabase = {}\n",
                toml_str(file)
            ),
            None,
        );
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    let password = url.password().map(decode);
    let mut text = format!(
        "[default]\ndialect = \"{}\"\ndriver = \"sqlx\"\nusername = {}\nhost = {}\nport = {}\ndatabase = {}\n",
        url.scheme(),
        toml_str(&decode(url.username())),
        toml_str(url.host_str().unwrap()),
        url.port().unwrap(),
        toml_str(url.path().trim_start_matches('/')),
    );
    if let Some(p) = &password {
        if password_key == "password" {
            text += &format!("password = {}\n", toml_str(p));
        } else {
            text += "password_env = \"CLI_TEST_DB_PASSWORD\"\n";
        }
    }
    (text, password)
}

fn settings_parts_log_in_with_a_password_needing_encoding(db: &TestDb) {
    for key in ["password", "password_env"] {
        let (text, password) = parts_of(db, key);
        std::fs::write(db.workdir.path().join("settings.toml"), &text).unwrap();
        let mut cmd = cli_command(db.workdir.path());
        if let Some(p) = &password {
            cmd.env("CLI_TEST_DB_PASSWORD", p);
        }
        run(cmd.arg("create-tables")).ok();
        let mut cmd = cli_command(db.workdir.path());
        if let Some(p) = &password {
            cmd.env("CLI_TEST_DB_PASSWORD", p);
        }
        let config = run(cmd.arg("config")).ok();
        assert!(
            config.stdout.contains("settings.toml:1 [default]"),
            "{config:?}"
        );
        if let Some(p) = password.as_deref().filter(|p| !p.is_empty()) {
            assert!(!config.stdout.contains(p), "password shown: {config:?}");
            let encoded = url::Url::parse(&db.url)
                .unwrap()
                .password()
                .unwrap()
                .to_owned();
            assert!(
                !config.stdout.contains(&encoded),
                "password shown: {config:?}"
            );
            assert!(config.stdout.contains("***"), "{config:?}");
        }
        if key == "password_env" && password.is_some() {
            // Without the variable: a settings error naming the key, not a failed login.
            let out = run(cli_command(db.workdir.path()).arg("list")).fails(2);
            assert!(
                out.stderr.contains("settings.toml:")
                    && out.stderr.contains("CLI_TEST_DB_PASSWORD"),
                "{out:?}"
            );
        }
    }
    assert!(db.has_table("student"));
}

const PROFILES: &str = r#"
[default]
url = "sqlite://default.db?mode=rwc"
connect_timeout = 7

[develop]
url = "sqlite://develop.db?mode=rwc"

[test]
url = "sqlite://test.db?mode=rwc"
echo = true
"#;

fn profiles_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("settings.toml"), PROFILES).unwrap();
    dir
}

fn config_line<'a>(out: &'a Out, key: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no `{key}` in {out:?}"))
}

#[test]
fn profile_comes_from_flag_environment_or_default() {
    let dir = profiles_dir();
    let out = run(cli_command(dir.path()).arg("config")).ok();
    assert!(
        config_line(&out, "profile").contains("develop")
            && config_line(&out, "profile").ends_with("default"),
        "{out:?}"
    );
    assert!(
        config_line(&out, "database url").contains("develop.db"),
        "{out:?}"
    );
    assert!(
        config_line(&out, "database url").ends_with("settings.toml:7 [develop]"),
        "{out:?}"
    );
    assert!(
        config_line(&out, "connect timeout").ends_with("settings.toml:4 [default]"),
        "{out:?}"
    );

    let out = run(cli_command(dir.path()).env("APP_ENV", "test").arg("config")).ok();
    assert!(
        config_line(&out, "profile").ends_with("environment APP_ENV"),
        "{out:?}"
    );
    assert!(
        config_line(&out, "database url").contains("test.db"),
        "{out:?}"
    );
    assert!(config_line(&out, "echo").contains("true"), "{out:?}");

    // A profile without a table of its own is [default].
    let out = run(cli_command(dir.path()).args(["--env", "product", "config"])).ok();
    assert!(
        config_line(&out, "profile").ends_with("flag --env"),
        "{out:?}"
    );
    assert!(
        config_line(&out, "database url").contains("default.db"),
        "{out:?}"
    );

    run(cli_command(dir.path()).args(["--env", "test", "create-tables"])).ok();
    assert!(dir.path().join("test.db").exists() && !dir.path().join("develop.db").exists());
}

#[test]
fn url_precedence_is_flag_then_environment_then_dotenv_then_file() {
    let dir = profiles_dir();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://dotenv.db?mode=rwc\n",
    )
    .unwrap();
    let out = run(cli_command(dir.path()).arg("config")).ok();
    assert!(
        config_line(&out, "database url").contains("dotenv.db"),
        "{out:?}"
    );
    assert!(
        config_line(&out, "database url").ends_with(".env DATABASE_URL"),
        "{out:?}"
    );

    let out = run(cli_command(dir.path())
        .env("DATABASE_URL", "sqlite://env.db")
        .arg("config"))
    .ok();
    assert!(
        config_line(&out, "database url").ends_with("environment DATABASE_URL"),
        "{out:?}"
    );

    let out = run(cli_command(dir.path())
        .env("DATABASE_URL", "sqlite://env.db")
        .args(["config", "--database-url", "mysql://u:hunter22@h/db"]))
    .ok();
    assert!(
        config_line(&out, "database url").contains("mysql://u:***@h/db"),
        "{out:?}"
    );
    assert!(
        config_line(&out, "database url").ends_with("flag --database-url"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("hunter22"), "{out:?}");
}

#[test]
fn config_file_from_flag_or_environment_and_echo_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "[default]\nurl = \"sqlite://other.db?mode=rwc\"\necho = true\n",
    )
    .unwrap();
    let out =
        run(cli_command(dir.path()).args(["--config", other.to_str().unwrap(), "create-tables"]))
            .ok();
    assert!(
        out.stderr.contains("CREATE TABLE"),
        "echo = true prints SQL: {out:?}"
    );
    assert!(dir.path().join("other.db").exists());
    let out = run(cli_command(dir.path())
        .env("STUDENTS_CONFIG", &other)
        .arg("config"))
    .ok();
    assert!(
        config_line(&out, "settings file").contains("other.toml"),
        "{out:?}"
    );
    let missing = run(cli_command(dir.path()).args(["--config", "nope.toml", "list"])).fails(2);
    assert!(missing.stderr.contains("nope.toml"), "{missing:?}");
}

#[test]
fn bad_settings_exit_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[default]\nurl = \"sqlite://a.db\"\nhots = \"x\"\n",
            "settings.toml:3",
            "hots",
        ),
        (
            "[default]\ndialect = \"mysql\"\nport = \"3306\"\n",
            "settings.toml:3",
            "`port` must be a whole number from 1 to 65535",
        ),
        (
            "[default]\ndialect = \"mysql\"\nusername = \"u\"\npassword = \"Sup3rS3cret\"\nhost = \"h\"\n",
            "settings.toml:1",
            "`database` is missing",
        ),
        (
            "[default]\ndialect = \"oracle\"\n",
            "settings.toml:2",
            "unknown dialect `oracle`",
        ),
    ];
    for (text, place, key) in cases {
        std::fs::write(dir.path().join("settings.toml"), text).unwrap();
        let out = run(cli_command(dir.path()).arg("list")).fails(2);
        assert!(
            out.stderr.contains(place) && out.stderr.contains(key),
            "{text}\n{out:?}"
        );
        assert!(!out.stderr.contains("Sup3rS3cret"), "{out:?}");
    }
    std::fs::write(dir.path().join("settings.toml"), PROFILES).unwrap();
    let out = run(cli_command(dir.path()).args(["--env", "staging", "list"])).fails(2);
    assert!(
        out.stderr.contains("unknown profile `staging`") && out.stderr.contains("settings.toml"),
        "{out:?}"
    );
    assert!(
        !dir.path().join("develop.db").exists(),
        "nothing may be touched"
    );
}

#[test]
fn settings_example_mirrors_the_original_profiles() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../settings.example.toml");
    let dir = tempfile::tempdir().unwrap();
    let config = |args: &[&str]| {
        let mut cmd = cli_command(dir.path());
        cmd.arg("--config").arg(&example).args(args).arg("config");
        cmd
    };
    let develop = run(&mut config(&[])).ok();
    assert!(
        config_line(&develop, "database url")
            .contains("mysql://mhh123:***@127.0.0.1:3306/my_flask"),
        "{develop:?}"
    );
    assert!(
        config_line(&develop, "echo").contains("true"),
        "{develop:?}"
    );
    let test = run(&mut config(&["--env", "test"])).ok();
    assert!(
        config_line(&test, "database url").contains("/my_flask_test"),
        "{test:?}"
    );
    let product = run(&mut config(&["--env", "product"])).fails(2);
    assert!(
        product.stderr.contains("STUDENTS_DB_PASSWORD"),
        "{product:?}"
    );
    let product = run(config(&["--env", "product"])
        .env("STUDENTS_DB_PASSWORD", "s3cret-prod")
        .env("STUDENTS_SECRET_KEY", "k3y-from-the-environment"))
    .ok();
    assert!(!product.stdout.contains("k3y-from"), "{product:?}");
    assert!(
        config_line(&product, "secret key").contains("settings.toml:")
            || config_line(&product, "secret key").contains("example.toml:"),
        "{product:?}"
    );
    assert!(
        config_line(&product, "cookie secure").contains("true"),
        "{product:?}"
    );
    assert!(
        config_line(&develop, "session lifetime").contains("60s"),
        "{develop:?}"
    );
    assert!(!product.stdout.contains("s3cret-prod"), "{product:?}");
    assert!(
        product.stdout.contains("environment STUDENTS_DB_PASSWORD"),
        "{product:?}"
    );
}
