//! How deep a JSON text nests, read without parsing it: a body nested past the limit is
//! refused before `serde_json` recurses into it (and before anything is allocated for it).

/// The line where the arrays and objects of `bytes` first nest deeper than `max`; `None`
/// when they never do. Brackets inside strings do not count.
pub fn too_deep(bytes: &[u8], max: u64) -> Option<u64> {
    let (mut depth, mut line) = (0u64, 1u64);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if b == b'\n' {
            line += 1;
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
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
    }
}
