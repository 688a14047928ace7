//! Writing a parsed release: all-or-nothing, in one transaction, storing only the row
//! versions that changed since the master's newest release.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;

use super::activation;
use super::diff::{self, Counts, Diff};
use super::models::{
    ChangeRow, NewConcept, NewLink, ReleaseFileRow, ReleaseNoticeRow, ReleaseRow, ReleaseStatRow,
    ReleaseState,
};
use super::schema::{concept_links, concepts, releases};
use super::{AnyConnection, StoreError};
use crate::ids::ReleaseId;
use crate::masters::{completeness, Link, ParsedRelease, Record, Scope};
use crate::systems::Master;
use crate::with_backend;

/// Who imports and whether the release becomes current.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Recorded with the release (user name, API key name, …).
    pub imported_by: String,
    /// Make the new release the one the master serves.
    pub activate: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    /// A new release label.
    Created,
    /// Different content under an existing label: a new revision of it.
    NewRevision,
    /// Byte-identical to an existing revision of the label: nothing written.
    Unchanged,
}

/// The report of one import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub outcome: ImportOutcome,
    pub release: ReleaseRow,
    /// Label and revision the change set compares with (none for a master's first release).
    pub compared_with: Option<String>,
    /// Distinct codes added / removed / changed per code system.
    pub summary: BTreeMap<String, Counts>,
    /// For a new revision: what it changes relative to the revision it replaces.
    pub revision_summary: Option<BTreeMap<String, Counts>>,
    /// Row versions written and closed.
    pub rows_written: u64,
    pub rows_closed: u64,
    pub activated: bool,
}

/// Rows per multi-row INSERT on SQLite (12 columns stay under its 32,766 bind parameters).
const SQLITE_CHUNK: usize = 1500;
/// Records turned into insert buffers at a time.
const WRITE_BATCH: usize = 8192;
const POSTGRES_CHUNK: usize = 4000;

/// Refreshes the planner's statistics after a bulk load, so that lookups keep using the
/// (system, code) indexes (without statistics SQLite may prefer a per-master scan).
fn refresh_statistics(conn: &mut AnyConnection) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(
            "PRAGMA analysis_limit = 4000; ANALYZE concepts; ANALYZE concept_links;",
        )?,
        AnyConnection::Postgres(c) => c.batch_execute("ANALYZE concepts, concept_links")?,
    }
    Ok(())
}

