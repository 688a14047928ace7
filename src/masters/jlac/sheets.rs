//! Reading the まとめ表 workbook: its sheets as grids of text, the 17桁コード表 columns
//! located by their header texts (documented positions as fallback), the data rows and the
//! component sheets (分析物 / 識別 / 材料 / 測定法 / 結果識別).

use rustc_hash::FxHashMap as HashMap;

use crate::excerpt::excerpt;
use crate::limits::{FieldKind, Limits};
use crate::masters::fields::Fields;
use crate::masters::problem::{Problem, Problems};
use crate::text::Level;

/// One sheet as text cells, indexed by 0-based absolute row and column.
pub struct Grid {
    pub name: String,
    pub rows: Vec<Vec<Cell>>,
}

/// One cell's text; `numeric` when Excel stored a number (codes like 0000 lose their zeros).
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub numeric: bool,
}

impl Grid {
    pub fn cell(&self, row: usize, col: usize) -> &str {
        self.rows
            .get(row)
            .and_then(|r| r.get(col))
            .map_or("", |c| c.text.as_str())
    }

    /// The cell as a code of `width` characters: numbers get their leading zeros back.
    pub fn code(&self, row: usize, col: usize, width: usize) -> String {
        match self.rows.get(row).and_then(|r| r.get(col)) {
            Some(c)
                if c.numeric
                    && c.text.len() < width
                    && c.text.bytes().all(|b| b.is_ascii_digit()) =>
            {
                format!("{:0>width$}", c.text)
            }
            Some(c) => c.text.clone(),
            None => String::new(),
        }
    }

    fn row_is_empty(&self, row: usize) -> bool {
        self.rows[row].iter().all(|c| c.text.is_empty())
    }
}

/// Does a normalised title contain `word` (normalised the same way: `ー` compares as `-`)?
fn has(title: &str, word: &str) -> bool {
    title.contains(&Level::Title.apply(word))
}

/// Spreadsheet column letters: 0 → A, 23 → X, 26 → AA.
pub fn column_letter(col: usize) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The sheets of a まとめ表.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SheetKind {
    Codes,
    Analyte,
    Identification,
    Material,
    Method,
    ResultCommon,
    ResultSpecific,
}

impl SheetKind {
    pub const REQUIRED: [SheetKind; 6] = [
        SheetKind::Codes,
        SheetKind::Analyte,
        SheetKind::Identification,
        SheetKind::Material,
        SheetKind::Method,
        SheetKind::ResultCommon,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SheetKind::Codes => "17桁コード表",
            SheetKind::Analyte => "分析物",
            SheetKind::Identification => "識別",
            SheetKind::Material => "材料",
            SheetKind::Method => "測定法",
            SheetKind::ResultCommon => "結果識別(共通)",
            SheetKind::ResultSpecific => "結果識別(固有)",
        }
    }

    /// Recognises a sheet by its name.
    pub fn of_sheet(name: &str) -> Option<SheetKind> {
        let n = Level::Title.apply(name);
        if n.contains("17桁") || n.contains("コード表") {
            Some(SheetKind::Codes)
        } else if n.contains("結果識別") || n.contains("結果") {
            Some(if n.contains("固有") {
                SheetKind::ResultSpecific
            } else {
                SheetKind::ResultCommon
            })
        } else if n.contains("分析物") {
            Some(SheetKind::Analyte)
        } else if n.contains("識別") {
            Some(SheetKind::Identification)
        } else if n.contains("材料") {
            Some(SheetKind::Material)
        } else if n.contains("測定法") {
            Some(SheetKind::Method)
        } else {
            None
        }
    }

    /// Shape of the codes the sheet defines.
    pub fn code_ok(self, code: &str) -> bool {
        let b = code.as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        match self {
            SheetKind::Codes => is_jlac10(code),
            SheetKind::Analyte => {
                b.len() == 5
                    && b[0].is_ascii_digit()
                    && b[1].is_ascii_uppercase()
                    && digits(&b[2..])
            }
            SheetKind::Identification => b.len() == 4 && digits(b),
            SheetKind::Material | SheetKind::Method => b.len() == 3 && digits(b),
            SheetKind::ResultCommon => b.len() == 2 && digits(b),
            SheetKind::ResultSpecific => {
                b.len() == 11
                    && b[0].is_ascii_digit()
                    && b[1].is_ascii_uppercase()
                    && digits(&b[2..])
            }
        }
    }

    /// Code width, for numbers stored without their leading zeros.
    fn width(self) -> usize {
        match self {
            SheetKind::Codes => 17,
            SheetKind::Analyte => 5,
            SheetKind::Identification => 4,
            SheetKind::Material | SheetKind::Method => 3,
            SheetKind::ResultCommon => 2,
            SheetKind::ResultSpecific => 11,
        }
    }

    /// Documented (code, 日本語, English) columns (`master-formats.md` §3.2).
    fn default_columns(self) -> (usize, usize, Option<usize>) {
        match self {
            SheetKind::Codes => (2, 2, None),
            SheetKind::Analyte | SheetKind::Identification => (0, 2, Some(4)),
            SheetKind::Material => (0, 2, Some(3)),
            SheetKind::Method => (0, 2, Some(5)),
            SheetKind::ResultCommon => (0, 2, None),
            SheetKind::ResultSpecific => (4, 6, Some(7)),
        }
    }
}

