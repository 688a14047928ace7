//! HS024 看護実践用語標準マスター: the 看護行為 file (`koui-ver.{x}.txt`, 18 columns), the
//! 看護観察 file (`kansatsu-ver.{x}.txt`, 46), 観察結果 (`result-ver.{x}.txt`, 3) and 単位
//! (`unit-ver.{x}.txt`, 2). CSV with a header row, CP932 (UTF-8 accepted). Layout and the
//! status mapping: `masters/README.md`; `../shared/docs/master-formats.md` §4.
//!
//! The files carry their own history: deleted rows stay listed with their 移行先, and a
//! 管理番号 can appear again on rows flagged 7 (管理番号の移行元). Every row is kept; a
//! row's identity is `action:{管理番号}:{変更区分}` (`observation:` for 観察), with `~2`, `~3`
//! … for further rows of the same code and flag. A row flagged 7 whose 移行先 is its own
//! 管理番号 records a code that moved within the hierarchy: it gets no successor link.

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
use super::{sniff, Progress};
use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limits};
use crate::systems::Master;
use crate::text::Level;

type Layout = [(&'static str, &'static [&'static str])];

/// 看護行為 (koui): attribute key and header title.
const ACTION_COLUMNS: [(&str, &[&str]); 18] = [
    ("change_flag", &["変更区分"]),
    ("action_code", &["管理番号"]),
    ("level1_id", &["第１階層識別番号"]),
    ("level1_name", &["第１階層グループ名称"]),
    ("level1_definition", &["第１階層の定義"]),
    ("level2_id", &["第２階層識別番号"]),
    ("level2_name", &["第２階層グループ名称"]),
    ("level2_definition", &["第２階層の定義"]),
    ("level3_id", &["第３階層識別番号"]),
    ("action_name", &["第３階層（記載例）行為名称"]),
    ("action_definition", &["第３階層の定義"]),
    ("level4_id", &["第４階層識別番号"]),
    ("qualifier", &["第４階層（記載例）修飾語"]),
    ("qualifier_definition", &["第４階層の定義・説明・解説"]),
    ("examples", &["第３階層、第４階層の事例"]),
    ("updated_on", &["更新日付"]),
    ("successor_code", &["移行先管理番号"]),
    ("sort_key", &["作業用ソートkey"]),
];
/// The kind of each column of [`ACTION_COLUMNS`], for its length limit.
const ACTION_KINDS: [FieldKind; ACTION_COLUMNS.len()] = {
    use FieldKind::{Code as C, Name as N, Text as T};
    [
        C, C, C, N, T, C, N, T, C, // 変更区分 … 第３階層識別番号
        N, T, C, N, T, T, C, C, C, // 行為名称 … 作業用ソートkey
    ]
};
const A_FLAG: usize = 0;
const A_CODE: usize = 1;
/// The four 階層識別番号 columns (A001 … D001; the 助産 part of the master uses E … H).
const A_LEVEL_IDS: [usize; 4] = [2, 5, 8, 11];
const A_NAMES: [usize; 4] = [3, 6, 9, 12];
const A_ACTION: usize = 9;
const A_QUALIFIER: usize = 12;
const A_UPDATED: usize = 15;
const A_SUCCESSOR: usize = 16;

/// 看護観察 (kansatsu).
const OBSERVATION_COLUMNS: [(&str, &[&str]); 46] = [
    ("change_flag", &["変更区分"]),
    ("observation_code", &["観察名称管理番号（コード）"]),
    ("search_category_1", &["検索大分類１"]),
    ("search_category_2", &["検索大分類２"]),
    ("search_category_3", &["検索大分類３"]),
    ("search_category_4", &["検索大分類４"]),
    ("search_category_5", &["検索大分類５"]),
    ("search_category_6", &["検索大分類６"]),
    ("search_category_7", &["検索大分類７"]),
    ("search_category_8", &["検索大分類８"]),
    ("specialty_class", &["高度専門看護別分類"]),
    ("name", &["観察名称"]),
    ("kana", &["名称ふりがな"]),
    ("focus", &["焦点"]),
    ("site", &["部位"]),
    ("phase", &["位相"]),
    ("other", &["その他"]),
    ("criteria", &["評価基準"]),
    ("result_id", &["結果管理番号"]),
    ("value_type", &["表現タイプ"]),
    ("unit", &["単位"]),
    ("result_1", &["結果１"]),
    ("result_2", &["結果２"]),
    ("result_3", &["結果３"]),
    ("result_4", &["結果４"]),
    ("result_5", &["結果５"]),
    ("result_6", &["結果６"]),
    ("result_7", &["結果７"]),
    ("result_8", &["結果８"]),
    ("result_9", &["結果９"]),
    ("result_10", &["結果１０"]),
    ("result_11", &["結果１１"]),
    ("result_12", &["結果１２"]),
    ("result_13", &["結果１３"]),
    ("result_14", &["結果１４"]),
    ("result_15", &["結果１５"]),
    ("result_16", &["結果１６"]),
    ("result_17", &["結果１７"]),
    ("result_18", &["結果１８"]),
    ("updated_on", &["更新日付"]),
    ("successor_code", &["移行先観察名称管理番号"]),
    ("name_2", &["観察名称２"]),
    ("unit_code", &["単位コード"]),
    ("result_group", &["観察結果グループコード"]),
    ("adoption_flag", &["採択区分"]),
    ("exchange_code", &["観察名称交換用コード"]),
];
/// The kind of each column of [`OBSERVATION_COLUMNS`].
const OBSERVATION_KINDS: [FieldKind; OBSERVATION_COLUMNS.len()] = {
    use FieldKind::{Code as C, Name as N, Text as T};
    [
        C, C, N, N, N, N, N, N, N, N,
        N, // 変更区分, 管理番号, 検索大分類 ×8, 高度専門看護別分類
        N, N, N, N, N, N, T, C, N,
        N, // 観察名称 … 評価基準, 結果管理番号, 表現タイプ, 単位
        N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, // 結果１ … 結果１８
        C, C, N, C, C, C, C, // 更新日付 … 観察名称交換用コード
    ]
};
const O_FLAG: usize = 0;
const O_CODE: usize = 1;
const O_NAME: usize = 11;
const O_KANA: usize = 12;
const O_UPDATED: usize = 39;
const O_SUCCESSOR: usize = 40;
const O_NAME_2: usize = 41;
const O_UNIT_CODE: usize = 42;
const O_RESULT_GROUP: usize = 43;

const RESULT_COLUMNS: [(&str, &[&str]); 3] = [
    ("result_group", &["観察結果グループコード"]),
    ("result_code", &["観察結果コード"]),
    ("result_name", &["観察結果名称"]),
];
const UNIT_COLUMNS: [(&str, &[&str]); 2] =
    [("unit_code", &["単位コード"]), ("unit_name", &["単位名称"])];
const RESULT_KINDS: [FieldKind; 3] = [FieldKind::Code, FieldKind::Code, FieldKind::Name];
const UNIT_KINDS: [FieldKind; 2] = [FieldKind::Code, FieldKind::Name];

/// The four files of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Action,
    Observation,
    Result,
    Unit,
}

impl Role {
    const ALL: [Role; 4] = [Role::Action, Role::Observation, Role::Result, Role::Unit];

    /// File name prefix as MEDIS names the file, also the file's role in the release.
    fn key(self) -> &'static str {
        match self {
            Role::Action => "koui",
            Role::Observation => "kansatsu",
            Role::Result => "result",
            Role::Unit => "unit",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Role::Action => "看護行為 (koui)",
            Role::Observation => "看護観察 (kansatsu)",
            Role::Result => "観察結果 (result)",
            Role::Unit => "単位 (unit)",
        }
    }

    fn layout(self) -> &'static Layout {
        match self {
            Role::Action => &ACTION_COLUMNS,
            Role::Observation => &OBSERVATION_COLUMNS,
            Role::Result => &RESULT_COLUMNS,
            Role::Unit => &UNIT_COLUMNS,
        }
    }

    /// The kind of each column of [`Role::layout`].
    fn kinds(self) -> &'static [FieldKind] {
        match self {
            Role::Action => &ACTION_KINDS,
            Role::Observation => &OBSERVATION_KINDS,
            Role::Result => &RESULT_KINDS,
            Role::Unit => &UNIT_KINDS,
        }
    }

    fn from_name(file_name: &str) -> Option<Role> {
        let lower = file_name.to_ascii_lowercase();
        if !(lower.ends_with(".txt") || lower.ends_with(".csv")) {
            return None;
        }
        Role::ALL.into_iter().find(|r| lower.starts_with(r.key()))
    }
}

