//! HS014 臨床検査マスター: the sample releases in `masters/jlac/`, bad input, a workbook
//! built from the 8,108 real JLAC10 codes in `../shared/data/jlac-hs014/`, and the real eCS
//! 共有項目 CSV sample.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use hyojun::masters::{self, NoProgress, Problems, SourceFile};
use hyojun::store::models::{ConceptRow, ReleaseRow};
use hyojun::systems::Master;

use crate::support::{
    assert_expected_changes, databases, fingerprint, hyojun, repo, shared_data, TestDb,
};

fn sample(rel: &str) -> PathBuf {
    repo().join("masters/jlac").join(rel)
}

fn import(db: &TestDb, path: &Path, extra: &[&str]) {
    let path = path.display().to_string();
    let mut args = vec!["import", "jlac", path.as_str()];
    args.extend_from_slice(extra);
    assert_eq!(hyojun(db, &args), 0, "{} {args:?}", db.name);
}

fn release(db: &TestDb, label: &str) -> ReleaseRow {
    db.store.find_release(Master::Jlac, label).expect("release")
}

fn rows(db: &TestDb, release: &ReleaseRow, system: &str, code: &str) -> Vec<ConceptRow> {
    db.store.lookup(release, system, code).expect("lookup")
}

fn attribute(row: &ConceptRow, key: &str) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&row.attributes).expect("attributes");
    map.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

#[test]
fn sample_releases_give_the_expected_change_set() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sample("EXPECTED.json")).expect("EXPECTED.json"),
    )
    .expect("json");
    for db in databases("jlac_samples") {
        // 901: a distribution zip holding the .xlsx; 902: a loose .xlsx. Both with the CSV.
        import(&db, &sample("901"), &["--activate"]);
        import(&db, &sample("902"), &[]);
        let (from, to, diff) = db.store.diff(Master::Jlac, "901", "902").expect("diff");
        assert_expected_changes(&db, &diff, &to, &expected, &["jlac10", "jlac11"]);

        // Components decoded to names, Japanese and English, from the component sheets.
        let tp = rows(&db, &from, "jlac10", "3Z901000092397191");
        let tp = tp
            .iter()
            .find(|r| r.system_key == "jlac10")
            .expect("jlac10 row");
        assert_eq!(tp.display, "見本蛋白_見本血清_見本吸光法_見本定量値");
        assert_eq!(attribute(tp, "material_code").as_deref(), Some("923"));
        assert_eq!(attribute(tp, "material_name").as_deref(), Some("見本血清"));
        assert_eq!(
            attribute(tp, "material_name_en").as_deref(),
            Some("Sample serum")
        );
        assert_eq!(
            attribute(tp, "analyte_name_en").as_deref(),
            Some("Sample protein")
        );
        assert_eq!(attribute(tp, "unit").as_deref(), Some("g/dL"));
        assert!(tp.designations.contains("見本血清"), "{}", tp.designations);
        // 識別 0000 stored by Excel as the number 0 still decodes; a real 識別 shows in the display.
        assert_eq!(
            attribute(tp, "identification_code").as_deref(),
            Some("0000")
        );
        assert_eq!(
            attribute(tp, "identification_name").as_deref(),
            Some("識別なし")
        );
        let load = &rows(&db, &from, "jlac10", "3Z902190192397191")[0];
        assert_eq!(
            load.display,
            "見本酵素_見本負荷後_見本血清_見本吸光法_見本定量値"
        );
        assert_eq!(attribute(load, "analyte_flag").as_deref(), Some("1"));
        // 固有 結果識別 wins over the 共通 meaning of the same two digits.
        let index = &rows(&db, &from, "jlac10", "5Z901000092397293")[0];
        assert_eq!(
            attribute(index, "result_name").as_deref(),
            Some("見本抗体指数")
        );
        // The appended 新コード block is read and marked.
        let appended = &rows(&db, &from, "jlac10", "5Z902000092397292")[0];
        assert_eq!(attribute(appended, "section").as_deref(), Some("新コード"));
        assert_eq!(attribute(tp, "section"), None);
        // A renamed component changes the decoded names of the codes using it.
        let renamed = &rows(&db, &to, "jlac10", "5Z902000092397292")[0];
        assert_eq!(
            attribute(renamed, "method_name").as_deref(),
            Some("見本免疫測定法")
        );

        // The 15-character order code finds its 17-character result codes.
        let order = rows(&db, &from, "jlac10", "3Z9010000923971");
        let codes: Vec<&str> = order.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["3Z901000092397191"], "{}", db.name);
        let order = rows(&db, &from, "jlac10", "5Z9010000923972");
        let codes: BTreeSet<&str> = order.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes,
            BTreeSet::from(["5Z901000092397291", "5Z901000092397293"])
        );

        // JLAC11 rows carry their JLAC10 pair.
        let products = rows(&db, &from, "jlac10", "3Z901000092397191");
        let jlac11: Vec<&str> = products
            .iter()
            .filter(|r| r.system_key == "jlac11")
            .map(|r| r.code.as_str())
            .collect();
        assert_eq!(jlac11, ["C9901000092390155"]);
        let sp = &rows(&db, &from, "jlac11", "C9901000092390155")[0];
        assert!(sp
            .links
            .contains(r#"["code","jlac10","3Z901000092397191"]"#));
        assert_eq!(sp.display, "見本蛋白(SP)_見本血清_「見本」SP-L");
        assert_eq!(attribute(sp, "unit").as_deref(), Some("g/dL"));
        assert_eq!(release(&db, "902").label, "902");
    }
}

