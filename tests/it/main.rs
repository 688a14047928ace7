//! Integration tests: the real store, importer, CLI and HTTP app, on SQLite and PostgreSQL.

mod api;
mod api_jobs;
mod api_limits;
mod bad_input;
mod byomei;
mod completeness;
mod corpus;
mod determinism;
mod faults;
mod fhir_expand;
mod fhir_expand_errors;
mod fhir_expand_value_sets;
mod fhir_support;
mod fuzz_regressions;
mod hostile_files;
mod hot_samples;
mod jlac;
mod kill;
mod local_code_limits;
mod mapping;
mod nursing;
mod proxy;
mod real_hot9;
mod search;
mod snapshot;
mod support;
