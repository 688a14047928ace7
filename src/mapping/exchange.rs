//! Exporting a project's mappings and reading such exports back ("apply a previous mapping").
//!
//! Two formats:
//!
//! * **CSV** for spreadsheets: one row per local code, the local code list's columns (with the
//!   upload's extra columns), then the mapping and its review. UTF-8, optionally with a BOM
//!   (Excel in Japan needs one to read UTF-8), CRLF line ends. [`read_csv`] reads such a file
//!   back (UTF-8 or CP932, as Excel may save it again) into [`Decision`]s.
//! * **FHIR R4 ConceptMap** for systems: [`ConceptMapWriter`] streams one JSON resource, one
//!   group per target system and one group without a target for no-match decisions.
//!   [`read_concept_map`] reads a ConceptMap from hyojun or any other producer.
//!
//! Both writers work row by row: a project of 50,000 mappings is never one string in memory.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::excerpt::excerpt;
use crate::hygiene::{neutralise_formula, restore_formula};
use crate::limits::{FieldKind, Limit, Limits};
use crate::mapping::fields;
use crate::mapping::local_codes::{CodeColumn, COLUMNS};
use crate::mapping::project::{MappingView, Project};
use crate::mapping::state::{Equivalence, State};
use crate::masters::input::SourceFile;
use crate::masters::text::{read_rows, Row};
use crate::masters::{Problem, Problems};
use crate::systems;

/// The UTF-8 byte-order mark.
/// Whether an export/import is a FHIR ConceptMap (`conceptmap`) or CSV (`csv`, the default);
/// the message of an error names the accepted values.
pub fn is_concept_map(format: Option<&str>) -> Result<bool, String> {
    match format {
        None | Some("csv") => Ok(false),
        Some("conceptmap") => Ok(true),
        Some(other) => Err(format!("format `{other}`: use csv or conceptmap")),
    }
}

pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// CSV columns before the extra columns: the local code list.
pub const LEADING_COLUMNS: [&str; 6] = [
    "local_code",
    "local_name",
    "unit",
    "specimen",
    "frequency",
    "category",
];

/// CSV columns after the extra columns: the mapping and its review.
pub const TRAILING_COLUMNS: [&str; 15] = [
    "state",
    "target_system",
    "target_code",
    "target_display",
    "equivalence",
    "comment",
    "author",
    "reviewer",
    "assignee",
    "flag_reason",
    "target_release",
    "withdrawn",
    "previous_name",
    "version",
    "updated_at",
];

/// Written as a ConceptMap target's comment when a `narrower` or `inexact` mapping has none:
/// FHIR R4 (constraint cmd-1) requires a comment there. Read back as an empty comment.
pub const NO_COMMENT: &str = "(no comment recorded in hyojun)";

// ---------------------------------------------------------------------------------------------
// CSV export

/// The extra columns of `rows` (the upload's other columns), in first-seen order: what to pass
/// as `extra_headers` when every row is at hand. A streaming caller that cannot look at every
/// row first may pass the headers of the latest upload instead.
pub fn extra_headers<'a>(rows: impl IntoIterator<Item = &'a MappingView>) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for m in rows {
        for (h, _) in &m.extra {
            if seen.insert(h.as_str()) {
                out.push(h.clone());
            }
        }
    }
    out
}

fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(4096)
        .from_writer(w)
}

/// Writes the header row (after a UTF-8 BOM when `bom`): [`LEADING_COLUMNS`], every extra
/// header in the given order, then [`TRAILING_COLUMNS`].
pub fn write_csv_header<W: Write>(
    w: &mut W,
    extra_headers: &[String],
    bom: bool,
) -> io::Result<()> {
    if bom {
        w.write_all(BOM)?;
    }
    let mut out = csv_writer(&mut *w);
    out.write_record(
        LEADING_COLUMNS
            .iter()
            .copied()
            .chain(extra_headers.iter().map(String::as_str))
            .chain(TRAILING_COLUMNS.iter().copied())
            .map(|title| neutralise_formula(title).into_owned()),
    )?;
    out.flush()
}

/// Writes one mapping as a CSV row matching [`write_csv_header`]'s header: extra columns by the
/// same `extra_headers` (a column the row lacks is empty), absent values empty, `withdrawn` as
/// `true`/`false`, `updated_at` as `YYYY-MM-DDThh:mm:ssZ` (UTC). Fields with commas, quotes or
/// line breaks are quoted. A cell that a spreadsheet would run as a formula (it starts with
/// `=`, `+`, `-`, `@`, tab, CR or their full-width forms) gets a leading `'`
/// ([`neutralise_formula`]; so does one that is `'`s and then such a character), which
/// [`read_csv`] removes again.
pub fn write_csv_row<W: Write>(
    w: &mut W,
    m: &MappingView,
    extra_headers: &[String],
) -> io::Result<()> {
    fn opt(v: &Option<String>) -> Cow<'_, str> {
        Cow::Borrowed(v.as_deref().unwrap_or(""))
    }
    let mut fields: Vec<Cow<'_, str>> =
        Vec::with_capacity(LEADING_COLUMNS.len() + extra_headers.len() + TRAILING_COLUMNS.len());
    fields.push(m.local_code.as_str().into());
    fields.push(m.local_name.as_str().into());
    fields.push(opt(&m.unit));
    fields.push(opt(&m.specimen));
    fields.push(
        m.frequency
            .map_or(Cow::Borrowed(""), |n| n.to_string().into()),
    );
    fields.push(opt(&m.category));
    for h in extra_headers {
        let value = m.extra.iter().find(|(k, _)| k == h).map_or("", |(_, v)| v);
        fields.push(value.into());
    }
    fields.push(m.state.as_str().into());
    fields.push(opt(&m.target_system));
    fields.push(opt(&m.target_code));
    fields.push(opt(&m.target_display));
    fields.push(m.equivalence.map_or("", Equivalence::as_str).into());
    fields.push(m.comment.as_str().into());
    fields.push(opt(&m.author));
    fields.push(opt(&m.reviewer));
    fields.push(opt(&m.assignee));
    fields.push(opt(&m.flag_reason));
    fields.push(opt(&m.target_release));
    fields.push(if m.withdrawn { "true" } else { "false" }.into());
    fields.push(opt(&m.previous_name));
    fields.push(m.version.to_string().into());
    fields.push(m.updated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string().into());
    let mut out = csv_writer(&mut *w);
    let cells: Vec<Cow<'_, str>> = fields.iter().map(|f| neutralise_formula(f)).collect();
    out.write_record(cells.iter().map(|c| c.as_bytes()))?;
    out.flush()
}

// ---------------------------------------------------------------------------------------------
// FHIR ConceptMap export

/// How a ConceptMap export is made.
#[derive(Debug, Clone)]
pub struct ConceptMapOptions {
    /// The ConceptMap's canonical URL, when the caller has one.
    pub url: Option<String>,
    /// Its business version, when the caller has one (the FHIR endpoint: the project's
    /// revision).
    pub version: Option<String>,
    /// `sourceUri`: the value set of the local codes, when the caller has one.
    pub source_uri: Option<String>,
    /// Every mapping in every state (status `draft`) instead of the settled ones only (status
    /// `active`); see [`ConceptMapWriter`].
    pub include_all: bool,
    /// The resource's `date`.
    pub date: DateTime<Utc>,
}

