//! Zip archives within the limits: the distribution zips (expanded by [`super::input`]) and
//! the containers of `.xlsx` workbooks (checked before the workbook reader opens them).
//!
//! Nothing an archive declares is trusted before it is checked: the member count is read
//! from the end-of-central-directory records before the directory is parsed; a member's
//! declared size and compression ratio are checked before it is decompressed; and it is
//! decompressed through a reader that stops one byte past what it declared, so a header
//! that lies costs no more than an honest one.

use std::io::{Cursor, Read};

use zip::read::ZipFile;
use zip::ZipArchive;

use super::input::shown_name;
use super::problem::{Problem, Problems};
use crate::limits::{group_digits, Limit, Limits};

/// Members smaller than this (decompressed) are not held to the compression ratio.
pub const RATIO_EXEMPT_BYTES: u64 = 1024 * 1024;

/// An archive held in memory.
pub type Zip<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// Bytes decompressed so far over all archives of one import ([`Limit::ArchiveBytes`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Budget {
    used: u64,
}

impl Budget {
    /// Bytes decompressed so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The budget once `n` more bytes are spent.
    pub fn plus(self, n: u64) -> Budget {
        Budget {
            used: self.used.saturating_add(n),
        }
    }
}

/// A problem about a whole archive (or one member, `shown` naming it).
fn limit_problem(
    shown: &str,
    kind: &'static str,
    found: String,
    limit: Limit,
    limits: &Limits,
) -> Problems {
    Problem::over_limit(shown, kind, found, limits, limit).into()
}

fn bad_zip(shown: &str, message: String) -> Problems {
    Problem::file(
        shown,
        "bad_zip",
        message,
        "download the distribution zip again; it may be truncated or corrupt",
    )
    .into()
}

/// Opens an archive once its end records declare no more members than
/// [`Limit::ArchiveMembers`] (the directory is parsed only then).
pub fn open<'a>(shown: &str, bytes: &'a [u8], limits: &Limits) -> Result<Zip<'a>, Problems> {
    let members_limit = limits.get(Limit::ArchiveMembers);
    let too_many = |n: u64| {
        limit_problem(
            shown,
            "too_many_members",
            format!("the archive lists {} members", group_digits(n)),
            Limit::ArchiveMembers,
            limits,
        )
    };
    if let Some(declared) = declared_members(bytes) {
        if declared > members_limit {
            return Err(too_many(declared));
        }
    }
    let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|err| {
        bad_zip(
            shown,
            format!(
                "not a readable zip archive: {}",
                shown_name(&err.to_string())
            ),
        )
    })?;
    if zip.len() as u64 > members_limit {
        return Err(too_many(zip.len() as u64));
    }
    Ok(zip)
}

/// What a member's header says about it.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    /// Decompressed bytes.
    pub size: u64,
    /// Compressed bytes.
    pub compressed: u64,
}

impl Declared {
    /// The sizes a member's header declares.
    pub fn of<R: Read>(member: &ZipFile<'_, R>) -> Declared {
        Declared {
            size: member.size(),
            compressed: member.compressed_size(),
        }
    }
}

/// Whether `size` bytes compressed to `compressed` exceed the ratio limit (small sizes are
/// exempt).
fn over_ratio(size: u64, compressed: u64, limits: &Limits) -> bool {
    size >= RATIO_EXEMPT_BYTES
        && u128::from(size)
            > u128::from(compressed) * u128::from(limits.get(Limit::CompressionRatio))
}

fn ratio_text(size: u64, compressed: u64) -> String {
    match size.checked_div(compressed) {
        Some(ratio) => format!("{} to 1", group_digits(ratio)),
        None => "without limit (nothing compressed)".to_owned(),
    }
}

/// Checks a member's declared size before it is decompressed: the compression ratio (a
/// bomb says so first), the member size limit and what is left of the import's budget.
/// `shown` names the member.
pub fn check_declared(
    shown: &str,
    declared: Declared,
    limits: &Limits,
    budget: &Budget,
) -> Result<(), Problems> {
    let Declared { size, compressed } = declared;
    if over_ratio(size, compressed, limits) {
        return Err(limit_problem(
            shown,
            "compression_ratio",
            format!(
                "the member decompresses from {} to {} bytes, a ratio of {}",
                group_digits(compressed),
                group_digits(size),
                ratio_text(size, compressed)
            ),
            Limit::CompressionRatio,
            limits,
        ));
    }
    if !limits.allows(Limit::FileBytes, size) {
        return Err(limit_problem(
            shown,
            "too_large",
            format!("the member decompresses to {} bytes", group_digits(size)),
            Limit::FileBytes,
            limits,
        ));
    }
    check_budget(shown, budget, size, limits)
}

