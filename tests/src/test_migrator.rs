//! A test-only migrator with three steps, to exercise `-n`, status and `--check` where the
//! real migrator has a single step.

use migration::{MigrationTrait, MigratorTrait, async_trait};

/// Creates `step_one`, then `step_two`, then `step_three`; each `down` drops its table.
#[derive(Debug)]
pub struct ThreeSteps;

/// The tables the steps create, in order.
pub const TABLES: [&str; 3] = ["step_one", "step_two", "step_three"];

#[async_trait::async_trait]
impl MigratorTrait for ThreeSteps {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_step_one::Migration),
            Box::new(m20250101_000002_step_two::Migration),
            Box::new(m20250101_000003_step_three::Migration),
        ]
    }
}

macro_rules! create_table_step {
    ($module:ident, $table:literal) => {
        mod $module {
            use sea_orm_migration::prelude::*;

            pub struct Migration;

            // Named by hand: `DeriveMigrationName` takes the file's name, the same for all three.
            impl MigrationName for Migration {
                fn name(&self) -> &str {
                    stringify!($module)
                }
            }

            #[async_trait::async_trait]
            impl MigrationTrait for Migration {
                async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                    manager
                        .create_table(
                            Table::create()
                                .table(Alias::new($table))
                                .col(
                                    ColumnDef::new(Alias::new("id"))
                                        .integer()
                                        .not_null()
                                        .primary_key(),
                                )
                                .to_owned(),
                        )
                        .await
                }

                async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                    manager
                        .drop_table(Table::drop().table(Alias::new($table)).to_owned())
                        .await
                }
            }
        }
    };
}

create_table_step!(m20250101_000001_step_one, "step_one");
create_table_step!(m20250101_000002_step_two, "step_two");
create_table_step!(m20250101_000003_step_three, "step_three");
