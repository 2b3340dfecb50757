//! Creating and dropping the toolkit's tables, through the migrations that own them.

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

/// Applies every pending migration; a second call is a no-op that reports nothing applied.
pub async fn create_tables(db: &DatabaseConnection) -> Result<CreateReport> {
    let names = all_table_names();
    let before = existing_tables(db, &names).await?;
    let applied: Vec<String> = Migrator::get_pending_migrations_read_only(db)
        .await
        .map_err(classify::other)?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    if !applied.is_empty() {
        Migrator::up(db, None).await.map_err(classify::other)?;
    }
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
