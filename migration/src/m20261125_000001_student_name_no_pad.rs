//! Makes `student.s_name` unique exactly as written on MySQL/MariaDB, trailing spaces included.
//!
//! Tables created before this migration use `utf8mb4_bin`, a PAD SPACE collation: a stored
//! `'padx '` makes `'padx'` a duplicate there, but not on PostgreSQL or SQLite. Converting to
//! the server's NO PAD binary collation can only tell more names apart, so it never fails on
//! stored rows. Other backends already compare exactly; there this migration runs nothing.

use sea_orm_migration::sea_orm::{DbBackend, Statement};

use crate::{Migration, Target};

/// Converts `student` to the NO PAD binary collation of [`Target::text_collation`].
#[derive(Debug)]
pub struct StudentNameNoPad;

impl Migration for StudentNameNoPad {
    fn name(&self) -> &'static str {
        "m20261125_000001_student_name_no_pad"
    }

    fn alters(&self) -> &'static [&'static str] {
        &["student"]
    }

    fn changes(&self, target: &Target) -> Vec<Statement> {
        match target.text_collation() {
            // `CONVERT TO` also converts a table made by another program in latin1.
            Some(collation) => vec![Statement::from_string(
                DbBackend::MySql,
                format!(
                    "ALTER TABLE `student` CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}"
                ),
            )],
            None => Vec::new(),
        }
    }

    // Reverting changes nothing: the first migration, as it stands, creates the NO PAD
    // collation itself, and going back to PAD SPACE would bring the defect back.
}
