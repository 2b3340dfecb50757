//! The five stores.

mod filesystem;
mod redis;
mod sql;

pub use filesystem::FilesystemStore;
pub use redis::RedisStore;
pub use sql::SqlStore;