/// Whether the parser reads a zip member of this name: text files (`.txt`, `.csv`), which
/// it recognises by name or header. The others are listed as ignored.
pub fn reads(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower.ends_with(".txt") || lower.ends_with(".csv")
}

/// The version a MEDIS nursing file name carries: `koui-ver.4.0.txt` → `4.0`.
fn version_in_name(file_name: &str) -> Option<String> {
    let lower = file_name.to_ascii_lowercase();
    let at = lower.find("ver")?;
    let rest = lower[at + 3..].trim_start_matches(['.', '-', '_']);
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    (!version.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| version.to_owned())
}

/// Row status from 変更区分 and 移行先: 0 継承, 3 新規, 5 変更 are in use unless the row names
/// a successor; 1 今版削除, 2 既削除 and 7 管理番号の移行元 are retired. Other flags are refused.
fn status_of(flag: &str, successor: &str) -> Option<Status> {
    match flag {
        "0" | "3" | "5" if successor.is_empty() => Some(Status::Active),
        "0" | "3" | "5" | "1" | "2" | "7" => Some(Status::Retired),
        _ => None,
    }
}

/// A file decoded, its header checked and removed.
struct Table<'a> {
    source: &'a SourceFile,
    role: Role,
    encoding: &'static str,
    rows: Vec<Row>,
}

