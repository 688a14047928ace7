//! hyojun (標準): the standard-code registry for Japanese healthcare masters.
//!
//! Layers: [`masters`] parses distribution files, [`store`] keeps every release as immutable
//! row versions on SQLite or PostgreSQL, [`api`] serves HTTP, [`cli`] is the command line.

pub mod access;
pub mod api;
pub mod app;
pub mod cli;
pub mod excerpt;
pub mod fhir;
pub mod hygiene;
pub mod json_depth;
pub mod limits;
pub mod mapping;
pub mod masters;
pub mod search;
pub mod store;
pub mod systems;
pub mod timestamp;
