//! Sessions in MongoDB: collection `sessions` of the database `session_url` names
//! (`mongodb://host:27017/students`; `flask_session`, Flask-Session's default, when the URL
//! has no path), through the official driver.
//!
//! One document per session: `_id` the store key, `created` and `absoluteExpiresAt` (the
//! record's header, BSON dates), `expiresAt` (BSON date) and `data` (the session's values as
//! JSON text, exactly as the other stores keep them). A TTL index on `expiresAt`
//! (`expireAfterSeconds: 0`), created at open, lets the server purge expired sessions; its
//! monitor runs only every 60 s, so every read also filters `expiresAt > now` and an expired
//! session is never served. Create is an insert (a duplicate key means taken), save and touch
//! are updates of a live document, never upserts: a session deleted or expired meanwhile is
//! not brought back. `cli sessions cleanup` removes expired documents in batches of 1,000.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, IndexModel};
use settings::SecretUrl;

use crate::error::{Error, Result};
use crate::id::StoreKey;
use crate::record::{Loaded, Record, decode, now_ms};
use crate::store::{Cleanup, Stats, Store, Summary};

/// The database when `session_url` names none: Flask-Session's `SESSION_MONGODB_DB`.
pub const DEFAULT_DATABASE: &str = "flask_session";

/// The collection, as Flask-Session's `SESSION_MONGODB_COLLECT`.
const COLLECTION: &str = "sessions";

/// Documents removed per `cleanup` step.
const CLEANUP_BATCH: i64 = 1_000;

/// MongoDB's duplicate key error.
const DUPLICATE_KEY: i32 = 11000;

/// The MongoDB store.
#[derive(Debug)]
pub struct MongoStore {
    client: Client,
    sessions: Collection<Document>,
    database: String,
    name: String,
    indexed: AtomicBool,
}

/// The hosts of a `mongodb://` URL, for messages: never the user or password, even one
/// with an unencoded `/`, `?` or `@` in it (everything up to the last `@` goes).
fn hosts(raw: &str) -> &str {
    let rest = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, hosts)| hosts);
    match rest.split(['/', '?']).next() {
        Some(hosts) if !hosts.is_empty() => hosts,
        _ => "***",
    }
}

fn expiry(ttl: Duration) -> DateTime {
    DateTime::from_millis(
        now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)),
    )
}

fn now() -> DateTime {
    DateTime::from_millis(now_ms())
}

/// The document a new session is stored as.
fn document(key: &StoreKey, record: &Record, ttl: Duration) -> Document {
    doc! {
        "_id": key.as_str(),
        "created": DateTime::from_millis(record.created_at),
        "absoluteExpiresAt": record.absolute_expires_at.map(DateTime::from_millis),
        "expiresAt": expiry(ttl),
        "data": Record::data_json(&record.data),
    }
}

/// The record a stored document holds, through the same reader as every store (a document
/// of another shape is absent); its expiry; its data's size.
fn record(store: &str, key: &StoreKey, doc: &Document) -> Option<(Record, Option<i64>, u64)> {
    let date = |field: &str| match doc.get(field) {
        Some(Bson::DateTime(d)) => Some(d.timestamp_millis().to_string()),
        Some(Bson::Null) | None => Some("null".to_owned()),
        Some(_) => None,
    };
    let data = match doc.get("data") {
        Some(Bson::String(s)) => s.as_str(),
        _ => "",
    };
    // Fields of another type read as invalid JSON, so `decode` says so once and drops it.
    let json = format!(
        r#"{{"created_at":{},"absolute_expires_at":{},"data":{}}}"#,
        date("created").unwrap_or_default(),
        date("absoluteExpiresAt").unwrap_or_default(),
        data
    );
    let expires_at = match doc.get("expiresAt") {
        Some(Bson::DateTime(d)) => Some(d.timestamp_millis()),
        _ => None,
    };
    decode(store, key, json.as_bytes()).map(|r| (r, expires_at, data.len() as u64))
}

