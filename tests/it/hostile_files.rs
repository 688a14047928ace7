//! Hostile and malformed master files: workbooks that claim a huge range, zip bombs, inputs
//! that are not regular files, files in the wrong encoding, rows, columns and fields past
//! their limits, control characters and escape sequences. Each is refused with one clear
//! problem that names where and which limit; through the CLI the command exits 1 and the
//! database is exactly as before, on both backends.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hyojun::limits::{group_digits, Limit, Limits};
use hyojun::masters::{self, NoProgress, Problem, Problems, SourceFile};
use hyojun::systems::Master;

use crate::support::{databases, fingerprint, hyojun, repo, write_cp932};

// ---------------------------------------------------------------------------------------
// Helpers

/// On both backends: imports `first` of `master`, then tries every case through the CLI and
/// asserts exit code 1 and an untouched database each time. Returns each case's problems as
/// the parser gives them with the default limits (what the CLI used).
fn refused(master: Master, first: &[PathBuf], cases: &[Vec<PathBuf>]) -> Vec<Problems> {
    let key = master.to_string();
    let strings = |paths: &[PathBuf]| -> Vec<String> {
        paths.iter().map(|p| p.display().to_string()).collect()
    };
    for db in databases("hostile") {
        let mut argv = vec!["import", key.as_str()];
        let first = strings(first);
        argv.extend(first.iter().map(String::as_str));
        argv.push("--activate");
        assert_eq!(
            hyojun(&db, &argv),
            0,
            "{}: the first release imports",
            db.name
        );
        let before = fingerprint(&db);
        for case in cases {
            let args = strings(case);
            let mut argv = vec!["import", key.as_str()];
            argv.extend(args.iter().map(String::as_str));
            assert_eq!(hyojun(&db, &argv), 1, "{} {args:?}", db.name);
            assert_eq!(
                fingerprint(&db),
                before,
                "{}: {args:?} changed the database",
                db.name
            );
        }
    }
    cases
        .iter()
        .map(|case| parse(master, case, Limits::default()))
        .collect()
}

fn parse(master: Master, paths: &[PathBuf], limits: Limits) -> Problems {
    let options = masters::ParseOptions {
        limits,
        ..masters::ParseOptions::default()
    };
    masters::parse_release(master, paths, &options, &NoProgress).expect_err("must be refused")
}

fn parse_sources(master: Master, sources: &[SourceFile], limits: Limits) -> Problems {
    let options = masters::ParseOptions {
        limits,
        ..masters::ParseOptions::default()
    };
    masters::parse_sources(master, sources, &options, &NoProgress).expect_err("must be refused")
}

fn only(problems: &Problems) -> &Problem {
    assert_eq!(problems.total(), 1, "{problems}");
    &problems.items()[0]
}

fn hot_first() -> Vec<PathBuf> {
    vec![repo().join("masters/hot/20260531")]
}

fn hot_sample_text() -> String {
    let path = repo().join("masters/hot/20260531/MEDIS20260531.TXT");
    let bytes = std::fs::read(path).expect("sample");
    encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
}

/// The HOT sample with line `line` (1-based) changed by `edit` on its fields.
fn hot_text_with(line: usize, edit: impl Fn(&mut Vec<String>)) -> String {
    let text = hot_sample_text();
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    let mut fields: Vec<String> = lines[line - 1].split(',').map(str::to_owned).collect();
    edit(&mut fields);
    lines[line - 1] = fields.join(",");
    lines.join("\r\n")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

fn limits(set: &[(Limit, u64)]) -> Limits {
    let mut limits = Limits::default();
    for (limit, value) in set {
        limits.set(*limit, *value);
    }
    limits
}

/// A zip member written byte by byte, so that its header can say anything.
struct RawMember<'a> {
    name: &'a str,
    /// 0 stored, 8 deflated.
    method: u16,
    crc: u32,
    /// The decompressed size the headers declare.
    size: u32,
    data: Vec<u8>,
}

