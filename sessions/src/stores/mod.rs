//! The five stores.

mod filesystem;

pub use filesystem::FilesystemStore;
