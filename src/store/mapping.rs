//! Mapping projects, their local codes, one mapping per local code with its review state, and
//! the append-only history of every change.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{local_codes, mapping_history, mapping_projects, mappings};
use super::{AnyConnection, Store, StoreError};
use crate::mapping::local_codes::{plan_merge, Held, LocalCode, MergePlan};
use crate::mapping::state::{self, Action, Equivalence, Review, State};
use crate::systems::{self, Master};
use crate::with_backend;

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
    id: i64,
    name: String,
    description: String,
    local_system: String,
    target_systems: String,
    four_eyes: bool,
    revision: i64,
    created_at: NaiveDateTime,
    created_by: String,
}

/// A mapping project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub local_system: String,
    /// Code system keys mappings may target.
    pub target_systems: Vec<String>,
    /// Whether an approver must differ from the author.
    pub four_eyes: bool,
    /// Bumped by every change to the project's local codes or mappings.
    pub revision: i64,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

impl TryFrom<ProjectRow> for Project {
    type Error = StoreError;
    fn try_from(r: ProjectRow) -> Result<Self, StoreError> {
        Ok(Project {
            target_systems: serde_json::from_str(&r.target_systems)
                .map_err(|e| StoreError::Corrupt(format!("project {}: {e}", r.id)))?,
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
    project_id: i64,
    code: String,
    name: String,
    unit: Option<String>,
    specimen: Option<String>,
    frequency: Option<i64>,
    category: Option<String>,
    extra: String,
    withdrawn: bool,
    previous_name: Option<String>,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = mappings, treat_none_as_null = true)]
struct MappingRow {
    project_id: i64,
    local_code: String,
    state: String,
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

/// A local code and its mapping.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MappingView {
    pub local_code: String,
    pub local_name: String,
    pub unit: Option<String>,
    pub specimen: Option<String>,
    pub frequency: Option<i64>,
    pub category: Option<String>,
    /// The upload's other columns, as (header, value).
    #[schema(value_type = Vec<Vec<String>>)]
    pub extra: Vec<(String, String)>,
    /// Missing from the latest upload.
    pub withdrawn: bool,
    /// The local name before the latest upload changed it.
    pub previous_name: Option<String>,
    pub state: State,
    pub target_system: Option<String>,
    pub target_code: Option<String>,
    pub target_display: Option<String>,
    pub equivalence: Option<Equivalence>,
    pub comment: String,
    pub author: Option<String>,
    pub reviewer: Option<String>,
    pub assignee: Option<String>,
    pub flag_reason: Option<String>,
    /// The release the target was chosen in.
    pub target_release: Option<String>,
    /// Send it back with a change to refuse it if someone changed the mapping meanwhile.
    pub version: i64,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub updated_at: NaiveDateTime,
}

/// One entry of a mapping's history.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = mapping_history)]
pub struct HistoryEntry {
    pub id: i64,
    #[serde(skip)]
    pub project_id: i64,
    #[serde(skip)]
    pub local_code: String,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    /// Field → [old, new] for every field the change touched.
    #[schema(value_type = Object)]
    #[serde(serialize_with = "json_text")]
    pub changes: String,
}

#[derive(Insertable)]
#[diesel(table_name = mapping_history)]
struct NewHistory<'a> {
    project_id: i64,
    local_code: &'a str,
    at: NaiveDateTime,
    actor: &'a str,
    action: &'a str,
    from_state: &'a str,
    to_state: &'a str,
    changes: &'a str,
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
#[derive(Debug, Clone, Serialize, ToSchema)]
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
        extra: serde_json::from_str(&code.extra).unwrap_or_default(),
        local_code: code.code,
        local_name: code.name,
        unit: code.unit,
        specimen: code.specimen,
        frequency: code.frequency,
        category: code.category,
        withdrawn: code.withdrawn,
        previous_name: code.previous_name,
        state: State::parse(&m.state).unwrap_or(State::Flagged),
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
    field("state", Some(&before.state), Some(&after.state));
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
        .values(NewHistory {
            project_id: after.project_id,
            local_code: &after.local_code,
            at: after.updated_at,
            actor,
            action,
            from_state: &before.state,
            to_state: &after.state,
            changes: &changes,
        })
        .execute(conn)?;
    Ok(())
}

fn unmapped(project_id: i64, code: &str, at: NaiveDateTime) -> MappingRow {
    MappingRow {
        project_id,
        local_code: code.to_owned(),
        state: State::Unmapped.as_str().to_owned(),
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
    pub fn project(&self, id: i64) -> Result<Project, StoreError> {
        let mut conn = self.conn()?;
        project_in(&mut conn, id)
    }

    /// A page of a project's mappings, most frequent local codes first, optionally of one
    /// state.
    pub fn mappings(
        &self,
        project_id: i64,
        state: Option<State>,
        limit: i64,
        offset: i64,
    ) -> Result<MappingPage, StoreError> {
        let mut conn = self.conn()?;
        project_in(&mut conn, project_id)?;
        let mut count = mappings::table
            .filter(mappings::project_id.eq(project_id))
            .count()
            .into_boxed();
        let mut page = mappings_of!(project_id)
            .select((LocalCodeRow::as_select(), MappingRow::as_select()))
            .order((
                local_codes::frequency.is_null(),
                local_codes::frequency.desc(),
                local_codes::code.asc(),
            ))
            .limit(limit)
            .offset(offset)
            .into_boxed();
        if let Some(state) = state {
            count = count.filter(mappings::state.eq(state.as_str()));
            page = page.filter(mappings::state.eq(state.as_str()));
        }
        let total: i64 = count.get_result(&mut *conn)?;
        let rows: Vec<(LocalCodeRow, MappingRow)> = page.load(&mut *conn)?;
        Ok(MappingPage {
            total,
            items: rows.into_iter().map(|(c, m)| view(c, m)).collect(),
        })
    }

    /// One local code and its mapping.
    pub fn mapping(&self, project_id: i64, code: &str) -> Result<MappingView, StoreError> {
        let mut conn = self.conn()?;
        let (c, m) = mapping_in(&mut conn, project_id, code)?;
        Ok(view(c, m))
    }

    /// Checks a change a person asks for and resolves it against project `project_id` and the
    /// current release of its target (reads only): what [`change_in`] applies, to one mapping
    /// or to many in one transaction.
    pub fn resolve_change<'c>(
        &self,
        project_id: i64,
        change: &'c Change,
    ) -> Result<ResolvedChange<'c>, StoreError> {
        if change.action.is_none() && change.assignee.is_none() {
            return Err(StoreError::Invalid(
                "give an action (propose, approve, reject, flag, no_match, reset) or an assignee"
                    .into(),
            ));
        }
        let typed = [
            ("comment", change.comment.as_deref(), TEXT_CHARS, true),
            ("assignee", change.assignee.as_deref(), 200, false),
            ("reason", change.reason.as_deref(), 1_000, true),
        ];
        for (field, value, max, free_text) in typed {
            if let Some(value) = value {
                crate::hygiene::check_typed(field, value, max, free_text)
                    .map_err(StoreError::Invalid)?;
            }
        }
        let project = self.project(project_id)?;
        let target = match (change.action, &change.target) {
            (Some(Action::Propose), Some((system, target_code))) => {
                Some(self.mapping_target(&project, system, target_code)?)
            }
            (Some(Action::Propose), None) => {
                return Err(StoreError::Invalid(
                    "a proposal needs target_system and target_code".into(),
                ))
            }
            (_, Some(_)) => {
                return Err(StoreError::Invalid(
                    "a target is given only with the propose action".into(),
                ))
            }
            _ => None,
        };
        Ok(ResolvedChange {
            change,
            project,
            target,
        })
    }