impl MongoStore {
    /// The store at `url`, once the server has answered within `timeout` and the TTL index
    /// exists.
    pub async fn open(url: &SecretUrl, timeout: Duration) -> Result<Self> {
        let store = Self::new(url, timeout).await?;
        store.ping().await?;
        store.ensure_index().await?;
        Ok(store)
    }

    /// As [`MongoStore::open`], for a server that must start while MongoDB is down: the
    /// driver keeps trying, and the TTL index is made by the first session created. `Err`
    /// only for settings that can never work; `Ok((store, None))` when MongoDB answered.
    pub async fn open_in_background(
        url: &SecretUrl,
        timeout: Duration,
    ) -> Result<(Self, Option<Error>)> {
        let store = Self::new(url, timeout).await?;
        let first = match store.ping().await {
            Ok(()) => store.ensure_index().await,
            Err(e) => Err(e),
        };
        match first {
            Ok(()) => Ok((store, None)),
            Err(e @ Error::Misconfigured { .. }) => Err(e),
            Err(e) => Ok((store, Some(e))),
        }
    }

    async fn new(url: &SecretUrl, timeout: Duration) -> Result<Self> {
        let raw = url.expose();
        let name = format!("mongodb at {}", hosts(raw));
        let misconfigured = |reason: String| Error::Misconfigured {
            store: name.clone(),
            reason,
        };
        if raw.starts_with("mongodb+srv://") {
            return Err(misconfigured(
                "mongodb+srv:// (a DNS seed list) is not built into this program; list the hosts: mongodb://h1:27017,h2:27017/db".into(),
            ));
        }
        if !raw.starts_with("mongodb://") {
            return Err(misconfigured(
                "session_url must be a mongodb:// URL, e.g. mongodb://127.0.0.1:27017/students"
                    .into(),
            ));
        }
        // The driver's parse errors can quote a misplaced password ("invalid server address
        // app:secret"): with credentials in the URL, say only what is wrong in general.
        let mut options = ClientOptions::parse(raw).await.map_err(|e| {
            misconfigured(if raw.contains('@') {
                "session_url is not a valid MongoDB URL: mongodb://[user:password@]host:port[,host:port]/database[?options], \
                 with any of @ : / ? # % in the user or password percent-encoded"
                    .to_owned()
            } else {
                reason(&e)
            })
        })?;
        options.connect_timeout = Some(timeout);
        options.server_selection_timeout = Some(timeout);
        options.app_name = Some("students-sessions".into());
        let database = options
            .default_database
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let client = Client::with_options(options).map_err(|e| misconfigured(reason(&e)))?;
        let sessions = client.database(&database).collection(COLLECTION);
        Ok(MongoStore {
            client,
            sessions,
            database,
            name,
            indexed: AtomicBool::new(false),
        })
    }

    /// The TTL index on `expiresAt`, made once (the server ignores a second identical one).
    async fn ensure_index(&self) -> Result<()> {
        if self.indexed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let index = IndexModel::builder()
            .keys(doc! { "expiresAt": 1 })
            .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
            .build();
        self.sessions
            .create_index(index)
            .await
            .map_err(|e| self.error(&e))?;
        self.indexed.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn error(&self, e: &mongodb::error::Error) -> Error {
        let reason = reason(e);
        match e.kind.as_ref() {
            ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. } => Error::Unavailable {
                store: self.name.clone(),
                reason,
            },
            ErrorKind::Authentication { .. }
            | ErrorKind::InvalidArgument { .. }
            | ErrorKind::InvalidTlsConfig { .. }
            | ErrorKind::DnsResolve { .. } => Error::Misconfigured {
                store: self.name.clone(),
                reason,
            },
            _ => Error::Store {
                store: self.name.clone(),
                reason,
            },
        }
    }

    /// Live sessions: not past `expiresAt`, whatever the TTL monitor has done.
    fn live(key: Option<&StoreKey>) -> Document {
        let mut filter = doc! { "expiresAt": { "$gt": now() } };
        if let Some(key) = key {
            filter.insert("_id", key.as_str());
        }
        filter
    }
}

