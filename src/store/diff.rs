//! What changed between two releases of a master, by distinct code of every code system.
//!
//! Row versions valid in both releases are shared, so only versions valid in exactly one of
//! them are read. A code is *added* or *removed* when it is carried in only one release, and
//! *changed* when it is carried in both but some row carrying it differs.

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use super::carriers::{carrier_ids, CHUNK};
use super::models::{ConceptRow, ReleaseRow};
use super::schema::concepts;
use super::speaker::{by_identity, speaker};
use super::{AnyConnection, StoreError};
use crate::ids::ReleaseId;
use crate::systems::{Master, CODE_SYSTEMS};
use crate::with_backend;

/// Kinds of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "added" => Some(ChangeKind::Added),
            "removed" => Some(ChangeKind::Removed),
            "changed" => Some(ChangeKind::Changed),
            _ => None,
        }
    }
}

/// One field of a changed code: old → new. `via` names the row carrying the code when that
/// row is of another code system (a YJ code changes because a HOT9 row carrying it changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// One code that differs between the two releases.
#[derive(Debug, Clone, Serialize)]
pub struct CodeChange {
    pub system: String,
    pub code: String,
    pub kind: ChangeKind,
    pub display: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// Counts of distinct codes per kind of change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
}

/// The changes between two releases, ordered by code system (registry order) and code.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub changes: Vec<CodeChange>,
}

impl Diff {
    /// Counts per code system key; systems of the master without changes are included.
    pub fn summary(&self, master: Master) -> BTreeMap<String, Counts> {
        let mut summary: BTreeMap<String, Counts> = crate::systems::of_master(master)
            .map(|s| (s.key.to_owned(), Counts::default()))
            .collect();
        for change in &self.changes {
            let counts = summary.entry(change.system.clone()).or_default();
            match change.kind {
                ChangeKind::Added => counts.added += 1,
                ChangeKind::Removed => counts.removed += 1,
                ChangeKind::Changed => counts.changed += 1,
            }
        }
        summary
    }
}

/// A release as a diff names it.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseRef {
    pub id: ReleaseId,
    pub label: String,
    pub revision: i64,
    pub publication_date: Option<chrono::NaiveDate>,
}

impl From<&ReleaseRow> for ReleaseRef {
    fn from(r: &ReleaseRow) -> Self {
        ReleaseRef {
            id: r.id,
            label: r.label.clone(),
            revision: r.revision,
            publication_date: r.publication_date,
        }
    }
}

/// One code in a diff document.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeEntry {
    pub code: String,
    pub display: String,
    /// For changed codes: the fields with old → new values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldChange>>,
}

/// The `hyojun diff --json` document (and the API's diff): counts of distinct codes per code
/// system under `summary`, the codes themselves under `changes[system][kind]`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffDocument {
    pub master: Master,
    pub from: ReleaseRef,
    pub to: ReleaseRef,
    pub summary: BTreeMap<String, Counts>,
    pub changes: BTreeMap<String, BTreeMap<ChangeKind, Vec<ChangeEntry>>>,
}

impl Diff {
    /// The diff as a document.
    pub fn document(&self, master: Master, from: &ReleaseRow, to: &ReleaseRow) -> DiffDocument {
        let mut changes: BTreeMap<String, BTreeMap<ChangeKind, Vec<ChangeEntry>>> = BTreeMap::new();
        for c in &self.changes {
            changes
                .entry(c.system.clone())
                .or_default()
                .entry(c.kind)
                .or_default()
                .push(ChangeEntry {
                    code: c.code.clone(),
                    display: c.display.clone(),
                    fields: (c.kind == ChangeKind::Changed).then(|| c.fields.clone()),
                });
        }
        DiffDocument {
            master,
            from: from.into(),
            to: to.into(),
            summary: self.summary(master),
            changes,
        }
    }
}

/// A row version with its parsed content and the codes it carries.
struct Carrier {
    row: ConceptRow,
    attributes: Map<String, Value>,
    designations: Vec<(String, String)>,
    /// (relation, system, code), sorted.
    links: Vec<(String, String, String)>,
}

