//! Decoding master files (CP932, UTF-8 with or without BOM) and reading their CSV rows.

use encoding_rs::{DecoderResult, SHIFT_JIS};

use super::input::SourceFile;
use super::problem::{Problem, Problems};
use super::sniff;
use crate::limits::{group_digits, Limit, Limits};

/// Text encodings a master file may arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Windows-31J / CP932, as MEDIS ships its files.
    Cp932,
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
}

impl Encoding {
    /// Name stored with the release's file list.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Cp932 => "cp932",
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
        }
    }
}

/// A decoded file.
#[derive(Debug)]
pub struct DecodedText {
    pub text: String,
    pub encoding: Encoding,
}

/// Decodes a file: a UTF-8 BOM means UTF-8, valid UTF-8 is UTF-8, anything else is CP932.
/// A file that is UTF-16, UTF-32 or binary is one `wrong_encoding` problem ([`sniff`]);
/// bytes that are not valid CP932 are reported with line and byte column.
pub fn decode(file: &SourceFile, limits: &Limits) -> Result<DecodedText, Problems> {
    sniff::check(file)?;
    check_row_lengths(file, limits)?;
    let bytes = &file.bytes;
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(text) => Ok(DecodedText {
                text: text.to_owned(),
                encoding: Encoding::Utf8Bom,
            }),
            Err(err) => {
                let mut lines = LineCounter::default();
                Err(invalid_bytes(file, &mut lines, 3 + err.valid_up_to(), "UTF-8").into())
            }
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(DecodedText {
            text: text.to_owned(),
            encoding: Encoding::Utf8,
        });
    }
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(bytes.len() * 3 / 2);
    let mut problems = Problems::default();
    let mut lines = LineCounter::default();
    let mut pos = 0;
    loop {
        let needed = decoder
            .max_utf8_buffer_length_without_replacement(bytes.len() - pos)
            .unwrap_or(bytes.len() * 3);
        text.reserve(needed);
        let (result, read) =
            decoder.decode_to_string_without_replacement(&bytes[pos..], &mut text, true);
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => {
                pos += read;
            }
            DecoderResult::Malformed(bad, extra) => {
                let at = pos + read - bad as usize - extra as usize;
                // Past the cap a problem is only counted: it is not located.
                problems.push_with(|| invalid_bytes(file, &mut lines, at, "CP932 (Shift_JIS)"));
                text.push('\u{FFFD}');
                pos += read;
            }
        }
    }
    if problems.is_empty() {
        Ok(DecodedText {
            text,
            encoding: Encoding::Cp932,
        })
    } else {
        Err(problems)
    }
}

/// Refuses a file with a row over [`Limit::RowBytes`] before it is decoded: a damaged file or
/// an unclosed quote would otherwise make the rest of the file one field, held whole (in
/// the bytes, the decoded text and the CSV reader's buffer) before any check could see it.
/// Rows end at a line break outside quotes; a quote opens a quoted field only at the start
/// of a field, as the CSV reader reads it. The bytes the scan looks at (`"`, `,`, LF) are
/// ASCII, which neither CP932 nor UTF-8 uses inside a multi-byte character.
pub fn check_row_lengths(file: &SourceFile, limits: &Limits) -> Result<(), Problems> {
    #[derive(Clone, Copy)]
    enum At {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let max = limits.get(Limit::RowBytes);
    let mut state = At::FieldStart;
    let (mut line, mut row_line, mut row_start) = (1u64, 1u64, 0usize);
    for (i, &b) in file.bytes.iter().enumerate() {
        state = match (state, b) {
            (At::Quoted, b'"') => At::QuoteInQuoted,
            (At::Quoted, _) => At::Quoted,
            (At::FieldStart, b'"') | (At::QuoteInQuoted, b'"') => At::Quoted,
            (_, b',') => At::FieldStart,
            (_, b'\n') => At::FieldStart,
            _ => At::Unquoted,
        };
        if b == b'\n' {
            line += 1;
            if !matches!(state, At::Quoted) {
                row_line = line;
                row_start = i + 1;
                continue;
            }
        }
        if (i + 1 - row_start) as u64 > max {
            return Err(Problem::over_limit(
                &file.display_name,
                "row_too_long",
                "the row starting on this line is too long (an unclosed quote makes the rest of the file one row)".into(),
                limits,
                Limit::RowBytes,
            )
            .on_line(row_line)
            .into());
        }
    }
    Ok(())
}

/// Line numbers of byte offsets met in increasing order, counted once over the file (a
/// file of many bad bytes must not rescan it from the start for each).
#[derive(Default)]
struct LineCounter {
    /// Offset counted up to, its line, and where that line starts.
    upto: usize,
    line: u64,
    line_start: usize,
}

impl LineCounter {
    /// The 1-based line and the offset of its first byte.
    fn at(&mut self, bytes: &[u8], offset: usize) -> (u64, usize) {
        let offset = offset.min(bytes.len());
        if offset < self.upto {
            *self = LineCounter::default();
        }
        for (i, b) in bytes[self.upto..offset].iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.line_start = self.upto + i + 1;
            }
        }
        self.upto = offset;
        (self.line + 1, self.line_start)
    }
}