/// Streams a project's mappings as one FHIR R4 ConceptMap (compact JSON).
///
/// * `id` `hyojun-mapping-<project id>`, `url` and `version` when the options give them,
///   `name` `HyojunMapping<project id>` (a computable name), `title` the project's name,
///   `description` its description when not empty.
/// * One group per target system: `source` is the project's `local_system`, `target` the
///   system's canonical URL, or `urn:hyojun:<key>` when it has none (e.g. `jlac11`). Each
///   element is a local code (`code`, `display` = local name) with one target (`code`,
///   `display`, `equivalence`, `comment` when there is one).
/// * One group without `target` holds no-match decisions: a target with `equivalence`
///   `unmatched`, no code, and the comment.
/// * Without `include_all` (status `active`) only settled mappings are written: `approved`
///   ones, and `no_match` decisions that were reviewed (or need no review: the project has no
///   four-eyes rule). With `include_all` (status `draft`) every mapping is written, and FHIR R4
///   has no field for a review state, so the comment of a mapping that is neither `approved`
///   nor `no_match` starts with its state in brackets: `[proposed] …`, `[rejected] …`,
///   `[flagged] …` (a flagged no-match decision is an `unmatched` target with `[flagged]`).
///   An `unmapped` local code is an element without any target. [`read_concept_map`] reads
///   these prefixes back. Author and reviewer are not exported.
/// * A `narrower` or `inexact` target without a comment gets [`NO_COMMENT`] (FHIR requires one).
///
/// **Rows must come grouped by group**, i.e. sorted by [`concept_map_group`] (the target
/// system key, no target being its own group, first or last). A store query ordered by
/// `(target_system, local_code)` does this, because the store clears the target of `no_match`
/// and `unmapped` mappings. A group that starts again after another one is refused
/// ([`io::ErrorKind::InvalidInput`]) rather than written twice. This keeps the writer one
/// pass and constant in memory; [`sort_for_concept_map`] sorts rows already in memory.
pub struct ConceptMapWriter<W: Write> {
    out: W,
    local_system: String,
    four_eyes: bool,
    include_all: bool,
    /// The open group (its target system key; `None` for the no-target group).
    open: Option<Option<String>>,
    /// Groups written and closed.
    closed: HashSet<Option<String>>,
    groups: usize,
    /// Elements written, in all groups.
    elements: usize,
}

/// The group a mapping goes into in a ConceptMap: its target system, or `None` for the
/// no-target group (no-match decisions, flagged no-match decisions, unmapped codes).
pub fn concept_map_group(m: &MappingView) -> Option<&str> {
    match m.state {
        State::Unmapped | State::NoMatch => None,
        _ if m.target_code.is_none() => None,
        _ => m.target_system.as_deref(),
    }
}

/// Sorts rows for [`ConceptMapWriter`]: by group (no target first), then by local code.
pub fn sort_for_concept_map(rows: &mut [MappingView]) {
    rows.sort_by(|a, b| {
        (concept_map_group(a), &a.local_code).cmp(&(concept_map_group(b), &b.local_code))
    });
}

/// The URI of a hyojun code system in a ConceptMap: its canonical URL, else
/// `urn:hyojun:<key>`.
pub fn system_uri(key: &str) -> String {
    systems::by_key(key)
        .and_then(|s| s.canonical_url)
        .map_or_else(|| format!("urn:hyojun:{key}"), str::to_owned)
}

/// A JSON object serialised without its closing brace, so that more members can follow.
fn open_object(members: Map<String, Value>) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(&Value::Object(members))?;
    bytes.pop();
    Ok(bytes)
}

impl<W: Write> ConceptMapWriter<W> {
    /// Writes the resource's opening members.
    pub fn new(mut out: W, project: &Project, options: &ConceptMapOptions) -> io::Result<Self> {
        let mut head = Map::new();
        head.insert("resourceType".into(), "ConceptMap".into());
        head.insert("id".into(), format!("hyojun-mapping-{}", project.id).into());
        if let Some(url) = &options.url {
            head.insert("url".into(), url.as_str().into());
        }
        if let Some(version) = &options.version {
            head.insert("version".into(), version.as_str().into());
        }
        head.insert("name".into(), format!("HyojunMapping{}", project.id).into());
        head.insert("title".into(), project.name.as_str().into());
        let status = if options.include_all {
            "draft"
        } else {
            "active"
        };
        head.insert("status".into(), status.into());
        head.insert(
            "date".into(),
            options
                .date
                .to_rfc3339_opts(SecondsFormat::Secs, true)
                .into(),
        );
        if !project.description.trim().is_empty() {
            head.insert("description".into(), project.description.as_str().into());
        }
        if let Some(uri) = &options.source_uri {
            head.insert("sourceUri".into(), uri.as_str().into());
        }
        out.write_all(&open_object(head)?)?;
        Ok(ConceptMapWriter {
            out,
            local_system: project.local_system.clone(),
            four_eyes: project.four_eyes,
            include_all: options.include_all,
            open: None,
            closed: HashSet::new(),
            groups: 0,
            elements: 0,
        })
    }

    /// Whether the export includes `m`.
    fn includes(&self, m: &MappingView) -> bool {
        self.include_all
            || m.state == State::Approved
            || (m.state == State::NoMatch && (m.reviewer.is_some() || !self.four_eyes))
    }

    /// Writes one mapping; returns whether it was included (see [`ConceptMapWriter`]).
    pub fn write(&mut self, m: &MappingView) -> io::Result<bool> {
        if !self.includes(m) {
            return Ok(false);
        }
        let group = concept_map_group(m);
        let target = match (m.state, group) {
            (State::Unmapped, _) => None,
            (State::Proposed | State::Approved | State::Rejected, None) => {
                // A target state without a target: nothing true to say about it.
                return Ok(false);
            }
            (_, None) => Some(json!({ "equivalence": "unmatched" })),
            (_, Some(_)) => {
                let mut t = Map::new();
                t.insert(
                    "code".into(),
                    m.target_code.as_deref().unwrap_or_default().into(),
                );
                if let Some(display) = m.target_display.as_deref().filter(|d| !d.is_empty()) {
                    t.insert("display".into(), display.into());
                }
                let equivalence = m.equivalence.unwrap_or(Equivalence::Equivalent);
                t.insert("equivalence".into(), equivalence.as_str().into());
                Some(Value::Object(t))
            }
        };
        let element = {
            let mut e = Map::new();
            e.insert("code".into(), m.local_code.as_str().into());
            if !m.local_name.is_empty() {
                e.insert("display".into(), m.local_name.as_str().into());
            }
            if let Some(mut target) = target {
                let needs_comment = matches!(
                    m.equivalence,
                    Some(Equivalence::Narrower | Equivalence::Inexact)
                ) && group.is_some();
                let comment = self.comment(m.state, &m.comment, needs_comment);
                if let (Some(comment), Some(t)) = (comment, target.as_object_mut()) {
                    t.insert("comment".into(), comment.into());
                }
                e.insert("target".into(), json!([target]));
            }
            Value::Object(e)
        };
        let key = group.map(str::to_owned);
        if self.open.as_ref() != Some(&key) {
            self.open_group(key)?;
        } else {
            self.out.write_all(b",")?;
        }
        serde_json::to_writer(&mut self.out, &element)?;
        self.elements += 1;
        Ok(true)
    }

    /// The comment of a target: the state prefix with `include_all`, the mapping's comment,
    /// or [`NO_COMMENT`] when FHIR needs one.
    fn comment(&self, state: State, comment: &str, needed: bool) -> Option<String> {
        let prefixed = self.include_all && !matches!(state, State::Approved | State::NoMatch);
        let text = match (prefixed, comment.is_empty()) {
            (true, true) => format!("[{}]", state.as_str()),
            (true, false) => format!("[{}] {comment}", state.as_str()),
            (false, false) => comment.to_owned(),
            (false, true) if needed => NO_COMMENT.to_owned(),
            (false, true) => return None,
        };
        Some(text)
    }