impl Carrier {
    fn identity(&self) -> String {
        format!("{}:{}", self.row.system_key, self.row.code)
    }
}

/// Computes the changes from release `from` to release `to` of `master`.
pub fn between(
    conn: &mut AnyConnection,
    master: Master,
    from: ReleaseId,
    to: ReleaseId,
) -> Result<Diff, StoreError> {
    if from == to {
        return Ok(Diff::default());
    }
    let (low, high) = (from.min(to), from.max(to));
    let only_low = load_carriers(conn, master, Window::OnlyLow, low, high)?;
    let only_high = load_carriers(conn, master, Window::OnlyHigh, low, high)?;
    let (from_only, to_only) = if from < to {
        (only_low, only_high)
    } else {
        (only_high, only_low)
    };

    // Every code carried by a row that differs, with its carriers on each side.
    type Sides<'a> = (Vec<&'a Carrier>, Vec<&'a Carrier>);
    let mut affected: BTreeMap<(String, String), Sides> = BTreeMap::new();
    for (side, carriers) in [(0, &from_only), (1, &to_only)] {
        for carrier in carriers {
            for key in carried_codes(carrier) {
                let entry = affected.entry(key).or_default();
                if side == 0 {
                    entry.0.push(carrier);
                } else {
                    entry.1.push(carrier);
                }
            }
        }
    }
    let stable = carried_in_both(conn, master, low, high, affected.keys())?;

    let order: HashMap<&str, usize> = CODE_SYSTEMS
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key, i))
        .collect();
    let mut changes: Vec<CodeChange> = affected
        .into_iter()
        .map(|((system, code), (old, new))| {
            let is_stable = stable.contains(&(system.clone(), code.clone()));
            let kind = match (!old.is_empty() || is_stable, !new.is_empty() || is_stable) {
                (true, true) => ChangeKind::Changed,
                (true, false) => ChangeKind::Removed,
                _ => ChangeKind::Added,
            };
            let display = pick_display(&system, &code, &new)
                .or_else(|| pick_display(&system, &code, &old))
                .unwrap_or_default();
            let fields = if kind == ChangeKind::Changed {
                field_changes(&system, &code, &old, &new)
            } else {
                Vec::new()
            };
            CodeChange {
                system,
                code,
                kind,
                display,
                fields,
            }
        })
        .collect();
    changes.sort_by(|a, b| {
        let oa = order.get(a.system.as_str()).copied().unwrap_or(usize::MAX);
        let ob = order.get(b.system.as_str()).copied().unwrap_or(usize::MAX);
        (oa, &a.code).cmp(&(ob, &b.code))
    });
    Ok(Diff { changes })
}

#[derive(Clone, Copy)]
enum Window {
    /// Valid at the lower release, not at the higher one.
    OnlyLow,
    /// Valid at the higher release, not at the lower one.
    OnlyHigh,
}

fn load_carriers(
    conn: &mut AnyConnection,
    master: Master,
    window: Window,
    low: ReleaseId,
    high: ReleaseId,
) -> Result<Vec<Carrier>, StoreError> {
    let base = concepts::table
        .filter(concepts::master.eq(master.key()))
        .select(ConceptRow::as_select());
    let mut rows: Vec<ConceptRow> = match window {
        Window::OnlyLow => base
            .filter(concepts::valid_from.le(low))
            .filter(concepts::valid_to.gt(low))
            .filter(concepts::valid_to.le(high))
            .load(conn)?,
        Window::OnlyHigh => base
            .filter(concepts::valid_from.gt(low))
            .filter(concepts::valid_from.le(high))
            .filter(concepts::valid_to.is_null().or(concepts::valid_to.gt(high)))
            .load(conn)?,
    };
    // The database returns rows in any order: list them in the one order (speaker.rs).
    rows.sort_by(by_identity);
    rows.into_iter()
        .map(|row| {
            let corrupt =
                |e: serde_json::Error| StoreError::Corrupt(format!("concept {}: {e}", row.id));
            let attributes: Map<String, Value> =
                serde_json::from_str(&row.attributes).map_err(corrupt)?;
            let designations: Vec<Value> =
                serde_json::from_str(&row.designations).map_err(corrupt)?;
            let designations = designations
                .iter()
                .filter_map(|d| {
                    Some((
                        d["kind"].as_str()?.to_owned(),
                        d["value"].as_str()?.to_owned(),
                    ))
                })
                .collect();
            let links = row.link_list().map_err(corrupt)?;
            Ok(Carrier {
                row,
                attributes,
                designations,
                links,
            })
        })
        .collect()
}