/// Stores a parsed release on `conn`, which must be in a transaction (`crate::app::releases`
/// opens it): either everything is written or nothing is.
pub fn import(
    conn: &mut AnyConnection,
    parsed: &ParsedRelease,
    options: &ImportOptions,
) -> Result<ImportReport, StoreError> {
    // Serialise writers: the first statement is a write, so SQLite takes its write lock
    // (waiting on the busy timeout) and PostgreSQL a row lock held to commit.
    activation::bump_generation(conn)?;

    let master = parsed.master;
    let content_sha256 = parsed.content_sha256();
    let history: Vec<ReleaseRow> = releases::table
        .filter(releases::master.eq(master.key()))
        .order(releases::id.asc())
        .select(ReleaseRow::as_select())
        .load(conn)?;

    if let Some(same) = history
        .iter()
        .find(|r| r.label == parsed.label && r.content_sha256 == content_sha256)
    {
        return Ok(ImportReport {
            outcome: ImportOutcome::Unchanged,
            release: same.clone(),
            compared_with: None,
            summary: BTreeMap::new(),
            revision_summary: None,
            rows_written: 0,
            rows_closed: 0,
            activated: false,
        });
    }

    let head = history.last();
    let replaced = history.iter().rev().find(|r| r.label == parsed.label);
    let (revision, previous_release_id) = match (replaced, head) {
        (Some(old), Some(head)) if old.label == head.label => {
            (old.revision + 1, old.previous_release_id)
        }
        (Some(old), Some(head)) => {
            return Err(StoreError::Conflict(format!(
                "release {} of {master} was followed by release {}: a new revision of {} cannot be imported after it (revision {} stays as it is)",
                old.label, head.label, old.label, old.revision
            )))
        }
        (None, Some(head)) => {
            if let (Some(new_date), Some(head_date)) = (parsed.publication_date, head.publication_date) {
                if new_date < head_date {
                    return Err(StoreError::Conflict(format!(
                        "release {} ({new_date}) is older than {master}'s newest release {} ({head_date}): releases are imported in date order",
                        parsed.label, head.label
                    )));
                }
            }
            (1, Some(head.id))
        }
        (_, None) => (1, None),
    };

    let release_id = ReleaseId::new(next_id(conn, IdOf::Release)?);
    let release = ReleaseRow {
        id: release_id,
        master: master.key().to_owned(),
        label: parsed.label.clone(),
        revision,
        publication_date: parsed.publication_date,
        effective_date: None,
        state: ReleaseState::Ready,
        previous_release_id,
        content_sha256,
        row_count: parsed.files.iter().map(|f| f.row_count as i64).sum(),
        imported_at: Utc::now().naive_utc(),
        imported_by: options.imported_by.clone(),
        carried_over: carried_over(master, &parsed.scope),
    };
    diesel::insert_into(releases::table)
        .values(&release)
        .execute(conn)?;
    if replaced.is_some() {
        diesel::update(
            releases::table
                .filter(releases::master.eq(master.key()))
                .filter(releases::label.eq(&parsed.label))
                .filter(releases::id.ne(release_id)),
        )
        .set(releases::state.eq(ReleaseState::Superseded))
        .execute(conn)?;
    }

    let started = std::time::Instant::now();
    let (rows_written, rows_closed) =
        write_rows(conn, master, release_id, &parsed.records, &parsed.scope)?;
    tracing::debug!(elapsed = ?started.elapsed(), rows_written, rows_closed, "rows written");

    let codes = codes_by_system(&parsed.records);
    let diff = match previous_release_id {
        Some(previous) => diff::between(conn, master, previous, release_id)?,
        None => Diff::default(),
    };
    let summary = match previous_release_id {
        Some(_) => diff.summary(master),
        None => initial_summary(master, &codes),
    };
    let revision_summary = match replaced {
        Some(old) => Some(diff::between(conn, master, old.id, release_id)?.summary(master)),
        None => None,
    };
    tracing::debug!(elapsed = ?started.elapsed(), changes = diff.changes.len(), "change set computed");
    write_change_set(conn, release_id, &diff)?;
    write_release_details(conn, release_id, parsed, &codes, &summary)?;
    tracing::debug!(elapsed = ?started.elapsed(), "release details written");

    let now = Utc::now().naive_utc();
    let was_current = match replaced {
        Some(old) => {
            activation::serving_at(conn, master, now)?.is_some_and(|r| r.label == old.label)
        }
        None => false,
    };
    let activated = options.activate || was_current;
    if activated {
        activation::record_activation(conn, master, release_id, now, &options.imported_by)?;
    }

    if rows_written > 0 {
        refresh_statistics(conn)?;
    }

    let compared_with = previous_release_id
        .and_then(|id| history.iter().find(|r| r.id == id))
        .map(|r| format!("{} (revision {})", r.label, r.revision));
    Ok(ImportReport {
        outcome: if replaced.is_some() {
            ImportOutcome::NewRevision
        } else {
            ImportOutcome::Created
        },
        release,
        compared_with,
        summary,
        revision_summary,
        rows_written,
        rows_closed,
        activated,
    })
}

enum IdOf {
    Release,
    Concept,
}

/// Ids are allocated under the store lock, so they grow with import order on both backends.
fn next_id(conn: &mut AnyConnection, of: IdOf) -> Result<i64, StoreError> {
    use diesel::dsl::max;
    let current: Option<i64> = match of {
        IdOf::Release => releases::table.select(max(releases::id)).first(conn)?,
        IdOf::Concept => concepts::table.select(max(concepts::id)).first(conn)?,
    };
    Ok(current.unwrap_or(0) + 1)
}

