//! Gathering input files within the limits: loose files, folders and distribution zips.
//!
//! * Only regular files are read (devices, FIFOs and sockets are refused before they are
//!   opened, and checked again on the open file), through a reader that stops one byte past
//!   [`Limit::FileBytes`], so a file that grows or lies about its size costs no more.
//! * Folders are walked in name order, each directory once (by device and inode, so a
//!   symbolic link back into the tree is not followed again), at most
//!   [`Limit::FolderDepth`] levels deep; hidden entries are skipped. A symbolic link inside
//!   a folder that leads outside the folder given is a problem, not followed.
//! * Zip members the master does not read (layout PDFs, option files: its `reads` test) are
//!   listed without being decompressed; the others are decompressed within the archive limits
//!   ([`super::archive`]).
//! * At most [`Limit::InputFiles`] files in all.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashSet as HashSet;
use sha2::{Digest, Sha256};

use super::archive::{self, Budget, Declared};
use super::problem::{Problem, Problems};
use crate::excerpt::{excerpt, is_invisible};
use crate::limits::{group_digits, Limit, Limits};
use crate::systems::Master;

/// One input file's bytes, named as the user will recognise it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display name: the path given, or `archive.zip:member` for zip members (control and
    /// invisible characters escaped).
    pub display_name: String,
    /// The bare file name (no folders), used to recognise the file's role.
    pub file_name: String,
    /// Raw bytes (empty when `unread`).
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    /// A zip member left compressed because its master does not read files of its name.
    pub unread: bool,
}

impl SourceFile {
    /// Wraps bytes read from somewhere, hashing them.
    pub fn new(display_name: String, bytes: Vec<u8>) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        SourceFile {
            file_name: file_name_of(&display_name),
            display_name,
            bytes,
            sha256,
            unread: false,
        }
    }

    /// A zip member listed but not decompressed.
    pub fn unread(display_name: String) -> Self {
        SourceFile {
            unread: true,
            ..SourceFile::new(display_name, Vec::new())
        }
    }
}

fn file_name_of(display_name: &str) -> String {
    base_name(display_name, true).to_owned()
}

/// The part of a display name after its last folder separator — `/`, or a `\\` that is not
/// the backslash of an escaped character (`\\u{001B}`, part of the name) — and, with
/// `members`, after a zip member's `:`.
pub fn base_name(name: &str, members: bool) -> &str {
    let mut start = 0;
    for (i, ch) in name.char_indices() {
        let separator = match ch {
            '/' => true,
            ':' => members,
            '\\' => !name[i..].starts_with("\\u{"),
            _ => false,
        };
        if separator {
            start = i + 1;
        }
    }
    &name[start..]
}

/// Longest name (path or member name, in characters) shown whole.
const NAME_CHARS: usize = 255;

