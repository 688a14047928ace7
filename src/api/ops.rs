//! Readiness and Prometheus metrics (kept in [`crate::telemetry`]).

use actix_web::{get, web, HttpResponse};

use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::telemetry::DatabaseGauges;

/// Readiness: the database answered the background health check's last probe (every
/// 250 ms; answered from that state at once, never waiting for the database), and the search
/// index is in step with it (the first probe after a start waits for the index).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve"),
        (status = 503, description = "The database does not answer", body = super::ErrorEnvelope)
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.store.health().is_down() {
        return Err(ApiError::Unavailable);
    }
    if !state.search.is_synced() {
        // Ready means search can answer too: the first probe waits for the index (built in
        // the background at start; seconds for all the real masters).
        let state = state.into_inner();
        blocking(move || {
            state.search.sync(&state.store).map_err(ApiError::from)?;
            Ok(())
        })
        .await?;
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

/// Prometheus metrics: request counts and latency histograms by route and status.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Metrics in Prometheus text format", content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // The gauges are read now (atomics and the pool's counters: nothing waits).
    let pool = state.store.pool_state();
    state.metrics.scraped(
        state.jobs.running(),
        state.search.snapshot().documents(),
        DatabaseGauges {
            connections: pool.connections,
            idle: pool.idle,
            max: pool.max_size,
            up: !state.store.health().is_down(),
        },
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
