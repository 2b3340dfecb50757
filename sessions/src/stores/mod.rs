//! The five stores.

mod filesystem;
mod redis;

pub use filesystem::FilesystemStore;
pub use redis::RedisStore;
