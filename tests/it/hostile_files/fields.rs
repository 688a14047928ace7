//! Rows, columns and fields past their limits, control characters, in every parser.

use super::*;

#[test]
fn a_10_mb_drug_name_is_one_problem_and_a_nul_is_located() {
    let dir = tempfile::tempdir().expect("tmp");
    let long = hot_text_with(2, |f| f[11] = format!("\"{}\"", "ア".repeat(5 * MIB)));
    let long_dir = dir.path().join("long");
    std::fs::create_dir(&long_dir).expect("dir");
    let long_path = long_dir.join("MEDIS20260630.TXT");
    write_cp932(&long_path, &long);
    assert!(std::fs::metadata(&long_path).expect("file").len() > 10_000_000);
    let nul = hot_text_with(4, |f| f[11] = "\"ﾃｽﾄ\u{0}錠\"".into());
    let nul_path = dir.path().join("MEDIS20260630.TXT");
    write_cp932(&nul_path, &nul);
    let problems = refused(
        Master::Hot,
        &hot_first(),
        &[vec![long_path], vec![nul_path]],
    );
    let p = only(&problems[0]);
    assert_eq!(
        (p.kind, p.line, p.column),
        ("field_too_long", Some(2), Some(12))
    );
    assert_eq!(p.column_name.as_deref(), Some("販売名"));
    assert_eq!(
        p.message,
        format!(
            "the name is 5,242,880 characters long (`{}… (5242880 characters)`); the limit is 1,000 characters (HYOJUN_MAX_NAME_CHARS)",
            "ア".repeat(40)
        )
    );
    assert_eq!(
        p.fix,
        "check that this is the right file; if it is genuine, raise the limit with HYOJUN_MAX_NAME_CHARS=N (now 1,000)"
    );
    let p = only(&problems[1]);
    assert_eq!(
        (p.kind, p.line, p.column),
        ("control_character", Some(4), Some(12))
    );
    assert_eq!(p.column_name.as_deref(), Some("販売名"));
    assert_eq!(
        p.message,
        "the value holds the control character U+0000 (NUL) at character 4: `ﾃｽﾄ\\u{0000}錠`"
    );
}

#[test]
fn rows_and_columns_are_counted_while_the_file_is_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let wide = hot_text_with(3, |f| f.extend((0..276).map(|i| i.to_string())));
    let wide_path = dir.path().join("MEDIS20260630.TXT");
    write_cp932(&wide_path, &wide);
    let problems = refused(Master::Hot, &hot_first(), &[vec![wide_path.clone()]]);
    let p = only(&problems[0]);
    assert_eq!((p.kind, p.line), ("too_many_columns", Some(3)));
    assert_eq!(
        p.message,
        "the row has 300 columns; the limit is 200 columns (HYOJUN_MAX_COLUMNS)"
    );
    let few_rows = limits(&[(Limit::Rows, 10)]);
    let standard = repo().join("masters/hot/20260531/MEDIS20260531.TXT");
    let p = parse(Master::Hot, &[standard], few_rows);
    let p = only(&p);
    assert_eq!((p.kind, p.line), ("too_many_rows", Some(11)));
    assert!(p.file.ends_with("MEDIS20260531.TXT"), "{p}");
    assert_eq!(
        p.message,
        "the file has more than 10 rows; the limit is 10 rows (HYOJUN_MAX_ROWS)"
    );
}

fn byomei_sources(edit: impl Fn(&str, String) -> String) -> Vec<SourceFile> {
    let path = repo().join("masters/byomei/byomei518.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).expect("zip")).expect("zip");
    (0..zip.len())
        .map(|i| {
            let mut member = zip.by_index(i).expect("member");
            let name = member.name().expect("member name").into_owned();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).expect("read");
            let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
            let text = edit(&name, text);
            let bytes = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
            SourceFile::new(format!("byomei518.zip:{name}"), bytes)
        })
        .collect()
}

