//! API key management and the audit log (admin).

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::dto::all;
use super::dto::keys::{ApiKeyRow, AuditRow};
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::access::Role;
use crate::app;
use crate::ids::ApiKeyId;

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewKeyRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub role: Role,
}

/// A created key: `key` is shown this once and never stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewKeyResponse {
    pub key: String,
    #[serde(flatten)]
    pub info: ApiKeyRow,
}

/// Every API key (hashes are never shown).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Keys", body = Vec<ApiKeyRow>),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/keys")]
pub async fn list_keys(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let keys: Vec<ApiKeyRow> = blocking(move || Ok(all(store.keys()?))).await?;
    Ok(HttpResponse::Ok().json(keys))
}

/// Creates an API key with a role; the response carries the key once.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewKeyRequest,
    responses(
        (status = 201, description = "Created", body = NewKeyResponse),
        (status = 400, description = "Bad name or role", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/keys")]
pub async fn create_key(
    admin: Admin,
    state: web::Data<AppState>,
    body: super::json::Json<NewKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let store = state.store.clone();
    let actor = admin.0.actor();
    let created = blocking(move || {
        Ok(app::keys::create(
            &store,
            &actor,
            &request.name,
            request.role,
        )?)
    })
    .await?;
    Ok(HttpResponse::Created().json(NewKeyResponse {
        key: created.key,
        info: created.row.into(),
    }))
}

/// Revokes an API key.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Key id")),
    responses(
        (status = 200, description = "Revoked", body = ApiKeyRow),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope),
        (status = 404, description = "No such key", body = super::ErrorEnvelope)
    )
)]
#[delete("/v1/keys/{id}")]
pub async fn revoke_key(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ApiKeyId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let store = state.store.clone();
    let actor = admin.0.actor();
    let row = blocking(move || Ok(app::keys::revoke(&store, &actor, id)?)).await?;
    state.keys.forget(id);
    Ok(HttpResponse::Ok().json(ApiKeyRow::from(row)))
}

/// A page of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Audit entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub total: i64,
    pub items: Vec<AuditRow>,
}

/// The audit log: every write, who did it, when and how it ended (admin).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries", body = AuditPage),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/audit")]
pub async fn audit_log(
    _: Admin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(100);
    let offset = query.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(ApiError::BadRequest(
            "limit must be 1–1000 and offset ≥ 0".into(),
        ));
    }
    let store = state.store.clone();
    let (total, items) = blocking(move || Ok(store.audit_entries(limit, offset)?)).await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        total,
        items: all(items),
    }))
}
