//! Sessions as files: one per session in `session_dir` (made 0700), each 0600, named by its
//! store key and holding the record's JSON with its expiry.
//!
//! Writes go to a temporary file that is then linked (create: fails if the name exists) or
//! renamed (save) into place, so a reader never sees half a record. Save, touch and delete
//! hold an exclusive lock on the file they change, so a save never brings back a session that
//! a concurrent delete removed. Expired files are never read as sessions; `cleanup` removes
//! them (Flask-Session's cachelib store instead evicted the oldest *live* sessions past 500).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::StoreKey;
use crate::record::{Data, Loaded, Record, now_ms};
use crate::store::{Cleanup, Stats, Store, Summary};

/// Files removed per batch by `cleanup`, between which other work gets the disk.
const CLEANUP_BATCH: usize = 500;

/// The directory store.
#[derive(Debug)]
pub struct FilesystemStore {
    dir: PathBuf,
    name: String,
}

/// A file's content: the record's header and data plus its idle expiry.
#[derive(Debug, Serialize, Deserialize)]
struct FileRecord {
    created_at: i64,
    absolute_expires_at: Option<i64>,
    expires_at: i64,
    data: Data,
}

impl FileRecord {
    fn record(self) -> Loaded {
        Loaded {
            expires_at: Some(self.expires_at),
            record: Record {
                created_at: self.created_at,
                absolute_expires_at: self.absolute_expires_at,
                data: self.data,
            },
        }
    }
}

