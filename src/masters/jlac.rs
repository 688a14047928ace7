//! HS014 臨床検査マスター: the JLACセンター まとめ表 workbook (`{N}_matome.zip` → one
//! `.xlsx`; sheet 17桁コード表 plus the component sheets 分析物 / 識別 / 材料 / 測定法 /
//! 結果識別) and the eCS 共有項目JLACコードマスタ CSV (JLAC11 ↔ JLAC10 per product). Either
//! alone, or both together, form a release. Layout: `masters/README.md`;
//! `../shared/docs/master-formats.md` §3.
//!
//! * JLAC10 codes (system `jlac10`) are keyed by the 17-character code; their five
//!   components are decoded to names (attributes and designations) and each carries its
//!   15-character order code (no 結果識別) as a `code` link, so order codes resolve.
//! * JLAC11 codes (system `jlac11`) carry their JLAC10 pair as a `code` link.
//! * Rows of the 17桁コード表 are the rows whose code cell is a JLAC10 code; repeated
//!   header rows (the appended 新コード block) are skipped, rows that look like data with a
//!   malformed or missing code are problems located by sheet, row and column.

mod codes;
mod kyoyu;
mod sheets;
mod workbook;

use chrono::NaiveDate;
use rustc_hash::FxHashSet as HashSet;

use self::codes::Components;
use self::sheets::{Grid, SheetKind};
use super::completeness;
use super::input::SourceFile;
use super::problem::{listing, Problem, Problems};
use super::record::{ParsedRelease, ReleaseFile};
use super::Progress;
use crate::systems::Master;

pub use self::kyoyu::is_jlac11;
pub use self::sheets::is_jlac10;

/// What an input file is.
enum Kind {
    Workbook,
    Kyoyu,
}

