//! HS005 ICD10対応標準病名マスター: `byomei{NNN}.zip` with `main/nmain{NNN}.txt` (病名基本テーブル,
//! 20 columns), `main/mdfy{NNN}.txt` (修飾語テーブル, 10) and `main/index{NNN}.txt` (索引テーブル,
//! 9), CP932, no header row; column titles in `option/ttl_*.txt` (older `option/n_title/`),
//! checked when present. Layout, status mapping and designations: `masters/README.md`;
//! `../shared/docs/master-formats.md` §1.
//!
//! * A name is a `byomei` record (row identity `byomei:{病名管理番号}`) carrying its 交換用コード
//!   (`byomei_exchange`, shared by synonyms and superseded names), レセ電算コード
//!   (`receipt_disease`) and ICD-10 codes (`icd10`, †/* stripped); its 移行先 is a successor
//!   link, and a name with a 移行先 is retired.
//! * A modifier is a `modifier` record (`modifier:{修飾語管理番号}`) carrying
//!   `modifier_exchange` and `receipt_modifier`.
//! * The index has no key: each term becomes a designation of every name (or modifier) with
//!   its exchange code, its flags spelled out in the designation kind
//!   (`index:kana_kanji=1,synonym=0,variant=0,first_edition=9`).

use std::sync::{Mutex, OnceLock};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::NaiveDate;

use super::checks::{self, SuccessorRef};
use super::fields::Fields;
use super::input::SourceFile;
use super::problem::{listing, Problem, Problems};
use super::record::{
    Attributes, Designation, Link, ParsedRelease, Record, Relation, ReleaseFile, Status,
};
use super::text::{self, Row};
use super::Progress;
use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limits};
use crate::systems::Master;
use crate::text::Level;

type Layout = [(&'static str, &'static [&'static str])];

/// nmain (病名基本テーブル): attribute key and accepted titles (current first, older after).
const MAIN_COLUMNS: [(&str, &[&str]); 20] = [
    ("change_flag", &["変更区分"]),
    ("byomei_code", &["病名管理番号"]),
    ("name", &["病名表記"]),
    ("kana", &["病名表記カナ"]),
    ("adoption_flag", &["採択区分"]),
    ("exchange_code", &["病名交換用コード"]),
    ("icd10", &["ＩＣＤ１０‐２０１３", "ICD10", "ＩＣＤ１０"]),
    (
        "icd10_secondary",
        &[
            "ＩＣＤ１０‐２０１３複数分類コード",
            "ICD10複数分類コード",
            "ＩＣＤ１０複数分類コード",
        ],
    ),
    ("reserve_1", &["予備１", "ICD10確度", "ＩＣＤ１０確度"]),
    ("reserve_2", &["予備２", "複数ICD候補", "複数ＩＣＤ候補"]),
    ("receipt_code", &["レセ電算コード"]),
    ("short_name", &["傷病名省略名称", "レセ電算対応表記"]),
    ("field_of_use", &["使用分野", "レセ電算対応確度"]),
    ("change_history_number", &["変更履歴番号"]),
    ("updated_on", &["更新日付"]),
    ("successor_code", &["移行先病名管理番号"]),
    ("standalone_use_prohibited", &["単独使用禁止区分"]),
    ("insurance_claim_excluded", &["保険請求外区分"]),
    ("reserve_3", &["予備３"]),
    ("reserve_4", &["予備４"]),
];
/// The kind of each column of [`MAIN_COLUMNS`], for its length limit (the 予備 columns
/// may hold anything MEDIS decides: names).
const MAIN_KINDS: [FieldKind; MAIN_COLUMNS.len()] = {
    use FieldKind::{Code as C, Name as N};
    [
        C, C, N, N, C, C, C, C, N, N, // 変更区分 … 予備２
        C, N, C, C, C, C, C, C, N, N, // レセ電算コード … 予備４
    ]
};
const N_CODE: usize = 1;
const N_NAME: usize = 2;
const N_KANA: usize = 3;
const N_EXCHANGE: usize = 5;
const N_ICD: usize = 6;
const N_ICD_2: usize = 7;
const N_RECEIPT: usize = 10;
const N_SHORT: usize = 11;
const N_UPDATED: usize = 14;
const N_SUCCESSOR: usize = 15;

/// mdfy (修飾語テーブル).
const MODIFIER_COLUMNS: [(&str, &[&str]); 10] = [
    ("change_flag", &["変更区分"]),
    ("modifier_code", &["修飾語管理番号"]),
    ("name", &["修飾語表記"]),
    ("kana", &["修飾語表記カナ"]),
    ("exchange_code", &["修飾語交換用コード"]),
    ("connection_position", &["接続位置区分"]),
    ("modifier_class", &["修飾語区分"]),
    ("exclusion_group", &["排他グループコード"]),
    ("receipt_code", &["レセ電算修飾語コード"]),
    ("description_label", &["修飾語説明用ラベル"]),
];
/// The kind of each column of [`MODIFIER_COLUMNS`].
const MODIFIER_KINDS: [FieldKind; MODIFIER_COLUMNS.len()] = {
    use FieldKind::{Code as C, Name as N};
    [C, C, N, N, C, C, C, C, C, N]
};
const M_CODE: usize = 1;
const M_NAME: usize = 2;
const M_KANA: usize = 3;
const M_EXCHANGE: usize = 4;
const M_RECEIPT: usize = 8;

/// index (索引テーブル).
const INDEX_COLUMNS: [(&str, &[&str]); 9] = [
    ("term", &["索引用語"]),
    ("exchange_code", &["対応用語コード"]),
    ("target", &["病名修飾語区分"]),
    ("kana_kanji", &["かな漢字区分"]),
    ("synonym", &["同義語区分"]),
    ("variant", &["異字体区分"]),
    ("first_edition", &["第１版採用表記区分"]),
    ("language", &["言語区分"]),
    ("abbreviation", &["省略区分"]),
];
/// The kind of each column of [`INDEX_COLUMNS`].
const INDEX_KINDS: [FieldKind; INDEX_COLUMNS.len()] = {
    use FieldKind::{Code as C, Name as N};
    [N, C, C, C, C, C, C, C, C]
};
const I_TERM: usize = 0;
const I_CODE: usize = 1;
const I_TARGET: usize = 2;
const I_FLAGS: usize = 3;

/// The three tables of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Main,
    Modifier,
    Index,
}

impl Table {
    const ALL: [Table; 3] = [Table::Main, Table::Modifier, Table::Index];

    fn key(self) -> &'static str {
        match self {
            Table::Main => "nmain",
            Table::Modifier => "mdfy",
            Table::Index => "index",
        }
    }

    fn title_key(self) -> &'static str {
        match self {
            Table::Main => "ttl_main",
            Table::Modifier => "ttl_mdfy",
            Table::Index => "ttl_idx",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Table::Main => "病名基本テーブル (nmain)",
            Table::Modifier => "修飾語テーブル (mdfy)",
            Table::Index => "索引テーブル (index)",
        }
    }

    fn layout(self) -> &'static Layout {
        match self {
            Table::Main => &MAIN_COLUMNS,
            Table::Modifier => &MODIFIER_COLUMNS,
            Table::Index => &INDEX_COLUMNS,
        }
    }

    /// The kind of each column of [`Table::layout`].
    fn kinds(self) -> &'static [FieldKind] {
        match self {
            Table::Main => &MAIN_KINDS,
            Table::Modifier => &MODIFIER_KINDS,
            Table::Index => &INDEX_KINDS,
        }
    }

    /// The column whose title in a data file's first row gives away a header row.
    fn key_column(self) -> usize {
        match self {
            Table::Main => N_CODE,
            Table::Modifier => M_CODE,
            Table::Index => I_CODE,
        }
    }
}

