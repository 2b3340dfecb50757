//! Creates `sessions`, where the `sql` session store keeps server-side sessions (Flask-Session's
//! `sqlalchemy` backend, without its faults: an indexed expiry, keys that are hashes of ids).

use sea_orm_migration::prelude::{Alias, Index};
use sea_orm_migration::sea_orm::{DbBackend, Statement};

use crate::{ColumnKind, ColumnSpec, Key, Migration, MySqlFlavour, TableSpec, Target};

/// The `sessions` table: one row per session, keyed by the SHA-256 of its id.
pub const SESSIONS: TableSpec = TableSpec {
    name: "sessions",
    columns: &[
        // Hex SHA-256 of the session id: the id itself is never stored.
        ColumnSpec::new("id", ColumnKind::Varchar(64))
            .not_null()
            .key(Key::Primary),
        // The session's values as a JSON object.
        ColumnSpec::new("data", ColumnKind::Text).not_null(),
        // Milliseconds since the epoch.
        ColumnSpec::new("created_at", ColumnKind::BigInteger).not_null(),
        ColumnSpec::new("absolute_expires_at", ColumnKind::BigInteger),
        ColumnSpec::new("expires_at", ColumnKind::BigInteger).not_null(),
    ],
};

/// Creates [`SESSIONS`] and the index on its expiry, which loads and cleanups filter on.
#[derive(Debug)]
pub struct CreateSessionsTable;

impl Migration for CreateSessionsTable {
    fn name(&self) -> &'static str {
        "m20261125_000002_create_sessions_table"
    }

    fn creates(&self) -> &'static [TableSpec] {
        &[SESSIONS]
    }

    fn alters(&self) -> &'static [&'static str] {
        &["sessions"]
    }

    fn changes(&self, target: &Target) -> Vec<Statement> {
        // A `sessions` table recorded as it stood (made by an earlier run whose record was
        // lost) may have its index already: IF NOT EXISTS, which sea-query leaves out for
        // MySQL and which MySQL 8 (unlike MariaDB) cannot say.
        match target.mysql {
            Some(MySqlFlavour::MariaDb) => vec![Statement::from_string(
                DbBackend::MySql,
                "CREATE INDEX IF NOT EXISTS `sessions_expires_at` ON `sessions` (`expires_at`)",
            )],
            _ => {
                let mut index = Index::create();
                index
                    .name("sessions_expires_at")
                    .table(Alias::new("sessions"))
                    .col(Alias::new("expires_at"))
                    .if_not_exists();
                vec![target.backend.build(&index)]
            }
        }
    }
}
