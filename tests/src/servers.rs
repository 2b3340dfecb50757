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
    /// Declared first: the server stops before its directory goes.
    child: Running,
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
            child: Running(None),
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
        self.child = Running(Some(child));
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
        self.child.kill();
    }

    /// The data directory, for tests that look at files.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

/// A test's server process: stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
struct Running(Option<Child>);

impl Running {
    /// Kills it at once (SIGKILL), as a crash would.
    fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _already_gone = child.kill();
            let _reaped = child.wait();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
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

/// Runs a set-up command that must succeed; its stderr is in the panic when it does not.
pub(crate) fn run(cmd: &mut Command) {
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
    /// Declared first: the server stops before its directory goes.
    child: Running,
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
            child: Running(None),
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
        self.child = Running(Some(child));
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
        self.child.kill();
    }

    /// Starts it again on the same port (empty: it keeps nothing).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

/// A memcached server of our own (64 MB, TCP only), that a test may kill and restart.
#[derive(Debug)]
pub struct PrivateMemcached {
    child: Running,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    args: Vec<String>,
}

impl PrivateMemcached {
    /// Starts a fresh server; `None` after saying why when `memcached` is not installed (a
    /// failure under CI).
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// As [`PrivateMemcached::start`], with `args` added to its command line
    /// (`-o no_lru_crawler`).
    pub fn start_with(args: &[&str]) -> Option<Self> {
        if !installed("memcached") {
            crate::skip("private memcached server", "memcached is not installed");
            return None;
        }
        let mut server = PrivateMemcached {
            child: Running(None),
            port: free_port(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.spawn();
        Some(server)
    }

    fn spawn(&mut self) {
        // `-u nobody`: memcached refuses to run as root without a user to become.
        let child = Command::new("memcached")
            .args(["-u", "nobody", "-l", "127.0.0.1", "-U", "0", "-m", "64"])
            .args(["-p", &self.port.to_string()])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting memcached");
        self.child = Running(Some(child));
        let port = self.port;
        wait_until("private memcached", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("memcache://127.0.0.1:{}", self.port)
    }

    /// Sends `command` (with `data` for a storage command) and returns the reply, as a test
    /// looking at the server itself would: up to `END` for `get`, `gets` and
    /// `lru_crawler metadump`, else its one line.
    pub fn send(&self, command: &str, data: Option<&[u8]>) -> String {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = format!("{command}\r\n").into_bytes();
        if let Some(data) = data {
            request.extend_from_slice(data);
            request.extend_from_slice(b"\r\n");
        }
        stream.write_all(&request).unwrap();
        let many = ["get ", "gets ", "lru_crawler metadump"]
            .iter()
            .any(|verb| command.starts_with(verb));
        let mut reader = BufReader::new(stream);
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "memcached hung up"
            );
            reply.push_str(&line);
            let line = line.trim_end();
            let last = line == "END" || line.ends_with("ERROR") || line.contains("ERROR ");
            if !many || last {
                return reply;
            }
        }
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Starts it again on the same port (empty: it keeps nothing).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

/// A MongoDB-compatible server of our own: SecantusDB (a pure-Python server that speaks the
/// wire protocol), in memory, from the virtualenv whose `secantusd-py` the environment
/// variable `STUDENTS_MONGO_SERVER` names (`scripts/test` makes one).
#[derive(Debug)]
pub struct PrivateMongo {
    /// Declared first: the server stops before its directory goes.
    _process: Running,
    dir: TempDir,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
}

impl PrivateMongo {
    /// The variable naming the server's executable.
    pub const VAR: &'static str = "STUDENTS_MONGO_SERVER";

    /// Starts a fresh, empty server; `None` after saying why when there is none to start (a
    /// failure under CI).
    pub fn start() -> Option<Self> {
        Self::start_on(free_port())
    }

    /// As [`PrivateMongo::start`], on `port` (for a client told of it before it existed).
    pub fn start_on(port: u16) -> Option<Self> {
        let program = match std::env::var(Self::VAR) {
            Ok(p) if !p.is_empty() => p,
            _ => {
                crate::skip(
                    "private MongoDB server (SecantusDB)",
                    &format!("{} is not set (scripts/test sets it)", Self::VAR),
                );
                return None;
            }
        };
        if !installed(&program) {
            crate::skip(
                "private MongoDB server (SecantusDB)",
                &format!("{} names {program}, which does not exist", Self::VAR),
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        // An empty config file: without `--config` it reads ./secantusd.toml or
        // ~/.secantus/secantusd.toml if some other program left one.
        let config = dir.path().join("secantusd.toml");
        std::fs::write(&config, "").expect("empty config file");
        let child = Command::new(&program)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--storage-path", ":memory:", "--log-level", "WARNING"])
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let server = PrivateMongo {
            _process: Running(Some(child)),
            dir,
            port,
        };
        wait_until("private SecantusDB", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(server)
    }

    /// Its URL, with the database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("mongodb://127.0.0.1:{}/{db}", self.port)
    }

    /// Its directory (the empty config file).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
