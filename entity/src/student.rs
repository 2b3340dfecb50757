//! The `student` table of the original Flask-SQLAlchemy tutorial.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest name the `s_name VARCHAR(32)` column holds, in characters.
pub const NAME_MAX_CHARS: usize = 32;

/// One row of `student`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "student")]
pub struct Model {
    /// Auto-increment primary key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Unique, case-sensitive display name.
    #[sea_orm(column_type = "String(StringLen::N(32))", unique)]
    pub s_name: String,
    /// Age in years.
    #[sea_orm(default_value = 18)]
    pub s_age: i32,
    /// Score; a single-precision `FLOAT`, as in the original table.
    #[sea_orm(column_type = "Float", default_value = 0)]
    pub s_score: f32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
