//! Workbooks that claim a huge range, and a real-sized one at the limits.

use super::*;

/// The まとめ表 sample workbook (6 KB) with one more cell, at XFD1048576.
fn xfd_workbook() -> Vec<u8> {
    sample_workbook_with(r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#)
}

/// The まとめ表 sample workbook with `xml` added at the end of its code sheet's data.
fn sample_workbook_with(xml: &str) -> Vec<u8> {
    let path = repo().join("masters/jlac/902/902_matome.xlsx");
    let bytes = std::fs::read(path).expect("sample workbook");
    let mut sample = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..sample.len() {
        let mut member = sample.by_index(i).expect("member");
        let name = member.name().expect("member name").into_owned();
        let mut data = Vec::new();
        member.read_to_end(&mut data).expect("read");
        if name == "xl/worksheets/sheet1.xml" {
            let sheet = String::from_utf8(data).expect("xml");
            data = sheet
                .replace("</sheetData>", &format!("{xml}</sheetData>"))
                .into_bytes();
        }
        out.start_file(name, options).expect("member");
        out.write_all(&data).expect("write");
    }
    out.finish().expect("zip").into_inner()
}

#[test]
fn a_6_kb_workbook_with_a_cell_at_xfd1048576_is_refused_before_allocating() {
    let book = xfd_workbook();
    assert!(
        book.len() < 7 * 1024,
        "the 6 KB workbook: {} bytes",
        book.len()
    );
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(dir.path(), "903_matome.xlsx", &book);
    let first = vec![repo().join("masters/jlac/901")];
    let problems = refused(Master::Jlac, &first, &[vec![path.clone()]]);
    let p = only(&problems[0]);
    assert_eq!(p.kind, "workbook_too_large");
    assert_eq!(p.file, format!("{} [17桁コード表]", path.display()));
    assert_eq!((p.line, p.column), (Some(1_048_576), Some(16_384)));
    assert_eq!(p.column_name.as_deref(), Some("XFD"));
    assert_eq!(
        p.message,
        "cell XFD1048576 makes the sheet's used range 1,048,576 rows long; the limit is 500,000 rows (HYOJUN_MAX_WORKBOOK_ROWS)"
    );
    assert_eq!(
        p.fix,
        "check that this is the right file; if it is genuine, raise the limit with HYOJUN_MAX_WORKBOOK_ROWS=N (now 500,000)"
    );
    // Raised rows, the columns say so; raised columns too, the cells.
    let source = SourceFile::new("903_matome.xlsx".into(), book);
    let wide = limits(&[(Limit::WorkbookRows, 2_000_000)]);
    let p = parse_sources(Master::Jlac, std::slice::from_ref(&source), wide);
    assert_eq!(
        only(&p).message,
        "cell XFD1048576 makes the sheet's used range 16,384 columns wide; the limit is 512 columns (HYOJUN_MAX_WORKBOOK_COLUMNS)"
    );
    let wider = limits(&[
        (Limit::WorkbookRows, 2_000_000),
        (Limit::WorkbookColumns, 20_000),
    ]);
    let p = parse_sources(Master::Jlac, &[source], wider);
    assert_eq!(
        only(&p).message,
        "cell XFD1048576 makes the sheet's used range 1,048,576 rows × 16,384 columns = 17,179,869,184 cells; the limit is 10,000,000 cells (HYOJUN_MAX_WORKBOOK_CELLS)"
    );
    // A cell listed again and again stays inside the used range, but not inside the limit.
    let again = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>"#.repeat(15_000);
    let source = SourceFile::new("903_matome.xlsx".into(), sample_workbook_with(&again));
    let few = limits(&[(Limit::WorkbookCells, 10_000)]);
    let p = parse_sources(Master::Jlac, &[source], few);
    let p = only(&p);
    assert_eq!(
        (p.kind, p.line, p.column),
        ("workbook_too_large", Some(1), Some(1))
    );
    assert_eq!(
        p.message,
        "the sheet lists more than 10,000 cells; the limit is 10,000 cells (HYOJUN_MAX_WORKBOOK_CELLS)"
    );
}

#[test]
fn a_real_sized_workbook_imports_within_the_limits_and_its_exact_size_is_the_boundary() {
    let codes = crate::jlac::real_codes();
    let book = crate::jlac::real_workbook(&codes);
    let source = || vec![SourceFile::new("2023_matome.xlsx".into(), book.clone())];
    let parse_ok = |limits: Limits| {
        let options = masters::ParseOptions {
            limits,
            partial: true,
            ..masters::ParseOptions::default()
        };
        masters::parse_sources(Master::Jlac, &source(), &options, &NoProgress)
    };
    let parsed = parse_ok(Limits::default()).expect("imports with the defaults");
    assert_eq!(parsed.records.len(), 8108);
    // The code sheet spans 4 title rows, 8,108 code rows and the 4 rows opening the 新コード
    // block: 8,116 rows, 24 columns (A–X).
    let exact = [
        (Limit::WorkbookRows, 8_116),
        (Limit::WorkbookColumns, 24),
        (Limit::WorkbookCells, 8_116 * 24),
        (Limit::WorkbookSheets, 6),
    ];
    assert_eq!(
        parse_ok(limits(&exact))
            .expect("at the limits")
            .records
            .len(),
        8108
    );
    for (limit, value) in exact {
        let mut one_less = limits(&exact);
        one_less.set(limit, value - 1);
        let problems = parse_ok(one_less).expect_err("one less");
        let p = only(&problems);
        assert_eq!(p.kind, "workbook_too_large", "{limit:?}: {p}");
        assert!(p.message.ends_with(&format!("({})", limit.env())), "{p}");
    }
}
