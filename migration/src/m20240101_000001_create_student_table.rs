//! Creates `student`, the table of the original Flask-SQLAlchemy tutorial.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Student::Table)
            .col(
                ColumnDef::new(Student::Id)
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(Student::SName)
                    .string_len(32)
                    .not_null()
                    .unique_key(),
            )
            .col(
                ColumnDef::new(Student::SAge)
                    .integer()
                    .not_null()
                    .default(18),
            )
            .col(
                ColumnDef::new(Student::SScore)
                    .float()
                    .not_null()
                    .default(0.0),
            );
        if manager.get_database_backend() == DbBackend::MySql {
            // Stated explicitly so that CJK and emoji names survive on a server whose default
            // charset is latin1, and `utf8mb4_bin` so that names are unique exactly as written
            // (the server's default collations are case- and accent-insensitive).
            table
                .engine("InnoDB")
                .character_set("utf8mb4")
                .collate("utf8mb4_bin");
        }
        manager.create_table(table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Student::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Student {
    Table,
    Id,
    SName,
    SAge,
    SScore,
}