    /// Applies one change to one mapping in a transaction of its own (the mapping re-check;
    /// people's changes go through `crate::app::mapping`).
    pub(crate) fn change_mapping(
        &self,
        project_id: i64,
        code: &str,
        change: &Change,
        actor: &str,
    ) -> Result<MappingView, StoreError> {
        let resolved = self.resolve_change(project_id, change)?;
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            bump_revision(conn, project_id)?;
            change_in(conn, &resolved, code, actor)
        })
    }

    /// The history of one mapping, oldest first.
    pub fn mapping_history(
        &self,
        project_id: i64,
        code: &str,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut conn = self.conn()?;
        mapping_in(&mut conn, project_id, code)?;
        Ok(mapping_history::table
            .filter(mapping_history::project_id.eq(project_id))
            .filter(mapping_history::local_code.eq(code))
            .order(mapping_history::id.asc())
            .select(HistoryEntry::as_select())
            .load(&mut *conn)?)
    }

    /// (system key, code, display, release label) of a proposal's target.
    fn mapping_target(
        &self,
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
        let release = self.current_release(master)?.ok_or_else(|| {
            StoreError::Invalid(format!("{master} serves no release: nothing to map to yet"))
        })?;
        let view = self.code_view(&release, system.key, code)?.ok_or_else(|| {
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
}

fn project_in(conn: &mut AnyConnection, id: i64) -> Result<Project, StoreError> {
    mapping_projects::table
        .filter(mapping_projects::id.eq(id))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no mapping project {id}")))?
        .try_into()
}

fn mapping_in(
    conn: &mut AnyConnection,
    project_id: i64,
    code: &str,
) -> Result<(LocalCodeRow, MappingRow), StoreError> {
    project_in(conn, project_id)?;
    mappings_of!(project_id)
        .filter(mappings::local_code.eq(code))
        .select((LocalCodeRow::as_select(), MappingRow::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "project {project_id} has no local code `{}`",
                crate::excerpt::excerpt(code)
            ))
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

/// Creates a project; names are unique.
pub fn create_project(
    conn: &mut AnyConnection,
    new: &NewProject,
    by: &str,
) -> Result<Project, StoreError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid(
            "a project needs a name of 1–200 characters".into(),
        ));
    }
    let typed = [
        ("name", name, 200, false),
        ("description", new.description.as_str(), TEXT_CHARS, true),
        ("local_system", new.local_system.as_str(), 1_000, false),
    ];
    for (field, value, max, free_text) in typed {
        crate::hygiene::check_typed(field, value, max, free_text).map_err(StoreError::Invalid)?;
    }
    if new.local_system.trim().is_empty() {
        return Err(StoreError::Invalid(
            "local_system names the hospital's code system (a URI or urn:oid:…)".into(),
        ));
    }
    if new.target_systems.is_empty() {
        return Err(StoreError::Invalid(
            "target_systems lists the standard code systems to map to (e.g. jlac10)".into(),
        ));
    }
    let mut targets: Vec<&str> = Vec::new();
    for t in &new.target_systems {
        let system = systems::find(t).ok_or_else(|| {
            StoreError::Invalid(format!(
                "unknown target system `{}`: use a key from GET /v1/systems",
                crate::excerpt::excerpt(t)
            ))
        })?;
        if !targets.contains(&system.key) {
            targets.push(system.key);
        }
    }
    conn.transaction(|conn| {
        let taken: i64 = mapping_projects::table
            .filter(mapping_projects::name.eq(name))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(StoreError::Conflict(format!(
                "a project named `{}` exists already",
                crate::excerpt::excerpt(name)
            )));
        }
        diesel::insert_into(mapping_projects::table)
            .values((
                mapping_projects::name.eq(name),
                mapping_projects::description.eq(new.description.trim()),
                mapping_projects::local_system.eq(new.local_system.trim()),
                mapping_projects::target_systems
                    .eq(serde_json::to_string(&targets).unwrap_or_default()),
                mapping_projects::four_eyes.eq(new.four_eyes),
                mapping_projects::created_at.eq(now()),
                mapping_projects::created_by.eq(by),
            ))
            .execute(conn)?;
        mapping_projects::table
            .filter(mapping_projects::name.eq(name))
            .select(ProjectRow::as_select())
            .first(conn)?
            .try_into()
    })
}

