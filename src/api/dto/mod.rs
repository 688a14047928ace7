//! What the API answers with, as the OpenAPI document describes it: types with schemas, built
//! from the store's and the domain's own types (which carry no schema).

pub mod jobs;
