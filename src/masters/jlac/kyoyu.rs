//! The eCS 共有項目JLACコードマスタ: 32 columns, UTF-8, every field quoted, a header row.
//! One row per IVD product: a JLAC11 code (system `jlac11`) with the JLAC10 code it
//! corresponds to (kept as a `code` link, so a JLAC10 lookup finds the JLAC11 rows).

use rustc_hash::FxHashMap as HashMap;

use super::sheets::is_jlac10;
use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limits};
use crate::masters::checks;
use crate::masters::fields::Fields;
use crate::masters::input::SourceFile;
use crate::masters::problem::{Problem, Problems};
use crate::masters::record::{Attributes, Designation, Link, Record, Relation, Status};
use crate::masters::sniff;
use crate::masters::text::{self, Row};

/// Attribute key and REAL header title (third-party fixture, `master-formats.md` §3.5).
pub const COLUMNS: [(&str, &[&str]); 32] = [
    ("category", &["区分名称"]),
    ("category_reserve", &["予備区分名称"]),
    ("emergency_flag", &["救急フラグ"]),
    ("lifestyle_flag", &["生活習慣病フラグ"]),
    ("data_class", &["データ区分"]),
    ("item", &["大項目"]),
    ("fhir_name", &["FHIR項目名称"]),
    ("fhir_id", &["FHIR識別文字列"]),
    ("abbreviation", &["略称"]),
    ("product_name", &["販売名称"]),
    ("material_jlac11", &["材料(JLAC11)"]),
    ("method_jlac11", &["測定法(JLAC11)"]),
    ("jlac11", &["JLAC11コード"]),
    ("unit", &["表示用単位"]),
    ("unit_2", &["表示用単位2"]),
    ("xml_unit", &["XML用単位"]),
    ("xml_unit_2", &["XML用単位2"]),
    ("material_jlac10", &["材料(JLAC10)"]),
    ("method_jlac10", &["検査方法(JLAC10-測定法)"]),
    ("jlac10", &["JLAC10コード"]),
    ("reference_low_flag", &["基準値フラグ(下限)"]),
    ("reference_high_flag", &["基準値フラグ(上限)"]),
    ("reference_judgement_flag", &["基準値フラグ(判定)"]),
    ("data_type", &["データタイプ"]),
    ("value_low", &["値の下限"]),
    ("value_high", &["値の上限"]),
    ("numeric_format", &["数値型の場合の形式"]),
    ("code_values", &["コード型の場合の値リスト"]),
    ("code_oid", &["コード型のOID"]),
    ("sort_order", &["並び順"]),
    ("valid_from", &["適用開始日"]),
    ("valid_to", &["適用終了日"]),
];
/// The kind of each column of [`COLUMNS`], for its length limit.
const KINDS: [FieldKind; COLUMNS.len()] = {
    use FieldKind::{Code as C, Name as N, Text as T};
    [
        N, N, C, C, N, N, N, N, N, N, // 区分名称 … 販売名称
        N, N, C, N, N, N, N, // 材料/測定法(JLAC11), JLAC11コード, 単位 ×4
        N, N, C, // 材料/検査方法(JLAC10), JLAC10コード
        C, C, C, N, C, C,
        N, // 基準値フラグ ×3, データタイプ, 値の下限/上限, 数値型の形式
        T, N, C, C,
        C, // コード型の値リスト, OID, 並び順, 適用開始日/終了日
    ]
};

const FHIR_NAME: usize = 6;
const FHIR_ID: usize = 7;
const ABBREVIATION: usize = 8;
const PRODUCT: usize = 9;
const MATERIAL11: usize = 10;
const JLAC11: usize = 12;
const UNIT: usize = 13;
const JLAC10: usize = 19;
const VALID_FROM: usize = 30;
const VALID_TO: usize = 31;

/// Does this header row name the 共有項目 layout (used to recognise a renamed file)?
pub fn is_header(first_line: &str) -> bool {
    first_line.contains("JLAC11コード") && first_line.contains("JLAC10コード")
}