/// Merges an uploaded local code list into a project in one transaction: new codes get an
/// unmapped mapping, codes whose name changed are flagged (unless still unmapped), codes
/// missing from the upload are marked withdrawn; no mapping is ever dropped.
pub fn merge_local_codes(
    conn: &mut AnyConnection,
    project_id: i64,
    upload: &[LocalCode],
    actor: &str,
) -> Result<MergePlan, StoreError> {
    conn.transaction(|conn| {
        bump_revision(conn, project_id)?;
        project_in(conn, project_id)?;
        let held_rows: Vec<LocalCodeRow> = local_codes::table
            .filter(local_codes::project_id.eq(project_id))
            .select(LocalCodeRow::as_select())
            .load(conn)?;
        let held: BTreeMap<String, Held> = held_rows
            .iter()
            .map(|r| {
                (
                    r.code.clone(),
                    Held {
                        name: r.name.clone(),
                        withdrawn: r.withdrawn,
                    },
                )
            })
            .collect();
        let plan = plan_merge(&held, upload);
        let at = now();
        let old: BTreeMap<&str, &LocalCodeRow> =
            held_rows.iter().map(|r| (r.code.as_str(), r)).collect();
        for local in upload {
            let previous = old.get(local.code.as_str());
            let renamed = previous.is_some_and(|p| p.name != local.name);
            let row = LocalCodeRow {
                project_id,
                code: local.code.clone(),
                name: local.name.clone(),
                unit: local.unit.clone(),
                specimen: local.specimen.clone(),
                frequency: local.frequency,
                category: local.category.clone(),
                extra: serde_json::to_string(&local.extra).unwrap_or_else(|_| "[]".into()),
                withdrawn: false,
                previous_name: match previous {
                    Some(p) if renamed => Some(p.name.clone()),
                    Some(p) => p.previous_name.clone(),
                    None => None,
                },
                updated_at: at,
            };
            match previous {
                None => {
                    diesel::insert_into(local_codes::table)
                        .values(&row)
                        .execute(conn)?;
                    diesel::insert_into(mappings::table)
                        .values(&unmapped(project_id, &local.code, at))
                        .execute(conn)?;
                }
                Some(_) => {
                    diesel::update(
                        local_codes::table
                            .filter(local_codes::project_id.eq(project_id))
                            .filter(local_codes::code.eq(&local.code)),
                    )
                    .set(&row)
                    .execute(conn)?;
                }
            }
            if renamed {
                let reason = format!(
                    "the local name changed: {} → {}",
                    previous.map(|p| p.name.as_str()).unwrap_or(""),
                    local.name
                );
                flag_in(
                    conn,
                    project_id,
                    &local.code,
                    &reason,
                    actor,
                    "local_renamed",
                )?;
            }
        }
        for code in &plan.withdrawn {
            diesel::update(
                local_codes::table
                    .filter(local_codes::project_id.eq(project_id))
                    .filter(local_codes::code.eq(code)),
            )
            .set((
                local_codes::withdrawn.eq(true),
                local_codes::updated_at.eq(at),
            ))
            .execute(conn)?;
        }
        Ok(plan)
    })
}