fn expiry(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

impl FilesystemStore {
    /// The store in `dir`, created 0700 if missing (and narrowed to 0700 if it exists).
    pub fn open(dir: &Path) -> Result<Self> {
        let name = format!("filesystem at {}", dir.display());
        let misconfigured = |reason: String| Error::Misconfigured {
            store: name.clone(),
            reason,
        };
        fs::create_dir_all(dir).map_err(|e| misconfigured(format!("cannot create it: {e}")))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| misconfigured(format!("cannot make it private (0700): {e}")))?;
        Ok(FilesystemStore {
            dir: dir.to_owned(),
            name,
        })
    }

    fn path(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(key.as_str())
    }

    fn failed(&self, e: io::Error) -> Error {
        Error::Store {
            store: self.name.clone(),
            reason: e.to_string(),
        }
    }

    /// Writes `content` to a new private temporary file in the directory.
    fn temp(&self, key: &StoreKey, content: &[u8]) -> io::Result<PathBuf> {
        let path = self.dir.join(format!(
            ".tmp-{}-{:016x}",
            &key.as_str()[..16],
            rand::random::<u64>()
        ));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(content)?;
        file.sync_data()?;
        Ok(path)
    }

    /// Reads the file of `key`; `None` when missing, unreadable as a record, or expired.
    fn read(&self, key: &StoreKey) -> io::Result<Option<FileRecord>> {
        let bytes = match fs::read(self.path(key)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Ok(file) = serde_json::from_slice::<FileRecord>(&bytes) else {
            // Logged once per key by the shared decoder.
            let _absent = crate::record::decode(&self.name, key, &bytes);
            return Ok(None);
        };
        Ok((file.expires_at > now_ms()).then_some(file))
    }

    /// Runs `change` on the live record of `key` while holding its lock, then replaces the
    /// file atomically; `false` when there is no live record.
    fn rewrite(&self, key: &StoreKey, change: impl FnOnce(&mut FileRecord)) -> io::Result<bool> {
        let path = self.path(key);
        let locked = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        locked.lock()?;
        // Read under the lock: a delete that got the lock first has unlinked the name.
        let Some(mut record) = self.read(key)? else {
            return Ok(false);
        };
        if !path.exists() {
            return Ok(false);
        }
        change(&mut record);
        let bytes = serde_json::to_vec(&record).map_err(io::Error::other)?;
        let temp = self.temp(key, &bytes)?;
        let renamed = fs::rename(&temp, &path);
        if renamed.is_err() {
            let _cleanup = fs::remove_file(&temp);
        }
        renamed.map(|()| true)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&FilesystemStore) -> io::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = FilesystemStore {
            dir: self.dir.clone(),
            name: self.name.clone(),
        };
        match tokio::task::spawn_blocking(move || work(&store)).await {
            Ok(result) => result.map_err(|e| self.failed(e)),
            Err(e) => Err(Error::Store {
                store: self.name.clone(),
                reason: format!("the file task stopped: {e}"),
            }),
        }
    }

    /// Every session file's key.
    fn keys(&self) -> io::Result<Vec<StoreKey>> {
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            if let Some(key) = name.to_str().and_then(StoreKey::parse) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The raw file of `key` and whether it is expired, for stats and cleanup.
    fn expired(&self, key: &StoreKey) -> io::Result<Option<(bool, u64)>> {
        let bytes = match fs::read(self.path(key)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = bytes.len() as u64;
        Ok(Some(match serde_json::from_slice::<FileRecord>(&bytes) {
            Ok(f) => (
                f.expires_at <= now_ms() || f.absolute_expires_at.is_some_and(|a| a <= now_ms()),
                len,
            ),
            // Not a record of ours: never served, so as good as expired.
            Err(_) => (true, len),
        }))
    }

    fn remove_locked(&self, key: &StoreKey) -> io::Result<()> {
        let path = self.path(key);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        file.lock()?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl Store for FilesystemStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn create(&self, key: &StoreKey, record: &Record, ttl: Duration) -> Result<bool> {
        let file = FileRecord {
            created_at: record.created_at,
            absolute_expires_at: record.absolute_expires_at,
            expires_at: expiry(ttl),
            data: record.data.clone(),
        };
        let key = key.clone();
        self.blocking(move |s| {
            let bytes = serde_json::to_vec(&file).map_err(io::Error::other)?;
            let temp = s.temp(&key, &bytes)?;
            // A hard link fails if the name exists: create-if-absent, atomically.
            let linked = fs::hard_link(&temp, s.path(&key));
            let _cleanup = fs::remove_file(&temp);
            match linked {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn save(&self, key: &StoreKey, data: &str, ttl: Duration) -> Result<bool> {
        let data: Data = serde_json::from_str(data).map_err(|e| Error::Store {
            store: self.name.clone(),
            reason: format!("session data is not a JSON object: {e}"),
        })?;
        let key = key.clone();
        self.blocking(move |s| {
            s.rewrite(&key, |f| {
                f.data = data;
                f.expires_at = expiry(ttl);
            })
        })
        .await
    }

    async fn touch(&self, key: &StoreKey, ttl: Duration) -> Result<bool> {
        let key = key.clone();
        self.blocking(move |s| s.rewrite(&key, |f| f.expires_at = expiry(ttl)))
            .await
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Loaded>> {
        let key = key.clone();
        self.blocking(move |s| Ok(s.read(&key)?.map(FileRecord::record)))
            .await
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let key = key.clone();
        self.blocking(move |s| s.remove_locked(&key)).await
    }

    async fn list(&self, limit: Option<usize>) -> Result<Vec<Summary>> {
        self.blocking(move |s| {
            let mut out = Vec::new();
            for key in s.keys()? {
                if limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
                let bytes = match fs::metadata(s.path(&key)) {
                    Ok(m) => m.len(),
                    Err(_) => continue,
                };
                if let Some(f) = s.read(&key)? {
                    out.push(Summary {
                        key,
                        created_at: Some(f.created_at),
                        expires_at: Some(f.expires_at),
                        bytes,
                        names: f.data.keys().cloned().collect(),
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn clear(&self) -> Result<u64> {
        self.blocking(move |s| {
            let mut removed = 0;
            for key in s.keys()? {
                s.remove_locked(&key)?;
                removed += 1;
            }
            Ok(removed)
        })
        .await
    }

    async fn cleanup(&self) -> Result<Cleanup> {
        self.blocking(move |s| {
            let mut removed = 0;
            for batch in s.keys()?.chunks(CLEANUP_BATCH) {
                for key in batch {
                    if let Some((true, _)) = s.expired(key)? {
                        s.remove_locked(key)?;
                        removed += 1;
                    }
                }
                std::thread::yield_now();
            }
            Ok(Cleanup::Removed(removed))
        })
        .await
    }

    async fn stats(&self) -> Result<Stats> {
        self.blocking(move |s| {
            let mut stats = Stats {
                expired: Some(0),
                ..Stats::default()
            };
            for key in s.keys()? {
                match s.expired(&key)? {
                    Some((true, _)) => stats.expired = stats.expired.map(|n| n + 1),
                    Some((false, bytes)) => {
                        stats.live += 1;
                        stats.bytes += bytes;
                    }
                    None => {}
                }
            }
            Ok(stats)
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(move |s| fs::read_dir(&s.dir).map(|_| ()))
            .await
    }
}
