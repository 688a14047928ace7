//! FHIR R4 ConceptMap import: a ConceptMap from hyojun or another producer read into
//! [`Decision`]s.

use std::collections::HashMap;

use super::concept_map_model::{ConceptMap, Target};
use super::decision::{resolve_system, wants_target, Decision, FIX_SYSTEM};
use super::{BOM, NO_COMMENT};
use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limit, Limits};
use crate::mapping::fields;
use crate::mapping::state::{Equivalence, State};
use crate::masters::{Problem, Problems};

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

/// A target's equivalence (R4), or its relationship (R5) when it has none.
fn equivalence(target: &Target) -> Option<&str> {
    target
        .equivalence
        .get()
        .or_else(|| target.relationship.get())
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
/// The document is read into the typed model of `concept_map_model`, which takes members of
/// an unexpected JSON type as absent and skips unknown ones; problems name the member by its
/// JSON path (`ConceptMap.group[1].element[0].target[0]`) and say how to fix it.
///
/// Limits: the document's size ([`Limit::JsonBytes`]) and nesting depth ([`Limit::JsonDepth`],
/// checked before it is parsed), its elements ([`Limit::LocalCodes`]), and the strings read:
/// element and target codes, equivalences (codes), group targets (names) and comments (free
/// text), which are refused with control characters.
///
/// [`ConceptMapWriter`]: super::ConceptMapWriter
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
    let doc = ConceptMap::from_slice(bytes).map_err(|e| {
        Problems::from(Problem::line(
            file_name,
            e.line() as u64,
            "json",
            format!("not readable as JSON: {e}"),
            fix_json,
        ))
    })?;
    let resource_type = doc.resource_type.get();
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
    let Some(groups) = doc.group.items() else {
        return Err(structure("ConceptMap.group".into(), "not an array").into());
    };
    let elements: usize = groups
        .iter()
        .map(|g| g.element.items().map_or(0, <[_]>::len))
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
            group.target.get(),
            FieldKind::Name,
        ) {
            continue;
        }
        let system = match group.target.get() {
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
        let Some(elements) = group.element.items() else {
            problems.push(structure(format!("{group_path}.element"), "not an array"));
            continue;
        };
        for (e, element) in elements.iter().enumerate() {
            let path = format!("{group_path}.element[{e}]");
            let target0 = element.target.items().and_then(<[_]>::first);
            let strings = [
                (format!("{path}.code"), element.code.get(), FieldKind::Code),
                (
                    format!("{path}.target[0].code"),
                    target0.and_then(|t| t.code.get()),
                    FieldKind::Code,
                ),
                (
                    format!("{path}.target[0].equivalence"),
                    target0.and_then(equivalence),
                    FieldKind::Code,
                ),
                (
                    format!("{path}.target[0].comment"),
                    target0.and_then(|t| t.comment.get()),
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
            let Some(code) = element.code.get() else {
                problems.push(Problem::file(
                    file_name,
                    "missing_code",
                    format!("{path}: no code"),
                    "give every element the local code it maps",
                ));
                continue;
            };
            let Some(targets) = element.target.items() else {
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
            let target_code = target.code.get();
            let relation = match equivalence(target) {
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
            let mut comment = target.comment.get().unwrap_or_default();
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
    fn the_raw_value_token_of_serde_json_is_an_unknown_member() {
        // serde_json (built with `raw_value`) reads an object whose first member is named
        // `$serde_json::private::RawValue` as the JSON text in that member's string when it
        // makes a `serde_json::Value`. The reader once read the whole document so, and took
        // this "group" as an array of groups parsed from a string, past the depth check
        // (which does not look into strings). The typed model skips it as any unknown member.
        let text = br#"{"resourceType": "ConceptMap", "group": {"$serde_json::private::RawValue": "[{\"element\": [{\"code\": \"A\", \"target\": [{\"equivalence\": \"unmatched\"}]}]}]"}}"#;
        let problems = read_concept_map(text, "raw.json", &Limits::default()).expect_err("bad");
        let found: Vec<(&str, &str)> = problems
            .items()
            .iter()
            .map(|p| (p.kind, p.message.as_str()))
            .collect();
        assert_eq!(found, [("bad_structure", "ConceptMap.group: not an array")]);
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

    #[test]
    fn limits_and_control_characters_in_concept_map_imports() {
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
    }
}
