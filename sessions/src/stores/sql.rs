//! Sessions in the `sessions` table, next to `student` (created and dropped by the same
//! migrations), through SeaORM, on SQLite, MariaDB/MySQL and PostgreSQL.
//!
//! `expires_at` is indexed and compared with the database's own clock on every load, so a
//! session is never served after its idle time whatever the schedule of `cli sessions
//! cleanup`, which removes expired rows in batches of 1,000 (short locks, even for a million
//! rows). Save and touch are `UPDATE`s of a live row: never an upsert that could bring back a
//! session a logout deleted.

use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement, Value,
};

use crate::error::{Error, Result};
use crate::id::StoreKey;
use crate::record::{Data, Loaded, Record, decode};
use crate::store::{Cleanup, Stats, Store, Summary};

/// Rows removed per `cleanup` statement.
const CLEANUP_BATCH: u64 = 1_000;

/// The SQL store.
#[derive(Debug)]
pub struct SqlStore {
    db: DatabaseConnection,
    name: String,
}

/// The database's clock in milliseconds since the epoch, as an SQL expression.
fn now_ms(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::MySql => "CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)",
        DbBackend::Postgres => {
            "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)"
        }
        _ => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

/// Bytes of the `data` column, as an SQL expression.
fn data_bytes(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => "length(CAST(data AS BLOB))",
        DbBackend::Postgres => "CAST(OCTET_LENGTH(data) AS BIGINT)",
        _ => "OCTET_LENGTH(data)",
    }
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl SqlStore {
    /// The store in the database of `db`, named `name` in messages (`sql at students.db`).
    pub fn new(db: DatabaseConnection, name: String) -> Self {
        SqlStore { db, name }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// `sql` with `?` placeholders turned into the backend's, `{now}` into its clock and
    /// `{bytes}` into the data size.
    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        let backend = self.backend();
        let sql = sql
            .replace("{now}", now_ms(backend))
            .replace("{bytes}", data_bytes(backend));
        let sql = match backend {
            DbBackend::Postgres => {
                let mut out = String::with_capacity(sql.len() + 8);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        out.push_str(&format!("${n}"));
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            _ => sql,
        };
        Statement::from_sql_and_values(backend, sql, values)
    }

    fn error(&self, e: &DbErr) -> Error {
        let text = e.to_string();
        let missing = ["no such table", "doesn't exist", "does not exist"]
            .iter()
            .any(|m| text.contains(m));
        if missing {
            return Error::TableMissing {
                store: self.name.clone(),
            };
        }
        if matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
            || text.contains("Connection refused")
            || text.contains("connection reset")
            || text.contains("broken pipe")
            || text.contains("pool timed out")
        {
            return Error::Unavailable {
                store: self.name.clone(),
                reason: text,
            };
        }
        Error::Store {
            store: self.name.clone(),
            reason: text,
        }
    }

    async fn exec(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        self.db
            .execute_raw(self.statement(sql, values))
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| self.error(&e))
    }

    async fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>> {
        self.db
            .query_all_raw(self.statement(sql, values))
            .await
            .map_err(|e| self.error(&e))
    }

    fn get<T: sea_orm::TryGetable>(&self, row: &QueryResult, column: &str) -> Result<T> {
        row.try_get("", column).map_err(|e| self.error(&e))
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn create(&self, key: &StoreKey, record: &Record, ttl: Duration) -> Result<bool> {
        let insert = "INSERT INTO sessions (id, data, created_at, absolute_expires_at, expires_at) \
                      VALUES (?, ?, ?, ?, {now} + ?)";
        let values = || -> Vec<Value> {
            vec![
                key.as_str().into(),
                Record::data_json(&record.data).into(),
                record.created_at.into(),
                record.absolute_expires_at.into(),
                millis(ttl).into(),
            ]
        };
        // Inserted, or `false` when the key is taken (the primary key decides, atomically).
        let insert_new = async || match self.db.execute_raw(self.statement(insert, values())).await
        {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.error(&e)),
        };
        if insert_new().await? {
            return Ok(true);
        }
        // Taken. An expired row under the key is no session: replace it, never a live one.
        let freed = self
            .exec(
                "DELETE FROM sessions WHERE id = ? AND expires_at <= {now}",
                vec![key.as_str().into()],
            )
            .await?;
        if freed == 0 {
            return Ok(false);
        }
        insert_new().await
    }

    async fn save(&self, key: &StoreKey, data: &str, ttl: Duration) -> Result<bool> {
        let updated = self
            .exec(
                "UPDATE sessions SET data = ?, expires_at = {now} + ? WHERE id = ? AND expires_at > {now}",
                vec![data.into(), millis(ttl).into(), key.as_str().into()],
            )
            .await?;
        Ok(updated > 0)
    }

    async fn touch(&self, key: &StoreKey, ttl: Duration) -> Result<bool> {
        let updated = self
            .exec(
                "UPDATE sessions SET expires_at = {now} + ? WHERE id = ? AND expires_at > {now}",
                vec![millis(ttl).into(), key.as_str().into()],
            )
            .await?;
        Ok(updated > 0)
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Loaded>> {
        let rows = self
            .query(
                "SELECT data, created_at, absolute_expires_at, expires_at FROM sessions \
                 WHERE id = ? AND expires_at > {now}",
                vec![key.as_str().into()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let data: String = self.get(row, "data")?;
        let Some(data) = decode_data(&self.name, key, &data) else {
            return Ok(None);
        };
        Ok(Some(Loaded {
            record: Record {
                created_at: self.get(row, "created_at")?,
                absolute_expires_at: self.get(row, "absolute_expires_at")?,
                data,
            },
            expires_at: Some(self.get(row, "expires_at")?),
        }))
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        self.exec(
            "DELETE FROM sessions WHERE id = ?",
            vec![key.as_str().into()],
        )
        .await
        .map(|_| ())
    }

    async fn list(&self, limit: Option<usize>) -> Result<Vec<Summary>> {
        let limit = limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = self
            .query(
                "SELECT id, data, created_at, expires_at, {bytes} AS bytes FROM sessions \
                 WHERE expires_at > {now} ORDER BY created_at, id LIMIT ?",
                vec![limit.into()],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = self.get(row, "id")?;
            let Some(key) = StoreKey::parse(&id) else {
                continue;
            };
            let data: String = self.get(row, "data")?;
            let bytes: i64 = self.get(row, "bytes")?;
            out.push(Summary {
                names: decode_data(&self.name, &key, &data)
                    .map(|d| d.keys().cloned().collect())
                    .unwrap_or_default(),
                key,
                created_at: Some(self.get(row, "created_at")?),
                expires_at: Some(self.get(row, "expires_at")?),
                bytes: u64::try_from(bytes).unwrap_or(0),
            });
        }
        Ok(out)
    }

    async fn clear(&self) -> Result<u64> {
        self.exec("DELETE FROM sessions", Vec::new()).await
    }

    async fn cleanup(&self) -> Result<Cleanup> {
        // One small statement at a time: each holds its locks only for its own batch.
        let batch = match self.backend() {
            DbBackend::MySql => {
                format!("DELETE FROM sessions WHERE expires_at <= {{now}} LIMIT {CLEANUP_BATCH}")
            }
            _ => format!(
                "DELETE FROM sessions WHERE id IN \
                 (SELECT id FROM sessions WHERE expires_at <= {{now}} LIMIT {CLEANUP_BATCH})"
            ),
        };
        let mut removed = 0;
        loop {
            let n = self.exec(&batch, Vec::new()).await?;
            removed += n;
            if n < CLEANUP_BATCH {
                return Ok(Cleanup::Removed(removed));
            }
            tokio::task::yield_now().await;
        }
    }

    async fn stats(&self) -> Result<Stats> {
        // SUM is DECIMAL on MySQL: cast every total to a 64-bit integer.
        let int = match self.backend() {
            DbBackend::MySql => "SIGNED",
            DbBackend::Postgres => "BIGINT",
            _ => "INTEGER",
        };
        let rows = self
            .query(
                &format!(
                    "SELECT \
                       CAST(COALESCE(SUM(CASE WHEN expires_at > {{now}} THEN 1 ELSE 0 END), 0) AS {int}) AS live, \
                       CAST(COALESCE(SUM(CASE WHEN expires_at <= {{now}} THEN 1 ELSE 0 END), 0) AS {int}) AS expired, \
                       CAST(COALESCE(SUM(CASE WHEN expires_at > {{now}} THEN {{bytes}} ELSE 0 END), 0) AS {int}) AS bytes \
                     FROM sessions"
                ),
                Vec::new(),
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(Stats::default());
        };
        let number = |column: &str| -> Result<u64> {
            let value: i64 = self.get(row, column)?;
            Ok(u64::try_from(value).unwrap_or(0))
        };
        Ok(Stats {
            live: number("live")?,
            expired: Some(number("expired")?),
            bytes: number("bytes")?,
        })
    }

    async fn ping(&self) -> Result<()> {
        self.db.ping().await.map_err(|e| Error::Unavailable {
            store: self.name.clone(),
            reason: e.to_string(),
        })
    }
}

/// The stored data, or `None` (logged once) when it is not a JSON object.
fn decode_data(store: &str, key: &StoreKey, data: &str) -> Option<Data> {
    let wrapped = format!(r#"{{"created_at":0,"absolute_expires_at":null,"data":{data}}}"#);
    decode(store, key, wrapped.as_bytes()).map(|r| r.data)
}
