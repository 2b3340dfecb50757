//! Every rule and query of the student-records toolkit.
//!
//! The functions here take an open [`sea_orm::DatabaseConnection`] first and never read the
//! environment; the `cli` crate decides where to connect and how to print. Validation lives in
//! [`validate`], so every backend enforces the same rules, and every failure is one [`Error`].

mod classify;
pub mod connect;
pub mod dry_run;
pub mod error;
mod inspect;
mod interrupt;
pub mod mutation;
pub mod names;
mod plan;
pub mod query;
mod runner;
pub mod schema;
mod sqlite_read;
pub mod validate;

pub use connect::{
    Access, ConnectSettings, DEFAULT_DATABASE_URL, HostChoice, backend_of, choose_host, connect,
    connect_choosing, connect_lazy, split_host_list,
};
pub use dry_run::dry_run;
pub use entity::student::Model as Student;
pub use error::{Error, PartialChange, Result};
pub use interrupt::{Interrupt, InterruptTrigger, interrupt_pair};
pub use migration::{Migrations, Migrator};
pub use mutation::{SeedOptions, SeedReport, add_student, add_students, seed};
pub use query::stream_students;
pub use schema::{
    MigrationState, SchemaChange, SchemaOptions, SchemaReport, create_tables, drop_tables,
    migrate_down, migrate_refresh, migrate_up, migration_status, run_change,
};
pub use sea_orm::DatabaseConnection;
pub use validate::{NewStudent, format_score};
