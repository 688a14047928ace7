//! Local-to-standard mapping: the review workflow's rules, the local code lists hospitals
//! upload, candidate suggestions (with a table of in-house lab names), and the CSV / FHIR ConceptMap exchange formats. Storage is
//! in `store::mapping` and `store::recheck`, the endpoints in `api::mapping` and
//! `api::translate`.

pub mod candidates;
pub mod exchange;
mod fields;
pub mod local_codes;
pub mod project;
pub mod state;
pub mod synonyms;

/// The layering rule (ARCHITECTURE.md): `mapping` is domain. `store` uses it (the row types,
/// the review rules), so `mapping` using `store` would be a cycle; the same holds for the
/// layers above (`app`, `api`, `cli`, `fhir`), and the domain speaks no SQL (`diesel`).
#[cfg(test)]
pub(crate) mod layering {
    use std::path::{Path, PathBuf};

    /// Names no code under `src/mapping/` may use, as a path segment or otherwise.
    const FORBIDDEN: [&str; 6] = ["store", "diesel", "app", "api", "cli", "fhir"];

    #[test]
    fn mapping_uses_neither_the_store_nor_diesel_nor_a_layer_above() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mapping");
        let files = rust_files(&root);
        assert!(files.len() > 5, "no sources under {}", root.display());
        let mut found = Vec::new();
        for file in files {
            let source = std::fs::read_to_string(&file).expect("read a source file");
            for (line, word) in identifiers(&source) {
                if FORBIDDEN.contains(&word) {
                    found.push(format!("{}:{line}: `{word}`", file.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "src/mapping is the domain layer: it may not name {FORBIDDEN:?} (move what needs \
             them to src/store/ or src/app/, and hand the domain plain types):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn identifiers_leave_out_comments_and_literals() {
        let source = "use crate::store::mapping; // the store\n\
                      /* diesel */ let s = \"app::x\"; let r = r#\"api\"#;\n\
                      let c = '\\''; fn f<'a>(x: &'a str) -> char { 'x' } // cli\n\
                      let b = b\"fhir\"; diesel::insert_into();";
        let words: Vec<(usize, &str)> = identifiers(source)
            .into_iter()
            .filter(|(_, w)| FORBIDDEN.contains(w))
            .collect();
        assert_eq!(words, [(1, "store"), (4, "diesel")]);
    }

    /// Every `.rs` file under `dir`, however deep.
    pub(crate) fn rust_files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read a source folder") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                out.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        out
    }

    /// The identifiers (and keywords) of Rust source with their 1-based lines: everything
    /// but comments and string, byte-string, raw-string and character literals.
    pub(crate) fn identifiers(source: &str) -> Vec<(usize, &str)> {
        let mut out = Vec::new();
        let (mut at, mut line) = (0, 1);
        while let Some(c) = source[at..].chars().next() {
            let rest = &source[at..];
            let len = if rest.starts_with("//") {
                rest.find('\n').unwrap_or(rest.len())
            } else if rest.starts_with("/*") {
                rest.find("*/").map_or(rest.len(), |end| end + 2)
            } else if c == '"' {
                quoted(rest)
            } else if c == '\'' {
                let mut chars = rest.chars().skip(1);
                match (chars.next(), chars.next()) {
                    (Some('\\'), _) => rest[3..].find('\'').map_or(rest.len(), |end| end + 4),
                    (Some(ch), Some('\'')) => 2 + ch.len_utf8(),
                    _ => 1, // a lifetime or a label
                }
            } else if c.is_alphabetic() || c == '_' {
                let word = rest
                    .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .unwrap_or(rest.len());
                let after = &rest[word..];
                match &rest[..word] {
                    "r" | "br" | "cr" if after.starts_with(['"', '#']) => word + raw(after),
                    "b" | "c" if after.starts_with('"') => word + quoted(after),
                    name => {
                        out.push((line, name));
                        word
                    }
                }
            } else {
                c.len_utf8()
            };
            line += rest[..len].matches('\n').count();
            at += len;
        }
        out
    }

    /// The length of the `"…"` literal `rest` starts with (escapes skipped).
    fn quoted(rest: &str) -> usize {
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return i + 1,
                _ => {}
            }
        }
        rest.len()
    }

    /// The length of the raw literal `rest` starts with after its `r`: `#…"…"#…`.
    fn raw(rest: &str) -> usize {
        let hashes = rest.len() - rest.trim_start_matches('#').len();
        let close = format!("\"{}", "#".repeat(hashes));
        rest[hashes + 1..]
            .find(&close)
            .map_or(rest.len(), |end| hashes + 1 + end + close.len())
    }
}