// ---------------------------------------------------------------- a tiny .xlsx writer

/// One sheet: name, rows of cells (`None` = empty; numbers written as numbers when they
/// parse as integers and `numeric` is set).
struct Sheet {
    name: String,
    rows: Vec<Vec<String>>,
}

fn sheet(name: &str, rows: Vec<Vec<String>>) -> Sheet {
    Sheet {
        name: name.to_owned(),
        rows,
    }
}

fn col(i: usize) -> String {
    let mut n = i + 1;
    let mut s = Vec::new();
    while n > 0 {
        s.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A minimal workbook with inline strings (the Python sample generator uses shared strings).
fn xlsx(sheets: &[Sheet]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, body: String| {
        zip.start_file(name, opts).expect("zip");
        zip.write_all(body.as_bytes()).expect("zip");
    };
    let ct = "application/vnd.openxmlformats-officedocument.spreadsheetml";
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>"#,
    );
    types.push_str(&format!(
        r#"<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>"#
    ));
    let mut book = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (n, s) in sheets.iter().enumerate() {
        let n = n + 1;
        types.push_str(&format!(
            r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{ct}.worksheet+xml"/>"#
        ));
        book.push_str(&format!(
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            esc(&s.name)
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="{rel}/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
    }
    types.push_str("</Types>");
    book.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    put("[Content_Types].xml", types);
    put(
        "_rels/.rels",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    );
    put("xl/workbook.xml", book);
    put("xl/_rels/workbook.xml.rels", rels);
    for (n, s) in sheets.iter().enumerate() {
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, row) in s.rows.iter().enumerate() {
            xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, v) in row.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
                xml.push_str(&format!(
                    r#"<c r="{}{}" t="inlineStr"><is><t>{}</t></is></c>"#,
                    col(c),
                    r + 1,
                    esc(v)
                ));
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData></worksheet>");
        put(&format!("xl/worksheets/sheet{}.xml", n + 1), xml);
    }
    zip.finish().expect("zip").into_inner()
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

const GROUP_TITLES: [&str; 6] = [
    "分析物",
    "識別",
    "材料",
    "測定法",
    "結果識別（共通）",
    "結果識別（固有）",
];

fn header_rows() -> Vec<Vec<String>> {
    let mut h1 = strings(&["No", "検査項目名称", "JLAC10コード（17桁）"]);
    let mut h2 = vec![String::new(); 3];
    for g in GROUP_TITLES {
        h1.extend(strings(&[g, "", ""]));
        h2.extend(strings(&["拡張フラグ", "コード", "名称"]));
    }
    h1.extend(strings(&["JLAC10コード（15桁）", "備考", "単位"]));
    vec![h1, h2]
}

/// A 17桁コード表 row: code, names of the five components (empty = from the sheets), unit.
pub(crate) fn code_row(n: usize, code: &str, names: [&str; 5], unit: &str) -> Vec<String> {
    let mut row = vec![n.to_string(), String::new(), code.to_owned()];
    let parts = [(0, 5), (5, 9), (9, 12), (12, 15), (15, 17)];
    for (i, (a, b)) in parts.iter().enumerate() {
        let part = code.get(*a..*b).unwrap_or("");
        row.extend([String::new(), part.to_owned(), names[i].to_owned()]);
    }
    row.extend([String::new(), String::new(), String::new()]);
    row.extend([
        code.get(..15).unwrap_or("").to_owned(),
        String::new(),
        unit.to_owned(),
    ]);
    row
}

fn component(name: &str, title: &str, entries: &[(String, String)]) -> Sheet {
    let mut rows = vec![
        strings(&[title]),
        strings(&["コード", "", "名称", "", "英語名称"]),
    ];
    for (code, ja) in entries {
        rows.push(vec![
            code.clone(),
            String::new(),
            ja.clone(),
            String::new(),
            String::new(),
        ]);
    }
    sheet(name, rows)
}

/// A workbook with the given 17桁コード表 rows below the header and tiny component sheets.
pub(crate) fn workbook(code_rows: Vec<Vec<String>>, leave_out: Option<&str>) -> Vec<u8> {
    let mut rows = vec![strings(&["臨床検査マスター まとめ表"]), vec![]];
    rows.extend(header_rows());
    rows.extend(code_rows);
    let one = |c: &str, n: &str| vec![(c.to_owned(), n.to_owned())];
    let sheets: Vec<Sheet> = [
        sheet("17桁コード表", rows),
        component("分析物", "分析物", &one("3Z901", "見本蛋白")),
        component("識別", "識別", &one("0000", "識別なし")),
        component("材料", "材料", &one("923", "見本血清")),
        component("測定法", "測定法", &one("971", "見本吸光法")),
        component("結果識別（共通）", "結果識別", &one("91", "見本定量値")),
    ]
    .into_iter()
    .filter(|s| Some(s.name.as_str()) != leave_out)
    .collect();
    xlsx(&sheets)
}

fn parse(
    files: Vec<(&str, Vec<u8>)>,
    label: Option<&str>,
) -> Result<masters::ParsedRelease, Problems> {
    let sources: Vec<SourceFile> = files
        .into_iter()
        .map(|(name, bytes)| SourceFile::new(name.to_owned(), bytes))
        .collect();
    // Most cases here are one file of a release: read it as a partial release.
    let options = masters::ParseOptions {
        label: label.map(str::to_owned),
        partial: true,
        ..masters::ParseOptions::default()
    };
    masters::parse_sources(Master::Jlac, &sources, &options, &NoProgress)
}

fn kinds(problems: &Problems) -> Vec<&'static str> {
    problems.items().iter().map(|p| p.kind).collect()
}

const GOOD: &str = "3Z901000092397191";

#[test]
fn bad_workbooks_and_csvs_are_refused_with_their_place() {
    let good = || code_row(1, GOOD, ["", "", "", "", ""], "g/dL");
    // The baseline parses.
    let ok = parse(vec![("7_matome.xlsx", workbook(vec![good()], None))], None).expect("good");
    assert_eq!((ok.label.as_str(), ok.records.len()), ("7", 1));
    assert_eq!(
        ok.records[0].display,
        "見本蛋白_見本血清_見本吸光法_見本定量値"
    );

    // Wrong sheet set.
    let p = parse(
        vec![("7_matome.xlsx", workbook(vec![good()], Some("材料")))],
        None,
    )
    .expect_err("no 材料 sheet");
    assert_eq!(kinds(&p), ["missing_sheet"]);
    assert!(p.items()[0].message.contains("材料"), "{}", p.items()[0]);

    // A malformed code (16 characters, lower case) in a data row: sheet, row, column.
    let p = parse(
        vec![(
            "7_matome.xlsx",
            workbook(
                vec![
                    good(),
                    code_row(2, "3Z90100009239719", ["", "", "", "", ""], ""),
                    code_row(3, "3z901000092397192", ["", "", "", "", ""], ""),
                ],
                None,
            ),
        )],
        None,
    )
    .expect_err("bad codes");
    assert_eq!(kinds(&p), ["bad_code", "bad_code"]);
    let first = &p.items()[0];
    assert_eq!(first.file, "7_matome.xlsx [17桁コード表]");
    assert_eq!((first.line, first.column), (Some(6), Some(3)));
    assert!(first.message.contains("cell C6"), "{first}");

    // Components given but no code.
    let mut no_code = good();
    no_code[2].clear();
    let p = parse(
        vec![("7_matome.xlsx", workbook(vec![good(), no_code], None))],
        None,
    )
    .expect_err("missing code");
    assert_eq!(kinds(&p), ["missing_code"]);

    // The same code twice with different values; an identical repeat is only a notice.
    let other_unit = code_row(2, GOOD, ["", "", "", "", ""], "mg/dL");
    let p = parse(
        vec![("7_matome.xlsx", workbook(vec![good(), other_unit], None))],
        None,
    )
    .expect_err("duplicate");
    assert_eq!(kinds(&p), ["duplicate_code"]);
    assert_eq!(p.items()[0].line, Some(6));
    let mut same = good();
    same[0] = "2".into();
    let ok = parse(
        vec![("7_matome.xlsx", workbook(vec![good(), same], None))],
        None,
    )
    .expect("identical repeat");
    assert_eq!(ok.records.len(), 1);
    assert!(kinds(&ok.notices).contains(&"duplicate_row"));

    // CSV: wrong column count, invalid encoding, malformed JLAC11 code.
    let real = std::fs::read_to_string(kyoyu_sample()).expect("csv");
    let mut lines: Vec<String> = real.split("\r\n").map(str::to_owned).collect();
    lines[1] = lines[1].replacen("\"\",", "", 1);
    let p = parse(
        vec![("jlac-kyoyu.csv", lines.join("\r\n").into_bytes())],
        Some("t"),
    )
    .expect_err("31 columns");
    assert_eq!(kinds(&p), ["column_count"]);
    assert_eq!(
        (p.items()[0].file.as_str(), p.items()[0].line),
        ("jlac-kyoyu.csv", Some(2))
    );
    let mut bytes = real.clone().into_bytes();
    bytes.extend_from_slice(b"\"\x82\xFF\"\r\n");
    let p = parse(vec![("jlac-kyoyu.csv", bytes)], Some("t")).expect_err("encoding");
    assert_eq!(kinds(&p), ["invalid_encoding"]);
    assert_eq!(p.items()[0].line, Some(5));
    let bad11 = real.replacen("C1002000025002755", "C100200002500275I", 1);
    let p = parse(vec![("jlac-kyoyu.csv", bad11.into_bytes())], Some("t")).expect_err("jlac11");
    assert_eq!(kinds(&p), ["bad_code"]);
    assert_eq!(
        (p.items()[0].line, p.items()[0].column),
        (Some(2), Some(13))
    );
    // No label anywhere.
    let p = parse(vec![("jlac-kyoyu.csv", real.into_bytes())], None).expect_err("label");
    assert_eq!(kinds(&p), ["no_label"]);
}

#[test]
fn refused_imports_change_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("8_matome.xlsx");
    std::fs::write(
        &bad,
        workbook(
            vec![
                code_row(1, GOOD, ["", "", "", "", ""], ""),
                code_row(2, "3Z9010000923971X1", ["", "", "", "", ""], ""),
            ],
            None,
        ),
    )
    .expect("write");
    let no_sheet = dir.path().join("9_matome.xlsx");
    std::fs::write(
        &no_sheet,
        workbook(
            vec![code_row(1, GOOD, ["", "", "", "", ""], "")],
            Some("分析物"),
        ),
    )
    .expect("write");
    for db in databases("jlac_refused") {
        import(&db, &sample("901"), &["--activate"]);
        let before = fingerprint(&db);
        for path in [&bad, &no_sheet] {
            let shown = path.display().to_string();
            assert_ne!(hyojun(&db, &["import", "jlac", &shown]), 0, "{}", db.name);
            assert_eq!(fingerprint(&db), before, "{} {shown}", db.name);
        }
    }
}

fn kyoyu_sample() -> PathBuf {
    shared_data()
        .join("jlac-hs014/format-samples/fhir-client_lab_items_sample_kyoyu-jlac-master.csv")
}

#[test]
fn real_ecs_kyoyu_rows_import() {
    for db in databases("jlac_kyoyu") {
        import(
            &db,
            &kyoyu_sample(),
            &["--version", "kyoyu-sample", "--partial"],
        );
        let rel = release(&db, "kyoyu-sample");
        let tp = &rows(&db, &rel, "jlac11", "C1002000025002755")[0];
        assert!(tp
            .links
            .contains(r#"["code","jlac10","3A010000002327101"]"#));
        assert_eq!(
            attribute(tp, "product_name").as_deref(),
            Some("「セロテック」TP-L")
        );
        assert_eq!(attribute(tp, "fhir_id").as_deref(), Some("TP"));
        // Two products (TP-L, TP-SL) share the JLAC10 serum code.
        let by10: Vec<String> = rows(&db, &rel, "jlac10", "3A010000002327101")
            .into_iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(
            by10,
            ["C1002000025002755", "C1002000025002855"],
            "{}",
            db.name
        );
    }
}

/// The 8,108 real JLAC10 codes of the JP Core まとめ表 list, as (code, display).
pub(crate) fn real_codes() -> Vec<(String, String)> {
    let path = shared_data().join("jlac-hs014/jpcore-ext_medis-jlac10-17digit_matome.tsv");
    let text = std::fs::read_to_string(path).expect("jpcore tsv");
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(c, d)| (c.to_owned(), d.to_owned()))
        .collect()
}

/// A まとめ表 workbook of the real JLAC10 codes: names from the JP Core display for the row
/// cells and the component sheets, the second half in an appended 新コード block.
pub(crate) fn real_workbook(codes: &[(String, String)]) -> Vec<u8> {
    // The JP Core display is 分析物_材料_測定法_結果識別: names for the row cells and the
    // component sheets (first name seen per component code).
    let mut tables: [BTreeMap<String, String>; 5] = Default::default();
    let mut data = Vec::new();
    let half = codes.len() / 2;
    for (n, (code, display)) in codes.iter().enumerate() {
        let parts: Vec<&str> = display.split('_').collect();
        // Four parts and no 識別: 分析物, 材料, 測定法, 結果識別 (other shapes carry 識別 or a
        // 固有 result; their names come from the component sheets).
        let plain = parts.len() == 4 && &code[5..9] == "0000";
        let names: [&str; 5] = if plain {
            [parts[0], "", parts[1], parts[2], parts[3]]
        } else {
            ["", "", "", "", ""]
        };
        if plain {
            for (i, (a, b)) in [(0, 5), (9, 12), (12, 15)].iter().enumerate() {
                tables[[0, 2, 3][i]]
                    .entry(code[*a..*b].to_owned())
                    .or_insert_with(|| names[[0, 2, 3][i]].to_owned());
            }
            tables[4]
                .entry(code[15..].to_owned())
                .or_insert_with(|| parts[3].to_owned());
        }
        tables[1]
            .entry(code[5..9].to_owned())
            .or_insert_with(|| format!("識別{}", &code[5..9]));
        // The second half goes into the appended 新コード block.
        if n == half {
            data.push(vec![]);
            data.push(strings(&["新コード"]));
            data.extend(header_rows());
        }
        data.push(code_row(n + 1, code, names, ""));
    }
    let mut sheet_rows = vec![strings(&["臨床検査マスター まとめ表"]), vec![]];
    sheet_rows.extend(header_rows());
    sheet_rows.extend(data);
    let entries = |t: &BTreeMap<String, String>| -> Vec<(String, String)> {
        t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    xlsx(&[
        sheet("17桁コード表", sheet_rows),
        component("分析物", "分析物", &entries(&tables[0])),
        component("識別", "識別", &entries(&tables[1])),
        component("材料", "材料", &entries(&tables[2])),
        component("測定法", "測定法", &entries(&tables[3])),
        component("結果識別（共通）", "結果識別", &entries(&tables[4])),
    ])
}

#[test]
fn a_workbook_of_the_real_jlac10_codes() {
    let codes = real_codes();
    assert_eq!(codes.len(), 8108);
    let book = real_workbook(&codes);
    let half = codes.len() / 2;

    let started = std::time::Instant::now();
    let parsed = parse(vec![("2023_matome.xlsx", book.clone())], None).expect("real codes");
    eprintln!("parsed 8,108 real codes in {:?}", started.elapsed());
    assert_eq!(parsed.label, "2023");
    assert_eq!(parsed.records.len(), 8108);
    let distinct: BTreeSet<&str> = codes.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(distinct.len(), 8108);
    let got: BTreeSet<&str> = parsed.records.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(got, distinct);
    // Counts derived independently from the list.
    let count_attr = |key: &str, value: &str| {
        parsed
            .records
            .iter()
            .filter(|r| r.attributes.get(key).as_deref() == Some(value))
            .count()
    };
    let serum = codes.iter().filter(|(c, _)| &c[9..12] == "023").count();
    assert_eq!(serum, 3465, "master-formats.md §3.3");
    assert_eq!(count_attr("material_code", "023"), serum);
    // 023 is named 血清 wherever JP Core's display shows its material.
    assert!(codes
        .iter()
        .filter(|(c, d)| &c[9..12] == "023" && &c[5..9] == "0000" && d.split('_').count() == 4)
        .all(|(_, d)| d.split('_').nth(1) == Some("血清")));
    assert_eq!(count_attr("material_name", "血清"), serum);
    let immuno = codes.iter().filter(|(c, _)| c.starts_with('5')).count();
    assert_eq!(immuno, 3399);
    let new_block = parsed
        .records
        .iter()
        .filter(|r| r.attributes.get("section").is_some())
        .count();
    assert_eq!(new_block, codes.len() - half);
    let orders: BTreeSet<&str> = codes.iter().map(|(c, _)| &c[..15]).collect();
    let linked: BTreeSet<&str> = parsed
        .records
        .iter()
        .flat_map(|r| r.links.iter().map(|l| l.code.as_str()))
        .collect();
    assert_eq!(linked, orders);

    // Stored on both backends: the order code of the first real code resolves.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("2023_matome.xlsx");
    std::fs::write(&path, &book).expect("write");
    let (code, display) = &codes[0];
    let siblings: HashMap<&str, usize> = codes.iter().fold(HashMap::new(), |mut m, (c, _)| {
        *m.entry(&c[..15]).or_default() += 1;
        m
    });
    for db in databases("jlac_real") {
        let started = std::time::Instant::now();
        import(&db, &path, &["--partial"]);
        eprintln!(
            "{}: imported 8,108 real codes in {:?}",
            db.name,
            started.elapsed()
        );
        let rel = release(&db, "2023");
        let found = rows(&db, &rel, "jlac10", &code[..15]);
        assert_eq!(found.len(), siblings[&code[..15]], "{}", db.name);
        let row = found.iter().find(|r| r.code == *code).expect("code");
        assert_eq!(
            row.display, *display,
            "JP Core's display is rebuilt from the names"
        );
    }
}

#[test]
fn a_loose_workbook_is_recorded_with_its_own_sha256() {
    use sha2::Digest;
    let path = sample("902/902_matome.xlsx");
    let expected = hex::encode(sha2::Sha256::digest(
        std::fs::read(&path).expect("workbook"),
    ));
    for db in databases("jlac_sha") {
        assert_eq!(
            hyojun(
                &db,
                &["import", "jlac", &path.display().to_string(), "--partial"]
            ),
            0
        );
        let releases = db
            .store
            .releases(Some(hyojun::systems::Master::Jlac))
            .expect("releases");
        let file = &releases[0].files[0];
        assert_eq!(
            (file.name.as_str(), file.sha256.as_str()),
            (path.display().to_string().as_str(), expected.as_str()),
            "{}",
            db.name
        );
    }
}
