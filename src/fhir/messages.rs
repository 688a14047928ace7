//! Issue texts: the HL7 validator's message catalogue (`messages.tsv`, English and Japanese,
//! selected ids, Apache-2.0; its header says where it comes from) and hyojun's own messages
//! and Japanese texts the catalogue lacks (`messages-hyojun.tsv`). Texts are
//! `java.text.MessageFormat` patterns, formatted as the validator formats them, so that the
//! English answers are the ones the tx-ecosystem tests and the validator expect. Japanese is
//! used when the request's `Accept-Language` prefers `ja`.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

const HL7: &str = include_str!("messages.tsv");
const OWN: &str = include_str!("messages-hyojun.tsv");

/// The language of an answer's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    /// The language an `Accept-Language` header prefers among those hyojun writes: Japanese
    /// when `ja` (or `ja-JP` …) has the highest weight, else English.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ja") => Lang::Ja,
                Some("en") => Lang::En,
                _ => continue,
            };
            if weight > 0.0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

/// English and (when there is one) Japanese pattern of each id.
fn catalogue() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static CATALOGUE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> =
        OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut map: HashMap<&str, (&str, &str)> = HashMap::new();
        for (source, own) in [(HL7, false), (OWN, true)] {
            for line in source.lines() {
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                let mut fields = line.split('\t');
                let (Some(id), Some(en)) = (fields.next(), fields.next()) else {
                    continue;
                };
                let ja = fields.next().unwrap_or("");
                match map.get_mut(id) {
                    // hyojun's file fills in Japanese the catalogue lacks.
                    Some(entry) if own => {
                        if entry.1.is_empty() {
                            entry.1 = ja;
                        }
                    }
                    _ => {
                        map.insert(id, (en, ja));
                    }
                }
            }
        }
        map
    })
}

/// The text of message `id` with its arguments, in `lang` when the catalogue has it (else
/// English). An id the catalogue lacks is a bug: its text is the id and the arguments.
pub fn text(lang: Lang, id: &str, args: &[&dyn Display]) -> String {
    match catalogue().get(id) {
        Some((en, ja)) => format(
            if lang == Lang::Ja && !ja.is_empty() {
                ja
            } else {
                en
            },
            args,
        ),
        None => {
            debug_assert!(false, "message id {id} is not in the catalogue");
            let args: Vec<String> = args.iter().map(ToString::to_string).collect();
            format!("{id}: {}", args.join(", "))
        }
    }
}

/// A plural message: `{root}_one` or `{root}_other` by `count` (English: 1 is one; Japanese
/// has only `_other`), with `count` as argument 0 and `args` after it.
pub fn plural(lang: Lang, root: &str, count: usize, args: &[&dyn Display]) -> String {
    let form = if count == 1 && lang == Lang::En {
        "one"
    } else {
        "other"
    };
    let mut all: Vec<&dyn Display> = Vec::with_capacity(args.len() + 1);
    all.push(&count);
    all.extend_from_slice(args);
    text(lang, &format!("{root}_{form}"), &all)
}

/// `java.text.MessageFormat.format` for the patterns of the catalogue: `{N}` is argument N,
/// `''` one apostrophe, and text between single apostrophes is literal.
pub fn format(pattern: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut chars = pattern.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match ch {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => quoted = !quoted,
            '{' if !quoted => {
                let mut index = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    index.push(c);
                }
                match index.trim().parse::<usize>().ok().and_then(|i| args.get(i)) {
                    Some(arg) => out.push_str(&arg.to_string()),
                    None => {
                        out.push('{');
                        out.push_str(&index);
                        out.push('}');
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_formatted_as_the_validator_formats_them() {
        assert_eq!(
            text(
                Lang::En,
                "Unknown_Code_in_Version",
                &[&"x", &"http://medis.or.jp/CodeSystem/master-HOT9", &"20260630"]
            ),
            "Unknown code 'x' in the CodeSystem 'http://medis.or.jp/CodeSystem/master-HOT9' version '20260630'"
        );
        assert_eq!(
            plural(
                Lang::En,
                "Display_Name_for__should_be_one_of__instead_of",
                1,
                &[&"http://a", &"1", &"'A'", &"B", &"ja"]
            ),
            "Wrong Display Name 'B' for http://a#1. Valid display is 'A' (for the language(s) 'ja')"
        );
        assert_eq!(format("a '{0}' b''c {1}", &[&1, &2]), "a {0} b'c 2");
        // Japanese where the catalogue (or hyojun's file) has it; English otherwise.
        assert_eq!(
            text(Lang::Ja, "UNKNOWN_CODESYSTEM", &[&"http://x"]),
            "CodeSystem http://xは未知です"
        );
        for id in catalogue().keys() {
            assert!(!text(Lang::En, id, &[]).is_empty(), "{id}");
        }
    }

    #[test]
    fn accept_language_picks_the_preferred_language() {
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("ja")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("ja-JP,en;q=0.5")), Lang::Ja);
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.9,ja;q=0.8")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("de,ja;q=0.1")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("ja;q=0,en")), Lang::En);
    }
}
