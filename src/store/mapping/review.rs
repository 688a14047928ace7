//! The review of mappings: one change or many, with the same rules and history.

use super::*;

impl Store {
    /// A page of a project's mappings, most frequent local codes first, optionally of one
    /// state.
    pub fn mappings(
        &self,
        project_id: ProjectId,
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
            count = count.filter(mappings::state.eq(state));
            page = page.filter(mappings::state.eq(state));
        }
        let total: i64 = count.get_result(&mut *conn)?;
        let rows: Vec<(LocalCodeRow, MappingRow)> = page.load(&mut *conn)?;
        Ok(MappingPage {
            total,
            items: rows.into_iter().map(|(c, m)| view(c, m)).collect(),
        })
    }

    /// One local code and its mapping.
    pub fn mapping(&self, project_id: ProjectId, code: &str) -> Result<MappingView, StoreError> {
        let mut conn = self.conn()?;
        let (c, m) = mapping_in(&mut conn, project_id, code)?;
        Ok(view(c, m))
    }

    /// Checks a change a person asks for and resolves it against project `project_id` and the
    /// current release of its target (reads only): what [`change_in`] applies, to one mapping
    /// or to many in one transaction ([`resolve_change_in`]).
    pub fn resolve_change<'c>(
        &self,
        project_id: ProjectId,
        change: &'c Change,
    ) -> Result<ResolvedChange<'c>, StoreError> {
        resolve_change_in(&mut *self.conn()?, project_id, change)
    }

    /// The history of one mapping, oldest first.
    pub fn mapping_history(
        &self,
        project_id: ProjectId,
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
}

/// Checks a change a person asks for and resolves it against project `project_id` and the
/// current release of its target, on `conn` (a caller's transaction sees its own writes).
pub fn resolve_change_in<'c>(
    conn: &mut AnyConnection,
    project_id: ProjectId,
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
    let project = project_in(conn, project_id)?;
    let target = match (change.action, &change.target) {
        (Some(Action::Propose), Some((system, target_code))) => {
            Some(mapping_target_in(conn, &project, system, target_code)?)
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
    let mut changed: BTreeSet<&str> = BTreeSet::new();
    let mut outcomes = Vec::with_capacity(codes.len());
    for code in codes {
        let Some((local, current)) = held.get_mut(code) else {
            outcomes.push(Err(StoreError::NotFound(
                crate::store::Missing::LocalCode,
                format!(
                    "project {project_id} has no local code `{}`",
                    crate::excerpt::excerpt(code)
                ),
            )));
            continue;
        };
        match changed_row(resolved, current, actor) {
            Ok(after) => {
                history.push((current.clone(), after.clone()));
                outcomes.push(Ok(view(local.clone(), after.clone())));
                changed.insert(code);
                *current = after;
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    // Each changed mapping as it ends (`held` has it), once; then every step in the history.
    let last: Vec<&MappingRow> = changed.iter().map(|code| &held[*code].1).collect();
    for chunk in last.chunks(BULK_CHUNK) {
        let codes: Vec<&str> = chunk.iter().map(|m| m.local_code.as_str()).collect();
        diesel::delete(
            mappings::table
                .filter(mappings::project_id.eq(project_id))
                .filter(mappings::local_code.eq_any(&codes)),
        )
        .execute(conn)?;
        with_backend!(conn, |c| diesel::insert_into(mappings::table)
            .values(chunk.to_vec())
            .execute(c))?;
    }
    let changes: Vec<String> = history
        .iter()
        .map(|(before, after)| changes(before, after).to_string())
        .collect();
    let rows: Vec<NewHistory<'_>> = history
        .iter()
        .zip(&changes)
        .map(|((before, after), changes)| NewHistory::of(before, after, actor, action, changes))
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
            state: before.state,
            author: before.author.clone(),
            reviewer: before.reviewer.clone(),
            has_target: before.target_code.is_some(),
        };
        let next = state::next(&review, action, actor, resolved.project.four_eyes)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        after.state = next.state;
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