/// A zip archive of `members` exactly as given (local headers, central directory, end
/// record; no zip64).
fn raw_zip(members: &[RawMember]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let common = |buf: &mut Vec<u8>| {
            buf.extend(20u16.to_le_bytes()); // version needed
            buf.extend(0x0800u16.to_le_bytes()); // UTF-8 name
            buf.extend(m.method.to_le_bytes());
            buf.extend(0u16.to_le_bytes()); // time
            buf.extend(0x5CDEu16.to_le_bytes()); // date 2026-06-30
            buf.extend(m.crc.to_le_bytes());
            buf.extend((m.data.len() as u32).to_le_bytes());
            buf.extend(m.size.to_le_bytes());
            buf.extend((m.name.len() as u16).to_le_bytes());
            buf.extend(0u16.to_le_bytes()); // extra
        };
        out.extend(b"PK\x03\x04");
        common(&mut out);
        out.extend(m.name.as_bytes());
        out.extend(&m.data);
        central.extend(b"PK\x01\x02");
        central.extend(20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend([0u8; 6]); // comment length, disk, internal attributes
        central.extend(0u32.to_le_bytes()); // external attributes
        central.extend(offset.to_le_bytes());
        central.extend(m.name.as_bytes());
    }
    let start = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn crc(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// A stored member holding `data`.
fn stored<'a>(name: &'a str, data: &[u8]) -> RawMember<'a> {
    RawMember {
        name,
        method: 0,
        crc: crc(data),
        size: data.len() as u32,
        data: data.to_vec(),
    }
}

const MIB: usize = 1024 * 1024;

/// `mib` MiB of zeros as one raw deflate stream, built without compressing them all: the
/// second MiB, compressed after the first, only refers back to zeros, so its blocks can be
/// repeated (each sync-flushed block ends on a byte).
fn zeros_deflated(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; MIB];
    let mut c = Compress::new(Compression::best(), false);
    let mut step = |input: &[u8], flush| {
        let mut out = Vec::with_capacity(64 * 1024);
        c.compress_vec(input, &mut out, flush).expect("deflate");
        out
    };
    let first = step(&zeros, FlushCompress::Sync);
    let middle = step(&zeros, FlushCompress::Sync);
    let last = step(&[], FlushCompress::Finish);
    let mut stream = first;
    for _ in 1..mib {
        stream.extend(&middle);
    }
    stream.extend(last);
    stream
}

fn zeros_crc(mib: usize) -> u32 {
    let zeros = vec![0u8; MIB];
    let mut crc = flate2::Crc::new();
    for _ in 0..mib {
        crc.update(&zeros);
    }
    crc.sum()
}

/// A deflated member of `mib` MiB of zeros, its header honest unless `declared` says else.
fn bomb(name: &str, mib: usize, declared: Option<u32>) -> RawMember<'_> {
    RawMember {
        name,
        method: 8,
        crc: zeros_crc(mib),
        size: declared.unwrap_or((mib * MIB) as u32),
        data: zeros_deflated(mib),
    }
}

// ---------------------------------------------------------------------------------------
// Workbooks

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

// ---------------------------------------------------------------------------------------
// Zip archives

