//! Creates `student`, the table of the original Flask-SQLAlchemy tutorial.

use crate::{ColumnKind, ColumnSpec, Key, Literal, Migration, TableSpec};

/// The `student` table: what the tutorial's model declares, plus the defaults `cli` gives.
pub const STUDENT: TableSpec = TableSpec {
    name: "student",
    columns: &[
        ColumnSpec::new("id", ColumnKind::Integer)
            .not_null()
            .key(Key::AutoIncrement),
        ColumnSpec::new("s_name", ColumnKind::Varchar(32))
            .not_null()
            .key(Key::Unique),
        ColumnSpec::new("s_age", ColumnKind::Integer)
            .not_null()
            .default(Literal::Int(18)),
        ColumnSpec::new("s_score", ColumnKind::Float)
            .not_null()
            .default(Literal::Float(0.0)),
    ],
};

/// Creates [`STUDENT`].
#[derive(Debug)]
pub struct CreateStudentTable;

impl Migration for CreateStudentTable {
    fn name(&self) -> &'static str {
        "m20240101_000001_create_student_table"
    }

    fn creates(&self) -> &'static [TableSpec] {
        &[STUDENT]
    }
}
