//! The 17桁コード表 sheet: one JLAC10 record per 17-character code, its five components
//! decoded to names (from the row's 名称 cells, else from the component sheets), and a
//! `code` link to its 15-character order code.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;

use super::sheets::{self, column_letter, is_jlac10, CodeColumns, Grid, Names, GROUPS};
use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limits};
use crate::masters::fields::Fields;
use crate::masters::problem::{Problem, Problems};
use crate::masters::record::{Attributes, Designation, Link, Record, Relation, Status};

/// The component tables, from the component sheets.
#[derive(Default)]
pub struct Components {
    pub analyte: Names,
    pub identification: Names,
    pub material: Names,
    pub method: Names,
    pub result_common: Names,
    /// Keyed by 分析物 + 識別 + 結果識別 (11 characters).
    pub result_specific: Names,
}

/// Byte ranges of the five components in a 17-character code.
const PARTS: [(usize, usize); 5] = [(0, 5), (5, 9), (9, 12), (12, 15), (15, 17)];
const PART_TITLES: [&str; 5] = ["分析物", "識別", "材料", "測定法", "結果識別"];

/// What the sheet gave: rows read, rows in the new-code block.
pub struct Counts {
    pub rows: u64,
    pub new_rows: u64,
}

/// Reads every code row of the sheet into `records`.
#[allow(clippy::too_many_arguments)]
pub fn records(
    file: &str,
    file_index: usize,
    grid: &Grid,
    components: &Components,
    limits: &Limits,
    records: &mut Vec<Record>,
    problems: &mut Problems,
    notices: &mut Problems,
) -> Counts {
    let shown = format!("{file} [{}]", grid.name);
    let fields = Fields {
        file: &shown,
        limits,
    };
    let (cols, first_data) = sheets::locate_columns(grid);
    if !cols.from_headers {
        notices.push(Problem::file(
            &shown,
            "header_not_recognised",
            "the header rows do not name the JLAC10 code column; the documented layout is used (C = code, D–U = 分析物 … 結果識別 groups, X = 単位)".into(),
            "check a few imported codes; if the columns moved, report the workbook's header rows",
        ));
    }
    let cell_name = |col: usize| -> String {
        if col == cols.code {
            format!("{} JLAC10コード(17桁)", column_letter(col))
        } else {
            column_letter(col)
        }
    };
    let mut counts = Counts {
        rows: 0,
        new_rows: 0,
    };
    let mut in_new_block = false;
    let mut seen: HashMap<String, usize> = HashMap::default();
    let mut mismatches = Mismatches::default();
    let mut unknown: [BTreeSet<String>; 5] = Default::default();
    for r in first_data..grid.rows.len() {
        let code = grid.code(r, cols.code, 17);
        if !is_jlac10(&code) {
            if grid.rows[r].iter().all(|c| c.text.is_empty()) {
                continue;
            }
            if sheets::is_title_row(grid, r) {
                in_new_block |= sheets::opens_new_block(grid, r);
                continue;
            }
            let parts_given = cols.component_codes().any(|c| !grid.cell(r, c).is_empty());
            if !code.is_empty() {
                problems.push(Problem::field(
                    &shown,
                    r as u64 + 1,
                    cols.code + 1,
                    &cell_name(cols.code),
                    "bad_code",
                    format!(
                        "cell {}{}: `{}` is not a 17-character JLAC10 code",
                        column_letter(cols.code),
                        r + 1,
                        excerpt(&code)
                    ),
                    "a JLAC10 code is 分析物 5 + 識別 4 + 材料 3 + 測定法 3 + 結果識別 2 (`^[0-9][A-Z][0-9]{15}$`, e.g. 3A010000002327101); correct the cell or fetch the まとめ表 again",
                ));
            } else if parts_given {
                problems.push(Problem::field(
                    &shown,
                    r as u64 + 1,
                    cols.code + 1,
                    &cell_name(cols.code),
                    "missing_code",
                    format!(
                        "row {} names components but its JLAC10 code cell {}{} is empty",
                        r + 1,
                        column_letter(cols.code),
                        r + 1
                    ),
                    "fill in the 17-character code or remove the row",
                ));
            }
            continue;
        }
        if !cells_ok(&fields, grid, r, &cols, problems) {
            continue;
        }
        counts.rows += 1;
        if in_new_block {
            counts.new_rows += 1;
        }
        if let Some(&first) = seen.get(&code) {
            let same = (cols.code..grid.rows[r].len().max(grid.rows[first].len()))
                .all(|c| grid.cell(r, c) == grid.cell(first, c));
            if same {
                notices.push(Problem::field(
                    &shown,
                    r as u64 + 1,
                    cols.code + 1,
                    &cell_name(cols.code),
                    "duplicate_row",
                    format!("{code} is listed again, identical to row {}", first + 1),
                    "the repeat is ignored",
                ));
            } else {
                problems.push(Problem::field(
                    &shown,
                    r as u64 + 1,
                    cols.code + 1,
                    &cell_name(cols.code),
                    "duplicate_code",
                    format!(
                        "{code} is already on row {}, with different values",
                        first + 1
                    ),
                    "a JLAC10 code has one row; remove the wrong row or fetch the まとめ表 again",
                ));
            }
            continue;
        }
        seen.insert(code.clone(), r);
        records.push(record(
            grid,
            r,
            &code,
            &cols,
            components,
            in_new_block,
            file_index,
            &mut mismatches,
            &mut unknown,
        ));
    }
    if let Some((row, col, given, part)) = &mismatches.first {
        notices.push(Problem::field(
            &shown,
            *row as u64 + 1,
            col + 1,
            &column_letter(*col),
            "component_mismatch",
            format!(
                "the component cell says `{}`, the code says `{part}`; {} such cell(s) in the sheet",
                excerpt(given),
                mismatches.count
            ),
            "the 17-character code is taken as authoritative",
        ));
    }
    for (i, missing) in unknown.iter().enumerate() {
        if missing.is_empty() {
            continue;
        }
        let listed: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
        notices.push(Problem::file(
            &shown,
            "unknown_component",
            format!(
                "{} {} code(s) have no name in the row nor in the {} sheet: {}{}",
                missing.len(),
                PART_TITLES[i],
                PART_TITLES[i],
                listed.join(", "),
                if missing.len() > 10 { ", …" } else { "" }
            ),
            "imported with the code as name; a newer edition of the component sheets may list them",
        ));
    }
    counts
}

