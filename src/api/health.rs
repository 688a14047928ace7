//! Liveness.

use actix_web::{get, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// Liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    /// hyojun's version.
    pub version: &'static str,
}

/// Liveness: the process is up and answering.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The service is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}