/// `^[A-Z][0-9]{4}[0-9]{4}[0-9]{3}[0-9]{3}[0-9A-HJ-NP-Z][0-9]$` (`master-formats.md` §3.4).
pub fn is_jlac11(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 17
        && b[0].is_ascii_uppercase()
        && b[1..15].iter().all(u8::is_ascii_digit)
        && (b[15].is_ascii_digit() || (b[15].is_ascii_uppercase() && !matches!(b[15], b'I' | b'O')))
        && b[16].is_ascii_digit()
}

/// The file is published as UTF-8 (a BOM is accepted); a CP932 re-save that decodes cleanly
/// is accepted too. Otherwise the first byte that is not UTF-8 is reported (a CP932 decode
/// of a UTF-8 file would flag every Japanese character).
fn decode(source: &SourceFile, limits: &Limits) -> Result<text::DecodedText, Problems> {
    sniff::check(source)?;
    text::check_row_lengths(source, limits)?;
    let body = source
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&source.bytes);
    match std::str::from_utf8(body) {
        Ok(_) => text::decode(source, limits),
        Err(err) => text::decode(source, limits).map_err(|_| {
            let at = source.bytes.len() - body.len() + err.valid_up_to();
            let before = &source.bytes[..at];
            let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            Problem::line(
                &source.display_name,
                line,
                "invalid_encoding",
                format!(
                    "byte {:02X} at byte {} of the line is not valid UTF-8",
                    source.bytes[at],
                    at - start + 1
                ),
                "the 共有項目JLACコードマスタ is UTF-8; the file may be corrupt or re-saved in another encoding",
            )
            .into()
        }),
    }
}

/// The file decoded and split, its header checked.
pub struct Table<'a> {
    pub source: &'a SourceFile,
    pub encoding: &'static str,
    pub rows: Vec<Row>,
}

/// Reads the file within `limits`: its header checked, every field of every row checked.
pub fn read<'a>(source: &'a SourceFile, limits: &Limits) -> Result<Table<'a>, Problems> {
    let name = source.display_name.as_str();
    let decoded = decode(source, limits)?;
    let mut rows = text::csv_rows(name, &decoded.text, limits)?;
    let fix = "use the 共有項目JLACコードマスタ CSV as published: a header row `区分名称,予備区分名称,…,適用終了日` (32 columns) and one row per product";
    let Some(first) = rows.first() else {
        return Err(Problem::file(name, "empty_file", "the file holds no rows".into(), fix).into());
    };
    let titles: Vec<&str> = first.fields.iter().collect();
    let mut problems = Problems::default();
    checks::check_titles(
        name,
        first.line,
        &titles,
        &COLUMNS,
        "共有項目JLACコードマスタ",
        fix,
        &mut problems,
    );
    rows.remove(0);
    let fields = Fields { file: name, limits };
    for row in &rows {
        if row.fields.len() == COLUMNS.len() {
            fields.row(row, |c| COLUMNS[c].1[0], &KINDS, &mut problems);
        } else {
            problems.push(Problem::line(
                name,
                row.line,
                "column_count",
                format!(
                    "the row has {} columns, the 共有項目JLACコードマスタ layout has {}",
                    row.fields.len(),
                    COLUMNS.len()
                ),
                "every field is quoted in the published file; a quote or comma is missing or extra on this line, or it is cut off",
            ));
        }
    }
    if rows.is_empty() {
        problems.push(Problem::file(
            name,
            "header_only",
            "the file has a header but no data rows".into(),
            fix,
        ));
    }
    if problems.is_empty() {
        Ok(Table {
            source,
            encoding: decoded.encoding.as_str(),
            rows,
        })
    } else {
        Err(problems)
    }
}