#[test]
fn a_1_4_mb_zip_bomb_is_refused_before_anything_is_decompressed() {
    let dir = tempfile::tempdir().expect("tmp");
    let member = bomb("MEDIS20260630.TXT", 1400, None);
    let compressed = member.data.len() as u64;
    let zip = raw_zip(&[member]);
    assert!(
        (1_300_000..1_600_000).contains(&zip.len()),
        "a 1.4 MB bomb: {}",
        zip.len()
    );
    let path = write(dir.path(), "h20260630.zip", &zip);
    // The bomb is real: its stream decompresses to zeros.
    let mut start = Vec::new();
    let stream = &zip[30 + "MEDIS20260630.TXT".len()..];
    flate2::read::DeflateDecoder::new(stream)
        .take(8 * MIB as u64)
        .read_to_end(&mut start)
        .expect("inflate");
    assert!(start.len() == 8 * MIB && start.iter().all(|b| *b == 0));

    let problems = refused(Master::Hot, &hot_first(), &[vec![path.clone()]]);
    let p = only(&problems[0]);
    assert_eq!(p.kind, "compression_ratio");
    assert_eq!(p.file, format!("{}:MEDIS20260630.TXT", path.display()));
    let size = 1400 * MIB as u64;
    assert_eq!(
        p.message,
        format!(
            "the member decompresses from {} to 1,468,006,400 bytes, a ratio of {} to 1; the limit is 200 to 1 (HYOJUN_MAX_COMPRESSION_RATIO)",
            group_digits(compressed),
            group_digits(size / compressed)
        )
    );
    assert_eq!(
        p.fix,
        "check that this is the right file; if it is genuine, raise the limit with HYOJUN_MAX_COMPRESSION_RATIO=N (now 200)"
    );
    // Allowed any ratio, the same bomb is over the member size.
    let any_ratio = limits(&[(Limit::CompressionRatio, 10_000)]);
    let p = parse(Master::Hot, &[path], any_ratio);
    assert_eq!(only(&p).kind, "too_large");
    assert_eq!(
        only(&p).message,
        "the member decompresses to 1,468,006,400 bytes; the limit is 536,870,912 bytes (HYOJUN_MAX_FILE_BYTES)"
    );
}

#[test]
fn a_member_whose_header_lies_about_its_size_is_read_no_further_than_it_declared() {
    let dir = tempfile::tempdir().expect("tmp");
    // 64 MiB of zeros whose headers declare 1,000 bytes: no limit applies to what is
    // declared, and reading stops one byte past it.
    let zip = raw_zip(&[bomb("MEDIS20260630.TXT", 64, Some(1000))]);
    let path = write(dir.path(), "h20260630.zip", &zip);
    let problems = refused(Master::Hot, &hot_first(), &[vec![path.clone()]]);
    let p = only(&problems[0]);
    assert_eq!(
        (p.kind, p.file.clone()),
        ("bad_zip", format!("{}:MEDIS20260630.TXT", path.display()))
    );
    // The zip reader stops at the declared size itself; reading stops there either way.
    assert_eq!(
        p.message,
        "the member cannot be decompressed: File is larger than its declared uncompressed size"
    );
}

#[test]
fn many_members_are_refused_by_count_and_many_small_ones_by_their_ratio_together() {
    let dir = tempfile::tempdir().expect("tmp");
    let names: Vec<String> = (0..1001).map(|i| format!("part{i}.txt")).collect();
    let many: Vec<RawMember> = names.iter().map(|n| stored(n, b"")).collect();
    let many = write(dir.path(), "many.zip", &raw_zip(&many));
    // 64 members of 512 KiB of zeros: each under 1 MiB (not held to the ratio alone).
    let stream = {
        let mut c = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        c.write_all(&vec![0u8; MIB / 2]).expect("deflate");
        c.finish().expect("deflate")
    };
    let small: Vec<RawMember> = names[..64]
        .iter()
        .map(|n| RawMember {
            name: n,
            method: 8,
            crc: crc(&vec![0u8; MIB / 2]),
            size: (MIB / 2) as u32,
            data: stream.clone(),
        })
        .collect();
    let small = write(dir.path(), "small.zip", &raw_zip(&small));
    let problems = refused(
        Master::Hot,
        &hot_first(),
        &[vec![many.clone()], vec![small.clone()]],
    );
    let p = only(&problems[0]);
    assert_eq!(
        (p.kind, p.file.as_str()),
        ("too_many_members", many.to_str().expect("path"))
    );
    assert_eq!(
        p.message,
        "the archive lists 1,001 members; the limit is 1,000 members (HYOJUN_MAX_ARCHIVE_MEMBERS)"
    );
    let p = only(&problems[1]);
    assert_eq!(
        (p.kind, p.file.as_str()),
        ("compression_ratio", small.to_str().expect("path"))
    );
    let compressed = 64 * stream.len() as u64;
    assert_eq!(
        p.message,
        format!(
            "the members read decompress from {} to 33,554,432 bytes together, a ratio of {} to 1; the limit is 200 to 1 (HYOJUN_MAX_COMPRESSION_RATIO)",
            group_digits(compressed),
            group_digits(33_554_432 / compressed)
        )
    );
}

