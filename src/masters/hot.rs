//! HS001 医薬品HOTコードマスター: the standard file (HOT13, `MEDISyyyymmdd.TXT`), the HOT9 file
//! (`MEDISyyyymmdd_HOT9.TXT`) and the deletion list (`h{yyyymmdd}_HOT9del.txt`), loose or in
//! `h{yyyymmdd}.zip`. Layout: `masters/README.md` and `../shared/docs/master-formats.md` §2.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::completeness;
use super::fields::Fields;
use super::input::SourceFile;
use super::problem::{listing, Problem, Problems};
use super::record::{
    Attributes, Designation, Link, ParsedRelease, Record, Relation, ReleaseFile, Status,
};
use super::text::{self, Row};
use super::{sniff, Progress};
use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limits};
use crate::systems::Master;
use crate::text::Level;

/// The 24 columns of the standard and HOT9 files: attribute key and accepted header titles.
const COLUMNS: [(&str, &[&str]); 24] = [
    (
        "hot_code",
        &["基準番号（ＨＯＴコード）", "基準番号（ＨＯＴ番号）"],
    ),
    ("hot7", &["処方用番号（ＨＯＴ７）"]),
    ("company_code", &["会社識別用番号"]),
    ("dispensing_code", &["調剤用番号"]),
    ("logistics_code", &["物流用番号"]),
    ("jan", &["ＪＡＮコード"]),
    ("yakka_code", &["薬価基準収載医薬品コード"]),
    ("yj_code", &["個別医薬品コード"]),
    ("receipt_code_1", &["レセプト電算処理システムコード（１）"]),
    ("receipt_code_2", &["レセプト電算処理システムコード（２）"]),
    ("notice_name", &["告示名称"]),
    ("brand_name", &["販売名"]),
    ("receipt_name", &["レセプト電算処理システム医薬品名"]),
    ("standard_unit", &["規格単位"]),
    ("package_form", &["包装形態"]),
    ("package_unit_quantity", &["包装単位数"]),
    ("package_unit_unit", &["包装単位単位"]),
    ("package_total_quantity", &["包装総量数"]),
    ("package_total_unit", &["包装総量単位"]),
    ("category", &["区分"]),
    ("manufacturer", &["製造会社"]),
    ("distributor", &["販売会社"]),
    ("record_flag", &["更新区分", "レコード区分"]),
    ("updated_on", &["更新年月日"]),
];

/// The kind of each column of [`COLUMNS`], for its length limit.
const KINDS: [FieldKind; COLUMNS.len()] = {
    use FieldKind::{Code as C, Name as N};
    [
        C, C, C, C, C, C, C, C, C, C, // codes: HOT … レセ電算 (2)
        N, N, N, N, N, // 告示名称, 販売名, レセ電算名, 規格単位, 包装形態
        C, N, C, N, // 包装単位数/単位, 包装総量数/単位
        C, N, N, C, C, // 区分, 製造会社, 販売会社, 更新区分, 更新年月日
    ]
};

const COL_HOT: usize = 0;
const COL_HOT7: usize = 1;
const COL_COMPANY: usize = 2;
const COL_JAN: usize = 5;
const COL_YAKKA: usize = 6;
const COL_YJ: usize = 7;
const COL_RECEIPT_1: usize = 8;
const COL_RECEIPT_2: usize = 9;
const COL_NOTICE_NAME: usize = 10;
const COL_BRAND_NAME: usize = 11;
const COL_RECEIPT_NAME: usize = 12;
const COL_CATEGORY: usize = 19;
const COL_UPDATED_ON: usize = 23;

/// What a file is within a HOT release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// 標準ファイル: one row per HOT13.
    Standard,
    /// HOT9 file: rows by HOT9 (not unique).
    Hot9,
    /// HOT9 deletion list.
    Deletions,
    /// Option file (`_OP.TXT`): part of the distribution, not imported.
    Option,
    /// Anything else (layout PDFs, read-me files, unknown files).
    Other,
}