/// Turns the rows into JLAC11 records. A JLAC11 code listed twice is refused unless the two
/// rows are identical (then the repeat is a notice).
pub fn records(
    table: &Table,
    file_index: usize,
    records: &mut Vec<Record>,
    problems: &mut Problems,
    notices: &mut Problems,
) {
    let name = table.source.display_name.as_str();
    let field = |row: &Row, col: usize, kind, message: String, fix: &str| {
        Problem::field(
            name,
            row.line,
            col + 1,
            COLUMNS[col].1[0],
            kind,
            message,
            fix,
        )
    };
    let mut seen: HashMap<&str, (u64, &Row)> = HashMap::default();
    for row in &table.rows {
        let f = &row.fields;
        let (jlac11, jlac10) = (&f[JLAC11], &f[JLAC10]);
        let mut ok = true;
        if !is_jlac11(jlac11) {
            ok = false;
            problems.push(field(
                row,
                JLAC11,
                "bad_code",
                format!("`{}` is not a 17-character JLAC11 code", excerpt(jlac11)),
                "JLAC11 is 測定物 (a letter and 4 digits) + 識別 4 + 材料 3 + 測定法 3 + 結果単位 2, e.g. C1002000025002755",
            ));
        }
        if !jlac10.is_empty() && !is_jlac10(jlac10) {
            ok = false;
            problems.push(field(
                row,
                JLAC10,
                "bad_code",
                format!("`{}` is not a 17-character JLAC10 code", excerpt(jlac10)),
                "JLAC10 is 分析物 5 + 識別 4 + 材料 3 + 測定法 3 + 結果識別 2 (`^[0-9][A-Z][0-9]{15}$`), or empty",
            ));
        }
        for col in [VALID_FROM, VALID_TO] {
            let d = &f[col];
            if !d.is_empty() && !checks::all_digits(d, 8) {
                notices.push(field(
                    row,
                    col,
                    "bad_date",
                    format!("`{}` is not a yyyymmdd date", excerpt(d)),
                    "imported as published",
                ));
            }
        }
        if !ok {
            continue;
        }
        if let Some((line, first)) = seen.get(jlac11) {
            if first.fields == row.fields {
                notices.push(field(
                    row,
                    JLAC11,
                    "duplicate_row",
                    format!("JLAC11 {jlac11} is listed again, identical to line {line}"),
                    "the repeat is ignored",
                ));
            } else {
                problems.push(field(
                    row,
                    JLAC11,
                    "duplicate_code",
                    format!("JLAC11 {jlac11} is already on line {line}, with different values"),
                    "each JLAC11 code names one product; remove the wrong row or fetch the file again",
                ));
            }
            continue;
        }
        seen.insert(jlac11, (row.line, row));
        let display = [&f[FHIR_NAME], &f[MATERIAL11], &f[PRODUCT]]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("_");
        let mut designations = vec![Designation {
            kind: "display",
            value: display.clone(),
        }];
        for (kind, col) in [
            ("fhir_name", FHIR_NAME),
            ("fhir_id", FHIR_ID),
            ("abbreviation", ABBREVIATION),
            ("product", PRODUCT),
            ("unit", UNIT),
        ] {
            if !f[col].is_empty() {
                designations.push(Designation {
                    kind,
                    value: f[col].to_owned(),
                });
            }
        }
        let links = if jlac10.is_empty() {
            Vec::new()
        } else {
            vec![Link {
                relation: Relation::Code,
                system: "jlac10",
                code: jlac10.to_owned(),
            }]
        };
        records.push(Record {
            system: "jlac11",
            code: jlac11.to_owned(),
            row_key: jlac11.to_owned(),
            status: Status::Active,
            display,
            attributes: Attributes::from_pairs(COLUMNS.iter().map(|c| c.0).zip(f.iter())),
            designations,
            links,
            origin: (file_index, row.line),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jlac11_shape() {
        assert!(is_jlac11("C1002000025002755"));
        assert!(is_jlac11("C20080000250009F7"));
        assert!(!is_jlac11("C10020000250027I5"));
        assert!(!is_jlac11("3A010000002327101"));
    }
}
