//! Checks shared by the 病名 and 看護 importers: column titles, code shapes, version labels
//! and successor (移行先) graphs.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::text::Level;

use super::problem::{Problem, Problems};

/// Exactly `len` ASCII digits.
pub fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// Exactly `len` characters of `[0-9A-Z]` (exchange codes).
pub fn upper_alnum(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// A `yyyymmdd` date.
pub fn is_date(s: &str) -> bool {
    all_digits(s, 8) && chrono::NaiveDate::parse_from_str(s, "%Y%m%d").is_ok()
}

/// Checks a row of column titles against a layout: the same number of columns and each title
/// one of the accepted spellings. `what` names the layout in messages (e.g. `nmain`).
pub fn check_titles(
    file: &str,
    line: u64,
    titles: &[&str],
    layout: &[(&str, &[&str])],
    what: &str,
    fix: &str,
    problems: &mut Problems,
) {
    if titles.len() != layout.len() {
        problems.push(Problem::line(
            file,
            line,
            "column_count",
            format!(
                "the column titles name {} columns, the {what} layout has {}",
                titles.len(),
                layout.len()
            ),
            fix,
        ));
        return;
    }
    for (i, (title, (_, accepted))) in titles.iter().zip(layout).enumerate() {
        if !Level::Title.matches_any(title, accepted) {
            problems.push(Problem::field(
                file,
                line,
                i + 1,
                accepted[0],
                "unexpected_title",
                format!(
                    "column {} is titled `{}`, the {what} layout has `{}` there",
                    i + 1,
                    crate::excerpt::excerpt(title),
                    accepted[0]
                ),
                fix,
            ));
        }
    }
}

/// One 移行先 reference: the row of `from` names `to` as its successor.
#[derive(Debug, Clone)]
pub struct SuccessorRef<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub file: &'a str,
    pub line: u64,
    /// 1-based column of the 移行先 field and its title.
    pub column: usize,
    pub column_name: &'a str,
}

/// Every successor must name a code the release defines, and following successors must
/// never lead back to where it started. Reports each dangling reference and each cycle
/// (once, at the reference with the lowest line that closes it).
pub fn check_successors(
    defined: &HashSet<&str>,
    refs: &[SuccessorRef],
    what: &str,
    problems: &mut Problems,
) {
    for r in refs.iter().filter(|r| !defined.contains(r.to)) {
        problems.push(Problem::field(
            r.file,
            r.line,
            r.column,
            r.column_name,
            "dangling_successor",
            format!(
                "移行先 {} of {} is not a {what} of this release",
                r.to, r.from
            ),
            "a successor must be a row of the same release; check that the file is complete and the 移行先 is not mistyped",
        ));
    }
    // Nodes: codes with or receiving a resolvable successor; edges in reference order.
    let mut index: HashMap<&str, usize> = HashMap::default();
    let mut names: Vec<&str> = Vec::new();
    let mut node = |code| {
        *index.entry(code).or_insert_with(|| {
            names.push(code);
            names.len() - 1
        })
    };
    let mut edges: Vec<(usize, usize, usize)> = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        if defined.contains(r.to) {
            let (a, b) = (node(r.from), node(r.to));
            edges.push((a, b, i));
        }
    }
    let mut adjacency: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for &(a, b, _) in &edges {
        adjacency[a].push(b);
    }
    for component in strongly_connected(&adjacency) {
        let members: HashSet<usize> = component.iter().copied().collect();
        let closing = edges
            .iter()
            .filter(|(a, b, _)| members.contains(a) && members.contains(b))
            .map(|&(_, _, i)| &refs[i])
            .min_by_key(|r| (r.line, r.file));
        let Some(at) = closing else { continue };
        if component.len() == 1 && at.from != at.to {
            continue;
        }
        let cycle = walk_cycle(&adjacency, &members, index[at.from]);
        let shown: Vec<&str> = cycle.iter().map(|&n| names[n]).collect();
        problems.push(Problem::field(
            at.file,
            at.line,
            at.column,
            at.column_name,
            "successor_cycle",
            format!("移行先 form a cycle: {}", shown.join(" → ")),
            "a chain of successors must end at a code without a 移行先; correct the 移行先 of one of these rows",
        ));
    }
}

