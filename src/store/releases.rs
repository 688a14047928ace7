//! Reading releases: listing, resolving labels, activation, and the rows of a release.

use std::collections::HashMap;

use diesel::prelude::*;

use super::diff::{self, Diff};
use super::models::{
    ChangeRow, ConceptRow, ReleaseFileRow, ReleaseNoticeRow, ReleaseRow, ReleaseStatRow,
};
use super::schema::{
    concept_links, concepts, release_changes, release_files, release_notices, release_stats,
    releases,
};
use super::{AnyConnection, Store, StoreError};
use crate::ids::ReleaseId;
use crate::systems::Master;

/// A release with its files, per-system counts and whether it is current.
#[derive(Debug, Clone)]
pub struct ReleaseInfo {
    pub release: ReleaseRow,
    pub current: bool,
    pub files: Vec<ReleaseFileRow>,
    pub stats: Vec<ReleaseStatRow>,
    pub notice_count: i64,
}

/// On `conn`: resolves `LABEL` (its newest revision) or `LABEL@REVISION` to a release of `master`.
pub fn find_release_in(
    conn: &mut AnyConnection,
    master: Master,
    spec: &str,
) -> Result<ReleaseRow, StoreError> {
    let (label, revision) = match spec.rsplit_once('@') {
        Some((label, rev)) => {
            let rev = rev
                .trim_start_matches(['r', 'R'])
                .parse::<i64>()
                .map_err(|_| {
                    StoreError::Invalid(format!(
                        "`{}`: the revision after @ must be a number (e.g. {}@2)",
                        crate::excerpt::excerpt(spec),
                        crate::excerpt::excerpt(label)
                    ))
                })?;
            (label, Some(rev))
        }
        None => (spec, None),
    };
    let mut candidates: Vec<ReleaseRow> = releases::table
        .filter(releases::master.eq(master.key()))
        .filter(releases::label.eq(label))
        .order(releases::revision.asc())
        .select(ReleaseRow::as_select())
        .load(conn)?;
    let found = match revision {
        Some(rev) => candidates.into_iter().find(|r| r.revision == rev),
        None => candidates.pop(),
    };
    found.ok_or_else(|| {
        StoreError::NotFound(
            crate::store::Missing::Release,
            format!(
                "{master} has no release `{}`; `hyojun releases {master}` lists them",
                crate::excerpt::excerpt(spec)
            ),
        )
    })
}

/// The release with id `id`, on `conn`.
pub fn release_in(conn: &mut AnyConnection, id: ReleaseId) -> Result<ReleaseRow, StoreError> {
    releases::table
        .find(id)
        .select(ReleaseRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            StoreError::NotFound(
                crate::store::Missing::Release,
                format!("no release with id {id}"),
            )
        })
}

