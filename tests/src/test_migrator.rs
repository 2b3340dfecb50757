//! A test-only migration list with three steps, to exercise `-n`, status and `--check` where
//! the real one has fewer, and lists built to fail or stop between statements.

use migration::sea_orm::{DbBackend, Statement};
use migration::{ColumnKind, ColumnSpec, Key, Migration, Migrations, TableSpec, Target};

/// Creates `step_one`, then `step_two`, then `step_three`; each `down` drops its table.
#[derive(Debug)]
pub struct ThreeSteps;

/// The tables the steps create, in order.
pub const TABLES: [&str; 3] = ["step_one", "step_two", "step_three"];

const ID: &[ColumnSpec] = &[ColumnSpec::new("id", ColumnKind::Integer)
    .not_null()
    .key(Key::Primary)];

/// A migration named `name` that creates a table `table` with one `id` column.
#[derive(Debug)]
pub struct CreateTable {
    name: &'static str,
    table: &'static [TableSpec],
}

impl Migration for CreateTable {
    fn name(&self) -> &'static str {
        self.name
    }

    fn creates(&self) -> &'static [TableSpec] {
        self.table
    }
}

macro_rules! step {
    ($name:literal, $table:literal) => {
        CreateTable {
            name: $name,
            table: &[TableSpec {
                name: $table,
                columns: ID,
            }],
        }
    };
}

impl Migrations for ThreeSteps {
    fn all() -> Vec<Box<dyn Migration>> {
        vec![
            Box::new(step!("m20250101_000001_step_one", "step_one")),
            Box::new(step!("m20250101_000002_step_two", "step_two")),
            Box::new(step!("m20250101_000003_step_three", "step_three")),
        ]
    }
}

/// `step_one`, then a migration whose second statement always fails: it creates `half`,
/// runs a statement on a table that does not exist, and would then create `never`.
#[derive(Debug)]
pub struct FailsHalfway;

/// The migration of [`FailsHalfway`] that fails.
#[derive(Debug)]
pub struct Broken;

/// The statement of [`Broken`] that fails.
pub const FAILING: &str = "INSERT INTO no_such_table (id) VALUES (1)";

impl Migration for Broken {
    fn name(&self) -> &'static str {
        "m20250101_000002_broken"
    }

    fn changes(&self, target: &Target) -> Vec<Statement> {
        let b: DbBackend = target.backend;
        vec![
            Statement::from_string(b, "CREATE TABLE half (id INTEGER NOT NULL PRIMARY KEY)"),
            Statement::from_string(b, FAILING),
            Statement::from_string(b, "CREATE TABLE never (id INTEGER NOT NULL PRIMARY KEY)"),
        ]
    }
}

impl Migrations for FailsHalfway {
    fn all() -> Vec<Box<dyn Migration>> {
        vec![
            Box::new(step!("m20250101_000001_step_one", "step_one")),
            Box::new(Broken),
        ]
    }
}
