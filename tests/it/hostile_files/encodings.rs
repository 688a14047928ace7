//! UTF-16, UTF-32 and binary files named as text.

use super::*;

#[test]
fn utf16_utf32_and_binary_files_are_one_problem_saying_what_they_are() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = hot_sample_text();
    let utf16 = |big: bool, bom: bool| -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if big { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
        }
        for unit in text.encode_utf16() {
            out.extend(if big {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    };
    let mut utf32 = vec![0xFF, 0xFE, 0, 0];
    utf32.extend(text.chars().flat_map(|c| (c as u32).to_le_bytes()));
    let xlsx = std::fs::read(repo().join("masters/jlac/902/902_matome.xlsx")).expect("xlsx");
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cases: Vec<(Vec<u8>, String)> = vec![
        (utf16(false, true), "the file is UTF-16 LE text (it starts with the UTF-16 LE byte-order mark), not CP932 or UTF-8".into()),
        (utf16(true, false), "the file looks like UTF-16 BE text without a byte-order mark (zero bytes between the characters), not CP932 or UTF-8".into()),
        (utf32, "the file is UTF-32 LE text (it starts with the UTF-32 LE byte-order mark), not CP932 or UTF-8".into()),
        (b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(), "the file is a PDF document, not a CP932 or UTF-8 text file".into()),
        (xlsx, "the file is a zip archive (a .zip, or an .xlsx workbook), not a CP932 or UTF-8 text file".into()),
        (noise, "the file is binary data, not a CP932 or UTF-8 text file".into()),
    ];
    let paths: Vec<Vec<PathBuf>> = cases
        .iter()
        .enumerate()
        .map(|(i, (bytes, _))| {
            let sub = dir.path().join(i.to_string());
            std::fs::create_dir(&sub).expect("dir");
            vec![write(&sub, "MEDIS20260630.TXT", bytes)]
        })
        .collect();
    let problems = refused(Master::Hot, &hot_first(), &paths);
    for ((problems, (_, message)), path) in problems.iter().zip(&cases).zip(&paths) {
        let p = only(problems);
        assert_eq!(
            (p.kind, p.file.as_str()),
            ("wrong_encoding", path[0].to_str().expect("path"))
        );
        assert_eq!(&p.message, message);
        assert!(
            p.fix.contains("CP932") && p.fix.contains("UTF-8"),
            "{}",
            p.fix
        );
    }
}