fn invalid_bytes(
    file: &SourceFile,
    lines: &mut LineCounter,
    offset: usize,
    encoding: &str,
) -> Problem {
    let (line, line_start) = lines.at(&file.bytes, offset);
    let byte_column = offset - line_start + 1;
    let shown: Vec<String> = file.bytes
        [offset.min(file.bytes.len())..(offset + 2).min(file.bytes.len())]
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    Problem::line(
        &file.display_name,
        line,
        "invalid_encoding",
        format!(
            "bytes {} at byte {byte_column} of the line are not valid {encoding}",
            shown.join(" ")
        ),
        "save the file as CP932 (Shift_JIS) or UTF-8 as MEDIS distributes it; the file may be corrupt",
    )
}

/// Whether a file holds nothing but blanks and an end-of-file marker.
pub fn is_blank(file: &SourceFile) -> bool {
    file.bytes
        .iter()
        .all(|b| b.is_ascii_whitespace() || *b == 0x1A)
}

/// Decodes a file and splits it into CSV rows within `limits` (rows per file, columns per
/// row); a blank file is a problem whose fix is `fix_when_empty` (e.g. where to fetch the
/// file again).
pub fn read_rows(
    file: &SourceFile,
    fix_when_empty: &str,
    limits: &Limits,
) -> Result<(Encoding, Vec<Row>), Problems> {
    if is_blank(file) {
        return Err(Problem::file(
            &file.display_name,
            "empty_file",
            "the file is empty".into(),
            fix_when_empty,
        )
        .into());
    }
    let decoded = decode(file, limits)?;
    let rows = csv_rows(&file.display_name, &decoded.text, limits)?;
    Ok((decoded.encoding, rows))
}

/// One CSV row with the line it started on.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based line number of the row's first character.
    pub line: u64,
    /// The fields, in one buffer (a row of owned strings would cost several times more).
    pub fields: csv::StringRecord,
}

