//! Code systems.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Reader;
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::store::diff::ReleaseRef;
use crate::systems::{Master, CODE_SYSTEMS};

/// A code system and the release its master currently serves.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemView {
    pub key: &'static str,
    pub name: &'static str,
    pub master: &'static str,
    pub master_name: &'static str,
    pub canonical_url: Option<&'static str>,
    /// Legacy OID aliases (`urn:oid:…`).
    pub oids: Vec<&'static str>,
    pub description: &'static str,
    #[schema(value_type = Option<Object>)]
    pub current_release: Option<ReleaseRef>,
}

/// Every code system, with its canonical URL, OID aliases and current release.
#[utoipa::path(
    tag = "codes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The code systems", body = Vec<SystemView>),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/systems")]
pub async fn list_systems(_: Reader, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let state = state.into_inner();
    let current = blocking(move || {
        Master::ALL
            .into_iter()
            .map(|m| {
                Ok((
                    m,
                    state
                        .cache
                        .current_release(&state.store, m)?
                        .map(|r| ReleaseRef::from(&r)),
                ))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    let views: Vec<SystemView> = CODE_SYSTEMS
        .iter()
        .map(|s| SystemView {
            key: s.key,
            name: s.name,
            master: s.master.key(),
            master_name: s.master.name(),
            canonical_url: s.canonical_url,
            oids: s.oids.to_vec(),
            description: s.description,
            current_release: current
                .iter()
                .find(|(m, _)| *m == s.master)
                .and_then(|(_, r)| r.clone()),
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
