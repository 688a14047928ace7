//! What a file that should be CP932 or UTF-8 text looks like when it is not: UTF-16 or
//! UTF-32 (with or without a byte-order mark), or binary (a known format by its magic
//! number, or NUL and control bytes throughout). Such a file gets one `wrong_encoding`
//! problem saying what it is, instead of a problem per byte.

use super::input::SourceFile;
use super::problem::{Problem, Problems};

/// Bytes looked at.
const SAMPLE: usize = 8 * 1024;

/// What a non-text file looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looks {
    /// UTF-16 or UTF-32 text; `bom` when it starts with its byte-order mark.
    Unicode { encoding: &'static str, bom: bool },
    /// A binary format or binary data, named for the message.
    Binary(&'static str),
}

/// Known formats by their first bytes.
const MAGIC: [(&[u8], &str); 12] = [
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"\x1F\x8B", "a gzip archive"),
    (
        b"PK\x03\x04",
        "a zip archive (a .zip, or an .xlsx workbook)",
    ),
    (b"PK\x05\x06", "an empty zip archive"),
    (
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        "an Excel 97-2003 workbook (.xls) or another Office document",
    ),
    (b"Rar!\x1A\x07", "a RAR archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"\x7FELF", "a program (ELF executable)"),
];

/// Byte-order marks, longest first (UTF-32 LE starts like UTF-16 LE).
const BOMS: [(&[u8], &str); 4] = [
    (b"\xFF\xFE\x00\x00", "UTF-32 LE"),
    (b"\x00\x00\xFE\xFF", "UTF-32 BE"),
    (b"\xFF\xFE", "UTF-16 LE"),
    (b"\xFE\xFF", "UTF-16 BE"),
];

/// What `bytes` look like when they are not CP932 or UTF-8 text; `None` for text.
pub fn looks(bytes: &[u8]) -> Option<Looks> {
    if let Some((_, encoding)) = BOMS.iter().find(|(bom, _)| bytes.starts_with(bom)) {
        return Some(Looks::Unicode {
            encoding,
            bom: true,
        });
    }
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(Looks::Binary(what));
    }
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    if let Some(encoding) = unicode_without_bom(sample) {
        return Some(Looks::Unicode {
            encoding,
            bom: false,
        });
    }
    let odd = sample
        .iter()
        .filter(|&&b| {
            b == 0 || b == 0x7F || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A))
        })
        .count();
    // A stray NUL in a field is the field's problem (with its position); binary data has
    // them throughout.
    (odd >= 8 && odd * 20 >= sample.len()).then_some(Looks::Binary("binary data"))
}

/// UTF-16 / UTF-32 without a byte-order mark: the zero bytes of ASCII characters (commas,
/// digits, quotes) fall on the same positions of every code unit.
fn unicode_without_bom(sample: &[u8]) -> Option<&'static str> {
    let quads = sample.len() / 4;
    if quads < 2 {
        return None;
    }
    let mut zeros = [0usize; 4];
    for (i, b) in sample[..quads * 4].iter().enumerate() {
        if *b == 0 {
            zeros[i % 4] += 1;
        }
    }
    let most = |n: usize| n * 10 >= quads * 9;
    if most(zeros[2]) && most(zeros[3]) && zeros[0] * 2 < quads {
        return Some("UTF-32 LE");
    }
    if most(zeros[0]) && most(zeros[1]) && zeros[3] * 2 < quads {
        return Some("UTF-32 BE");
    }
    let units = quads * 2;
    let (even, odd) = (zeros[0] + zeros[2], zeros[1] + zeros[3]);
    // A few NULs in a short file are stray bytes of fields (reported there, with their
    // position), not the zero halves of UTF-16 code units.
    const FEW: usize = 4;
    if odd >= FEW && odd * 10 >= units && even * 4 < odd {
        return Some("UTF-16 LE");
    }
    if even >= FEW && even * 10 >= units && odd * 4 < even {
        return Some("UTF-16 BE");
    }
    None
}