/// The (system, code) pairs a row version makes present: its own code and the codes it
/// carries (relation `code`).
fn carried_codes(carrier: &Carrier) -> Vec<(String, String)> {
    let mut codes = vec![(carrier.row.system_key.clone(), carrier.row.code.clone())];
    for (relation, system, code) in &carrier.links {
        if relation == "code" {
            let key = (system.clone(), code.clone());
            if !codes.contains(&key) {
                codes.push(key);
            }
        }
    }
    codes
}

/// Which of `keys` are carried by some row version valid in both releases. Two plain index
/// look-ups per chunk (codes → carrying versions → still valid?) instead of a join the SQLite
/// planner would drive from the wrong side.
fn carried_in_both<'a>(
    conn: &mut AnyConnection,
    master: Master,
    low: ReleaseId,
    high: ReleaseId,
    keys: impl Iterator<Item = &'a (String, String)>,
) -> Result<HashSet<(String, String)>, StoreError> {
    let mut by_system: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (system, code) in keys {
        by_system.entry(system).or_default().push(code);
    }
    let mut stable = HashSet::new();
    for (system, codes) in by_system {
        for chunk in codes.chunks(CHUNK) {
            let own: Vec<String> = with_backend!(&mut *conn, |c| concepts::table
                .filter(concepts::system_key.eq(system))
                .filter(concepts::code.eq_any(chunk))
                .filter(concepts::valid_from.le(low))
                .filter(concepts::valid_to.is_null().or(concepts::valid_to.gt(high)))
                .select(concepts::code)
                .load(c))?;
            let mut code_of = carrier_ids(conn, system, chunk)?;
            let ids: Vec<i64> = code_of.keys().copied().collect();
            for id_chunk in ids.chunks(CHUNK) {
                let still_valid: Vec<i64> = with_backend!(&mut *conn, |c| concepts::table
                    .filter(concepts::id.eq_any(id_chunk))
                    .filter(concepts::master.eq(master.key()))
                    .filter(concepts::valid_from.le(low))
                    .filter(concepts::valid_to.is_null().or(concepts::valid_to.gt(high)))
                    .select(concepts::id)
                    .load(c))?;
                for id in still_valid {
                    for code in code_of.remove(&id).unwrap_or_default() {
                        stable.insert((system.to_owned(), code));
                    }
                }
            }
            stable.extend(own.into_iter().map(|code| (system.to_owned(), code)));
        }
    }
    Ok(stable)
}

fn is_primary(carrier: &Carrier, system: &str, code: &str) -> bool {
    carrier.row.system_key == system && carrier.row.code == code
}

/// The display of the row that speaks for the code among `carriers` (speaker.rs), when it
/// has one.
fn pick_display(system: &str, code: &str, carriers: &[&Carrier]) -> Option<String> {
    speaker(carriers.iter().map(|c| &c.row), system, code)
        .filter(|r| !r.display.is_empty())
        .map(|r| r.display.clone())
}