fn check_budget(shown: &str, budget: &Budget, more: u64, limits: &Limits) -> Result<(), Problems> {
    let total = budget.used.saturating_add(more);
    if limits.allows(Limit::ArchiveBytes, total) {
        Ok(())
    } else {
        Err(limit_problem(
            shown,
            "archive_too_large",
            format!(
                "with this member the archives of this import decompress to {} bytes together",
                group_digits(total)
            ),
            Limit::ArchiveBytes,
            limits,
        ))
    }
}

/// Checks the members to be read of one archive together: a crafted archive of many small
/// members (each exempt from the ratio) is held to the ratio as a whole.
pub fn check_declared_together(
    shown: &str,
    declared: impl IntoIterator<Item = Declared>,
    limits: &Limits,
) -> Result<(), Problems> {
    let (size, compressed) = declared.into_iter().fold((0u64, 0u64), |(s, c), d| {
        (s.saturating_add(d.size), c.saturating_add(d.compressed))
    });
    if over_ratio(size, compressed, limits) {
        return Err(limit_problem(
            shown,
            "compression_ratio",
            format!(
                "the members read decompress from {} to {} bytes together, a ratio of {}",
                group_digits(compressed),
                group_digits(size),
                ratio_text(size, compressed)
            ),
            Limit::CompressionRatio,
            limits,
        ));
    }
    Ok(())
}

/// Decompresses a member whose declared sizes passed [`check_declared`], reading at most
/// one byte more than it declared, and counts it in `budget`.
pub fn read_member<R: Read>(
    shown: &str,
    member: &mut ZipFile<'_, R>,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Vec<u8>, Problems> {
    let declared = member.size();
    let capacity = usize::try_from(declared).unwrap_or(0);
    let mut data = Vec::with_capacity(capacity);
    member
        .by_ref()
        .take(declared.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|err| bad_zip(shown, format!("the member cannot be decompressed: {err}")))?;
    if data.len() as u64 > declared {
        return Err(lying_header(shown, declared));
    }
    check_budget(shown, budget, data.len() as u64, limits)?;
    budget.used += data.len() as u64;
    Ok(data)
}

/// Decompresses a member without keeping it, to check that it holds no more than it
/// declared; counts it in `budget`.
pub fn measure_member<R: Read>(
    shown: &str,
    member: &mut ZipFile<'_, R>,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<(), Problems> {
    let declared = member.size();
    let read = std::io::copy(
        &mut member.by_ref().take(declared.saturating_add(1)),
        &mut std::io::sink(),
    )
    .map_err(|err| bad_zip(shown, format!("the member cannot be decompressed: {err}")))?;
    if read > declared {
        return Err(lying_header(shown, declared));
    }
    check_budget(shown, budget, read, limits)?;
    budget.used += read;
    Ok(())
}

fn lying_header(shown: &str, declared: u64) -> Problems {
    bad_zip(
        shown,
        format!(
            "the member decompresses to more than the {} bytes its header declares: the archive is corrupt or crafted",
            group_digits(declared)
        ),
    )
}

const EOCD: &[u8; 4] = b"PK\x05\x06";
const ZIP64_LOCATOR: &[u8; 4] = b"PK\x06\x07";
const ZIP64_EOCD: &[u8; 4] = b"PK\x06\x06";

fn u16_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u64::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Every position of `magic` in `bytes[from..to]`.
fn positions<'b>(
    bytes: &'b [u8],
    from: usize,
    to: usize,
    magic: &[u8; 4],
) -> impl Iterator<Item = usize> + 'b {
    let to = to.min(bytes.len());
    let from = from.min(to);
    let magic = *magic;
    bytes[from..to]
        .windows(4)
        .enumerate()
        .filter(move |(_, w)| *w == magic)
        .map(move |(i, _)| from + i)
}

