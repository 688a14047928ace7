//! Roles and what they may do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The role an API key carries. Each role includes the ones before it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Lookups, search, validation, reading releases and diffs.
    Reader,
    /// Reader plus mapping writes.
    Mapper,
    /// Everything: uploads, activation, key management, the audit log.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Mapper => "mapper",
            Role::Admin => "admin",
        }
    }

    /// Whether a caller with this role may do what `required` allows.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reader" => Ok(Role::Reader),
            "mapper" => Ok(Role::Mapper),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}`: expected reader, mapper or admin"
            )),
        }
    }
}