/// A name from the input as messages show it: control and invisible characters escaped
/// (`\u{001B}`), and a name over 255 characters cut like any quoted value.
pub fn shown_name(raw: &str) -> String {
    if raw.chars().nth(NAME_CHARS).is_some() {
        return excerpt(raw);
    }
    let mut out = String::with_capacity(raw.len());
    for ch in raw.chars() {
        if is_invisible(ch) {
            out.push_str(&format!("\\u{{{:04X}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

/// Reads every path for `master`: see [`Collector`].
pub fn collect(
    master: Master,
    paths: &[impl AsRef<Path>],
    limits: &Limits,
) -> Result<Vec<SourceFile>, Problems> {
    let mut collector = Collector::new(master, limits);
    if paths.is_empty() {
        collector.problems.push(Problem::file(
            "(no input)",
            "no_input",
            "no input files were given".into(),
            "name the release's files, its folder or its distribution zip",
        ));
    }
    for path in paths {
        collector.add_path(path.as_ref());
    }
    collector.finish()
}

/// Gathers the files of one import within `limits`; every unreadable input is reported.
pub struct Collector<'a> {
    master: Master,
    limits: &'a Limits,
    files: Vec<SourceFile>,
    problems: Problems,
    budget: Budget,
    visited: HashSet<(u64, u64)>,
    /// The folder given, resolved, while its tree is walked.
    root: Option<PathBuf>,
    full: bool,
}

impl<'a> Collector<'a> {
    /// Nothing gathered yet.
    pub fn new(master: Master, limits: &'a Limits) -> Self {
        Collector {
            master,
            limits,
            files: Vec::new(),
            problems: Problems::default(),
            budget: Budget::default(),
            visited: HashSet::default(),
            root: None,
            full: false,
        }
    }

    /// The files gathered, or every problem found.
    pub fn finish(self) -> Result<Vec<SourceFile>, Problems> {
        if self.problems.is_empty() {
            Ok(self.files)
        } else {
            Err(self.problems)
        }
    }

    /// A file, a folder (its files, recursively, in name order) or a `.zip` (its members).
    pub fn add_path(&mut self, path: &Path) {
        let shown = shown_name(&path.display().to_string());
        self.root = fs::canonicalize(path).ok();
        self.add_path_at(path, &shown, 0);
        self.root = None;
    }

    /// A regular file under a name of the caller's choosing (an upload kept on disk, named
    /// as it was uploaded).
    pub fn add_file_as(&mut self, path: &Path, name: &str) {
        let shown = shown_name(name);
        match fs::metadata(path) {
            Ok(meta) if meta.is_file() => {
                if let Some(bytes) = self.read_regular(path, &shown, meta.len()) {
                    self.add_bytes(&shown, bytes);
                }
            }
            Ok(meta) => self.problems.push(not_regular(&shown, &meta)),
            Err(err) => self.problems.push(unreadable(&shown, &err)),
        }
    }

    /// Bytes received some other way: a zip is expanded into its members, anything else is
    /// one file named `display_name`.
    pub fn add_bytes(&mut self, display_name: &str, bytes: Vec<u8>) {
        let shown = shown_name(display_name);
        if !self.limits.allows(Limit::FileBytes, bytes.len() as u64) {
            self.problems
                .push(too_large(&shown, bytes.len() as u64, self.limits));
            return;
        }
        if is_zip(&shown, &bytes) {
            self.unzip(&shown, &bytes);
        } else if self.room(&shown) {
            self.files.push(SourceFile::new(shown, bytes));
        }
    }

    fn add_path_at(&mut self, path: &Path, shown: &str, depth: u64) {
        if self.full {
            return;
        }
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) => return self.problems.push(unreadable(shown, &err)),
        };
        if meta.is_dir() {
            self.add_folder(path, shown, &meta, depth);
        } else if meta.is_file() {
            if let Some(bytes) = self.read_regular(path, shown, meta.len()) {
                self.add_bytes(shown, bytes);
            }
        } else {
            self.problems.push(not_regular(shown, &meta));
        }
    }

    fn add_folder(&mut self, path: &Path, shown: &str, meta: &fs::Metadata, depth: u64) {
        use std::os::unix::fs::MetadataExt;
        if !self.visited.insert((meta.dev(), meta.ino())) {
            // A symbolic link back to a folder already read: its files are in already.
            return;
        }
        if !self.limits.allows(Limit::FolderDepth, depth) {
            self.problems.push(Problem::over_limit(
                shown,
                "too_deep",
                format!("the folder is {depth} levels below the folder given"),
                self.limits,
                Limit::FolderDepth,
            ));
            return;
        }
        let mut entries: Vec<_> = match fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(err) => {
                return self.problems.push(Problem::file(
                    shown,
                    "unreadable",
                    format!("cannot list folder: {err}"),
                    "check the folder's permissions",
                ))
            }
        };
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                let shown = shown_name(&entry.display().to_string());
                if let Some(problem) = self.leaves_root(&entry, &shown) {
                    self.problems.push(problem);
                } else {
                    self.add_path_at(&entry, &shown, depth + 1);
                }
            }
        }
    }

    /// A problem when `entry` is a symbolic link that leads outside the folder given (`..`,
    /// an absolute path elsewhere): only what is inside the folder is read.
    fn leaves_root(&self, entry: &Path, shown: &str) -> Option<Problem> {
        let root = self.root.as_ref()?;
        if !fs::symlink_metadata(entry).is_ok_and(|m| m.file_type().is_symlink()) {
            return None;
        }
        let target = fs::canonicalize(entry).ok()?;
        if target.starts_with(root) {
            return None;
        }
        Some(Problem::file(
            shown,
            "outside_folder",
            format!(
                "this is a symbolic link to {}, outside the folder given",
                shown_name(&target.display().to_string())
            ),
            "give the files themselves, or a folder that holds them; links out of the folder are not followed",
        ))
    }

    /// Room for one more file; past [`Limit::InputFiles`] one problem, then nothing more
    /// is gathered.
    fn room(&mut self, shown: &str) -> bool {
        if self.full {
            return false;
        }
        if self
            .limits
            .allows(Limit::InputFiles, self.files.len() as u64 + 1)
        {
            return true;
        }
        self.full = true;
        self.problems.push(Problem::over_limit(
            shown,
            "too_many_files",
            format!(
                "the input holds more than {} files (loose files, folder entries and zip members together)",
                group_digits(self.limits.get(Limit::InputFiles))
            ),
            self.limits,
            Limit::InputFiles,
        ));
        false
    }

    /// Reads a regular file through a bounded reader; `None` after reporting a problem.
    fn read_regular(&mut self, path: &Path, shown: &str, len: u64) -> Option<Vec<u8>> {
        use std::os::unix::fs::OpenOptionsExt;
        let limit = self.limits.get(Limit::FileBytes);
        if len > limit {
            self.problems.push(too_large(shown, len, self.limits));
            return None;
        }
        // Non-blocking: a FIFO put in the file's place after the check cannot hang the open.
        let opened = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path);
        let file = match opened.and_then(|f| f.metadata().map(|m| (f, m))) {
            Ok((_, meta)) if !meta.is_file() => {
                self.problems.push(not_regular(shown, &meta));
                return None;
            }
            Ok((file, _)) => file,
            Err(err) => {
                self.problems.push(unreadable(shown, &err));
                return None;
            }
        };
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        if let Err(err) = file.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
            self.problems.push(unreadable(shown, &err));
            return None;
        }
        if bytes.len() as u64 > limit {
            self.problems.push(Problem::over_limit(
                shown,
                "too_large",
                format!(
                    "the file grew past {} bytes while it was read",
                    group_digits(limit)
                ),
                self.limits,
                Limit::FileBytes,
            ));
            return None;
        }
        Some(bytes)
    }

    /// Expands a zip archive's file members (folders inside are flattened into member
    /// paths). The first limit or read problem refuses the whole archive.
    fn unzip(&mut self, shown: &str, bytes: &[u8]) {
        if let Err(problems) = self.try_unzip(shown, bytes) {
            self.problems.extend(problems);
        }
    }

    fn try_unzip(&mut self, shown: &str, bytes: &[u8]) -> Result<(), Problems> {
        let limits = self.limits;
        let mut zip = archive::open(shown, bytes, limits)?;
        // Every member is classed and its declared sizes checked before any is decompressed.
        let mut planned = Vec::with_capacity(zip.len());
        let mut reserved = self.budget;
        for index in 0..zip.len() {
            let member = zip
                .by_index_raw(index)
                .map_err(|err| bad_member(shown, index, &err))?;
            if member.is_dir() {
                continue;
            }
            let name = shown_name(&decode_member_name(member.name_raw()));
            let shown_member = format!("{shown}:{name}");
            let declared = Declared::of(&member);
            let read = super::reads(self.master, &file_name_of(&shown_member));
            if read {
                archive::check_declared(&shown_member, declared, limits, &reserved)?;
                reserved = reserved.plus(declared.size);
            }
            planned.push((index, shown_member, read.then_some(declared)));
        }
        archive::check_declared_together(shown, planned.iter().filter_map(|p| p.2), limits)?;
        for (index, shown_member, declared) in planned {
            if !self.room(&shown_member) {
                return Ok(());
            }
            if declared.is_none() {
                self.files.push(SourceFile::unread(shown_member));
                continue;
            }
            let mut member = zip
                .by_index(index)
                .map_err(|err| bad_member(shown, index, &err))?;
            let data = archive::read_member(&shown_member, &mut member, limits, &mut self.budget)?;
            self.files.push(SourceFile::new(shown_member, data));
        }
        Ok(())
    }
}

