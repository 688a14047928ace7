//! FHIR R4 ConceptMap export: a project's mappings streamed as one JSON resource.

use std::collections::HashSet;
use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::NO_COMMENT;
use crate::mapping::project::{MappingView, Project};
use crate::mapping::state::{Equivalence, State};
use crate::systems;

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

impl ConceptMapOptions {
    /// A file export dated now: no canonical URL, version or `sourceUri` (the command line's
    /// and `GET …/export?format=conceptmap`).
    pub fn export_now(include_all: bool) -> Self {
        ConceptMapOptions {
            url: None,
            version: None,
            source_uri: None,
            include_all,
            date: Utc::now(),
        }
    }
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
///
/// [`read_concept_map`]: super::read_concept_map
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{read_concept_map, Decision};
    use super::*;
    use crate::limits::Limits;

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
}