/// Splits decoded text into CSV rows. Accepts CRLF or LF, quoted or unquoted fields, blank
/// lines and a trailing Ctrl-Z (0x1A) end-of-file marker. A last line that ends inside a
/// quoted field is reported as truncated. The row and column limits are checked as the rows
/// are read: the first row past either is the file's one problem.
pub fn csv_rows(file_name: &str, text: &str, limits: &Limits) -> Result<Vec<Row>, Problems> {
    let body = strip_eof_marker(text);
    let mut problems = Problems::default();
    if let Some(line) = unterminated_last_line(body) {
        problems.push(Problem::line(
            file_name,
            line,
            "truncated",
            "the file ends inside a quoted field: the last line is cut off".into(),
            "the file is truncated; download or copy it again",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    // The csv crate miscounts lines with CRLF, and after CRLF it reports a record as starting
    // at the LF; counting newlines up to and including the offset gives the right line.
    let mut lines = LineCounter::default();
    let mut line_at = |byte: u64| {
        let at = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        lines.at(body.as_bytes(), at).0
    };
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| line_at(p.byte()));
                if record.len() == 1 && record[0].trim_matches(['\u{1A}', ' ']).is_empty() {
                    continue;
                }
                if !limits.allows(Limit::Columns, record.len() as u64) {
                    problems.push(
                        Problem::over_limit(
                            file_name,
                            "too_many_columns",
                            format!("the row has {} columns", group_digits(record.len() as u64)),
                            limits,
                            Limit::Columns,
                        )
                        .on_line(line),
                    );
                    break;
                }
                if !limits.allows(Limit::Rows, rows.len() as u64 + 1) {
                    problems.push(
                        Problem::over_limit(
                            file_name,
                            "too_many_rows",
                            format!(
                                "the file has more than {} rows",
                                group_digits(rows.len() as u64)
                            ),
                            limits,
                            Limit::Rows,
                        )
                        .on_line(line),
                    );
                    break;
                }
                rows.push(Row {
                    line,
                    fields: std::mem::take(&mut record),
                });
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| line_at(p.byte()));
                problems.push(Problem::line(
                    file_name,
                    line,
                    "csv",
                    format!("not readable as CSV: {err}"),
                    "check the quoting on this line",
                ));
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Removes a trailing Ctrl-Z end-of-file marker and whatever line break surrounds it.
fn strip_eof_marker(text: &str) -> &str {
    let trimmed = text.trim_end_matches(['\r', '\n']);
    match trimmed.strip_suffix('\u{1A}') {
        Some(rest) => rest.trim_end_matches('\u{1A}'),
        None => text,
    }
}

/// The line number of the last line when it is cut off inside a quoted field.
fn unterminated_last_line(body: &str) -> Option<u64> {
    if body.is_empty() || body.ends_with('\n') {
        return None;
    }
    // Walk the whole text: a quote state that is still open at the end means truncation.
    let mut in_quotes = false;
    let mut line = 1u64;
    let mut record_line = 1u64;
    let mut at_record_start = true;
    for ch in body.chars() {
        if at_record_start {
            record_line = line;
            at_record_start = false;
        }
        match ch {
            '"' => in_quotes = !in_quotes,
            '\n' => {
                line += 1;
                if !in_quotes {
                    at_record_start = true;
                }
            }
            _ => {}
        }
    }
    in_quotes.then_some(record_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> SourceFile {
        SourceFile::new("t.txt".into(), bytes.to_vec())
    }

    #[test]
    fn decodes_cp932_utf8_and_bom() {
        let (sjis, _, _) = SHIFT_JIS.encode("内,①ハロタン\r\n");
        let d = decode(&file(&sjis), &Limits::default()).unwrap();
        assert_eq!(d.encoding, Encoding::Cp932);
        assert_eq!(d.text, "内,①ハロタン\r\n");
        let d = decode(&file("内\n".as_bytes()), &Limits::default()).unwrap();
        assert_eq!(d.encoding, Encoding::Utf8);
        let d = decode(&file(b"\xEF\xBB\xBFabc"), &Limits::default()).unwrap();
        assert_eq!((d.encoding, d.text.as_str()), (Encoding::Utf8Bom, "abc"));
    }

    #[test]
    fn reports_invalid_cp932_position() {
        let mut bytes = SHIFT_JIS.encode("a,b\r\nxy").0.into_owned();
        bytes.extend_from_slice(b"\x82\xFF,z\r\n");
        let problems = decode(&file(&bytes), &Limits::default()).unwrap_err();
        let p = &problems.items()[0];
        assert_eq!(p.line, Some(2));
        assert!(p.message.contains("82 FF at byte 3"), "{}", p.message);
    }

    #[test]
    fn reads_rows_with_ctrl_z_and_mixed_quoting() {
        let rows = csv_rows("t", "\"a\",,\"c\"\r\nd,e,f\r\n\u{1A}", &Limits::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].fields, vec!["a", "", "c"]);
        assert_eq!((rows[1].line, &rows[1].fields[2]), (2, "f"));
    }

    #[test]
    fn rows_and_columns_are_limited_while_reading() {
        let limits = Limits {
            rows: 2,
            columns: 3,
            ..Limits::default()
        };
        let text = "a,b\r\n\r\nc,d\r\ne,f\r\n";
        let problems = csv_rows("t", text, &limits).unwrap_err();
        let p = &problems.items()[0];
        assert_eq!(
            (problems.total(), p.kind, p.line),
            (1, "too_many_rows", Some(4))
        );
        let problems = csv_rows("t", "a,b\nc,d,e,f\ng,h,i,j\n", &limits).unwrap_err();
        let p = &problems.items()[0];
        assert_eq!(
            (problems.total(), p.kind, p.line),
            (1, "too_many_columns", Some(2))
        );
        assert_eq!(
            p.message,
            "the row has 4 columns; the limit is 3 columns (HYOJUN_MAX_COLUMNS)"
        );
    }

    #[test]
    fn many_bad_bytes_are_counted_not_all_located() {
        let mut bytes = b"a,b\r\n".to_vec();
        bytes.extend([0x82, 0xFF].repeat(1000));
        let problems = decode(&file(&bytes), &Limits::default()).unwrap_err();
        assert_eq!(problems.total(), 1000);
        assert_eq!(problems.items().len(), crate::masters::problem::PROBLEM_CAP);
        assert_eq!(problems.items()[199].line, Some(2));
    }

    #[test]
    fn rows_are_held_to_their_length_before_decoding() {
        let limits = Limits {
            row_bytes: 20,
            ..Limits::default()
        };
        // Quoted line breaks belong to the row; a quote inside an unquoted field is text.
        let ok = "a,\"b\r\nc\",d\r\n9\"inch,x,y,z,w,v\r\n\"q\"\"q\",r\r\n";
        assert!(check_row_lengths(&file(ok.as_bytes()), &limits).is_ok());
        // An unclosed quote on line 2 makes the rest of the file its row.
        let bad = format!("a,b\r\nc,\"d\r\n{}", "e,f\r\n".repeat(5));
        let problems = decode(&file(bad.as_bytes()), &limits).unwrap_err();
        let p = &problems.items()[0];
        assert_eq!(
            (problems.total(), p.kind, p.line),
            (1, "row_too_long", Some(2))
        );
        assert_eq!(
            p.message,
            "the row starting on this line is too long (an unclosed quote makes the rest of the file one row); the limit is 20 bytes (HYOJUN_MAX_ROW_BYTES)"
        );
        // A long unquoted line is refused the same way.
        let long = format!("a\n{}\n", "x".repeat(21));
        let problems = check_row_lengths(&file(long.as_bytes()), &limits).unwrap_err();
        assert_eq!(problems.items()[0].line, Some(2));
    }

    #[test]
    fn reports_truncated_quoted_field() {
        let problems = csv_rows("t", "\"a\",\"b\"\r\n\"c\",\"d", &Limits::default()).unwrap_err();
        assert_eq!(problems.items()[0].line, Some(2));
        assert_eq!(problems.items()[0].kind, "truncated");
    }
}
