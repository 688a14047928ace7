//! A project's mappings as translation reads them.

use super::*;

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
    pub fn project_revision(&self, project_id: ProjectId) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        mapping_projects::table
            .filter(mapping_projects::id.eq(project_id))
            .select(mapping_projects::revision)
            .first(&mut *conn)
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(
                    crate::store::Missing::MappingProject,
                    format!("no mapping project {project_id}"),
                )
            })
    }

    /// Every mapping of a project as translation needs it, with the revision they are of.
    pub fn translation_table(
        &self,
        project_id: ProjectId,
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
                    state: m.state,
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