impl Table<'_> {
    fn name(&self) -> &str {
        &self.source.display_name
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
            self.role.layout()[col].1[0],
            kind,
            message,
            fix,
        )
    }
}

/// Parses and validates a whole nursing release; nothing is returned unless every file is
/// sound, and all problems found are reported together.
pub fn parse(
    sources: &[SourceFile],
    options: &super::ParseOptions,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    let label_override = options.label.as_deref();
    let mut problems = Problems::default();
    let mut ignored = Vec::new();
    let mut tables: Vec<Table> = Vec::new();
    for source in sources {
        match read_table(source, &options.limits) {
            Ok(Some(table)) => tables.push(table),
            Ok(None) => ignored.push(format!(
                "{} (not a nursing master file)",
                source.display_name
            )),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    check_file_set(sources, &tables, &mut problems);
    let label = release_label(&tables, label_override, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let label = label.unwrap_or_default();
    // Exactly one file per role (checked above), in role order.
    tables.sort_by_key(|t| Role::ALL.iter().position(|r| *r == t.role));
    let table = |role| &tables[Role::ALL.iter().position(|r| *r == role).unwrap_or(0)];

    let total: u64 = tables.iter().map(|t| t.rows.len() as u64).sum();
    progress.start("parsing 看護 rows", total);
    let mut notices = Problems::default();
    let units = read_units(table(Role::Unit), &mut problems);
    let results = read_results(table(Role::Result), &mut problems);
    let mut records = Vec::new();
    let mut refs = Vec::new();
    let actions = parse_actions(
        table(Role::Action),
        0,
        &mut records,
        &mut refs,
        &mut problems,
        &mut notices,
    );
    checks::check_successors(&actions, &refs, "看護行為 管理番号", &mut problems);
    refs.clear();
    let lookups = Lookups {
        units: &units,
        results: &results,
        used_units: HashSet::default(),
        used_groups: HashSet::default(),
    };
    let (observations, lookups) = parse_observations(
        table(Role::Observation),
        1,
        lookups,
        &mut records,
        &mut refs,
        &mut problems,
        &mut notices,
    );
    checks::check_successors(&observations, &refs, "観察名称管理番号", &mut problems);
    progress.advance(total);
    progress.finish();
    if !problems.is_empty() {
        return Err(problems);
    }
    unreferenced_notices(&tables, &lookups, &mut notices);

    let publication_date = [(Role::Action, A_UPDATED), (Role::Observation, O_UPDATED)]
        .iter()
        .flat_map(|&(role, col)| table(role).rows.iter().map(move |r| &r.fields[col]))
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
        .max();
    let files = tables
        .iter()
        .map(|t| ReleaseFile {
            name: t.source.display_name.clone(),
            role: t.role.key(),
            sha256: t.source.sha256.clone(),
            byte_size: t.source.bytes.len() as u64,
            row_count: t.rows.len() as u64,
            encoding: t.encoding,
        })
        .collect();
    Ok(ParsedRelease {
        master: Master::Nursing,
        label,
        publication_date,
        files,
        records,
        notices,
        ignored,
        scope: super::Scope::Complete,
    })
}

/// Decodes a file and checks its header. `Ok(None)`: not a nursing file (a read-me beside
/// the release files); it is listed as ignored.
fn read_table<'a>(source: &'a SourceFile, limits: &Limits) -> Result<Option<Table<'a>>, Problems> {
    let named = Role::from_name(&source.file_name);
    let lower = source.file_name.to_ascii_lowercase();
    if named.is_none() && !(lower.ends_with(".txt") || lower.ends_with(".csv")) {
        return Ok(None);
    }
    let name = source.display_name.as_str();
    if named.is_none() && (text::is_blank(source) || sniff::looks(&source.bytes).is_some()) {
        // An unknown file that is empty or not text (a UTF-16 read-me) is not a master file.
        return Ok(None);
    }
    let (encoding, mut rows) = text::read_rows(
        source,
        "the download or copy failed; fetch the file again from MEDIS",
        limits,
    )?;
    let Some(first) = rows.first() else {
        return Err(Problem::file(
            name,
            "empty_file",
            "the file holds no rows".into(),
            "fetch the file again from MEDIS",
        )
        .into());
    };
    let titles: Vec<&str> = first.fields.iter().collect();
    let role = match named {
        Some(role) => role,
        // A renamed file is recognised by its header.
        None => match Role::ALL.into_iter().find(|r| header_matches(*r, &titles)) {
            Some(role) => role,
            None => return Ok(None),
        },
    };
    let layout = role.layout();
    let fix = format!(
        "use the {} file as MEDIS publishes it: a header row `{}` followed by the data rows",
        role.title(),
        layout
            .iter()
            .take(3)
            .map(|(_, t)| t[0])
            .collect::<Vec<_>>()
            .join(",")
            + ",…"
    );
    let mut problems = Problems::default();
    if !Level::Title.matches_any(titles.first().copied().unwrap_or(""), layout[0].1) {
        problems.push(Problem::line(
            name,
            first.line,
            "missing_header",
            format!(
                "line {} is not the {} header row (it starts `{}`); the file must begin with its column titles",
                first.line,
                role.title(),
                excerpt(&titles.iter().take(3).copied().collect::<Vec<_>>().join(","))
            ),
            fix,
        ));
        return Err(problems);
    }
    checks::check_titles(
        name,
        first.line,
        &titles,
        layout,
        role.key(),
        &fix,
        &mut problems,
    );
    rows.remove(0);
    let fields = Fields { file: name, limits };
    for row in &rows {
        if row.fields.len() == layout.len() {
            fields.row(row, |c| layout[c].1[0], role.kinds(), &mut problems);
        } else {
            problems.push(Problem::line(
                name,
                row.line,
                "column_count",
                format!(
                    "the row has {} columns, the {} layout has {}",
                    row.fields.len(),
                    role.key(),
                    layout.len()
                ),
                "a comma is missing or extra on this line (nursing files are not quoted: a comma inside a value splits it), or the line is cut off; compare it with the MEDIS original",
            ));
        }
    }
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
    Ok(Some(Table {
        source,
        role,
        encoding: encoding.as_str(),
        rows,
    }))
}

fn header_matches(role: Role, titles: &[&str]) -> bool {
    let layout = role.layout();
    titles.len() == layout.len()
        && titles
            .iter()
            .zip(layout)
            .all(|(t, (_, accepted))| Level::Title.matches_any(t, accepted))
}

/// One file of each kind, no more.
fn check_file_set(sources: &[SourceFile], tables: &[Table], problems: &mut Problems) {
    let found: Vec<&str> = sources.iter().map(|s| s.display_name.as_str()).collect();
    let first = found.first().copied().unwrap_or("(input)");
    for role in Role::ALL {
        let named: Vec<&str> = tables
            .iter()
            .filter(|t| t.role == role)
            .map(|t| t.name())
            .collect();
        match named.len() {
            1 => {}
            0 => problems.push(Problem::file(
                first,
                "missing_file",
                format!(
                    "the release has no {} file {}-ver.{{x}}.txt (given: {})",
                    role.title(),
                    role.key(),
                    listing(found.iter().copied())
                ),
                "a nursing release is four files: koui-ver.{x}.txt, kansatsu-ver.{x}.txt, result-ver.{x}.txt and unit-ver.{x}.txt; give all four",
            )),
            _ => problems.push(Problem::file(
                named[1],
                "duplicate_file",
                format!("more than one {} file given: {}", role.title(), listing(named.iter().copied())),
                "import one release at a time: one file of each kind",
            )),
        }
    }
}

fn release_label(
    tables: &[Table],
    label_override: Option<&str>,
    problems: &mut Problems,
) -> Option<String> {
    if let Some(label) = label_override {
        return Some(label.to_owned());
    }
    let versions: Vec<(String, &str)> = tables
        .iter()
        .filter_map(|t| version_in_name(&t.source.file_name).map(|v| (v, t.name())))
        .collect();
    let distinct: HashSet<&str> = versions.iter().map(|(v, _)| v.as_str()).collect();
    match distinct.len() {
        1 => Some(versions[0].0.clone()),
        0 => {
            let first = tables.first().map_or("(input)", |t| t.name());
            problems.push(Problem::file(
                first,
                "no_label",
                "the file names carry no version (koui-ver.{x}.txt …)".into(),
                "name the release with --version LABEL, e.g. --version 4.0",
            ));
            None
        }
        _ => {
            let listed: Vec<String> = versions.iter().map(|(v, n)| format!("{n} → {v}")).collect();
            problems.push(Problem::file(
                versions[0].1,
                "mixed_versions",
                format!("the files carry different versions: {}", listed.join(", ")),
                "give the four files of one release, or name the release explicitly with --version LABEL when MEDIS versions the books separately",
            ));
            None
        }
    }
}

/// 単位コード → (単位名称, line).
fn read_units<'a>(table: &'a Table, problems: &mut Problems) -> HashMap<&'a str, (&'a str, u64)> {
    let mut units: HashMap<&str, (&str, u64)> = HashMap::default();
    for row in &table.rows {
        let (code, name) = (&row.fields[0], &row.fields[1]);
        if code.is_empty() {
            problems.push(table.field_problem(
                row,
                0,
                "missing_value",
                "the 単位コード is empty".into(),
                "every row of the unit file names a unit code (U001 …)",
            ));
        } else if let Some((_, first)) = units.insert(code, (name, row.line)) {
            problems.push(table.field_problem(
                row,
                0,
                "duplicate_key",
                format!("単位コード {} is already on line {first}", excerpt(code)),
                "each unit code appears once; remove the duplicate row or fetch the file again",
            ));
        }
    }
    units
}

