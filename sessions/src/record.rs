//! What a store keeps for one session, and the one JSON form every store writes.
//!
//! The form puts the fixed header first and the data last — `{"created_at":…,
//! "absolute_expires_at":…,"data":{…}}` — so a store can replace the data and keep the header
//! without parsing the data (Redis does it in a script). JSON only: never pickle or any format
//! that executes on load.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::id::StoreKey;

/// A session's values: what the application put in it.
pub type Data = serde_json::Map<String, serde_json::Value>;

/// Milliseconds since the Unix epoch, by this machine's clock.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One session as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// When the session was created (ms since the epoch).
    pub created_at: i64,
    /// When it ends however active it is (`session_absolute_lifetime`); `None` for never.
    pub absolute_expires_at: Option<i64>,
    /// Its values.
    pub data: Data,
}

impl Record {
    /// A record created now.
    pub fn new(data: Data, absolute_lifetime: Option<Duration>) -> Self {
        let created_at = now_ms();
        Record {
            created_at,
            absolute_expires_at: absolute_lifetime.map(|d| {
                created_at.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            }),
            data,
        }
    }

    /// The record's JSON, header first and data last.
    pub fn to_json(&self) -> String {
        // Serializing a map of JSON values and two integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The data's JSON alone, as `Store::save` takes it.
    pub fn data_json(data: &Data) -> String {
        serde_json::to_string(data).unwrap_or_default()
    }

    /// Whether the absolute lifetime has run out.
    pub fn is_over(&self, now: i64) -> bool {
        self.absolute_expires_at.is_some_and(|end| end <= now)
    }
}

/// A record as a store loaded it, with its current expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The record.
    pub record: Record,
    /// When it expires if unused (ms since the epoch), as far as the store can tell.
    pub expires_at: Option<i64>,
}

/// Reads a stored record; one that fails to parse is absent, and said once per key (a
/// corrupt or foreign record must never take a request down, nor flood the log).
pub fn decode(store: &str, key: &StoreKey, bytes: &[u8]) -> Option<Record> {
    match serde_json::from_slice::<Record>(bytes) {
        Ok(record) => Some(record),
        Err(e) => {
            static SEEN: Mutex<Option<HashSet<StoreKey>>> = Mutex::new(None);
            let first = SEEN
                .lock()
                .map(|mut seen| seen.get_or_insert_with(HashSet::new).insert(key.clone()))
                .unwrap_or(true);
            if first {
                tracing::warn!(
                    store,
                    key = %key,
                    "ignoring a session record that is not ours ({}); it reads as no session",
                    e.classify_name()
                );
            }
            None
        }
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "JSON of another shape",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_comes_first_and_the_data_last() {
        let mut data = Data::new();
        data.insert("username".into(), "mingren".into());
        let r = Record {
            created_at: 1,
            absolute_expires_at: None,
            data,
        };
        assert_eq!(
            r.to_json(),
            r#"{"created_at":1,"absolute_expires_at":null,"data":{"username":"mingren"}}"#
        );
        let key = StoreKey::of("x");
        assert_eq!(decode("test", &key, r.to_json().as_bytes()), Some(r));
    }

    #[test]
    fn a_pickle_or_garbage_reads_as_absent() {
        let key = StoreKey::of("y");
        let pickle = b"\x80\x03}q\x00(X\x03\x00\x00\x00ageq\x01K\x12u.";
        assert_eq!(decode("test", &key, pickle), None);
        assert_eq!(decode("test", &key, b"{\"data\":1}"), None);
    }
}
