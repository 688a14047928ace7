//! Zip archives written byte by byte (headers that say anything) and zip bombs built
//! without compressing what they hold.

use super::*;

/// A zip member written byte by byte, so that its header can say anything.
pub(super) struct RawMember<'a> {
    pub(super) name: &'a str,
    /// 0 stored, 8 deflated.
    pub(super) method: u16,
    pub(super) crc: u32,
    /// The decompressed size the headers declare.
    pub(super) size: u32,
    pub(super) data: Vec<u8>,
}

/// A zip archive of `members` exactly as given (local headers, central directory, end
/// record; no zip64).
pub(super) fn raw_zip(members: &[RawMember]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let common = |buf: &mut Vec<u8>| {
            buf.extend(20u16.to_le_bytes()); // version needed
            buf.extend(0x0800u16.to_le_bytes()); // UTF-8 name
            buf.extend(m.method.to_le_bytes());
            buf.extend(0u16.to_le_bytes()); // time
            buf.extend(0x5CDEu16.to_le_bytes()); // date 2026-06-30
            buf.extend(m.crc.to_le_bytes());
            buf.extend((m.data.len() as u32).to_le_bytes());
            buf.extend(m.size.to_le_bytes());
            buf.extend((m.name.len() as u16).to_le_bytes());
            buf.extend(0u16.to_le_bytes()); // extra
        };
        out.extend(b"PK\x03\x04");
        common(&mut out);
        out.extend(m.name.as_bytes());
        out.extend(&m.data);
        central.extend(b"PK\x01\x02");
        central.extend(20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend([0u8; 6]); // comment length, disk, internal attributes
        central.extend(0u32.to_le_bytes()); // external attributes
        central.extend(offset.to_le_bytes());
        central.extend(m.name.as_bytes());
    }
    let start = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

pub(super) fn crc(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// A stored member holding `data`.
pub(super) fn stored<'a>(name: &'a str, data: &[u8]) -> RawMember<'a> {
    RawMember {
        name,
        method: 0,
        crc: crc(data),
        size: data.len() as u32,
        data: data.to_vec(),
    }
}

/// `mib` MiB of zeros as one raw deflate stream, built without compressing them all: the
/// second MiB, compressed after the first, only refers back to zeros, so its blocks can be
/// repeated (each sync-flushed block ends on a byte).
pub(super) fn zeros_deflated(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; MIB];
    let mut c = Compress::new(Compression::best(), false);
    let mut step = |input: &[u8], flush| {
        let mut out = Vec::with_capacity(64 * 1024);
        c.compress_vec(input, &mut out, flush).expect("deflate");
        out
    };
    let first = step(&zeros, FlushCompress::Sync);
    let middle = step(&zeros, FlushCompress::Sync);
    let last = step(&[], FlushCompress::Finish);
    let mut stream = first;
    for _ in 1..mib {
        stream.extend(&middle);
    }
    stream.extend(last);
    stream
}

pub(super) fn zeros_crc(mib: usize) -> u32 {
    let zeros = vec![0u8; MIB];
    let mut crc = flate2::Crc::new();
    for _ in 0..mib {
        crc.update(&zeros);
    }
    crc.sum()
}

/// A deflated member of `mib` MiB of zeros, its header honest unless `declared` says else.
pub(super) fn bomb(name: &str, mib: usize, declared: Option<u32>) -> RawMember<'_> {
    RawMember {
        name,
        method: 8,
        crc: zeros_crc(mib),
        size: declared.unwrap_or((mib * MIB) as u32),
        data: zeros_deflated(mib),
    }
}

/// A deflated member holding `data`.
pub(super) fn deflated<'a>(name: &'a str, data: &[u8]) -> RawMember<'a> {
    let mut c = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    c.write_all(data).expect("deflate");
    RawMember {
        name,
        method: 8,
        crc: crc(data),
        size: data.len() as u32,
        data: c.finish().expect("deflate"),
    }
}