impl Store {
    /// Every release (of one master, or of all), oldest first.
    pub fn releases(&self, master: Option<Master>) -> Result<Vec<ReleaseInfo>, StoreError> {
        let mut conn = self.conn()?;
        let mut query = releases::table
            .order(releases::id.asc())
            .select(ReleaseRow::as_select())
            .into_boxed();
        if let Some(m) = master {
            query = query.filter(releases::master.eq(m.key()));
        }
        let rows: Vec<ReleaseRow> = query.load(&mut *conn)?;
        let now = chrono::Utc::now().naive_utc();
        let mut current: Vec<ReleaseId> = Vec::new();
        for m in Master::ALL {
            if let Some(r) = super::activation::serving_at(&mut conn, m, now)? {
                current.push(r.id);
            }
        }
        let mut files: HashMap<ReleaseId, Vec<ReleaseFileRow>> = HashMap::new();
        for f in release_files::table
            .order((release_files::release_id, release_files::position))
            .select(ReleaseFileRow::as_select())
            .load(&mut *conn)?
        {
            files.entry(f.release_id).or_default().push(f);
        }
        let mut stats: HashMap<ReleaseId, Vec<ReleaseStatRow>> = HashMap::new();
        for s in release_stats::table
            .select(ReleaseStatRow::as_select())
            .load(&mut *conn)?
        {
            stats.entry(s.release_id).or_default().push(s);
        }
        let notice_counts: HashMap<ReleaseId, i64> = release_notices::table
            .group_by(release_notices::release_id)
            .select((release_notices::release_id, diesel::dsl::count_star()))
            .load::<(ReleaseId, i64)>(&mut *conn)?
            .into_iter()
            .collect();
        let order: HashMap<&str, usize> = crate::systems::CODE_SYSTEMS
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key, i))
            .collect();
        Ok(rows
            .into_iter()
            .map(|release| {
                let mut s = stats.remove(&release.id).unwrap_or_default();
                s.sort_by_key(|x| {
                    order
                        .get(x.system_key.as_str())
                        .copied()
                        .unwrap_or(usize::MAX)
                });
                ReleaseInfo {
                    current: current.contains(&release.id),
                    files: files.remove(&release.id).unwrap_or_default(),
                    stats: s,
                    notice_count: notice_counts.get(&release.id).copied().unwrap_or(0),
                    release,
                }
            })
            .collect())
    }

    /// Resolves `LABEL` (its newest revision) or `LABEL@REVISION` to a release of `master`.
    pub fn find_release(&self, master: Master, spec: &str) -> Result<ReleaseRow, StoreError> {
        find_release_in(&mut *self.conn()?, master, spec)
    }

    /// The changes between two releases of a master, named by label (`LABEL[@REVISION]`).
    pub fn diff(
        &self,
        master: Master,
        from: &str,
        to: &str,
    ) -> Result<(ReleaseRow, ReleaseRow, Diff), StoreError> {
        let from = self.find_release(master, from)?;
        let to = self.find_release(master, to)?;
        let mut conn = self.conn()?;
        let diff = diff::between(&mut conn, master, from.id, to.id)?;
        Ok((from, to, diff))
    }

    /// Every row version valid in a release, ordered by code system, code and identity.
    pub fn rows_at(&self, release: &ReleaseRow) -> Result<Vec<ConceptRow>, StoreError> {
        let mut conn = self.conn()?;
        Ok(concepts::table
            .filter(concepts::master.eq(&release.master))
            .filter(concepts::valid_from.le(release.id))
            .filter(
                concepts::valid_to
                    .is_null()
                    .or(concepts::valid_to.gt(release.id)),
            )
            .order((concepts::system_key, concepts::code, concepts::row_key))
            .select(ConceptRow::as_select())
            .load(&mut *conn)?)
    }

    /// The row versions valid in `release` that define or carry `code` of `system`.
    pub fn lookup(
        &self,
        release: &ReleaseRow,
        system: &str,
        code: &str,
    ) -> Result<Vec<ConceptRow>, StoreError> {
        let mut conn = self.conn()?;
        let valid = concepts::valid_from.le(release.id).and(
            concepts::valid_to
                .is_null()
                .or(concepts::valid_to.gt(release.id)),
        );
        let mut rows: Vec<ConceptRow> = concepts::table
            .filter(concepts::system_key.eq(system))
            .filter(concepts::code.eq(code))
            .filter(valid)
            .select(ConceptRow::as_select())
            .load(&mut *conn)?;
        let carried: Vec<ConceptRow> = concept_links::table
            .inner_join(concepts::table)
            .filter(concept_links::relation.eq("code"))
            .filter(concept_links::system_key.eq(system))
            .filter(concept_links::code.eq(code))
            .filter(valid)
            .select(ConceptRow::as_select())
            .load(&mut *conn)?;
        rows.extend(carried);
        rows.sort_by(|a, b| {
            (&a.system_key, &a.code, &a.row_key).cmp(&(&b.system_key, &b.code, &b.row_key))
        });
        rows.dedup_by_key(|r| r.id);
        Ok(rows)
    }

    /// A release by id.
    pub fn release_by_id(&self, id: ReleaseId) -> Result<ReleaseRow, StoreError> {
        release_in(&mut *self.conn()?, id)
    }

    /// One page of a release's stored change set, optionally of one kind and one code system;
    /// returns the total count too.
    pub fn change_page(
        &self,
        release: &ReleaseRow,
        kind: Option<&str>,
        system: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<ChangeRow>), StoreError> {
        let mut conn = self.conn()?;
        let filtered = || {
            let mut q = release_changes::table
                .filter(release_changes::release_id.eq(release.id))
                .into_boxed();
            if let Some(kind) = kind {
                q = q.filter(release_changes::kind.eq(kind.to_owned()));
            }
            if let Some(system) = system {
                q = q.filter(release_changes::system_key.eq(system.to_owned()));
            }
            q
        };
        let total: i64 = filtered().count().get_result(&mut *conn)?;
        let rows = filtered()
            .order((release_changes::system_key, release_changes::code))
            .limit(limit)
            .offset(offset)
            .select(ChangeRow::as_select())
            .load(&mut *conn)?;
        Ok((total, rows))
    }

    /// The stored change set of a release (against `previous_release_id`), by system and code.
    pub fn change_set(&self, release: &ReleaseRow) -> Result<Vec<ChangeRow>, StoreError> {
        let mut conn = self.conn()?;
        Ok(release_changes::table
            .filter(release_changes::release_id.eq(release.id))
            .order((release_changes::system_key, release_changes::code))
            .select(ChangeRow::as_select())
            .load(&mut *conn)?)
    }

    /// Notices recorded by a release's import.
    pub fn notices(&self, release: &ReleaseRow) -> Result<Vec<ReleaseNoticeRow>, StoreError> {
        let mut conn = self.conn()?;
        Ok(release_notices::table
            .filter(release_notices::release_id.eq(release.id))
            .order(release_notices::position)
            .select(ReleaseNoticeRow::as_select())
            .load(&mut *conn)?)
    }
}
