//! Index tokens of a normalised text and the terms a query looks for.
//!
//! A value `c0 c1 … cn-1` is indexed as a start marker at position 0, then at position `i + 1`
//! the bigram `ci ci+1` (for every `i < n - 1`) and the unigram `ci` (for every `i`). Bigrams
//! at consecutive positions spell a substring exactly, so a query of two characters or more is
//! a phrase of its bigrams, a one-character query is its unigram, and "starts with" is the same
//! phrase after the start marker. Every script is treated alike (kanji, kana, Latin, digits),
//! which is what makes recall exact for any substring.

use tantivy::tokenizer::{PreTokenizedString, Token};

/// The token before the first character of every value (never produced by normalisation,
/// which drops control characters).
pub const START: &str = "\u{1}";

/// The tokens of one normalised value.
pub fn value_tokens(chars: &[char]) -> PreTokenizedString {
    let mut tokens = Vec::with_capacity(chars.len() * 2 + 1);
    tokens.push(token(START.to_owned(), 0));
    let mut buf = [0u8; 4];
    for (i, &c) in chars.iter().enumerate() {
        let position = i + 1;
        if let Some(&next) = chars.get(i + 1) {
            let mut bigram = String::with_capacity(8);
            bigram.push(c);
            bigram.push(next);
            tokens.push(token(bigram, position));
        }
        tokens.push(token(c.encode_utf8(&mut buf).to_owned(), position));
    }
    PreTokenizedString {
        text: String::new(),
        tokens,
    }
}

fn token(text: String, position: usize) -> Token {
    Token {
        offset_from: 0,
        offset_to: 0,
        position,
        text,
        position_length: 1,
    }
}

/// The terms of a normalised query, in phrase order: its bigrams, or its one unigram.
pub fn query_grams(chars: &[char]) -> Vec<String> {
    if chars.len() == 1 {
        return vec![chars[0].to_string()];
    }
    chars
        .windows(2)
        .map(|pair| pair.iter().collect::<String>())
        .collect()
}

/// Every prefix of a normalised code, for code-prefix search.
pub fn code_prefixes(code: &str) -> impl Iterator<Item = &str> {
    code.char_indices()
        .skip(1)
        .map(|(i, _)| &code[..i])
        .chain(std::iter::once(code))
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_and_unigrams_carry_real_positions() {
        let chars: Vec<char> = "胃炎症".chars().collect();
        let tokens: Vec<(String, usize)> = value_tokens(&chars)
            .tokens
            .into_iter()
            .map(|t| (t.text, t.position))
            .collect();
        let expected = [
            (START, 0),
            ("胃炎", 1),
            ("胃", 1),
            ("炎症", 2),
            ("炎", 2),
            ("症", 3),
        ];
        let expected: Vec<(String, usize)> =
            expected.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        assert_eq!(tokens, expected);
    }

    #[test]
    fn queries_are_bigram_phrases_or_one_unigram() {
        let q = |s: &str| query_grams(&s.chars().collect::<Vec<_>>());
        assert_eq!(q("炎"), ["炎"]);
        assert_eq!(q("胃炎"), ["胃炎"]);
        assert_eq!(q("hba1c"), ["hb", "ba", "a1", "1c"]);
    }

    #[test]
    fn code_prefixes_include_the_code() {
        let p: Vec<&str> = code_prefixes("K297").collect();
        assert_eq!(p, ["K", "K2", "K29", "K297"]);
    }
}
