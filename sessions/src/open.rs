//! Opens the store the settings name.

use std::sync::Arc;
use std::time::Duration;

use settings::{SessionSettings, SessionType};

use crate::error::{Error, Result};
use crate::sessions::Sessions;
use crate::store::Store;
use crate::stores::{FilesystemStore, RedisStore};

/// The store of `settings`, with its rules, reaching its server within `timeout`. A store
/// that cannot be reached is an error naming it: never a silent fallback to another.
pub async fn open(settings: &SessionSettings, timeout: Duration) -> Result<Sessions> {
    let store: Arc<dyn Store> = match settings.session_type.value {
        SessionType::Filesystem => Arc::new(FilesystemStore::open(&settings.dir.value)?),
        SessionType::Redis => {
            let url = required_url(settings, "redis://127.0.0.1:6379/0")?;
            Arc::new(RedisStore::open(&url, &settings.key_prefix.value, timeout).await?)
        }
        other => {
            return Err(Error::Misconfigured {
                store: other.name().to_owned(),
                reason: "this store is opened with the student database (sessions::open_sql)"
                    .into(),
            });
        }
    };
    Ok(Sessions::new(store, settings))
}

/// `session_url`, which this store needs; the error says which setting and gives an example.
fn required_url(settings: &SessionSettings, example: &str) -> Result<settings::SecretUrl> {
    settings
        .url
        .as_ref()
        .map(|u| u.value.clone())
        .ok_or_else(|| Error::Misconfigured {
            store: settings.session_type.value.name().to_owned(),
            reason: format!("set `session_url`, e.g. session_url = \"{example}\""),
        })
}
