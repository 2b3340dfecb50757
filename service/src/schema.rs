//! Creating, dropping and migrating the toolkit's tables, through the migrations that own them.
//!
//! Every function is generic over the migrator, so the same code serves the real
//! [`Migrator`] and the multi-step migrators of the tests.

use migration::{CREATED_TABLES, Migrator, MigratorTrait, SchemaManager, tracking_table_name};
use sea_orm::DatabaseConnection;

use crate::classify;
use crate::error::Result;

/// What `create_tables` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateReport {
    /// Names of the migrations applied by this call, in order; empty when already up to date.
    pub applied: Vec<String>,
    /// Tables that exist now and did not before.
    pub created_tables: Vec<String>,
}

/// What `drop_tables` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropReport {
    /// Tables that existed before and are gone now, the tracking table included.
    pub dropped_tables: Vec<String>,
}

/// One migration and whether it has been applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationState {
    /// The migration's name, `mYYYYMMDD_NNNNNN_…`.
    pub name: String,
    /// Whether it is recorded as applied.
    pub applied: bool,
}

/// Which of `names` exist in the connected database.
pub async fn existing_tables(db: &DatabaseConnection, names: &[String]) -> Result<Vec<String>> {
    let manager = SchemaManager::new(db);
    let mut found = Vec::new();
    for name in names {
        if manager.has_table(name).await.map_err(classify::other)? {
            found.push(name.clone());
        }
    }
    Ok(found)
}

fn all_table_names() -> Vec<String> {
    CREATED_TABLES
        .iter()
        .map(|t| (*t).to_owned())
        .chain([tracking_table_name()])
        .collect()
}

/// Every migration of `M` in order, applied or pending. Read-only: it creates nothing, not
/// even the tracking table, so a read-only database user can run it.
pub async fn migration_status<M: MigratorTrait>(
    db: &DatabaseConnection,
) -> Result<Vec<MigrationState>> {
    Ok(M::get_migration_with_status_read_only(db)
        .await
        .map_err(classify::other)?
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: m.status() == migration::MigrationStatus::Applied,
        })
        .collect())
}

fn names_where(states: &[MigrationState], applied: bool) -> Vec<String> {
    states
        .iter()
        .filter(|s| s.applied == applied)
        .map(|s| s.name.clone())
        .collect()
}

/// Applies the next `steps` pending migrations of `M` (all of them for `None`); returns their
/// names in the order applied.
pub async fn migrate_up<M: MigratorTrait>(
    db: &DatabaseConnection,
    steps: Option<u32>,
) -> Result<Vec<String>> {
    let mut pending = names_where(&migration_status::<M>(db).await?, false);
    if let Some(n) = steps {
        pending.truncate(n as usize);
    }
    if !pending.is_empty() {
        M::up(db, steps).await.map_err(classify::other)?;
    }
    Ok(pending)
}

/// Reverts the last `steps` applied migrations of `M` (all of them for `None`); returns their
/// names in the order reverted.
pub async fn migrate_down<M: MigratorTrait>(
    db: &DatabaseConnection,
    steps: Option<u32>,
) -> Result<Vec<String>> {
    let mut applied = names_where(&migration_status::<M>(db).await?, true);
    applied.reverse();
    if let Some(n) = steps {
        applied.truncate(n as usize);
    }
    if !applied.is_empty() {
        M::down(db, steps).await.map_err(classify::other)?;
    }
    Ok(applied)
}

/// Reverts every applied migration of `M`, then applies all of them; returns the names
/// reverted and the names applied.
pub async fn migrate_refresh<M: MigratorTrait>(
    db: &DatabaseConnection,
) -> Result<(Vec<String>, Vec<String>)> {
    let states = migration_status::<M>(db).await?;
    let mut reverted = names_where(&states, true);
    reverted.reverse();
    M::refresh(db).await.map_err(classify::other)?;
    Ok((reverted, states.into_iter().map(|s| s.name).collect()))
}

/// Applies every pending migration of the real [`Migrator`]; again is a no-op.
pub async fn create_tables(db: &DatabaseConnection) -> Result<CreateReport> {
    let names = all_table_names();
    let before = existing_tables(db, &names).await?;
    let applied = migrate_up::<Migrator>(db, None).await?;
    let after = existing_tables(db, &names).await?;
    let created_tables = after
        .into_iter()
        .filter(|t| !before.contains(t) && *t != tracking_table_name())
        .collect();
    Ok(CreateReport {
        applied,
        created_tables,
    })
}

/// Reverts every applied migration and drops the tracking table; touches no other table.
pub async fn drop_tables(db: &DatabaseConnection) -> Result<DropReport> {
    let names = all_table_names();
    let before = existing_tables(db, &names).await?;
    if before.contains(&tracking_table_name()) {
        Migrator::reset(db).await.map_err(classify::other)?;
    }
    let after = existing_tables(db, &names).await?;
    Ok(DropReport {
        dropped_tables: before.into_iter().filter(|t| !after.contains(t)).collect(),
    })
}