/// Whether the parser reads a zip member of this name: workbooks (`.xlsx`, `.xlsm`) and
/// text files (`.csv`, `.txt`, recognised by name or header). The others are listed as
/// ignored.
pub fn reads(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    [".xlsx", ".xlsm", ".csv", ".txt"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

fn kind_of(source: &SourceFile) -> Option<Kind> {
    let lower = source.file_name.to_ascii_lowercase();
    if lower.ends_with(".xlsx") || lower.ends_with(".xlsm") {
        return Some(Kind::Workbook);
    }
    if lower.ends_with(".csv") || lower.ends_with(".txt") {
        let head = String::from_utf8_lossy(&source.bytes[..source.bytes.len().min(4096)]);
        let first = head.lines().next().unwrap_or("");
        if kyoyu::is_header(first) || lower.contains("jlac") || lower.contains("kyoyu") {
            return Some(Kind::Kyoyu);
        }
    }
    None
}

/// Parses and validates a whole JLAC release; nothing is returned unless every file is sound,
/// and all problems found are reported together.
pub fn parse(
    sources: &[SourceFile],
    options: &super::ParseOptions,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    let label_override = options.label.as_deref();
    let mut problems = Problems::default();
    let mut notices = Problems::default();
    let mut ignored = Vec::new();
    let mut workbooks = Vec::new();
    let mut csvs = Vec::new();
    for source in sources {
        match kind_of(source) {
            Some(Kind::Workbook) => workbooks.push(source),
            Some(Kind::Kyoyu) => csvs.push(source),
            None => ignored.push(format!("{} (not a JLAC master file)", source.display_name)),
        }
    }
    let given: Vec<&str> = sources.iter().map(|s| s.display_name.as_str()).collect();
    if workbooks.is_empty() && csvs.is_empty() {
        problems.push(Problem::file(
            given.first().copied().unwrap_or("(input)"),
            "missing_file",
            format!(
                "no まとめ表 workbook (.xlsx) and no 共有項目JLACコードマスタ CSV among: {}",
                listing(given.iter().copied())
            ),
            "give the まとめ表 ({N}_matome.zip or its .xlsx), the 共有項目 CSV, or both",
        ));
    }
    for (list, what) in [(&workbooks, "まとめ表 workbook"), (&csvs, "共有項目 CSV")] {
        if list.len() > 1 {
            let names: Vec<&str> = list.iter().map(|s| s.display_name.as_str()).collect();
            problems.push(Problem::file(
                names[1],
                "duplicate_file",
                format!(
                    "more than one {what} given: {}",
                    listing(names.iter().copied())
                ),
                "import one release at a time: at most one workbook and one CSV",
            ));
        }
    }
    let mut roles = Vec::new();
    if !workbooks.is_empty() {
        roles.push("matome");
    }
    if !csvs.is_empty() {
        roles.push("kyoyu");
    }
    let first = given.first().copied().unwrap_or("(input)");
    if !problems.is_empty() {
        return Err(problems);
    }
    // A missing file is reported with whatever else is wrong with the files given.
    let mut incomplete = Problems::default();
    let scope = completeness::check(
        Master::Jlac,
        &roles,
        options.partial,
        first,
        &mut incomplete,
    );

    let mut records = Vec::new();
    let mut files = Vec::new();
    let mut version_cell: (Option<String>, Option<NaiveDate>) = (None, None);
    if let Some(source) = workbooks.first() {
        progress.start("reading the まとめ表 workbook", 1);
        let name = source.display_name.as_str();
        let grids = workbook::read_workbook(name, &source.bytes, &options.limits)?;
        let set = sheet_set(name, &grids, &mut problems, &mut notices);
        if !problems.is_empty() {
            return Err(problems);
        }
        let codes_grid = set.codes.unwrap_or(&grids[0]);
        version_cell = version_in_sheet(codes_grid);
        let components = Components {
            analyte: component(
                name,
                set.analyte,
                SheetKind::Analyte,
                &options.limits,
                &mut problems,
                &mut notices,
            ),
            identification: component(
                name,
                set.identification,
                SheetKind::Identification,
                &options.limits,
                &mut problems,
                &mut notices,
            ),
            material: component(
                name,
                set.material,
                SheetKind::Material,
                &options.limits,
                &mut problems,
                &mut notices,
            ),
            method: component(
                name,
                set.method,
                SheetKind::Method,
                &options.limits,
                &mut problems,
                &mut notices,
            ),
            result_common: component(
                name,
                set.result_common,
                SheetKind::ResultCommon,
                &options.limits,
                &mut problems,
                &mut notices,
            ),
            result_specific: component(
                name,
                set.result_specific,
                SheetKind::ResultSpecific,
                &options.limits,
                &mut problems,
                &mut notices,
            ),
        };
        let counts = codes::records(
            name,
            files.len(),
            codes_grid,
            &components,
            &options.limits,
            &mut records,
            &mut problems,
            &mut notices,
        );
        if problems.is_empty() && counts.rows == 0 {
            problems.push(Problem::file(
                &format!("{name} [{}]", codes_grid.name),
                "no_rows",
                "the 17桁コード表 holds no JLAC10 codes".into(),
                "the workbook is not a まとめ表 or is truncated; download it again",
            ));
        }
        files.push(ReleaseFile {
            name: name.to_owned(),
            role: "matome",
            sha256: source.sha256.clone(),
            byte_size: source.bytes.len() as u64,
            row_count: counts.rows,
            encoding: "xlsx",
        });
        progress.advance(1);
        progress.finish();
    }
    if let Some(source) = csvs.first() {
        match kyoyu::read(source, &options.limits) {
            Ok(table) => {
                progress.start("parsing 共有項目 rows", table.rows.len() as u64);
                let before = records.len();
                kyoyu::records(
                    &table,
                    files.len(),
                    &mut records,
                    &mut problems,
                    &mut notices,
                );
                if !workbooks.is_empty() {
                    unmatched_pairs(&table, &records, before, &mut notices);
                }
                files.push(ReleaseFile {
                    name: source.display_name.clone(),
                    role: "kyoyu",
                    sha256: source.sha256.clone(),
                    byte_size: source.bytes.len() as u64,
                    row_count: table.rows.len() as u64,
                    encoding: table.encoding,
                });
                progress.advance(table.rows.len() as u64);
                progress.finish();
            }
            Err(p) => problems.extend(p),
        }
    }
    let label = release_label(&workbooks, &csvs, label_override, &version_cell.0);
    if label.is_none() {
        problems.push(Problem::file(
            given.first().copied().unwrap_or("(input)"),
            "no_label",
            "neither the file names ({N}_matome.zip / .xlsx, a yyyymmdd date) nor a version cell of the workbook carry a version".into(),
            "name the release with --version LABEL, e.g. --version 20260401",
        ));
    }
    problems.extend(incomplete);
    if !problems.is_empty() {
        return Err(problems);
    }
    let label = label.unwrap_or_default();
    let publication_date = version_cell
        .1
        .or_else(|| NaiveDate::parse_from_str(&label, "%Y%m%d").ok());
    Ok(ParsedRelease {
        master: Master::Jlac,
        label,
        publication_date,
        files,
        records,
        notices,
        ignored,
        scope,
    })
}

/// The sheets of a まとめ表 by kind (the first of each kind).
#[derive(Default)]
struct SheetSet<'a> {
    codes: Option<&'a Grid>,
    analyte: Option<&'a Grid>,
    identification: Option<&'a Grid>,
    material: Option<&'a Grid>,
    method: Option<&'a Grid>,
    result_common: Option<&'a Grid>,
    result_specific: Option<&'a Grid>,
}

impl<'a> SheetSet<'a> {
    fn slot(&mut self, kind: SheetKind) -> &mut Option<&'a Grid> {
        match kind {
            SheetKind::Codes => &mut self.codes,
            SheetKind::Analyte => &mut self.analyte,
            SheetKind::Identification => &mut self.identification,
            SheetKind::Material => &mut self.material,
            SheetKind::Method => &mut self.method,
            SheetKind::ResultCommon => &mut self.result_common,
            SheetKind::ResultSpecific => &mut self.result_specific,
        }
    }
}

