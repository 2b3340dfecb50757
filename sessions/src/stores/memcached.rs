//! Sessions in memcached, as Flask-Session keeps them: key `<prefix><store key>` (prefix
//! `session:` by default), the value the record's readable JSON, the expiry memcached's own
//! exptime. `session_url = "memcache://host:port"` (port 11211 by default).
//!
//! Create is `add` (only if absent); save is `gets` then `cas`, which replaces the data only if
//! the item is still there and unchanged (a session deleted meanwhile is never brought back);
//! touch is `touch` (no rewrite); delete is `delete`. memcached cannot enumerate its keys except
//! by `lru_crawler metadump`, which `list`, `stats` and `clear` use; a server that refuses
//! it makes them fail with a message saying so. memcached expires items itself.
//!
//! memcached counts time in whole seconds of its own clock, which ticks once a second: an
//! item lives between `exptime - 1` and `exptime` seconds, so a session may end up to a second
//! before its idle time is up, never after it (idle times are whole seconds; a remainder of
//! an absolute lifetime is rounded up, and checked exactly on load). Expiry times over 30 days
//! are sent as absolute Unix times, as the protocol requires.
//!
//! The client is this module's own, over the text protocol: a few pooled connections, each
//! used for one request at a time, a broken one dropped and replaced on the next request.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use settings::SecretUrl;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::id::StoreKey;
use crate::record::{Loaded, Record, decode};
use crate::store::{Cleanup, Stats, Store, Summary};

/// memcached's default port.
const DEFAULT_PORT: u16 = 11211;

/// The longest expiry memcached takes as relative seconds; a larger exptime is read as an
/// absolute Unix time (`REALTIME_MAXDELTA`, 30 days).
const RELATIVE_LIMIT: u64 = 30 * 24 * 3600;

/// memcached's longest key.
const MAX_KEY: usize = 250;

/// Idle connections kept for the next requests.
const POOL: usize = 16;

/// Attempts at a `cas` that keeps losing to concurrent writes of the same session.
const CAS_ATTEMPTS: usize = 8;

/// Dumps `clear` takes at most, each deleting what it lists.
const CLEAR_ROUNDS: usize = 5;

/// How long `lru_crawler metadump` may stay busy with another client's crawl.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// The memcached store.
#[derive(Debug)]
pub struct MemcachedStore {
    host: String,
    port: u16,
    prefix: String,
    name: String,
    timeout: Duration,
    idle: Mutex<Vec<Conn>>,
}

type Conn = BufStream<TcpStream>;

/// One item a `get`/`gets` returned.
#[derive(Debug)]
struct Item {
    value: Vec<u8>,
    cas: Option<u64>,
}

/// What a request reads back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// One line: `STORED`, `NOT_FOUND`, `VERSION 1.6.18`…
    Line,
    /// `VALUE …` blocks up to `END`.
    Items,
    /// `key=… exp=…` lines up to `END` (or one refusal line).
    Dump,
}

#[derive(Debug)]
enum Reply {
    Line(String),
    Items(Vec<Item>),
    Dump(Vec<String>),
}

/// A failed exchange: whether the connection broke (the server may be gone) or the request
/// did not finish in time.
#[derive(Debug)]
enum Failure {
    Io(std::io::Error),
    Timeout,
    /// The server sent something this client does not understand.
    Garbled(String),
}

