//! API keys: create and revoke, each with its audit row.

use super::{command, Audit};
use crate::access::Role;
use crate::ids::ApiKeyId;
use crate::store::keys::{self, CreatedKey};
use crate::store::models::ApiKeyRow;
use crate::store::{Store, StoreError};

/// Creates a key named `name` for `role`; the secret is in the outcome and nowhere else.
pub fn create(
    store: &Store,
    actor: &str,
    name: &str,
    role: Role,
) -> Result<CreatedKey, StoreError> {
    command(
        store,
        &Audit::new(actor, "create_key", format!("key:{name}")),
        |conn| keys::create_key(conn, name, role, actor),
        |k| format!("key {} ({}) role {}", k.row.id, k.row.name, k.row.role),
    )
}

/// Revokes key `id` (revoking twice is harmless).
pub fn revoke(store: &Store, actor: &str, id: ApiKeyId) -> Result<ApiKeyRow, StoreError> {
    command(
        store,
        &Audit::new(actor, "revoke_key", format!("key:{id}")),
        |conn| keys::revoke_key(conn, id),
        |_| String::new(),
    )
}
