//! Sessions in Redis, as Flask-Session keeps them: key `<prefix><store key>` (prefix
//! `session:` by default), the value the record's readable JSON, the expiry Redis's own TTL.
//!
//! Create is `SET … NX PX`, save a script that replaces the data only if the key exists
//! (`SET … XX` semantics, keeping the header), touch `PEXPIRE` (no rewrite); every command
//! names one key, so the same code works on a Redis Cluster. Listing and clearing `SCAN` every
//! primary. `redis://`, `redis-cluster://h:p,h:p` and `redis-sentinel://h:p,h:p/service` URLs.

use std::time::Duration;

use fred::prelude::*;
use fred::types::Expiration;
use fred::types::scan::Scanner;
use futures_util::{StreamExt, TryStreamExt};
use settings::SecretUrl;

use crate::error::{Error, Result};
use crate::id::StoreKey;
use crate::record::{Loaded, Record, decode, now_ms};
use crate::store::{Cleanup, Stats, Store, Summary};

/// Replaces the data of an existing record, keeping its header; 0 when the key is gone.
const SAVE: &str = r#"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local i = string.find(cur, ',"data":', 1, true)
if not i then return 0 end
redis.call('SET', KEYS[1], string.sub(cur, 1, i - 1) .. ',"data":' .. ARGV[1] .. '}', 'PX', ARGV[2])
return 1
"#;

/// Keys asked for per `SCAN` step.
const SCAN_COUNT: u32 = 500;

/// The Redis store.
#[derive(Debug)]
pub struct RedisStore {
    client: Client,
    prefix: String,
    name: String,
    clustered: bool,
}

/// Where a `session_url` points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    server: ServerConfig,
    username: Option<String>,
    password: Option<String>,
    database: Option<u8>,
    /// For messages: the kind and the addresses, never a password.
    name: String,
}

fn misconfigured(name: &str, reason: impl Into<String>) -> Error {
    Error::Misconfigured {
        store: name.to_owned(),
        reason: reason.into(),
    }
}

fn decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses `redis://[user:pass@]host[:port][/db]`, `redis-cluster://[…@]h:p,h:p` and
/// `redis-sentinel://[…@]h:p,h:p/service_name[/db]`.
fn target(url: &SecretUrl) -> Result<Target> {
    let raw = url.expose();
    let shown = url.redacted();
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| misconfigured(&format!("redis at {shown}"), "session_url is not a URL"))?;
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((userinfo, rest)) => (Some(userinfo), rest),
        None => (None, rest),
    };
    let (hosts, path) = match rest.split_once('/') {
        Some((hosts, path)) => (hosts, path),
        None => (rest, ""),
    };
    let kind = match scheme {
        "redis" => "redis",
        "redis-cluster" => "redis cluster",
        "redis-sentinel" => "redis sentinel",
        "rediss" | "rediss-cluster" | "rediss-sentinel" => {
            return Err(misconfigured(
                &format!("redis at {shown}"),
                "TLS (rediss://) is not built into this program; use redis:// on a trusted network or a TLS tunnel",
            ));
        }
        other => {
            return Err(misconfigured(
                &format!("redis at {shown}"),
                format!(
                    "unsupported scheme {}; use redis://, redis-cluster:// or redis-sentinel://",
                    settings::quoted(other)
                ),
            ));
        }
    };
    let name = format!("{kind} at {hosts}");
    let mut servers = Vec::new();
    for host in hosts.split(',').filter(|h| !h.is_empty()) {
        let (h, p) = match host.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>().map_err(|_| {
                    misconfigured(&name, format!("invalid port in {}", settings::quoted(host)))
                })?,
            ),
            None => (
                host,
                if kind == "redis sentinel" {
                    26379
                } else {
                    6379
                },
            ),
        };
        servers.push(fred::types::config::Server::new(
            h.trim_matches(['[', ']']),
            p,
        ));
    }
    if servers.is_empty() {
        return Err(misconfigured(&name, "session_url names no host"));
    }
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => match info.split_once(':') {
            Some((u, p)) => ((!u.is_empty()).then(|| decoded(u)), Some(decoded(p))),
            None => ((!info.is_empty()).then(|| decoded(info)), None),
        },
    };
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let (server, database) = match kind {
        "redis" => {
            if servers.len() > 1 {
                return Err(misconfigured(
                    &name,
                    "several hosts: use redis-cluster:// or redis-sentinel://",
                ));
            }
            (
                ServerConfig::Centralized {
                    server: servers.remove(0),
                },
                segments
                    .next()
                    .map(str::parse::<u8>)
                    .transpose()
                    .map_err(|_| {
                        misconfigured(
                            &name,
                            "the database in the path must be a number from 0 to 255",
                        )
                    })?,
            )
        }
        "redis cluster" => (
            ServerConfig::Clustered {
                hosts: servers,
                policy: Default::default(),
            },
            None,
        ),
        _ => {
            let service_name = segments.next().map(decoded).ok_or_else(|| {
                misconfigured(
                    &name,
                    "redis-sentinel://h:p,h:p/SERVICE needs the service name in the path",
                )
            })?;
            (
                ServerConfig::Sentinel {
                    hosts: servers,
                    service_name,
                },
                segments
                    .next()
                    .map(str::parse::<u8>)
                    .transpose()
                    .map_err(|_| {
                        misconfigured(
                            &name,
                            "the database in the path must be a number from 0 to 255",
                        )
                    })?,
            )
        }
    };
    Ok(Target {
        server,
        username,
        password,
        database,
        name,
    })
}