/// The exptime memcached should be sent for `ttl` at Unix time `now` (seconds): whole
/// seconds rounded up, at least 1 (0 would mean "never"), and beyond 30 days the absolute time.
fn exptime(ttl: Duration, now: u64) -> u64 {
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0))
        .max(1);
    if secs > RELATIVE_LIMIT {
        now.saturating_add(secs)
    } else {
        secs
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One line of `lru_crawler metadump`: the key (URL-decoded) and its expiry as a Unix time
/// (`None` for an item that never expires); `None` for a line of another shape.
fn parse_dump_line(line: &str) -> Option<(String, Option<i64>)> {
    let mut key = None;
    let mut exp = None;
    for field in line.split_ascii_whitespace() {
        if let Some(k) = field.strip_prefix("key=") {
            key = Some(
                percent_encoding::percent_decode_str(k)
                    .decode_utf8()
                    .ok()?
                    .into_owned(),
            );
        } else if let Some(e) = field.strip_prefix("exp=") {
            let e: i64 = e.parse().ok()?;
            exp = Some((e >= 0).then_some(e));
        }
    }
    Some((key?, exp?))
}

/// Parses `memcache://host[:port]` into host, port and the name messages use.
fn target(url: &SecretUrl) -> Result<(String, u16, String)> {
    let raw = url.expose();
    let shown = format!("memcached at {}", url.redacted());
    let misconfigured = |name: &str, reason: String| Error::Misconfigured {
        store: name.to_owned(),
        reason,
    };
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| misconfigured(&shown, "session_url is not a URL".into()))?;
    if !matches!(scheme, "memcache" | "memcached") {
        return Err(misconfigured(
            &shown,
            format!(
                "unsupported scheme {}; use memcache://host:port",
                settings::quoted(scheme)
            ),
        ));
    }
    // Anything up to the last `@` may be a password, even with an unencoded `/` or `?` in it.
    if let Some((_, after)) = rest.rsplit_once('@') {
        let hosts = after.split(['/', '?', '#']).next().unwrap_or_default();
        return Err(misconfigured(
            &format!("memcached at {hosts}"),
            "memcached takes no user or password here; remove `user:password@` from session_url"
                .into(),
        ));
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let name = format!("memcached at {authority}");
    if !path.is_empty() || authority.contains([',', '?', '#']) {
        return Err(misconfigured(
            &name,
            "session_url names one server and nothing else: memcache://host:port".into(),
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (
            h,
            p.parse::<u16>().map_err(|_| {
                misconfigured(
                    &name,
                    format!("invalid port in {}", settings::quoted(authority)),
                )
            })?,
        ),
        _ => (authority, DEFAULT_PORT),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(misconfigured(&name, "session_url names no host".into()));
    }
    Ok((host.to_owned(), port, name))
}

impl MemcachedStore {
    /// The store at `url`, keying sessions under `prefix`, once the server has answered
    /// within `timeout`.
    pub async fn open(url: &SecretUrl, prefix: &str, timeout: Duration) -> Result<Self> {
        let store = Self::new(url, prefix, timeout)?;
        store.ping().await?;
        Ok(store)
    }

    /// As [`MemcachedStore::open`], for a server that must start while memcached is down:
    /// every request connects afresh until one succeeds. `Err` only for settings that can
    /// never work; `Ok((store, None))` when memcached answered.
    pub async fn open_in_background(
        url: &SecretUrl,
        prefix: &str,
        timeout: Duration,
    ) -> Result<(Self, Option<Error>)> {
        let store = Self::new(url, prefix, timeout)?;
        match store.ping().await {
            Ok(()) => Ok((store, None)),
            Err(e @ Error::Misconfigured { .. }) => Err(e),
            Err(e) => Ok((store, Some(e))),
        }
    }

    fn new(url: &SecretUrl, prefix: &str, timeout: Duration) -> Result<Self> {
        let (host, port, name) = target(url)?;
        if prefix.len() + 64 > MAX_KEY || prefix.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Error::Misconfigured {
                store: name,
                reason: format!(
                    "session_key_prefix {} cannot start a memcached key: at most {} bytes, without spaces or control characters",
                    settings::quoted(prefix),
                    MAX_KEY - 64
                ),
            });
        }
        Ok(MemcachedStore {
            host,
            port,
            prefix: prefix.to_owned(),
            name,
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn key(&self, key: &StoreKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    fn unavailable(&self, failure: &Failure) -> Error {
        let reason = match failure {
            Failure::Timeout => format!("no answer within {}s", self.timeout.as_secs_f32()),
            Failure::Io(e) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused (is the server running and listening on that port?)"
                        .to_owned()
                }
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionAborted => "the connection was lost".to_owned(),
                _ => e.to_string(),
            },
            Failure::Garbled(what) => format!("not a memcached reply: {what}"),
        };
        Error::Unavailable {
            store: self.name.clone(),
            reason,
        }
    }

    fn store_error(&self, reason: impl Into<String>) -> Error {
        Error::Store {
            store: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn pooled(&self) -> Option<Conn> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn put_back(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL {
            idle.push(conn);
        }
    }

    /// Sends `command` (and `data`, for storage commands) and reads the reply, error lines
    /// included (see [`MemcachedStore::checked`]). A pooled connection that turns out broken
    /// (memcached restarted) is dropped and the request sent once more on a new one; that one
    /// failing means memcached is unavailable. A request given up midway (a timeout, a
    /// dropped future) takes its connection with it, so no reply is ever read by another.
    async fn call(&self, command: &str, data: Option<&[u8]>, expect: Expect) -> Result<Reply> {
        if let Some(mut conn) = self.pooled() {
            match self.exchange(&mut conn, command, data, expect).await {
                Ok(reply) => {
                    self.put_back(conn);
                    return Ok(reply);
                }
                Err(Failure::Io(_)) => {
                    // Every idle connection went with the server that broke this one.
                    self.idle
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clear();
                }
                Err(other) => return Err(self.unavailable(&other)),
            }
        }
        let connect = TcpStream::connect((self.host.as_str(), self.port));
        let stream = match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(self.unavailable(&Failure::Io(e))),
            Err(_) => return Err(self.unavailable(&Failure::Timeout)),
        };
        let _ = stream.set_nodelay(true);
        let mut conn = BufStream::new(stream);
        let reply = self
            .exchange(&mut conn, command, data, expect)
            .await
            .map_err(|f| self.unavailable(&f))?;
        self.put_back(conn);
        Ok(reply)
    }

    /// A reply with memcached's error lines turned into errors.
    fn checked(&self, reply: Reply) -> Result<Reply> {
        if let Reply::Line(line) = &reply {
            if let Some(reason) = line
                .strip_prefix("SERVER_ERROR ")
                .or_else(|| line.strip_prefix("CLIENT_ERROR "))
            {
                return Err(self.store_error(reason.to_owned()));
            }
            if line == "ERROR" {
                return Err(self.store_error("the server did not know a command"));
            }
        }
        Ok(reply)
    }

    async fn exchange(
        &self,
        conn: &mut Conn,
        command: &str,
        data: Option<&[u8]>,
        expect: Expect,
    ) -> Result<Reply, Failure> {
        let io = async {
            conn.write_all(command.as_bytes()).await?;
            conn.write_all(b"\r\n").await?;
            if let Some(data) = data {
                conn.write_all(data).await?;
                conn.write_all(b"\r\n").await?;
            }
            conn.flush().await?;
            read_reply(conn, expect).await
        };
        match tokio::time::timeout(self.timeout, io).await {
            Ok(Ok(reply)) => reply.map_err(Failure::Garbled),
            Ok(Err(e)) => Err(Failure::Io(e)),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// The one status line a command answers with.
    async fn line(&self, command: &str, data: Option<&[u8]>) -> Result<String> {
        match self.checked(self.call(command, data, Expect::Line).await?)? {
            Reply::Line(line) => Ok(line),
            _ => Err(self.store_error("an unexpected reply")),
        }
    }

    async fn get(&self, full_key: &str, with_cas: bool) -> Result<Option<Item>> {
        let verb = if with_cas { "gets" } else { "get" };
        let reply = self
            .call(&format!("{verb} {full_key}"), None, Expect::Items)
            .await?;
        match self.checked(reply)? {
            Reply::Items(mut items) => Ok(items.pop()),
            Reply::Line(line) => Err(self.store_error(format!("{verb} answered {line:?}"))),
            Reply::Dump(_) => Err(self.store_error("an unexpected reply")),
        }
    }

    /// The live keys of this store (full keys and expiries), from `lru_crawler metadump`.
    ///
    /// `metadump hash` walks the hash table and sees every item. `metadump all` (older
    /// servers) walks the LRU queues instead and misses an item that memcached moves from
    /// one queue to another meanwhile (13 % of dumps missed one in a test with reads going
    /// on), so it is only the fallback.
    async fn keys(&self, what: &str) -> Result<Vec<(String, StoreKey, Option<i64>)>> {
        let started = std::time::Instant::now();
        let mut mode = "hash";
        let lines = loop {
            match self
                .call(&format!("lru_crawler metadump {mode}"), None, Expect::Dump)
                .await?
            {
                Reply::Dump(lines) => break lines,
                Reply::Line(line) if line.starts_with("BUSY") && started.elapsed() < BUSY_WAIT => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Reply::Line(line) if mode == "hash" && !line.contains("disabled") => {
                    mode = "all";
                }
                Reply::Line(line) => {
                    return Err(Error::Unsupported {
                        store: self.name.clone(),
                        what: format!(
                            "{what}: it answered {} to `lru_crawler metadump`, the only way to \
                             enumerate memcached's keys (a memcached started without \
                             `-o no_lru_crawler` can)",
                            settings::quoted(&line)
                        ),
                    });
                }
                Reply::Items(_) => return Err(self.store_error("an unexpected reply")),
            }
        };
        // memcached leaves out what it considers expired; its clock, not ours, decides
        // (ours may be up to a second ahead), so `clear` leaves nothing behind.
        let mut keys = Vec::new();
        for line in lines {
            let Some((full, exp)) = parse_dump_line(&line) else {
                continue;
            };
            let Some(key) = full
                .strip_prefix(&self.prefix)
                .and_then(StoreKey::parse)
                .filter(|k| k.as_str() == &full[self.prefix.len()..])
            else {
                continue;
            };
            keys.push((full, key, exp));
        }
        keys.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(keys)
    }
}

/// Reads one reply of the kind `expect` says. `Ok(Err(_))` is a reply this client cannot
/// read; `Err` is a broken connection.
async fn read_reply(conn: &mut Conn, expect: Expect) -> std::io::Result<Result<Reply, String>> {
    let mut first = read_line(conn).await?;
    match expect {
        Expect::Line => Ok(Ok(Reply::Line(first))),
        Expect::Items => {
            let mut items = Vec::new();
            loop {
                if first == "END" {
                    return Ok(Ok(Reply::Items(items)));
                }
                let Some(header) = first.strip_prefix("VALUE ") else {
                    return Ok(if items.is_empty() {
                        Ok(Reply::Line(first))
                    } else {
                        Err(format!("{first:?} among values"))
                    });
                };
                let fields: Vec<&str> = header.split_ascii_whitespace().collect();
                let (Some(len), cas) = (
                    fields.get(2).and_then(|n| n.parse::<usize>().ok()),
                    fields.get(3).and_then(|n| n.parse::<u64>().ok()),
                ) else {
                    return Ok(Err(format!("a VALUE line without a length: {first:?}")));
                };
                let mut value = vec![0; len + 2];
                conn.read_exact(&mut value).await?;
                if !value.ends_with(b"\r\n") {
                    return Ok(Err("a value not ended by CRLF".into()));
                }
                value.truncate(len);
                items.push(Item { value, cas });
                first = read_line(conn).await?;
            }
        }
        Expect::Dump => {
            if !first.starts_with("key=") && first != "END" {
                return Ok(Ok(Reply::Line(first)));
            }
            let mut lines = Vec::new();
            while first != "END" {
                lines.push(first);
                first = read_line(conn).await?;
            }
            Ok(Ok(Reply::Dump(lines)))
        }
    }
}

/// One line without its line end (metadump ends its lines with LF alone).
async fn read_line(conn: &mut Conn) -> std::io::Result<String> {
    let mut line = Vec::new();
    let n = conn.read_until(b'\n', &mut line).await?;
    if n == 0 || !line.ends_with(b"\n") {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

#[async_trait::async_trait]
impl Store for MemcachedStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn create(&self, key: &StoreKey, record: &Record, ttl: Duration) -> Result<bool> {
        let value = record.to_json();
        let reply = self
            .line(
                &format!(
                    "add {} 0 {} {}",
                    self.key(key),
                    exptime(ttl, unix_now()),
                    value.len()
                ),
                Some(value.as_bytes()),
            )
            .await?;
        match reply.as_str() {
            "STORED" => Ok(true),
            "NOT_STORED" => Ok(false),
            other => Err(self.store_error(format!("add answered {other:?}"))),
        }
    }

    async fn save(&self, key: &StoreKey, data: &str, ttl: Duration) -> Result<bool> {
        let full = self.key(key);
        for _ in 0..CAS_ATTEMPTS {
            let Some(item) = self.get(&full, true).await? else {
                return Ok(false);
            };
            let Some(cas) = item.cas else {
                return Err(self.store_error("gets answered without a CAS value"));
            };
            // Keep the header as stored, replace what follows `"data":` (the record's JSON
            // puts the data last).
            let Some(at) = find(&item.value, b",\"data\":") else {
                return Ok(false);
            };
            let mut value = item.value[..at].to_vec();
            value.extend_from_slice(b",\"data\":");
            value.extend_from_slice(data.as_bytes());
            value.push(b'}');
            let reply = self
                .line(
                    &format!(
                        "cas {full} 0 {} {} {cas}",
                        exptime(ttl, unix_now()),
                        value.len()
                    ),
                    Some(&value),
                )
                .await?;
            match reply.as_str() {
                "STORED" => return Ok(true),
                "NOT_FOUND" => return Ok(false),
                // Another request wrote the session in between: read it again.
                "EXISTS" => {}
                other => return Err(self.store_error(format!("cas answered {other:?}"))),
            }
        }
        Err(self.store_error(format!(
            "the session changed under {CAS_ATTEMPTS} saves in a row"
        )))
    }

    async fn touch(&self, key: &StoreKey, ttl: Duration) -> Result<bool> {
        let reply = self
            .line(
                &format!("touch {} {}", self.key(key), exptime(ttl, unix_now())),
                None,
            )
            .await?;
        match reply.as_str() {
            "TOUCHED" => Ok(true),
            "NOT_FOUND" => Ok(false),
            other => Err(self.store_error(format!("touch answered {other:?}"))),
        }
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Loaded>> {
        Ok(self
            .get(&self.key(key), false)
            .await?
            .and_then(|item| decode(&self.name, key, &item.value))
            .map(|record| Loaded {
                record,
                expires_at: None,
            }))
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let reply = self
            .line(&format!("delete {}", self.key(key)), None)
            .await?;
        match reply.as_str() {
            "DELETED" | "NOT_FOUND" => Ok(()),
            other => Err(self.store_error(format!("delete answered {other:?}"))),
        }
    }

    async fn list(&self, limit: Option<usize>) -> Result<Vec<Summary>> {
        let mut out = Vec::new();
        for (full, key, exp) in self.keys("list sessions").await? {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let Some(item) = self.get(&full, false).await? else {
                continue;
            };
            let record = decode(&self.name, &key, &item.value);
            out.push(Summary {
                key,
                created_at: record.as_ref().map(|r| r.created_at),
                expires_at: exp.map(|e| e.saturating_mul(1000)),
                bytes: item.value.len() as u64,
                names: record
                    .map(|r| r.data.keys().cloned().collect())
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn clear(&self) -> Result<u64> {
        // Again until a dump finds none: sessions created meanwhile, or missed by an
        // LRU-walking dump, go too.
        let mut removed = 0;
        for _ in 0..CLEAR_ROUNDS {
            let keys = self.keys("clear sessions").await?;
            if keys.is_empty() {
                break;
            }
            for (full, _, _) in keys {
                if self.line(&format!("delete {full}"), None).await? == "DELETED" {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    async fn cleanup(&self) -> Result<Cleanup> {
        Ok(Cleanup::SelfExpiring(
            "memcached removes expired sessions itself (each item has an expiry time)",
        ))
    }

    async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        for (full, _, _) in self.keys("count sessions").await? {
            if let Some(item) = self.get(&full, false).await? {
                stats.live += 1;
                stats.bytes += item.value.len() as u64;
            }
        }
        Ok(stats)
    }

    async fn ping(&self) -> Result<()> {
        let reply = self.line("version", None).await?;
        if reply.starts_with("VERSION ") {
            Ok(())
        } else {
            Err(self.unavailable(&Failure::Garbled(reply)))
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_over_30_days_is_an_absolute_unix_time() {
        let now = 1_795_617_393;
        assert_eq!(exptime(Duration::from_secs(60), now), 60);
        assert_eq!(exptime(Duration::from_millis(1500), now), 2, "rounded up");
        assert_eq!(exptime(Duration::from_millis(1), now), 1);
        assert_eq!(exptime(Duration::ZERO, now), 1, "0 would mean never");
        assert_eq!(exptime(Duration::from_secs(2_592_000), now), 2_592_000);
        assert_eq!(
            exptime(Duration::from_secs(2_592_001), now),
            now + 2_592_001
        );
        // Flask's default lifetime, 31 days.
        assert_eq!(
            exptime(Duration::from_secs(31 * 86_400), now),
            now + 31 * 86_400
        );
    }

    #[test]
    fn metadump_lines_give_the_decoded_key_and_its_expiry() {
        assert_eq!(
            parse_dump_line(
                "key=session%3Aab exp=1795627668 la=1795627618 cas=1 fetch=yes cls=1 size=72"
            ),
            Some(("session:ab".to_owned(), Some(1_795_627_668)))
        );
        assert_eq!(
            parse_dump_line("key=noexp exp=-1 la=1795627618 cas=4 fetch=no cls=1 size=67"),
            Some(("noexp".to_owned(), None))
        );
        assert_eq!(
            parse_dump_line("key=a%20b%25 exp=0"),
            Some(("a b%".to_owned(), Some(0)))
        );
        assert_eq!(parse_dump_line("END"), None);
        assert_eq!(parse_dump_line("key=x exp=soon"), None);
        assert_eq!(parse_dump_line("exp=5"), None);
    }

    #[test]
    fn urls_name_one_server_and_never_a_password() {
        let t = |u: &str| target(&SecretUrl::new(u));
        assert_eq!(
            t("memcache://127.0.0.1:11311").unwrap(),
            (
                "127.0.0.1".into(),
                11311,
                "memcached at 127.0.0.1:11311".into()
            )
        );
        assert_eq!(t("memcache://cache").unwrap().1, 11211);
        assert_eq!(t("memcache://[::1]:7").unwrap().0, "::1");
        assert_eq!(
            t("memcache://[::1]").unwrap(),
            ("::1".into(), 11211, "memcached at [::1]".into())
        );
        for bad in [
            "memcache://h:99999",
            "memcache://h1:1,h2:2",
            "memcache://h:1/0",
            "redis://h:1",
            "memcache://",
            "h:1",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
        for url in [
            "memcache://u:secretpw@h:1",
            "memcache://u:secret/pw@h:1",
            "memcache://u:secret?pw@h:1/x",
        ] {
            let err = t(url).unwrap_err().to_string();
            assert!(err.contains("memcached at h:1"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn prefixes_that_cannot_start_a_key_are_refused() {
        let url = SecretUrl::new("memcache://127.0.0.1:1");
        let timeout = Duration::from_secs(1);
        assert!(MemcachedStore::new(&url, "session:", timeout).is_ok());
        assert!(MemcachedStore::new(&url, "", timeout).is_ok());
        for bad in ["has space:", "tab\t", &"p".repeat(187)] {
            let err = MemcachedStore::new(&url, bad, timeout).unwrap_err();
            assert!(matches!(err, Error::Misconfigured { .. }), "{err}");
        }
    }
}