/// 観察結果グループコード → its results (観察結果コード, 観察結果名称) in file order.
type ResultGroups<'a> = HashMap<&'a str, Vec<(&'a str, &'a str)>>;

fn read_results<'a>(table: &'a Table, problems: &mut Problems) -> ResultGroups<'a> {
    let mut groups: ResultGroups = HashMap::default();
    let mut seen: HashMap<(&str, &str), u64> = HashMap::default();
    for row in &table.rows {
        let (group, code, name) = (&row.fields[0], &row.fields[1], &row.fields[2]);
        for (col, value) in [(0, group), (1, code)] {
            if value.is_empty() {
                problems.push(table.field_problem(
                    row,
                    col,
                    "missing_value",
                    format!("the {} is empty", RESULT_COLUMNS[col].1[0]),
                    "every result row names its group (R1001 …) and its code within the group (01 …)",
                ));
            }
        }
        if group.is_empty() || code.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert((group, code), row.line) {
            problems.push(table.field_problem(
                row,
                1,
                "duplicate_key",
                format!(
                    "result {} of group {} is already on line {first}",
                    excerpt(code),
                    excerpt(group)
                ),
                "each (group, code) pair appears once; remove the duplicate row or fetch the file again",
            ));
            continue;
        }
        groups.entry(group).or_default().push((code, name));
    }
    groups
}

