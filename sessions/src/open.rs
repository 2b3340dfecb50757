//! Opens the store the settings name.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use settings::{SessionSettings, SessionType, Settings};

use crate::error::{Error, Result};
use crate::sessions::Sessions;
use crate::store::Store;
use crate::stores::{FilesystemStore, MemcachedStore, MongoStore, RedisStore, SqlStore};

/// The store the settings name, with their rules, reaching its server within the connect
/// timeout. For `sql`, `db` is the student database's pool when the caller has one (and
/// `session_url` names no other database). A store that cannot be reached is an error
/// naming it: never a silent fallback to another store.
pub async fn open(settings: &Settings, db: Option<&DatabaseConnection>) -> Result<Sessions> {
    open_store(settings, db, false)
        .await
        .map(|(sessions, _)| sessions)
}

/// As [`open`], for a server that must start while its store is down: a store that cannot be
/// reached yet is returned all the same (with the reason), and connects by itself when its
/// server comes up; until then its operations fail as unavailable. Settings that can never
/// work are still an error.
pub async fn open_in_background(
    settings: &Settings,
    db: Option<&DatabaseConnection>,
) -> Result<(Sessions, Option<Error>)> {
    open_store(settings, db, true).await
}

async fn open_store(
    settings: &Settings,
    db: Option<&DatabaseConnection>,
    background: bool,
) -> Result<(Sessions, Option<Error>)> {
    let mut down = None;
    let timeout = Duration::from_secs(settings.connect_timeout.value);
    let s = &settings.sessions;
    let store: Arc<dyn Store> = match s.session_type.value {
        SessionType::Filesystem => Arc::new(FilesystemStore::open(&s.dir.value)?),
        SessionType::Redis => {
            let url = required_url(s, "redis://127.0.0.1:6379/0")?;
            if background {
                let (store, unavailable) =
                    RedisStore::open_in_background(&url, &s.key_prefix.value, timeout).await?;
                down = unavailable;
                Arc::new(store)
            } else {
                Arc::new(RedisStore::open(&url, &s.key_prefix.value, timeout).await?)
            }
        }
        SessionType::Sql => {
            let url = s
                .url
                .as_ref()
                .map_or(&settings.database.url.value, |u| &u.value);
            let name = format!("sql in {url}");
            let db = match (db, &s.url) {
                (Some(db), None) => db.clone(),
                _ => {
                    let mut connect =
                        service::ConnectSettings::from_settings(settings, service::Access::Write);
                    connect.url = url.clone();
                    service::connect(&connect).await.map_err(|e| match e {
                        service::Error::Unreachable { .. }
                        | service::Error::ConnectionLost(_)
                        | service::Error::NotPrimary(_) => Error::Unavailable {
                            store: name.clone(),
                            reason: e.to_string(),
                        },
                        other => Error::Misconfigured {
                            store: name.clone(),
                            reason: other.to_string(),
                        },
                    })?
                }
            };
            Arc::new(SqlStore::new(db, name))
        }
        SessionType::Memcached => {
            let url = required_url(s, "memcache://127.0.0.1:11211")?;
            if background {
                let (store, unavailable) =
                    MemcachedStore::open_in_background(&url, &s.key_prefix.value, timeout).await?;
                down = unavailable;
                Arc::new(store)
            } else {
                Arc::new(MemcachedStore::open(&url, &s.key_prefix.value, timeout).await?)
            }
        }
        SessionType::Mongodb => {
            let url = required_url(s, "mongodb://127.0.0.1:27017/students")?;
            if background {
                let (store, unavailable) = MongoStore::open_in_background(&url, timeout).await?;
                down = unavailable;
                Arc::new(store)
            } else {
                Arc::new(MongoStore::open(&url, timeout).await?)
            }
        }
    };
    Ok((Sessions::new(store, s), down))
}

/// `session_url`, which this store needs; the error says which setting and gives an example.
pub(crate) fn required_url(
    settings: &SessionSettings,
    example: &str,
) -> Result<settings::SecretUrl> {
    settings
        .url
        .as_ref()
        .map(|u| u.value.clone())
        .ok_or_else(|| Error::Misconfigured {
            store: settings.session_type.value.name().to_owned(),
            reason: format!("set `session_url`, e.g. session_url = \"{example}\""),
        })
}