/// Whether a file is an archive to expand: named `.zip`, or starting like one without a
/// name that says otherwise. Office documents (.xlsx, .xlsm) are zips too, but they are one
/// file each, kept whole (their sha256 is the file's own); a zip named `.txt` or `.csv` is
/// left to the parser, which says what it is.
fn is_zip(name: &str, bytes: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        return true;
    }
    let other = [".xlsx", ".xlsm", ".txt", ".csv"]
        .iter()
        .any(|ext| lower.ends_with(ext));
    !other && bytes.starts_with(b"PK\x03\x04")
}

/// Zip member names from Japanese Windows tools are CP932 without the UTF-8 flag.
fn decode_member_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS.decode(raw).0.into_owned(),
    }
}

fn bad_member(shown: &str, index: usize, err: &zip::result::ZipError) -> Problem {
    Problem::file(
        shown,
        "bad_zip",
        format!("member {index} cannot be read: {err}"),
        "download the distribution zip again; it may be truncated or corrupt",
    )
}

fn unreadable(shown: &str, err: &std::io::Error) -> Problem {
    Problem::file(
        shown,
        "unreadable",
        format!("cannot read: {err}"),
        "check the path and its permissions",
    )
}

fn too_large(shown: &str, len: u64, limits: &Limits) -> Problem {
    Problem::over_limit(
        shown,
        "too_large",
        format!("the file is {} bytes", group_digits(len)),
        limits,
        Limit::FileBytes,
    )
}