/// Field-level differences: carriers are paired by identity (system and code), several rows
/// of one identity by their closest counterpart; unpaired rows show as a whole row. Old rows
/// are taken in listing order (speaker.rs), each paired with the most similar new row left,
/// the first of equally similar ones, so the pairs do not depend on database order.
fn field_changes(system: &str, code: &str, old: &[&Carrier], new: &[&Carrier]) -> Vec<FieldChange> {
    let mut groups: BTreeMap<String, (Vec<&Carrier>, Vec<&Carrier>)> = BTreeMap::new();
    for c in old {
        groups.entry(c.identity()).or_default().0.push(c);
    }
    for c in new {
        groups.entry(c.identity()).or_default().1.push(c);
    }
    let mut fields = Vec::new();
    for (identity, (olds, mut news)) in groups {
        let via = |c: &Carrier| (!is_primary(c, system, code)).then(|| identity.clone());
        for o in olds {
            let best = news
                .iter()
                .enumerate()
                .max_by_key(|(i, n)| (similarity(o, n), std::cmp::Reverse(*i)))
                .map(|(i, _)| i);
            match best {
                Some(i) => {
                    let n = news.remove(i);
                    for mut change in compare(o, n) {
                        change.via = via(o);
                        fields.push(change);
                    }
                }
                None => fields.push(FieldChange {
                    field: "row".into(),
                    old: Some(row_summary(o)),
                    new: None,
                    via: via(o),
                }),
            }
        }
        for n in news {
            fields.push(FieldChange {
                field: "row".into(),
                old: None,
                new: Some(row_summary(n)),
                via: via(n),
            });
        }
    }
    fields
}

fn similarity(a: &Carrier, b: &Carrier) -> usize {
    a.attributes
        .iter()
        .filter(|(k, v)| b.attributes.get(*k) == Some(*v))
        .count()
}

fn row_summary(c: &Carrier) -> String {
    let values: Vec<String> = c
        .attributes
        .values()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect();
    values.join(",")
}

fn text(v: Option<&Value>) -> Option<String> {
    v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
}

/// Differences between two versions of one row: status, display, every attribute, and
/// designations or links that are not already visible as attribute values.
fn compare(old: &Carrier, new: &Carrier) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field: String, o: Option<String>, n: Option<String>| {
        if o != n {
            out.push(FieldChange {
                field,
                old: o,
                new: n,
                via: None,
            });
        }
    };
    push(
        "status".into(),
        Some(old.row.status.clone()),
        Some(new.row.status.clone()),
    );
    let mut keys: Vec<&String> = old.attributes.keys().collect();
    keys.extend(
        new.attributes
            .keys()
            .filter(|k| !old.attributes.contains_key(*k)),
    );
    let attribute_changed = keys
        .iter()
        .any(|k| old.attributes.get(*k) != new.attributes.get(*k));
    if !attribute_changed {
        push(
            "display".into(),
            Some(old.row.display.clone()),
            Some(new.row.display.clone()),
        );
    }
    for key in keys {
        push(
            key.clone(),
            text(old.attributes.get(key)),
            text(new.attributes.get(key)),
        );
    }
    let values = |c: &Carrier| -> HashSet<String> {
        c.attributes
            .values()
            .filter_map(|v| text(Some(v)))
            .collect()
    };
    let (old_values, new_values) = (values(old), values(new));
    let extra = |items: Vec<(String, String)>, known: &HashSet<String>| {
        let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in items {
            if !known.contains(&v) {
                grouped.entry(k).or_default().push(v);
            }
        }
        grouped
    };
    let designation_fields = |c: &Carrier| {
        c.designations
            .iter()
            .map(|(k, v)| (format!("designation:{k}"), v.clone()))
            .collect::<Vec<_>>()
    };
    let link_fields = |c: &Carrier| {
        c.links
            .iter()
            .filter(|(relation, _, code)| {
                !(relation == "code" && c.row.code.starts_with(code.as_str()))
            })
            .map(|(relation, system, code)| (format!("{relation}:{system}"), code.clone()))
            .collect::<Vec<_>>()
    };
    for (old_items, new_items) in [
        (designation_fields(old), designation_fields(new)),
        (link_fields(old), link_fields(new)),
    ] {
        let o = extra(old_items, &old_values);
        let n = extra(new_items, &new_values);
        let names: HashSet<&String> = o.keys().chain(n.keys()).collect();
        let mut names: Vec<&String> = names.into_iter().collect();
        names.sort();
        for name in names {
            let join = |m: &BTreeMap<String, Vec<String>>| m.get(name).map(|v| v.join(" | "));
            push(name.clone(), join(&o), join(&n));
        }
    }
    out
}
