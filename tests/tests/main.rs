//! Every integration test, in one test binary so the SeaORM stack is linked once.
//!
//! Each module is one area of the tool, driven through the real `cli` binary; the harness
//! (fresh databases, the hermetic command builder) is the `tests` library.

mod api;
mod commands;
mod connect;
mod galera;
mod hardening;
mod migrate;
mod profiles;
mod redis_cluster;
mod schema;
mod seed;
mod sessions;
mod web;
mod writes;
