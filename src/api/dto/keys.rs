//! API keys and the audit log, as the admin endpoints show them.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::audit::Outcome;
use crate::store::models;

/// An API key as stored: never the key itself, only its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// The first characters of the key, to recognise it in lists.
    pub key_prefix: String,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub created_at: NaiveDateTime,
    pub created_by: String,
    #[serde(serialize_with = "crate::timestamp::utc_opt")]
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<models::ApiKeyRow> for ApiKeyRow {
    /// Everything but the hash.
    fn from(k: models::ApiKeyRow) -> Self {
        ApiKeyRow {
            id: k.id.into(),
            name: k.name,
            role: k.role,
            key_prefix: k.key_prefix,
            created_at: k.created_at,
            created_by: k.created_by,
            revoked_at: k.revoked_at,
        }
    }
}

/// One recorded write.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditRow {
    pub id: i64,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl From<models::AuditRow> for AuditRow {
    fn from(a: models::AuditRow) -> Self {
        AuditRow {
            id: a.id,
            at: a.at,
            actor: a.actor,
            action: a.action,
            target: a.target,
            outcome: a.outcome,
            detail: a.detail,
        }
    }
}
