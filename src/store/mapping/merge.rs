//! Merging an uploaded local-code list into a project.

use super::*;

/// Merges an uploaded local code list into a project in one transaction: new codes get an
/// unmapped mapping, codes whose name changed are flagged (unless still unmapped), codes
/// missing from the upload are marked withdrawn; no mapping is ever dropped.
pub fn merge_local_codes(
    conn: &mut AnyConnection,
    project_id: ProjectId,
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
                extra: JsonText(LocalExtra(local.extra.clone())),
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
