//! A hospital's local code list (CSV, UTF-8 or CP932) and how a new upload merges with the
//! codes a project already has.
//!
//! The first row is a header. Columns are recognised by name (Japanese or English, see
//! [`COLUMNS`]); a local code and a local name column are required, every other column is kept
//! as an extra column under its header and exported again.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limit, Limits};
use crate::mapping::fields;
use crate::masters::input::SourceFile;
use crate::masters::text::{read_rows, Row};
use crate::masters::{Problem, Problems};

/// The columns hyojun understands, with the header names it recognises (compared after
/// trimming, case-insensitively).
pub const COLUMNS: [(&str, &[&str]); 6] = [
    (
        "code",
        &[
            "code",
            "local_code",
            "コード",
            "ローカルコード",
            "院内コード",
            "項目コード",
        ],
    ),
    (
        "name",
        &[
            "name",
            "local_name",
            "名称",
            "ローカル名称",
            "院内名称",
            "項目名称",
            "項目名",
        ],
    ),
    ("unit", &["unit", "単位"]),
    (
        "specimen",
        &["specimen", "material", "材料", "検体", "検体材料"],
    ),
    (
        "frequency",
        &["frequency", "count", "件数", "頻度", "使用頻度"],
    ),
    ("category", &["category", "区分", "分類", "カテゴリ"]),
];

/// One local code as uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalCode {
    pub code: String,
    pub name: String,
    pub unit: Option<String>,
    pub specimen: Option<String>,
    /// How often the code occurs (review goes most frequent first).
    pub frequency: Option<i64>,
    pub category: Option<String>,
    /// Other columns, by header, in file order.
    pub extra: Vec<(String, String)>,
    /// 1-based line in the uploaded file.
    pub line: u64,
}

/// The kind of field each known column is, for its length limit: codes and frequency are
/// codes, name, unit, specimen and category names; extra columns are free text.
fn kind_of(key: Option<&str>) -> FieldKind {
    match key {
        Some("code" | "frequency") => FieldKind::Code,
        Some(_) => FieldKind::Name,
        None => FieldKind::Text,
    }
}

