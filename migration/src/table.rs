//! Tables described once, so the same description creates a table and checks one that exists.

use sea_orm_migration::prelude::{Alias, ColumnDef, Table};
use sea_orm_migration::sea_orm::{DbBackend, Statement};

use crate::Target;

/// A table a migration creates: its name and its columns, in order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableSpec {
    /// The table's name.
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [ColumnSpec],
}

/// The type of a column, as every backend can store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    BigInteger,
    /// A single-precision float (`FLOAT` on MySQL, `real` on PostgreSQL).
    Float,
    /// Text of at most this many characters.
    Varchar(u32),
    /// Text of up to 16 MiB (`MEDIUMTEXT` on MySQL/MariaDB, whose `TEXT` stops at 64 KiB).
    Text,
    /// Bytes of any length.
    Blob,
}

/// Which key a column belongs to, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// No key.
    None,
    /// A unique key on this column alone.
    Unique,
    /// The primary key, set by whoever inserts.
    Primary,
    /// The primary key, numbered by the database when an insert leaves it out.
    AutoIncrement,
}

/// A value a column takes when an insert leaves it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A string.
    Text(&'static str),
}

/// One column of a [`TableSpec`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnSpec {
    /// The column's name.
    pub name: &'static str,
    /// Its type.
    pub kind: ColumnKind,
    /// Whether NULL is refused.
    pub not_null: bool,
    /// Its key.
    pub key: Key,
    /// Its default, if it has one.
    pub default: Option<Literal>,
}

impl ColumnSpec {
    /// A nullable column of `kind` with no key and no default.
    pub const fn new(name: &'static str, kind: ColumnKind) -> Self {
        ColumnSpec {
            name,
            kind,
            not_null: false,
            key: Key::None,
            default: None,
        }
    }

    /// The same column, refusing NULL.
    pub const fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }

    /// The same column, in `key`.
    pub const fn key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    /// The same column, with a default.
    pub const fn default(mut self, value: Literal) -> Self {
        self.default = Some(value);
        self
    }
}

impl TableSpec {
    /// The `CREATE TABLE` statement for `target`. On MySQL/MariaDB the table is InnoDB in
    /// `utf8mb4` with a binary NO PAD collation, so that CJK and emoji names survive on a
    /// server whose default charset is latin1 and names are unique exactly as written (the
    /// servers' default collations are case- and accent-insensitive, and `utf8mb4_bin`
    /// ignores trailing spaces).
    pub fn create(&self, target: &Target) -> Statement {
        let mut table = Table::create();
        table.table(Alias::new(self.name));
        for column in self.columns {
            let mut def = ColumnDef::new(Alias::new(column.name));
            match column.kind {
                ColumnKind::Integer => def.integer(),
                ColumnKind::BigInteger => def.big_integer(),
                ColumnKind::Float => def.float(),
                ColumnKind::Varchar(n) => def.string_len(n),
                ColumnKind::Text if target.backend == DbBackend::MySql => {
                    def.custom(Alias::new("MEDIUMTEXT"))
                }
                ColumnKind::Text => def.text(),
                ColumnKind::Blob => def.blob(),
            };
            if column.not_null {
                def.not_null();
            }
            match column.key {
                Key::None => {}
                Key::Unique => {
                    def.unique_key();
                }
                Key::Primary => {
                    def.primary_key();
                }
                Key::AutoIncrement => {
                    def.auto_increment().primary_key();
                }
            }
            match column.default {
                None => {}
                Some(Literal::Int(v)) => {
                    def.default(v);
                }
                Some(Literal::Float(v)) => {
                    def.default(v);
                }
                Some(Literal::Text(v)) => {
                    def.default(v);
                }
            }
            table.col(&mut def);
        }
        if let Some(collation) = target.text_collation() {
            table
                .engine("InnoDB")
                .character_set("utf8mb4")
                .collate(collation);
        }
        target.backend.build(&table)
    }

    /// The `DROP TABLE` statement for `backend`.
    pub fn drop(&self, backend: DbBackend) -> Statement {
        backend.build(Table::drop().table(Alias::new(self.name)))
    }
}
