//! Mapping projects, their local codes, one mapping per local code with its review state, and
//! the append-only history of every change.
//!
//! Here: the row types, the views the front ends show, and the helpers every write shares
//! (read a mapping, save it under its version, record its history, bump the project's
//! revision). By concern: `projects` (create), `merge` (local-code lists), `review` (one
//! change or many), `exchange` (export pages, decision import), `translation` (the table
//! translation reads), `candidates` (the candidates job's input and output). Writes take a
//! connection and run in the caller's transaction (`crate::app::mapping`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::activation::serving_now;
use super::json_text::{JsonColumn, JsonText};
use super::lookup::code_view_in;
use super::schema::{local_codes, mapping_history, mapping_projects, mappings};
use super::{AnyConnection, Store, StoreError};
use crate::ids::ProjectId;
use crate::mapping::local_codes::{plan_merge, Held, LocalCode, MergePlan};
use crate::mapping::state::{self, Action, Equivalence, Review, State};
use crate::systems::{self, Master};
use crate::with_backend;

crate::text_column!(State);

/// A project's mappings joined with their local codes (a macro: the query's type depends on
/// the backend it is loaded with).
macro_rules! mappings_of {
    ($project_id:expr) => {
        mappings::table
            .inner_join(
                local_codes::table.on(local_codes::project_id
                    .eq(mappings::project_id)
                    .and(local_codes::code.eq(mappings::local_code))),
            )
            .filter(mappings::project_id.eq($project_id))
    };
}

mod candidates;
mod exchange;
mod merge;
mod projects;
mod review;
mod translation;

pub use crate::mapping::project::{MappingView, Project};
pub use candidates::{LocalTermRow, StoredCandidate};
pub use exchange::{apply_decisions, DecisionTargets, ImportReport};
pub use merge::merge_local_codes;
pub use projects::create_project;
pub use review::{change_in, change_many, resolve_change_in, ResolvedChange};
pub use translation::TranslationRow;

/// Where an export continues: after the last row of the page before.
#[derive(Debug, Clone, Default)]
pub struct ExportCursor {
    /// (target system, local code) of that row.
    after: Option<(Option<String>, String)>,
}

/// A project as created.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub description: String,
    /// URI or OID of the hospital's local code system.
    pub local_system: String,
    /// Target code systems (keys, canonical URLs or urn:oid: aliases).
    pub target_systems: Vec<String>,
    pub four_eyes: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mapping_projects)]
struct ProjectRow {
    id: ProjectId,
    name: String,
    description: String,
    local_system: String,
    target_systems: JsonText<TargetSystems>,
    four_eyes: bool,
    revision: i64,
    created_at: NaiveDateTime,
    created_by: String,
}

/// The target systems of a project (`mapping_projects.target_systems`: keys, in the order
/// given).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct TargetSystems(Vec<String>);

impl JsonColumn for TargetSystems {
    const COLUMN: &'static str = "mapping_projects.target_systems";
}

/// The extra columns of a local code (`local_codes.extra`: [header, value] pairs, in file
/// order).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct LocalExtra(Vec<(String, String)>);

impl JsonColumn for LocalExtra {
    const COLUMN: &'static str = "local_codes.extra";
}

impl TryFrom<ProjectRow> for Project {
    type Error = StoreError;
    fn try_from(r: ProjectRow) -> Result<Self, StoreError> {
        Ok(Project {
            target_systems: r.target_systems.into_inner().0,
            id: r.id,
            name: r.name,
            description: r.description,
            local_system: r.local_system,
            four_eyes: r.four_eyes,
            revision: r.revision,
            created_at: r.created_at,
            created_by: r.created_by,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = local_codes, treat_none_as_null = true)]
struct LocalCodeRow {
    project_id: ProjectId,
    code: String,
    name: String,
    unit: Option<String>,
    specimen: Option<String>,
    frequency: Option<i64>,
    category: Option<String>,
    extra: JsonText<LocalExtra>,
    withdrawn: bool,
    previous_name: Option<String>,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = mappings, treat_none_as_null = true)]
struct MappingRow {
    project_id: ProjectId,
    local_code: String,
    state: State,
    target_system: Option<String>,
    target_code: Option<String>,
    target_display: Option<String>,
    equivalence: Option<String>,
    comment: String,
    author: Option<String>,
    reviewer: Option<String>,
    assignee: Option<String>,
    flag_reason: Option<String>,
    target_release: Option<String>,
    version: i64,
    updated_at: NaiveDateTime,
}

/// One entry of a mapping's history.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mapping_history)]
pub struct HistoryEntry {
    pub id: i64,
    pub project_id: ProjectId,
    pub local_code: String,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    /// Field → [old, new] for every field the change touched.
    pub changes: String,
}

#[derive(Insertable)]
#[diesel(table_name = mapping_history)]
struct NewHistory<'a> {
    project_id: ProjectId,
    local_code: &'a str,
    at: NaiveDateTime,
    actor: &'a str,
    action: &'a str,
    from_state: &'a str,
    to_state: &'a str,
    changes: &'a str,
}

