//! The schema migrations of the student-records toolkit, applied in order by [`Migrator`].
//!
//! Each migration is a file named `mYYYYMMDD_NNNNNN_<what>.rs` whose `down` undoes its `up`.

pub use sea_orm_migration::prelude::*;
pub use sea_orm_migration::{MigrationStatus, seaql_migrations};

mod m20240101_000001_create_student_table;

/// Applies and reverts the toolkit's migrations; tracks them in `seaql_migrations`.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20240101_000001_create_student_table::Migration)]
    }
}

/// Name of the table in which the migrator records applied migrations.
pub fn tracking_table_name() -> String {
    Migrator::migration_table_name().to_string()
}

/// Names of the tables the migrations create, in creation order, tracking table excluded.
pub const CREATED_TABLES: &[&str] = &["student"];