/// A deflated member holding `data`.
fn deflated<'a>(name: &'a str, data: &[u8]) -> RawMember<'a> {
    let mut c = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    c.write_all(data).expect("deflate");
    RawMember {
        name,
        method: 8,
        crc: crc(data),
        size: data.len() as u32,
        data: c.finish().expect("deflate"),
    }
}

#[test]
fn archives_are_held_to_their_total_and_members_to_their_size() {
    let dir = tempfile::tempdir().expect("tmp");
    // 600 KiB each: under 1 MiB, not held to the ratio.
    let text = vec![b'x'; 600 * 1024];
    let one = write(
        dir.path(),
        "a.zip",
        &raw_zip(&[deflated("MEDIS20260630.TXT", &text)]),
    );
    let two = write(
        dir.path(),
        "b.zip",
        &raw_zip(&[deflated("MEDIS20260630_HOT9.TXT", &text)]),
    );
    let small_total = limits(&[(Limit::ArchiveBytes, 1_000_000)]);
    let p = parse(Master::Hot, &[one.clone(), two.clone()], small_total);
    let p = only(&p);
    assert_eq!(p.kind, "archive_too_large");
    assert_eq!(p.file, format!("{}:MEDIS20260630_HOT9.TXT", two.display()));
    assert_eq!(
        p.message,
        "with this member the archives of this import decompress to 1,228,800 bytes together; the limit is 1,000,000 bytes (HYOJUN_MAX_ARCHIVE_BYTES)"
    );
    let small_member = limits(&[(Limit::FileBytes, 100_000)]);
    let p = parse(Master::Hot, std::slice::from_ref(&one), small_member);
    assert_eq!(only(&p).kind, "too_large");
    assert_eq!(
        only(&p).message,
        "the member decompresses to 614,400 bytes; the limit is 100,000 bytes (HYOJUN_MAX_FILE_BYTES)"
    );
    let few = limits(&[(Limit::ArchiveMembers, 0)]);
    assert_eq!(
        only(&parse(Master::Hot, &[one], few)).kind,
        "too_many_members"
    );
}

#[test]
fn a_bomb_the_master_does_not_read_is_listed_without_being_decompressed() {
    // The sample distribution with a layout "PDF" whose 1.4 GB of zeros is not even valid
    // deflate after its first bytes: decompressing it would fail, ignoring it costs nothing.
    let sample = std::fs::read(repo().join("masters/hot/h20260630.zip")).expect("sample");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(sample)).expect("zip");
    let mut contents = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).expect("member");
        let mut data = Vec::new();
        member.read_to_end(&mut data).expect("read");
        contents.push((member.name().expect("member name").into_owned(), data));
    }
    let mut members: Vec<RawMember> = contents.iter().map(|(n, d)| stored(n, d)).collect();
    let mut pdf = bomb("標準レイアウト.pdf", 1400, None);
    pdf.data.truncate(4096);
    pdf.data.extend([0xFF; 1024]);
    members.push(pdf);
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(dir.path(), "h20260630.zip", &raw_zip(&members));
    let deletions = repo().join("masters/hot/h20260630_HOT9del.txt");
    let shown = path.display().to_string();
    for db in databases("hostile_pdf") {
        let args = [
            "import",
            "hot",
            shown.as_str(),
            deletions.to_str().expect("path"),
        ];
        assert_eq!(hyojun(&db, &args), 0, "{}", db.name);
    }
    let options = masters::ParseOptions::default();
    let parsed = masters::parse_release(Master::Hot, &[path, deletions], &options, &NoProgress)
        .expect("imports");
    assert!(
        parsed
            .ignored
            .contains(&format!("{shown}:標準レイアウト.pdf (not a data file)")),
        "{:?}",
        parsed.ignored
    );
    assert_eq!(parsed.files.len(), 3);
}

