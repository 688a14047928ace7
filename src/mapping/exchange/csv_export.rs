//! CSV export: one row per local code, the local code list's columns (with the upload's extra
//! columns), then the mapping and its review.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, Write};

use super::BOM;
use crate::hygiene::neutralise_formula;
use crate::mapping::project::MappingView;
use crate::mapping::state::Equivalence;

/// CSV columns before the extra columns: the local code list.
pub const LEADING_COLUMNS: [&str; 6] = [
    "local_code",
    "local_name",
    "unit",
    "specimen",
    "frequency",
    "category",
];

/// CSV columns after the extra columns: the mapping and its review.
pub const TRAILING_COLUMNS: [&str; 15] = [
    "state",
    "target_system",
    "target_code",
    "target_display",
    "equivalence",
    "comment",
    "author",
    "reviewer",
    "assignee",
    "flag_reason",
    "target_release",
    "withdrawn",
    "previous_name",
    "version",
    "updated_at",
];

/// The extra columns of `rows` (the upload's other columns), in first-seen order: what to pass
/// as `extra_headers` when every row is at hand. A streaming caller that cannot look at every
/// row first may pass the headers of the latest upload instead.
pub fn extra_headers<'a>(rows: impl IntoIterator<Item = &'a MappingView>) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for m in rows {
        for (h, _) in &m.extra {
            if seen.insert(h.as_str()) {
                out.push(h.clone());
            }
        }
    }
    out
}

fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(4096)
        .from_writer(w)
}

/// Writes the header row (after a UTF-8 BOM when `bom`): [`LEADING_COLUMNS`], every extra
/// header in the given order, then [`TRAILING_COLUMNS`].
pub fn write_csv_header<W: Write>(
    w: &mut W,
    extra_headers: &[String],
    bom: bool,
) -> io::Result<()> {
    if bom {
        w.write_all(BOM)?;
    }
    let mut out = csv_writer(&mut *w);
    out.write_record(
        LEADING_COLUMNS
            .iter()
            .copied()
            .chain(extra_headers.iter().map(String::as_str))
            .chain(TRAILING_COLUMNS.iter().copied())
            .map(|title| neutralise_formula(title).into_owned()),
    )?;
    out.flush()
}

/// Writes one mapping as a CSV row matching [`write_csv_header`]'s header: extra columns by the
/// same `extra_headers` (a column the row lacks is empty), absent values empty, `withdrawn` as
/// `true`/`false`, `updated_at` as `YYYY-MM-DDThh:mm:ssZ` (UTC). Fields with commas, quotes or
/// line breaks are quoted. A cell that a spreadsheet would run as a formula (it starts with
/// `=`, `+`, `-`, `@`, tab, CR or their full-width forms) gets a leading `'`
/// ([`neutralise_formula`]; so does one that is `'`s and then such a character), which
/// [`read_csv`] removes again.
///
/// [`read_csv`]: super::read_csv
pub fn write_csv_row<W: Write>(
    w: &mut W,
    m: &MappingView,
    extra_headers: &[String],
) -> io::Result<()> {
    fn opt(v: &Option<String>) -> Cow<'_, str> {
        Cow::Borrowed(v.as_deref().unwrap_or(""))
    }
    let mut fields: Vec<Cow<'_, str>> =
        Vec::with_capacity(LEADING_COLUMNS.len() + extra_headers.len() + TRAILING_COLUMNS.len());
    fields.push(m.local_code.as_str().into());
    fields.push(m.local_name.as_str().into());
    fields.push(opt(&m.unit));
    fields.push(opt(&m.specimen));
    fields.push(
        m.frequency
            .map_or(Cow::Borrowed(""), |n| n.to_string().into()),
    );
    fields.push(opt(&m.category));
    for h in extra_headers {
        let value = m.extra.iter().find(|(k, _)| k == h).map_or("", |(_, v)| v);
        fields.push(value.into());
    }
    fields.push(m.state.as_str().into());
    fields.push(opt(&m.target_system));
    fields.push(opt(&m.target_code));
    fields.push(opt(&m.target_display));
    fields.push(m.equivalence.map_or("", Equivalence::as_str).into());
    fields.push(m.comment.as_str().into());
    fields.push(opt(&m.author));
    fields.push(opt(&m.reviewer));
    fields.push(opt(&m.assignee));
    fields.push(opt(&m.flag_reason));
    fields.push(opt(&m.target_release));
    fields.push(if m.withdrawn { "true" } else { "false" }.into());
    fields.push(opt(&m.previous_name));
    fields.push(m.version.to_string().into());
    fields.push(m.updated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string().into());
    let mut out = csv_writer(&mut *w);
    let cells: Vec<Cow<'_, str>> = fields.iter().map(|f| neutralise_formula(f)).collect();
    out.write_record(cells.iter().map(|c| c.as_bytes()))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;

    #[test]
    fn csv_export_has_the_documented_columns_and_quoting() {
        let rows = sample();
        let bytes = export_csv(&rows[..2], true);
        let text = String::from_utf8(bytes).expect("utf-8");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines,
            [
                "\u{FEFF}local_code,local_name,unit,specimen,frequency,category,備考,検査室,\
                 state,target_system,target_code,target_display,equivalence,comment,author,\
                 reviewer,assignee,flag_reason,target_release,withdrawn,previous_name,version,\
                 updated_at",
                "L001,ＡＳＴ（ＧＯＴ）,U/L,血清,1204,生化学,至急可,本館,approved,jlac10,\
                 3B035000002327201,AST,equivalent,\"至急, \"\"再検\"\" あり\n2行目\",alice,bob,,,\
                 20260401,false,,1,2026-01-01T00:00:00Z",
                "L002,HbA1c（NGSP）,,,,,,別館,proposed,jlac10,3D046000001920402,\
                 3D046000001920402 の名称,narrower,,alice,,carol,,20260401,false,,1,\
                 2026-01-01T00:00:00Z",
                "",
            ]
        );
        // Without the flag there is no BOM.
        let plain = export_csv(&rows[..1], false);
        assert!(plain.starts_with(b"local_code,"));
    }
}