fn sheet_set<'a>(
    file: &str,
    grids: &'a [Grid],
    problems: &mut Problems,
    notices: &mut Problems,
) -> SheetSet<'a> {
    let mut set = SheetSet::default();
    let mut other = Vec::new();
    for grid in grids {
        match SheetKind::of_sheet(&grid.name) {
            Some(kind) => {
                let slot = set.slot(kind);
                if let Some(first) = slot {
                    notices.push(Problem::file(
                        &format!("{file} [{}]", grid.name),
                        "duplicate_sheet",
                        format!(
                            "a second {} sheet (the first is `{}`)",
                            kind.title(),
                            first.name
                        ),
                        "only the first one is read",
                    ));
                } else {
                    *slot = Some(grid);
                }
            }
            None => other.push(grid.name.as_str()),
        }
    }
    let names: Vec<&str> = grids.iter().map(|g| g.name.as_str()).collect();
    let missing: Vec<&str> = SheetKind::REQUIRED
        .into_iter()
        .filter(|k| set.slot(*k).is_none())
        .map(SheetKind::title)
        .collect();
    if !missing.is_empty() {
        problems.push(Problem::file(
            file,
            "missing_sheet",
            format!(
                "the workbook has no {} sheet (its sheets: {})",
                missing.join(", "),
                names.join(", ")
            ),
            "a まとめ表 has the sheets 17桁コード表, 分析物, 識別, 材料, 測定法 and 結果識別 (共通/固有); give the workbook as the JLACセンター publishes it",
        ));
    }
    if !other.is_empty() && missing.is_empty() {
        notices.push(Problem::file(
            file,
            "other_sheets",
            format!("sheets not read: {}", other.join(", ")),
            "nothing to do: only the code and component sheets are imported",
        ));
    }
    set
}

fn component(
    file: &str,
    grid: Option<&Grid>,
    kind: SheetKind,
    limits: &crate::limits::Limits,
    problems: &mut Problems,
    notices: &mut Problems,
) -> sheets::Names {
    grid.map(|g| sheets::read_component(file, g, kind, limits, problems, notices).0)
        .unwrap_or_default()
}

/// JLAC11 rows whose JLAC10 pair is not a code of the workbook of the same release.
fn unmatched_pairs(
    table: &kyoyu::Table,
    records: &[super::Record],
    from: usize,
    notices: &mut Problems,
) {
    let jlac10: HashSet<&str> = records[..from].iter().map(|r| r.code.as_str()).collect();
    let mut missing = records[from..]
        .iter()
        .flat_map(|r| r.links.iter())
        .map(|l| l.code.as_str())
        .filter(|c| !jlac10.contains(c));
    if let Some(first) = missing.next() {
        notices.push(Problem::file(
            &table.source.display_name,
            "jlac10_not_in_workbook",
            format!(
                "{} JLAC11 row(s) name a JLAC10 code the まとめ表 does not list (first: {first})",
                1 + missing.count()
            ),
            "imported with the link; an older まとめ表 lacks codes registered since",
        ));
    }
}

/// The label: `--version`, else the workbook's file name (`{N}_matome`, or a date), else a
/// version cell (第N版), else a yyyymmdd date in the CSV's name.
fn release_label(
    workbooks: &[&SourceFile],
    csvs: &[&SourceFile],
    label_override: Option<&str>,
    version_cell: &Option<String>,
) -> Option<String> {
    if let Some(label) = label_override {
        return Some(label.to_owned());
    }
    let names = |s: &SourceFile| {
        let archive = s
            .display_name
            .split_once(':')
            .map(|(a, _)| a.rsplit(['/', '\\']).next().unwrap_or(a).to_owned());
        archive.into_iter().chain([s.file_name.clone()])
    };
    workbooks
        .iter()
        .flat_map(|s| names(s))
        .find_map(|n| label_in_name(&n))
        .or_else(|| version_cell.clone())
        .or_else(|| csvs.iter().flat_map(|s| names(s)).find_map(|n| date_in(&n)))
}

