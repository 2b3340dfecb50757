//! The SeaORM entities of the student-records toolkit: one module per table.
//!
//! The schema itself is owned by the `migration` crate; these entities describe it to queries.

pub mod student;

pub use student::{ActiveModel as StudentActiveModel, Entity as Student, Model as StudentModel};