impl RedisStore {
    /// Connects to the Redis at `url` (waiting at most `timeout`), keying sessions under
    /// `prefix`. The client reconnects by itself when the server comes back.
    pub async fn open(url: &SecretUrl, prefix: &str, timeout: Duration) -> Result<Self> {
        let store = Self::build(url, prefix, timeout, true)?;
        match tokio::time::timeout(timeout, store.client.init()).await {
            Ok(Ok(_task)) => Ok(store),
            Ok(Err(e)) => Err(store.error(&e)),
            Err(_) => Err(Error::Unavailable {
                store: store.name.clone(),
                reason: format!("no answer within {}s", timeout.as_secs_f32()),
            }),
        }
    }

    /// As [`RedisStore::open`], for a server that must start while Redis is down: the client
    /// keeps connecting in the background and commands fail as unavailable until it is up.
    /// `Err` only for settings that can never work; `Ok((store, None))` when connected.
    pub async fn open_in_background(
        url: &SecretUrl,
        prefix: &str,
        timeout: Duration,
    ) -> Result<(Self, Option<Error>)> {
        let store = Self::build(url, prefix, timeout, true)?;
        let first = match tokio::time::timeout(timeout, store.client.init()).await {
            Ok(Ok(_driver)) => return Ok((store, None)),
            Ok(Err(e)) => store.error(&e),
            Err(_) => Error::Unavailable {
                store: store.name.clone(),
                reason: format!("no answer within {}s", timeout.as_secs_f32()),
            },
        };
        if matches!(first, Error::Misconfigured { .. }) {
            return Err(first);
        }
        // A client whose first connection failed stays down: a new one keeps connecting in
        // the background, under the reconnect policy.
        let _ = store.client.quit().await;
        let store = Self::build(url, prefix, timeout, false)?;
        let _driver = store.client.connect();
        Ok((store, Some(first)))
    }

    /// A client for `url`; `fail_fast` makes a failed first connection an error instead of
    /// retrying it under the reconnect policy.
    fn build(url: &SecretUrl, prefix: &str, timeout: Duration, fail_fast: bool) -> Result<Self> {
        let target = target(url)?;
        let clustered = matches!(target.server, ServerConfig::Clustered { .. });
        let config = Config {
            server: target.server,
            username: target.username,
            password: target.password,
            database: target.database,
            fail_fast,
            ..Config::default()
        };
        let name = target.name;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = timeout;
                c.internal_command_timeout = timeout;
                c.max_command_attempts = 2;
            })
            .with_performance_config(|p| p.default_command_timeout = timeout)
            // Forever, with a capped backoff: the store recovers on its own when Redis does.
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build()
            .map_err(|e| misconfigured(&name, e.details().to_owned()))?;
        Ok(RedisStore {
            client,
            prefix: prefix.to_owned(),
            name,
            clustered,
        })
    }

    fn key(&self, key: &StoreKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    fn error(&self, e: &fred::error::Error) -> Error {
        use fred::error::ErrorKind as K;
        // fred puts the I/O error's Debug form in its details; say what it means.
        let details = e.details();
        let reason = if details.contains("ConnectionRefused") {
            "connection refused (is the server running and listening on that port?)".to_owned()
        } else if details.contains("ConnectionReset") || details.contains("BrokenPipe") {
            "the connection was lost".to_owned()
        } else {
            details.to_owned()
        };
        match e.kind() {
            K::IO | K::Timeout | K::Canceled | K::Protocol | K::Routing | K::Cluster => {
                Error::Unavailable {
                    store: self.name.clone(),
                    reason,
                }
            }
            K::Auth | K::Config | K::Url => Error::Misconfigured {
                store: self.name.clone(),
                reason,
            },
            _ => Error::Store {
                store: self.name.clone(),
                reason,
            },
        }
    }

    /// Every key of this store (under the prefix), from every primary.
    async fn keys(&self, limit: Option<usize>) -> Result<Vec<String>> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut keys = Vec::new();
        // A cluster is scanned on every primary; the pages are alike either way.
        let mut pages = if self.clustered {
            self.client
                .scan_cluster(pattern, Some(SCAN_COUNT), None)
                .boxed()
        } else {
            self.client.scan(pattern, Some(SCAN_COUNT), None).boxed()
        };
        while let Some(mut page) = pages.try_next().await.map_err(|e| self.error(&e))? {
            keys.extend(
                page.take_results()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|k| k.as_str().map(str::to_owned)),
            );
            if limit.is_some_and(|l| keys.len() >= l) {
                page.cancel();
                break;
            }
            page.next();
        }
        if let Some(l) = limit {
            keys.truncate(l);
        }
        Ok(keys)
    }
}

