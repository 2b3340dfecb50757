//! A private MariaDB Galera cluster of three nodes for the tests of issue 10: free loopback
//! ports (four per node), its own data directories, the recipe of `shared/INFRA.md`.
//!
//! Each `mariadbd` runs under a small `sh` keeper whose stdin is a pipe from this process:
//! when the pipe closes (the cluster is dropped, or the test process ends in any way, even
//! while the cluster sits in a `static`) the keeper stops its node by PID with SIGTERM, waits
//! for it, and removes the node's directory. So one cluster can be shared by every test of
//! the binary ([`PrivateGalera::shared`]), which saves ~12 s per test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::servers::{free_port, installed, run, wait_until};

/// The Galera library `mariadbd` loads (Debian's `galera-4`).
pub const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";

/// One node: its keeper and the PID of its `mariadbd`.
#[derive(Debug)]
struct Node {
    keeper: Option<Child>,
    pid: Option<u32>,
}

/// Three Galera nodes with a user `app` (password [`PrivateGalera::PASSWORD`]) who may do
/// anything; tests create their own databases with [`PrivateGalera::database`].
#[derive(Debug)]
pub struct PrivateGalera {
    dir: PathBuf,
    nodes: Vec<Node>,
    /// The SQL ports of nodes 1, 2 and 3 on 127.0.0.1.
    pub ports: Vec<u16>,
}

impl PrivateGalera {
    /// The password of user `app` (sqlx cannot log in with an empty one, root's).
    pub const PASSWORD: &'static str = "app p@ss/w#rd";

    /// Whether everything a cluster needs is installed; records the skip otherwise (a
    /// failure under CI).
    fn available() -> bool {
        for (program, package) in [
            ("/usr/sbin/mariadbd", "mariadb-server"),
            ("mariadb-install-db", "mariadb-server"),
            ("mariadb", "mariadb-client"),
            (PROVIDER, "galera-4"),
            ("rsync", "rsync"),
        ] {
            if !installed(program) {
                crate::skip(
                    "private Galera cluster",
                    &format!("{program} is not installed (package {package})"),
                );
                return false;
            }
        }
        true
    }