#[test]
fn every_parser_checks_every_field() {
    let located = |problems: &Problems| -> Vec<(&'static str, String, u64, usize, String)> {
        problems
            .items()
            .iter()
            .map(|p| {
                let file = p.file.rsplit(['/', ':']).next().unwrap_or("").to_owned();
                let name = p.column_name.clone().unwrap_or_default();
                (
                    p.kind,
                    file,
                    p.line.unwrap_or(0),
                    p.column.unwrap_or(0),
                    name,
                )
            })
            .collect()
    };
    // 病名: a 1,001-character 病名表記 on line 2, an escape sequence in a 索引用語 on line 3.
    let sources = byomei_sources(|name, text| {
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
        if name.ends_with("nmain518.txt") {
            lines[1] = lines[1].replacen("\"見本胃炎\"", &format!("\"{}\"", "胃".repeat(1001)), 1);
        }
        if name.ends_with("index518.txt") {
            let term = lines[2].split(',').next().unwrap_or("").to_owned();
            lines[2] = lines[2].replacen(&term, "\"見本\u{1B}[31m\"", 1);
        }
        lines.join("\r\n")
    });
    let problems = parse_sources(Master::Byomei, &sources, Limits::default());
    assert_eq!(
        located(&problems),
        [
            (
                "field_too_long",
                "nmain518.txt".into(),
                2,
                3,
                "病名表記".into()
            ),
            (
                "control_character",
                "index518.txt".into(),
                3,
                1,
                "索引用語".into()
            ),
        ]
    );
    assert!(problems.items()[1]
        .message
        .contains("U+001B (escape) at character 3"));

    // 看護: a NUL in a 行為名称 (line 3); a tab in a 定義 (free text) is allowed.
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["kansatsu", "result", "unit", "koui"] {
        let from = repo().join(format!("masters/nursing/4.1/{name}-ver.4.1.txt"));
        let bytes = std::fs::read(from).expect("sample");
        let mut text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
        if name == "koui" {
            let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
            let mut fields: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
            fields[9] = format!("{}\u{0}", fields[9]);
            fields[10] = format!("{}\t続き", fields[10]);
            lines[2] = fields.join(",");
            text = lines.join("\r\n");
        }
        write_cp932(&dir.path().join(format!("{name}-ver.4.1.txt")), &text);
    }
    let problems = parse(Master::Nursing, &[dir.path().to_owned()], Limits::default());
    assert_eq!(
        located(&problems),
        [(
            "control_character",
            "koui-ver.4.1.txt".into(),
            3,
            10,
            "第３階層（記載例）行為名称".into()
        )]
    );

    // JLAC workbook: a 1,001-character 分析物 名称 and a C1 control (NEL) in a 単位.
    let rows = vec![
        crate::jlac::code_row(
            1,
            "3Z901000092397191",
            [&"蛋".repeat(1001), "", "", "", ""],
            "g/dL",
        ),
        crate::jlac::code_row(2, "3Z901000092397192", ["", "", "", "", ""], "g/\u{85}dL"),
    ];
    let book = crate::jlac::workbook(rows, None);
    let sources = [SourceFile::new("904_matome.xlsx".into(), book)];
    let problems = parse_sources(Master::Jlac, &sources, Limits::default());
    assert_eq!(
        located(&problems),
        [
            (
                "field_too_long",
                "904_matome.xlsx [17桁コード表]".into(),
                5,
                6,
                "F".into()
            ),
            (
                "control_character",
                "904_matome.xlsx [17桁コード表]".into(),
                6,
                24,
                "X".into()
            ),
        ]
    );

    // eCS CSV: a NUL in a 販売名称 on line 2.
    let csv = std::fs::read_to_string(repo().join("masters/jlac/901/kyoyu-jlac-master.csv"))
        .expect("csv");
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    let fields: Vec<&str> = lines[1].split("\",\"").collect();
    let product = fields[9].to_owned();
    lines[1] = lines[1].replacen(&product, &format!("{product}\u{0}"), 1);
    let name = "kyoyu-jlac-master_20260401.csv";
    let sources = [SourceFile::new(name.into(), lines.join("\n").into_bytes())];
    let problems = parse_sources(Master::Jlac, &sources, Limits::default());
    assert_eq!(
        located(&problems),
        [("control_character", name.into(), 2, 10, "販売名称".into())]
    );
}