    fn open_group(&mut self, key: Option<String>) -> io::Result<()> {
        if let Some(previous) = self.open.take() {
            self.out.write_all(b"]}")?;
            self.closed.insert(previous);
        }
        if self.closed.contains(&key) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "ConceptMap rows must come sorted by target system: rows of {} came again after another system's",
                    key.as_deref().unwrap_or("no target (no-match)")
                ),
            ));
        }
        self.out.write_all(if self.groups == 0 {
            b",\"group\":["
        } else {
            b","
        })?;
        let mut group = Map::new();
        group.insert("source".into(), self.local_system.as_str().into());
        if let Some(key) = &key {
            group.insert("target".into(), system_uri(key).into());
        }
        self.out.write_all(&open_object(group)?)?;
        self.out.write_all(b",\"element\":[")?;
        self.groups += 1;
        self.open = Some(key);
        Ok(())
    }

    /// How many local codes were written so far.
    pub fn written(&self) -> usize {
        self.elements
    }

    /// Closes the resource and hands the output back. Without any included mapping there is no
    /// `group` member at all (FHIR JSON allows no empty arrays).
    pub fn finish(mut self) -> io::Result<W> {
        if self.open.is_some() {
            self.out.write_all(b"]}")?;
        }
        if self.groups > 0 {
            self.out.write_all(b"]")?;
        }
        self.out.write_all(b"}")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

// ---------------------------------------------------------------------------------------------
// Import

/// One mapping decision read from an export, to apply to a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub local_code: String,
    pub state: State,
    /// A hyojun code system key (`jlac10`, …), whatever form the file used.
    pub target_system: Option<String>,
    pub target_code: Option<String>,
    pub equivalence: Option<Equivalence>,
    pub comment: String,
    /// 1-based line of the CSV row (None for a ConceptMap).
    pub line: Option<u64>,
}

/// A hyojun code system key from a key, a canonical URL (optionally `|version`), a `urn:oid:`
/// alias or `urn:hyojun:<key>`.
fn resolve_system(name: &str) -> Option<&'static str> {
    let name = name.split('|').next().unwrap_or(name).trim();
    if let Some(key) = name.strip_prefix("urn:hyojun:") {
        return systems::by_key(key).map(|s| s.key);
    }
    systems::find(name)
        .or_else(|| systems::by_key(&name.to_ascii_lowercase()))
        .map(|s| s.key)
}

/// Whether a state goes with a target (`Some(true)`), without one (`Some(false)`) or either.
fn wants_target(state: State) -> Option<bool> {
    match state {
        State::Proposed | State::Approved | State::Rejected => Some(true),
        State::Unmapped | State::NoMatch => Some(false),
        State::Flagged => None,
    }
}

const FIX_SYSTEM: &str = "write a code system key from GET /v1/systems (e.g. jlac10), its canonical URL or its urn:oid: alias";

