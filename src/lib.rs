//! hyojun (標準): the standard-code registry for Japanese healthcare masters.
//!
//! Layers (see ARCHITECTURE.md): front ends parse, call a command and render; commands hold
//! the write rules; the domain parses and decides without a database; only `store` speaks SQL.
//!
//! - Front ends: [`api`] (HTTP `/v1`, actix-web), [`fhir`] (FHIR R4 terminology at `/fhir`),
//!   [`cli`] (the command line).
//! - Commands: [`app`] — every write in one transaction with its audit row, and the read
//!   models the front ends share.
//! - Domain: [`masters`] (parse distribution files), [`mapping`] (review rules, local-code
//!   merge, exchange formats, candidates), [`search`] (Japanese full-text index),
//!   [`systems`] (code systems and canonical URLs), [`access`] (roles).
//! - Storage: [`store`] (releases as immutable row versions on SQLite or PostgreSQL).
//! - Shared helpers: [`ids`] (typed ids), [`limits`] (every input limit), [`hygiene`] (field
//!   contents), [`json_depth`] (nesting guard), [`excerpt`] (input shown in messages),
//!   [`timestamp`] (RFC 3339 output), [`telemetry`] (the node's Prometheus metrics), [`text`]
//!   (text normalisation in named levels).

pub mod access;
pub mod api;
pub mod app;
pub mod cli;
pub mod excerpt;
pub mod fhir;
pub mod hygiene;
pub mod ids;
pub mod json_depth;
pub mod limits;
pub mod mapping;
pub mod masters;
pub mod search;
pub mod store;
pub mod systems;
pub mod telemetry;
pub mod text;
pub mod timestamp;