#[test]
fn names_from_zip_members_are_escaped_in_every_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = raw_zip(&[stored("\u{1B}[2J\u{1B}]0;owned\u{7}.txt", b"hello\r\n")]);
    let path = write(dir.path(), "h20260630.zip", &zip);
    let problems = refused(Master::Hot, &hot_first(), &[vec![path.clone()]]);
    let p = only(&problems[0]);
    assert_eq!(p.kind, "no_hot_data");
    let member = format!(
        "{}:\\u{{001B}}[2J\\u{{001B}}]0;owned\\u{{0007}}.txt",
        path.display()
    );
    assert_eq!(p.file, member);
    let shown = problems[0].to_string();
    assert!(
        !shown.contains('\u{1B}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.contains(&member), "{shown}");
}

// ---------------------------------------------------------------------------------------
// Inputs that are not regular files

#[test]
fn devices_fifos_and_sockets_are_not_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("MEDIS20260630.TXT");
    let c_path = std::ffi::CString::new(fifo.to_str().expect("path")).expect("path");
    // SAFETY: a NUL-terminated path and a mode; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let socket = dir.path().join("MEDIS20260630_HOT9.TXT");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("socket");
    let zero = PathBuf::from("/dev/zero");
    assert!(zero.exists(), "/dev/zero is needed");
    let cases = [vec![zero.clone()], vec![fifo.clone()], vec![socket.clone()]];
    let problems = refused(Master::Hot, &hot_first(), &cases);
    for (problems, (path, what)) in problems.iter().zip([
        (&zero, "a character device"),
        (&fifo, "a named pipe (FIFO)"),
        (&socket, "a socket"),
    ]) {
        let p = only(problems);
        assert_eq!(
            (p.kind, p.file.as_str()),
            ("not_a_regular_file", path.to_str().expect("path"))
        );
        assert_eq!(p.message, format!("this is {what}, not a regular file"));
    }
    // In a folder, the same.
    let problems = parse(Master::Hot, &[dir.path().to_owned()], Limits::default());
    let kinds: Vec<&str> = problems.items().iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["not_a_regular_file", "not_a_regular_file"]);
}

#[test]
fn a_folder_with_symbolic_links_back_into_itself_is_read_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let release = dir.path().join("20260531");
    std::fs::create_dir(&release).expect("dir");
    for name in ["MEDIS20260531.TXT", "MEDIS20260531_HOT9.TXT"] {
        let from = repo().join("masters/hot/20260531").join(name);
        std::fs::copy(from, release.join(name)).expect("copy");
    }
    std::os::unix::fs::symlink(".", release.join("again")).expect("symlink");
    std::fs::create_dir(release.join("sub")).expect("dir");
    std::os::unix::fs::symlink("..", release.join("sub/back")).expect("symlink");
    let shown = release.display().to_string();
    for db in databases("hostile_loop") {
        assert_eq!(hyojun(&db, &["import", "hot", &shown]), 0, "{}", db.name);
        let stored = db
            .store
            .find_release(Master::Hot, "20260531")
            .expect("release");
        assert_eq!(stored.label, "20260531");
    }
    let options = masters::ParseOptions::default();
    let parsed =
        masters::parse_release(Master::Hot, &[&release], &options, &NoProgress).expect("imports");
    let mut names: Vec<&str> = parsed.files.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    let expected = [
        format!("{shown}/MEDIS20260531.TXT"),
        format!("{shown}/MEDIS20260531_HOT9.TXT"),
    ];
    assert_eq!(names, expected);
}