impl<'a> NewHistory<'a> {
    /// The history row of one change from `before` to `after` (`changes`: [`changes`]).
    fn of(
        before: &'a MappingRow,
        after: &'a MappingRow,
        actor: &'a str,
        action: &'a str,
        changes: &'a str,
    ) -> Self {
        NewHistory {
            project_id: after.project_id,
            local_code: &after.local_code,
            at: after.updated_at,
            actor,
            action,
            from_state: before.state.as_str(),
            to_state: after.state.as_str(),
            changes,
        }
    }
}

/// A change a person asks for.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub action: Option<Action>,
    /// The target of a proposal: (system, code).
    pub target: Option<(String, String)>,
    pub equivalence: Option<Equivalence>,
    pub comment: Option<String>,
    /// Who should look at it next (any action, or alone without an action).
    pub assignee: Option<String>,
    /// Why it is flagged.
    pub reason: Option<String>,
    /// The version the person saw; a different current version refuses the change.
    pub expected_version: Option<i64>,
}

/// Page of mappings.
#[derive(Debug, Clone)]
pub struct MappingPage {
    pub total: i64,
    pub items: Vec<MappingView>,
}

/// Longest comment, reason or description a write may store (characters; as free-text
/// fields of files, `text_chars`' default).
const TEXT_CHARS: usize = 10_000;

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn view(code: LocalCodeRow, m: MappingRow) -> MappingView {
    MappingView {
        extra: code.extra.into_inner().0,
        local_code: code.code,
        local_name: code.name,
        unit: code.unit,
        specimen: code.specimen,
        frequency: code.frequency,
        category: code.category,
        withdrawn: code.withdrawn,
        previous_name: code.previous_name,
        state: m.state,
        target_system: m.target_system,
        target_code: m.target_code,
        target_display: m.target_display,
        equivalence: m.equivalence.as_deref().and_then(Equivalence::parse),
        comment: m.comment,
        author: m.author,
        reviewer: m.reviewer,
        assignee: m.assignee,
        flag_reason: m.flag_reason,
        target_release: m.target_release,
        version: m.version,
        updated_at: m.updated_at,
    }
}

/// `name: [old, new]` for every field that differs.
fn changes(before: &MappingRow, after: &MappingRow) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let mut field = |name: &str, a: Option<&str>, b: Option<&str>| {
        if a != b {
            out.insert(name.into(), serde_json::json!([a, b]));
        }
    };
    field(
        "state",
        Some(before.state.as_str()),
        Some(after.state.as_str()),
    );
    field(
        "target_system",
        before.target_system.as_deref(),
        after.target_system.as_deref(),
    );
    field(
        "target_code",
        before.target_code.as_deref(),
        after.target_code.as_deref(),
    );
    field(
        "equivalence",
        before.equivalence.as_deref(),
        after.equivalence.as_deref(),
    );
    field("comment", Some(&before.comment), Some(&after.comment));
    field("author", before.author.as_deref(), after.author.as_deref());
    field(
        "reviewer",
        before.reviewer.as_deref(),
        after.reviewer.as_deref(),
    );
    field(
        "assignee",
        before.assignee.as_deref(),
        after.assignee.as_deref(),
    );
    field(
        "flag_reason",
        before.flag_reason.as_deref(),
        after.flag_reason.as_deref(),
    );
    serde_json::Value::Object(out)
}

fn record(
    conn: &mut AnyConnection,
    before: &MappingRow,
    after: &MappingRow,
    actor: &str,
    action: &str,
) -> Result<(), StoreError> {
    let changes = changes(before, after).to_string();
    diesel::insert_into(mapping_history::table)
        .values(NewHistory::of(before, after, actor, action, &changes))
        .execute(conn)?;
    Ok(())
}

fn unmapped(project_id: ProjectId, code: &str, at: NaiveDateTime) -> MappingRow {
    MappingRow {
        project_id,
        local_code: code.to_owned(),
        state: State::Unmapped,
        target_system: None,
        target_code: None,
        target_display: None,
        equivalence: None,
        comment: String::new(),
        author: None,
        reviewer: None,
        assignee: None,
        flag_reason: None,
        target_release: None,
        version: 0,
        updated_at: at,
    }
}

impl Store {
    /// Every project, oldest first.
    pub fn projects(&self) -> Result<Vec<Project>, StoreError> {
        let mut conn = self.conn()?;
        mapping_projects::table
            .order(mapping_projects::id.asc())
            .select(ProjectRow::as_select())
            .load(&mut *conn)?
            .into_iter()
            .map(Project::try_from)
            .collect()
    }

