//! Private Redis deployments for the session-store tests of issue 10: a Redis Cluster of
//! three masters and three replicas, and a master with a replica watched by three sentinels.
//! Each server runs on free loopback ports in its own directory and is stopped by PID.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::servers::{free_port, installed, stop, wait_until};

fn cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn redis_server(dir: &Path, port: u16, extra: &[String]) -> Child {
    let data = dir.join(port.to_string());
    std::fs::create_dir_all(&data).expect("a directory for redis-server");
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--repl-diskless-sync-delay",
            "0",
        ])
        .arg("--dir")
        .arg(&data)
        .arg("--logfile")
        .arg(data.join("redis.log"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting redis-server")
}

/// Whether Redis is installed; records the skip otherwise (a failure under CI).
fn available(what: &str) -> bool {
    if installed("redis-server") && installed("redis-cli") {
        return true;
    }
    crate::skip(what, "redis-server is not installed");
    false
}

/// A Redis Cluster: three masters (slots 0-5460, 5461-10922, 10923-16383) with a replica each.
#[derive(Debug)]
pub struct RedisCluster {
    _dir: TempDir,
    /// The six data ports; the first three are the masters at start.
    pub ports: Vec<u16>,
    nodes: Vec<Option<Child>>,
}

impl RedisCluster {
    /// Starts the six nodes and forms the cluster; `None` (after saying why) without Redis.
    pub fn start() -> Option<Self> {
        if !available("Redis Cluster") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
        let nodes = ports
            .iter()
            .map(|&port| {
                Some(redis_server(
                    dir.path(),
                    port,
                    &[
                        "--cluster-enabled".into(),
                        "yes".into(),
                        "--cluster-config-file".into(),
                        "nodes.conf".into(),
                        "--cluster-node-timeout".into(),
                        "2000".into(),
                        // The bus port is port + 10000 by default, which may not be free.
                        "--cluster-port".into(),
                        free_port().to_string(),
                    ],
                ))
            })
            .collect();
        let cluster = RedisCluster {
            _dir: dir,
            ports,
            nodes,
        };
        for &p in &cluster.ports {
            wait_until("redis cluster node", Duration::from_secs(20), || {
                cli(p, &["ping"]).is_some_and(|o| o.contains("PONG"))
            });
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for p in &cluster.ports {
            create.arg(format!("127.0.0.1:{p}"));
        }
        let out = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        for &p in &cluster.ports {
            wait_until("redis cluster state ok", Duration::from_secs(30), || {
                cli(p, &["cluster", "info"]).is_some_and(|o| o.contains("cluster_state:ok"))
            });
        }
        // Replicas first show as slot-less masters: wait until all three are replicas.
        let first = cluster.ports[0];
        wait_until("redis cluster replicas", Duration::from_secs(30), || {
            cli(first, &["cluster", "nodes"]).is_some_and(|o| o.matches("slave").count() == 3)
        });
        Some(cluster)
    }

    /// `session_url` for this cluster.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis-cluster://{}", hosts.join(","))
    }

    fn live_port(&self) -> u16 {
        self.ports
            .iter()
            .zip(&self.nodes)
            .find(|(_, n)| n.is_some())
            .map(|(p, _)| *p)
            .expect("a live node")
    }

    /// Ports of the nodes that are masters now.
    pub fn masters(&self) -> Vec<u16> {
        let nodes = cli(self.live_port(), &["cluster", "nodes"]).unwrap_or_default();
        nodes
            .lines()
            .filter(|l| l.contains("master") && !l.contains("fail"))
            .filter_map(|l| {
                let addr = l.split_whitespace().nth(1)?;
                addr.split(['@', ':']).nth(1)?.parse().ok()
            })
            .collect()
    }

    /// Keys matching `pattern` held by the node on `port`.
    pub fn keys_on(&self, port: u16, pattern: &str) -> usize {
        cli(port, &["--scan", "--pattern", pattern])
            .map_or(0, |o| o.lines().filter(|l| !l.is_empty()).count())
    }

    /// Kills (SIGKILL) the node on `port`, as a crash would.
    pub fn kill(&mut self, port: u16) {
        if let Some(i) = self.ports.iter().position(|p| *p == port)
            && let Some(mut child) = self.nodes[i].take()
        {
            let _gone = child.kill();
            let _reaped = child.wait();
        }
    }

    /// Whether a live node reports `cluster_state:ok`.
    pub fn ok(&self) -> bool {
        cli(self.live_port(), &["cluster", "info"]).is_some_and(|o| o.contains("cluster_state:ok"))
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for slot in &mut self.nodes {
            if let Some(mut child) = slot.take() {
                stop(&mut child);
            }
        }
    }
}

/// A master, a replica and three sentinels watching them as `mymaster`.
#[derive(Debug)]
pub struct RedisSentinel {
    _dir: TempDir,
    /// The master's port at start.
    pub master: u16,
    /// The replica's port.
    pub replica: u16,
    /// The sentinels' ports.
    pub sentinels: Vec<u16>,
    servers: Vec<(u16, Option<Child>)>,
}

impl RedisSentinel {
    /// The name the sentinels monitor.
    pub const SERVICE: &'static str = "mymaster";

    /// Starts the five processes and waits until the sentinels agree; `None` without Redis.
    pub fn start() -> Option<Self> {
        if !available("Redis Sentinel") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let master = free_port();
        let replica = free_port();
        let mut servers = vec![
            (master, Some(redis_server(dir.path(), master, &[]))),
            (
                replica,
                Some(redis_server(
                    dir.path(),
                    replica,
                    &["--replicaof".into(), "127.0.0.1".into(), master.to_string()],
                )),
            ),
        ];
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let sdir = dir.path().join(format!("s{port}"));
            std::fs::create_dir_all(&sdir).expect("a sentinel directory");
            // Sentinel rewrites its file: a fresh one per run.
            let conf = sdir.join("sentinel.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\nsentinel monitor {s} 127.0.0.1 {master} 2\n\
                     sentinel down-after-milliseconds {s} 2000\nsentinel failover-timeout {s} 10000\n",
                    dir = sdir.display(),
                    s = Self::SERVICE,
                ),
            )
            .expect("writing sentinel.conf");
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .arg("--logfile")
                .arg(sdir.join("sentinel.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting redis sentinel");
            servers.push((port, Some(child)));
            sentinels.push(port);
        }
        let deployment = RedisSentinel {
            _dir: dir,
            master,
            replica,
            sentinels,
            servers,
        };
        for &s in &deployment.sentinels {
            wait_until("sentinel quorum", Duration::from_secs(30), || {
                cli(s, &["sentinel", "ckquorum", Self::SERVICE]).is_some_and(|o| o.contains("OK"))
            });
            // Every sentinel must know the replica, or a failover aborts with "no good slave".
            wait_until("sentinel sees the replica", Duration::from_secs(30), || {
                cli(s, &["sentinel", "replicas", Self::SERVICE])
                    .is_some_and(|o| o.contains(&replica.to_string()))
            });
        }
        wait_until("replica linked", Duration::from_secs(30), || {
            cli(replica, &["info", "replication"])
                .is_some_and(|o| o.contains("master_link_status:up"))
        });
        Some(deployment)
    }

    /// `session_url` for this deployment.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis-sentinel://{}/{}", hosts.join(","), Self::SERVICE)
    }

    /// The port of the master the sentinels name now.
    pub fn current_master(&self) -> Option<u16> {
        let out = cli(
            self.sentinels[0],
            &["sentinel", "get-master-addr-by-name", Self::SERVICE],
        )?;
        out.lines().nth(1)?.trim().parse().ok()
    }

    /// Kills (SIGKILL) the data server on `port`.
    pub fn kill(&mut self, port: u16) {
        if let Some((_, slot)) = self.servers.iter_mut().find(|(p, _)| *p == port)
            && let Some(mut child) = slot.take()
        {
            let _gone = child.kill();
            let _reaped = child.wait();
        }
    }
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        for (_, slot) in &mut self.servers {
            if let Some(mut child) = slot.take() {
                stop(&mut child);
            }
        }
    }
}
