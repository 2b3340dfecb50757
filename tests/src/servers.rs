//! Private database servers for tests that must misconfigure, watch or kill their server:
//! each on a free loopback port with its own data directory, stopped by PID when dropped.
//! The machine's shared servers are never touched.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A free loopback port (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether `program` can be run (is on PATH or is an existing path).
pub fn installed(program: &str) -> bool {
    Path::new(program).exists()
        || std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join(program).exists())
        })
}

/// Polls `ready` every 50 ms until it holds, or panics naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what} not ready within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A MariaDB server of our own, with a user `app` (password [`PrivateMariaDb::PASSWORD`]) who
/// may do anything, and a database `app`.
#[derive(Debug)]
pub struct PrivateMariaDb {
    child: Option<Child>,
    dir: TempDir,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// Extra arguments of its command line.
    args: Vec<String>,
}

impl PrivateMariaDb {
    /// The password of user `app`; it holds characters that need encoding in URLs.
    pub const PASSWORD: &'static str = "app p@ss/w#rd";

    /// Starts a fresh server with `args` added to its command line (`--max-connect-errors=3`);
    /// `None` after saying why when MariaDB is not installed (a failure under CI).
    pub fn start(args: &[&str]) -> Option<Self> {
        if !installed("/usr/sbin/mariadbd") || !installed("mariadb-install-db") {
            crate::skip("private MariaDB server", "mariadbd is not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        // The server runs as `mysql`, which must reach its directory and own its files.
        run(Command::new("chmod").arg("755").arg(dir.path()));
        run(Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--user=mysql",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]));
        run(Command::new("chown")
            .arg("-R")
            .arg("mysql:mysql")
            .arg(dir.path()));
        let mut server = PrivateMariaDb {
            child: None,
            dir,
            port: free_port(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.spawn();
        let pw = Self::PASSWORD.replace('\'', "''");
        server.sql(&format!(
            "CREATE USER 'app'@'%' IDENTIFIED BY '{pw}'; \
             GRANT ALL PRIVILEGES ON *.* TO 'app'@'%'; CREATE DATABASE app; FLUSH PRIVILEGES"
        ));
        Some(server)
    }

    /// Starts `mariadbd` on the data directory and port, and waits until it answers.
    fn spawn(&mut self) {
        let dir = self.dir.path();
        let data = dir.join("data");
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--user=mysql",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--log-warnings=4",
            ])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mariadbd");
        self.child = Some(child);
        wait_until("private mariadbd", Duration::from_secs(60), || {
            self.try_sql("SELECT 1").is_some()
        });
    }

    /// Starts the server again after [`PrivateMariaDb::kill`], on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// A URL for user `app` with `password` (URL-encoded here) and database `app`.
    pub fn url_with_password(&self, password: &str) -> String {
        let encoded: String =
            percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        format!("mysql://app:{encoded}@127.0.0.1:{}/app", self.port)
    }

    /// The URL `cli` logs in with.
    pub fn url(&self) -> String {
        self.url_with_password(Self::PASSWORD)
    }

    fn try_sql(&self, sql: &str) -> Option<String> {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!(
                "--socket={}",
                self.dir.path().join("mysqld.sock").display()
            ))
            .args(["-uroot", "-N", "-B", "-e", sql])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Runs `sql` as root over the socket and returns its tab-separated output.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql)
            .unwrap_or_else(|| panic!("private mariadbd refused: {sql}"))
    }

    /// A global status counter, e.g. `Aborted_connects`.
    pub fn status(&self, name: &str) -> u64 {
        let row = self.sql(&format!("SHOW GLOBAL STATUS LIKE '{name}'"));
        row.split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no status {name}: {row:?}"))
    }

    /// The server's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _already_gone = child.kill();
            let _reaped = child.wait();
        }
    }

    /// The data directory, for tests that look at files.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
    }
}

/// SIGTERM, then up to 30 s for the process to end, then SIGKILL.
pub fn stop(child: &mut Child) {
    let _gone = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _gone = child.kill();
    let _reaped = child.wait();
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Redis server of our own, without persistence, that a test may kill and restart.
#[derive(Debug)]
pub struct PrivateRedis {
    child: Option<Child>,
    dir: TempDir,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
}

impl PrivateRedis {
    /// Starts a fresh server; `None` after saying why when `redis-server` is not installed
    /// (a failure under CI).
    pub fn start() -> Option<Self> {
        if !installed("redis-server") {
            crate::skip("private Redis server", "redis-server is not installed");
            return None;
        }
        let mut server = PrivateRedis {
            child: None,
            dir: tempfile::tempdir().expect("temporary directory"),
            port: free_port(),
        };
        server.spawn();
        Some(server)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let port = self.port;
        wait_until("private redis-server", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _already_gone = child.kill();
            let _reaped = child.wait();
        }
    }

    /// Starts it again on the same port (empty: it keeps nothing).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
    }
}
