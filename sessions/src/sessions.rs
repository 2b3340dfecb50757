//! The rules every store follows, in one place: fresh ids that never collide, the idle and the
//! absolute lifetime, the size cap. The web layer and the operator commands go through here.

use std::sync::Arc;
use std::time::Duration;

use settings::SessionSettings;

use crate::error::{Error, Result};
use crate::id::{SessionId, StoreKey};
use crate::record::{Data, Loaded, Record, now_ms};
use crate::store::Store;

/// Attempts at a fresh id before giving up; with 256 random bits a second one never happens
/// unless the generator is broken.
const CREATE_ATTEMPTS: usize = 4;

/// A store with the session rules in force.
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    idle: Duration,
    absolute: Option<Duration>,
    max_bytes: usize,
}

impl Sessions {
    /// `store` under the lifetimes and size cap of `settings`.
    pub fn new(store: Arc<dyn Store>, settings: &SessionSettings) -> Self {
        Sessions {
            store,
            idle: Duration::from_secs(settings.lifetime.value),
            absolute: settings
                .absolute_lifetime
                .as_ref()
                .map(|a| Duration::from_secs(a.value)),
            max_bytes: usize::try_from(settings.max_bytes.value).unwrap_or(usize::MAX),
        }
    }

    /// The store, for operator commands.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The idle timeout.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// How long `record` may live from now if unused: the idle timeout, cut short by its
    /// absolute end; `None` when that end has passed.
    pub fn ttl(&self, record: &Record) -> Option<Duration> {
        match record.absolute_expires_at {
            None => Some(self.idle),
            Some(end) => {
                let left = end.saturating_sub(now_ms());
                (left > 0).then(|| self.idle.min(Duration::from_millis(left.unsigned_abs())))
            }
        }
    }

    fn check_size(&self, bytes: usize) -> Result<()> {
        if bytes > self.max_bytes {
            return Err(Error::TooLarge {
                bytes,
                max: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Stores a new session holding `data` under a fresh id, which it returns.
    pub async fn create(&self, data: Data) -> Result<(SessionId, Record)> {
        let record = Record::new(data, self.absolute);
        self.check_size(record.to_json().len())?;
        let ttl = self.ttl(&record).unwrap_or(self.idle);
        for _ in 0..CREATE_ATTEMPTS {
            let id = SessionId::generate();
            if self.store.create(&id.key(), &record, ttl).await? {
                return Ok((id, record));
            }
        }
        Err(Error::Store {
            store: self.store.name().to_owned(),
            reason: format!("{CREATE_ATTEMPTS} fresh session ids in a row were taken"),
        })
    }

    /// The session `id` names, unless it is missing, expired (idle or absolute) or unreadable.
    pub async fn load(&self, id: &SessionId) -> Result<Option<Record>> {
        Ok(self.load_key(&id.key()).await?.map(|l| l.record))
    }

    /// As [`Sessions::load`], by store key, with the record's expiry.
    pub async fn load_key(&self, key: &StoreKey) -> Result<Option<Loaded>> {
        let Some(loaded) = self.store.load(key).await? else {
            return Ok(None);
        };
        if loaded.record.is_over(now_ms()) {
            self.store.delete(key).await?;
            return Ok(None);
        }
        Ok(Some(loaded))
    }

    /// Writes the changed data of `record` and restarts its idle time; `false` when the
    /// session is gone meanwhile (it is not brought back).
    pub async fn save(&self, id: &SessionId, record: &Record) -> Result<bool> {
        self.check_size(record.to_json().len())?;
        let Some(ttl) = self.ttl(record) else {
            self.store.delete(&id.key()).await?;
            return Ok(false);
        };
        self.store
            .save(&id.key(), &Record::data_json(&record.data), ttl)
            .await
    }

    /// Restarts the idle time of an unchanged session without rewriting it; `false` when it
    /// is gone.
    pub async fn touch(&self, id: &SessionId, record: &Record) -> Result<bool> {
        let Some(ttl) = self.ttl(record) else {
            self.store.delete(&id.key()).await?;
            return Ok(false);
        };
        self.store.touch(&id.key(), ttl).await
    }

    /// Removes the session `id` names (logout); a missing one is no error.
    pub async fn delete(&self, id: &SessionId) -> Result<()> {
        self.store.delete(&id.key()).await
    }
}
