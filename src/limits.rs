//! Limits on everything input controls: sizes, counts and ratios of files, archives,
//! workbooks, rows, fields and HTTP requests. Each has a documented default and an
//! environment variable that changes it (`HYOJUN_MAX_…`); a limit hit is reported as one
//! problem that names the limit, its value and the variable ([`Limits::fix`]), and nothing
//! is changed.
//!
//! The defaults sit well above the largest real releases (a HOT13 file is ~25 MB and 100k
//! rows; a まとめ表 workbook ~10k rows × 30 columns) and far below what would exhaust a node:
//! an import holds its files, their decoded text and their rows at once, about 7 times the
//! bytes of its files at worst (a 127 MiB file of 480,000 bad rows: 0.96 GB), so the file and
//! archive limits are what bound an import's memory.

use std::fmt;

/// Declares the limits once: the struct field, the [`Limit`] variant, the environment
/// variable, the default, the unit and the description all come from one line each.
macro_rules! limits {
    ($( $(#[doc = $doc:literal])+ $field:ident / $variant:ident = $default:expr, $env:literal, $unit:literal; )*) => {
        /// Every limit, with its current value.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Limits {
            $( $(#[doc = $doc])+ pub $field: u64, )*
        }

        impl Default for Limits {
            fn default() -> Self {
                Limits { $( $field: $default, )* }
            }
        }

        /// Names one limit (for messages and look-ups).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Limit {
            $( $(#[doc = $doc])+ $variant, )*
        }

        impl Limit {
            /// Every limit, in documentation order.
            pub const ALL: &'static [Limit] = &[ $( Limit::$variant, )* ];

            /// The environment variable that sets it.
            pub fn env(self) -> &'static str {
                match self { $( Limit::$variant => $env, )* }
            }

            /// What one unit of the value is (`bytes`, `characters`, …).
            pub fn unit(self) -> &'static str {
                match self { $( Limit::$variant => $unit, )* }
            }

            /// The default value.
            pub fn default_value(self) -> u64 {
                match self { $( Limit::$variant => $default, )* }
            }

            /// The one-line description (first doc line).
            pub fn description(self) -> &'static str {
                match self { $( Limit::$variant => [$($doc),+][0].trim(), )* }
            }
        }

        impl Limits {
            /// The value of one limit.
            pub fn get(&self, limit: Limit) -> u64 {
                match limit { $( Limit::$variant => self.$field, )* }
            }

            /// Sets one limit.
            pub fn set(&mut self, limit: Limit, value: u64) {
                match limit { $( Limit::$variant => self.$field = value, )* }
            }
        }
    };
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

limits! {
    /// Largest input file, and largest zip member once decompressed.
    file_bytes / FileBytes = 128 * MIB, "HYOJUN_MAX_FILE_BYTES", "bytes";
    /// Most members one zip archive may list (folders included).
    archive_members / ArchiveMembers = 1_000, "HYOJUN_MAX_ARCHIVE_MEMBERS", "members";
    /// Most bytes all members of the archives of one import may decompress to, together.
    archive_bytes / ArchiveBytes = 512 * MIB, "HYOJUN_MAX_ARCHIVE_BYTES", "bytes";
    /// Highest ratio of a zip member's decompressed size to its compressed size, and of the
    /// members read of one archive together (under 1 MiB decompressed is not held to it).
    compression_ratio / CompressionRatio = 200, "HYOJUN_MAX_COMPRESSION_RATIO", "to 1";
    /// Most files one import may read (loose files, folder entries and zip members).
    input_files / InputFiles = 1_000, "HYOJUN_MAX_INPUT_FILES", "files";
    /// Deepest folder read below a folder given as input.
    folder_depth / FolderDepth = 16, "HYOJUN_MAX_FOLDER_DEPTH", "levels";
    /// Most sheets of a workbook.
    workbook_sheets / WorkbookSheets = 64, "HYOJUN_MAX_WORKBOOK_SHEETS", "sheets";
    /// Most rows of a workbook sheet's used range.
    workbook_rows / WorkbookRows = 500_000, "HYOJUN_MAX_WORKBOOK_ROWS", "rows";
    /// Most columns of a workbook sheet's used range.
    workbook_columns / WorkbookColumns = 512, "HYOJUN_MAX_WORKBOOK_COLUMNS", "columns";
    /// Most cells (rows × columns) of a workbook sheet's used range.
    workbook_cells / WorkbookCells = 10_000_000, "HYOJUN_MAX_WORKBOOK_CELLS", "cells";
    /// Most rows (lines) of one CSV or text file.
    rows / Rows = 1_000_000, "HYOJUN_MAX_ROWS", "rows";
    /// Most columns (fields) of one row of a CSV file.
    columns / Columns = 200, "HYOJUN_MAX_COLUMNS", "columns";
    /// Longest row of a CSV or text file (a quoted field's line breaks included), checked on
    /// the bytes before the file is decoded.
    row_bytes / RowBytes = 16 * MIB, "HYOJUN_MAX_ROW_BYTES", "bytes";
    /// Longest value of a code field (codes, code-like keys, dates, flags).
    code_chars / CodeChars = 64, "HYOJUN_MAX_CODE_CHARS", "characters";
    /// Longest value of a name field (names, readings, synonyms, units, specimens).
    name_chars / NameChars = 1_000, "HYOJUN_MAX_NAME_CHARS", "characters";
    /// Longest value of a free-text field (notes, remarks, extra columns of local lists).
    text_chars / TextChars = 10_000, "HYOJUN_MAX_TEXT_CHARS", "characters";
    /// Most codes of one local-code list.
    local_codes / LocalCodes = 500_000, "HYOJUN_MAX_LOCAL_CODES", "codes";
    /// Largest local-code list or decision import (one request body).
    list_bytes / ListBytes = 32 * MIB, "HYOJUN_MAX_LIST_BYTES", "bytes";
    /// Largest JSON request body.
    json_bytes / JsonBytes = 16 * MIB, "HYOJUN_MAX_JSON_BYTES", "bytes";
    /// Deepest nesting of arrays and objects in a JSON request body.
    json_depth / JsonDepth = 64, "HYOJUN_MAX_JSON_DEPTH", "levels";
    /// Most items of one `/v1/validate` or translate request.
    validate_items / ValidateItems = 10_000, "HYOJUN_MAX_VALIDATE_ITEMS", "items";
    /// Most codes one FHIR `ValueSet/$expand` answer lists: an expansion larger than this
    /// without `count` (or a `count` over it) answers `too-costly`; with `count`, paging
    /// through a larger value set is allowed.
    expansion_codes / ExpansionCodes = 10_000, "HYOJUN_MAX_EXPANSION_CODES", "codes";
    /// Longest request URL (path and query).
    url_bytes / UrlBytes = 8 * KIB, "HYOJUN_MAX_URL_BYTES", "bytes";
    /// Largest upload (all files of one request together).
    upload_bytes / UploadBytes = GIB, "HYOJUN_MAX_UPLOAD_BYTES", "bytes";
    /// Most bytes of uploads one node receives at once (all requests in flight together).
    uploads_in_flight_bytes / UploadsInFlightBytes = 2 * GIB, "HYOJUN_MAX_UPLOADS_IN_FLIGHT_BYTES", "bytes";
    /// Most background jobs (imports, candidates) one node runs at once; more wait in turn.
    concurrent_jobs / ConcurrentJobs = 2, "HYOJUN_MAX_CONCURRENT_JOBS", "jobs";
}

/// Which kind of field a value is, for its length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Codes, keys, dates, flags: [`Limit::CodeChars`].
    Code,
    /// Names, readings, synonyms, units: [`Limit::NameChars`].
    Name,
    /// Free text: [`Limit::TextChars`].
    Text,
}

impl FieldKind {
    /// The limit on a field of this kind.
    pub fn limit(self) -> Limit {
        match self {
            FieldKind::Code => Limit::CodeChars,
            FieldKind::Name => Limit::NameChars,
            FieldKind::Text => Limit::TextChars,
        }
    }
}

/// A bad `HYOJUN_MAX_…` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLimit {
    pub env: &'static str,
    pub value: String,
}