/// What a file is within a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data(Table),
    Titles(Table),
}

impl Kind {
    /// `nmain518.txt` → data of nmain; `ttl_main.txt` → titles of nmain.
    fn from_name(file_name: &str) -> Option<Kind> {
        let lower = file_name.to_ascii_lowercase();
        let stem = lower
            .strip_suffix(".txt")
            .or_else(|| lower.strip_suffix(".csv"))?;
        match stem {
            "ttl_main" => return Some(Kind::Titles(Table::Main)),
            "ttl_mdfy" => return Some(Kind::Titles(Table::Modifier)),
            "ttl_idx" | "ttl_index" => return Some(Kind::Titles(Table::Index)),
            _ => {}
        }
        Table::ALL.into_iter().find_map(|t| {
            let rest = stem.strip_prefix(t.key())?;
            rest.bytes()
                .all(|b| b.is_ascii_digit())
                .then_some(Kind::Data(t))
        })
    }

    fn role(self) -> &'static str {
        match self {
            Kind::Data(t) => t.key(),
            Kind::Titles(t) => t.title_key(),
        }
    }
}

/// Whether the parser reads a zip member of this name (a table or a title file); the others
/// are listed as ignored.
pub fn reads(file_name: &str) -> bool {
    Kind::from_name(file_name).is_some()
}

/// The version digits a name carries: `byomei518` / `nmain518.txt` → `518`.
fn version_digits(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    ["byomei", "nmain", "mdfy", "index"].iter().find_map(|p| {
        let rest = lower.strip_prefix(p)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let tail = &rest[digits.len()..];
        (digits.len() >= 2 && (tail.is_empty() || tail.starts_with('.'))).then_some(digits)
    })
}

/// `518` → `5.18` (MEDIS numbers releases 5.NN and names the files without the dot).
fn label_of(digits: &str) -> String {
    format!("{}.{}", &digits[..1], &digits[1..])
}

/// A file decoded and split into rows.
struct File<'a> {
    source: &'a SourceFile,
    kind: Kind,
    encoding: &'static str,
    rows: Vec<Row>,
}

impl File<'_> {
    fn name(&self) -> &str {
        &self.source.display_name
    }

    fn table(&self) -> Table {
        match self.kind {
            Kind::Data(t) | Kind::Titles(t) => t,
        }
    }

    fn field_problem(
        &self,
        row: &Row,
        col: usize,
        kind: &'static str,
        message: String,
        fix: &str,
    ) -> Problem {
        Problem::field(
            self.name(),
            row.line,
            col + 1,
            self.table().layout()[col].1[0],
            kind,
            message,
            fix,
        )
    }
}