/// Reads a CSV file written by [`write_csv_header`]/[`write_csv_row`] (UTF-8 with or without
/// BOM, or CP932 as Excel may save it again). Columns are found by header name, in any order:
/// `local_code` (or any local code header [`COLUMNS`] knows, e.g. `ローカルコード`) and `state`
/// are required; `target_system`, `target_code`, `equivalence` and `comment` are read when
/// present; every other column is ignored. When a name occurs twice the last column wins: an
/// upload's extra column may be called `comment`, and the export writes extra columns before
/// its own.
///
/// Every problem (file, line, column, fix) is reported, and nothing is returned when there is
/// any. Unmapped rows are returned too (state `unmapped`): the caller decides what to apply.
///
/// A cell that is `'` followed by what [`write_csv_row`] neutralises (`'=…`, `'+…`, `'-…`,
/// `'@…`, `''=…`) is read without that `'` ([`restore_formula`]), so an export comes back as
/// it was. Rows are held to [`Limit::LocalCodes`] and the header to [`Limit::Columns`]; the
/// columns read are held to their field lengths (local code, state, equivalence, target code:
/// codes; target system: a name; comment: free text) and refused with control characters.
pub fn read_csv(file: &SourceFile, limits: &Limits) -> Result<Vec<Decision>, Problems> {
    let name = &file.display_name;
    let (_, mut rows) = read_rows(
        file,
        "export the mappings again as CSV: a header row, then one row per local code",
        limits,
    )?;
    rows.iter_mut().for_each(restore_row);
    let Some((header, data)) = rows.split_first() else {
        return Err(Problem::file(
            name,
            "empty_file",
            "the file has no rows".into(),
            "export the mappings again as CSV",
        )
        .into());
    };
    let shape = fields::shape_problems(name, data.len(), Limit::LocalCodes, "rows", limits);
    if !shape.is_empty() {
        return Err(fields::collect(shape));
    }
    let (headers, title_problems) = fields::header_titles(name, header, limits);
    if !title_problems.is_empty() {
        return Err(fields::collect(title_problems));
    }
    let find = |names: &[&str]| {
        headers
            .iter()
            .rposition(|h| crate::masters::checks::title_matches(h, names))
    };
    let code_names: &[&str] = COLUMNS
        .iter()
        .find(|(key, _)| *key == "code")
        .map_or(&["local_code"], |(_, names)| names);
    let code_at = find(code_names);
    let state_at = find(&["state"]);
    let system_at = find(&["target_system"]);
    let target_at = find(&["target_code"]);
    let equivalence_at = find(&["equivalence"]);
    let comment_at = find(&["comment"]);
    let mut problems = Problems::default();
    for (at, column) in [(code_at, "local_code"), (state_at, "state")] {
        if at.is_none() {
            problems.push(Problem::line(
                name,
                header.line,
                "missing_column",
                format!("no `{column}` column in the header row"),
                format!("export the mappings again, or name a column of the header row `{column}`"),
            ));
        }
    }
    let (Some(code_at), Some(state_at)) = (code_at, state_at) else {
        return Err(problems);
    };
    let states = State::ALL.map(State::as_str).join(", ");
    let equivalences = Equivalence::ALL.map(Equivalence::as_str).join(", ");
    let mut codes = CodeColumn::new(
        name,
        &headers,
        code_at,
        "fill in the local code, or delete the row",
        "keep one row per local code: delete one of the two rows",
    );
    let checked = [
        (Some(code_at), FieldKind::Code),
        (Some(state_at), FieldKind::Code),
        (system_at, FieldKind::Name),
        (target_at, FieldKind::Code),
        (equivalence_at, FieldKind::Code),
        (comment_at, FieldKind::Text),
    ];
    let mut out = Vec::with_capacity(data.len());
    for row in data {
        let before = problems.total();
        for (at, kind) in checked {
            let Some(at) = at else { continue };
            let value = row.fields.get(at).map(str::trim).unwrap_or("");
            if let Some(p) =
                fields::field_problem(name, row.line, at + 1, &headers[at], value, kind, limits)
            {
                problems.push(p);
            }
        }
        if problems.total() > before {
            continue;
        }
        let Some(code) = codes.code_of(row, &mut problems) else {
            continue;
        };
        let f = |i: usize| row.fields.get(i).map(str::trim).unwrap_or("");
        let optional = |at: Option<usize>| at.map(f).filter(|v| !v.is_empty());
        let problem = |at: usize, kind: &'static str, message: String, fix: &str| {
            Problem::field(name, row.line, at + 1, &headers[at], kind, message, fix)
        };
        let mut bad = false;
        let state_text = f(state_at);
        let state = State::parse(&state_text.to_ascii_lowercase());
        if state.is_none() {
            bad = true;
            problems.push(problem(
                state_at,
                "unknown_state",
                format!("state `{}` is not a review state", excerpt(state_text)),
                &format!("write one of: {states}"),
            ));
        }
        let mut target_system = None;
        if let (Some(at), Some(text)) = (system_at, optional(system_at)) {
            target_system = resolve_system(text);
            if target_system.is_none() {
                bad = true;
                problems.push(problem(
                    at,
                    "unknown_system",
                    format!("hyojun knows no code system `{}`", excerpt(text)),
                    &format!("{FIX_SYSTEM}, or leave target_system and target_code empty"),
                ));
            }
        }
        let target_code = optional(target_at);
        let mut equivalence = None;
        if let (Some(at), Some(text)) = (equivalence_at, optional(equivalence_at)) {
            equivalence = Equivalence::parse(&text.to_ascii_lowercase());
            if equivalence.is_none() {
                bad = true;
                problems.push(problem(
                    at,
                    "unknown_equivalence",
                    format!("equivalence `{}` is not one hyojun knows", excerpt(text)),
                    &format!("write one of: {equivalences}, or leave it empty"),
                ));
            }
        }
        let Some(state) = state.filter(|_| !bad) else {
            continue;
        };
        // The target must be whole, and go with the state.
        let line_or_field =
            |at: Option<usize>, kind: &'static str, message: String, fix: &str| match at {
                Some(at) => problem(at, kind, message, fix),
                None => Problem::line(name, row.line, kind, message, fix),
            };
        let has_target = match (target_system, target_code) {
            (Some(_), Some(_)) => true,
            (None, None) => false,
            (Some(_), None) => {
                problems.push(line_or_field(
                    target_at,
                    "incomplete_target",
                    "a target system without a target code".into(),
                    "fill in target_code, or empty target_system",
                ));
                continue;
            }
            (None, Some(_)) => {
                problems.push(line_or_field(
                    system_at,
                    "incomplete_target",
                    "a target code without a target system".into(),
                    &format!("{FIX_SYSTEM} in target_system, or empty target_code"),
                ));
                continue;
            }
        };
        match wants_target(state) {
            Some(true) if !has_target => {
                problems.push(line_or_field(
                    target_at,
                    "missing_target",
                    format!("a mapping in state {} needs a target", state.as_str()),
                    "fill in target_system and target_code, or change the state",
                ));
                continue;
            }
            Some(false) if has_target => {
                problems.push(line_or_field(
                    target_at,
                    "unexpected_target",
                    format!("a mapping in state {} has no target", state.as_str()),
                    "empty target_system and target_code, or change the state",
                ));
                continue;
            }
            _ => {}
        }
        if let (Some(at), Some(_), false) = (equivalence_at, equivalence, has_target) {
            problems.push(problem(
                at,
                "unexpected_equivalence",
                "an equivalence without a target".into(),
                "empty the equivalence, or fill in the target",
            ));
            continue;
        }
        out.push(Decision {
            local_code: code.to_owned(),
            state,
            target_system: target_system.map(str::to_owned),
            target_code: target_code.map(str::to_owned),
            equivalence,
            comment: optional(comment_at).unwrap_or_default().to_owned(),
            line: Some(row.line),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The row with every cell [`write_csv_row`] neutralised read back ([`restore_formula`]).
fn restore_row(row: &mut Row) {
    if !row.fields.iter().any(|f| f.starts_with('\'')) {
        return;
    }
    let restored: csv::StringRecord = row.fields.iter().map(|f| restore_formula(f)).collect();
    row.fields = restored;
}

/// What a FHIR equivalence (R4) or relationship (R5) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Match(Equivalence),
    NoMatch,
}

fn fhir_relation(code: &str) -> Option<Relation> {
    use Equivalence::*;
    Some(match code {
        "equivalent" | "equal" => Relation::Match(Equivalent),
        "wider" | "subsumes" | "source-is-narrower-than-target" => Relation::Match(Wider),
        "narrower" | "specializes" | "source-is-broader-than-target" => Relation::Match(Narrower),
        "inexact" | "relatedto" | "related-to" => Relation::Match(Inexact),
        "unmatched" | "disjoint" | "not-related-to" => Relation::NoMatch,
        _ => return None,
    })
}

/// A `[state]` prefix written by [`ConceptMapWriter`] with `include_all`, and the comment after
/// it.
fn state_prefix(comment: &str) -> Option<(State, &str)> {
    let rest = comment.strip_prefix('[')?;
    let (state, rest) = rest.split_once(']')?;
    let state = State::parse(state)?;
    Some((state, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// A string member, trimmed, when present and not empty.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The members of an array member (none when absent); `None` when it is not an array.
fn array<'a>(v: &'a Value, key: &str) -> Option<&'a [Value]> {
    match v.get(key) {
        None | Some(Value::Null) => Some(&[]),
        Some(Value::Array(items)) => Some(items),
        Some(_) => None,
    }
}

/// Reads a FHIR R4 ConceptMap (JSON, UTF-8 with or without BOM) from hyojun or another
/// producer into decisions, in document order.
///
/// * A group's `target` is mapped to a hyojun system by canonical URL, `urn:oid:` alias,
///   `urn:hyojun:<key>` or key; `source` is not checked (the caller applies the decisions to
///   the project it chose).
/// * Equivalences: `equivalent`/`equal` → equivalent, `wider`/`subsumes` → wider,
///   `narrower`/`specializes` → narrower, `inexact`/`relatedto` → inexact (R5's
///   `relationship` codes are read the same way), and `unmatched`/`disjoint` → a no-match
///   decision. A target with a code and no equivalence is taken as `equivalent` (STU3's
///   default).
/// * A decision with a target is `approved`, one without is `no_match`, unless its comment
///   starts with a `[state]` prefix as [`ConceptMapWriter`] writes with `include_all`: that
///   state is restored (when it goes with having a target or not) and the prefix removed. A
///   comment equal to [`NO_COMMENT`] is read as empty.
/// * An element without targets gives no decision; an element with several targets, or a
///   local code in several elements, is a problem (hyojun keeps one target per local code).
///
/// Limits: the document's size ([`Limit::JsonBytes`]) and nesting depth ([`Limit::JsonDepth`],
/// checked before it is parsed), its elements ([`Limit::LocalCodes`]), and the strings read:
/// element and target codes, equivalences (codes), group targets (names) and comments (free
/// text), which are refused with control characters.
pub fn read_concept_map(
    bytes: &[u8],
    file_name: &str,
    limits: &Limits,
) -> Result<Vec<Decision>, Problems> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let fix_json = "export the ConceptMap again as FHIR R4 JSON";
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::file(
            file_name,
            "empty_file",
            "the file is empty".into(),
            fix_json,
        )
        .into());
    }
    let size = bytes.len() as u64;
    if !limits.allows(Limit::JsonBytes, size) {
        return Err(Problem::over_limit(
            file_name,
            "too_large",
            format!(
                "the ConceptMap has {} bytes",
                crate::limits::group_digits(size)
            ),
            limits,
            Limit::JsonBytes,
        )
        .into());
    }
    if let Some(line) = crate::json_depth::too_deep(bytes, limits.json_depth) {
        return Err(Problem::over_limit(
            file_name,
            "too_deep",
            "arrays and objects nest too deep here".into(),
            limits,
            Limit::JsonDepth,
        )
        .on_line(line)
        .into());
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        Problems::from(Problem::line(
            file_name,
            e.line() as u64,
            "json",
            format!("not readable as JSON: {e}"),
            fix_json,
        ))
    })?;
    let resource_type = text(&doc, "resourceType");
    if resource_type != Some("ConceptMap") {
        return Err(Problem::file(
            file_name,
            "not_concept_map",
            format!(
                "the file holds {}, not a ConceptMap",
                resource_type.map_or("no FHIR resource".to_owned(), |t| format!("a {t}"))
            ),
            "export the ConceptMap resource itself (JSON, resourceType ConceptMap)",
        )
        .into());
    }
    let mut problems = Problems::default();
    let structure = |path: String, what: &str| {
        Problem::file(
            file_name,
            "bad_structure",
            format!("{path}: {what}"),
            "export the ConceptMap again as FHIR R4 JSON",
        )
    };
    let Some(groups) = array(&doc, "group") else {
        return Err(structure("ConceptMap.group".into(), "not an array").into());
    };
    let elements: usize = groups
        .iter()
        .map(|g| array(g, "element").map_or(0, <[Value]>::len))
        .sum();
    if !limits.allows(Limit::LocalCodes, elements as u64) {
        return Err(Problem::over_limit(
            file_name,
            "too_many_rows",
            format!(
                "the ConceptMap has {} elements",
                crate::limits::group_digits(elements as u64)
            ),
            limits,
            Limit::LocalCodes,
        )
        .into());
    }
    // Every string read, checked for its length and control characters.
    let bad_string =
        |problems: &mut Problems, path: String, value: Option<&str>, kind: FieldKind| {
            let problem =
                value.and_then(|v| fields::json_string_problem(file_name, &path, v, kind, limits));
            let found = problem.is_some();
            if let Some(p) = problem {
                problems.push(p);
            }
            found
        };
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let group_path = format!("ConceptMap.group[{g}]");
        if bad_string(
            &mut problems,
            format!("{group_path}.target"),
            text(group, "target"),
            FieldKind::Name,
        ) {
            continue;
        }
        let system = match text(group, "target") {
            None => None,
            Some(uri) => match resolve_system(uri) {
                Some(key) => Some(key),
                None => {
                    problems.push(Problem::file(
                        file_name,
                        "unknown_system",
                        format!(
                            "{group_path}.target: hyojun knows no code system `{}`",
                            excerpt(uri)
                        ),
                        format!("{FIX_SYSTEM} (or urn:hyojun:<key>) as the group's target"),
                    ));
                    continue;
                }
            },
        };
        let Some(elements) = array(group, "element") else {
            problems.push(structure(format!("{group_path}.element"), "not an array"));
            continue;
        };
        for (e, element) in elements.iter().enumerate() {
            let path = format!("{group_path}.element[{e}]");
            let target0 = array(element, "target").and_then(<[Value]>::first);
            let strings = [
                (
                    format!("{path}.code"),
                    text(element, "code"),
                    FieldKind::Code,
                ),
                (
                    format!("{path}.target[0].code"),
                    target0.and_then(|t| text(t, "code")),
                    FieldKind::Code,
                ),
                (
                    format!("{path}.target[0].equivalence"),
                    target0
                        .and_then(|t| text(t, "equivalence").or_else(|| text(t, "relationship"))),
                    FieldKind::Code,
                ),
                (
                    format!("{path}.target[0].comment"),
                    target0.and_then(|t| text(t, "comment")),
                    FieldKind::Text,
                ),
            ];
            let mut bad = false;
            for (p, value, kind) in strings {
                bad |= bad_string(&mut problems, p, value, kind);
            }
            if bad {
                continue;
            }
            let Some(code) = text(element, "code") else {
                problems.push(Problem::file(
                    file_name,
                    "missing_code",
                    format!("{path}: no code"),
                    "give every element the local code it maps",
                ));
                continue;
            };
            let Some(targets) = array(element, "target") else {
                problems.push(structure(format!("{path}.target"), "not an array"));
                continue;
            };
            let Some(target) = targets.first() else {
                continue;
            };
            if let Some(first) = seen.get(code) {
                problems.push(Problem::file(
                    file_name,
                    "duplicate_code",
                    format!(
                        "{path}: local code {} is already mapped at {first}",
                        excerpt(code)
                    ),
                    "keep one target per local code: hyojun maps each local code once",
                ));
                continue;
            }
            seen.insert(code.to_owned(), path.clone());
            if targets.len() > 1 {
                problems.push(Problem::file(
                    file_name,
                    "several_targets",
                    format!(
                        "{path}: local code {} has {} targets",
                        excerpt(code),
                        targets.len()
                    ),
                    "keep one target per local code: hyojun maps each local code once",
                ));
                continue;
            }
            let target_code = text(target, "code");
            let relation = match text(target, "equivalence")
                .or_else(|| text(target, "relationship"))
            {
                Some(eq) => match fhir_relation(eq) {
                    Some(relation) => relation,
                    None => {
                        problems.push(Problem::file(
                            file_name,
                            "unknown_equivalence",
                            format!("{path}.target[0]: equivalence `{}` is not a FHIR R4 one", excerpt(eq)),
                            "use relatedto, equivalent, equal, wider, subsumes, narrower, specializes, inexact, unmatched or disjoint",
                        ));
                        continue;
                    }
                },
                None if target_code.is_some() => Relation::Match(Equivalence::Equivalent),
                None => {
                    problems.push(Problem::file(
                        file_name,
                        "empty_target",
                        format!("{path}.target[0]: neither a code nor an equivalence"),
                        "give the target a code, or the equivalence unmatched",
                    ));
                    continue;
                }
            };
            let (target_system, target_code, equivalence) = match relation {
                Relation::NoMatch => (None, None, None),
                Relation::Match(equivalence) => {
                    let Some(target_code) = target_code else {
                        problems.push(Problem::file(
                            file_name,
                            "missing_target_code",
                            format!(
                                "{path}.target[0]: equivalence {} without a code",
                                equivalence.as_str()
                            ),
                            "give the target its code, or the equivalence unmatched",
                        ));
                        continue;
                    };
                    let Some(system) = system else {
                        problems.push(Problem::file(
                            file_name,
                            "missing_group_target",
                            format!(
                                "{group_path}: a target code, but the group names no target system"
                            ),
                            format!("{FIX_SYSTEM} as the group's target"),
                        ));
                        continue;
                    };
                    (
                        Some(system.to_owned()),
                        Some(target_code.to_owned()),
                        Some(equivalence),
                    )
                }
            };
            let has_target = target_code.is_some();
            let mut state = if has_target {
                State::Approved
            } else {
                State::NoMatch
            };
            let mut comment = text(target, "comment").unwrap_or_default();
            if let Some((prefixed, rest)) = state_prefix(comment) {
                if wants_target(prefixed).is_none_or(|wants| wants == has_target) {
                    state = prefixed;
                    comment = rest;
                }
            }
            if comment == NO_COMMENT {
                comment = "";
            }
            out.push(Decision {
                local_code: code.to_owned(),
                state,
                target_system,
                target_code,
                equivalence,
                comment: comment.to_owned(),
                line: None,
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn at(secs: i64) -> NaiveDateTime {
        DateTime::from_timestamp(secs, 0).expect("time").naive_utc()
    }

    fn project(four_eyes: bool) -> Project {
        Project {
            id: 7,
            name: "検査マッピング 2026".into(),
            description: String::new(),
            local_system: "http://hospital.example.jp/CodeSystem/lab".into(),
            target_systems: vec!["jlac10".into(), "jlac11".into()],
            four_eyes,
            revision: 3,
            created_at: at(1_700_000_000),
            created_by: "alice".into(),
        }
    }

    fn view(code: &str, name: &str, state: State) -> MappingView {
        MappingView {
            local_code: code.into(),
            local_name: name.into(),
            unit: None,
            specimen: None,
            frequency: None,
            category: None,
            extra: Vec::new(),
            withdrawn: false,
            previous_name: None,
            state,
            target_system: None,
            target_code: None,
            target_display: None,
            equivalence: None,
            comment: String::new(),
            author: Some("alice".into()),
            reviewer: None,
            assignee: None,
            flag_reason: None,
            target_release: None,
            version: 1,
            updated_at: at(1_767_225_600),
        }
    }

    fn target(mut m: MappingView, system: &str, code: &str, eq: Equivalence) -> MappingView {
        m.target_system = Some(system.into());
        m.target_code = Some(code.into());
        m.target_display = Some(format!("{code} の名称"));
        m.equivalence = Some(eq);
        m.target_release = Some("20260401".into());
        m
    }

    /// Mappings in every state, with Japanese text holding commas, quotes and line breaks.
    fn sample() -> Vec<MappingView> {
        let mut l001 = target(
            view("L001", "ＡＳＴ（ＧＯＴ）", State::Approved),
            "jlac10",
            "3B035000002327201",
            Equivalence::Equivalent,
        );
        l001.target_display = Some("AST".into());
        l001.unit = Some("U/L".into());
        l001.specimen = Some("血清".into());
        l001.frequency = Some(1204);
        l001.category = Some("生化学".into());
        l001.extra = vec![
            ("備考".into(), "至急可".into()),
            ("検査室".into(), "本館".into()),
        ];
        l001.comment = "至急, \"再検\" あり\n2行目".into();
        l001.reviewer = Some("bob".into());
        let mut l002 = target(
            view("L002", "HbA1c（NGSP）", State::Proposed),
            "jlac10",
            "3D046000001920402",
            Equivalence::Narrower,
        );
        l002.extra = vec![("検査室".into(), "別館".into())];
        l002.assignee = Some("carol".into());
        let mut l003 = target(
            view("L003", "CRP, 定量", State::Rejected),
            "jlac11",
            "5C070000002306301",
            Equivalence::Wider,
        );
        l003.comment = "材料が違う, 再提案を".into();
        l003.reviewer = Some("bob".into());
        let mut l004 = target(
            view("L004", "尿定性(試験紙)", State::Flagged),
            "jlac10",
            "1A990000000000000",
            Equivalence::Inexact,
        );
        l004.comment = "名称が変わった".into();
        l004.flag_reason = Some("the local name changed: 尿定性 → 尿定性(試験紙)".into());
        l004.previous_name = Some("尿定性".into());
        let mut l005 = view("L005", "院内特殊検査", State::NoMatch);
        l005.comment = "該当なし、\"外注\"".into();
        l005.reviewer = Some("bob".into());
        let mut l006 = view("L006", "旧検査", State::Unmapped);
        l006.author = None;
        l006.withdrawn = true;
        let mut l007 = view("L007", "外注検査", State::Flagged);
        l007.comment = "外注先を確認".into();
        let mut l008 = target(
            view("L008", "血糖", State::Approved),
            "jlac11",
            "3D010000001926101",
            Equivalence::Inexact,
        );
        l008.reviewer = Some("bob".into());
        let mut l009 = view("L009", "未審査の該当なし", State::NoMatch);
        l009.comment = "要確認".into();
        vec![l001, l002, l003, l004, l005, l006, l007, l008, l009]
    }

    fn decision(m: &MappingView, line: Option<u64>) -> Decision {
        Decision {
            local_code: m.local_code.clone(),
            state: m.state,
            target_system: m.target_system.clone(),
            target_code: m.target_code.clone(),
            equivalence: m.equivalence,
            comment: m.comment.clone(),
            line,
        }
    }

    fn export_csv(rows: &[MappingView], bom: bool) -> Vec<u8> {
        let extra = extra_headers(rows);
        let mut out = Vec::new();
        write_csv_header(&mut out, &extra, bom).expect("header");
        for m in rows {
            write_csv_row(&mut out, m, &extra).expect("row");
        }
        out
    }

    fn file(name: &str, bytes: Vec<u8>) -> SourceFile {
        SourceFile::new(name.to_owned(), bytes)
    }

    fn located(problems: &Problems) -> Vec<(Option<u64>, Option<usize>, &'static str)> {
        problems
            .items()
            .iter()
            .map(|p| (p.line, p.column, p.kind))
            .collect()
    }

    #[test]
    fn csv_export_has_the_documented_columns_and_quoting() {
        let rows = sample();
        let bytes = export_csv(&rows[..2], true);
        let text = String::from_utf8(bytes).expect("utf-8");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines,
            [
                "\u{FEFF}local_code,local_name,unit,specimen,frequency,category,備考,検査室,\
                 state,target_system,target_code,target_display,equivalence,comment,author,\
                 reviewer,assignee,flag_reason,target_release,withdrawn,previous_name,version,\
                 updated_at",
                "L001,ＡＳＴ（ＧＯＴ）,U/L,血清,1204,生化学,至急可,本館,approved,jlac10,\
                 3B035000002327201,AST,equivalent,\"至急, \"\"再検\"\" あり\n2行目\",alice,bob,,,\
                 20260401,false,,1,2026-01-01T00:00:00Z",
                "L002,HbA1c（NGSP）,,,,,,別館,proposed,jlac10,3D046000001920402,\
                 3D046000001920402 の名称,narrower,,alice,,carol,,20260401,false,,1,\
                 2026-01-01T00:00:00Z",
                "",
            ]
        );
        // Without the flag there is no BOM.
        let plain = export_csv(&rows[..1], false);
        assert!(plain.starts_with(b"local_code,"));
    }

    #[test]
    fn csv_export_then_import_is_lossless() {
        let rows = sample();
        let bytes = export_csv(&rows, true);
        let decisions = read_csv(&file("mappings.csv", bytes), &Limits::default()).expect("read");
        // L001's comment spans lines 2–3.
        let lines = [2, 4, 5, 6, 7, 8, 9, 10, 11];
        let expected: Vec<Decision> = rows
            .iter()
            .zip(lines)
            .map(|(m, line)| decision(m, Some(line)))
            .collect();
        assert_eq!(decisions, expected);
        assert_eq!(
            decisions[0],
            Decision {
                local_code: "L001".into(),
                state: State::Approved,
                target_system: Some("jlac10".into()),
                target_code: Some("3B035000002327201".into()),
                equivalence: Some(Equivalence::Equivalent),
                comment: "至急, \"再検\" あり\n2行目".into(),
                line: Some(2),
            }
        );
        assert_eq!(decisions[6].state, State::Flagged);
        assert_eq!(decisions[6].target_code, None);
    }

    #[test]
    fn cp932_files_are_read() {
        // The export, saved again by Excel as CP932.
        let rows = sample();
        let exported = String::from_utf8(export_csv(&rows, false)).expect("utf-8");
        let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&exported);
        assert!(!unmappable);
        let decisions =
            read_csv(&file("cp932.csv", sjis.into_owned()), &Limits::default()).expect("read");
        let lines = [2, 4, 5, 6, 7, 8, 9, 10, 11];
        let expected: Vec<Decision> = rows
            .iter()
            .zip(lines)
            .map(|(m, line)| decision(m, Some(line)))
            .collect();
        assert_eq!(decisions, expected);

        // A hand-made file: Japanese local code header, systems by URL, OID and urn:hyojun:.
        let text = "ローカルコード,名称,STATE,target_system,target_code,equivalence,comment\r\n\
                    A1,血糖,Approved,http://medis.or.jp/CodeSystem/master-JLAC10-17digits,3D010000001926101,Equivalent,\"空腹時, 朝\"\r\n\
                    A2,外注,no_match,,,,外注先で実施\r\n\
                    A3,ＣＲＰ,proposed,urn:oid:1.2.392.200119.4.504,5C070000002306301,,\r\n\
                    A4,新検査,approved,urn:hyojun:jlac11,3D010000001926199,wider,\r\n";
        let bytes = encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
        let decisions = read_csv(&file("hand.csv", bytes), &Limits::default()).expect("read");
        assert_eq!(
            decisions,
            [
                Decision {
                    local_code: "A1".into(),
                    state: State::Approved,
                    target_system: Some("jlac10".into()),
                    target_code: Some("3D010000001926101".into()),
                    equivalence: Some(Equivalence::Equivalent),
                    comment: "空腹時, 朝".into(),
                    line: Some(2),
                },
                Decision {
                    local_code: "A2".into(),
                    state: State::NoMatch,
                    target_system: None,
                    target_code: None,
                    equivalence: None,
                    comment: "外注先で実施".into(),
                    line: Some(3),
                },
                Decision {
                    local_code: "A3".into(),
                    state: State::Proposed,
                    target_system: Some("jlac10".into()),
                    target_code: Some("5C070000002306301".into()),
                    equivalence: None,
                    comment: String::new(),
                    line: Some(4),
                },
                Decision {
                    local_code: "A4".into(),
                    state: State::Approved,
                    target_system: Some("jlac11".into()),
                    target_code: Some("3D010000001926199".into()),
                    equivalence: Some(Equivalence::Wider),
                    comment: String::new(),
                    line: Some(5),
                },
            ]
        );
    }

    #[test]
    fn a_broken_csv_is_reported_with_lines_and_columns() {
        let text = "local_code,state,target_system,target_code,equivalence,comment\n\
                    A,approved,jlac10,3B035000002327201,equivalent,\"ok\nsecond line\"\n\
                    B,approvd,jlac10,X,equivalent,\n\
                    C,approved,jlac99,X,equivalent,\n\
                    A,no_match,,,,\n\
                    D,approved,jlac10,X,same,\n\
                    E,approved,,,,\n\
                    F,no_match,jlac10,X,,\n\
                    G,proposed,jlac10,,,\n\
                    H,no_match,,,wider,\n\
                    ,approved,jlac10,X,,\n\
                    I,approved,jlac10\n";
        let problems = read_csv(
            &file("broken.csv", text.as_bytes().to_vec()),
            &Limits::default(),
        )
        .expect_err("bad");
        assert_eq!(
            located(&problems),
            [
                (Some(4), Some(2), "unknown_state"),
                (Some(5), Some(3), "unknown_system"),
                (Some(6), Some(1), "duplicate_code"),
                (Some(7), Some(5), "unknown_equivalence"),
                (Some(8), Some(4), "missing_target"),
                (Some(9), Some(4), "unexpected_target"),
                (Some(10), Some(4), "incomplete_target"),
                (Some(11), Some(5), "unexpected_equivalence"),
                (Some(12), Some(1), "missing_code"),
                (Some(13), None, "column_count"),
            ]
        );
        let items = problems.items();
        assert_eq!(items[0].file, "broken.csv");
        assert_eq!(items[0].column_name.as_deref(), Some("state"));
        assert_eq!(
            items[0].fix,
            "write one of: unmapped, proposed, approved, rejected, flagged, no_match"
        );
        assert_eq!(items[1].message, "hyojun knows no code system `jlac99`");
        assert!(items[1].fix.starts_with("write a code system key"));
        assert_eq!(items[2].message, "local code A is already on line 2");
        assert_eq!(
            items[3].fix,
            "write one of: equivalent, wider, narrower, inexact, or leave it empty"
        );

        let problems = read_csv(
            &file("x.csv", b"local_code,target_code\nA,B\n".to_vec()),
            &Limits::default(),
        )
        .expect_err("bad");
        assert_eq!(located(&problems), [(Some(1), None, "missing_column")]);
        assert_eq!(
            problems.items()[0].message,
            "no `state` column in the header row"
        );
    }

    #[test]
    fn formula_cells_are_neutralised_and_read_back() {
        let mut rows = sample();
        rows[0].local_code = "-L001".into();
        rows[0].comment = "=HYPERLINK(\"http://x\")".into();
        rows[0].extra = vec![("@備考".into(), "+81 3".into())];
        rows[4].comment = "'=already quoted".into();
        let bytes = export_csv(&rows, true);
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].contains(",'@備考,"), "{}", lines[0]);
        assert!(
            lines[1].starts_with("'-L001,ＡＳＴ（ＧＯＴ）,U/L,血清,1204,生化学,'+81 3,"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains(",\"'=HYPERLINK(\"\"http://x\"\")\","));
        assert!(text.contains(",''=already quoted,"));
        let decisions = read_csv(&file("m.csv", bytes), &Limits::default()).expect("read");
        assert_eq!(decisions[0].local_code, "-L001");
        assert_eq!(decisions[0].comment, "=HYPERLINK(\"http://x\")");
        assert_eq!(decisions[4].comment, "'=already quoted");
    }

    #[test]
    fn limits_and_control_characters_in_imports() {
        let limits = Limits {
            json_depth: 4,
            code_chars: 8,
            ..Limits::default()
        };
        let deep = r#"{"resourceType": "ConceptMap", "group": [{"element": [{"code": "A", "target": [{"x": [[1]]}]}]}]}"#;
        let problems = read_concept_map(deep.as_bytes(), "deep.json", &limits).expect_err("deep");
        assert_eq!(
            (problems.items()[0].kind, problems.items()[0].line),
            ("too_deep", Some(1))
        );
        assert_eq!(
            problems.items()[0].message,
            "arrays and objects nest too deep here; the limit is 4 levels (HYOJUN_MAX_JSON_DEPTH)"
        );
        let strings = "{\"resourceType\": \"ConceptMap\", \"group\": [{\"target\": \"urn:hyojun:jlac10\", \"element\": [\
            {\"code\": \"A\\u0000B\", \"target\": [{\"code\": \"1\"}]},\
            {\"code\": \"C\", \"target\": [{\"code\": \"123456789\"}]}]}]}";
        let limits = Limits {
            code_chars: 8,
            ..Limits::default()
        };
        let problems = read_concept_map(strings.as_bytes(), "s.json", &limits).expect_err("bad");
        let found: Vec<(&str, &str)> = problems
            .items()
            .iter()
            .map(|p| (p.kind, p.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "control_character",
                    "ConceptMap.group[0].element[0].code: the value holds the control character U+0000 (NUL) at character 2: `A\\u{0000}B`"
                ),
                (
                    "field_too_long",
                    "ConceptMap.group[0].element[1].target[0].code: the code is 9 characters long (`123456789`); the limit is 8 characters (HYOJUN_MAX_CODE_CHARS)"
                ),
            ]
        );
        let csv =
            "local_code,state,comment\nA\u{1B}[2J,no_match,\"two\nlines\tok\"\nB,no_match,\u{7}\n";
        let problems = read_csv(&file("c.csv", csv.as_bytes().to_vec()), &limits).expect_err("bad");
        assert_eq!(
            located(&problems),
            [
                (Some(2), Some(1), "control_character"),
                (Some(4), Some(3), "control_character")
            ]
        );
        assert_eq!(
            problems.items()[0].message,
            "the value holds the control character U+001B (escape) at character 2: `A\\u{001B}[2J`"
        );
    }

    fn options(include_all: bool) -> ConceptMapOptions {
        ConceptMapOptions {
            url: Some("https://hyojun.example.jp/fhir/ConceptMap/hyojun-mapping-7".into()),
            version: None,
            source_uri: None,
            include_all,
            date: DateTime::from_timestamp(1_767_323_045, 0).expect("time"),
        }
    }

    fn export_concept_map(
        rows: &[MappingView],
        four_eyes: bool,
        include_all: bool,
    ) -> (Vec<u8>, usize) {
        let mut writer =
            ConceptMapWriter::new(Vec::new(), &project(four_eyes), &options(include_all))
                .expect("head");
        for m in rows {
            writer.write(m).expect("element");
        }
        let written = writer.written();
        (writer.finish().expect("finish"), written)
    }

    #[test]
    fn concept_map_export_of_settled_mappings() {
        let mut rows = sample();
        sort_for_concept_map(&mut rows);
        let (bytes, written) = export_concept_map(&rows, true, false);
        assert_eq!(written, 3);
        let doc: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(
            doc,
            json!({
                "resourceType": "ConceptMap",
                "id": "hyojun-mapping-7",
                "url": "https://hyojun.example.jp/fhir/ConceptMap/hyojun-mapping-7",
                "name": "HyojunMapping7",
                "title": "検査マッピング 2026",
                "status": "active",
                "date": "2026-01-02T03:04:05Z",
                "group": [
                    {
                        "source": "http://hospital.example.jp/CodeSystem/lab",
                        "element": [{
                            "code": "L005",
                            "display": "院内特殊検査",
                            "target": [{"equivalence": "unmatched", "comment": "該当なし、\"外注\""}]
                        }]
                    },
                    {
                        "source": "http://hospital.example.jp/CodeSystem/lab",
                        "target": "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
                        "element": [{
                            "code": "L001",
                            "display": "ＡＳＴ（ＧＯＴ）",
                            "target": [{
                                "code": "3B035000002327201",
                                "display": "AST",
                                "equivalence": "equivalent",
                                "comment": "至急, \"再検\" あり\n2行目"
                            }]
                        }]
                    },
                    {
                        "source": "http://hospital.example.jp/CodeSystem/lab",
                        "target": "urn:hyojun:jlac11",
                        "element": [{
                            "code": "L008",
                            "display": "血糖",
                            "target": [{
                                "code": "3D010000001926101",
                                "display": "3D010000001926101 の名称",
                                "equivalence": "inexact",
                                "comment": NO_COMMENT
                            }]
                        }]
                    }
                ]
            })
        );
        let decisions = read_concept_map(&bytes, "map.json", &Limits::default()).expect("read");
        let by_code = |code: &str| rows.iter().find(|m| m.local_code == code).expect("row");
        let expected: Vec<Decision> = ["L005", "L001", "L008"]
            .into_iter()
            .map(|c| decision(by_code(c), None))
            .collect();
        assert_eq!(decisions, expected);

        // Without four-eyes, an unreviewed no-match decision is settled too.
        let (_, written) = export_concept_map(&rows, false, false);
        assert_eq!(written, 4);
    }

    #[test]
    fn concept_map_with_every_state_round_trips_through_the_comment_prefix() {
        let mut rows = sample();
        sort_for_concept_map(&mut rows);
        let (bytes, written) = export_concept_map(&rows, true, true);
        assert_eq!(written, 9);
        let doc: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(doc["status"], "draft");
        let groups = doc["group"].as_array().expect("groups");
        assert_eq!(groups.len(), 3);
        // The unmapped code has no target; L002's empty comment becomes its state.
        let no_target = &groups[0]["element"];
        assert_eq!(no_target[1], json!({"code": "L006", "display": "旧検査"}));
        assert_eq!(
            no_target[2]["target"],
            json!([{"equivalence": "unmatched", "comment": "[flagged] 外注先を確認"}])
        );
        assert_eq!(groups[1]["element"][1]["code"], "L002");
        assert_eq!(
            groups[1]["element"][1]["target"][0]["comment"],
            "[proposed]"
        );

        let decisions = read_concept_map(&bytes, "all.json", &Limits::default()).expect("read");
        let expected: Vec<Decision> = rows
            .iter()
            .filter(|m| m.state != State::Unmapped)
            .map(|m| decision(m, None))
            .collect();
        assert_eq!(decisions, expected);
        let states: Vec<&str> = decisions.iter().map(|d| d.state.as_str()).collect();
        assert_eq!(
            states,
            [
                "no_match", "flagged", "no_match", "approved", "proposed", "flagged", "rejected",
                "approved"
            ]
        );
    }

    #[test]
    fn concept_map_rows_out_of_group_order_are_refused_and_an_empty_map_has_no_group() {
        let rows = sample();
        let mut writer =
            ConceptMapWriter::new(Vec::new(), &project(true), &options(false)).expect("head");
        assert!(writer.write(&rows[0]).expect("jlac10"));
        assert!(writer.write(&rows[4]).expect("no target"));
        assert!(!writer.write(&rows[1]).expect("proposed: skipped"));
        let err = writer.write(&rows[0]).expect_err("jlac10 again");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("rows of jlac10 came again"));

        let mut options = options(false);
        options.url = None;
        let empty = ConceptMapWriter::new(Vec::new(), &project(true), &options)
            .expect("head")
            .finish()
            .expect("finish");
        assert_eq!(
            String::from_utf8(empty).expect("utf-8"),
            "{\"resourceType\":\"ConceptMap\",\"id\":\"hyojun-mapping-7\",\"name\":\"HyojunMapping7\",\
             \"title\":\"検査マッピング 2026\",\"status\":\"active\",\"date\":\"2026-01-02T03:04:05Z\"}"
        );
    }

    #[test]
    fn a_concept_map_from_another_producer_is_read() {
        let text = r#"{
          "resourceType": "ConceptMap",
          "id": "lab-to-jlac",
          "status": "active",
          "group": [
            {
              "source": "http://hospital.example.jp/lab",
              "target": "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
              "element": [
                {"code": "K01", "display": "AST",
                 "target": [{"code": "3B035000002327201", "display": "AST", "equivalence": "equal"}]},
                {"code": "K02",
                 "target": [{"code": "3D046000001920402", "equivalence": "subsumes", "comment": "HbA1c (NGSP)"}]},
                {"code": "K03", "target": [{"equivalence": "unmatched", "comment": "JLAC10 にない"}]},
                {"code": "K04"}
              ]
            },
            {
              "source": "http://hospital.example.jp/lab",
              "target": "urn:oid:1.2.392.200119.4.101.2",
              "element": [
                {"code": "D01",
                 "target": [{"code": "20050001", "equivalence": "specializes", "comment": "[sic] 狭い"}]}
              ]
            },
            {
              "source": "http://hospital.example.jp/lab",
              "element": [{"code": "K05", "target": [{"equivalence": "disjoint"}]}]
            }
          ]
        }"#;
        let mut bytes = BOM.to_vec();
        bytes.extend_from_slice(text.as_bytes());
        let decisions = read_concept_map(&bytes, "other.json", &Limits::default()).expect("read");
        let d = |code: &str,
                 state: State,
                 target: Option<(&str, &str, Equivalence)>,
                 comment: &str| Decision {
            local_code: code.into(),
            state,
            target_system: target.map(|t| t.0.into()),
            target_code: target.map(|t| t.1.into()),
            equivalence: target.map(|t| t.2),
            comment: comment.into(),
            line: None,
        };
        assert_eq!(
            decisions,
            [
                d(
                    "K01",
                    State::Approved,
                    Some(("jlac10", "3B035000002327201", Equivalence::Equivalent)),
                    ""
                ),
                d(
                    "K02",
                    State::Approved,
                    Some(("jlac10", "3D046000001920402", Equivalence::Wider)),
                    "HbA1c (NGSP)"
                ),
                d("K03", State::NoMatch, None, "JLAC10 にない"),
                d(
                    "D01",
                    State::Approved,
                    Some(("byomei", "20050001", Equivalence::Narrower)),
                    "[sic] 狭い"
                ),
                d("K05", State::NoMatch, None, ""),
            ]
        );
    }

    #[test]
    fn a_broken_concept_map_is_reported() {
        let text = r#"{"resourceType": "ConceptMap", "group": [
            {"target": "http://example.org/unknown", "element": [{"code": "A", "target": [{"code": "1"}]}]},
            {"target": "urn:hyojun:jlac10", "element": [
                {"code": "B", "target": [{"code": "1", "equivalence": "same"}]},
                {"code": "C", "target": [{"code": "1", "equivalence": "equal"}, {"code": "2", "equivalence": "wider"}]},
                {"code": "D", "target": [{"code": "1", "equivalence": "equal"}]},
                {"target": [{"code": "1"}]}
            ]},
            {"element": [
                {"code": "D", "target": [{"equivalence": "unmatched"}]},
                {"code": "E", "target": [{"code": "9", "equivalence": "equal"}]},
                {"code": "F", "target": [{"comment": "?"}]}
            ]}
        ]}"#;
        let problems =
            read_concept_map(text.as_bytes(), "bad.json", &Limits::default()).expect_err("bad");
        let found: Vec<(&str, &str)> = problems
            .items()
            .iter()
            .map(|p| (p.kind, p.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "unknown_system",
                    "ConceptMap.group[0].target: hyojun knows no code system `http://example.org/unknown`"
                ),
                (
                    "unknown_equivalence",
                    "ConceptMap.group[1].element[0].target[0]: equivalence `same` is not a FHIR R4 one"
                ),
                (
                    "several_targets",
                    "ConceptMap.group[1].element[1]: local code C has 2 targets"
                ),
                ("missing_code", "ConceptMap.group[1].element[3]: no code"),
                (
                    "duplicate_code",
                    "ConceptMap.group[2].element[0]: local code D is already mapped at ConceptMap.group[1].element[2]"
                ),
                (
                    "missing_group_target",
                    "ConceptMap.group[2]: a target code, but the group names no target system"
                ),
                (
                    "empty_target",
                    "ConceptMap.group[2].element[2].target[0]: neither a code nor an equivalence"
                ),
            ]
        );

        let problems = read_concept_map(
            b"{\"resourceType\": \"Bundle\"}",
            "b.json",
            &Limits::default(),
        )
        .expect_err("bundle");
        assert_eq!(problems.items()[0].kind, "not_concept_map");
        assert_eq!(
            problems.items()[0].message,
            "the file holds a Bundle, not a ConceptMap"
        );
        let problems = read_concept_map(
            b"{\n  \"resourceType\": \"ConceptMap\",\n  oops\n}",
            "j.json",
            &Limits::default(),
        )
        .expect_err("json");
        assert_eq!(
            (problems.items()[0].kind, problems.items()[0].line),
            ("json", Some(3))
        );
    }
}