/// `text` with Redis glob characters escaped, for a literal prefix in `SCAN MATCH`.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

#[async_trait::async_trait]
impl Store for RedisStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn create(&self, key: &StoreKey, record: &Record, ttl: Duration) -> Result<bool> {
        let reply: Option<String> = self
            .client
            .set(
                self.key(key),
                record.to_json(),
                Some(Expiration::PX(millis(ttl))),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(reply.is_some())
    }

    async fn save(&self, key: &StoreKey, data: &str, ttl: Duration) -> Result<bool> {
        let saved: i64 = self
            .client
            .eval(
                SAVE,
                vec![self.key(key)],
                vec![data.to_owned(), millis(ttl).to_string()],
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(saved == 1)
    }

    async fn touch(&self, key: &StoreKey, ttl: Duration) -> Result<bool> {
        let set: i64 = self
            .client
            .pexpire(self.key(key), millis(ttl), None)
            .await
            .map_err(|e| self.error(&e))?;
        Ok(set == 1)
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Loaded>> {
        let value: Option<Vec<u8>> = self
            .client
            .get(self.key(key))
            .await
            .map_err(|e| self.error(&e))?;
        Ok(value
            .and_then(|bytes| decode(&self.name, key, &bytes))
            .map(|record| Loaded {
                record,
                expires_at: None,
            }))
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let _removed: i64 = self
            .client
            .del(self.key(key))
            .await
            .map_err(|e| self.error(&e))?;
        Ok(())
    }

    async fn list(&self, limit: Option<usize>) -> Result<Vec<Summary>> {
        let mut out = Vec::new();
        for full in self.keys(limit).await? {
            let Some(key) = StoreKey::parse(&full[self.prefix.len().min(full.len())..]) else {
                continue;
            };
            let value: Option<Vec<u8>> =
                self.client.get(&full).await.map_err(|e| self.error(&e))?;
            let ttl: i64 = self.client.pttl(&full).await.map_err(|e| self.error(&e))?;
            let Some(bytes) = value else { continue };
            let record = decode(&self.name, &key, &bytes);
            out.push(Summary {
                key,
                created_at: record.as_ref().map(|r| r.created_at),
                expires_at: (ttl > 0).then(|| now_ms().saturating_add(ttl)),
                bytes: bytes.len() as u64,
                names: record
                    .map(|r| r.data.keys().cloned().collect())
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn clear(&self) -> Result<u64> {
        let mut removed = 0;
        for key in self.keys(None).await? {
            let n: i64 = self.client.del(&key).await.map_err(|e| self.error(&e))?;
            removed += u64::try_from(n).unwrap_or(0);
        }
        Ok(removed)
    }

    async fn cleanup(&self) -> Result<Cleanup> {
        Ok(Cleanup::SelfExpiring(
            "Redis removes expired sessions itself (each key has a TTL)",
        ))
    }

    async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        for key in self.keys(None).await? {
            let len: u64 = self.client.strlen(&key).await.map_err(|e| self.error(&e))?;
            stats.live += 1;
            stats.bytes += len;
        }
        Ok(stats)
    }

    async fn ping(&self) -> Result<()> {
        let _pong: String = self.client.ping(None).await.map_err(|e| self.error(&e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_every_deployment() {
        let t = target(&SecretUrl::new("redis://:pw@127.0.0.1:6380/2")).unwrap();
        assert_eq!(t.name, "redis at 127.0.0.1:6380");
        assert_eq!((t.password.as_deref(), t.database), (Some("pw"), Some(2)));
        let t = target(&SecretUrl::new("redis-cluster://h1:7000,h2:7001")).unwrap();
        assert!(matches!(t.server, ServerConfig::Clustered { ref hosts, .. } if hosts.len() == 2));
        let t = target(&SecretUrl::new(
            "redis-sentinel://s1:26379,s2:26380/mymaster",
        ))
        .unwrap();
        assert!(
            matches!(t.server, ServerConfig::Sentinel { ref service_name, .. } if service_name == "mymaster")
        );
        let err = target(&SecretUrl::new("memcache://u:secretpw@h:1"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secretpw"), "{err}");
        assert!(target(&SecretUrl::new("redis-sentinel://s1:1")).is_err());
    }
}