fn not_regular(shown: &str, meta: &fs::Metadata) -> Problem {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file or folder"
    };
    Problem::file(
        shown,
        "not_a_regular_file",
        format!("this is {what}, not a regular file"),
        "give the release's files, its folder or its distribution zip; devices, pipes and sockets are not read",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_escaped_and_cut() {
        assert_eq!(
            shown_name("h20260630.zip:MEDIS20260630.TXT"),
            "h20260630.zip:MEDIS20260630.TXT"
        );
        assert_eq!(shown_name("x\u{1B}[2J.txt"), "x\\u{001B}[2J.txt");
        let long = "a".repeat(300);
        assert_eq!(shown_name(&long), excerpt(&long));
    }

    #[test]
    fn file_names_keep_escaped_characters() {
        assert_eq!(file_name_of("a/b/MEDIS20260630.TXT"), "MEDIS20260630.TXT");
        assert_eq!(file_name_of("h.zip:dir\\MEDIS.TXT"), "MEDIS.TXT");
        let shown = shown_name("in/MEDIS20260720\u{1B}[31m.TXT");
        assert_eq!(file_name_of(&shown), "MEDIS20260720\\u{001B}[31m.TXT");
    }

    #[test]
    fn links_out_of_the_folder_are_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("release");
        fs::create_dir(&folder).expect("folder");
        fs::write(dir.path().join("outside.TXT"), b"x").expect("file");
        fs::write(folder.join("inside.TXT"), b"x").expect("file");
        std::os::unix::fs::symlink("..", folder.join("up")).expect("link");
        std::os::unix::fs::symlink("inside.TXT", folder.join("again.TXT")).expect("link");
        let limits = Limits::default();
        let mut collector = Collector::new(Master::Hot, &limits);
        collector.add_path(&folder);
        let problems = collector.finish().expect_err("a link out");
        let problems: Vec<_> = problems.items().iter().collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, "outside_folder");
        assert!(
            problems[0].file.ends_with("release/up"),
            "{:?}",
            problems[0]
        );
        // A link that stays inside is read like the file.
        fs::remove_file(folder.join("up")).expect("unlink");
        let mut collector = Collector::new(Master::Hot, &limits);
        collector.add_path(&folder);
        let files = collector.finish().expect("inside");
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn zips_are_recognised_by_name_or_content() {
        assert!(is_zip("h20260630.ZIP", b""));
        assert!(is_zip("download", b"PK\x03\x04rest"));
        assert!(!is_zip("901_matome.xlsx", b"PK\x03\x04rest"));
        assert!(
            !is_zip("MEDIS20260630.TXT", b"PK\x03\x04rest"),
            "left to the parser"
        );
    }
}
