//! The integration-test harness: a fresh database per test on every backend, and the real
//! `cli` binary to drive against it.
//!
//! SQLite always runs. MariaDB/MySQL and PostgreSQL run when `MYSQL_URL` / `POSTGRES_URL` name
//! a server where the user may create databases; each test gets its own database, dropped when
//! the test ends, so tests run in parallel. Outside CI a backend without its variable is
//! skipped with a printed reason; under `CI=true` that is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failed setup must fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod galera;
pub mod redis_servers;
pub mod servers;
pub mod session_stores;
pub mod test_migrator;
pub mod web;

use entity::student;
use rand::Rng;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryOrder, Statement};
use tempfile::TempDir;

/// The original tutorial's first row: `cli add-student --name 小明 --age 16 --score 80`.
pub const ADD_XIAOMING: [&str; 7] = [
    "add-student",
    "--name",
    "小明",
    "--age",
    "16",
    "--score",
    "80",
];

/// A database server kind the tests cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
    Postgres,
}

impl Backend {
    /// The environment variable naming the admin URL of this backend's server.
    pub fn env_var(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::MySql => Some("MYSQL_URL"),
            Backend::Postgres => Some("POSTGRES_URL"),
        }
    }
}

/// Whether this run is CI, where no backend may be skipped.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Records that `what` is not tested in this run because of `reason`: a failure under CI;
/// otherwise a line on stderr and, when `STUDENTS_TEST_SKIPS` names a file, a line there, which
/// the test script sums up after the run so a skipped backend is never hidden.
#[track_caller]
pub fn skip(what: &str, reason: &str) {
    assert!(
        !under_ci(),
        "{what} cannot be tested ({reason}), but under CI=true nothing may be skipped"
    );
    eprintln!("skipping {what}: {reason}");
    if let Some(path) = std::env::var_os("STUDENTS_TEST_SKIPS") {
        use std::io::Write;
        let line = format!("{what}: {reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            eprintln!("cannot record the skip in {}: {e}", path.to_string_lossy());
        }
    }
}

/// The URL of a server from the environment variable `var` (`REDIS_URL`, say), or `None`
/// after recording the skip (a failure under CI).
pub fn server_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip(what, &format!("{var} is not set"));
            None
        }
    }
}

/// The admin URL for `backend`, or `None` (after saying why) when the test should be skipped.
pub fn admin_url(backend: Backend) -> Option<String> {
    let var = backend.env_var()?;
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip(&format!("{backend:?}"), &format!("{var} is not set"));
            None
        }
    }
}

/// Path of the `cli` binary, built once per test process; `STUDENTS_CLI` names another one
/// (an older build, to see a new test fail against it).
pub fn cli_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("STUDENTS_CLI").filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        escargot::CargoBuild::new()
            .manifest_path(manifest)
            .package("cli")
            .bin("cli")
            .current_release()
            // No explicit `--target`: that would build every dependency a second time in
            // target/<triple>/ instead of reusing target/debug/.
            .run()
            .expect("building the cli binary")
            .path()
            .to_owned()
    })
}

/// Every environment variable `cli` reads on its own, plus `RUST_LOG`.
const TOOL_VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "APP_ENV",
    "STUDENTS_CONFIG",
    "STUDENTS_DB_PASSWORD",
    "STUDENTS_SECRET_KEY",
    "RUST_LOG",
];

/// `cli` run in `dir` with none of the variables it reads inherited from the developer's
/// shell: the one way tests start it, so `APP_ENV=product` in a shell changes no result.
pub fn cli_command(dir: &Path) -> Command {
    let mut cmd = Command::new(cli_path());
    cmd.current_dir(dir);
    hermetic(&mut cmd);
    cmd
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE (a reader
/// that went away, as `cli list | head`).
pub fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer
}

/// `/dev/full`: every write to it fails with ENOSPC (a full disk).
pub fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
}

/// Removes from `cmd`'s environment every variable `cli` reads, for commands that start `cli`
/// indirectly (through `script`, say).
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    for var in TOOL_VARIABLES {
        cmd.env_remove(var);
    }
    cmd
}

/// What one run of `cli` did.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Captures a finished process.
    pub fn from_output(output: Output) -> Self {
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\n{self:#?}");
        self
    }

    /// Asserts the exit code and a one-line `error:` on stderr, and returns self.
    #[track_caller]
    pub fn fails(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self:#?}");
        assert!(
            self.stderr.starts_with("error: "),
            "stderr must start with `error: `\n{self:#?}"
        );
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "error must be one line\n{self:#?}"
        );
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        self
    }
}

/// A fresh, empty database that exists for one test, and the directory `cli` runs in.
#[derive(Debug)]
pub struct TestDb {
    pub backend: Backend,
    /// The URL `cli` gets through `DATABASE_URL`.
    pub url: String,
    /// The current directory of every `cli` run (no stray `.env` or `students.db`).
    pub workdir: TempDir,
    /// Admin URL and database name, to drop the database afterwards.
    server: Option<(String, String)>,
    runtime: tokio::runtime::Runtime,
}

