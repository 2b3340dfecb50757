//! Every read of `student`, streamed: no query here collects the table into memory.

use entity::student;
use futures_util::stream::{self, BoxStream, StreamExt};
use sea_orm::{DatabaseConnection, DbBackend, EntityTrait, QueryOrder};

use crate::error::Result;
use crate::{classify, sqlite_read};

/// All students ordered by id, one row at a time as the database sends them.
///
/// Fails before yielding anything when the query itself fails (a missing table, say), so
/// callers print nothing for a query that never ran.
pub async fn stream_students(
    db: &DatabaseConnection,
) -> Result<BoxStream<'_, Result<student::Model>>> {
    if db.get_database_backend() == DbBackend::Sqlite
        && let Some(file) = sqlite_read::file_of(db)
    {
        return sqlite_read::stream_students(db, file).await;
    }
    let mut rows = match student::Entity::find()
        .order_by_asc(student::Column::Id)
        .stream(db)
        .await
    {
        Ok(rows) => rows,
        Err(e) => return Err(classify::on_student(db, e).await),
    };
    // Some drivers only run the query when the first row is asked for.
    let first = match rows.next().await {
        Some(Err(e)) => return Err(classify::on_student(db, e).await),
        first => first,
    };
    Ok(stream::iter(first)
        .chain(rows)
        .map(|row| row.map_err(classify::other))
        .boxed())
}