    /// The cluster shared by every test of this process, started on first use; `None`
    /// (after saying why) when Galera is not installed. Tests that kill nodes start their own.
    pub fn shared() -> Option<&'static PrivateGalera> {
        static SHARED: OnceLock<Option<PrivateGalera>> = OnceLock::new();
        SHARED.get_or_init(PrivateGalera::start).as_ref()
    }

    /// Starts a fresh cluster of three synced nodes: node 1 bootstraps it, nodes 2 and 3 join
    /// one at a time by rsync state transfer.
    pub fn start() -> Option<Self> {
        if !Self::available() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("galera-test-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        run(Command::new("chmod").arg("755").arg(&dir));
        let sql: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let gcomm: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let cluster_address = gcomm
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        for i in 0..3 {
            let n = dir.join(format!("n{}", i + 1));
            std::fs::create_dir_all(n.join("data")).expect("node directory");
            let (ist, sst) = (free_port(), free_port());
            let cnf = [
                "[mysqld]".to_owned(),
                "user=mysql".to_owned(),
                format!("datadir={}", n.join("data").display()),
                format!("socket={}", n.join("mysqld.sock").display()),
                format!("pid-file={}", n.join("mysqld.pid").display()),
                format!("log-error={}", n.join("error.log").display()),
                format!("port={}", sql[i]),
                "bind-address=127.0.0.1".to_owned(),
                "skip-name-resolve".to_owned(),
                "innodb_buffer_pool_size=64M".to_owned(),
                "innodb_log_file_size=16M".to_owned(),
                "binlog_format=ROW".to_owned(),
                "innodb_autoinc_lock_mode=2".to_owned(),
                "wsrep_on=ON".to_owned(),
                format!("wsrep_provider={PROVIDER}"),
                "wsrep_cluster_name=cli_test_galera".to_owned(),
                format!("wsrep_cluster_address=gcomm://{cluster_address}"),
                format!("wsrep_node_name=n{}", i + 1),
                "wsrep_node_address=127.0.0.1".to_owned(),
                format!("wsrep_node_incoming_address=127.0.0.1:{}", sql[i]),
                format!(
                    "wsrep_provider_options=\"gmcast.listen_addr=tcp://127.0.0.1:{};ist.recv_addr=127.0.0.1:{ist};gcache.size=32M\"",
                    gcomm[i]
                ),
                "wsrep_sst_method=rsync".to_owned(),
                format!("wsrep_sst_receive_address=127.0.0.1:{sst}"),
            ];
            std::fs::write(n.join("my.cnf"), cnf.join("\n") + "\n").expect("my.cnf");
        }
        run(Command::new("chown").arg("-R").arg("mysql:mysql").arg(&dir));
        run(Command::new("mariadb-install-db")
            .arg(format!(
                "--defaults-file={}",
                dir.join("n1/my.cnf").display()
            ))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]));
        let mut cluster = PrivateGalera {
            dir,
            nodes: Vec::new(),
            ports: sql,
        };
        for i in 0..3 {
            let node = cluster.spawn(i, i == 0);
            cluster.nodes.push(node);
            wait_until(
                &format!("galera node {} synced", i + 1),
                Duration::from_secs(120),
                || {
                    cluster
                        .try_sql(i, "SHOW STATUS LIKE 'wsrep_local_state_comment'")
                        .is_some_and(|s| s.contains("Synced"))
                },
            );
        }
        let pw = Self::PASSWORD.replace('\'', "''");
        cluster.sql(
            0,
            &format!(
                "CREATE USER 'app'@'%' IDENTIFIED BY '{pw}'; GRANT ALL PRIVILEGES ON *.* TO 'app'@'%'"
            ),
        );
        Some(cluster)
    }

    /// Starts node `i` (0-based) under its keeper.
    fn spawn(&self, i: usize, bootstrap: bool) -> Node {
        let n = self.node_dir(i);
        let keeper_script = r#"trap '' INT
"$@" </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid"
read -r _
kill "$pid" 2>/dev/null
wait "$pid"
rm -rf "$NODE_DIR"
rmdir "$CLUSTER_DIR" 2>/dev/null
exit 0"#;
        let mut keeper = Command::new("sh")
            .arg("-c")
            .arg(keeper_script)
            .arg("sh")
            .arg("/usr/sbin/mariadbd")
            .arg(format!("--defaults-file={}", n.join("my.cnf").display()))
            .args(bootstrap.then_some("--wsrep-new-cluster"))
            .env("NODE_DIR", &n)
            .env("CLUSTER_DIR", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting a galera node's keeper");
        let mut line = String::new();
        let stdout = keeper.stdout.take().expect("keeper stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the keeper names its node's PID");
        let pid = line.trim().parse().ok();
        assert!(pid.is_some(), "no PID from the keeper: {line:?}");
        Node {
            keeper: Some(keeper),
            pid,
        }
    }

    fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("n{}", i + 1))
    }

    /// A new, empty database on the cluster, and the URL of user `app` on each node.
    pub fn database(&self, name: &str) -> Vec<String> {
        self.sql(0, &format!("CREATE DATABASE `{name}`"));
        (0..3).map(|i| self.url(i, name)).collect()
    }

    /// The URL of user `app` on node `i` (0-based), database `db`.
    pub fn url(&self, i: usize, db: &str) -> String {
        format!(
            "mysql://app:{}@127.0.0.1:{}/{db}",
            self.password(),
            self.ports[i]
        )
    }

    /// [`PrivateGalera::PASSWORD`], URL-encoded.
    pub fn password(&self) -> String {
        percent_encoding::utf8_percent_encode(Self::PASSWORD, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
    }

    /// Runs `sql` as root on node `i` over its socket, with causal reads (it sees everything
    /// the cluster committed before), and returns its tab-separated output; `None` if refused.
    pub fn try_sql(&self, i: usize, sql: &str) -> Option<String> {
        let socket = self.node_dir(i).join("mysqld.sock");
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", socket.display()))
            .args(["-uroot", "-N", "-B", "-e"])
            .arg(sql)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// As [`PrivateGalera::try_sql`], panicking when refused.
    pub fn sql(&self, i: usize, sql: &str) -> String {
        self.try_sql(i, sql)
            .unwrap_or_else(|| panic!("galera node {} refused: {sql}", i + 1))
    }

    /// `SELECT COUNT(*)` of `table` in `db` on node `i`, after catching up with the cluster.
    pub fn count(&self, i: usize, db: &str, table: &str) -> u64 {
        let out = self.sql(
            i,
            &format!("SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM `{db}`.`{table}`"),
        );
        out.parse()
            .unwrap_or_else(|_| panic!("not a count: {out:?}"))
    }

    /// Kills node `i` at once (SIGKILL), as a crash would; its keeper cleans up at the end.
    pub fn kill(&mut self, i: usize) {
        if let Some(pid) = self.nodes[i].pid.take() {
            let _gone = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }

    /// The node's `wsrep_ready` (`ON` or `OFF`), `None` when it does not answer.
    pub fn ready(&self, i: usize) -> Option<String> {
        self.try_sql(i, "SHOW STATUS LIKE 'wsrep_ready'")
            .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
    }

    /// The cluster's directory (each node's `error.log` is in `n1/`, `n2/`, `n3/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivateGalera {
    fn drop(&mut self) {
        // Closing every keeper's stdin first stops the nodes together, then each is awaited.
        for node in &mut self.nodes {
            if let Some(keeper) = &mut node.keeper {
                drop(keeper.stdin.take());
            }
        }
        for node in &mut self.nodes {
            if let Some(mut keeper) = node.keeper.take() {
                let _reaped = keeper.wait();
            }
        }
    }
}
