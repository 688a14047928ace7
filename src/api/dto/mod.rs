//! The views of store and domain types the HTTP API answers with, one file per area. Each is
//! `Serialize` + `ToSchema` and is built from its store or domain type with `From`, so that
//! `store/`, `mapping/` and `search/` carry no utoipa (a test below holds them to it) and the
//! wire form of an answer is decided here, in the API layer. Their names are the OpenAPI
//! component names (kept from when the store types were the schemas, `ReleaseRow` included).
//! The command line prints the same views for its `--json` output, so that a document looks
//! the same whichever front end gave it. Requests and answers that belong to one handler stay
//! next to it; the domain enums get their schemas in [`super::schema`].

pub mod codes;
pub mod jobs;
pub mod keys;
pub mod mapping;
pub mod releases;
pub mod search;
pub mod translate;

/// Maps a list of store or domain values to their views.
pub fn all<T, V: From<T>>(items: impl IntoIterator<Item = T>) -> Vec<V> {
    items.into_iter().map(V::from).collect()
}

/// The rule (ARCHITECTURE.md): the store, the mapping domain and search define no API
/// schemas; their types become answers through the views of `api/dto/`.
#[cfg(test)]
mod layering {
    use std::path::Path;

    use crate::mapping::layering::{identifiers, rust_files};

    /// Names no code under these folders may use.
    const FORBIDDEN: [&str; 2] = ["utoipa", "ToSchema"];
    const FOLDERS: [&str; 3] = ["src/store", "src/mapping", "src/search"];

    #[test]
    fn store_mapping_and_search_define_no_api_schema() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = Vec::new();
        for folder in FOLDERS {
            let files = rust_files(&root.join(folder));
            assert!(files.len() > 3, "no sources under {folder}");
            for file in files {
                let relative = file.strip_prefix(root).expect("under the crate");
                let source = std::fs::read_to_string(&file).expect("read a source file");
                for (line, word) in identifiers(&source) {
                    if FORBIDDEN.contains(&word) {
                        found.push(format!("{}:{line}: `{word}`", relative.display()));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "API schemas live in src/api/ (a view in src/api/dto/, an enum's schema in \
             src/api/schema.rs), not in {FOLDERS:?}:\n{}",
            found.join("\n")
        );
    }
}