/// The most members any end-of-central-directory record of the archive declares, zip64
/// records included, searched where a zip reader looks for them (the last 64 KiB for the
/// record, the span its zip64 locator names for a zip64 record). `None`: no record found.
pub fn declared_members(bytes: &[u8]) -> Option<u64> {
    let tail = bytes.len().saturating_sub(22 + 0xFFFF);
    let mut most: Option<u64> = None;
    for at in positions(bytes, tail, bytes.len(), EOCD) {
        let on_disk = u16_at(bytes, at + 8).unwrap_or(0);
        let total = u16_at(bytes, at + 10).unwrap_or(0);
        most = most.max(Some(on_disk.max(total)));
        let Some(locator) = at.checked_sub(20) else {
            continue;
        };
        if !bytes[locator..].starts_with(ZIP64_LOCATOR) {
            continue;
        }
        let start = u64_at(bytes, locator + 8).and_then(|o| usize::try_from(o).ok());
        for record in positions(bytes, start.unwrap_or(0), locator, ZIP64_EOCD) {
            let on_disk = u64_at(bytes, record + 24).unwrap_or(0);
            let total = u64_at(bytes, record + 32).unwrap_or(0);
            most = most.max(Some(on_disk.max(total)));
        }
    }
    most
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in members {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("member");
            zip.write_all(data).expect("write");
        }
        zip.finish().expect("finish").into_inner()
    }

    fn only(result: Result<(), Problems>) -> Problem {
        let problems = result.expect_err("refused");
        assert_eq!(problems.total(), 1);
        problems.items()[0].clone()
    }

    #[test]
    fn member_counts_are_read_from_the_end_record() {
        let bytes = zip_of(&[("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")]);
        assert_eq!(declared_members(&bytes), Some(3));
        assert_eq!(declared_members(b"not a zip"), None);
        let limits = Limits {
            archive_members: 2,
            ..Limits::default()
        };
        let err = only(open("x.zip", &bytes, &limits).map(|_| ()));
        assert_eq!(err.kind, "too_many_members");
        assert_eq!(
            err.message,
            "the archive lists 3 members; the limit is 2 members (HYOJUN_MAX_ARCHIVE_MEMBERS)"
        );
    }

    #[test]
    fn a_count_the_directory_does_not_hold_is_still_refused_before_parsing() {
        // The end record claims 65,535 members; the reader would try to parse them all.
        let mut bytes = zip_of(&[("a.txt", b"a")]);
        let at = bytes.len() - 22;
        bytes[at + 8..at + 12].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        let err = only(open("x.zip", &bytes, &Limits::default()).map(|_| ()));
        assert_eq!(err.kind, "too_many_members");
        assert!(
            err.message.starts_with("the archive lists 65,535 members"),
            "{}",
            err.message
        );
    }

    #[test]
    fn declared_sizes_are_checked_before_decompressing() {
        let limits = Limits::default();
        let budget = Budget::default();
        let ok = Declared {
            size: 25 << 20,
            compressed: 5 << 20,
        };
        assert!(check_declared("m", ok, &limits, &budget).is_ok());
        let small_bomb = Declared {
            size: (1 << 20) - 1,
            compressed: 1,
        };
        assert!(
            check_declared("m", small_bomb, &limits, &budget).is_ok(),
            "under 1 MiB"
        );
        let bomb = Declared {
            size: 480 << 20,
            compressed: 466_000,
        };
        let err = only(check_declared("m", bomb, &limits, &budget));
        assert_eq!(err.kind, "compression_ratio");
        assert_eq!(
            err.message,
            "the member decompresses from 466,000 to 503,316,480 bytes, a ratio of 1,080 to 1; the limit is 200 to 1 (HYOJUN_MAX_COMPRESSION_RATIO)"
        );
        let huge = Declared {
            size: 600 << 20,
            compressed: 300 << 20,
        };
        assert_eq!(
            only(check_declared("m", huge, &limits, &budget)).kind,
            "too_large"
        );
        let many = vec![small_bomb; 1000];
        let err = only(check_declared_together("x.zip", many, &limits));
        assert_eq!(err.kind, "compression_ratio");
    }
}
