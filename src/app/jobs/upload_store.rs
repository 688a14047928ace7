//! The upload store: the folder (`--upload-dir`, `HYOJUN_UPLOAD_DIR`) where uploaded files
//! wait for their job. Files are received into `incoming/RANDOM/`, moved to `jobs/ID/` in the
//! transaction that queues job ID, and removed when the job ends. The folder names itself
//! with a random `store-id` file; a job records that id, and only nodes that see the same
//! folder (the same `store-id`) claim it. Nodes that share the folder (a network file system
//! mounted at the same path or another) share the id and may finish each other's uploads.
//!
//! What is left behind by a crash is swept: `incoming/` folders nothing was written to for
//! [`INCOMING_IDLE`], `jobs/ID/` folders whose job ended, or that no job names after
//! [`ORPHAN_AGE`] (a queueing transaction that did not commit).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::ids::JobId;
use crate::store::StoreError;

/// An `incoming/` folder idle this long belongs to an upload that will not finish.
pub const INCOMING_IDLE: Duration = Duration::from_secs(3600);
/// A `jobs/ID/` folder without its job this long was left by a transaction that rolled back.
pub const ORPHAN_AGE: Duration = Duration::from_secs(600);

/// The upload folder of this node (see the module documentation).
#[derive(Debug, Clone)]
pub struct UploadStore {
    root: PathBuf,
    id: String,
}

/// A refusal of the upload folder: what failed, with the path.
fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Config(format!("upload folder: {what} {}: {e}", path.display()))
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Config(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

impl UploadStore {
    /// Opens (creating if need be) the upload folder at `root` and reads its id, writing a new
    /// one if it has none.
    pub fn open(root: &Path) -> Result<UploadStore, StoreError> {
        for sub in ["incoming", "jobs"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(|e| io("cannot create", &dir, e))?;
        }
        let file = root.join("store-id");
        let id = match std::fs::read_to_string(&file) {
            Ok(id) => id.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Written whole under a temporary name, then linked into place: a node that
                // opens the folder at the same moment reads one id or the other, never half.
                let id = random_hex(16)?;
                let temp = root.join(format!(".store-id.{}", random_hex(6)?));
                std::fs::write(&temp, &id).map_err(|e| io("cannot write", &temp, e))?;
                let linked = std::fs::hard_link(&temp, &file);
                let _ = std::fs::remove_file(&temp);
                match linked {
                    Ok(()) => id,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::fs::read_to_string(&file)
                            .map_err(|e| io("cannot read", &file, e))?
                            .trim()
                            .to_owned()
                    }
                    Err(e) => return Err(io("cannot write", &file, e)),
                }
            }
            Err(e) => return Err(io("cannot read", &file, e)),
        };
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Config(format!(
                "upload folder: {} is not an id written by hyojun (32 hex digits); remove it to let hyojun write a new one",
                file.display()
            )));
        }
        Ok(UploadStore {
            root: root.to_owned(),
            id,
        })
    }

    /// The folder's id, as jobs record it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A new, empty folder to receive an upload into.
    pub fn incoming(&self) -> Result<PathBuf, StoreError> {
        let dir = self.root.join("incoming").join(random_hex(12)?);
        std::fs::create_dir_all(&dir).map_err(|e| io("cannot create", &dir, e))?;
        Ok(dir)
    }

    /// Where the files of job `id` are kept.
    pub fn files(&self, id: JobId) -> PathBuf {
        self.root.join("jobs").join(id.to_string())
    }

    /// Moves a received upload to job `id` (inside the transaction that queues the job: when
    /// it fails, the job is not queued). A folder already there is a leftover of a job id
    /// that was not committed, and is replaced.
    pub fn keep(&self, incoming: &Path, id: JobId) -> Result<(), StoreError> {
        let to = self.files(id);
        if to.exists() {
            std::fs::remove_dir_all(&to).map_err(|e| io("cannot clear", &to, e))?;
        }
        std::fs::rename(incoming, &to).map_err(|e| io("cannot move an upload to", &to, e))
    }

    /// Removes the files of job `id` (it ended); a missing folder is fine.
    pub fn discard(&self, id: JobId) {
        let dir = self.files(id);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(job = id.get(), error = %e, dir = %dir.display(), "cannot remove a job's files");
            }
        }
    }

    /// Removes what crashes left behind (see the module documentation); `known` gives, of
    /// the job ids found, those that exist and whether each is unfinished (still needs its
    /// files). Returns the folders removed.
    pub fn sweep(
        &self,
        known: impl FnOnce(&[JobId]) -> Result<Vec<(JobId, bool)>, StoreError>,
    ) -> Result<usize, StoreError> {
        let now = SystemTime::now();
        let mut removed = 0;
        for (dir, newest) in entries(&self.root.join("incoming")) {
            if now.duration_since(newest).unwrap_or_default() >= INCOMING_IDLE
                && std::fs::remove_dir_all(&dir).is_ok()
            {
                removed += 1;
            }
        }
        let found: Vec<(JobId, PathBuf, SystemTime)> = entries(&self.root.join("jobs"))
            .into_iter()
            .filter_map(|(dir, newest)| {
                let id = dir.file_name()?.to_str()?.parse().ok()?;
                Some((id, dir, newest))
            })
            .collect();
        if found.is_empty() {
            return Ok(removed);
        }
        let ids: Vec<JobId> = found.iter().map(|(id, _, _)| *id).collect();
        let known: std::collections::HashMap<JobId, bool> = known(&ids)?.into_iter().collect();
        for (id, dir, newest) in found {
            let gone = match known.get(&id) {
                Some(&unfinished) => !unfinished,
                None => now.duration_since(newest).unwrap_or_default() >= ORPHAN_AGE,
            };
            if gone && std::fs::remove_dir_all(&dir).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The folders under `dir`, each with the newest modification time of it and its files.
fn entries(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let path = e.path();
            let mut newest = modified(&path);
            if let Ok(files) = std::fs::read_dir(&path) {
                for f in files.filter_map(Result::ok) {
                    newest = newest.max(modified(&f.path()));
                }
            }
            (path, newest)
        })
        .collect()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}
