//! Zip bombs (one member, a lying header, many members), archive totals, members the
//! master does not read, names with escape sequences.

use super::zips::*;
use super::*;

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
        "the member decompresses to 1,468,006,400 bytes; the limit is 134,217,728 bytes (HYOJUN_MAX_FILE_BYTES)"
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