/// Checks shared by both row files: 変更区分, the 8-digit key, duplicates (a key may appear
/// on one row that is not flagged 7, and on any number of rows flagged 7), the date and the
/// successor. Returns the row's status and identity, or `None` after reporting a problem.
struct KeyCols {
    flag: usize,
    code: usize,
    updated: usize,
    successor: usize,
    prefix: &'static str,
}

#[derive(Default)]
struct KeyState<'a> {
    current_line: HashMap<&'a str, u64>,
    occurrences: HashMap<(&'a str, &'a str), u32>,
}

fn check_keys<'a>(
    table: &'a Table,
    row: &'a Row,
    cols: &KeyCols,
    state: &mut KeyState<'a>,
    refs: &mut Vec<SuccessorRef<'a>>,
    problems: &mut Problems,
    notices: &mut Problems,
) -> Option<(Status, String)> {
    let f = &row.fields;
    let (flag, code, successor) = (&f[cols.flag], &f[cols.code], &f[cols.successor]);
    let mut ok = true;
    let status = status_of(flag, successor);
    if status.is_none() {
        ok = false;
        problems.push(table.field_problem(
            row,
            cols.flag,
            "bad_change_flag",
            format!("変更区分 `{}` is not one of 0, 1, 2, 3, 5, 7", excerpt(flag)),
            "the nursing layout defines 0 継承, 1 今版削除, 2 既削除, 3 新規, 5 変更 and 7 管理番号の移行元; check the row against the MEDIS original",
        ));
    }
    if !checks::all_digits(code, 8) {
        problems.push(table.field_problem(
            row,
            cols.code,
            "bad_code",
            format!("`{}` is not an 8-digit 管理番号", excerpt(code)),
            "the second column is the 8-digit 管理番号 (12000001 … for 行為, 31000001 … for 観察)",
        ));
        return None;
    }
    if flag != "7" {
        if let Some(first) = state.current_line.insert(code, row.line) {
            ok = false;
            problems.push(table.field_problem(
                row,
                cols.code,
                "duplicate_key",
                format!("管理番号 {code} is already on line {first}, and neither row is flagged 7 (管理番号の移行元)"),
                "a 管理番号 has one current row; further rows of it must carry 変更区分 7. Remove the duplicate row or fetch the file again",
            ));
        }
    }
    if moved_in_place(flag, code, successor) {
        // The 管理番号 kept its number and moved within the hierarchy: the 7 row records
        // where it came from. Not a successor edge (it would be a loop onto itself).
    } else if !successor.is_empty() {
        if checks::all_digits(successor, 8) {
            refs.push(SuccessorRef {
                from: code,
                to: successor,
                file: table.name(),
                line: row.line,
                column: cols.successor + 1,
                column_name: table.role.layout()[cols.successor].1[0],
            });
            if matches!(flag, "0" | "3" | "5") {
                notices.push(table.field_problem(
                    row,
                    cols.successor,
                    "successor_on_current_row",
                    format!(
                        "the row is flagged {} but names 移行先 {successor}",
                        excerpt(flag)
                    ),
                    "imported as retired: a row that names its successor has been replaced",
                ));
            }
        } else {
            ok = false;
            problems.push(table.field_problem(
                row,
                cols.successor,
                "bad_code",
                format!("移行先 `{}` is not an 8-digit 管理番号", excerpt(successor)),
                "the 移行先 column is empty or names the 8-digit 管理番号 that replaces this row",
            ));
        }
    }
    let date = &f[cols.updated];
    if !date.is_empty() && !checks::is_date(date) {
        notices.push(table.field_problem(
            row,
            cols.updated,
            "bad_date",
            format!("`{}` is not a yyyymmdd date", excerpt(date)),
            "imported as published",
        ));
    }
    let status = status.filter(|_| ok)?;
    let n = state.occurrences.entry((code, flag)).or_insert(0);
    *n += 1;
    let key = if *n == 1 {
        format!("{}:{code}:{flag}", cols.prefix)
    } else {
        format!("{}:{code}:{flag}~{n}", cols.prefix)
    };
    Some((status, key))
}

