//! API keys: 256-bit random secrets, shown once, stored only as SHA-256 hashes.

use chrono::Utc;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::models::ApiKeyRow;
use super::schema::api_keys;
use super::{AnyConnection, Store, StoreError};
use crate::access::Role;
use crate::ids::ApiKeyId;

/// Prefix of every key, so that leaked keys are easy to recognise.
pub const KEY_PREFIX: &str = "hyj_";

/// A key just created: the secret is in `key` and nowhere else.
#[derive(Debug)]
pub struct CreatedKey {
    pub row: ApiKeyRow,
    pub key: String,
}

/// The hash under which a key is stored and looked up.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn new_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Config(format!("no operating-system randomness: {e}")))?;
    Ok(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
}

#[derive(Insertable)]
#[diesel(table_name = api_keys)]
struct NewKey<'a> {
    name: &'a str,
    role: &'a str,
    key_prefix: &'a str,
    key_hash: &'a str,
    created_at: chrono::NaiveDateTime,
    created_by: &'a str,
}

/// Creates a key for `role` on `conn`; the returned secret is never stored.
pub fn create_key(
    conn: &mut AnyConnection,
    name: &str,
    role: Role,
    by: &str,
) -> Result<CreatedKey, StoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid(
            "a key needs a name of 1–100 characters".into(),
        ));
    }
    crate::hygiene::check_typed("name", name, 100, false).map_err(StoreError::Invalid)?;
    let key = new_secret()?;
    let hash = hash_key(&key);
    diesel::insert_into(api_keys::table)
        .values(NewKey {
            name,
            role: role.as_str(),
            key_prefix: &key[..KEY_PREFIX.len() + 8],
            key_hash: &hash,
            created_at: Utc::now().naive_utc(),
            created_by: by,
        })
        .execute(conn)?;
    let row = api_keys::table
        .filter(api_keys::key_hash.eq(&hash))
        .select(ApiKeyRow::as_select())
        .first(conn)?;
    Ok(CreatedKey { row, key })
}

/// Revokes a key by id on `conn`; revoking twice is harmless.
pub fn revoke_key(conn: &mut AnyConnection, id: ApiKeyId) -> Result<ApiKeyRow, StoreError> {
    let row: ApiKeyRow = api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            StoreError::NotFound(
                crate::store::Missing::ApiKey,
                format!("no API key with id {id}"),
            )
        })?;
    if row.revoked_at.is_none() {
        diesel::update(api_keys::table.find(id))
            .set(api_keys::revoked_at.eq(Some(Utc::now().naive_utc())))
            .execute(conn)?;
    }
    Ok(api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .first(conn)?)
}

impl Store {
    /// Every key, newest first (hashes are never shown).
    pub fn keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let mut conn = self.conn()?;
        Ok(api_keys::table
            .order(api_keys::id.desc())
            .select(ApiKeyRow::as_select())
            .load(&mut *conn)?)
    }

    /// The live (not revoked) key a secret belongs to.
    pub fn authenticate(&self, key: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        if !key.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let mut conn = self.conn()?;
        Ok(api_keys::table
            .filter(api_keys::key_hash.eq(hash_key(key)))
            .filter(api_keys::revoked_at.is_null())
            .select(ApiKeyRow::as_select())
            .first(&mut *conn)
            .optional()?)
    }
}
