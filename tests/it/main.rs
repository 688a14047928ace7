//! Integration tests: the real store, importer, CLI and HTTP app, on SQLite and PostgreSQL.

mod api;
mod bad_input;
mod byomei;
mod faults;
mod hot_samples;
mod jlac;
mod kill;
mod mapping;
mod nursing;
mod proxy;
mod real_hot9;
mod search;
mod snapshot;
mod support;