/// A decision target: (display, release label), or why it is refused.
type TargetOrWhy = Result<(String, String), String>;

/// The targets of a decision import ([`Store::decision_targets`]).
#[derive(Debug, Default)]
pub struct DecisionTargets(BTreeMap<(String, String), TargetOrWhy>);

/// Re-applies earlier decisions (an export of this or another project, or a FHIR
/// ConceptMap) in one transaction: each listed local code gets the decision's state,
/// target, equivalence and comment, recorded in its history as an import by `actor`.
/// Targets must be codes of the project's target systems that the current release knows
/// (retired ones included).
pub fn apply_decisions(
    conn: &mut AnyConnection,
    project_id: i64,
    decisions: &[crate::mapping::exchange::Decision],
    targets: &DecisionTargets,
    actor: &str,
) -> Result<ImportReport, StoreError> {
    let targets = &targets.0;
    let mut report = ImportReport::default();
    conn.transaction(|conn| {
        bump_revision(conn, project_id)?;
        for d in decisions {
            let (_, before) = match mapping_in(conn, project_id, &d.local_code) {
                Ok(found) => found,
                Err(StoreError::NotFound(_)) => {
                    report.unknown_codes.push(d.local_code.clone());
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut after = before.clone();
            after.state = d.state.as_str().to_owned();
            match (&d.target_system, &d.target_code) {
                (Some(system), Some(code)) => match &targets[&(system.clone(), code.clone())] {
                    Ok((display, release)) => {
                        after.target_system = Some(system.clone());
                        after.target_code = Some(code.clone());
                        after.target_display = Some(display.clone());
                        after.target_release = Some(release.clone());
                    }
                    Err(why) => {
                        report.refused.push((d.local_code.clone(), why.clone()));
                        continue;
                    }
                },
                _ => {
                    after.target_system = None;
                    after.target_code = None;
                    after.target_display = None;
                    after.target_release = None;
                }
            }
            after.equivalence = d.equivalence.map(|e| e.as_str().to_owned());
            after.comment = d.comment.clone();
            if after.state != before.state || after.target_code != before.target_code {
                after.author = Some(actor.to_owned());
                after.reviewer = match d.state {
                    State::Approved | State::NoMatch => Some(actor.to_owned()),
                    _ => None,
                };
            }
            if changes(&before, &after)
                .as_object()
                .is_some_and(serde_json::Map::is_empty)
            {
                report.unchanged += 1;
                continue;
            }
            after.flag_reason = None;
            after.version = before.version + 1;
            after.updated_at = now();
            save(conn, &before, &after)?;
            record(conn, &before, &after, actor, "import")?;
            report.applied += 1;
        }
        Ok(report)
    })
}

/// A change checked against its project, with its target resolved ([`Store::resolve_change`]).
#[derive(Debug, Clone)]
pub struct ResolvedChange<'c> {
    change: &'c Change,
    project: Project,
    /// (system, code, display, release label) of a proposal's target.
    target: Option<(String, String, String, String)>,
}

/// Applies a resolved change to the mapping of local code `code` on `conn`, with its history
/// row, in the caller's transaction; the caller bumps the project's revision once
/// ([`bump_revision`]). A refusal (conflict, unknown code) writes nothing.
pub fn change_in(
    conn: &mut AnyConnection,
    resolved: &ResolvedChange<'_>,
    code: &str,
    actor: &str,
) -> Result<MappingView, StoreError> {
    let (local, before) = mapping_in(conn, resolved.project.id, code)?;
    let after = changed_row(resolved, &before, actor)?;
    save(conn, &before, &after)?;
    let action = resolved.change.action.map_or("assign", Action::as_str);
    record(conn, &before, &after, actor, action)?;
    Ok(view(local, after))
}

/// Mappings read or written per statement by [`change_many`] (15 columns: 15,000 bind
/// parameters, under SQLite's 32,766).
const BULK_CHUNK: usize = 1000;

/// Applies a resolved change to the mappings of many local codes on `conn`, in the caller's
/// transaction, with the same rules and history as [`change_in`] one by one, in order (a code
/// listed twice is changed twice), but in a few statements per thousand codes: the mappings
/// are read in chunks, changed in memory, and written back and recorded in multi-row
/// statements. Each code gets its view or the refusal that left it unchanged. The caller holds
/// the project's row lock ([`bump_revision`] first), so no other write can change a mapping
/// between the read and the write.
pub fn change_many(
    conn: &mut AnyConnection,
    resolved: &ResolvedChange<'_>,
    codes: &[String],
    actor: &str,
) -> Result<Vec<Result<MappingView, StoreError>>, StoreError> {
    let project_id = resolved.project.id;
    project_in(conn, project_id)?;
    let mut held: HashMap<String, (LocalCodeRow, MappingRow)> = HashMap::new();
    let mut wanted: Vec<&str> = codes.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    for chunk in wanted.chunks(BULK_CHUNK) {
        let rows: Vec<(LocalCodeRow, MappingRow)> = mappings_of!(project_id)
            .filter(mappings::local_code.eq_any(chunk))
            .select((LocalCodeRow::as_select(), MappingRow::as_select()))
            .load(conn)?;
        held.extend(rows.into_iter().map(|r| (r.1.local_code.clone(), r)));
    }
    let action = resolved.change.action.map_or("assign", Action::as_str);
    let mut history: Vec<(MappingRow, MappingRow)> = Vec::new();
    let mut outcomes = Vec::with_capacity(codes.len());
    for code in codes {
        let Some((local, current)) = held.get_mut(code) else {
            outcomes.push(Err(StoreError::NotFound(format!(
                "project {project_id} has no local code `{}`",
                crate::excerpt::excerpt(code)
            ))));
            continue;
        };
        match changed_row(resolved, current, actor) {
            Ok(after) => {
                history.push((current.clone(), after.clone()));
                outcomes.push(Ok(view(local.clone(), after.clone())));
                *current = after;
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    // Each changed mapping as it ends, once; then every step in the history, in order.
    let mut last: Vec<&MappingRow> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (_, after) in history.iter().rev() {
        if seen.insert(after.local_code.as_str()) {
            last.push(after);
        }
    }
    for chunk in last.chunks(BULK_CHUNK) {
        let codes: Vec<&str> = chunk.iter().map(|m| m.local_code.as_str()).collect();
        diesel::delete(
            mappings::table
                .filter(mappings::project_id.eq(project_id))
                .filter(mappings::local_code.eq_any(&codes)),
        )
        .execute(conn)?;
        let rows: Vec<MappingRow> = chunk.iter().map(|m| (*m).clone()).collect();
        with_backend!(conn, |c| diesel::insert_into(mappings::table)
            .values(&rows)
            .execute(c))?;
    }
    let changes: Vec<String> = history
        .iter()
        .map(|(before, after)| changes(before, after).to_string())
        .collect();
    let rows: Vec<NewHistory<'_>> = history
        .iter()
        .zip(&changes)
        .map(|((before, after), changes)| NewHistory {
            project_id,
            local_code: &after.local_code,
            at: after.updated_at,
            actor,
            action,
            from_state: &before.state,
            to_state: &after.state,
            changes,
        })
        .collect();
    for chunk in rows.chunks(BULK_CHUNK) {
        with_backend!(conn, |c| diesel::insert_into(mapping_history::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(outcomes)
}

/// The row a resolved change makes of `before` (the review rules; nothing is written), or the
/// conflict that refuses it.
fn changed_row(
    resolved: &ResolvedChange<'_>,
    before: &MappingRow,
    actor: &str,
) -> Result<MappingRow, StoreError> {
    let change = resolved.change;
    if let Some(expected) = change.expected_version {
        if expected != before.version {
            return Err(StoreError::Conflict(format!(
                "mapping {} changed meanwhile (version {} now, {expected} seen): reload it and try again",
                before.local_code, before.version
            )));
        }
    }
    let mut after = before.clone();
    if let Some(action) = change.action {
        let review = Review {
            state: State::parse(&before.state).unwrap_or(State::Flagged),
            author: before.author.clone(),
            reviewer: before.reviewer.clone(),
            has_target: before.target_code.is_some(),
        };
        let next = state::next(&review, action, actor, resolved.project.four_eyes)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        after.state = next.state.as_str().to_owned();
        after.author = next.author;
        after.reviewer = next.reviewer;
        match action {
            Action::Propose => {
                if let Some((system, target_code, display, release)) = &resolved.target {
                    after.target_system = Some(system.clone());
                    after.target_code = Some(target_code.clone());
                    after.target_display = Some(display.clone());
                    after.target_release = Some(release.clone());
                }
                after.equivalence = Some(
                    change
                        .equivalence
                        .unwrap_or(Equivalence::Equivalent)
                        .as_str()
                        .to_owned(),
                );
                after.flag_reason = None;
            }
            Action::NoMatch | Action::Reset => {
                after.target_system = None;
                after.target_code = None;
                after.target_display = None;
                after.target_release = None;
                after.equivalence = None;
                after.flag_reason = None;
            }
            Action::Flag => {
                after.flag_reason = Some(
                    change
                        .reason
                        .clone()
                        .unwrap_or_else(|| format!("flagged by {actor}")),
                );
            }
            Action::Approve | Action::Reject => after.flag_reason = None,
        }
    }
    if let Some(comment) = &change.comment {
        after.comment = comment.trim().to_owned();
    }
    if let Some(assignee) = &change.assignee {
        after.assignee = Some(assignee.trim().to_owned()).filter(|a| !a.is_empty());
    }
    after.version = before.version + 1;
    after.updated_at = now();
    Ok(after)
}

/// Marks the project changed (translation caches compare the revision). Every write
/// transaction on a project starts with it, so it holds the write lock before it reads
/// (SQLite cannot upgrade a read transaction once another writer committed).
pub fn bump_revision(conn: &mut AnyConnection, project_id: i64) -> Result<(), StoreError> {
    diesel::update(mapping_projects::table.filter(mapping_projects::id.eq(project_id)))
        .set(mapping_projects::revision.eq(mapping_projects::revision + 1))
        .execute(conn)?;
    Ok(())
}

/// Flags a mapping that has something to review (not an unmapped one: nothing to check).
fn flag_in(
    conn: &mut AnyConnection,
    project_id: i64,
    code: &str,
    reason: &str,
    actor: &str,
    action: &str,
) -> Result<(), StoreError> {
    let (_, before) = mapping_in(conn, project_id, code)?;
    if before.state == State::Unmapped.as_str() {
        return Ok(());
    }
    let mut after = before.clone();
    after.state = State::Flagged.as_str().to_owned();
    after.flag_reason = Some(reason.to_owned());
    after.version += 1;
    after.updated_at = now();
    save(conn, &before, &after)?;
    record(conn, &before, &after, actor, action)
}

/// One local code as translation sees it.
#[derive(Debug, Clone)]
pub struct TranslationRow {
    pub local_code: String,
    /// The local code's name (from the latest upload).
    pub local_name: String,
    pub state: State,
    pub target_system: Option<String>,
    pub target_code: Option<String>,
    pub target_display: Option<String>,
    pub equivalence: Option<Equivalence>,
    pub withdrawn: bool,
}

impl Store {
    /// The revision of a project (bumped by every change to its codes or mappings).
    pub fn project_revision(&self, project_id: i64) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        mapping_projects::table
            .filter(mapping_projects::id.eq(project_id))
            .select(mapping_projects::revision)
            .first(&mut *conn)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no mapping project {project_id}")))
    }

    /// Every mapping of a project as translation needs it, with the revision they are of.
    pub fn translation_table(
        &self,
        project_id: i64,
    ) -> Result<(i64, Vec<TranslationRow>), StoreError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let project = project_in(conn, project_id)?;
            let rows: Vec<(LocalCodeRow, MappingRow)> = mappings_of!(project_id)
                .select((LocalCodeRow::as_select(), MappingRow::as_select()))
                .load(conn)?;
            let table = rows
                .into_iter()
                .map(|(c, m)| TranslationRow {
                    local_code: m.local_code,
                    local_name: c.name,
                    state: State::parse(&m.state).unwrap_or(State::Flagged),
                    target_system: m.target_system,
                    target_code: m.target_code,
                    target_display: m.target_display,
                    equivalence: m.equivalence.as_deref().and_then(Equivalence::parse),
                    withdrawn: c.withdrawn,
                })
                .collect();
            Ok((project.revision, table))
        })
    }
}

/// What importing decisions did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Mappings set from the file.
    pub applied: usize,
    /// Mappings that already were as the file says.
    pub unchanged: usize,
    /// Local codes in the file the project does not have (upload them first).
    pub unknown_codes: Vec<String>,
    /// Decisions not applied, as (local code, why).
    #[schema(value_type = Vec<Vec<String>>)]
    pub refused: Vec<(String, String)>,
}

impl Store {
    /// The next page of mappings for export, after `cursor` (which moves to the page's last
    /// row): by local code, or — as a ConceptMap groups them — by target system and local
    /// code, mappings without a target last. Each page continues from the last row's key
    /// instead of skipping rows, so every page costs the same however long the export.
    pub fn export_page(
        &self,
        project_id: i64,
        by_target: bool,
        limit: i64,
        cursor: &mut ExportCursor,
    ) -> Result<Vec<MappingView>, StoreError> {
        let mut conn = self.conn()?;
        let rows_of = |(c, m): (LocalCodeRow, MappingRow)| view(c, m);
        let columns = (LocalCodeRow::as_select(), MappingRow::as_select());
        let mut page: Vec<MappingView> = Vec::new();
        if !by_target {
            let mut query = mappings_of!(project_id)
                .select(columns)
                .order(mappings::local_code.asc())
                .limit(limit)
                .into_boxed();
            if let Some((_, code)) = &cursor.after {
                query = query.filter(mappings::local_code.gt(code.clone()));
            }
            page.extend(query.load(&mut *conn)?.into_iter().map(rows_of));
        } else {
            // Mappings with a target, by (target system, local code)…
            if !matches!(&cursor.after, Some((None, _))) {
                let mut query = mappings_of!(project_id)
                    .select(columns)
                    .filter(mappings::target_system.is_not_null())
                    .order((mappings::target_system.asc(), mappings::local_code.asc()))
                    .limit(limit)
                    .into_boxed();
                if let Some((Some(system), code)) = &cursor.after {
                    query = query.filter(
                        mappings::target_system
                            .gt(system.clone())
                            .or(mappings::target_system
                                .eq(system.clone())
                                .and(mappings::local_code.gt(code.clone()))),
                    );
                }
                page.extend(query.load(&mut *conn)?.into_iter().map(rows_of));
            }
            // …then those without, by local code.
            let room = limit - page.len() as i64;
            if room > 0 {
                let mut query = mappings_of!(project_id)
                    .select(columns)
                    .filter(mappings::target_system.is_null())
                    .order(mappings::local_code.asc())
                    .limit(room)
                    .into_boxed();
                if let Some((None, code)) = &cursor.after {
                    query = query.filter(mappings::local_code.gt(code.clone()));
                }
                page.extend(query.load(&mut *conn)?.into_iter().map(rows_of));
            }
        }
        if let Some(last) = page.last() {
            cursor.after = Some((last.target_system.clone(), last.local_code.clone()));
        }
        Ok(page)
    }

    /// The headers of every extra column the project's local codes have, first seen first.
    pub fn extra_headers(&self, project_id: i64) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        project_in(&mut conn, project_id)?;
        let extras: Vec<String> = local_codes::table
            .filter(local_codes::project_id.eq(project_id))
            .order(local_codes::code.asc())
            .select(local_codes::extra)
            .load(&mut *conn)?;
        let mut headers: Vec<String> = Vec::new();
        for extra in extras {
            let pairs: Vec<(String, String)> = serde_json::from_str(&extra).unwrap_or_default();
            for (header, _) in pairs {
                if !headers.contains(&header) {
                    headers.push(header);
                }
            }
        }
        Ok(headers)
    }

    /// The targets of a decision import, resolved against project `project_id` and the
    /// current releases (reads only): each (system, code) with its display and release, or
    /// why it is refused. [`apply_decisions`] writes with them.
    pub fn decision_targets(
        &self,
        project_id: i64,
        decisions: &[crate::mapping::exchange::Decision],
    ) -> Result<DecisionTargets, StoreError> {
        let project = self.project(project_id)?;
        let mut targets: BTreeMap<(String, String), TargetOrWhy> = BTreeMap::new();
        for d in decisions {
            if let (Some(system), Some(code)) = (&d.target_system, &d.target_code) {
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    targets.entry((system.clone(), code.clone()))
                {
                    slot.insert(match self.mapping_target(&project, system, code) {
                        Ok((_, _, display, release)) => Ok((display, release)),
                        Err(StoreError::Invalid(m)) => Err(m),
                        Err(e) => return Err(e),
                    });
                }
            }
        }
        Ok(DecisionTargets(targets))
    }
}

/// A local code as the candidates job needs it.
#[derive(Debug, Clone)]
pub struct LocalTermRow {
    pub code: String,
    pub name: String,
    pub specimen: Option<String>,
    pub unit: Option<String>,
}

/// A stored candidate target.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = super::schema::mapping_candidates)]
pub struct StoredCandidate {
    #[serde(skip)]
    pub project_id: i64,
    #[serde(skip)]
    pub local_code: String,
    /// 1 = best.
    pub rank: i64,
    pub target_system: String,
    pub target_code: String,
    pub target_display: String,
    /// 0–1.
    pub score: f64,
    /// JSON array of the reasons, in words.
    #[schema(value_type = Vec<String>)]
    #[serde(serialize_with = "json_text")]
    pub reasons: String,
}

fn json_text<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    serde::Serialize::serialize(&value, s)
}

