//! Creating, dropping and migrating the toolkit's tables, through the migrations that own them.
//!
//! Every function is generic over the migration list, so the same code serves the real
//! [`Migrator`] and the multi-step lists of the tests. Changes go through the runner
//! (`runner.rs`): one dedicated connection holding the migration lock, one transaction on
//! PostgreSQL and SQLite, locks first and statement-exact reports on MySQL/MariaDB. Changes
//! also repair what they safely can: a migration recorded as applied whose tables are missing
//! has them re-created, a table that exists unrecorded and matches is recorded.

use std::time::Duration;

use migration::{Migrations, Migrator};
use sea_orm::{DatabaseConnection, Statement};

use crate::classify;
use crate::error::{Error, Result};
use crate::inspect::read_state;
use crate::interrupt::Interrupt;

/// A schema change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaChange {
    /// Apply pending migrations (all for `None`), after re-creating missing tables of applied
    /// ones (`create-tables`, `migrate up`).
    Up(Option<u32>),
    /// Revert applied migrations, newest first (all for `None`).
    Down(Option<u32>),
    /// Revert every applied migration, then apply every migration.
    Refresh,
    /// Revert every applied migration, drop the migrations' tables that exist unrecorded,
    /// then the tracking table (`drop-tables`).
    Reset,
}

/// How a schema change runs.
#[derive(Debug, Clone)]
pub struct SchemaOptions {
    /// How long to wait for a lock another session holds (the migration lock, a table,
    /// SQLite's file lock) before failing with nothing changed.
    pub lock_timeout: Duration,
    /// Ctrl-C: consulted between statements (and it cancels a statement that is waiting).
    pub interrupt: Interrupt,
    /// Record an existing, unrecorded table that differs from the migration's only in ways
    /// the toolkit does not rely on (its defaults) instead of refusing it.
    pub adopt: bool,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions {
            lock_timeout: Duration::from_secs(settings::DEFAULT_BUSY_TIMEOUT),
            interrupt: Interrupt::never(),
            adopt: false,
        }
    }
}

/// What a schema change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaReport {
    /// Migrations recorded as applied by this change, in order.
    pub applied: Vec<String>,
    /// Migrations reverted by this change, in order.
    pub reverted: Vec<String>,
    /// Tables this change created (re-created ones included), tracking table excluded.
    pub created_tables: Vec<String>,
    /// Tables this change dropped, the tracking table included.
    pub dropped_tables: Vec<String>,
    /// Sentences about repairs and adoptions, in order.
    pub notes: Vec<String>,
}

impl SchemaReport {
    /// Whether the change changed nothing.
    pub fn is_empty(&self) -> bool {
        self == &SchemaReport::default()
    }
}

/// One migration and whether it has been applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationState {
    /// The migration's name, `mYYYYMMDD_NNNNNN_…`.
    pub name: String,
    /// Whether it is recorded as applied.
    pub applied: bool,
    /// What is wrong with its tables, and how to fix it; `None` when nothing is.
    pub problem: Option<String>,
}

impl MigrationState {
    /// Whether it is recorded as applied but its tables are missing.
    pub fn needs_repair(&self) -> bool {
        self.applied && self.problem.is_some()
    }
}

/// Every migration of `M` in order, applied or pending, with what is wrong with its tables.
/// Read-only: it creates nothing, not even the tracking table, so a read-only database user
/// can run it.
pub async fn migration_status<M: Migrations>(
    db: &DatabaseConnection,
) -> Result<Vec<MigrationState>> {
    let migrations = M::all();
    let state = read_state(db, &migrations).await.map_err(classify::other)?;
    let known: Vec<&str> = migrations.iter().map(|m| m.name()).collect();
    if let Some(unknown) = state.applied.iter().find(|v| !known.contains(&v.as_str())) {
        return Err(Error::UnknownMigration(unknown.clone()));
    }
    Ok(migrations
        .iter()
        .map(|m| {
            let applied = state.applied.contains(m.name());
            let tables: Vec<&str> = m.creates().iter().map(|t| t.name).collect();
            let problem = if applied {
                let missing: Vec<&str> = tables
                    .iter()
                    .copied()
                    .filter(|t| !state.existing.contains(*t))
                    .collect();
                (!missing.is_empty()).then(|| {
                    format!(
                        "recorded as applied, but table `{}` is missing; `cli create-tables` re-creates it",
                        missing.join("`, `")
                    )
                })
            } else {
                tables
                    .iter()
                    .find_map(|t| state.checks.get(*t).map(|check| (t, check)))
                    .map(|(t, check)| {
                        if check.exact() {
                            format!(
                                "table `{t}` already exists and matches; `cli create-tables` records it"
                            )
                        } else if check.fatal.is_empty() {
                            format!(
                                "table `{t}` exists, made by another program ({}); `cli create-tables --adopt` records it as it is",
                                check.minor.join("; ")
                            )
                        } else {
                            format!(
                                "table `{t}` exists and differs from cli's ({}); rename or drop it",
                                check.all().join("; ")
                            )
                        }
                    })
            };
            MigrationState {
                name: m.name().to_owned(),
                applied,
                problem,
            }
        })
        .collect())
}

/// Runs `change` of `M`; `observer` sees each statement once it has run (inside the
/// transaction on PostgreSQL and SQLite, committed on MySQL/MariaDB).
pub async fn run_change<M: Migrations>(
    db: &DatabaseConnection,
    change: SchemaChange,
    options: &SchemaOptions,
    observer: &mut (dyn FnMut(&Statement) + Send),
) -> Result<SchemaReport> {
    crate::runner::run::<M>(db, change, options, observer).await
}

async fn run<M: Migrations>(
    db: &DatabaseConnection,
    change: SchemaChange,
    options: &SchemaOptions,
) -> Result<SchemaReport> {
    run_change::<M>(db, change, options, &mut |_| {}).await
}

/// Applies the next `steps` pending migrations of `M` (all of them for `None`), after
/// re-creating the missing tables of applied ones.
pub async fn migrate_up<M: Migrations>(
    db: &DatabaseConnection,
    steps: Option<u32>,
    options: &SchemaOptions,
) -> Result<SchemaReport> {
    run::<M>(db, SchemaChange::Up(steps), options).await
}

/// Reverts the last `steps` applied migrations of `M` (all of them for `None`).
pub async fn migrate_down<M: Migrations>(
    db: &DatabaseConnection,
    steps: Option<u32>,
    options: &SchemaOptions,
) -> Result<SchemaReport> {
    run::<M>(db, SchemaChange::Down(steps), options).await
}

/// Reverts every applied migration of `M`, then applies all of them.
pub async fn migrate_refresh<M: Migrations>(
    db: &DatabaseConnection,
    options: &SchemaOptions,
) -> Result<SchemaReport> {
    run::<M>(db, SchemaChange::Refresh, options).await
}

/// Applies every pending migration of the real [`Migrator`]; again is a no-op.
pub async fn create_tables(
    db: &DatabaseConnection,
    options: &SchemaOptions,
) -> Result<SchemaReport> {
    migrate_up::<Migrator>(db, None, options).await
}

/// Reverts every applied migration, drops the migrations' tables that exist unrecorded and
/// the tracking table; touches no other table.
pub async fn drop_tables(db: &DatabaseConnection, options: &SchemaOptions) -> Result<SchemaReport> {
    run::<Migrator>(db, SchemaChange::Reset, options).await
}
