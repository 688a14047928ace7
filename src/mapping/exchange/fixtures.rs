//! Test fixtures of the exchange formats: a project and mappings in every state.

use chrono::{DateTime, NaiveDateTime};

use super::{extra_headers, write_csv_header, write_csv_row, Decision};
use crate::mapping::project::{MappingView, Project};
use crate::mapping::state::{Equivalence, State};
use crate::masters::input::SourceFile;
use crate::masters::Problems;

pub fn at(secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs, 0).expect("time").naive_utc()
}

pub fn project(four_eyes: bool) -> Project {
    Project {
        id: crate::ids::ProjectId::new(7),
        name: "検査マッピング 2026".into(),
        description: String::new(),
        local_system: "http://hospital.example.jp/CodeSystem/lab".into(),
        target_systems: vec!["jlac10".into(), "jlac11".into()],
        four_eyes,
        revision: 3,
        created_at: at(1_700_000_000),
        created_by: "alice".into(),
    }
}

pub fn view(code: &str, name: &str, state: State) -> MappingView {
    MappingView {
        local_code: code.into(),
        local_name: name.into(),
        unit: None,
        specimen: None,
        frequency: None,
        category: None,
        extra: Vec::new(),
        withdrawn: false,
        previous_name: None,
        state,
        target_system: None,
        target_code: None,
        target_display: None,
        equivalence: None,
        comment: String::new(),
        author: Some("alice".into()),
        reviewer: None,
        assignee: None,
        flag_reason: None,
        target_release: None,
        version: 1,
        updated_at: at(1_767_225_600),
    }
}

pub fn target(mut m: MappingView, system: &str, code: &str, eq: Equivalence) -> MappingView {
    m.target_system = Some(system.into());
    m.target_code = Some(code.into());
    m.target_display = Some(format!("{code} の名称"));
    m.equivalence = Some(eq);
    m.target_release = Some("20260401".into());
    m
}

/// Mappings in every state, with Japanese text holding commas, quotes and line breaks.
pub fn sample() -> Vec<MappingView> {
    let mut l001 = target(
        view("L001", "ＡＳＴ（ＧＯＴ）", State::Approved),
        "jlac10",
        "3B035000002327201",
        Equivalence::Equivalent,
    );
    l001.target_display = Some("AST".into());
    l001.unit = Some("U/L".into());
    l001.specimen = Some("血清".into());
    l001.frequency = Some(1204);
    l001.category = Some("生化学".into());
    l001.extra = vec![
        ("備考".into(), "至急可".into()),
        ("検査室".into(), "本館".into()),
    ];
    l001.comment = "至急, \"再検\" あり\n2行目".into();
    l001.reviewer = Some("bob".into());
    let mut l002 = target(
        view("L002", "HbA1c（NGSP）", State::Proposed),
        "jlac10",
        "3D046000001920402",
        Equivalence::Narrower,
    );
    l002.extra = vec![("検査室".into(), "別館".into())];
    l002.assignee = Some("carol".into());
    let mut l003 = target(
        view("L003", "CRP, 定量", State::Rejected),
        "jlac11",
        "5C070000002306301",
        Equivalence::Wider,
    );
    l003.comment = "材料が違う, 再提案を".into();
    l003.reviewer = Some("bob".into());
    let mut l004 = target(
        view("L004", "尿定性(試験紙)", State::Flagged),
        "jlac10",
        "1A990000000000000",
        Equivalence::Inexact,
    );
    l004.comment = "名称が変わった".into();
    l004.flag_reason = Some("the local name changed: 尿定性 → 尿定性(試験紙)".into());
    l004.previous_name = Some("尿定性".into());
    let mut l005 = view("L005", "院内特殊検査", State::NoMatch);
    l005.comment = "該当なし、\"外注\"".into();
    l005.reviewer = Some("bob".into());
    let mut l006 = view("L006", "旧検査", State::Unmapped);
    l006.author = None;
    l006.withdrawn = true;
    let mut l007 = view("L007", "外注検査", State::Flagged);
    l007.comment = "外注先を確認".into();
    let mut l008 = target(
        view("L008", "血糖", State::Approved),
        "jlac11",
        "3D010000001926101",
        Equivalence::Inexact,
    );
    l008.reviewer = Some("bob".into());
    let mut l009 = view("L009", "未審査の該当なし", State::NoMatch);
    l009.comment = "要確認".into();
    vec![l001, l002, l003, l004, l005, l006, l007, l008, l009]
}

pub fn decision(m: &MappingView, line: Option<u64>) -> Decision {
    Decision {
        local_code: m.local_code.clone(),
        state: m.state,
        target_system: m.target_system.clone(),
        target_code: m.target_code.clone(),
        equivalence: m.equivalence,
        comment: m.comment.clone(),
        line,
    }
}

pub fn export_csv(rows: &[MappingView], bom: bool) -> Vec<u8> {
    let extra = extra_headers(rows);
    let mut out = Vec::new();
    write_csv_header(&mut out, &extra, bom).expect("header");
    for m in rows {
        write_csv_row(&mut out, m, &extra).expect("row");
    }
    out
}

pub fn file(name: &str, bytes: Vec<u8>) -> SourceFile {
    SourceFile::new(name.to_owned(), bytes)
}

pub fn located(problems: &Problems) -> Vec<(Option<u64>, Option<usize>, &'static str)> {
    problems
        .items()
        .iter()
        .map(|p| (p.line, p.column, p.kind))
        .collect()
}