#[test]
fn folders_stop_at_their_depth_files_at_their_size_and_inputs_at_their_count() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut deep = dir.path().to_owned();
    for level in 0..4 {
        deep = deep.join(format!("level{level}"));
    }
    std::fs::create_dir_all(&deep).expect("dirs");
    write(&deep, "MEDIS20260630.TXT", b"x");
    let shallow = limits(&[(Limit::FolderDepth, 3)]);
    let p = parse(Master::Hot, &[dir.path().to_owned()], shallow);
    let p = only(&p);
    assert_eq!(
        (p.kind, p.file.clone()),
        ("too_deep", deep.display().to_string())
    );
    assert_eq!(
        p.message,
        "the folder is 4 levels below the folder given; the limit is 3 levels (HYOJUN_MAX_FOLDER_DEPTH)"
    );
    // A file that says it is empty (procfs) is still read no further than the limit.
    let status = PathBuf::from("/proc/self/status");
    let small = limits(&[(Limit::FileBytes, 16)]);
    let p = parse(Master::Hot, &[status], small);
    assert_eq!(
        (only(&p).kind, only(&p).message.as_str()),
        (
            "too_large",
            "the file grew past 16 bytes while it was read; the limit is 16 bytes (HYOJUN_MAX_FILE_BYTES)"
        )
    );
    let few = limits(&[(Limit::InputFiles, 1)]);
    let p = parse(Master::Hot, &hot_first(), few);
    let p = only(&p);
    assert_eq!(p.kind, "too_many_files");
    assert!(p.file.ends_with("MEDIS20260531_HOT9.TXT"), "{p}");
    assert_eq!(
        p.message,
        "the input holds more than 1 files (loose files, folder entries and zip members together); the limit is 1 files (HYOJUN_MAX_INPUT_FILES)"
    );
}

// ---------------------------------------------------------------------------------------
// Encodings

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

// ---------------------------------------------------------------------------------------
// Rows, columns and fields

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

// ---------------------------------------------------------------------------------------
// Limits from the environment and in the README

#[test]
fn a_bad_limit_in_the_environment_is_a_clear_exit_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("db.sqlite3");
    let sample = repo().join("masters/hot/20260531");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hyojun"))
        .args([
            "--database-url",
            db.to_str().expect("path"),
            "import",
            "hot",
        ])
        .arg(&sample)
        .env("HYOJUN_MAX_NAME_CHARS", "lots")
        .output()
        .expect("run hyojun");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "HYOJUN_MAX_NAME_CHARS=lots is not a usable limit: give a whole number greater than 0"
        ),
        "{stderr}"
    );
    // A good value is used: a name limit of 5 refuses the sample's names.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hyojun"))
        .args([
            "--database-url",
            db.to_str().expect("path"),
            "import",
            "hot",
        ])
        .arg(&sample)
        .env("HYOJUN_MAX_NAME_CHARS", "5")
        .output()
        .expect("run hyojun");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the limit is 5 characters (HYOJUN_MAX_NAME_CHARS)"),
        "{stderr}"
    );
}

/// The README's "Limits" table: (variable, default) per row, in order.
fn readme_limits() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let section = readme
        .split("\n### Limits\n")
        .nth(1)
        .expect("a ### Limits section in README.md");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].trim_matches('`').to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_readme_lists_every_limit_with_its_default() {
    let rows = readme_limits();
    let variables: Vec<&str> = rows.iter().map(|(v, _)| v.as_str()).collect();
    let expected: Vec<&str> = Limit::ALL.iter().map(|l| l.env()).collect();
    assert_eq!(
        variables, expected,
        "README.md's Limits table and src/limits.rs"
    );
    for ((variable, default), limit) in rows.iter().zip(Limit::ALL) {
        // The default as written is what the variable would be set to.
        let parsed = Limits::from_vars(|name| (name == variable).then(|| default.clone()))
            .unwrap_or_else(|e| panic!("README default of {variable}: {e}"));
        assert_eq!(
            parsed.get(*limit),
            limit.default_value(),
            "README default of {variable}"
        );
    }
}
