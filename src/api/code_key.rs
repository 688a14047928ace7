//! Codes as hash-map keys, held inline: the validation cache looks up 10,000 codes per
//! request, and a key that lives in the map's own slot is compared without reading any other
//! memory.
//!
//! The text is a [`CompactString`]: up to 24 bytes in the key itself (every system's codes
//! are shorter), longer ones on the heap, and read back as `&str` without decoding. An
//! earlier hand-written inline key decoded its bytes (`str::from_utf8`) on every hash and
//! comparison: 6 % of a 10,000-coding `$batch-validate-code` (perf, bench/fhir.sh).

use compact_str::CompactString;

/// A code as a map key: held in the map's own slot when short (as the codes of every system
/// are), so that finding a code reads no other memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodeKey(CompactString);

impl CodeKey {
    /// The code.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for CodeKey {
    fn from(code: &str) -> Self {
        CodeKey(CompactString::new(code))
    }
}

/// Hashes and compares as the `str` it holds, as `CompactString` does.
impl std::borrow::Borrow<str> for CodeKey {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_codes_read_back_and_find_by_str() {
        let long = "x".repeat(25);
        let mut map = rustc_hash::FxHashMap::default();
        for code in [
            "",
            "900507501",
            "2646901M1035",
            "123456789012345678901234",
            long.as_str(),
            "病名",
        ] {
            let key = CodeKey::from(code);
            assert_eq!(key.as_str(), code);
            assert!(!key.0.is_heap_allocated() || code.len() > 24, "{code}");
            map.insert(key, code.len());
        }
        assert_eq!(map.get("2646901M1035"), Some(&12));
        assert_eq!(map.get("123456789012345678901234"), Some(&24));
        assert_eq!(map.get(long.as_str()), Some(&25));
        assert_eq!(map.get("病名"), Some(&6));
        assert_eq!(map.get("90050750"), None);
        assert_eq!(std::mem::size_of::<CodeKey>(), 24);
    }
}
