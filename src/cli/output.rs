//! Human and JSON output of the commands.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::masters::ParsedRelease;
use crate::store::diff::{ChangeKind, Counts, Diff};
use crate::store::import::{ImportOutcome, ImportReport};
use crate::store::models::ReleaseRow;
use crate::store::releases::ReleaseInfo;
use crate::systems::Master;

pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => say!("{text}"),
        Err(e) => say_err!("error: cannot render JSON: {e}"),
    }
}

fn summary_table(summary: &BTreeMap<String, Counts>, master: Master) {
    say!(
        "  {:<18} {:>8} {:>8} {:>8}",
        "code system",
        "added",
        "removed",
        "changed"
    );
    for system in crate::systems::of_master(master) {
        if let Some(c) = summary.get(system.key) {
            say!(
                "  {:<18} {:>8} {:>8} {:>8}",
                system.key,
                c.added,
                c.removed,
                c.changed
            );
        }
    }
}

pub fn print_import(parsed: &ParsedRelease, report: &ImportReport) {
    let r = &report.release;
    match report.outcome {
        ImportOutcome::Unchanged => {
            say!(
                "{} release {} (revision {}) is already imported with identical files: nothing imported",
                r.master, r.label, r.revision
            );
            if report.activated {
                say!("{} now serves release {} (revision {})", r.master, r.label, r.revision);
            }
            return;
        }
        ImportOutcome::Created => say!(
            "imported {} release {} (id {}, {} rows in {} files)",
            r.master,
            r.label,
            r.id,
            r.row_count,
            parsed.files.len()
        ),
        ImportOutcome::NewRevision => say!(
            "imported {} release {} as revision {} (id {}): the content differs from the earlier revision",
            r.master, r.label, r.revision, r.id
        ),
    }
    for f in &parsed.files {
        say!(
            "  {:<8} {} ({} rows, {}, sha256 {})",
            f.role,
            f.name,
            f.row_count,
            f.encoding,
            f.sha256
        );
    }
    for ignored in &parsed.ignored {
        say!("  ignored  {ignored}");
    }
    say!(
        "  row versions written: {}, closed: {}",
        report.rows_written,
        report.rows_closed
    );
    if let Some(kept) = &r.carried_over {
        say!(
            "  partial release: the rows of {kept} carry over unchanged from the previous release"
        );
    }
    match &report.compared_with {
        Some(prev) => say!("changes since {prev} (distinct codes):"),
        None => say!("first release of {} (every code is new):", r.master),
    }
    let master = parsed.master;
    summary_table(&report.summary, master);
    if let Some(rev) = &report.revision_summary {
        say!("changes against the revision it replaces:");
        summary_table(rev, master);
    }
    if !parsed.notices.is_empty() {
        say!(
            "{} notice(s) (imported as published):\n{}",
            parsed.notices.total(),
            parsed.notices
        );
    }
    if report.activated {
        say!(
            "{} now serves release {} (revision {})",
            r.master,
            r.label,
            r.revision
        );
    } else {
        say!(
            "not activated: `hyojun activate {} {}` makes it the served release",
            r.master,
            r.label
        );
    }
}

pub fn print_releases(releases: &[ReleaseInfo]) {
    if releases.is_empty() {
        say!("no releases imported yet");
        return;
    }
    for info in releases {
        let r = &info.release;
        let state = if info.current {
            "current"
        } else {
            r.state.as_str()
        };
        say!(
            "{} {} rev {} [{}] id {} published {} imported {} by {} — {} rows",
            r.master,
            r.label,
            r.revision,
            state,
            r.id,
            r.publication_date.map_or("-".to_owned(), |d| d.to_string()),
            r.imported_at.format("%Y-%m-%d %H:%M:%S UTC"),
            r.imported_by,
            r.row_count,
        );
        for f in &info.files {
            say!(
                "    {:<8} {} {} rows sha256 {}",
                f.role,
                f.name,
                f.row_count,
                f.sha256
            );
        }
        for s in &info.stats {
            if s.code_count > 0 || s.row_count > 0 {
                say!(
                    "    {:<18} {:>7} codes {:>7} rows  +{} -{} ~{}",
                    s.system_key,
                    s.code_count,
                    s.row_count,
                    s.added,
                    s.removed,
                    s.changed
                );
            }
        }
        if info.notice_count > 0 {
            say!("    {} import notice(s)", info.notice_count);
        }
    }
}

pub fn print_diff(master: Master, from: &ReleaseRow, to: &ReleaseRow, diff: &Diff, limit: usize) {
    say!(
        "{master}: {} (revision {}) → {} (revision {}), distinct codes:",
        from.label,
        from.revision,
        to.label,
        to.revision
    );
    let summary = diff.summary(master);
    summary_table(&summary, master);
    for system in crate::systems::of_master(master) {
        for kind in [ChangeKind::Added, ChangeKind::Removed, ChangeKind::Changed] {
            let items: Vec<_> = diff
                .changes
                .iter()
                .filter(|c| c.system == system.key && c.kind == kind)
                .collect();
            if items.is_empty() {
                continue;
            }
            say!("{} {} ({}):", system.key, kind.as_str(), items.len());
            let shown = if limit == 0 {
                items.len()
            } else {
                limit.min(items.len())
            };
            for c in &items[..shown] {
                say!("  {} {}", c.code, c.display);
                for f in &c.fields {
                    let via = f
                        .via
                        .as_deref()
                        .map(|v| format!(" [{v}]"))
                        .unwrap_or_default();
                    say!(
                        "      {}{}: {} → {}",
                        f.field,
                        via,
                        f.old.as_deref().unwrap_or("∅"),
                        f.new.as_deref().unwrap_or("∅")
                    );
                }
            }
            if shown < items.len() {
                say!(
                    "  … {} more (--limit 0 lists all, --json for everything)",
                    items.len() - shown
                );
            }
        }
    }
}

/// Prints search results: one line per concept, the matching part in 【】.
pub fn print_search(results: &crate::search::SearchResults) {
    say!(
        "{} match(es); showing {}–{}",
        results.total,
        (results.offset + 1).min(results.total),
        (results.offset + results.items.len()).min(results.total)
    );
    for hit in &results.items {
        let m = &hit.matched;
        let chars: Vec<char> = m.value.chars().collect();
        let (start, end) = (m.start as usize, (m.end as usize).min(chars.len()));
        let marked: String = if start < end {
            format!(
                "{}【{}】{}",
                chars[..start].iter().collect::<String>(),
                chars[start..end].iter().collect::<String>(),
                chars[end..].iter().collect::<String>()
            )
        } else {
            m.value.clone()
        };
        let retired = if hit.status == "active" {
            ""
        } else {
            " (retired)"
        };
        say!(
            "{:<14} {:<17} {}{retired}\n{:33}{} {marked} [{}]",
            hit.system,
            hit.code,
            hit.display,
            "",
            m.field,
            m.kind
        );
    }
}
