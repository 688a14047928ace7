//! Fuzz harnesses for hyojun's parsers (see `harness`), shared by the fuzz targets and by
//! the integration tests that replay kept crash inputs.

pub mod harness;