/// Parses the 看護行為 rows; returns the codes defined.
fn parse_actions<'a>(
    table: &'a Table,
    index: usize,
    records: &mut Vec<Record>,
    refs: &mut Vec<SuccessorRef<'a>>,
    problems: &mut Problems,
    notices: &mut Problems,
) -> HashSet<&'a str> {
    let cols = KeyCols {
        flag: A_FLAG,
        code: A_CODE,
        updated: A_UPDATED,
        successor: A_SUCCESSOR,
        prefix: "action",
    };
    let mut state = KeyState::default();
    let mut defined = HashSet::default();
    for row in &table.rows {
        let f = &row.fields;
        let keys = check_keys(table, row, &cols, &mut state, refs, problems, notices);
        let code16 = action16(table, row, problems, notices);
        if f[A_ACTION].is_empty() {
            problems.push(table.field_problem(
                row,
                A_ACTION,
                "missing_value",
                "the 行為名称 is empty".into(),
                "every 看護行為 row names its action in column 10; check the row against the MEDIS original",
            ));
            continue;
        }
        let (Some((status, row_key)), Ok(code16)) = (keys, code16) else {
            continue;
        };
        let code = &f[A_CODE];
        defined.insert(code);
        let display = A_NAMES
            .iter()
            .map(|&c| &f[c])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("・");
        let mut designations = vec![Designation {
            kind: "action",
            value: f[A_ACTION].to_owned(),
        }];
        if !f[A_QUALIFIER].is_empty() {
            designations.push(Designation {
                kind: "qualifier",
                value: f[A_QUALIFIER].to_owned(),
            });
        }
        let mut links = Vec::new();
        if let Some(code16) = code16 {
            links.push(Link {
                relation: Relation::Code,
                system: "nursing_action16",
                code: code16,
            });
        }
        successor_link(
            &mut links,
            "nursing_action",
            f,
            (A_FLAG, A_CODE, A_SUCCESSOR),
        );
        records.push(Record {
            system: "nursing_action",
            code: code.to_owned(),
            row_key,
            status,
            display,
            attributes: Attributes::from_pairs(
                ACTION_COLUMNS.iter().map(|(k, _)| *k).zip(f.iter()),
            ),
            designations,
            links,
            origin: (index, row.line),
        });
    }
    defined
}

/// The JP Core 16-character code `A001B001C001D001` from the four hierarchy ids. `Ok(None)`
/// when the row has none (a notice); an id of the wrong shape is a problem.
fn action16(
    table: &Table,
    row: &Row,
    problems: &mut Problems,
    notices: &mut Problems,
) -> Result<Option<String>, ()> {
    let f = &row.fields;
    if A_LEVEL_IDS.iter().all(|&c| f[c].is_empty()) {
        notices.push(table.field_problem(
            row,
            A_LEVEL_IDS[0],
            "no_hierarchy",
            "the row has no 階層識別番号: it has no 16-character JP Core code".into(),
            "imported with its 管理番号 only",
        ));
        return Ok(None);
    }
    let mut code = String::with_capacity(16);
    let mut ok = true;
    for &col in &A_LEVEL_IDS {
        let id = &f[col];
        let shaped = id.len() == 4
            && id.starts_with(|c: char| c.is_ascii_uppercase())
            && id[1..].bytes().all(|b| b.is_ascii_digit());
        if shaped {
            code.push_str(id);
        } else {
            ok = false;
            problems.push(table.field_problem(
                row,
                col,
                "bad_code",
                format!("`{}` is not a 階層識別番号 (a capital letter and three digits)", excerpt(id)),
                &format!(
                    "column {} holds a capital letter and three digits (A001 … D001, E001 … H001 in the 助産 part; D000 = no modifier)",
                    col + 1
                ),
            ));
        }
    }
    if ok {
        Ok(Some(code))
    } else {
        Err(())
    }
}

