//! The interface every store implements: Flask-Session's five backends behind one trait, with
//! the guarantees Flask-Session lacks.

use std::fmt::Debug;
use std::time::Duration;

use crate::error::Result;
use crate::id::StoreKey;
use crate::record::{Loaded, Record};

/// One session in a listing: never its id, only its key and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Its store key.
    pub key: StoreKey,
    /// When it was created (ms since the epoch), when readable.
    pub created_at: Option<i64>,
    /// When it expires if unused (ms since the epoch), when the store can tell.
    pub expires_at: Option<i64>,
    /// Bytes stored.
    pub bytes: u64,
    /// The names of the values it holds.
    pub names: Vec<String>,
}

/// What `cleanup` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// This many expired records were removed.
    Removed(u64),
    /// The store removes expired records itself; how.
    SelfExpiring(&'static str),
}

/// Counts over the whole store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Records that would load.
    pub live: u64,
    /// Records past their expiry still stored; `None` where the store purges them itself.
    pub expired: Option<u64>,
    /// Bytes held by the live records.
    pub bytes: u64,
}

/// A place that keeps session records, keyed by [`StoreKey`].
///
/// Every implementation guarantees: `create` never overwrites (a colliding key returns
/// `false`); `save` and `touch` never bring back a record that is gone (they return `false`);
/// `delete` of a missing key succeeds; `load` never returns an expired record, whatever the
/// store's own purge schedule; a record that fails to parse loads as `None`.
#[async_trait::async_trait]
pub trait Store: Debug + Send + Sync + 'static {
    /// The store and its address, for messages: `redis at 127.0.0.1:6379`.
    fn name(&self) -> &str;

    /// Stores `record` under `key` for `ttl` unless the key exists; whether it was stored.
    async fn create(&self, key: &StoreKey, record: &Record, ttl: Duration) -> Result<bool>;

    /// Replaces the data (a JSON object) of the record under `key`, keeping its header, and
    /// sets its expiry to `ttl` from now; `false` when there is no such record.
    async fn save(&self, key: &StoreKey, data: &str, ttl: Duration) -> Result<bool>;

    /// Sets the expiry of the record under `key` to `ttl` from now without rewriting it;
    /// `false` when there is no such record.
    async fn touch(&self, key: &StoreKey, ttl: Duration) -> Result<bool>;

    /// The record under `key`, unless it is missing, expired or unreadable.
    async fn load(&self, key: &StoreKey) -> Result<Option<Loaded>>;

    /// Removes the record under `key`, if any.
    async fn delete(&self, key: &StoreKey) -> Result<()>;

    /// Up to `limit` live records (all for `None`).
    async fn list(&self, limit: Option<usize>) -> Result<Vec<Summary>>;

    /// Removes every record of this store (and nothing else); how many.
    async fn clear(&self) -> Result<u64>;

    /// Removes expired records in small batches, or says the store does it itself.
    async fn cleanup(&self) -> Result<Cleanup>;

    /// Live and expired counts and bytes.
    async fn stats(&self) -> Result<Stats>;

    /// Whether the store answers (for `/healthz`).
    async fn ping(&self) -> Result<()>;
}