/// Parses an upload; every problem (file, line, column, fix) is reported, and nothing is
/// returned when there is any. A list with a header and no local codes is refused
/// (`header_only`: merging it would withdraw every code); rows, columns and field lengths are
/// held to `limits`, and control characters are refused (tabs and line breaks are allowed in
/// extra columns).
pub fn parse(file: &SourceFile, limits: &Limits) -> Result<Vec<LocalCode>, Problems> {
    let name = &file.display_name;
    let (_, rows) = read_rows(
        file,
        "export the local code list again: a header row, then one row per local code",
        limits,
    )?;
    let Some((header, data)) = rows.split_first() else {
        return Err(Problem::file(
            name,
            "empty_file",
            "the file has no rows".into(),
            "export the local code list again",
        )
        .into());
    };
    let shape = fields::shape_problems(name, data.len(), Limit::LocalCodes, "local codes", limits);
    if !shape.is_empty() {
        return Err(fields::collect(shape));
    }
    if data.is_empty() {
        return Err(Problem::file(
            name,
            "header_only",
            "the file has a header row but no local codes: uploading it would withdraw every local code of the project".into(),
            "export the local code list again with its rows (a header row, then one row per local code); to withdraw some codes, upload the list without them",
        )
        .into());
    }
    let (headers, title_problems) = fields::header_titles(name, header, limits);
    let known = |h: &str| {
        COLUMNS.iter().find_map(|(key, names)| {
            crate::text::Level::Title
                .matches_any(h, names)
                .then_some(*key)
        })
    };
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut problems = fields::collect(title_problems);
    for (i, h) in headers.iter().enumerate() {
        if let Some(key) = known(h) {
            if at.insert(key, i).is_some() {
                problems.push(Problem::field(
                    name,
                    header.line,
                    i + 1,
                    h,
                    "duplicate_column",
                    format!("two columns mean `{key}`"),
                    "keep one of them, or rename the other (it is then kept as an extra column)",
                ));
            }
        }
    }
    for required in ["code", "name"] {
        if !at.contains_key(required) {
            let names = COLUMNS
                .iter()
                .find(|(k, _)| *k == required)
                .map(|(_, n)| n.join(", "))
                .unwrap_or_default();
            problems.push(Problem::line(
                name,
                header.line,
                "missing_column",
                format!("no `{required}` column in the header row"),
                format!("name one column of the header row one of: {names}"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (code_at, name_at) = (at["code"], at["name"]);
    let mut codes = CodeColumn::new(
        name,
        &headers,
        code_at,
        "fill in the code, or delete the row",
        "each local code appears once: merge the two rows or give one another code",
    );
    let key_at: Vec<Option<&str>> = (0..headers.len())
        .map(|i| at.iter().find(|(_, &a)| a == i).map(|(k, _)| *k))
        .collect();
    let mut out = Vec::with_capacity(data.len());
    for row in data {
        let f = |i: usize| row.fields.get(i).map(str::trim).unwrap_or("");
        let optional = |key: &str| at.get(key).map(|&i| f(i)).filter(|v| !v.is_empty());
        let before = problems.total();
        for (i, value) in row.fields.iter().enumerate().take(headers.len()) {
            let kind = kind_of(key_at[i]);
            if let Some(p) = fields::field_problem(
                name,
                row.line,
                i + 1,
                &headers[i],
                value.trim(),
                kind,
                limits,
            ) {
                problems.push(p);
            }
        }
        if problems.total() > before {
            continue;
        }
        let Some(code) = codes.code_of(row, &mut problems) else {
            continue;
        };
        let frequency = match optional("frequency") {
            None => None,
            Some(v) => match v.replace(',', "").parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    let i = at["frequency"];
                    problems.push(Problem::field(
                        name,
                        row.line,
                        i + 1,
                        &headers[i],
                        "bad_frequency",
                        format!("frequency `{}` is not a whole number ≥ 0", excerpt(v)),
                        "write the count as digits, or leave it empty",
                    ));
                    continue;
                }
            },
        };
        let extra = headers
            .iter()
            .enumerate()
            .filter(|(i, h)| !at.values().any(|a| a == i) && !h.is_empty())
            .map(|(i, h)| (h.clone(), f(i).to_owned()))
            .collect();
        out.push(LocalCode {
            code: code.to_owned(),
            name: f(name_at).to_owned(),
            unit: optional("unit").map(str::to_owned),
            specimen: optional("specimen").map(str::to_owned),
            frequency,
            category: optional("category").map(str::to_owned),
            extra,
            line: row.line,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A local code as a project holds it, for merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub name: String,
    pub withdrawn: bool,
}

/// What merging an upload into a project's codes does; no mapping is ever dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergePlan {
    /// Codes new to the project (get an unmapped mapping).
    pub added: Vec<String>,
    /// Codes whose local name changed: their mappings are flagged for review.
    pub renamed: Vec<String>,
    /// Codes missing from the upload: marked withdrawn, mappings kept.
    pub withdrawn: Vec<String>,
    /// Withdrawn codes that are back.
    pub restored: Vec<String>,
    /// Codes present and named as before (other columns may still be updated).
    pub unchanged: usize,
}

/// Plans merging `upload` into `held` (code → what the project has).
pub fn plan_merge(held: &BTreeMap<String, Held>, upload: &[LocalCode]) -> MergePlan {
    let mut plan = MergePlan::default();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for local in upload {
        seen.insert(&local.code);
        match held.get(&local.code) {
            None => plan.added.push(local.code.clone()),
            Some(h) => {
                if h.withdrawn {
                    plan.restored.push(local.code.clone());
                }
                if h.name != local.name {
                    plan.renamed.push(local.code.clone());
                } else if !h.withdrawn {
                    plan.unchanged += 1;
                }
            }
        }
    }
    plan.withdrawn = held
        .iter()
        .filter(|(code, h)| !h.withdrawn && !seen.contains(code.as_str()))
        .map(|(code, _)| code.clone())
        .collect();
    plan
}

/// The local-code column of a CSV's data rows, read once per file: a row whose field count
/// is not the header's, an empty code, or a code an earlier row had is a problem naming the
/// line and column (with this reader's fix).
pub(crate) struct CodeColumn<'a> {
    file: &'a str,
    /// The header row's titles, trimmed.
    headers: &'a [String],
    /// The column's index.
    at: usize,
    missing_fix: &'static str,
    duplicate_fix: &'static str,
    /// The line each code was first seen on.
    first_line: HashMap<String, u64>,
}

impl<'a> CodeColumn<'a> {
    /// Column `at` of `file`, whose header row is `headers`; the fixes suggested for an
    /// empty and for a repeated code.
    pub fn new(
        file: &'a str,
        headers: &'a [String],
        at: usize,
        missing_fix: &'static str,
        duplicate_fix: &'static str,
    ) -> CodeColumn<'a> {
        CodeColumn {
            file,
            headers,
            at,
            missing_fix,
            duplicate_fix,
            first_line: HashMap::new(),
        }
    }

    /// The row's local code, trimmed; `None` once the row's problem is in `problems`.
    pub fn code_of<'r>(&mut self, row: &'r Row, problems: &mut Problems) -> Option<&'r str> {
        if let Some(problem) = self.problem(row) {
            problems.push(problem);
            return None;
        }
        let code = row.fields.get(self.at).map(str::trim).unwrap_or("");
        self.first_line.insert(code.to_owned(), row.line);
        Some(code)
    }

    /// What is wrong with the row's field count or local code, if anything.
    fn problem(&self, row: &Row) -> Option<Problem> {
        if row.fields.len() != self.headers.len() {
            return Some(Problem::line(
                self.file,
                row.line,
                "column_count",
                format!(
                    "{} fields where the header has {}",
                    row.fields.len(),
                    self.headers.len()
                ),
                "quote fields that contain commas, and give every row the header's columns",
            ));
        }
        let header = self.headers.get(self.at).map_or("", String::as_str);
        let code = row.fields.get(self.at).map(str::trim).unwrap_or("");
        if code.is_empty() {
            return Some(Problem::field(
                self.file,
                row.line,
                self.at + 1,
                header,
                "missing_code",
                "the local code is empty".into(),
                self.missing_fix,
            ));
        }
        if let Some(first) = self.first_line.get(code) {
            return Some(Problem::field(
                self.file,
                row.line,
                self.at + 1,
                header,
                "duplicate_code",
                format!("local code {} is already on line {first}", excerpt(code)),
                self.duplicate_fix,
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile::new(name.to_owned(), text.as_bytes().to_vec())
    }

    fn cp932(text: &str) -> Vec<u8> {
        encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
    }

    #[test]
    fn japanese_headers_extra_columns_and_cp932() {
        let text = "項目コード,項目名称,単位,材料,件数,備考,区分\r\n\
                    L001,ＡＳＴ（ＧＯＴ）,U/L,血清,\"1,204\",至急可,生化学\r\n\
                    L002,HbA1c,%,全血,,,\r\n";
        let parsed = parse(
            &SourceFile::new("lab.csv".to_owned(), cp932(text)),
            &Limits::default(),
        )
        .expect("parse");
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed[0],
            LocalCode {
                code: "L001".into(),
                name: "ＡＳＴ（ＧＯＴ）".into(),
                unit: Some("U/L".into()),
                specimen: Some("血清".into()),
                frequency: Some(1204),
                category: Some("生化学".into()),
                extra: vec![("備考".into(), "至急可".into())],
                line: 2,
            }
        );
        assert_eq!(parsed[1].frequency, None);
        assert_eq!(parsed[1].extra, vec![("備考".into(), String::new())]);
    }

    #[test]
    fn duplicates_and_bad_rows_are_reported_with_lines_and_columns() {
        let text = "code,name,frequency\nA,one,1\nB,two,x\nA,again,3\n,nameless,4\nC,short\n";
        let problems = parse(&file("local.csv", text), &Limits::default()).expect_err("refused");
        let found: Vec<(Option<u64>, Option<usize>, &str)> = problems
            .items()
            .iter()
            .map(|p| (p.line, p.column, p.kind))
            .collect();
        assert_eq!(
            found,
            [
                (Some(3), Some(3), "bad_frequency"),
                (Some(4), Some(1), "duplicate_code"),
                (Some(5), Some(1), "missing_code"),
                (Some(6), None, "column_count"),
            ]
        );
        assert!(problems.items()[1].message.contains("already on line 2"));
    }

    #[test]
    fn a_header_without_code_or_name_is_refused() {
        let problems =
            parse(&file("x.csv", "id,label\n1,a\n"), &Limits::default()).expect_err("refused");
        let kinds: Vec<&str> = problems.items().iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["missing_column", "missing_column"]);
        assert!(problems.items()[0].fix.contains("コード"));
    }

    #[test]
    fn a_reupload_adds_flags_withdraws_and_restores() {
        let held: BTreeMap<String, Held> = [
            ("A", "one", false),
            ("B", "two", false),
            ("C", "three", false),
            ("D", "four", true),
        ]
        .into_iter()
        .map(|(c, n, w)| {
            (
                c.to_owned(),
                Held {
                    name: n.into(),
                    withdrawn: w,
                },
            )
        })
        .collect();
        let upload = parse(
            &file("x.csv", "code,name\nA,one\nB,TWO\nD,four\nE,five\n"),
            &Limits::default(),
        )
        .expect("parse");
        let plan = plan_merge(&held, &upload);
        assert_eq!(
            plan,
            MergePlan {
                added: vec!["E".into()],
                renamed: vec!["B".into()],
                withdrawn: vec!["C".into()],
                restored: vec!["D".into()],
                unchanged: 1,
            }
        );
    }
}
