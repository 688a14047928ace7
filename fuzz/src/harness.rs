//! One function per parser that feeds it arbitrary bytes the way the service does. The
//! fuzz targets (`fuzz/fuzz_targets/`) call these; the integration tests
//! (`tests/it/fuzz_regressions.rs`) include this file too and replay every kept crash input
//! through the same function, so a fixed crash stays fixed.
//!
//! Each function must return normally for every input: a panic, an abort, a hang or an
//! allocation the limits should have refused is a bug. The few properties checked besides
//! (no message quotes a whole value) panic on purpose.

use hyojun::limits::Limits;
use hyojun::masters::{self, NoProgress, ParseOptions, Problems, SourceFile};
use hyojun::systems::Master;

/// A harness: feeds one input to one parser.
pub type Harness = fn(&[u8]);

/// The targets, by name.
pub const TARGETS: &[(&str, Harness)] = &[
    ("hot", hot),
    ("byomei", byomei),
    ("nursing", nursing),
    ("jlac_workbook", jlac_workbook),
    ("ecs_csv", ecs_csv),
    ("zip_container", zip_container),
    ("local_codes", local_codes),
    ("decision_import", decision_import),
    ("validate_body", validate_body),
    ("search_query", search_query),
];

/// The function of a target.
pub fn target(name: &str) -> Option<Harness> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Limits a little lower than the defaults so that the fuzzer reaches them with small
/// inputs (and a refused input never costs seconds).
fn limits() -> Limits {
    Limits {
        file_bytes: 4 * 1024 * 1024,
        archive_bytes: 16 * 1024 * 1024,
        rows: 100_000,
        workbook_cells: 2_000_000,
        ..Limits::default()
    }
}

fn options(partial: bool) -> ParseOptions {
    ParseOptions {
        label: None,
        partial,
        limits: limits(),
    }
}

/// No problem message may quote a whole input value: messages stay short.
fn check_messages(problems: &Problems) {
    for p in problems.items() {
        assert!(
            p.message.chars().count() <= 1_000 && p.fix.chars().count() <= 1_000,
            "a problem message of {} characters: {}",
            p.message.chars().count(),
            p.message.chars().take(200).collect::<String>()
        );
        assert!(
            !p.message.contains('\u{1B}') && !p.message.contains('\u{0}'),
            "a problem message carries a raw control character"
        );
    }
}

fn parse(master: Master, sources: &[SourceFile], partial: bool) {
    match masters::parse_sources(master, sources, &options(partial), &NoProgress) {
        Ok(parsed) => check_messages(&parsed.notices),
        Err(problems) => check_messages(&problems),
    }
}

fn file(name: &str, bytes: &[u8]) -> SourceFile {
    SourceFile::new(name.to_owned(), bytes.to_vec())
}

/// The files of an input of `master` received as bytes (an upload): a zip is expanded
/// within the limits, its members the master does not read left unread.
fn received(master: Master, name: &str, bytes: &[u8]) -> Result<Vec<SourceFile>, Problems> {
    let limits = limits();
    let mut inputs = masters::input::Collector::new(master, &limits);
    inputs.add_bytes(name, bytes.to_vec());
    inputs.finish()
}

/// Splits `data` into a selector (its first byte) and the rest.
fn select(data: &[u8], choices: usize) -> (usize, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first as usize % choices, rest),
        None => (0, data),
    }
}

/// A HOT release whose standard file, HOT9 file or deletion list (by the first byte) is the
/// input, beside the sample's other files.
pub fn hot(data: &[u8]) {
    let (which, body) = select(data, 3);
    let mut sources = vec![
        file(
            "MEDIS20260531.TXT",
            include_bytes!("../../masters/hot/20260531/MEDIS20260531.TXT"),
        ),
        file(
            "MEDIS20260531_HOT9.TXT",
            include_bytes!("../../masters/hot/20260531/MEDIS20260531_HOT9.TXT"),
        ),
        file(
            "h20260531_HOT9del.txt",
            include_bytes!("../../masters/hot/h20260630_HOT9del.txt"),
        ),
    ];
    sources[which] = file(&sources[which].display_name.clone(), body);
    parse(Master::Hot, &sources, false);
}

