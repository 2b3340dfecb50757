//! The schema migrations of the student-records toolkit, in the order [`Migrator`] lists them.
//!
//! Each migration is a file named `mYYYYMMDD_NNNNNN_<what>.rs` that implements [`Migration`]:
//! it names the tables it creates (described by a [`TableSpec`], which builds the `CREATE
//! TABLE` and lets a runner check a table that already exists) and the statements it runs
//! besides, for a given [`Target`]. Its down undoes its up. A runner can therefore send the
//! statements one by one, know which took effect, and print exactly those in a dry run; the
//! `service` crate's runner does. To add a table, add a file whose `creates()` returns its
//! spec and list it last in [`Migrator::all`].
//!
//! [`Migrator`] also implements sea-orm-migration's `MigratorTrait`, and the tracking table
//! stays `seaql_migrations (version, applied_at)`, so sea-orm-cli sees the same history.

pub use sea_orm_migration::{
    MigrationName, MigrationStatus, MigrationTrait, MigratorTrait, SchemaManager, async_trait,
    sea_orm, sea_query, seaql_migrations,
};

use sea_orm_migration::DbErr;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

mod m20240101_000001_create_student_table;
mod m20261125_000001_student_name_no_pad;
mod m20261125_000002_create_sessions_table;
mod table;
mod target;

pub use m20240101_000001_create_student_table::STUDENT;
pub use m20261125_000002_create_sessions_table::SESSIONS;
pub use table::{ColumnKind, ColumnSpec, Key, Literal, TableSpec};
pub use target::{MySqlFlavour, Target};

/// One step of the schema: the tables it creates and the statements it runs besides.
pub trait Migration: Send + Sync + std::fmt::Debug {
    /// The name recorded in `seaql_migrations`, `mYYYYMMDD_NNNNNN_<what>`.
    fn name(&self) -> &'static str;

    /// The tables this migration creates, in order: up creates them first, down drops them
    /// last (in reverse). A migration that creates tables should change nothing else, so a
    /// runner can record a matching table that already exists instead of creating it.
    fn creates(&self) -> &'static [TableSpec] {
        &[]
    }

    /// Existing tables whose definition [`changes`](Migration::changes) alters; a runner
    /// that re-creates one of them runs these changes again.
    fn alters(&self) -> &'static [&'static str] {
        &[]
    }

    /// Statements run after creating [`creates`](Migration::creates), one at a time.
    fn changes(&self, _target: &Target) -> Vec<Statement> {
        Vec::new()
    }

    /// Statements that undo [`changes`](Migration::changes), run before the tables are
    /// dropped.
    fn reverts(&self, _target: &Target) -> Vec<Statement> {
        Vec::new()
    }
}

/// Every statement that applies `migration` on `target`, in order.
pub fn up_statements(migration: &dyn Migration, target: &Target) -> Vec<Statement> {
    let mut statements: Vec<Statement> = migration
        .creates()
        .iter()
        .map(|table| table.create(target))
        .collect();
    statements.extend(migration.changes(target));
    statements
}

/// Every statement that reverts `migration` on `target`, in order.
pub fn down_statements(migration: &dyn Migration, target: &Target) -> Vec<Statement> {
    let mut statements = migration.reverts(target);
    statements.extend(
        migration
            .creates()
            .iter()
            .rev()
            .map(|table| table.drop(target.backend)),
    );
    statements
}

/// An ordered list of migrations, oldest first.
pub trait Migrations: Send + Sync {
    /// Every migration, oldest first.
    fn all() -> Vec<Box<dyn Migration>>;

    /// Names of the tables the migrations create, in creation order.
    fn tables() -> Vec<&'static str> {
        Self::all()
            .iter()
            .flat_map(|m| m.creates().iter().map(|t| t.name))
            .collect()
    }
}

/// The toolkit's migrations; tracked in `seaql_migrations`.
#[derive(Debug)]
pub struct Migrator;

impl Migrations for Migrator {
    fn all() -> Vec<Box<dyn Migration>> {
        vec![
            Box::new(m20240101_000001_create_student_table::CreateStudentTable),
            Box::new(m20261125_000001_student_name_no_pad::StudentNameNoPad),
            Box::new(m20261125_000002_create_sessions_table::CreateSessionsTable),
        ]
    }
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        as_sea_orm_migrations::<Migrator>()
    }
}

/// The migrations of `M` as sea-orm-migration runs them, for an `impl MigratorTrait`.
pub fn as_sea_orm_migrations<M: Migrations>() -> Vec<Box<dyn MigrationTrait>> {
    M::all()
        .into_iter()
        .map(|m| Box::new(SeaOrmMigration(m)) as Box<dyn MigrationTrait>)
        .collect()
}

/// A [`Migration`] run by sea-orm-migration: the same statements, sent in order.
struct SeaOrmMigration(Box<dyn Migration>);

impl MigrationName for SeaOrmMigration {
    fn name(&self) -> &str {
        self.0.name()
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SeaOrmMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let target = Target::detect(db).await?;
        for statement in up_statements(self.0.as_ref(), &target) {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let target = Target::detect(db).await?;
        for statement in down_statements(self.0.as_ref(), &target) {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }
}

/// Name of the table in which the migrator records applied migrations.
pub fn tracking_table_name() -> String {
    Migrator::migration_table_name().to_string()
}
