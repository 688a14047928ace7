//! One code in one release, as `/v1/systems/{system}/codes/{code}` answers it.

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::diff::ReleaseRef;
use crate::store::lookup;
use crate::store::successors::SuccessorChain;

/// One stored row of a code, as an API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowView {
    pub system: String,
    pub code: String,
    pub status: String,
    pub display: String,
    /// Every column of the master row, under stable keys.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// Names: `[{kind, value}]`.
    #[schema(value_type = Vec<Object>)]
    pub designations: serde_json::Value,
}

impl From<lookup::RowView> for RowView {
    fn from(r: lookup::RowView) -> Self {
        RowView {
            system: r.system,
            code: r.code,
            status: r.status,
            display: r.display,
            attributes: r.attributes,
            designations: r.designations,
        }
    }
}

/// A code of another system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CodeRef {
    pub system: String,
    pub code: String,
}

impl From<lookup::CodeRef> for CodeRef {
    fn from(c: lookup::CodeRef) -> Self {
        CodeRef {
            system: c.system,
            code: c.code,
        }
    }
}

impl From<&lookup::CodeRef> for CodeRef {
    fn from(c: &lookup::CodeRef) -> Self {
        c.clone().into()
    }
}

/// Everything known about one code in one release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeView {
    pub system: String,
    pub code: String,
    pub display: String,
    /// `active` or `retired` (retired also when the master no longer lists the code).
    pub status: String,
    /// The release the answer comes from.
    #[schema(value_type = Object)]
    pub release: ReleaseRef,
    /// The rows that define this code (several for a HOT9 in the HOT9 file).
    pub rows: Vec<RowView>,
    /// Rows of other code systems that carry this code (e.g. the HOT9 rows of a YJ code).
    pub carried_by: Vec<RowView>,
    /// Codes of other systems this code's rows carry (HOT9 → HOT7, YJ, レセ電算 …).
    pub related: Vec<CodeRef>,
    /// Codes this one is replaced by directly (移行先).
    pub successors: Vec<CodeRef>,
    /// Where following the successors transitively ends (the codes to use instead), with the
    /// walk itself; present only when the code has successors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub successor_chain: Option<SuccessorChain>,
    /// The releases of the master in which the code is present.
    #[schema(value_type = Vec<Object>)]
    pub valid_in: Vec<ReleaseRef>,
    /// Set when the code is not in this release but was in an earlier one: the first release
    /// without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub removed_in: Option<ReleaseRef>,
}

impl From<lookup::CodeView> for CodeView {
    fn from(v: lookup::CodeView) -> Self {
        CodeView {
            system: v.system,
            code: v.code,
            display: v.display,
            status: v.status,
            release: v.release,
            rows: super::all(v.rows),
            carried_by: super::all(v.carried_by),
            related: super::all(v.related),
            successors: super::all(v.successors),
            successor_chain: v.successor_chain,
            valid_in: v.valid_in,
            removed_in: v.removed_in,
        }
    }
}