    /// One project.
    pub fn project(&self, id: ProjectId) -> Result<Project, StoreError> {
        let mut conn = self.conn()?;
        project_in(&mut conn, id)
    }

    /// (system key, code, display, release label) of a proposal's target
    /// ([`mapping_target_in`]).
    fn mapping_target(
        &self,
        project: &Project,
        system: &str,
        code: &str,
    ) -> Result<(String, String, String, String), StoreError> {
        mapping_target_in(&mut *self.conn()?, project, system, code)
    }
}

/// (system key, code, display, release label) of a proposal's target, on `conn`: the code of
/// one of the project's target systems in its master's current release.
fn mapping_target_in(
    conn: &mut AnyConnection,
    project: &Project,
    system: &str,
    code: &str,
) -> Result<(String, String, String, String), StoreError> {
    let system = systems::find(system).ok_or_else(|| {
        StoreError::Invalid(format!(
            "unknown target system `{}`",
            crate::excerpt::excerpt(system)
        ))
    })?;
    if !project.target_systems.iter().any(|t| t == system.key) {
        return Err(StoreError::Invalid(format!(
            "project {} maps to {}, not {}",
            project.name,
            project.target_systems.join(", "),
            system.key
        )));
    }
    let master: Master = system.master;
    let release = serving_now(conn, master)?.ok_or_else(|| {
        StoreError::Invalid(format!("{master} serves no release: nothing to map to yet"))
    })?;
    let view = code_view_in(conn, &release, system.key, code)?.ok_or_else(|| {
        StoreError::Invalid(format!(
            "{} has no code `{}` in its current release {}",
            system.key,
            crate::excerpt::excerpt(code),
            release.label
        ))
    })?;
    Ok((
        system.key.to_owned(),
        view.code,
        view.display,
        release.label,
    ))
}

fn project_in(conn: &mut AnyConnection, id: ProjectId) -> Result<Project, StoreError> {
    mapping_projects::table
        .filter(mapping_projects::id.eq(id))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            StoreError::NotFound(
                crate::store::Missing::MappingProject,
                format!("no mapping project {id}"),
            )
        })?
        .try_into()
}

fn mapping_in(
    conn: &mut AnyConnection,
    project_id: ProjectId,
    code: &str,
) -> Result<(LocalCodeRow, MappingRow), StoreError> {
    project_in(conn, project_id)?;
    mappings_of!(project_id)
        .filter(mappings::local_code.eq(code))
        .select((LocalCodeRow::as_select(), MappingRow::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            StoreError::NotFound(
                crate::store::Missing::LocalCode,
                format!(
                    "project {project_id} has no local code `{}`",
                    crate::excerpt::excerpt(code)
                ),
            )
        })
}

/// Writes `after` if the row still has `before`'s version.
fn save(
    conn: &mut AnyConnection,
    before: &MappingRow,
    after: &MappingRow,
) -> Result<(), StoreError> {
    let updated = diesel::update(
        mappings::table
            .filter(mappings::project_id.eq(before.project_id))
            .filter(mappings::local_code.eq(&before.local_code))
            .filter(mappings::version.eq(before.version)),
    )
    .set(after)
    .execute(conn)?;
    if updated != 1 {
        return Err(StoreError::Conflict(format!(
            "mapping {} changed meanwhile: reload it and try again",
            before.local_code
        )));
    }
    Ok(())
}

/// Marks the project changed (translation caches compare the revision). Every write
/// transaction on a project starts with it, so it holds the write lock before it reads
/// (SQLite cannot upgrade a read transaction once another writer committed).
pub fn bump_revision(conn: &mut AnyConnection, project_id: ProjectId) -> Result<(), StoreError> {
    diesel::update(mapping_projects::table.filter(mapping_projects::id.eq(project_id)))
        .set(mapping_projects::revision.eq(mapping_projects::revision + 1))
        .execute(conn)?;
    Ok(())
}

/// Flags a mapping that has something to review (not an unmapped one: nothing to check).
fn flag_in(
    conn: &mut AnyConnection,
    project_id: ProjectId,
    code: &str,
    reason: &str,
    actor: &str,
    action: &str,
) -> Result<(), StoreError> {
    let (_, before) = mapping_in(conn, project_id, code)?;
    if before.state == State::Unmapped {
        return Ok(());
    }
    let mut after = before.clone();
    after.state = State::Flagged;
    after.flag_reason = Some(reason.to_owned());
    after.version += 1;
    after.updated_at = now();
    save(conn, &before, &after)?;
    record(conn, &before, &after, actor, action)
}