/// `12_matome.zip` → `12`; otherwise a yyyymmdd date in the name.
fn label_in_name(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if let Some(at) = lower.find("_matome") {
        let digits: String = lower[..at]
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() {
            return Some(digits.chars().rev().collect());
        }
    }
    date_in(name)
}

/// The first run of exactly 8 digits that is a date.
fn date_in(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let run = &name[start..i];
            if run.len() == 8 && NaiveDate::parse_from_str(run, "%Y%m%d").is_ok() {
                return Some(run.to_owned());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A version cell in the first rows of the code sheet: `第N版` and a date
/// (`2026年4月1日`, `2026/04/01`, `2026-04-01`).
fn version_in_sheet(grid: &Grid) -> (Option<String>, Option<NaiveDate>) {
    let mut version = None;
    let mut date = None;
    for row in grid.rows.iter().take(4) {
        for cell in row {
            let t = cell.text.as_str();
            if version.is_none() {
                if let Some(start) = t.find('第') {
                    let rest = &t[start + '第'.len_utf8()..];
                    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if !n.is_empty() && rest[n.len()..].starts_with('版') {
                        version = Some(n);
                    }
                }
            }
            if date.is_none() {
                date = parse_date_text(t);
            }
        }
    }
    (version, date)
}

fn parse_date_text(t: &str) -> Option<NaiveDate> {
    let numbers: Vec<u32> = t
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    numbers.windows(3).find_map(|w| {
        (w[0] >= 1990 && t.contains(['年', '/', '-']))
            .then(|| NaiveDate::from_ymd_opt(w[0] as i32, w[1], w[2]))
            .flatten()
    })
}

/// What hyojun knows of this master: its key and name, its code systems, the files a release
/// is made of, and how to read them ([`crate::masters::Descriptor`]).
pub const DESCRIPTOR: crate::masters::Descriptor = crate::masters::Descriptor {
    master: crate::systems::Master::Jlac,
    key: "jlac",
    name: "HS014 臨床検査マスター",
    systems: SYSTEMS,
    files: FILES,
    row_role: |system, _| match system {
        "jlac10" => Some("matome"),
        "jlac11" => Some("kyoyu"),
        _ => None,
    },
    reads,
    parse,
};

/// The code systems of this master, in registry order.
const SYSTEMS: &[crate::systems::CodeSystem] = {
    use crate::systems::{system, Defined, Shape};
    &[
        system!(
            "jlac10",
            Jlac,
            "JLAC10（17桁）",
            Some("http://medis.or.jp/CodeSystem/master-JLAC10-17digits"),
            ["urn:oid:1.2.392.200119.4.504"],
            "17 characters: 分析物 5, 識別 4, 材料 3, 測定法 3, 結果識別 2",
            Shape::AlnumOf(17, 15),
            Defined::Rows
        ),
        system!(
            "jlac11",
            Jlac,
            "JLAC11（17桁）",
            None,
            [],
            "17 characters: 測定物 5, 識別 4, 材料 3, 測定法 3, 結果単位 2",
            Shape::AlnumOf(17, 15),
            Defined::Rows
        ),
    ]
};

/// The files of a release, for the completeness check.
const FILES: &[crate::masters::completeness::FileRole] = &[
    crate::masters::completeness::FileRole {
        key: "matome",
        title: "まとめ表 workbook {N}_matome.xlsx (JLAC10)",
        required: true,
    },
    crate::masters::completeness::FileRole {
        key: "kyoyu",
        title: "共有項目JLACコードマスタ CSV (JLAC11)",
        required: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_names_and_cells() {
        assert_eq!(label_in_name("12_matome.zip").as_deref(), Some("12"));
        assert_eq!(
            label_in_name("matome_20260401.xlsx").as_deref(),
            Some("20260401")
        );
        assert_eq!(label_in_name("matome.xlsx"), None);
        assert_eq!(date_in("kyoyu_123456789.csv"), None);
        assert_eq!(
            parse_date_text("第901版 2026年5月1日"),
            NaiveDate::from_ymd_opt(2026, 5, 1)
        );
    }
}
