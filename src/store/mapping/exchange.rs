//! Mappings in and out: keyset-paged export, and importing reviewed decisions.

use super::*;

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
    project_id: ProjectId,
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
                Err(StoreError::NotFound(..)) => {
                    report.unknown_codes.push(d.local_code.clone());
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut after = before.clone();
            after.state = d.state;
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

/// What importing decisions did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Mappings set from the file.
    pub applied: usize,
    /// Mappings that already were as the file says.
    pub unchanged: usize,
    /// Local codes in the file the project does not have (upload them first).
    pub unknown_codes: Vec<String>,
    /// Decisions not applied, as (local code, why).
    pub refused: Vec<(String, String)>,
}

impl Store {
    /// The next page of mappings for export, after `cursor` (which moves to the page's last
    /// row): by local code, or — as a ConceptMap groups them — by target system and local
    /// code, mappings without a target last. Each page continues from the last row's key
    /// instead of skipping rows, so every page costs the same however long the export.
    pub fn export_page(
        &self,
        project_id: ProjectId,
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
    pub fn extra_headers(&self, project_id: ProjectId) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        project_in(&mut conn, project_id)?;
        let extras: Vec<JsonText<LocalExtra>> = local_codes::table
            .filter(local_codes::project_id.eq(project_id))
            .order(local_codes::code.asc())
            .select(local_codes::extra)
            .load(&mut *conn)?;
        let mut headers: Vec<String> = Vec::new();
        for extra in extras {
            for (header, _) in extra.into_inner().0 {
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
        project_id: ProjectId,
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
