//! Who is calling: `Authorization: Bearer <key>` resolved to a role. Handlers state the role
//! they need by taking [`Reader`], [`Mapper`] or [`Admin`] as an argument.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use super::AppState;
use crate::access::Role;
use crate::store::keys::hash_key;

/// How long a verified key is trusted without asking the database again (so a revoked key
/// stops working within this time on every node).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// A caller whose key was verified (or an anonymous reader, when configured).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Key id; `None` for anonymous readers.
    pub key_id: Option<i64>,
    /// Key name as shown in the audit log.
    pub name: String,
    pub role: Role,
}

impl Caller {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self.key_id {
            Some(id) => format!("key:{id}:{}", self.name),
            None => "anonymous".to_owned(),
        }
    }
}

/// Verified keys, by hash, for a few seconds.
#[derive(Default, Clone)]
pub struct KeyCache {
    entries: Arc<Mutex<HashMap<String, (Caller, Instant)>>>,
}

impl KeyCache {
    fn get(&self, hash: &str) -> Option<Caller> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(c, _)| c.clone())
    }

    /// Drops a key at once (after revocation on this node; other nodes follow within the TTL).
    pub fn forget(&self, key_id: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (c, _)| c.key_id != Some(key_id));
        }
    }

    fn put(&self, hash: String, caller: Caller) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
            }
            entries.insert(hash, (caller, Instant::now()));
        }
    }
}

async fn authorize(req: &HttpRequest, required: Role) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?
        .clone();
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
    let Some(header) = header else {
        if state.config.anonymous_read && required == Role::Reader {
            return Ok(Caller {
                key_id: None,
                name: "anonymous".into(),
                role: Role::Reader,
            });
        }
        return Err(ApiError::Unauthorized(
            "an API key is required: send `Authorization: Bearer <key>`".into(),
        ));
    };
    let key = header
        .to_str()
        .ok()
        .and_then(bearer_key)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <key>`".into())
        })?
        .to_owned();
    let hash = hash_key(&key);
    let caller = match state.keys.get(&hash) {
        Some(caller) => caller,
        None => {
            let store = state.store.clone();
            let row = web::block(move || store.authenticate(&key))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??
                .ok_or_else(|| {
                    ApiError::Unauthorized("the API key is not valid (unknown or revoked)".into())
                })?;
            let role: Role = row.role.parse().map_err(ApiError::Internal)?;
            let caller = Caller {
                key_id: Some(row.id),
                name: row.name,
                role,
            };
            state.keys.put(hash, caller.clone());
            caller
        }
    };
    if caller.role.allows(required) {
        Ok(caller)
    } else {
        Err(ApiError::Forbidden(format!(
            "this needs the {required} role; the key has {}",
            caller.role
        )))
    }
}

/// The key of `Bearer <key>`; the scheme is case-insensitive (RFC 7235), so `bearer` and
/// `BEARER` are accepted too.
fn bearer_key(header: &str) -> Option<&str> {
    let (scheme, key) = header.trim_start().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

            fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move { authorize(&req, $role).await.map($name) })
            }
        }
    };
}

role_extractor!(
    Reader,
    Role::Reader,
    "A caller with at least the reader role."
);
role_extractor!(
    Mapper,
    Role::Mapper,
    "A caller with at least the mapper role."
);
role_extractor!(Admin, Role::Admin, "A caller with the admin role.");

#[cfg(test)]
mod tests {
    use super::bearer_key;

    #[test]
    fn the_scheme_is_case_insensitive() {
        for header in ["Bearer hyj_1", "bearer hyj_1", "BEARER  hyj_1 "] {
            assert_eq!(bearer_key(header), Some("hyj_1"), "{header}");
        }
        for header in ["Basic hyj_1", "Bearer ", "Bearerhyj_1", "hyj_1"] {
            assert_eq!(bearer_key(header), None, "{header}");
        }
    }
}