impl TestDb {
    /// A fresh database on `backend`; `None` when that backend is skipped.
    pub fn new(backend: Backend) -> Option<Self> {
        Self::with_mysql_charset(backend, None)
    }

    /// As [`TestDb::new`], with the MySQL database created in `charset` (say `latin1`),
    /// standing in for a server whose default charset it is.
    pub fn with_mysql_charset(backend: Backend, charset: Option<&str>) -> Option<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let workdir = tempfile::tempdir().unwrap();
        if backend == Backend::Sqlite {
            let url = format!(
                "sqlite://{}?mode=rwc",
                workdir.path().join("test.db").display()
            );
            return Some(TestDb {
                backend,
                url,
                workdir,
                server: None,
                runtime,
            });
        }
        let admin = admin_url(backend)?;
        let name = format!("cli_test_{:016x}", rand::rng().random::<u64>());
        let create = match (backend, charset) {
            (Backend::MySql, Some(cs)) => format!("CREATE DATABASE {name} CHARACTER SET {cs}"),
            _ => format!("CREATE DATABASE {name}"),
        };
        runtime.block_on(async {
            let db = Database::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "{} is set but its server is unusable: {e}",
                    backend.env_var().unwrap_or("")
                )
            });
            db.execute_unprepared(&create).await.unwrap();
            db.close().await.unwrap();
        });
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Some(TestDb {
            backend,
            url: url.to_string(),
            workdir,
            server: Some((admin, name)),
            runtime,
        })
    }

    /// This database as seen by a read-only (SELECT-only) user, from `MYSQL_RO_URL` or
    /// `POSTGRES_RO_URL`; `None` (after saying why) when that variable is not set.
    pub fn readonly_url(&self) -> Option<String> {
        let var = match self.backend {
            Backend::Sqlite => return None,
            Backend::MySql => "MYSQL_RO_URL",
            Backend::Postgres => "POSTGRES_RO_URL",
        };
        let Ok(raw) = std::env::var(var) else {
            skip(
                &format!("{:?} read-only user", self.backend),
                &format!("{var} is not set"),
            );
            return None;
        };
        let (_, name) = self.server.as_ref()?;
        let mut url = url::Url::parse(&raw).unwrap();
        url.set_path(&format!("/{name}"));
        Some(url.to_string())
    }

    /// `cli` with `DATABASE_URL` pointing here, run in the work directory.
    pub fn command(&self) -> Command {
        let mut cmd = cli_command(self.workdir.path());
        cmd.env("DATABASE_URL", &self.url);
        cmd
    }

    /// Runs `cli ARGS` against this database and waits for it.
    pub fn cli(&self, args: &[&str]) -> Out {
        Out::from_output(self.command().args(args).output().unwrap())
    }

    /// Runs `f` with a fresh connection to this database.
    pub fn with_db<T>(&self, f: impl AsyncFnOnce(&DatabaseConnection) -> T) -> T {
        self.runtime.block_on(async {
            let db = Database::connect(&self.url).await.unwrap();
            let out = f(&db).await;
            db.close().await.unwrap();
            out
        })
    }

    /// Every stored student, ordered by id.
    pub fn rows(&self) -> Vec<student::Model> {
        self.with_db(async |db| {
            student::Entity::find()
                .order_by_asc(student::Column::Id)
                .all(db)
                .await
                .unwrap()
        })
    }

    /// Every stored name, ordered by id.
    pub fn names(&self) -> Vec<String> {
        self.rows().into_iter().map(|r| r.s_name).collect()
    }

    /// Whether `table` exists.
    pub fn has_table(&self, table: &str) -> bool {
        self.with_db(async |db| {
            migration::SchemaManager::new(db)
                .has_table(table)
                .await
                .unwrap()
        })
    }

    /// Runs one SQL statement written for this backend.
    pub fn exec(&self, sql: &str) {
        self.with_db(async |db| {
            let backend = db.get_database_backend();
            db.execute_raw(Statement::from_string(backend, sql))
                .await
                .unwrap();
        });
    }

    /// Creates the tables through the CLI, as a user would.
    pub fn create_tables(&self) {
        self.cli(&["create-tables"]).ok();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = &self.server else {
            return;
        };
        let drop = match self.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS {name}"),
        };
        let result = self.runtime.block_on(async {
            let db = Database::connect(admin.as_str()).await?;
            db.execute_unprepared(&drop).await?;
            db.close().await
        });
        if let Err(e) = result
            && !std::thread::panicking()
        {
            panic!("could not drop test database {name}: {e}");
        }
    }
}

/// Declares each listed `fn name(db: &TestDb)` as one test per backend:
/// `sqlite::name`, `mysql::name` and `postgres::name`.
#[macro_export]
macro_rules! each_backend {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() {
                if let Some(db) = $crate::TestDb::new($crate::Backend::Sqlite) { super::$name(&db) }
            } )+
        }
        mod mysql {
            $( #[test] fn $name() {
                if let Some(db) = $crate::TestDb::new($crate::Backend::MySql) { super::$name(&db) }
            } )+
        }
        mod postgres {
            $( #[test] fn $name() {
                if let Some(db) = $crate::TestDb::new($crate::Backend::Postgres) { super::$name(&db) }
            } )+
        }
    };
}