impl fmt::Display for BadLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={} is not a usable limit: give a whole number greater than 0 (suffixes K, M, G for 1024, 1024², 1024³)",
            self.env,
            crate::excerpt::excerpt(&self.value)
        )
    }
}

impl std::error::Error for BadLimit {}

/// `123`, `64K`, `512M`, `2G` (powers of 1024), `_` allowed between digits.
fn parse_value(text: &str) -> Option<u64> {
    let t = text.trim().replace('_', "");
    let (digits, factor) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], KIB),
        Some((i, 'M' | 'm')) => (&t[..i], MIB),
        Some((i, 'G' | 'g')) => (&t[..i], GIB),
        _ => (t.as_str(), 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u64>()
        .ok()?
        .checked_mul(factor)
        .filter(|v| *v > 0)
}

impl Limits {
    /// The defaults, changed by every `HYOJUN_MAX_…` variable that is set.
    pub fn from_env() -> Result<Limits, BadLimit> {
        Limits::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`Limits::from_env`], reading variables through `var` (for tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Limits, BadLimit> {
        let mut limits = Limits::default();
        for &limit in Limit::ALL {
            if let Some(value) = var(limit.env()) {
                let parsed = parse_value(&value).ok_or_else(|| BadLimit {
                    env: limit.env(),
                    value: value.clone(),
                })?;
                limits.set(limit, parsed);
            }
        }
        Ok(limits)
    }

    /// `true` when `value` is within `limit`.
    pub fn allows(&self, limit: Limit, value: u64) -> bool {
        value <= self.get(limit)
    }

    /// The limit as a sentence part: `the limit is 1,000 characters (HYOJUN_MAX_NAME_CHARS)`.
    pub fn describe(&self, limit: Limit) -> String {
        format!(
            "the limit is {} {} ({})",
            group_digits(self.get(limit)),
            limit.unit(),
            limit.env()
        )
    }

    /// The fix for a value over `limit`: check the input, or raise the limit.
    pub fn fix(&self, limit: Limit) -> String {
        format!(
            "check that this is the right file; if it is genuine, raise the limit with {}=N (now {})",
            limit.env(),
            group_digits(self.get(limit))
        )
    }
}

/// `1234567` → `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_the_environment() {
        let vars = |name: &str| match name {
            "HYOJUN_MAX_NAME_CHARS" => Some("2_000".to_owned()),
            "HYOJUN_MAX_FILE_BYTES" => Some("64M".to_owned()),
            _ => None,
        };
        let limits = Limits::from_vars(vars).expect("valid");
        assert_eq!(limits.name_chars, 2_000);
        assert_eq!(limits.file_bytes, 64 * MIB);
        assert_eq!(limits.code_chars, Limit::CodeChars.default_value());
        for bad in ["", "0", "-1", "1.5", "12X", "99999999999999999999G"] {
            let err = Limits::from_vars(|n| (n == "HYOJUN_MAX_ROWS").then(|| bad.to_owned()))
                .expect_err(bad);
            assert_eq!(err.env, "HYOJUN_MAX_ROWS");
        }
    }

    #[test]
    fn descriptions() {
        let limits = Limits::default();
        assert_eq!(
            limits.describe(Limit::NameChars),
            "the limit is 1,000 characters (HYOJUN_MAX_NAME_CHARS)"
        );
        assert!(limits
            .fix(Limit::Rows)
            .contains("HYOJUN_MAX_ROWS=N (now 1,000,000)"));
        assert_eq!(
            Limit::ArchiveBytes.description(),
            "Most bytes all members of the archives of one import may decompress to, together."
        );
        let envs: std::collections::HashSet<_> = Limit::ALL.iter().map(|l| l.env()).collect();
        assert_eq!(envs.len(), Limit::ALL.len(), "one variable per limit");
    }
}