/// A row flagged 7 (管理番号の移行元) whose 移行先 is its own 管理番号.
fn moved_in_place(flag: &str, code: &str, successor: &str) -> bool {
    flag == "7" && successor == code
}

fn successor_link(
    links: &mut Vec<Link>,
    system: &'static str,
    f: &csv::StringRecord,
    (flag, code, successor): (usize, usize, usize),
) {
    let successor = &f[successor];
    if !successor.is_empty() && !moved_in_place(&f[flag], &f[code], successor) {
        links.push(Link {
            relation: Relation::Successor,
            system,
            code: successor.to_owned(),
        });
    }
}

/// The unit and result tables, and which of their entries observations use.
struct Lookups<'a> {
    units: &'a HashMap<&'a str, (&'a str, u64)>,
    results: &'a ResultGroups<'a>,
    used_units: HashSet<&'a str>,
    used_groups: HashSet<&'a str>,
}

/// Parses the 看護観察 rows; unit names and result groups are attached to each observation
/// as attributes (`unit_name`, `result:{観察結果コード}`). Returns the codes defined.
fn parse_observations<'a>(
    table: &'a Table,
    index: usize,
    mut lookups: Lookups<'a>,
    records: &mut Vec<Record>,
    refs: &mut Vec<SuccessorRef<'a>>,
    problems: &mut Problems,
    notices: &mut Problems,
) -> (HashSet<&'a str>, Lookups<'a>) {
    let cols = KeyCols {
        flag: O_FLAG,
        code: O_CODE,
        updated: O_UPDATED,
        successor: O_SUCCESSOR,
        prefix: "observation",
    };
    let mut state = KeyState::default();
    let mut defined = HashSet::default();
    for row in &table.rows {
        let f = &row.fields;
        let keys = check_keys(table, row, &cols, &mut state, refs, problems, notices);
        if f[O_NAME].is_empty() {
            problems.push(table.field_problem(
                row,
                O_NAME,
                "missing_value",
                "the 観察名称 is empty".into(),
                "every 看護観察 row names the observation in column 12; check the row against the MEDIS original",
            ));
            continue;
        }
        let Some((status, row_key)) = keys else {
            continue;
        };
        let code = &f[O_CODE];
        defined.insert(code);
        let mut pairs: Vec<(&str, String)> = OBSERVATION_COLUMNS
            .iter()
            .map(|(k, _)| *k)
            .zip(f.iter().map(str::to_owned))
            .collect();
        let unit_code = &f[O_UNIT_CODE];
        if !unit_code.is_empty() {
            match lookups.units.get(unit_code) {
                Some((name, _)) => {
                    lookups.used_units.insert(unit_code);
                    pairs.push(("unit_name", (*name).to_owned()));
                }
                None => notices.push(table.field_problem(
                    row,
                    O_UNIT_CODE,
                    "unknown_unit",
                    format!("単位コード {} is not in the unit file", excerpt(unit_code)),
                    "imported without a unit name; the unit file of the same release should list it",
                )),
            }
        }
        let group = &f[O_RESULT_GROUP];
        let mut result_keys = Vec::new();
        if !group.is_empty() {
            match lookups.results.get(group) {
                Some(results) => {
                    lookups.used_groups.insert(group);
                    for (code, name) in results {
                        result_keys.push((format!("result:{code}"), (*name).to_owned()));
                    }
                }
                None => notices.push(table.field_problem(
                    row,
                    O_RESULT_GROUP,
                    "unknown_result_group",
                    format!("観察結果グループ {} is not in the result file", excerpt(group)),
                    "imported without its result values (real masters reference such groups, e.g. the V-series)",
                )),
            }
        }
        let attributes = Attributes::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .chain(result_keys.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        );
        let mut designations = Vec::new();
        if !f[O_KANA].is_empty() {
            designations.push(Designation {
                kind: "kana",
                value: f[O_KANA].to_owned(),
            });
        }
        if !f[O_NAME_2].is_empty() && f[O_NAME_2] != f[O_NAME] {
            designations.push(Designation {
                kind: "name_2",
                value: f[O_NAME_2].to_owned(),
            });
        }
        let mut links = Vec::new();
        successor_link(
            &mut links,
            "nursing_observation",
            f,
            (O_FLAG, O_CODE, O_SUCCESSOR),
        );
        records.push(Record {
            system: "nursing_observation",
            code: code.to_owned(),
            row_key,
            status,
            display: f[O_NAME].to_owned(),
            attributes,
            designations,
            links,
            origin: (index, row.line),
        });
    }
    (defined, lookups)
}

