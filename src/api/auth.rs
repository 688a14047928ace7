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
use crate::ids::ApiKeyId;
use crate::store::keys::hash_key;

/// How long a verified key is trusted without asking the database again (so a revoked key
/// stops working within this time on every node).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// How long a verified key stays accepted while the database cannot be reached (checked
/// within [`KEY_CACHE_TTL`] before, and only while the database is down: with the database
/// up, every key is checked again after the TTL, so a revoked key still stops within it).
pub const KEY_GRACE: Duration = Duration::from_secs(300);

/// A caller whose key was verified (or an anonymous reader, when configured).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Key id; `None` for anonymous readers.
    pub key_id: Option<ApiKeyId>,
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

/// Verified keys, by hash: trusted for [`KEY_CACHE_TTL`], and for [`KEY_GRACE`] while the
/// database is down.
#[derive(Clone)]
pub struct KeyCache {
    entries: Arc<Mutex<HashMap<String, (Caller, Instant)>>>,
    ttl: Duration,
    grace: Duration,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(KEY_CACHE_TTL, KEY_GRACE)
    }
}

/// What the cache knows of a key.
enum Known {
    /// Verified within the TTL.
    Fresh(Caller),
    /// Verified within the grace: good only if the database cannot say otherwise.
    Stale(Caller),
    Unknown,
}

impl KeyCache {
    /// A cache trusting a verified key for `ttl`, and for `grace` while the database is down.
    pub fn new(ttl: Duration, grace: Duration) -> Self {
        KeyCache {
            entries: Arc::default(),
            ttl,
            grace,
        }
    }

    fn get(&self, hash: &str) -> Known {
        let Ok(entries) = self.entries.lock() else {
            return Known::Unknown;
        };
        match entries.get(hash) {
            Some((c, at)) if at.elapsed() < self.ttl => Known::Fresh(c.clone()),
            Some((c, at)) if at.elapsed() < self.grace => Known::Stale(c.clone()),
            _ => Known::Unknown,
        }
    }

    /// Drops a key at once (after revocation on this node; other nodes follow within the TTL).
    pub fn forget(&self, key_id: ApiKeyId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (c, _)| c.key_id != Some(key_id));
        }
    }

    fn forget_hash(&self, hash: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(hash);
        }
    }

    fn put(&self, hash: String, caller: Caller) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                let keep = self.ttl.max(self.grace);
                entries.retain(|_, (_, at)| at.elapsed() < keep);
            }
            entries.insert(hash, (caller, Instant::now()));
        }
    }
}

/// Checks a key the cache does not hold fresh against the database; a key verified within
/// the grace is accepted while the database cannot be reached.
async fn verify(
    state: &AppState,
    key: String,
    hash: String,
    stale: Option<Caller>,
) -> Result<Caller, ApiError> {
    let grace = |stale: Option<Caller>| {
        stale.inspect(|caller| {
            tracing::debug!(
                key = caller.key_id.map(ApiKeyId::get),
                "database down: key accepted within its grace"
            )
        })
    };
    if state.store.health().is_down() && key.starts_with(crate::store::keys::KEY_PREFIX) {
        // No need to ask: it would refuse at once (a key not of hyojun's form needs no
        // database to be refused).
        return grace(stale).ok_or(ApiError::Unavailable);
    }
    let store = state.store.clone();
    let found = web::block(move || store.authenticate(&key))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let row = match found {
        Ok(Some(row)) => row,
        Ok(None) => {
            state.keys.forget_hash(&hash);
            return Err(ApiError::Unauthorized(
                "the API key is not valid (unknown or revoked)".into(),
            ));
        }
        Err(crate::store::StoreError::Connect(e)) => {
            return match grace(stale) {
                Some(caller) => Ok(caller),
                None => Err(crate::store::StoreError::Connect(e).into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let role: Role = row.role.parse().map_err(ApiError::Internal)?;
    let caller = Caller {
        key_id: Some(row.id),
        name: row.name,
        role,
    };
    state.keys.put(hash, caller.clone());
    Ok(caller)
}

/// The key a request presents: `Authorization: Bearer <key>`, or `Api-Key: <key>` (the
/// header the HL7 validator sends to servers configured with an API key).
fn presented_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    if let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        return header
            .to_str()
            .ok()
            .and_then(bearer_key)
            .map(|k| Some(k.to_owned()))
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <key>`".into())
            });
    }
    match req.headers().get("api-key") {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| Some(k.to_owned()))
            .ok_or_else(|| ApiError::Unauthorized("the Api-Key header is empty".into())),
    }
}

/// The caller of `req` if its key (or anonymous reading, when configured) allows `required`.
pub async fn authorize(req: &HttpRequest, required: Role) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?
        .clone();
    let Some(key) = presented_key(req)? else {
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
    let hash = hash_key(&key);
    let caller = match state.keys.get(&hash) {
        Known::Fresh(caller) => caller,
        Known::Stale(caller) => verify(&state, key, hash, Some(caller)).await?,
        Known::Unknown => verify(&state, key, hash, None).await?,
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
