//! Mapping projects: create, merge a local-code list, change one mapping or many, import
//! decisions, keep a candidates job's results. Each change is one transaction with its audit
//! row; a mapping's own history is written in the same transaction.

use super::{command, Audit};
use crate::ids::ProjectId;
use crate::mapping::exchange::Decision;
use crate::mapping::local_codes::{LocalCode, MergePlan};
use crate::store::mapping::{
    self as mappings, bump_revision, change_in, Change, ImportReport, MappingView, NewProject,
    Project,
};
use crate::store::{Store, StoreError};

/// Creates a project; names are unique.
pub fn create_project(store: &Store, actor: &str, new: &NewProject) -> Result<Project, StoreError> {
    command(
        store,
        &Audit::new(
            actor,
            "create_mapping_project",
            format!("mapping_project:{}", new.name),
        ),
        |conn| mappings::create_project(conn, new, actor),
        |p| format!("project {}", p.id),
    )
}

/// Merges an uploaded local-code list into project `id` (added, renamed, withdrawn, restored).
pub fn merge_local_codes(
    store: &Store,
    actor: &str,
    id: ProjectId,
    codes: &[LocalCode],
) -> Result<MergePlan, StoreError> {
    command(
        store,
        &Audit::new(actor, "upload_local_codes", format!("mapping_project:{id}")),
        |conn| mappings::merge_local_codes(conn, id, codes, actor),
        |p| {
            format!(
                "{} added, {} renamed, {} withdrawn, {} restored",
                p.added.len(),
                p.renamed.len(),
                p.withdrawn.len(),
                p.restored.len()
            )
        },
    )
}

/// Applies `change` to the mapping of local code `code` in project `id`.
pub fn change(
    store: &Store,
    actor: &str,
    id: ProjectId,
    code: &str,
    change: &Change,
) -> Result<MappingView, StoreError> {
    let resolved = store.resolve_change(id, change)?;
    command(
        store,
        &Audit::new(
            actor,
            "change_mapping",
            format!("mapping_project:{id}/{code}"),
        ),
        |conn| {
            bump_revision(conn, id)?;
            change_in(conn, &resolved, code, actor)
        },
        |v| format!("{} → {}", change_name(change), v.state.as_str()),
    )
}

fn change_name(change: &Change) -> &'static str {
    change.action.map_or("assign", |a| a.as_str())
}

/// How one local code of a bulk change ended.
#[derive(Debug)]
pub enum BulkItem {
    /// Changed: the mapping as it is now.
    Changed(Box<MappingView>),
    /// Refused (the error says why); nothing of this code changed.
    Refused(StoreError),
}

/// Applies one change to many mappings of project `id` in one transaction: each code is
/// changed or refused on its own (a refusal writes nothing for that code), and a failure of
/// the database rolls the whole change back. One audit row counts both.
pub fn bulk_change(
    store: &Store,
    actor: &str,
    id: ProjectId,
    codes: &[String],
    change: &Change,
) -> Result<Vec<BulkItem>, StoreError> {
    let audit = Audit::new(actor, "bulk_change", format!("mapping_project:{id}"));
    let resolved = match store.resolve_change(id, change) {
        Ok(resolved) => resolved,
        // A change no mapping can take (a target the project does not map to, …): each code
        // is refused with the reason, as if tried one by one; an unknown project is an error.
        Err(StoreError::Invalid(why)) => {
            let e = StoreError::Invalid(why.clone());
            super::record_failure(&mut *store.conn()?, &audit, &e);
            let refused = |_| BulkItem::Refused(StoreError::Invalid(why.clone()));
            return Ok(codes.iter().map(refused).collect());
        }
        Err(e) => return Err(e),
    };
    command(
        store,
        &audit,
        |conn| {
            bump_revision(conn, id)?;
            let items: Vec<BulkItem> = mappings::change_many(conn, &resolved, codes, actor)?
                .into_iter()
                .map(|outcome| match outcome {
                    Ok(view) => BulkItem::Changed(Box::new(view)),
                    Err(e) => BulkItem::Refused(e),
                })
                .collect();
            Ok(items)
        },
        |items| {
            let changed = items
                .iter()
                .filter(|i| matches!(i, BulkItem::Changed(_)))
                .count();
            format!(
                "{} {changed} changed, {} refused",
                change_name(change),
                items.len() - changed
            )
        },
    )
}

/// Imports reviewed decisions (CSV or ConceptMap) into project `id`.
pub fn import_decisions(
    store: &Store,
    actor: &str,
    id: ProjectId,
    decisions: &[Decision],
) -> Result<ImportReport, StoreError> {
    let targets = store.decision_targets(id, decisions)?;
    command(
        store,
        &Audit::new(actor, "import_mappings", format!("mapping_project:{id}")),
        |conn| mappings::apply_decisions(conn, id, decisions, &targets, actor),
        |r| format!("{} applied, {} unchanged", r.applied, r.unchanged),
    )
}
