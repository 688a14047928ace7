//! The candidates job's input (local terms) and output (stored candidates).

use super::*;

/// A local code as the candidates job needs it.
#[derive(Debug, Clone)]
pub struct LocalTermRow {
    pub code: String,
    pub name: String,
    pub specimen: Option<String>,
    pub unit: Option<String>,
}

/// A stored candidate target.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::store::schema::mapping_candidates)]
pub struct StoredCandidate {
    pub project_id: ProjectId,
    pub local_code: String,
    /// 1 = best.
    pub rank: i64,
    pub target_system: String,
    pub target_code: String,
    pub target_display: String,
    /// 0–1.
    pub score: f64,
    /// JSON array of the reasons, in words.
    pub reasons: String,
}

impl Store {
    /// The project's local codes that are not withdrawn, most frequent first.
    pub fn local_terms(&self, project_id: ProjectId) -> Result<Vec<LocalTermRow>, StoreError> {
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
        project_id: ProjectId,
        batch: &[(String, Vec<crate::mapping::candidates::Candidate>)],
    ) -> Result<usize, StoreError> {
        use crate::store::schema::mapping_candidates as mc;
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
        project_id: ProjectId,
        code: &str,
    ) -> Result<Vec<StoredCandidate>, StoreError> {
        use crate::store::schema::mapping_candidates as mc;
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
