//! `--dry-run`: the exact statements a schema change would send, with nothing changed.
//!
//! The real run's planner, fed with the schema as read here (read-only, so a SELECT-only user
//! can preview): a dry run prints every statement that the real run would send to change the
//! schema or its records, in order and spelled the same. What a real run sends around them
//! changes nothing and is not printed: the reads, the locks (`GET_LOCK`, `LOCK TABLES`,
//! `pg_advisory_xact_lock`) and the transaction's `BEGIN`/`COMMIT`.

use migration::{Migrations, Target};
use sea_orm::DatabaseConnection;

use crate::classify;
use crate::error::Result;
use crate::inspect::read_state;
use crate::plan::plan;
use crate::schema::SchemaChange;

/// The SQL statements `change` of `M` would execute on `db`, in order, each ending in `;`.
/// With `adopt`, as `create-tables --adopt` would. Fails as the real run would, when the
/// change would be refused.
pub async fn dry_run<M: Migrations>(
    db: &DatabaseConnection,
    change: SchemaChange,
    adopt: bool,
) -> Result<Vec<String>> {
    let migrations = M::all();
    let target = Target::detect(db).await.map_err(classify::other)?;
    let state = read_state(db, &migrations).await.map_err(classify::other)?;
    let plan = plan(&migrations, &state, change, adopt, &target)?;
    Ok(plan
        .statements
        .iter()
        .map(|p| format!("{};", p.statement))
        .collect())
}