impl Store {
    /// The project's local codes that are not withdrawn, most frequent first.
    pub fn local_terms(&self, project_id: i64) -> Result<Vec<LocalTermRow>, StoreError> {
        let mut conn = self.conn()?;
        project_in(&mut conn, project_id)?;
        type Row = (String, String, Option<String>, Option<String>);
        let rows: Vec<Row> = local_codes::table
            .filter(local_codes::project_id.eq(project_id))
            .filter(local_codes::withdrawn.eq(false))
            .order((
                local_codes::frequency.is_null(),
                local_codes::frequency.desc(),
                local_codes::code.asc(),
            ))
            .select((
                local_codes::code,
                local_codes::name,
                local_codes::specimen,
                local_codes::unit,
            ))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|(code, name, specimen, unit)| LocalTermRow {
                code,
                name,
                specimen,
                unit,
            })
            .collect())
    }

    /// Replaces the stored candidates of some local codes (one transaction).
    pub fn store_candidates(
        &self,
        project_id: i64,
        batch: &[(String, Vec<crate::mapping::candidates::Candidate>)],
    ) -> Result<usize, StoreError> {
        use super::schema::mapping_candidates as mc;
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let mut written = 0;
            for (code, candidates) in batch {
                diesel::delete(
                    mc::table
                        .filter(mc::project_id.eq(project_id))
                        .filter(mc::local_code.eq(code)),
                )
                .execute(conn)?;
                for (i, c) in candidates.iter().enumerate() {
                    diesel::insert_into(mc::table)
                        .values((
                            mc::project_id.eq(project_id),
                            mc::local_code.eq(code),
                            mc::rank.eq(i as i64 + 1),
                            mc::target_system.eq(&c.system),
                            mc::target_code.eq(&c.code),
                            mc::target_display.eq(&c.display),
                            mc::score.eq(f64::from(c.score)),
                            mc::reasons.eq(serde_json::to_string(&c.reasons).unwrap_or_default()),
                        ))
                        .execute(conn)?;
                    written += 1;
                }
            }
            Ok(written)
        })
    }

    /// The stored candidates of one local code, best first.
    pub fn candidates(
        &self,
        project_id: i64,
        code: &str,
    ) -> Result<Vec<StoredCandidate>, StoreError> {
        use super::schema::mapping_candidates as mc;
        let mut conn = self.conn()?;
        mapping_in(&mut conn, project_id, code)?;
        Ok(mc::table
            .filter(mc::project_id.eq(project_id))
            .filter(mc::local_code.eq(code))
            .order(mc::rank.asc())
            .select(StoredCandidate::as_select())
            .load(&mut *conn)?)
    }
}