/// A 病名 release whose table or title file (by the first byte) is the input.
pub fn byomei(data: &[u8]) {
    let mut sources = received(
        Master::Byomei,
        "byomei518.zip",
        include_bytes!("../../masters/byomei/byomei518.zip"),
    )
    .unwrap_or_default();
    if sources.is_empty() {
        return;
    }
    let (which, body) = select(data, sources.len());
    sources[which] = file(&sources[which].display_name.clone(), body);
    parse(Master::Byomei, &sources, false);
}

/// A 看護 release whose koui, kansatsu, result or unit file (by the first byte) is the input.
pub fn nursing(data: &[u8]) {
    let (which, body) = select(data, 4);
    let mut sources = vec![
        file(
            "koui-ver.4.0.txt",
            include_bytes!("../../masters/nursing/4.0/koui-ver.4.0.txt"),
        ),
        file(
            "kansatsu-ver.4.0.txt",
            include_bytes!("../../masters/nursing/4.0/kansatsu-ver.4.0.txt"),
        ),
        file(
            "result-ver.4.0.txt",
            include_bytes!("../../masters/nursing/4.0/result-ver.4.0.txt"),
        ),
        file(
            "unit-ver.4.0.txt",
            include_bytes!("../../masters/nursing/4.0/unit-ver.4.0.txt"),
        ),
    ];
    sources[which] = file(&sources[which].display_name.clone(), body);
    parse(Master::Nursing, &sources, false);
}

/// A まとめ表 workbook (the input) with the sample 共有項目 CSV.
pub fn jlac_workbook(data: &[u8]) {
    let sources = vec![
        file("903_matome.xlsx", data),
        file(
            "kyoyu-jlac-master.csv",
            include_bytes!("../../masters/jlac/902/kyoyu-jlac-master.csv"),
        ),
    ];
    parse(Master::Jlac, &sources, false);
}

/// A 共有項目JLACコードマスタ CSV (the input), as a partial release: the CSV alone, so that
/// each run costs the CSV's parse only (the workbook target reads the CSV beside a workbook).
pub fn ecs_csv(data: &[u8]) {
    parse(Master::Jlac, &[file("kyoyu-jlac-master.csv", data)], true);
}

/// A distribution zip (the input), expanded and read as a HOT release.
pub fn zip_container(data: &[u8]) {
    match received(Master::Hot, "h20260630.zip", data) {
        Ok(sources) => parse(Master::Hot, &sources, true),
        Err(problems) => check_messages(&problems),
    }
}

/// A local-code list upload.
pub fn local_codes(data: &[u8]) {
    if let Err(problems) = hyojun::mapping::local_codes::parse(&file("codes.csv", data), &limits())
    {
        check_messages(&problems);
    }
}

/// A decision import: CSV (first byte even) or FHIR ConceptMap JSON (odd).
pub fn decision_import(data: &[u8]) {
    let (which, body) = select(data, 2);
    let read = if which == 0 {
        hyojun::mapping::exchange::read_csv(&file("decisions.csv", body), &limits())
    } else {
        hyojun::mapping::exchange::read_concept_map(body, "conceptmap.json", &limits())
    };
    if let Err(problems) = read {
        check_messages(&problems);
    }
}

/// A `/v1/validate` body, parsed as the handler parses it.
pub fn validate_body(data: &[u8]) {
    let _ = serde_json::from_slice::<hyojun::api::validate::ValidateRequest<'_>>(data);
}

/// A search query through the normaliser and the query checks.
pub fn search_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let normalized = hyojun::text::normalize(&text);
    let len = normalized.len();
    let original = text.chars().count() as u32;
    for from in 0..len.min(64) {
        let (start, end) = normalized.original_span(from, len, original);
        assert!(
            start <= end && end <= original,
            "span {start}..{end} of {original}"
        );
    }
    let _ = hyojun::text::Level::Code.apply(&text);
    let _ = hyojun::search::query::checked_query(&text);
}