/// The nodes of a cycle through `start` inside one strongly connected component, ending
/// with the node it returns to.
fn walk_cycle(adjacency: &[Vec<usize>], members: &HashSet<usize>, start: usize) -> Vec<usize> {
    let mut path = vec![start];
    let mut seen: HashMap<usize, usize> = HashMap::default();
    seen.insert(start, 0);
    let mut at = start;
    loop {
        let Some(&next) = adjacency[at].iter().find(|n| members.contains(n)) else {
            return path;
        };
        path.push(next);
        if let Some(&first) = seen.get(&next) {
            return path.split_off(first);
        }
        seen.insert(next, path.len() - 1);
        at = next;
    }
}

/// Tarjan's strongly connected components, iteratively (successor chains can be long).
fn strongly_connected(adjacency: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adjacency.len();
    let mut order: Vec<Option<usize>> = vec![None; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if order[root].is_some() {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        order[root] = Some(counter);
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = calls.last_mut() {
            let v = top.0;
            if let Some(&w) = adjacency[v].get(top.1) {
                top.1 += 1;
                match order[w] {
                    None => {
                        order[w] = Some(counter);
                        low[w] = counter;
                        counter += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    }
                    Some(ow) if on_stack[w] => low[v] = low[v].min(ow),
                    Some(_) => {}
                }
                continue;
            }
            calls.pop();
            if Some(low[v]) == order[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(pairs: &'a [(&'a str, &'a str)]) -> Vec<SuccessorRef<'a>> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (from, to))| SuccessorRef {
                from,
                to,
                file: "f",
                line: i as u64 + 1,
                column: 16,
                column_name: "移行先",
            })
            .collect()
    }

    fn kinds(pairs: &[(&str, &str)], defined: &[&str]) -> Vec<(&'static str, u64, String)> {
        let defined: HashSet<&str> = defined.iter().copied().collect();
        let mut problems = Problems::default();
        check_successors(&defined, &refs(pairs), "code", &mut problems);
        problems
            .items()
            .iter()
            .map(|p| (p.kind, p.line.unwrap_or(0), p.message.clone()))
            .collect()
    }

    #[test]
    fn titles_compare_across_known_drift() {
        assert!(Level::Title.matches_any("ＩＣＤ１０ー２０１３", &["ＩＣＤ１０‐２０１３"]));
        assert!(Level::Title.matches_any("\"ICD10-2013\"", &["ＩＣＤ１０‐２０１３"]));
        assert!(!Level::Title.matches_any("ICD10", &["ＩＣＤ１０‐２０１３"]));
        assert!(Level::Title.matches_any(" 病名交換用コード ", &["病名交換用コード"]));
    }

    #[test]
    fn chains_pass_cycles_and_dangling_fail() {
        let ok = kinds(&[("a", "b"), ("b", "c")], &["a", "b", "c"]);
        assert!(ok.is_empty(), "{ok:?}");
        let cycle = kinds(&[("a", "b"), ("b", "c"), ("c", "a")], &["a", "b", "c"]);
        assert_eq!(cycle.len(), 1);
        assert_eq!((cycle[0].0, cycle[0].1), ("successor_cycle", 1));
        assert!(cycle[0].2.contains("a → b → c → a"), "{}", cycle[0].2);
        let own = kinds(&[("a", "a")], &["a"]);
        assert_eq!(own[0].0, "successor_cycle");
        let lasso = kinds(&[("x", "a"), ("a", "b"), ("b", "a")], &["a", "b", "x"]);
        assert_eq!(lasso.len(), 1);
        assert_eq!(lasso[0].1, 2);
        let dangling = kinds(&[("a", "zz")], &["a"]);
        assert_eq!(dangling[0].0, "dangling_successor");
    }
}
