//! Server-side sessions as Flask-Session keeps them, on five stores, without its bugs.
//!
//! A session is an id, a map of JSON values and an expiry. The id (256 random bits, the
//! cookie's value) never reaches a store: stores key records by its SHA-256 ([`StoreKey`]).
//! [`Store`] is what each backend implements — create only if absent, save and touch only if
//! present, idempotent delete, never an expired record — and [`Sessions`] adds the rules every
//! store shares (idle and absolute lifetime, size cap). [`Sessions`] also implements the
//! `SessionStore` and `ExpiredDeletion` traits of tower-sessions 0.15.

mod error;
mod id;
mod open;
mod record;
mod sessions;
mod store;
pub mod stores;
mod tower;

pub use error::{Error, Result};
pub use id::{ID_CHARS, SessionId, StoreKey};
pub use open::{open, open_in_background};
pub use record::{Data, Loaded, Record, now_ms};
pub use sessions::Sessions;
pub use store::{Cleanup, Stats, Store, Summary};