/// Parses and validates a whole 病名 release; nothing is returned unless every file is sound,
/// and all problems found are reported together.
pub fn parse(
    sources: &[SourceFile],
    options: &super::ParseOptions,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    let label_override = options.label.as_deref();
    let mut problems = Problems::default();
    let mut ignored = Vec::new();
    let mut files: Vec<File> = Vec::new();
    let mut given: Vec<(Kind, &str)> = Vec::new();
    for source in sources {
        let Some(kind) = Kind::from_name(&source.file_name) else {
            ignored.push(format!("{} (not a 病名 master table)", source.display_name));
            continue;
        };
        given.push((kind, &source.display_name));
        match read_file(source, kind, &options.limits) {
            Ok(file) => files.push(file),
            Err(p) => problems.extend(p),
        }
    }
    check_file_set(sources, &given, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let label = match label_override {
        Some(label) => label.to_owned(),
        None => release_label(sources, &mut problems).unwrap_or_default(),
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let order = |f: &File| match f.kind {
        Kind::Data(t) => Table::ALL.iter().position(|x| *x == t).unwrap_or(0),
        Kind::Titles(t) => 3 + Table::ALL.iter().position(|x| *x == t).unwrap_or(0),
    };
    files.sort_by_key(order);
    // Exactly one data file per table (checked above), first in table order.
    let data = |t: Table| &files[Table::ALL.iter().position(|x| *x == t).unwrap_or(0)];

    let total: u64 = files.iter().map(|f| f.rows.len() as u64).sum();
    progress.start("parsing 病名 rows", total);
    let mut notices = Problems::default();
    let mut records = Vec::new();
    let mut exchange = Exchange::default();
    parse_modifiers(
        data(Table::Modifier),
        1,
        &mut records,
        &mut exchange,
        &mut problems,
        &mut notices,
    );
    let mut refs = Vec::new();
    let names = parse_names(
        data(Table::Main),
        0,
        &mut records,
        &mut exchange,
        &mut refs,
        &mut problems,
        &mut notices,
    );
    checks::check_successors(&names, &refs, "病名管理番号", &mut problems);
    progress.advance(total / 2);
    attach_index(
        data(Table::Index),
        &mut records,
        &exchange,
        &mut problems,
        &mut notices,
    );
    progress.advance(total - total / 2);
    progress.finish();
    if !problems.is_empty() {
        return Err(problems);
    }

    let publication_date = data(Table::Main)
        .rows
        .iter()
        .filter_map(|r| NaiveDate::parse_from_str(&r.fields[N_UPDATED], "%Y%m%d").ok())
        .max();
    let files = files
        .iter()
        .map(|f| ReleaseFile {
            name: f.name().to_owned(),
            role: f.kind.role(),
            sha256: f.source.sha256.clone(),
            byte_size: f.source.bytes.len() as u64,
            row_count: match f.kind {
                Kind::Data(_) => f.rows.len() as u64,
                Kind::Titles(_) => 0,
            },
            encoding: f.encoding,
        })
        .collect();
    Ok(ParsedRelease {
        master: Master::Byomei,
        label,
        publication_date,
        files,
        records,
        notices,
        ignored,
        scope: super::Scope::Complete,
    })
}

/// Decodes a table or title file and checks its shape: data files have no header row and
/// the table's column count on every row; title files hold the table's column titles.
fn read_file<'a>(
    source: &'a SourceFile,
    kind: Kind,
    limits: &Limits,
) -> Result<File<'a>, Problems> {
    let name = source.display_name.as_str();
    let table = match kind {
        Kind::Data(t) | Kind::Titles(t) => t,
    };
    let (encoding, rows) = text::read_rows(
        source,
        "the download or copy failed; fetch byomei{NNN}.zip again from MEDIS",
        limits,
    )?;
    let file = File {
        source,
        kind,
        encoding: encoding.as_str(),
        rows,
    };
    let layout = table.layout();
    let mut problems = Problems::default();
    match kind {
        Kind::Titles(_) => {
            if let Some(first) = file.rows.first() {
                let titles: Vec<&str> = first.fields.iter().collect();
                checks::check_titles(
                    name,
                    first.line,
                    &titles,
                    layout,
                    table.key(),
                    &format!(
                        "the titles do not describe the {} layout this importer reads; check that the file comes from the same byomei{{NNN}}.zip, or report the new layout",
                        table.title()
                    ),
                    &mut problems,
                );
            }
        }
        Kind::Data(_) => {
            if let Some(first) = file.rows.first() {
                let key = table.key_column();
                let titled = first
                    .fields
                    .get(key)
                    .is_some_and(|v| Level::Title.matches_any(v, layout[key].1));
                if titled {
                    problems.push(file.field_problem(
                        first,
                        key,
                        "unexpected_header",
                        format!(
                            "line {} holds column titles (`{}`), but {} files have no header row",
                            first.line,
                            excerpt(first.fields.get(key).unwrap_or("")),
                            table.key()
                        ),
                        "remove the title line: MEDIS ships the titles separately in option/ttl_*.txt",
                    ));
                    return Err(problems);
                }
            }
            let fields = Fields { file: name, limits };
            for row in &file.rows {
                if row.fields.len() == layout.len() {
                    fields.row(row, |c| layout[c].1[0], table.kinds(), &mut problems);
                } else {
                    problems.push(Problem::line(
                        name,
                        row.line,
                        "column_count",
                        format!(
                            "the row has {} columns, the {} layout has {}",
                            row.fields.len(),
                            table.key(),
                            layout.len()
                        ),
                        "a comma or quote is missing or extra on this line, or the line is cut off; compare it with the MEDIS original",
                    ));
                }
            }
            if file.rows.is_empty() {
                problems.push(Problem::file(
                    name,
                    "no_rows",
                    "the file holds no rows".into(),
                    "the file is truncated; fetch byomei{NNN}.zip again from MEDIS",
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(problems)
    }
}

/// One data file per table; all three tables are part of a release.
fn check_file_set(sources: &[SourceFile], given: &[(Kind, &str)], problems: &mut Problems) {
    let found: Vec<&str> = sources.iter().map(|s| s.display_name.as_str()).collect();
    let first = found.first().copied().unwrap_or("(input)");
    for table in Table::ALL {
        let named: Vec<&str> = given
            .iter()
            .filter(|(kind, _)| *kind == Kind::Data(table))
            .map(|(_, name)| *name)
            .collect();
        match named.len() {
            1 => {}
            0 => problems.push(Problem::file(
                first,
                "missing_file",
                format!(
                    "the release has no {} file {}{{NNN}}.txt (given: {})",
                    table.title(),
                    table.key(),
                    listing(found.iter().copied())
                ),
                "a 病名 release is main/nmain{NNN}.txt, main/mdfy{NNN}.txt and main/index{NNN}.txt: give byomei{NNN}.zip as MEDIS publishes it, its folder, or all three files",
            )),
            _ => problems.push(Problem::file(
                named[1],
                "duplicate_file",
                format!("more than one {} file given: {}", table.title(), listing(named.iter().copied())),
                "import one release at a time: one byomei{NNN}.zip or its three tables",
            )),
        }
    }
}

/// The version from the zip, folder and file names: all must agree.
fn release_label(sources: &[SourceFile], problems: &mut Problems) -> Option<String> {
    let mut found: Vec<(String, &str)> = Vec::new();
    for source in sources {
        if Kind::from_name(&source.file_name).is_none() {
            continue;
        }
        // The file's own name, and for zip members the archive's name and the member's
        // folders (`byomei518.zip:byomei518/main/…`); folders outside a zip are not looked
        // at, so an unrelated path cannot contribute a version.
        let mut names = vec![source.file_name.as_str()];
        let shown = source.display_name.as_str();
        if let Some(at) = shown.to_ascii_lowercase().rfind(".zip:") {
            let (archive, member) = (&shown[..at], &shown[at + 5..]);
            names.push(archive.rsplit(['/', '\\']).next().unwrap_or(archive));
            names.extend(member.split('/'));
        }
        for name in names {
            if let Some(d) = version_digits(name) {
                found.push((d, &source.display_name));
            }
        }
    }
    let distinct: HashSet<&str> = found.iter().map(|(d, _)| d.as_str()).collect();
    match distinct.len() {
        1 => Some(label_of(&found[0].0)),
        0 => {
            let first = sources
                .first()
                .map_or("(input)", |s| s.display_name.as_str());
            problems.push(Problem::file(
                first,
                "no_label",
                "the names carry no version (byomei{NNN}.zip, nmain{NNN}.txt …)".into(),
                "name the release with --version LABEL, e.g. --version 5.18",
            ));
            None
        }
        _ => {
            let mut listed: Vec<String> = found
                .iter()
                .map(|(d, n)| format!("{n} → {}", label_of(d)))
                .collect();
            listed.dedup();
            problems.push(Problem::file(
                found[0].1,
                "mixed_releases",
                format!("the files belong to different versions: {}", listed.join(", ")),
                "import one release at a time (the tables of one byomei{NNN}.zip), or name it with --version",
            ));
            None
        }
    }
}

/// Which records carry each exchange code (names and modifiers separately).
#[derive(Default)]
struct Exchange {
    names: HashMap<String, Vec<usize>>,
    modifiers: HashMap<String, Vec<usize>>,
}

/// ICD-10 as the master writes it, normalised for linking and validation.
#[derive(Debug, PartialEq, Eq)]
struct Icd10 {
    /// The code without dagger/asterisk marks: what the record carries.
    code: String,
    /// The 4-character subcategory of a 5-character code (`J9690` → `J969`, `F152a` → `F152`).
    subcategory: Option<String>,
    /// The 3-character category.
    category: String,
}

/// Strips †/* marks and checks the shape: a letter, two digits, then up to two characters
/// (digits, a Japanese a–d extension, or `-` as in `T08-1`). `None` when not ICD-shaped.
fn icd10(raw: &str) -> Option<Icd10> {
    let code: String = raw
        .chars()
        .filter(|c| !matches!(c, '†' | '‡' | '*' | '＊' | '+') && !c.is_whitespace())
        .collect();
    let b = code.as_bytes();
    let shaped = (3..=5).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-');
    if !shaped {
        return None;
    }
    Some(Icd10 {
        subcategory: (b.len() == 5 && b[3] != b'-').then(|| code[..4].to_owned()),
        category: code[..3].to_owned(),
        code,
    })
}

/// A code column's value; a lone `-` means none (some copies of the master write empty
/// values that way). The attributes keep the value as published.
fn code_value(value: &str) -> &str {
    if value == "-" {
        ""
    } else {
        value
    }
}

fn code_link(links: &mut Vec<Link>, system: &'static str, code: &str) {
    if !code.is_empty() && !links.iter().any(|l| l.system == system && l.code == code) {
        links.push(Link {
            relation: Relation::Code,
            system,
            code: code.to_owned(),
        });
    }
}

/// Parses nmain; returns the 病名管理番号 defined.
fn parse_names<'a>(
    file: &'a File,
    index: usize,
    records: &mut Vec<Record>,
    exchange: &mut Exchange,
    refs: &mut Vec<SuccessorRef<'a>>,
    problems: &mut Problems,
    notices: &mut Problems,
) -> HashSet<&'a str> {
    let mut first_line: HashMap<&str, u64> = HashMap::default();
    let mut defined = HashSet::default();
    for row in &file.rows {
        let f = &row.fields;
        let code = &f[N_CODE];
        if !checks::all_digits(code, 8) {
            problems.push(file.field_problem(
                row,
                N_CODE,
                "bad_code",
                format!("`{}` is not an 8-digit 病名管理番号", excerpt(code)),
                "the second column of nmain is the 8-digit 病名管理番号 (e.g. 20058678)",
            ));
            continue;
        }
        if let Some(first) = first_line.insert(code, row.line) {
            problems.push(file.field_problem(
                row,
                N_CODE,
                "duplicate_key",
                format!("病名管理番号 {code} is already on line {first}"),
                "each 病名管理番号 appears once in nmain; remove the duplicate row or fetch the file again",
            ));
            continue;
        }
        let mut ok = true;
        if f[N_NAME].is_empty() {
            ok = false;
            problems.push(file.field_problem(
                row,
                N_NAME,
                "missing_value",
                format!("病名 {code} has an empty 病名表記"),
                "every nmain row names the disease in column 3; check the row against the MEDIS original",
            ));
        }
        let ex = code_value(&f[N_EXCHANGE]);
        if ex.is_empty() {
            notices.push(file.field_problem(
                row,
                N_EXCHANGE,
                "no_exchange_code",
                format!("病名 {code} has no 病名交換用コード"),
                "imported without one; no index term can reach this name",
            ));
        } else if !checks::upper_alnum(ex, 4) {
            ok = false;
            problems.push(file.field_problem(
                row,
                N_EXCHANGE,
                "bad_code",
                format!("`{}` is not a 4-character 病名交換用コード", excerpt(ex)),
                "the exchange code is 4 characters of 0-9 and A-Z (e.g. VK0H)",
            ));
        }
        let successor = code_value(&f[N_SUCCESSOR]);
        if !successor.is_empty() {
            if checks::all_digits(successor, 8) {
                refs.push(SuccessorRef {
                    from: code,
                    to: successor,
                    file: file.name(),
                    line: row.line,
                    column: N_SUCCESSOR + 1,
                    column_name: MAIN_COLUMNS[N_SUCCESSOR].1[0],
                });
            } else {
                ok = false;
                problems.push(file.field_problem(
                    row,
                    N_SUCCESSOR,
                    "bad_code",
                    format!("移行先 `{}` is not an 8-digit 病名管理番号", excerpt(successor)),
                    "the 移行先病名管理番号 column is empty or names the 8-digit code that replaces this name",
                ));
            }
        }
        if !ok {
            continue;
        }
        defined.insert(code);

        let mut links = Vec::new();
        let mut derived: Vec<(&str, String)> = Vec::new();
        code_link(&mut links, "byomei_exchange", ex);
        for (col, prefix) in [(N_ICD, "icd10"), (N_ICD_2, "icd10_secondary")] {
            let raw = code_value(&f[col]);
            if raw.is_empty() {
                continue;
            }
            match icd10(raw) {
                Some(icd) => {
                    code_link(&mut links, "icd10", &icd.code);
                    let key = |suffix| match (prefix, suffix) {
                        ("icd10", "code") => "icd10_code",
                        ("icd10", "subcategory") => "icd10_subcategory",
                        ("icd10", _) => "icd10_category",
                        (_, "code") => "icd10_secondary_code",
                        (_, "subcategory") => "icd10_secondary_subcategory",
                        _ => "icd10_secondary_category",
                    };
                    derived.push((key("code"), icd.code.clone()));
                    if let Some(sub) = icd.subcategory {
                        derived.push((key("subcategory"), sub));
                    }
                    derived.push((key("category"), icd.category));
                }
                None => notices.push(file.field_problem(
                    row,
                    col,
                    "icd10_shape",
                    format!("`{}` does not look like an ICD-10 code", excerpt(raw)),
                    "kept as published in the attributes; no icd10 code is linked",
                )),
            }
        }
        let receipt = code_value(&f[N_RECEIPT]);
        if checks::all_digits(receipt, 7) {
            code_link(&mut links, "receipt_disease", receipt);
        } else if !receipt.is_empty() {
            notices.push(file.field_problem(
                row,
                N_RECEIPT,
                "bad_receipt_code",
                format!(
                    "`{}` is not a 7-digit レセ電算 傷病名コード",
                    excerpt(receipt)
                ),
                "kept as published in the attributes; no receipt code is linked",
            ));
        }
        if !successor.is_empty() {
            links.push(Link {
                relation: Relation::Successor,
                system: "byomei",
                code: successor.to_owned(),
            });
        }
        date_notice(file, row, N_UPDATED, notices);

        let mut designations = Vec::new();
        if !f[N_KANA].is_empty() {
            designations.push(Designation {
                kind: "kana",
                value: f[N_KANA].to_owned(),
            });
        }
        if !f[N_SHORT].is_empty() && f[N_SHORT] != f[N_NAME] {
            designations.push(Designation {
                kind: "short",
                value: f[N_SHORT].to_owned(),
            });
        }
        if !ex.is_empty() {
            exchange
                .names
                .entry(ex.to_owned())
                .or_default()
                .push(records.len());
        }
        records.push(Record {
            system: "byomei",
            code: code.to_owned(),
            row_key: format!("byomei:{code}"),
            status: if successor.is_empty() {
                Status::Active
            } else {
                Status::Retired
            },
            display: f[N_NAME].to_owned(),
            attributes: Attributes::from_pairs(
                MAIN_COLUMNS
                    .iter()
                    .map(|(k, _)| *k)
                    .zip(f.iter())
                    .chain(derived.iter().map(|(k, v)| (*k, v.as_str()))),
            ),
            designations,
            links,
            origin: (index, row.line),
        });
    }
    defined
}

fn date_notice(file: &File, row: &Row, col: usize, notices: &mut Problems) {
    let date = &row.fields[col];
    if !date.is_empty() && !checks::is_date(date) {
        notices.push(file.field_problem(
            row,
            col,
            "bad_date",
            format!("`{}` is not a yyyymmdd date", excerpt(date)),
            "imported as published",
        ));
    }
}

/// Parses mdfy. Modifiers have no 移行先 column: all are active (変更区分 is kept as data).
fn parse_modifiers(
    file: &File,
    index: usize,
    records: &mut Vec<Record>,
    exchange: &mut Exchange,
    problems: &mut Problems,
    notices: &mut Problems,
) {
    let mut first_line: HashMap<&str, u64> = HashMap::default();
    for row in &file.rows {
        let f = &row.fields;
        let code = &f[M_CODE];
        if !checks::all_digits(code, 8) {
            problems.push(file.field_problem(
                row,
                M_CODE,
                "bad_code",
                format!("`{}` is not an 8-digit 修飾語管理番号", excerpt(code)),
                "the second column of mdfy is the 8-digit 修飾語管理番号 (e.g. 27000001)",
            ));
            continue;
        }
        if let Some(first) = first_line.insert(code, row.line) {
            problems.push(file.field_problem(
                row,
                M_CODE,
                "duplicate_key",
                format!("修飾語管理番号 {code} is already on line {first}"),
                "each 修飾語管理番号 appears once in mdfy; remove the duplicate row or fetch the file again",
            ));
            continue;
        }
        if f[M_NAME].is_empty() {
            problems.push(file.field_problem(
                row,
                M_NAME,
                "missing_value",
                format!("修飾語 {code} has an empty 修飾語表記"),
                "every mdfy row names the modifier in column 3; check the row against the MEDIS original",
            ));
            continue;
        }
        let ex = code_value(&f[M_EXCHANGE]);
        if ex.is_empty() {
            notices.push(file.field_problem(
                row,
                M_EXCHANGE,
                "no_exchange_code",
                format!("修飾語 {code} has no 修飾語交換用コード"),
                "imported without one; no index term can reach this modifier",
            ));
        } else if !checks::upper_alnum(ex, 4) {
            problems.push(file.field_problem(
                row,
                M_EXCHANGE,
                "bad_code",
                format!("`{}` is not a 4-character 修飾語交換用コード", excerpt(ex)),
                "the exchange code is 4 characters of 0-9 and A-Z (e.g. 0001)",
            ));
            continue;
        }
        let mut links = Vec::new();
        code_link(&mut links, "modifier_exchange", ex);
        let receipt = code_value(&f[M_RECEIPT]);
        if checks::all_digits(receipt, 4) {
            code_link(&mut links, "receipt_modifier", receipt);
        } else if !receipt.is_empty() {
            notices.push(file.field_problem(
                row,
                M_RECEIPT,
                "bad_receipt_code",
                format!(
                    "`{}` is not a 4-digit レセ電算 修飾語コード",
                    excerpt(receipt)
                ),
                "kept as published in the attributes; no receipt code is linked",
            ));
        }
        let mut designations = Vec::new();
        if !f[M_KANA].is_empty() {
            designations.push(Designation {
                kind: "kana",
                value: f[M_KANA].to_owned(),
            });
        }
        if !ex.is_empty() {
            exchange
                .modifiers
                .entry(ex.to_owned())
                .or_default()
                .push(records.len());
        }
        records.push(Record {
            system: "modifier",
            code: code.to_owned(),
            row_key: format!("modifier:{code}"),
            status: Status::Active,
            display: f[M_NAME].to_owned(),
            attributes: Attributes::from_pairs(
                MODIFIER_COLUMNS.iter().map(|(k, _)| *k).zip(f.iter()),
            ),
            designations,
            links,
            origin: (index, row.line),
        });
    }
}

/// Most distinct flag combinations an index may use (real masters use a handful).
const MAX_INDEX_KINDS: usize = 256;

/// The designation kind for an index term's flags, e.g.
/// `index:kana_kanji=1,synonym=0,variant=0,first_edition=9` (empty flags left out). Kinds are
/// interned once per process; `None` past [`MAX_INDEX_KINDS`] distinct combinations.
fn index_kind(flags: &[&str]) -> Option<&'static str> {
    static KINDS: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut kind = String::from("index");
    let mut first = true;
    for ((key, _), value) in INDEX_COLUMNS[I_FLAGS..].iter().zip(flags) {
        if value.is_empty() {
            continue;
        }
        kind.push(if first { ':' } else { ',' });
        first = false;
        kind.push_str(key);
        kind.push('=');
        kind.push_str(value);
    }
    let kinds = KINDS.get_or_init(|| Mutex::new(HashMap::default()));
    let mut kinds = kinds.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = kinds.get(&kind) {
        return Some(k);
    }
    if kinds.len() >= MAX_INDEX_KINDS {
        return None;
    }
    let leaked: &'static str = Box::leak(kind.clone().into_boxed_str());
    kinds.insert(kind, leaked);
    Some(leaked)
}

/// Attaches every index term to the names (病名修飾語区分 1) or modifiers (2) that carry its
/// exchange code. A term whose code nothing carries is a notice; a repeated row is one term.
fn attach_index(
    file: &File,
    records: &mut [Record],
    exchange: &Exchange,
    problems: &mut Problems,
    notices: &mut Problems,
) {
    let mut seen: HashMap<Vec<&str>, u64> = HashMap::default();
    let mut extra: HashMap<usize, Vec<Designation>> = HashMap::default();
    for row in &file.rows {
        let f = &row.fields;
        let (term, code, target) = (&f[I_TERM], &f[I_CODE], &f[I_TARGET]);
        let mut ok = true;
        if term.is_empty() {
            ok = false;
            problems.push(file.field_problem(
                row,
                I_TERM,
                "missing_value",
                "the 索引用語 is empty".into(),
                "every index row holds a search term in column 1",
            ));
        }
        if !checks::upper_alnum(code, 4) {
            ok = false;
            problems.push(file.field_problem(
                row,
                I_CODE,
                "bad_code",
                format!("`{}` is not a 4-character 対応用語コード", excerpt(code)),
                "column 2 is the exchange code of the name or modifier the term finds",
            ));
        }
        let targets = match target {
            "1" => &exchange.names,
            "2" => &exchange.modifiers,
            _ => {
                problems.push(file.field_problem(
                    row,
                    I_TARGET,
                    "bad_flag",
                    format!(
                        "病名修飾語区分 `{}` is neither 1 (病名) nor 2 (修飾語)",
                        excerpt(target)
                    ),
                    "column 3 says whether the term finds a name (1) or a modifier (2)",
                ));
                continue;
            }
        };
        let flags: Vec<&str> = f.iter().skip(I_FLAGS).collect();
        for (i, value) in flags.iter().enumerate() {
            let flag_ok = value.len() <= 2 && value.bytes().all(|b| b.is_ascii_alphanumeric());
            if !flag_ok {
                ok = false;
                problems.push(file.field_problem(
                    row,
                    I_FLAGS + i,
                    "bad_flag",
                    format!("`{}` is not a flag value", excerpt(value)),
                    "the flag columns of the index hold a one-character code (or nothing)",
                ));
            }
        }
        if !ok {
            continue;
        }
        if let Some(first) = seen.insert(f.iter().collect(), row.line) {
            notices.push(Problem::line(
                file.name(),
                row.line,
                "duplicate_index_row",
                format!("the same index row is already on line {first}"),
                "the term is attached once",
            ));
            continue;
        }
        let Some(kind) = index_kind(&flags) else {
            problems.push(Problem::line(
                file.name(),
                row.line,
                "bad_flag",
                format!("the index uses more than {MAX_INDEX_KINDS} combinations of flags"),
                "the flag columns look shifted or corrupt; compare the file with the MEDIS original",
            ));
            continue;
        };
        match targets.get(code) {
            Some(carriers) => {
                for &i in carriers {
                    extra.entry(i).or_default().push(Designation {
                        kind,
                        value: term.to_owned(),
                    });
                }
            }
            None => notices.push(file.field_problem(
                row,
                I_CODE,
                "index_unmatched",
                format!(
                    "no {} carries exchange code {code} (term `{}`)",
                    if target == "1" { "name" } else { "modifier" },
                    excerpt(term)
                ),
                "the term is not attached to anything",
            )),
        }
    }
    // Index terms follow the record's own names, sorted, so that reordering the index file
    // does not change a record.
    for (i, mut designations) in extra {
        designations.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
        records[i].designations.extend(designations);
    }
}

/// What hyojun knows of this master: its key and name, its code systems, the files a release
/// is made of, and how to read them ([`crate::masters::Descriptor`]).
pub const DESCRIPTOR: crate::masters::Descriptor = crate::masters::Descriptor {
    master: crate::systems::Master::Byomei,
    key: "byomei",
    name: "HS005 ICD10対応標準病名マスター",
    systems: SYSTEMS,
    files: &[],
    row_role: |_, _| None,
    reads,
    parse,
};

/// The code systems of this master, in registry order.
const SYSTEMS: &[crate::systems::CodeSystem] = {
    use crate::systems::{system, Defined, Shape};
    &[
        system!(
            "byomei",
            Byomei,
            "病名管理番号",
            Some("http://medis.or.jp/CodeSystem/master-disease-keyNumber"),
            ["urn:oid:1.2.392.200119.4.101.2"],
            "8 digits",
            Shape::Digits(8),
            Defined::Rows
        ),
        system!(
            "byomei_exchange",
            Byomei,
            "病名交換用コード",
            Some("http://medis.or.jp/CodeSystem/master-disease-exCode"),
            ["urn:oid:1.2.392.200119.4.101.6"],
            "4 characters [0-9A-Z]; shared by synonyms",
            Shape::Alnum(4),
            Defined::Carried
        ),
        system!(
            "receipt_disease",
            Byomei,
            "レセプト電算処理システム 傷病名コード",
            Some("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease"),
            [],
            "7 digits (支払基金)",
            Shape::Digits(7),
            Defined::Carried
        ),
        system!(
            "icd10",
            Byomei,
            "ICD-10 (2013, MHLW)",
            Some("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"),
            ["urn:oid:2.16.840.1.113883.6.3.1"],
            "3–5 characters, no dot",
            Shape::Length(3, 7),
            Defined::Carried
        ),
        system!(
            "modifier",
            Byomei,
            "修飾語管理番号",
            Some("http://medis.or.jp/CodeSystem/master-disease-modKeyNumber"),
            ["urn:oid:1.2.392.200119.4.201.2"],
            "8 digits",
            Shape::Digits(8),
            Defined::Rows
        ),
        system!(
            "modifier_exchange",
            Byomei,
            "修飾語交換用コード",
            Some("http://medis.or.jp/CodeSystem/master-disease-modExCode"),
            ["urn:oid:1.2.392.200119.4.201.5"],
            "4 characters",
            Shape::Alnum(4),
            Defined::Carried
        ),
        system!(
            "receipt_modifier",
            Byomei,
            "レセプト電算処理システム 修飾語コード",
            Some("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterZ-disease-modifier"),
            [],
            "4 digits (支払基金)",
            Shape::Digits(4),
            Defined::Carried
        ),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_versions_from_names() {
        assert_eq!(
            Kind::from_name("nmain518.txt"),
            Some(Kind::Data(Table::Main))
        );
        assert_eq!(
            Kind::from_name("MDFY518.TXT"),
            Some(Kind::Data(Table::Modifier))
        );
        assert_eq!(
            Kind::from_name("index518.txt"),
            Some(Kind::Data(Table::Index))
        );
        assert_eq!(
            Kind::from_name("ttl_idx.txt"),
            Some(Kind::Titles(Table::Index))
        );
        assert_eq!(Kind::from_name("spc518.pdf"), None);
        assert_eq!(Kind::from_name("index.html"), None);
        assert_eq!(version_digits("byomei518.zip").as_deref(), Some("518"));
        assert_eq!(version_digits("byomei518").as_deref(), Some("518"));
        assert_eq!(version_digits("nmain404.txt").as_deref(), Some("404"));
        assert_eq!(version_digits("main"), None);
        assert_eq!(label_of("518"), "5.18");
    }

    #[test]
    fn icd10_is_normalised_for_validation() {
        let j = icd10("J9690").expect("icd");
        assert_eq!(
            (
                j.code.as_str(),
                j.subcategory.as_deref(),
                j.category.as_str()
            ),
            ("J9690", Some("J969"), "J96")
        );
        let e = icd10("E102†").expect("icd");
        assert_eq!(
            (
                e.code.as_str(),
                e.subcategory.as_deref(),
                e.category.as_str()
            ),
            ("E102", None, "E10")
        );
        let f = icd10("F152a").expect("icd");
        assert_eq!(f.subcategory.as_deref(), Some("F152"));
        let t = icd10("T08-1").expect("icd");
        assert_eq!(
            (
                t.code.as_str(),
                t.subcategory.as_deref(),
                t.category.as_str()
            ),
            ("T08-1", None, "T08")
        );
        assert_eq!(icd10("G01*").expect("icd").code, "G01");
        assert_eq!(code_value("-"), "");
        assert_eq!(code_value("K859"), "K859");
        assert!(icd10("K8").is_none());
        assert!(icd10("膵炎").is_none());
        assert!(icd10("K85900").is_none());
    }

    #[test]
    fn index_kinds_spell_out_the_flags() {
        assert_eq!(
            index_kind(&["1", "0", "0", "9", "", ""]),
            Some("index:kana_kanji=1,synonym=0,variant=0,first_edition=9")
        );
        assert_eq!(index_kind(&["", "", "", "", "", ""]), Some("index"));
        let a = index_kind(&["2", "1", "0", "0", "", ""]).expect("kind");
        let b = index_kind(&["2", "1", "0", "0", "", ""]).expect("kind");
        assert!(std::ptr::eq(a, b), "interned");
    }
}