/// One `wrong_encoding` problem for a file that is not CP932 or UTF-8 text.
pub fn check(file: &SourceFile) -> Result<(), Problems> {
    let Some(looks) = looks(&file.bytes) else {
        return Ok(());
    };
    let (message, fix) = match looks {
        Looks::Unicode { encoding, bom: true } => (
            format!(
                "the file is {encoding} text (it starts with the {encoding} byte-order mark), not CP932 or UTF-8"
            ),
            "save it as CP932 (Shift_JIS) or UTF-8, as MEDIS distributes it (in Excel: CSV (コンマ区切り) or CSV UTF-8)".to_owned(),
        ),
        Looks::Unicode { encoding, bom: false } => (
            format!(
                "the file looks like {encoding} text without a byte-order mark (zero bytes between the characters), not CP932 or UTF-8"
            ),
            "save it as CP932 (Shift_JIS) or UTF-8, as MEDIS distributes it (in Excel: CSV (コンマ区切り) or CSV UTF-8)".to_owned(),
        ),
        Looks::Binary(what) => (
            format!("the file is {what}, not a CP932 or UTF-8 text file"),
            "give the master's text file as MEDIS distributes it; if this holds the right data, save it as CP932 (Shift_JIS) or UTF-8 text".to_owned(),
        ),
    };
    Err(Problem::file(&file.display_name, "wrong_encoding", message, fix).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_nul_in_a_short_file_is_not_utf16() {
        assert_eq!(looks("code,name\r\nD001,錠\u{0}A\r\n".as_bytes()), None);
        let utf16: Vec<u8> = "code,name\r\nD001,A\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            looks(&utf16),
            Some(Looks::Unicode {
                encoding: "UTF-16 LE",
                bom: false
            })
        );
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    fn utf32(text: &str, big_endian: bool) -> Vec<u8> {
        text.chars()
            .flat_map(|c| {
                if big_endian {
                    (c as u32).to_be_bytes()
                } else {
                    (c as u32).to_le_bytes()
                }
            })
            .collect()
    }

    const ROW: &str = "\"9001015010101\",\"9001015\",\"01\",\"ヒョウジュン錠１０ｍｇ\",\"内\"\r\n";

    #[test]
    fn unicode_with_and_without_byte_order_marks() {
        let mut le = b"\xFF\xFE".to_vec();
        le.extend(utf16(ROW, false));
        assert_eq!(
            looks(&le),
            Some(Looks::Unicode {
                encoding: "UTF-16 LE",
                bom: true
            })
        );
        assert_eq!(
            looks(&utf16(ROW, false)),
            Some(Looks::Unicode {
                encoding: "UTF-16 LE",
                bom: false
            })
        );
        assert_eq!(
            looks(&utf16(ROW, true)),
            Some(Looks::Unicode {
                encoding: "UTF-16 BE",
                bom: false
            })
        );
        let mut be32 = b"\x00\x00\xFE\xFF".to_vec();
        be32.extend(utf32(ROW, true));
        assert_eq!(
            looks(&be32),
            Some(Looks::Unicode {
                encoding: "UTF-32 BE",
                bom: true
            })
        );
        assert_eq!(
            looks(&utf32(ROW, false)),
            Some(Looks::Unicode {
                encoding: "UTF-32 LE",
                bom: false
            })
        );
        assert_eq!(
            looks(&utf32(ROW, true)),
            Some(Looks::Unicode {
                encoding: "UTF-32 BE",
                bom: false
            })
        );
    }

    #[test]
    fn binaries_by_magic_and_by_content() {
        assert_eq!(
            looks(b"%PDF-1.7\n..."),
            Some(Looks::Binary("a PDF document"))
        );
        assert_eq!(
            looks(b"PK\x03\x04\x14\x00"),
            Some(Looks::Binary(
                "a zip archive (a .zip, or an .xlsx workbook)"
            ))
        );
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        assert_eq!(looks(&noise), Some(Looks::Binary("binary data")));
    }

    #[test]
    fn text_is_text() {
        let text = ROW.repeat(20);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        assert_eq!(looks(&sjis), None);
        assert_eq!(looks(ROW.as_bytes()), None);
        assert_eq!(looks(b"\xEF\xBB\xBFa,b\r\n"), None);
        // One NUL in a field is left to the field check, which says where it is.
        let with_nul = ROW.repeat(3).replacen("01", "0\u{0}1", 1);
        assert_eq!(looks(with_nul.as_bytes()), None);
        assert_eq!(looks(b""), None);
    }
}
