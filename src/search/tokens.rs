//! Index tokens of a normalised text and the terms a query looks for.
//!
//! A value `c0 c1 … cn-1` is indexed, at position `i`, as the bigram `ci ci+1` (for every
//! `i < n - 1`) and the unigram `ci`; its first bigram and unigram are indexed once more with
//! a start mark. Bigrams at consecutive positions spell a substring exactly, so a query of two
//! characters or more is a phrase of its bigrams, a one-character query is its unigram, and
//! "starts with" is the same phrase with the first term marked — a rare term, so prefix
//! queries stay cheap. Every script is treated alike (kanji, kana, Latin, digits), which is
//! what makes recall exact for any substring.

use tantivy::tokenizer::{PreTokenizedString, Token};

/// Marks the first unigram and bigram of every value (normalisation drops control
/// characters, so no text token starts with it).
pub const START: char = '\u{1}';

/// The tokens of one normalised value.
pub fn value_tokens(chars: &[char]) -> PreTokenizedString {
    let mut tokens = Vec::with_capacity(chars.len() * 2 + 2);
    for (i, &c) in chars.iter().enumerate() {
        let unigram = c.to_string();
        if let Some(&next) = chars.get(i + 1) {
            let bigram: String = [c, next].iter().collect();
            if i == 0 {
                tokens.push(token(marked(&bigram), 0));
            }
            tokens.push(token(bigram, i));
        }
        if i == 0 {
            tokens.push(token(marked(&unigram), 0));
        }
        tokens.push(token(unigram, i));
    }
    PreTokenizedString {
        text: String::new(),
        tokens,
    }
}

/// A term with the start mark.
pub fn marked(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 1);
    out.push(START);
    out.push_str(term);
    out
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
            ("\u{1}胃炎", 0),
            ("胃炎", 0),
            ("\u{1}胃", 0),
            ("胃", 0),
            ("炎症", 1),
            ("炎", 1),
            ("症", 2),
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
