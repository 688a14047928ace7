//! Creating a mapping project.

use super::*;

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
                mapping_projects::target_systems.eq(JsonText(TargetSystems(
                    targets.iter().map(|t| (*t).to_owned()).collect(),
                ))),
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