impl Role {
    fn key(self) -> &'static str {
        match self {
            Role::Standard => "hot13",
            Role::Hot9 => "hot9",
            Role::Deletions => "hot9del",
            Role::Option => "option",
            Role::Other => "other",
        }
    }

    fn from_name(file_name: &str) -> Role {
        let upper = file_name.to_ascii_uppercase();
        if upper.contains("HOT9DEL") {
            return Role::Deletions;
        }
        let Some(rest) = upper.strip_prefix("MEDIS") else {
            return Role::Other;
        };
        if rest.len() < 8 || !rest.as_bytes()[..8].iter().all(u8::is_ascii_digit) {
            return Role::Other;
        }
        match &rest[8..] {
            ".TXT" | ".CSV" => Role::Standard,
            "_HOT9.TXT" | "_HOT9.CSV" => Role::Hot9,
            "_OP.TXT" | "_OP.CSV" => Role::Option,
            _ => Role::Other,
        }
    }
}

/// Whether the parser reads a zip member of this name: not option files, and of names it
/// does not know only text files (`.txt`, `.csv`, not read-mes), which it reads to look
/// for a HOT header. The others are listed as ignored.
pub fn reads(file_name: &str) -> bool {
    match Role::from_name(file_name) {
        Role::Option => false,
        Role::Other => looks_like_text_data(file_name),
        Role::Standard | Role::Hot9 | Role::Deletions => true,
    }
}

/// The `yyyymmdd` a HOT file name carries: `MEDISyyyymmdd…` or `h{yyyymmdd}…`.
fn date_in_name(file_name: &str) -> Option<String> {
    let upper = file_name.to_ascii_uppercase();
    let digits_after = |prefix: &str| {
        upper.strip_prefix(prefix).and_then(|rest| {
            let d = rest.get(..8)?;
            d.bytes().all(|b| b.is_ascii_digit()).then(|| d.to_owned())
        })
    };
    digits_after("MEDIS").or_else(|| digits_after("H"))
}

/// HOT7 check digit: modulus 10 with weights 1,3,1,3,1,3 over the first six digits (3 on
/// the digit next to the check digit).
pub fn hot7_check_digit_ok(hot7: &str) -> bool {
    let digits: Vec<u32> = hot7.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 7 || hot7.len() != 7 {
        return false;
    }
    let sum: u32 = digits[..6]
        .iter()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
        .sum();
    (10 - sum % 10) % 10 == digits[6]
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// A data file decoded, with its header checked.
struct TextFile<'a> {
    source: &'a SourceFile,
    role: Role,
    encoding: &'static str,
    header: Vec<String>,
    rows: Vec<Row>,
}