/// Units and result groups no observation uses are kept only in the stored files: say so.
fn unreferenced_notices(tables: &[Table], lookups: &Lookups, notices: &mut Problems) {
    let file_of = |role: Role| {
        tables
            .iter()
            .find(|t| t.role == role)
            .map_or("(input)", |t| t.name())
    };
    let mut groups: Vec<&str> = lookups
        .results
        .keys()
        .filter(|g| !lookups.used_groups.contains(*g))
        .copied()
        .collect();
    groups.sort_unstable();
    if !groups.is_empty() {
        notices.push(Problem::file(
            file_of(Role::Result),
            "unused_result_groups",
            format!(
                "{} result group(s) are used by no observation: {}",
                groups.len(),
                sample(&groups)
            ),
            "kept in the stored file only; no observation shows them",
        ));
    }
    let mut units: Vec<&str> = lookups
        .units
        .keys()
        .filter(|u| !lookups.used_units.contains(*u))
        .copied()
        .collect();
    units.sort_unstable();
    if !units.is_empty() {
        notices.push(Problem::file(
            file_of(Role::Unit),
            "unused_units",
            format!(
                "{} unit(s) are used by no observation: {}",
                units.len(),
                sample(&units)
            ),
            "kept in the stored file only; no observation shows them",
        ));
    }
}

fn sample(items: &[&str]) -> String {
    let mut shown = items
        .iter()
        .take(10)
        .map(|item| excerpt(item))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 10 {
        shown.push_str(", …");
    }
    shown
}

/// What hyojun knows of this master: its key and name, its code systems, the files a release
/// is made of, and how to read them ([`crate::masters::Descriptor`]).
pub const DESCRIPTOR: crate::masters::Descriptor = crate::masters::Descriptor {
    master: crate::systems::Master::Nursing,
    key: "nursing",
    name: "HS024 看護実践用語標準マスター",
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
            "nursing_action",
            Nursing,
            "看護行為 管理番号",
            None,
            [],
            "8 digits",
            Shape::Digits(8),
            Defined::Rows
        ),
        system!(
            "nursing_action16",
            Nursing,
            "看護行為 16桁階層コード",
            Some("http://medis.or.jp/CodeSystem/master-nursingAction-16digits"),
            [
                "urn:oid:1.2.392.200119.4.704",
                "urn:oid:1.2.392.200119.4.701"
            ],
            "16 characters A001B001C001D001",
            Shape::Alnum(16),
            Defined::Carried
        ),
        system!(
            "nursing_observation",
            Nursing,
            "看護観察 観察名称管理番号",
            Some("http://medis.or.jp/CodeSystem/master-nursingObservationKeyCode"),
            ["urn:oid:1.2.392.200119.4.804"],
            "8 digits",
            Shape::Digits(8),
            Defined::Rows
        ),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_roles_from_names() {
        assert_eq!(version_in_name("koui-ver.4.0.txt").as_deref(), Some("4.0"));
        assert_eq!(
            version_in_name("kansatsu-ver.3.6.txt").as_deref(),
            Some("3.6")
        );
        assert_eq!(version_in_name("unit-ver4.1.csv").as_deref(), Some("4.1"));
        assert_eq!(version_in_name("koui.txt"), None);
        assert_eq!(Role::from_name("koui-ver.4.0.txt"), Some(Role::Action));
        assert_eq!(
            Role::from_name("KANSATSU-ver.4.0.TXT"),
            Some(Role::Observation)
        );
        assert_eq!(Role::from_name("result-ver.4.0.txt"), Some(Role::Result));
        assert_eq!(Role::from_name("readme.pdf"), None);
    }

    #[test]
    fn status_follows_the_change_flag_and_successor() {
        assert_eq!(status_of("0", ""), Some(Status::Active));
        assert_eq!(status_of("3", ""), Some(Status::Active));
        assert_eq!(status_of("5", ""), Some(Status::Active));
        assert_eq!(status_of("5", "12000002"), Some(Status::Retired));
        for flag in ["1", "2", "7"] {
            assert_eq!(status_of(flag, ""), Some(Status::Retired));
        }
        assert_eq!(status_of("9", ""), None);
        assert_eq!(status_of("", ""), None);
    }
}
