//! The stores as tower-sessions 0.15 sees them: [`Sessions`] implements its `SessionStore` and
//! `ExpiredDeletion`, so a tower-sessions `SessionManagerLayer` can use any of the five stores.
//!
//! tower-sessions' ids are its own (`Id`, 128 random bits); stores still key them by SHA-256.

use std::time::Duration;

use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record as TowerRecord};
use tower_sessions_core::session_store::{self, ExpiredDeletion, SessionStore};

use crate::error::Error;
use crate::id::StoreKey;
use crate::record::{Data, Record, now_ms};
use crate::sessions::Sessions;

fn key(id: &Id) -> StoreKey {
    StoreKey::of(&id.to_string())
}

fn backend(e: Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// Time left until `date`, at least a millisecond (tower-sessions expires sessions itself).
fn ttl_until(date: OffsetDateTime) -> Duration {
    let left = (date - OffsetDateTime::now_utc()).whole_milliseconds();
    Duration::from_millis(u64::try_from(left).unwrap_or(0).max(1))
}

fn data(record: &TowerRecord) -> Data {
    record
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut TowerRecord) -> session_store::Result<()> {
        let ours = Record::new(data(record), None);
        let ttl = ttl_until(record.expiry_date).min(self.ttl(&ours).unwrap_or(self.idle()));
        for _ in 0..4 {
            if self
                .store()
                .create(&key(&record.id), &ours, ttl)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            // Taken: never overwrite another session; draw again.
            record.id = Id::default();
        }
        Err(session_store::Error::Backend(
            "four fresh session ids in a row were taken".into(),
        ))
    }

    async fn save(&self, record: &TowerRecord) -> session_store::Result<()> {
        let data = Record::data_json(&data(record));
        let ttl = ttl_until(record.expiry_date).min(self.idle());
        // A session deleted meanwhile (a logout) stays deleted: `false` is not an error.
        self.store()
            .save(&key(&record.id), &data, ttl)
            .await
            .map(|_saved| ())
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<TowerRecord>> {
        let Some(loaded) = self.load_key(&key(id)).await.map_err(backend)? else {
            return Ok(None);
        };
        let expires_at = loaded
            .expires_at
            .unwrap_or_else(|| now_ms().saturating_add(1));
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(TowerRecord {
            id: *id,
            data: loaded.record.data.into_iter().collect(),
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store().delete(&key(id)).await.map_err(backend)
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.store().cleanup().await.map(|_| ()).map_err(backend)
    }
}
