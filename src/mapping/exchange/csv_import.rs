//! CSV decision import: an export read back (UTF-8 or CP932) into [`Decision`]s.

use super::decision::{resolve_system, wants_target, Decision, FIX_SYSTEM};
use crate::excerpt::excerpt;
use crate::hygiene::restore_formula;
use crate::limits::{FieldKind, Limit, Limits};
use crate::mapping::fields;
use crate::mapping::local_codes::{CodeColumn, COLUMNS};
use crate::mapping::state::{Equivalence, State};
use crate::masters::input::SourceFile;
use crate::masters::text::{read_rows, Row};
use crate::masters::{Problem, Problems};

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
///
/// [`write_csv_header`]: super::write_csv_header
/// [`write_csv_row`]: super::write_csv_row
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
            .rposition(|h| crate::text::Level::Title.matches_any(h, names))
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

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
    fn limits_and_control_characters_in_csv_imports() {
        let limits = Limits {
            code_chars: 8,
            ..Limits::default()
        };
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
}
