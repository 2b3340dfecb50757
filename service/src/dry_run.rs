//! `--dry-run`: the exact SQL a schema change would send, with nothing changed.
//!
//! The real migrator runs against SeaORM's mock connection of the same backend, which is told
//! which migrations the real database has applied (read there, read-only) and logs every
//! statement the migrator sends. The migrator's own SELECTs are left out: they change nothing.

use migration::{MigratorTrait, SchemaManager, seaql_migrations, tracking_table_name};
use sea_orm::{DatabaseConnection, EntityTrait, MockDatabase, MockExecResult};

use crate::classify;
use crate::error::{Error, Result};

/// A schema change that can be previewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaChange {
    /// Apply pending migrations (all for `None`).
    Up(Option<u32>),
    /// Revert applied migrations (all for `None`).
    Down(Option<u32>),
    /// Revert every applied migration, then apply every migration.
    Refresh,
    /// Revert every applied migration and drop the tracking table (`drop-tables`).
    Reset,
}

/// Far more statements than any migration run sends; the mock needs its answers up front.
const MAX_STATEMENTS: usize = 10_000;

/// The SQL statements `change` would execute on `db`, in order, each ending in `;`.
pub async fn dry_run<M: MigratorTrait>(
    db: &DatabaseConnection,
    change: SchemaChange,
) -> Result<Vec<String>> {
    // As `migrate_up` and `migrate_down` do: with nothing to apply or revert, nothing runs.
    let states = crate::schema::migration_status::<M>(db).await?;
    let pending = states.iter().filter(|s| !s.applied).count();
    match change {
        SchemaChange::Up(_) if pending == 0 => return Ok(Vec::new()),
        SchemaChange::Down(_) if pending == states.len() => return Ok(Vec::new()),
        _ => {}
    }
    let tracked = SchemaManager::new(db)
        .has_table(tracking_table_name())
        .await
        .map_err(classify::other)?;
    // As `drop_tables` does: without a tracking table there is nothing to reset.
    if change == SchemaChange::Reset && !tracked {
        return Ok(Vec::new());
    }
    let applied = if tracked {
        seaql_migrations::Entity::find()
            .all(db)
            .await
            .map_err(classify::other)?
    } else {
        Vec::new()
    };
    let pending: Vec<String> = states
        .iter()
        .filter(|s| !s.applied)
        .map(|s| s.name.clone())
        .collect();
    let all: Vec<String> = states.iter().map(|s| s.name.clone()).collect();
    Ok(match change {
        SchemaChange::Up(steps) => {
            let to_apply = steps.map_or(pending.len(), |n| (n as usize).min(pending.len()));
            record::<M>(db, Up(steps), applied, &pending[..to_apply]).await?
        }
        SchemaChange::Down(steps) => record::<M>(db, Down(steps), applied, &[]).await?,
        SchemaChange::Reset => record::<M>(db, Reset, applied, &[]).await?,
        // What `Migrator::refresh` does: revert everything, then apply everything.
        SchemaChange::Refresh => {
            let mut statements = record::<M>(db, Down(None), applied, &[]).await?;
            statements.extend(record::<M>(db, Up(None), Vec::new(), &all).await?);
            statements
        }
    })
}

/// One call of the migrator that the mock can answer.
#[derive(Debug, Clone, Copy)]
enum Call {
    Up(Option<u32>),
    Down(Option<u32>),
    Reset,
}
use Call::{Down, Reset, Up};

/// Runs one migrator call on a mock connection and returns the statements it executed.
///
/// The mock answers queries in order. A migrator call asks once which migrations are applied
/// (`applied`); then, on backends with `RETURNING`, recording each applied migration is a
/// query too, answered with its own row (`recorded`, in order).
async fn record<M: MigratorTrait>(
    db: &DatabaseConnection,
    call: Call,
    applied: Vec<seaql_migrations::Model>,
    recorded: &[String],
) -> Result<Vec<String>> {
    let answers = std::iter::once(applied).chain(recorded.iter().map(|name| {
        vec![seaql_migrations::Model {
            version: name.clone(),
            applied_at: 0,
        }]
    }));
    let fake = MockDatabase::new(db.get_database_backend())
        .append_query_results(answers)
        .append_exec_results((0..MAX_STATEMENTS).map(|_| MockExecResult {
            last_insert_id: 0,
            rows_affected: 1,
        }))
        .into_connection();
    let ran = match call {
        Up(steps) => M::up(&fake, steps).await,
        Down(steps) => M::down(&fake, steps).await,
        Reset => M::reset(&fake).await,
    };
    ran.map_err(|e| Error::Database(format!("could not plan the change: {e}")))?;
    Ok(fake
        .into_transaction_log()
        .iter()
        .flat_map(|t| t.statements().iter())
        .filter(|s| {
            !s.sql
                .trim_start()
                .to_ascii_uppercase()
                .starts_with("SELECT")
        })
        .map(|s| format!("{s};"))
        .collect())
}