/// Parses and validates a whole HOT release. Nothing is returned unless every file is sound;
/// all problems found are reported together.
pub fn parse(
    sources: &[SourceFile],
    options: &super::ParseOptions,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    let label_override = options.label.as_deref();
    let mut problems = Problems::default();
    let mut ignored = Vec::new();
    let mut files: Vec<TextFile> = Vec::new();

    for source in sources {
        let named_role = Role::from_name(&source.file_name);
        if named_role == Role::Option {
            ignored.push(format!(
                "{} (option file, not imported)",
                source.display_name
            ));
            continue;
        }
        let in_zip = source.display_name.contains(".zip:") || source.display_name.contains(".ZIP:");
        if named_role == Role::Other && in_zip && !looks_like_text_data(&source.file_name) {
            ignored.push(format!("{} (not a data file)", source.display_name));
            continue;
        }
        match read_text_file(source, named_role, in_zip, &options.limits) {
            Ok(Some(file)) => files.push(file),
            Ok(None) => ignored.push(format!("{} (not a HOT data file)", source.display_name)),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    check_file_set(sources, &files, &mut problems);
    let given: Vec<&str> = files.iter().map(|f| f.role.key()).collect();
    let first = sources
        .first()
        .map_or("(no input)", |s| s.display_name.as_str());
    // A missing file is reported with whatever else is wrong with the files given.
    let mut incomplete = Problems::default();
    let scope = if problems.is_empty() {
        completeness::check(Master::Hot, &given, options.partial, first, &mut incomplete)
    } else {
        super::Scope::Complete
    };
    let label = release_label(sources, &files, label_override, &mut problems);
    if !problems.is_empty() {
        problems.extend(incomplete);
        return Err(problems);
    }
    let label = label.unwrap_or_default();

    let total_rows: u64 = files.iter().map(|f| f.rows.len() as u64).sum();
    progress.start("parsing HOT rows", total_rows);

    // The deletion list decides which HOT9 codes are retired, so read it first.
    let mut deleted: HashSet<String> = HashSet::default();
    let mut records = Vec::new();
    let mut notices = Problems::default();
    let mut release_files = Vec::new();
    files.sort_by_key(|f| match f.role {
        Role::Deletions => 0,
        Role::Hot9 => 1,
        _ => 2,
    });
    for (index, file) in files.iter().enumerate() {
        let before = records.len();
        match file.role {
            Role::Deletions => {
                parse_deletions(file, index, &options.limits, &mut records, &mut problems);
                deleted.extend(records[before..].iter().map(|r| r.code.clone()));
            }
            Role::Hot9 | Role::Standard => parse_rows(
                file,
                index,
                &options.limits,
                &deleted,
                &mut records,
                &mut problems,
                &mut notices,
                progress,
            ),
            Role::Option | Role::Other => {}
        }
        release_files.push(ReleaseFile {
            name: file.source.display_name.clone(),
            role: file.role.key(),
            sha256: file.source.sha256.clone(),
            byte_size: file.source.bytes.len() as u64,
            row_count: file.rows.len() as u64,
            encoding: file.encoding,
        });
    }
    progress.finish();
    problems.extend(incomplete);
    if !problems.is_empty() {
        return Err(problems);
    }

    let publication_date = NaiveDate::parse_from_str(&label, "%Y%m%d")
        .ok()
        .or_else(|| {
            files
                .iter()
                .filter(|f| matches!(f.role, Role::Standard | Role::Hot9))
                .flat_map(|f| f.rows.iter())
                .filter_map(|r| {
                    NaiveDate::parse_from_str(r.fields.get(COL_UPDATED_ON)?, "%Y%m%d").ok()
                })
                .max()
        });
    Ok(ParsedRelease {
        master: Master::Hot,
        label,
        publication_date,
        files: release_files,
        records,
        notices,
        ignored,
        scope,
    })
}

fn looks_like_text_data(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    (lower.ends_with(".txt") || lower.ends_with(".csv")) && !lower.contains("readme")
}

/// Decodes a file and checks its header. `Ok(None)` means "not a HOT file, and that is fine"
/// (an unknown member of a distribution zip).
fn read_text_file<'a>(
    source: &'a SourceFile,
    named_role: Role,
    in_zip: bool,
    limits: &Limits,
) -> Result<Option<TextFile<'a>>, Problems> {
    let name = source.display_name.as_str();
    if named_role == Role::Other && in_zip && sniff::looks(&source.bytes).is_some() {
        // An unknown member that is not text (a UTF-16 read-me, an image) is not HOT data.
        return Ok(None);
    }
    let (encoding, mut rows) = text::read_rows(
        source,
        "the download or copy failed; fetch the file again from MEDIS",
        limits,
    )?;
    if rows.is_empty() {
        return Err(Problem::file(
            name,
            "empty_file",
            "the file holds no rows".into(),
            "fetch the file again from MEDIS",
        )
        .into());
    }
    let header = rows.remove(0);
    if named_role == Role::Deletions {
        return Ok(Some(TextFile {
            source,
            role: Role::Deletions,
            encoding: encoding.as_str(),
            header: header.fields.iter().map(str::to_owned).collect(),
            rows,
        }));
    }
    let is_hot_header = header
        .fields
        .get(0)
        .is_some_and(|t| COLUMNS[0].1.iter().any(|a| Level::Title.same(a, t)));
    if !is_hot_header {
        if named_role == Role::Other && in_zip {
            return Ok(None);
        }
        let first = excerpt(header.fields.get(0).unwrap_or(""));
        return Err(Problem::field(
            name,
            header.line,
            1,
            COLUMNS[0].1[0],
            "not_hot_header",
            format!("the header is not a HOT master header: column 1 is `{first}`, expected `基準番号（ＨＯＴコード）`"),
            "give the standard file MEDISyyyymmdd.TXT or the HOT9 file MEDISyyyymmdd_HOT9.TXT from h{yyyymmdd}.zip, with its header row",
        )
        .into());
    }
    let mut problems = Problems::default();
    check_header(name, &header, &mut problems);
    if rows.is_empty() {
        problems.push(Problem::file(
            name,
            "header_only",
            "the file has a header but no data rows".into(),
            "the file is truncated; fetch it again from MEDIS",
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let role = match named_role {
        Role::Standard | Role::Hot9 => named_role,
        // An unrecognised name with a HOT header: the code length tells which file it is.
        _ => match rows[0].fields.get(0).map(str::len) {
            Some(13) => Role::Standard,
            _ => Role::Hot9,
        },
    };
    Ok(Some(TextFile {
        source,
        role,
        encoding: encoding.as_str(),
        header: header.fields.iter().map(str::to_owned).collect(),
        rows,
    }))
}

fn check_header(name: &str, header: &Row, problems: &mut Problems) {
    if header.fields.len() != COLUMNS.len() {
        problems.push(Problem::line(
            name,
            header.line,
            "column_count",
            format!(
                "the header has {} columns, the HOT layout has {}",
                header.fields.len(),
                COLUMNS.len()
            ),
            "use the unmodified MEDIS file; columns may have been added or removed",
        ));
        return;
    }
    for (i, (title, (_, accepted))) in header.fields.iter().zip(COLUMNS.iter()).enumerate() {
        if !Level::Title.matches_any(title, accepted) {
            problems.push(Problem::field(
                name,
                header.line,
                i + 1,
                accepted[0],
                "not_hot_header",
                format!(
                    "header title is `{}`, expected `{}`",
                    excerpt(title),
                    accepted[0]
                ),
                "use the unmodified MEDIS file; this column is not where the HOT layout has it",
            ));
        }
    }
}

/// One standard and/or one HOT9 file per release; a deletion list alone is not a release.
fn check_file_set(sources: &[SourceFile], files: &[TextFile], problems: &mut Problems) {
    for role in [Role::Standard, Role::Hot9, Role::Deletions] {
        let named: Vec<&str> = files
            .iter()
            .filter(|f| f.role == role)
            .map(|f| f.source.display_name.as_str())
            .collect();
        if named.len() > 1 {
            problems.push(Problem::file(
                named[1],
                "duplicate_file",
                format!("more than one {} file given: {}", role.key(), listing(named.iter().copied())),
                "import one release at a time: one MEDIS*.TXT, one MEDIS*_HOT9.TXT and at most one _HOT9del.txt",
            ));
        }
    }
    let has_data = files
        .iter()
        .any(|f| matches!(f.role, Role::Standard | Role::Hot9));
    if !has_data {
        let found: Vec<&str> = sources.iter().map(|s| s.display_name.as_str()).collect();
        let first = found.first().copied().unwrap_or("(no input)");
        problems.push(Problem::file(
            first,
            "no_hot_data",
            format!(
                "no HOT data file among the input (found: {})",
                listing(found.iter().copied())
            ),
            "give h{yyyymmdd}.zip or its MEDISyyyymmdd.TXT / MEDISyyyymmdd_HOT9.TXT (the _HOT9del.txt list comes with them)",
        ));
    }
}

fn release_label(
    sources: &[SourceFile],
    files: &[TextFile],
    label_override: Option<&str>,
    problems: &mut Problems,
) -> Option<String> {
    if let Some(label) = label_override {
        return Some(label.to_owned());
    }
    let mut dates: Vec<(String, &str)> = Vec::new();
    for file in files {
        if let Some(d) = date_in_name(&file.source.file_name) {
            dates.push((d, &file.source.display_name));
        }
    }
    for source in sources {
        if let Some((zip, _)) = source.display_name.split_once(".zip:") {
            let zip_name = super::input::base_name(zip, false);
            if let Some(d) = date_in_name(zip_name) {
                dates.push((d, &source.display_name));
            }
        }
    }
    let distinct: HashSet<&str> = dates.iter().map(|(d, _)| d.as_str()).collect();
    match distinct.len() {
        1 => Some(dates[0].0.clone()),
        0 => {
            let first = files
                .first()
                .map_or("(input)", |f| f.source.display_name.as_str());
            problems.push(Problem::file(
                first,
                "no_label",
                "the file names carry no release date (MEDISyyyymmdd…, h{yyyymmdd}.zip)".into(),
                "name the release with --version LABEL, e.g. --version 20260630",
            ));
            None
        }
        _ => {
            // Each file once (a zip member carries its own date and its zip's), at most eight.
            let mut listed: Vec<String> = Vec::new();
            for (d, n) in &dates {
                let entry = format!("{} → {d}", super::problem::listing([*n]));
                if !listed.contains(&entry) {
                    listed.push(entry);
                }
            }
            let more = listed.len().saturating_sub(8);
            listed.truncate(8);
            if more > 0 {
                listed.push(format!("and {more} more"));
            }
            problems.push(Problem::file(
                dates[0].1,
                "mixed_releases",
                format!(
                    "the files belong to different releases: {}",
                    listed.join(", ")
                ),
                "import one release at a time (all files of one h{yyyymmdd}.zip)",
            ));
            None
        }
    }
}

fn parse_deletions(
    file: &TextFile,
    index: usize,
    limits: &Limits,
    records: &mut Vec<Record>,
    problems: &mut Problems,
) {
    let name = file.source.display_name.as_str();
    let fields = Fields { file: name, limits };
    let titles: Vec<String> = file.header.iter().map(|t| Level::Title.apply(t)).collect();
    let by_title = titles
        .iter()
        .position(|t| t.contains("HOT9") || t.contains("基準番号"))
        .or_else(|| titles.iter().position(|t| t.contains("HOT")));
    let by_values = || {
        (0..file.header.len()).find(|&c| {
            file.rows
                .iter()
                .all(|r| r.fields.get(c).is_some_and(|v| all_digits(v, 9)))
        })
    };
    let Some(code_col) = by_title.or_else(by_values) else {
        problems.push(Problem::line(
            name,
            1,
            "no_hot9_column",
            "the deletion list has no HOT9 column (no header names ＨＯＴ or 基準番号, no column of 9-digit codes)".into(),
            "give the h{yyyymmdd}_HOT9del.txt list as MEDIS publishes it, with its header row",
        ));
        return;
    };
    let name_col = titles
        .iter()
        .position(|t| t.contains("販売名"))
        .or_else(|| {
            titles
                .iter()
                .position(|t| t.contains("告示名称") || t.contains("名称"))
        });
    // The list's layout is read from its header: the code column holds a code, the others
    // names and dates. Its titles are input: quoted as excerpts.
    let kinds: Vec<FieldKind> = (0..file.header.len())
        .map(|c| {
            if c == code_col {
                FieldKind::Code
            } else {
                FieldKind::Name
            }
        })
        .collect();
    let shown_titles: Vec<String> = file.header.iter().map(|t| excerpt(t)).collect();
    let mut seen: HashSet<String> = HashSet::default();
    for row in &file.rows {
        if row.fields.len() != file.header.len() {
            problems.push(Problem::line(
                name,
                row.line,
                "column_count",
                format!(
                    "the row has {} columns, the header has {}",
                    row.fields.len(),
                    file.header.len()
                ),
                "repair the row or fetch the list again",
            ));
            continue;
        }
        if !fields.row(row, |c| shown_titles[c].as_str(), &kinds, problems) {
            continue;
        }
        let code = row.fields[code_col].trim();
        if !all_digits(code, 9) {
            problems.push(Problem::field(
                name,
                row.line,
                code_col + 1,
                &shown_titles[code_col],
                "bad_code",
                format!("`{}` is not a 9-digit HOT9 code", excerpt(code)),
                "a HOT9 code is the HOT7 (7 digits) followed by the 2-digit company number",
            ));
            continue;
        }
        if !seen.insert(code.to_owned()) {
            // A code listed twice says the same thing twice: keep the first, nothing is lost.
            continue;
        }
        let attributes = Attributes::from_pairs(
            file.header
                .iter()
                .map(String::as_str)
                .zip(row.fields.iter()),
        );
        let display = name_col
            .map(|c| row.fields[c].to_owned())
            .unwrap_or_default();
        records.push(Record {
            system: "hot9",
            code: code.to_owned(),
            row_key: format!("deleted:{code}"),
            status: Status::Retired,
            display,
            attributes,
            designations: Vec::new(),
            links: vec![Link {
                relation: Relation::Code,
                system: "hot7",
                code: code[..7].to_owned(),
            }],
            origin: (index, row.line),
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_rows(
    file: &TextFile,
    index: usize,
    limits: &Limits,
    deleted: &HashSet<String>,
    records: &mut Vec<Record>,
    problems: &mut Problems,
    notices: &mut Problems,
    progress: &dyn Progress,
) {
    let name = file.source.display_name.as_str();
    let fields = Fields { file: name, limits };
    let (system, key_len) = match file.role {
        Role::Standard => ("hot13", 13),
        _ => ("hot9", 9),
    };
    let mut first_line_of: HashMap<String, u64> = HashMap::default();
    let mut occurrences: HashMap<String, u32> = HashMap::default();
    for (n, row) in file.rows.iter().enumerate() {
        if n % 4096 == 0 {
            progress.advance(4096.min(file.rows.len() - n) as u64);
        }
        let f = &row.fields;
        if f.len() != COLUMNS.len() {
            problems.push(Problem::line(
                name,
                row.line,
                "column_count",
                format!("the row has {} columns, the HOT layout has {}", f.len(), COLUMNS.len()),
                "a comma or quote is missing or extra on this line, or the line is cut off; compare it with the MEDIS original",
            ));
            continue;
        }
        if !fields.row(row, |c| COLUMNS[c].1[0], &KINDS, problems) {
            continue;
        }
        let code = &f[COL_HOT];
        if !all_digits(code, key_len) {
            problems.push(field_problem(
                name,
                row.line,
                COL_HOT,
                "bad_code",
                format!("`{}` is not a {key_len}-digit {system} code", excerpt(code)),
                if key_len == 13 {
                    "the standard file's first column is the 13-digit HOT code (HOT7 + 会社 + 調剤 + 物流)"
                } else {
                    "the HOT9 file's first column is the 9-digit HOT9 (HOT7 + 会社)"
                },
            ));
            continue;
        }
        let hot7 = &f[COL_HOT7];
        if !all_digits(hot7, 7) {
            problems.push(field_problem(
                name,
                row.line,
                COL_HOT7,
                "bad_code",
                format!("`{}` is not a 7-digit HOT7 code", excerpt(hot7)),
                "the second column is the 7-digit 処方用番号（ＨＯＴ７）",
            ));
            continue;
        }
        if system == "hot13" {
            if let Some(first) = first_line_of.insert(code.to_owned(), row.line) {
                problems.push(field_problem(
                    name,
                    row.line,
                    COL_HOT,
                    "duplicate_key",
                    format!("HOT13 {code} is already on line {first}"),
                    "each HOT13 appears once in the standard file; remove the duplicate row or fetch the file again",
                ));
                continue;
            }
        }
        row_notices(name, row, system, notices);

        let attributes = Attributes::from_pairs(COLUMNS.iter().map(|(key, _)| *key).zip(f.iter()));
        let display = [COL_BRAND_NAME, COL_RECEIPT_NAME, COL_NOTICE_NAME]
            .iter()
            .map(|&c| &f[c])
            .find(|s| !s.is_empty())
            .unwrap_or("")
            .to_owned();
        let designations = [
            ("brand", COL_BRAND_NAME),
            ("receipt", COL_RECEIPT_NAME),
            ("notice", COL_NOTICE_NAME),
        ]
        .iter()
        .filter(|(_, c)| !f[*c].is_empty())
        .map(|(kind, c)| Designation {
            kind,
            value: f[*c].to_owned(),
        })
        .collect();
        let hot9 = &code[..9];
        let mut links = Vec::new();
        let mut link = |system: &'static str, value: &str| {
            if !value.is_empty()
                && !links
                    .iter()
                    .any(|l: &Link| l.system == system && l.code == value)
            {
                links.push(Link {
                    relation: Relation::Code,
                    system,
                    code: value.to_owned(),
                });
            }
        };
        if system == "hot13" {
            link("hot9", hot9);
        }
        link("hot7", hot7);
        link("jan", &f[COL_JAN]);
        link("yakka", &f[COL_YAKKA]);
        link("yj", &f[COL_YJ]);
        link("receipt_drug", &f[COL_RECEIPT_1]);
        link("receipt_drug", &f[COL_RECEIPT_2]);

        let row_key = if system == "hot13" {
            code.to_owned()
        } else {
            // HOT9 is not unique in the HOT9 file: a row is identified by its content, and
            // byte-identical rows by their occurrence, so that no row is ever lost.
            let mut hasher = Sha256::new();
            for value in f.iter() {
                hasher.update(value.as_bytes());
                hasher.update([0x1F]);
            }
            let digest = hasher.finalize();
            let base = format!("{code}:{}", hex::encode(&digest[..6]));
            let n = occurrences.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                format!("{base}~{n}")
            }
        };
        records.push(Record {
            system,
            code: code.to_owned(),
            row_key,
            status: if deleted.contains(hot9) {
                Status::Retired
            } else {
                Status::Active
            },
            display,
            attributes,
            designations,
            links,
            origin: (index, row.line),
        });
    }
}

fn field_problem(
    file: &str,
    line: u64,
    col: usize,
    kind: &'static str,
    message: String,
    fix: &str,
) -> Problem {
    Problem::field(file, line, col + 1, COLUMNS[col].1[0], kind, message, fix)
}

/// Checks that do not stop an import: real masters carry these irregularities.
fn row_notices(name: &str, row: &Row, system: &str, notices: &mut Problems) {
    let f = &row.fields;
    let code = &f[COL_HOT];
    let hot7 = &f[COL_HOT7];
    if !hot7_check_digit_ok(hot7) {
        notices.push(field_problem(
            name,
            row.line,
            COL_HOT7,
            "hot7_check_digit",
            format!("HOT7 {hot7} fails the check digit (modulus 10, weights 3/1)"),
            "reported to MEDIS if it persists; the code is imported as published",
        ));
    }
    if &code[..7] != hot7 || code[7..9] != f[COL_COMPANY] {
        notices.push(field_problem(
            name,
            row.line,
            COL_HOT,
            "hot_prefix_mismatch",
            format!(
                "{system} {code} does not start with HOT7 {hot7} + company {}",
                excerpt(&f[COL_COMPANY])
            ),
            "imported as published; the HOT code is the key",
        ));
    }
    let date = &f[COL_UPDATED_ON];
    if NaiveDate::parse_from_str(date, "%Y%m%d").is_err() || date.len() != 8 {
        notices.push(field_problem(
            name,
            row.line,
            COL_UPDATED_ON,
            "bad_date",
            format!("`{}` is not a yyyymmdd date", excerpt(date)),
            "imported as published",
        ));
    }
    if !["内", "注", "外", "歯", ""].contains(&&f[COL_CATEGORY]) {
        notices.push(field_problem(
            name,
            row.line,
            COL_CATEGORY,
            "unknown_category",
            format!(
                "区分 `{}` is not 内, 注, 外 or 歯",
                excerpt(&f[COL_CATEGORY])
            ),
            "imported as published",
        ));
    }
}

/// What hyojun knows of this master: its key and name, its code systems, the files a release
/// is made of, and how to read them ([`crate::masters::Descriptor`]).
pub const DESCRIPTOR: crate::masters::Descriptor = crate::masters::Descriptor {
    master: crate::systems::Master::Hot,
    key: "hot",
    name: "HS001 医薬品HOTコードマスター",
    systems: SYSTEMS,
    files: FILES,
    row_role: |system, row_key| match system {
        "hot13" => Some("hot13"),
        "hot9" if row_key.starts_with("deleted:") => Some("hot9del"),
        "hot9" => Some("hot9"),
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
            "hot13",
            Hot,
            "HOTコード（基準番号 13桁）",
            Some("http://medis.or.jp/CodeSystem/master-HOT13"),
            ["urn:oid:1.2.392.200119.4.402.1"],
            "13 digits: HOT7 + 会社 2 + 調剤 2 + 物流 2",
            Shape::Digits(13),
            Defined::Rows
        ),
        system!(
            "hot9",
            Hot,
            "HOT9（HOT7 + 会社識別）",
            Some("http://medis.or.jp/CodeSystem/master-HOT9"),
            [
                "urn:oid:1.2.392.200119.4.403.1",
                "urn:oid:1.2.392.100495.20.2.74"
            ],
            "9 digits: HOT7 + 会社 2",
            Shape::Digits(9),
            Defined::Rows
        ),
        system!(
            "hot7",
            Hot,
            "HOT7（処方用番号）",
            Some("http://medis.or.jp/CodeSystem/master-HOT7"),
            ["urn:oid:1.2.392.200119.4.403.2"],
            "7 digits: 6 digits + modulus-10 check digit (weights 3/1)",
            Shape::Digits(7),
            Defined::Carried
        ),
        system!(
            "yj",
            Hot,
            "個別医薬品コード（YJコード）",
            Some("http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"),
            ["urn:oid:1.2.392.100495.20.2.73"],
            "12 characters",
            Shape::Alnum(12),
            Defined::Carried
        ),
        system!(
            "yakka",
            Hot,
            "薬価基準収載医薬品コード",
            None,
            [],
            "12 characters (厚生労働省 薬価基準)",
            Shape::Alnum(12),
            Defined::Carried
        ),
        system!(
            "receipt_drug",
            Hot,
            "レセプト電算処理システム 医薬品コード",
            None,
            [],
            "9 digits (支払基金)",
            Shape::Digits(9),
            Defined::Carried
        ),
        system!(
            "jan",
            Hot,
            "JANコード",
            None,
            [],
            "13 digits (GS1 JAN/EAN-13)",
            Shape::Digits(13),
            Defined::Carried
        ),
    ]
};

/// The files of a release, for the completeness check.
const FILES: &[crate::masters::completeness::FileRole] = &[
    crate::masters::completeness::FileRole {
        key: "hot13",
        title: "standard file MEDIS{yyyymmdd}.TXT (HOT13)",
        required: true,
    },
    crate::masters::completeness::FileRole {
        key: "hot9",
        title: "HOT9 file MEDIS{yyyymmdd}_HOT9.TXT",
        required: true,
    },
    crate::masters::completeness::FileRole {
        key: "hot9del",
        title: "deletion list h{yyyymmdd}_HOT9del.txt",
        required: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot7_check_digit_matches_real_codes() {
        for ok in ["1003031", "1003055", "1003062", "1030198"] {
            assert!(hot7_check_digit_ok(ok), "{ok}");
        }
        assert!(!hot7_check_digit_ok("1074523"));
        assert!(!hot7_check_digit_ok("100303"));
        assert!(!hot7_check_digit_ok("10030a1"));
    }

    #[test]
    fn roles_and_dates_from_names() {
        assert_eq!(Role::from_name("MEDIS20260630.TXT"), Role::Standard);
        assert_eq!(Role::from_name("MEDIS20260630_HOT9.TXT"), Role::Hot9);
        assert_eq!(Role::from_name("h20260630_HOT9del.txt"), Role::Deletions);
        assert_eq!(Role::from_name("MEDIS20260630_OP.TXT"), Role::Option);
        assert_eq!(Role::from_name("標準レイアウト.pdf"), Role::Other);
        assert_eq!(date_in_name("h20260630.zip").as_deref(), Some("20260630"));
        assert_eq!(
            date_in_name("MEDIS20011214_HOT9.TXT").as_deref(),
            Some("20011214")
        );
        assert_eq!(date_in_name("hot.txt"), None);
    }
}