/// Component cells that disagree with the code: counted, the first kept for the notice.
#[derive(Default)]
struct Mismatches {
    /// Row, column, the cell's value and the code's part.
    first: Option<(usize, usize, String, String)>,
    count: usize,
}

/// Checks the cells of a code row that the record reads: flags and codes as codes, names and
/// the unit as names.
fn cells_ok(
    fields: &Fields,
    grid: &Grid,
    r: usize,
    cols: &CodeColumns,
    problems: &mut Problems,
) -> bool {
    let mut ok = true;
    let mut check = |col: Option<usize>, kind| {
        if let Some(c) = col {
            let name = column_letter(c);
            ok &= fields.value(r as u64 + 1, c + 1, &name, kind, grid.cell(r, c), problems);
        }
    };
    for (flag, code, name) in cols.groups {
        check(flag, FieldKind::Code);
        check(code, FieldKind::Code);
        check(name, FieldKind::Name);
    }
    check(cols.unit, FieldKind::Name);
    ok
}

#[allow(clippy::too_many_arguments)]
fn record(
    grid: &Grid,
    r: usize,
    code: &str,
    cols: &CodeColumns,
    components: &Components,
    in_new_block: bool,
    file_index: usize,
    mismatches: &mut Mismatches,
    unknown: &mut [BTreeSet<String>; 5],
) -> Record {
    let part = |i: usize| &code[PARTS[i].0..PARTS[i].1];
    let get = |col: Option<usize>| col.map_or(String::new(), |c| grid.cell(r, c).to_owned());
    let tables = [
        &components.analyte,
        &components.identification,
        &components.material,
        &components.method,
        &components.result_common,
    ];
    let mut pairs: Vec<(String, String)> = vec![("order_code".into(), code[..15].to_owned())];
    let mut names: Vec<(String, String)> = Vec::new();
    for i in 0..5 {
        let (flag_col, code_col, name_col) = cols.groups[i];
        if let Some(c) = code_col {
            let given = grid.code(r, c, PARTS[i].1 - PARTS[i].0);
            if !given.is_empty() && given != part(i) {
                mismatches.count += 1;
                mismatches
                    .first
                    .get_or_insert_with(|| (r, c, given, part(i).to_owned()));
            }
        }
        let mut ja = get(name_col);
        let mut en = String::new();
        if i == 4 {
            // 結果識別: a 固有 (analyte-specific) meaning wins over the 共通 one.
            let key = format!("{}{}{}", part(0), part(1), part(4));
            let specific = components.result_specific.get(&key);
            let from_row = get(cols.groups[5].2);
            if !from_row.is_empty() {
                ja = from_row;
            } else if let Some((sja, _)) = specific {
                ja = sja.clone();
            }
            if let Some((_, sen)) = specific {
                en = sen.clone();
            }
        }
        if let Some((tja, ten)) = tables[i].get(part(i)) {
            if ja.is_empty() {
                ja = tja.clone();
            }
            if en.is_empty() {
                en = ten.clone();
            }
        }
        if ja.is_empty() {
            unknown[i].insert(part(i).to_owned());
        }
        let key = GROUPS[i];
        pairs.push((format!("{key}_flag"), get(flag_col)));
        pairs.push((format!("{key}_code"), part(i).to_owned()));
        pairs.push((format!("{key}_name"), ja.clone()));
        pairs.push((format!("{key}_name_en"), en.clone()));
        names.push((ja, en));
    }
    let (sflag, scode, sname) = cols.groups[5];
    pairs.push(("result_specific_flag".into(), get(sflag)));
    pairs.push(("result_specific_code".into(), get(scode)));
    pairs.push(("result_specific_name".into(), get(sname)));
    pairs.push(("unit".into(), get(cols.unit)));
    if in_new_block {
        pairs.push(("section".into(), "新コード".into()));
    }
    // JP Core style display: 分析物_材料_測定法_結果識別, 識別 after the analyte when not 0000.
    let shown = |i: usize| {
        if names[i].0.is_empty() {
            part(i).to_owned()
        } else {
            names[i].0.clone()
        }
    };
    let mut display_parts = vec![shown(0)];
    if part(1) != "0000" {
        display_parts.push(shown(1));
    }
    display_parts.extend([shown(2), shown(3), shown(4)]);
    let display = display_parts.join("_");
    let mut designations = vec![Designation {
        kind: "display",
        value: display.clone(),
    }];
    const KINDS: [(&str, &str); 5] = [
        ("analyte", "analyte_en"),
        ("identification", "identification_en"),
        ("material", "material_en"),
        ("method", "method_en"),
        ("result", "result_en"),
    ];
    for (i, (ja, en)) in names.iter().enumerate() {
        if i == 1 && part(1) == "0000" {
            continue;
        }
        for (kind, value) in [(KINDS[i].0, ja), (KINDS[i].1, en)] {
            if !value.is_empty() {
                designations.push(Designation {
                    kind,
                    value: value.clone(),
                });
            }
        }
    }
    Record {
        system: "jlac10",
        code: code.to_owned(),
        row_key: code.to_owned(),
        status: Status::Active,
        display,
        attributes: Attributes::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        designations,
        links: vec![Link {
            relation: Relation::Code,
            system: "jlac10",
            code: code[..15].to_owned(),
        }],
        origin: (file_index, r as u64 + 1),
    }
}
