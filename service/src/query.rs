//! Every read of `student`, streamed: no query here collects the table into memory.

use entity::student;
use futures_util::{Stream, StreamExt, stream};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use crate::classify;
use crate::error::Result;

/// All students ordered by id, one row at a time as the database sends them.
///
/// Fails before yielding anything when the query itself fails (a missing table, say), so
/// callers print nothing for a query that never ran.
pub async fn stream_students(
    db: &DatabaseConnection,
) -> Result<impl Stream<Item = Result<student::Model>> + Send + '_> {
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
        .map(|row| row.map_err(classify::other)))
}