/// The driver's error in one line: what it means when it is the usual "nothing answers"
/// (its own text lists the whole topology).
fn reason(e: &mongodb::error::Error) -> String {
    let text = e.to_string();
    if text.contains("Connection refused") {
        "connection refused (is the server running and listening on that port?)".to_owned()
    } else if matches!(e.kind.as_ref(), ErrorKind::ServerSelection { .. }) {
        "no server answered in time".to_owned()
    } else {
        // The kind alone: the whole error adds labels and empty fields.
        e.kind
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

#[async_trait::async_trait]
impl Store for MongoStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn create(&self, key: &StoreKey, record: &Record, ttl: Duration) -> Result<bool> {
        self.ensure_index().await?;
        match self.sessions.insert_one(document(key, record, ttl)).await {
            Ok(_) => Ok(true),
            Err(e) => match e.kind.as_ref() {
                ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY => {
                    Ok(false)
                }
                _ => Err(self.error(&e)),
            },
        }
    }

    async fn save(&self, key: &StoreKey, data: &str, ttl: Duration) -> Result<bool> {
        let updated = self
            .sessions
            .update_one(
                Self::live(Some(key)),
                doc! { "$set": { "data": data, "expiresAt": expiry(ttl) } },
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(updated.matched_count == 1)
    }

    async fn touch(&self, key: &StoreKey, ttl: Duration) -> Result<bool> {
        let updated = self
            .sessions
            .update_one(
                Self::live(Some(key)),
                doc! { "$set": { "expiresAt": expiry(ttl) } },
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(updated.matched_count == 1)
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Loaded>> {
        let found = self
            .sessions
            .find_one(Self::live(Some(key)))
            .await
            .map_err(|e| self.error(&e))?;
        Ok(found
            .as_ref()
            .and_then(|d| record(&self.name, key, d))
            .map(|(record, expires_at, _)| Loaded { record, expires_at }))
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        self.sessions
            .delete_one(doc! { "_id": key.as_str() })
            .await
            .map_err(|e| self.error(&e))?;
        Ok(())
    }

    async fn list(&self, limit: Option<usize>) -> Result<Vec<Summary>> {
        let mut find = self.sessions.find(Self::live(None)).sort(doc! { "_id": 1 });
        if let Some(l) = limit {
            find = find.limit(i64::try_from(l).unwrap_or(i64::MAX));
        }
        let mut cursor = find.await.map_err(|e| self.error(&e))?;
        let mut out = Vec::new();
        while let Some(doc) = cursor.try_next().await.map_err(|e| self.error(&e))? {
            let Some(key) = doc.get_str("_id").ok().and_then(StoreKey::parse) else {
                continue;
            };
            let parsed = record(&self.name, &key, &doc);
            let bytes = match doc.get("data") {
                Some(Bson::String(s)) => s.len() as u64,
                _ => 0,
            };
            out.push(Summary {
                created_at: parsed.as_ref().map(|(r, _, _)| r.created_at),
                expires_at: match doc.get("expiresAt") {
                    Some(Bson::DateTime(d)) => Some(d.timestamp_millis()),
                    _ => None,
                },
                bytes,
                names: parsed
                    .map(|(r, _, _)| r.data.keys().cloned().collect())
                    .unwrap_or_default(),
                key,
            });
        }
        Ok(out)
    }

    async fn clear(&self) -> Result<u64> {
        let deleted = self
            .sessions
            .delete_many(doc! {})
            .await
            .map_err(|e| self.error(&e))?;
        Ok(deleted.deleted_count)
    }

    async fn cleanup(&self) -> Result<Cleanup> {
        let mut removed = 0;
        loop {
            let cutoff = now();
            let mut cursor = self
                .sessions
                .find(doc! { "expiresAt": { "$lte": cutoff } })
                .projection(doc! { "_id": 1 })
                .limit(CLEANUP_BATCH)
                .await
                .map_err(|e| self.error(&e))?;
            let mut ids = Vec::new();
            while let Some(doc) = cursor.try_next().await.map_err(|e| self.error(&e))? {
                if let Some(id) = doc.get("_id") {
                    ids.push(id.clone());
                }
            }
            if ids.is_empty() {
                return Ok(Cleanup::Removed(removed));
            }
            let batch = ids.len();
            // Still expired: a touch in between keeps its session.
            let deleted = self
                .sessions
                .delete_many(doc! { "_id": { "$in": ids }, "expiresAt": { "$lte": cutoff } })
                .await
                .map_err(|e| self.error(&e))?;
            removed += deleted.deleted_count;
            if batch < usize::try_from(CLEANUP_BATCH).unwrap_or(usize::MAX) {
                return Ok(Cleanup::Removed(removed));
            }
        }
    }

    async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        let cutoff = now();
        let mut cursor = self
            .sessions
            .find(doc! {})
            .projection(doc! { "data": 1, "expiresAt": 1 })
            .await
            .map_err(|e| self.error(&e))?;
        let mut expired = 0;
        while let Some(doc) = cursor.try_next().await.map_err(|e| self.error(&e))? {
            let live = matches!(doc.get("expiresAt"), Some(Bson::DateTime(d)) if *d > cutoff);
            if live {
                stats.live += 1;
                if let Some(Bson::String(s)) = doc.get("data") {
                    stats.bytes += s.len() as u64;
                }
            } else {
                expired += 1;
            }
        }
        stats.expired = Some(expired);
        Ok(stats)
    }

    async fn ping(&self) -> Result<()> {
        self.client
            .database(&self.database)
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|e| self.error(&e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_show_the_hosts_and_never_the_password() {
        assert_eq!(
            hosts("mongodb://app:hunter2@127.0.0.1:27017,h2:1/students?authSource=admin"),
            "127.0.0.1:27017,h2:1"
        );
        assert_eq!(hosts("mongodb://h:1"), "h:1");
        assert_eq!(hosts("mongodb://u:p@w@h:1/db"), "h:1");
        assert_eq!(hosts("mongodb://u:p/w?x@h:1/db"), "h:1");
        assert_eq!(hosts("mongodb://h:1/?x=@"), "***");
    }

    #[tokio::test]
    async fn bad_urls_are_refused_without_showing_the_password() {
        for url in [
            "mongodb://app:hunter22/x@127.0.0.1:1/db",
            "mongodb://app:hunter22?x@127.0.0.1:1/db",
            "mongodb://app:hunter22#x@127.0.0.1:1/db",
            "mongodb://app:hunter22@127.0.0.1:notaport/db",
            "mongodb://app:hun%zzter22@127.0.0.1:1/db",
            "mongodb://app:hunter22@127.0.0.1:1/db?tls=maybe",
            "mongodb://app:hunter22@127.0.0.1:1/db?unknownOption=hunter22",
            "mongodb+srv://app:hunter22@cluster.example/db",
            "mysql://app:hunter22@127.0.0.1:1/db",
        ] {
            let Err(err) = MongoStore::new(&SecretUrl::new(url), Duration::from_secs(1)).await
            else {
                continue;
            };
            let text = err.to_string();
            eprintln!("{url}: {text}");
            assert!(matches!(err, Error::Misconfigured { .. }), "{url}: {text}");
            assert!(!text.contains("hunter22"), "{url}: {text}");
        }
    }

    #[test]
    fn a_document_reads_back_as_its_record() {
        let key = StoreKey::of("x");
        let mut data = crate::record::Data::new();
        data.insert("username".into(), "小明".into());
        let r = Record {
            created_at: 1_000,
            absolute_expires_at: Some(5_000),
            data,
        };
        let d = document(&key, &r, Duration::from_secs(60));
        let (back, expires, bytes) = record("test", &key, &d).unwrap();
        assert_eq!(back, r);
        assert!(expires.unwrap() > now_ms());
        assert_eq!(bytes, Record::data_json(&r.data).len() as u64);
        let mut bad = d.clone();
        bad.insert("data", 5);
        assert!(record("test", &key, &bad).is_none());
        let mut bad = d;
        bad.insert("created", "yesterday");
        assert!(record("test", &key, &bad).is_none());
    }
}
