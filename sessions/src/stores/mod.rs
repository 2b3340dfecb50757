//! The five stores: filesystem, Redis, SQL, memcached and MongoDB.

mod filesystem;
mod memcached;
mod mongo;
mod redis;
mod sql;

pub use filesystem::FilesystemStore;
pub use memcached::MemcachedStore;
pub use mongo::{DEFAULT_DATABASE as MONGODB_DEFAULT_DATABASE, MongoStore};
pub use redis::RedisStore;
pub use sql::SqlStore;
