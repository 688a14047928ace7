//! Gathering input files: loose files, folders and distribution zips.

use std::fs;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::problem::{Problem, Problems};

/// Largest single input file accepted (real HOT13 files are ~25 MB).
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// One input file's bytes, named as the user will recognise it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display name: the path given, or `archive.zip:member` for zip members.
    pub display_name: String,
    /// The bare file name (no folders), used to recognise the file's role.
    pub file_name: String,
    /// Raw bytes.
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
}

impl SourceFile {
    /// Wraps bytes read from somewhere, hashing them.
    pub fn new(display_name: String, bytes: Vec<u8>) -> Self {
        let file_name = display_name
            .rsplit(['/', '\\', ':'])
            .next()
            .unwrap_or(&display_name)
            .to_owned();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        SourceFile {
            display_name,
            file_name,
            bytes,
            sha256,
        }
    }
}

/// Reads every path: a file is taken as is, a folder contributes its files (recursively, in
/// name order), a `.zip` contributes its members. Every unreadable input is reported.
pub fn collect(paths: &[impl AsRef<Path>]) -> Result<Vec<SourceFile>, Problems> {
    let mut files = Vec::new();
    let mut problems = Problems::default();
    if paths.is_empty() {
        problems.push(Problem::file(
            "(no input)",
            "no_input",
            "no input files were given".into(),
            "name the release's files, its folder or its distribution zip",
        ));
    }
    for path in paths {
        collect_path(path.as_ref(), &mut files, &mut problems);
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

fn collect_path(path: &Path, files: &mut Vec<SourceFile>, problems: &mut Problems) {
    let shown = path.display().to_string();
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            problems.push(Problem::file(
                &shown,
                "unreadable",
                format!("cannot read: {err}"),
                "check the path and its permissions",
            ));
            return;
        }
    };
    if meta.is_dir() {
        let mut entries: Vec<_> = match fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(err) => {
                problems.push(Problem::file(
                    &shown,
                    "unreadable",
                    format!("cannot list folder: {err}"),
                    "check the folder's permissions",
                ));
                return;
            }
        };
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                collect_path(&entry, files, problems);
            }
        }
        return;
    }
    if meta.len() > MAX_FILE_BYTES {
        problems.push(Problem::file(
            &shown,
            "too_large",
            format!(
                "file is {} bytes, over the {MAX_FILE_BYTES}-byte limit",
                meta.len()
            ),
            "check that this is a master file",
        ));
        return;
    }
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            problems.push(Problem::file(
                &shown,
                "unreadable",
                format!("cannot read: {err}"),
                "check the path and its permissions",
            ));
            return;
        }
    };
    if is_zip(&shown, &bytes) {
        unzip(&shown, &bytes, files, problems);
    } else {
        files.push(SourceFile::new(shown, bytes));
    }
}

/// Files received some other way (an upload): a zip is expanded into its members, anything
/// else is one file named `display_name`.
pub fn from_bytes(display_name: &str, bytes: Vec<u8>) -> Result<Vec<SourceFile>, Problems> {
    let mut files = Vec::new();
    let mut problems = Problems::default();
    if is_zip(display_name, &bytes) {
        unzip(display_name, &bytes, &mut files, &mut problems);
    } else {
        files.push(SourceFile::new(display_name.to_owned(), bytes));
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

/// Whether a file is an archive to expand. Office documents (.xlsx, .xlsm) are zips too, but
/// they are one file each: kept whole, so their sha256 is the file's own.
fn is_zip(name: &str, bytes: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".xlsx") || lower.ends_with(".xlsm") {
        return false;
    }
    bytes.starts_with(b"PK\x03\x04") || lower.ends_with(".zip")
}

/// Expands a zip archive's file members (folders inside are flattened into member paths).
pub fn unzip(shown: &str, bytes: &[u8], files: &mut Vec<SourceFile>, problems: &mut Problems) {
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(err) => {
            problems.push(Problem::file(
                shown,
                "bad_zip",
                format!("not a readable zip archive: {err}"),
                "download the distribution zip again; it may be truncated",
            ));
            return;
        }
    };
    for index in 0..archive.len() {
        let mut member = match archive.by_index(index) {
            Ok(member) => member,
            Err(err) => {
                problems.push(Problem::file(
                    shown,
                    "bad_zip",
                    format!("member {index} cannot be read: {err}"),
                    "download the distribution zip again",
                ));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let name = decode_member_name(member.name_raw());
        if member.size() > MAX_FILE_BYTES {
            problems.push(Problem::file(
                &format!("{shown}:{name}"),
                "too_large",
                format!("member is {} bytes, over the limit", member.size()),
                "check that this is a master distribution",
            ));
            continue;
        }
        let mut data = Vec::with_capacity(member.size() as usize);
        if let Err(err) = member.read_to_end(&mut data) {
            problems.push(Problem::file(
                &format!("{shown}:{name}"),
                "bad_zip",
                format!("member cannot be decompressed: {err}"),
                "download the distribution zip again; it may be corrupt",
            ));
            continue;
        }
        files.push(SourceFile::new(format!("{shown}:{name}"), data));
    }
}

/// Zip member names from Japanese Windows tools are CP932 without the UTF-8 flag.
fn decode_member_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS.decode(raw).0.into_owned(),
    }
}