/// `^[0-9][A-Z][0-9]{15}$`.
pub fn is_jlac10(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 17
        && b[0].is_ascii_digit()
        && b[1].is_ascii_uppercase()
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// One component table: code → (日本語, English).
pub type Names = HashMap<String, (String, String)>;

/// Reads a component sheet. Rows whose code cell does not have the component's shape
/// (titles, notes, category rows, blank rows of merged cells) are skipped and counted;
/// a code listed twice with different names is a notice (the first row is kept). Names
/// too long or holding control characters are problems.
pub fn read_component(
    file: &str,
    grid: &Grid,
    kind: SheetKind,
    limits: &Limits,
    problems: &mut Problems,
    notices: &mut Problems,
) -> (Names, usize) {
    let shown = format!("{file} [{}]", grid.name);
    let fields = Fields {
        file: &shown,
        limits,
    };
    let (mut code_col, mut ja_col, mut en_col) = kind.default_columns();
    // Header texts, when the sheet has them, override the documented positions.
    let first_data = (0..grid.rows.len())
        .find(|&r| kind.code_ok(&grid.code(r, code_col, kind.width())))
        .unwrap_or(0);
    for r in 0..first_data.min(10) {
        let titles: Vec<String> = grid.rows[r]
            .iter()
            .map(|c| Level::Title.apply(&c.text))
            .collect();
        let find = |pred: &dyn Fn(&str) -> bool| titles.iter().position(|t| pred(t));
        let code = find(&|t| has(t, "コード"));
        let en = find(&|t| t.contains("英") || t.contains("ENGLISH"));
        let ja = find(&|t| {
            (t.contains("名称") || t.contains("日本語"))
                && !t.contains("英")
                && !t.contains("ENGLISH")
        });
        if let (Some(c), Some(j)) = (code, ja) {
            code_col = c;
            ja_col = j;
            en_col = en.or(en_col);
        }
    }
    let mut names = Names::default();
    let mut skipped = 0;
    let mut first_conflict = None;
    let mut conflicts = 0;
    for r in 0..grid.rows.len() {
        let code = grid.code(r, code_col, kind.width());
        if !kind.code_ok(&code) {
            if !grid.row_is_empty(r) && r >= first_data {
                skipped += 1;
            }
            continue;
        }
        let mut named = true;
        for c in std::iter::once(ja_col).chain(en_col) {
            let (line, name) = (r as u64 + 1, column_letter(c));
            named &= fields.value(
                line,
                c + 1,
                &name,
                FieldKind::Name,
                grid.cell(r, c),
                problems,
            );
        }
        if !named {
            continue;
        }
        let ja = grid.cell(r, ja_col).to_owned();
        let en = en_col.map_or(String::new(), |c| grid.cell(r, c).to_owned());
        match names.get(&code) {
            Some((old, _)) if *old != ja => {
                conflicts += 1;
                first_conflict.get_or_insert((r + 1, code.clone(), old.clone(), ja));
            }
            Some(_) => {}
            None => {
                names.insert(code, (ja, en));
            }
        }
    }
    if let Some((row, code, old, new)) = first_conflict {
        notices.push(Problem::field(
            &shown,
            row as u64,
            code_col + 1,
            &column_letter(code_col),
            "duplicate_component",
            format!(
                "{} code {code} is listed again as `{}` (first as `{}`); {conflicts} such row(s) in the sheet",
                kind.title(),
                excerpt(&new),
                excerpt(&old)
            ),
            "the first name is used; JSLM corrects such duplicates in later editions",
        ));
    }
    (names, skipped)
}

/// The six (拡張フラグ, コード, 名称) groups of the 17桁コード表.
pub const GROUPS: [&str; 6] = [
    "analyte",
    "identification",
    "material",
    "method",
    "result",
    "result_specific",
];

/// Where the 17桁コード表 keeps its values (0-based columns).
#[derive(Debug, Clone)]
pub struct CodeColumns {
    pub code: usize,
    /// Per group of [`GROUPS`]: (拡張フラグ, コード, 名称).
    pub groups: [(Option<usize>, Option<usize>, Option<usize>); 6],
    pub unit: Option<usize>,
    /// True when the columns were found by their header texts.
    pub from_headers: bool,
}

impl CodeColumns {
    /// The documented layout: C = code, D–U = six groups of three, X = 単位.
    fn documented() -> Self {
        let mut groups = [(None, None, None); 6];
        for (i, g) in groups.iter_mut().enumerate() {
            let at = 3 + 3 * i;
            *g = (Some(at), Some(at + 1), Some(at + 2));
        }
        CodeColumns {
            code: 2,
            groups,
            unit: Some(23),
            from_headers: false,
        }
    }

    /// The columns any data row may fill (to tell data rows from notes).
    pub fn component_codes(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups.iter().filter_map(|g| g.1)
    }
}

/// Which group a header text names.
fn group_of(text: &str) -> Option<usize> {
    if text.contains("結果識別") || text.contains("結果") {
        Some(if text.contains("固有") { 5 } else { 4 })
    } else if text.contains("分析物") {
        Some(0)
    } else if text.contains("識別") {
        Some(1)
    } else if text.contains("材料") {
        Some(2)
    } else if text.contains("測定法") {
        Some(3)
    } else {
        None
    }
}

/// Header rows: the rows above the first code row (at most 10). Each header row with at
/// least three titles is filled to the right (merged group titles span their columns); a
/// column's title is the concatenation over those rows.
pub fn locate_columns(grid: &Grid) -> (CodeColumns, usize) {
    let documented = CodeColumns::documented();
    let first_data = (0..grid.rows.len())
        .find(|&r| grid.rows[r].iter().any(|c| is_jlac10(&c.text)))
        .unwrap_or(grid.rows.len());
    let width = grid.rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut titles = vec![String::new(); width];
    for r in 0..first_data.min(10) {
        let row = &grid.rows[r];
        if row.iter().filter(|c| !c.text.is_empty()).count() < 3 {
            continue;
        }
        let mut carry = String::new();
        for (c, title) in titles.iter_mut().enumerate() {
            let text = row.get(c).map_or("", |c| c.text.as_str());
            if !text.is_empty() {
                carry = Level::Title.apply(text);
            }
            title.push('|');
            title.push_str(&carry);
        }
    }
    let code = titles
        .iter()
        .position(|t| (t.contains("17桁") || t.contains("JLAC10")) && group_of(t).is_none());
    let Some(code) = code else {
        return (documented, first_data);
    };
    let mut columns = CodeColumns {
        code,
        groups: [(None, None, None); 6],
        unit: titles.iter().position(|t| t.contains("単位")),
        from_headers: true,
    };
    for (c, t) in titles.iter().enumerate() {
        let Some(g) = group_of(t) else { continue };
        let sub = t.rsplit('|').next().unwrap_or("");
        let slot = &mut columns.groups[g];
        if sub.contains("拡張") || sub.contains("フラグ") {
            slot.0.get_or_insert(c);
        } else if has(sub, "コード") {
            slot.1.get_or_insert(c);
        } else if sub.contains("名") {
            slot.2.get_or_insert(c);
        }
    }
    if columns.groups[..5]
        .iter()
        .all(|g| g.1.is_none() && g.2.is_none())
    {
        // The header names the code column but not the groups: use the documented layout.
        return (CodeColumns { code, ..documented }, first_data);
    }
    (columns, first_data)
}

/// Does a non-code row look like a (repeated) header or section title?
pub fn is_title_row(grid: &Grid, row: usize) -> bool {
    const WORDS: [&str; 9] = [
        "コード",
        "名称",
        "17桁",
        "新コード",
        "分析物",
        "拡張",
        "単位",
        "JLAC",
        "新規",
    ];
    grid.rows[row].iter().any(|c| {
        let t = Level::Title.apply(&c.text);
        WORDS.iter().any(|w| t.contains(&Level::Title.apply(w)))
    })
}

/// Does a title row open the new-code block?
pub fn opens_new_block(grid: &Grid, row: usize) -> bool {
    grid.rows[row]
        .iter()
        .any(|c| c.text.contains("新コード") || c.text.contains("新規"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_shapes() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(23), "X");
        assert_eq!(column_letter(26), "AA");
        assert!(is_jlac10("3A010000002327101"));
        assert!(!is_jlac10("3a010000002327101"));
        assert!(!is_jlac10("3A0100000023271"));
        assert_eq!(
            SheetKind::of_sheet("結果識別（固有）"),
            Some(SheetKind::ResultSpecific)
        );
        assert_eq!(SheetKind::of_sheet("識別"), Some(SheetKind::Identification));
        assert_eq!(SheetKind::of_sheet("17桁コード表"), Some(SheetKind::Codes));
        assert_eq!(SheetKind::of_sheet("説明"), None);
    }
}