/// The file roles a partial import did not have (their rows carry over), comma-separated.
fn carried_over(master: Master, scope: &Scope) -> Option<String> {
    match scope {
        Scope::Complete => None,
        Scope::Partial(given) => Some(
            completeness::roles(master)
                .iter()
                .map(|r| r.key)
                .filter(|k| !given.contains(k))
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

/// Closes the versions that are no longer valid and inserts the new ones. Returns the number
/// of versions written and closed. In a partial import, the open versions of the file roles
/// not given are left open: they carry over unchanged.
fn write_rows(
    conn: &mut AnyConnection,
    master: Master,
    release_id: ReleaseId,
    records: &[Record],
    scope: &Scope,
) -> Result<(u64, u64), StoreError> {
    let open: Vec<(i64, String, String, String)> = concepts::table
        .filter(concepts::master.eq(master.key()))
        .filter(concepts::valid_to.is_null())
        .select((
            concepts::id,
            concepts::system_key,
            concepts::row_key,
            concepts::content_hash,
        ))
        .load(conn)?;
    let compared = |system: &str, key: &str| match scope {
        Scope::Complete => true,
        Scope::Partial(given) => {
            completeness::row_role(master, system, key).is_some_and(|role| given.contains(&role))
        }
    };
    let mut open: HashMap<String, (i64, String)> = open
        .into_iter()
        .filter(|(_, system, key, _)| compared(system, key))
        .map(|(id, _, key, hash)| (key, (id, hash)))
        .collect();

    let t = std::time::Instant::now();
    let mut seen: HashSet<&str> =
        HashSet::with_capacity_and_hasher(records.len(), Default::default());
    let mut fresh: Vec<(&Record, String)> = Vec::new();
    for record in records {
        if !seen.insert(&record.row_key) {
            return Err(StoreError::Corrupt(format!(
                "two rows of this release share the identity {}",
                record.row_key
            )));
        }
        if !compared(record.system, &record.row_key) {
            return Err(StoreError::Corrupt(format!(
                "row {} of this partial release belongs to none of the files given",
                record.row_key
            )));
        }
        let hash = record.content_hash();
        match open.get(&record.row_key) {
            Some((_, old_hash)) if *old_hash == hash => {
                open.remove(&record.row_key);
            }
            _ => fresh.push((record, hash)),
        }
    }
    // Whatever is still open was changed or is gone.
    let mut closing: Vec<i64> = open.into_values().map(|(id, _)| id).collect();
    closing.sort_unstable();
    for chunk in closing.chunks(SQLITE_CHUNK) {
        with_backend!(&mut *conn, |c| diesel::update(
            concepts::table.filter(concepts::id.eq_any(chunk))
        )
        .set(concepts::valid_to.eq(release_id))
        .execute(c))?;
    }

    tracing::debug!(elapsed = ?t.elapsed(), open = seen.len(), fresh = fresh.len(), closing = closing.len(), "rows compared");
    let first_id = next_id(conn, IdOf::Concept)?;
    let (mut build, mut insert_concepts, mut insert_links) = (
        std::time::Duration::ZERO,
        std::time::Duration::ZERO,
        std::time::Duration::ZERO,
    );
    // Rows are built and written a batch at a time so a 100k-row release never holds all its
    // insert buffers at once; they borrow from the records instead of copying them.
    for (n, batch) in fresh.chunks(WRITE_BATCH).enumerate() {
        let t = std::time::Instant::now();
        let mut documents: Vec<(String, String)> = Vec::with_capacity(batch.len());
        let mut sorted_links: Vec<Vec<&Link>> = Vec::with_capacity(batch.len());
        for (record, _) in batch {
            let mut links: Vec<&Link> = record.links.iter().collect();
            links.sort();
            links.dedup();
            let links_json = serde_json::to_string(
                &links
                    .iter()
                    .map(|l| (l.relation.as_str(), l.system, l.code.as_str()))
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let designations_json = serde_json::to_string(&record.designations)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            documents.push((designations_json, links_json));
            sorted_links.push(links);
        }
        let mut concept_rows = Vec::with_capacity(batch.len());
        let mut link_rows = Vec::with_capacity(batch.len() * 6);
        for (offset, ((record, hash), (designations, links_json))) in
            batch.iter().zip(&documents).enumerate()
        {
            let id = first_id + (n * WRITE_BATCH + offset) as i64;
            concept_rows.push(NewConcept {
                id,
                master: master.key(),
                system_key: record.system,
                code: &record.code,
                row_key: &record.row_key,
                content_hash: hash,
                valid_from: release_id,
                valid_to: None,
                status: record.status.as_str(),
                display: &record.display,
                attributes: record.attributes.as_json(),
                designations,
                links: links_json,
            });
            link_rows.extend(sorted_links[offset].iter().map(|l| NewLink {
                system_key: l.system,
                code: &l.code,
                relation: l.relation.as_str(),
                concept_id: id,
            }));
        }
        // In key order, consecutive index inserts land on the same pages.
        link_rows.sort_unstable_by(|a, b| (a.system_key, a.code).cmp(&(b.system_key, b.code)));
        build += t.elapsed();
        let t = std::time::Instant::now();
        match &mut *conn {
            AnyConnection::Sqlite(c) => {
                for chunk in concept_rows.chunks(SQLITE_CHUNK) {
                    diesel::insert_into(concepts::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
            AnyConnection::Postgres(c) => {
                diesel::copy_from(concepts::table)
                    .from_insertable(&concept_rows)
                    .execute(c)?;
            }
        }
        insert_concepts += t.elapsed();
        let t = std::time::Instant::now();
        match &mut *conn {
            AnyConnection::Sqlite(c) => {
                for chunk in link_rows.chunks(SQLITE_CHUNK * 3) {
                    diesel::insert_into(concept_links::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
            AnyConnection::Postgres(c) => {
                diesel::copy_from(concept_links::table)
                    .from_insertable(&link_rows)
                    .execute(c)?;
            }
        }
        insert_links += t.elapsed();
    }
    tracing::debug!(
        ?build,
        ?insert_concepts,
        ?insert_links,
        "row versions written"
    );
    Ok((fresh.len() as u64, closing.len() as u64))
}

/// Inserts rows in multi-row statements sized for the backend's bind-parameter limit.
fn insert_chunked<T>(
    conn: &mut AnyConnection,
    rows: &[T],
    insert: impl Fn(&mut AnyConnection, &[T]) -> QueryResult<usize>,
) -> Result<(), StoreError> {
    let size = match conn {
        AnyConnection::Sqlite(_) => SQLITE_CHUNK,
        AnyConnection::Postgres(_) => POSTGRES_CHUNK,
    };
    for chunk in rows.chunks(size) {
        insert(conn, chunk)?;
    }
    Ok(())
}

/// For a master's first release every code is new; counted from the parsed rows.
fn initial_summary(master: Master, codes: &CodeSets) -> BTreeMap<String, Counts> {
    crate::systems::of_master(master)
        .map(|s| {
            let added = codes.get(s.key).map_or(0, |c| c.len() as u64);
            (
                s.key.to_owned(),
                Counts {
                    added,
                    ..Counts::default()
                },
            )
        })
        .collect()
}

/// Distinct codes present per code system.
type CodeSets<'a> = HashMap<&'a str, HashSet<&'a str>>;

fn codes_by_system(records: &[Record]) -> CodeSets<'_> {
    let mut codes: HashMap<&str, HashSet<&str>> = HashMap::default();
    for r in records {
        codes.entry(r.system).or_default().insert(&r.code);
        for l in r
            .links
            .iter()
            .filter(|l| l.relation == crate::masters::Relation::Code)
        {
            codes.entry(l.system).or_default().insert(&l.code);
        }
    }
    codes
}

fn write_change_set(
    conn: &mut AnyConnection,
    release_id: ReleaseId,
    diff: &Diff,
) -> Result<(), StoreError> {
    let rows: Vec<ChangeRow> = diff
        .changes
        .iter()
        .map(|c| ChangeRow {
            release_id,
            system_key: c.system.clone(),
            code: c.code.clone(),
            kind: c.kind.as_str().to_owned(),
            display: c.display.clone(),
            fields: serde_json::to_string(&c.fields).unwrap_or_else(|_| "[]".into()),
        })
        .collect();
    insert_chunked(conn, &rows, |c, chunk| {
        with_backend!(c, |c| diesel::insert_into(
            super::schema::release_changes::table
        )
        .values(chunk)
        .execute(c))
    })
}

fn write_release_details(
    conn: &mut AnyConnection,
    release_id: ReleaseId,
    parsed: &ParsedRelease,
    codes: &CodeSets,
    summary: &BTreeMap<String, Counts>,
) -> Result<(), StoreError> {
    let files: Vec<ReleaseFileRow> = parsed
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| ReleaseFileRow {
            release_id,
            position: i as i64,
            name: f.name.clone(),
            role: f.role.to_owned(),
            sha256: f.sha256.clone(),
            byte_size: f.byte_size as i64,
            row_count: f.row_count as i64,
            encoding: f.encoding.to_owned(),
        })
        .collect();
    insert_chunked(conn, &files, |c, chunk| {
        with_backend!(c, |c| diesel::insert_into(
            super::schema::release_files::table
        )
        .values(chunk)
        .execute(c))
    })?;

    let mut rows_per_system: HashMap<&str, i64> = HashMap::default();
    for r in &parsed.records {
        *rows_per_system.entry(r.system).or_default() += 1;
    }
    let stats: Vec<ReleaseStatRow> = crate::systems::of_master(parsed.master)
        .map(|s| {
            let counts = summary.get(s.key).copied().unwrap_or_default();
            ReleaseStatRow {
                release_id,
                system_key: s.key.to_owned(),
                row_count: rows_per_system.get(s.key).copied().unwrap_or(0),
                code_count: codes.get(s.key).map_or(0, |c| c.len() as i64),
                added: counts.added as i64,
                removed: counts.removed as i64,
                changed: counts.changed as i64,
            }
        })
        .collect();
    insert_chunked(conn, &stats, |c, chunk| {
        with_backend!(c, |c| diesel::insert_into(
            super::schema::release_stats::table
        )
        .values(chunk)
        .execute(c))
    })?;

    let notices: Vec<ReleaseNoticeRow> = parsed
        .notices
        .items()
        .iter()
        .enumerate()
        .map(|(i, p)| ReleaseNoticeRow {
            release_id,
            position: i as i64,
            file: p.file.clone(),
            line: p.line.map(|l| l as i64),
            column_name: p.column_name.clone(),
            kind: p.kind.to_owned(),
            message: p.message.clone(),
        })
        .collect();
    insert_chunked(conn, &notices, |c, chunk| {
        with_backend!(c, |c| diesel::insert_into(
            super::schema::release_notices::table
        )
        .values(chunk)
        .execute(c))
    })
}
