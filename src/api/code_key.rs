//! Codes as hash-map keys, held inline: the validation cache looks up 10,000 codes per
//! request, and a key that lives in the map's own slot is compared without reading any other
//! memory.

/// A code as a map key: held in the map's own slot when short (as the codes of every system
/// are), so that finding a code reads no other memory.
#[derive(Debug, Clone)]
pub struct CodeKey(KeyText);

#[derive(Debug, Clone)]
enum KeyText {
    Inline(u8, [u8; INLINE]),
    Heap(Box<str>),
}

/// Longest code held inline.
const INLINE: usize = 22;

impl CodeKey {
    /// The code.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever copied from a `&str`, whole.
            KeyText::Inline(len, bytes) => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            KeyText::Heap(text) => text,
        }
    }
}

impl From<&str> for CodeKey {
    fn from(code: &str) -> Self {
        match u8::try_from(code.len()) {
            Ok(len) if code.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..code.len()].copy_from_slice(code.as_bytes());
                CodeKey(KeyText::Inline(len, bytes))
            }
            _ => CodeKey(KeyText::Heap(code.into())),
        }
    }
}

impl std::borrow::Borrow<str> for CodeKey {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for CodeKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CodeKey {}

/// Hashes as the `str` it holds (required by `Borrow<str>`).
impl std::hash::Hash for CodeKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_codes_read_back_and_find_by_str() {
        let long = "x".repeat(INLINE + 1);
        let mut map = rustc_hash::FxHashMap::default();
        for code in [
            "",
            "900507501",
            "2646901M1035",
            "12345678901234567",
            long.as_str(),
            "病名",
        ] {
            let key = CodeKey::from(code);
            assert_eq!(key.as_str(), code);
            map.insert(key, code.len());
        }
        assert_eq!(map.get("2646901M1035"), Some(&12));
        assert_eq!(map.get(long.as_str()), Some(&(INLINE + 1)));
        assert_eq!(map.get("病名"), Some(&6));
        assert_eq!(map.get("90050750"), None);
        assert_eq!(std::mem::size_of::<CodeKey>(), 24);
    }
}
