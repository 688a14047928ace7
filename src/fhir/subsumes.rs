//! `CodeSystem/$subsumes` (`../shared/docs/fhir-terminology.md` §3.9): how two codes of one
//! of hyojun's systems relate in the system's hierarchy — `equivalent`, `subsumes` (A is an
//! ancestor of B), `subsumed-by` or `not-subsumed`. Both codes must be in the release asked
//! for (`version`, else the activated release); an unknown code is a 404 OperationOutcome
//! (`Unknown_Code_in_Version`), and so is an unknown system or version; a system without a
//! hierarchy is a 400 naming it (`HYOJUN_NO_HIERARCHY`).
//!
//! In: `codeA`, `codeB` with `system` and `version` (GET or POST), or `codingA`, `codingB`
//! (POST, as the HL7 validator sends them); a coding's system and version must agree with
//! the other one's and with `system`/`version` where those are given.
//!
//! The hierarchies, read from the codes themselves (no master lists parents):
//!
//! * **ICD-10** (`icd10`, MHLW ICD-10 2013): a 3-character category (`E10`) subsumes its
//!   4-character subcategories (`E100`), which subsume their Japanese 5-character extensions
//!   (`F152` → `F152a`, `I702` → `I7020`, `T08` → `T08-1`): A subsumes B when B's code starts
//!   with A's and is longer. hyojun holds ICD-10 as the 病名 rows carry it: without dots, 3 to
//!   5 characters, and only codes some 病名 uses — chapters and blocks (`A00-A09`) are no
//!   codes of the system and are unknown here, as is a category no 病名 uses by itself. A
//!   dotted code (`E10.0`, `T08.-1`, WHO style) is read without its dot after the third
//!   character, so `E10.0` and `E100` are the same code (`equivalent`).
//! * **看護行為 16桁** (`nursing_action16`, JP Core's `A001B001C001D001`): four levels of four
//!   characters (a letter and three digits: 大分類, 中分類, 行為, 修飾語; `E`–`H` in the 助産
//!   part). A level whose number is `000` is empty — `…D000` is the action without a
//!   modifier — so `A001B001C001D000` (入浴) subsumes `A001B001C001D001` (入浴・全介助). In
//!   general A subsumes B when A's levels without its trailing empty ones are a proper prefix
//!   of B's: a shorter code subsumes the longer ones it begins, when the master has both.

use actix_web::http::StatusCode;

use super::canon::{self, Resolved};
use super::codes;
use super::error::FhirError;
use super::messages;
use super::outcome::{Issue, OperationOutcome, Severity};
use super::params::{Out, Parameters, Params};
use super::Context;

/// How the codes of a system nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    /// ICD-10: category, subcategory, extension — a code's ancestors are its prefixes.
    Icd10,
    /// 看護行為 16桁: four levels of four characters, `000` an empty level.
    NursingAction16,
}

/// The code systems that have a hierarchy, as keys.
pub const HIERARCHICAL: [&str; 2] = ["icd10", "nursing_action16"];

/// What `$subsumes` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Equivalent,
    Subsumes,
    SubsumedBy,
    NotSubsumed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Equivalent => "equivalent",
            Outcome::Subsumes => "subsumes",
            Outcome::SubsumedBy => "subsumed-by",
            Outcome::NotSubsumed => "not-subsumed",
        }
    }
}

impl Hierarchy {
    /// The hierarchy of a code system (by key), if it has one.
    pub fn of(key: &str) -> Option<Hierarchy> {
        match key {
            "icd10" => Some(Hierarchy::Icd10),
            "nursing_action16" => Some(Hierarchy::NursingAction16),
            _ => None,
        }
    }

    /// The code as the system holds it: ICD-10 without the dot after its third character.
    pub fn normalise(self, code: &str) -> String {
        match self {
            Hierarchy::Icd10 if code.len() > 4 && code.as_bytes()[3] == b'.' => {
                format!("{}{}", &code[..3], &code[4..])
            }
            _ => code.to_owned(),
        }
    }

    /// The path from the top of the hierarchy to a (normalised) code.
    fn path(self, code: &str) -> Vec<&str> {
        match self {
            // Every prefix of 3 or more characters is an ancestor: the code is its own path.
            Hierarchy::Icd10 => vec![code],
            Hierarchy::NursingAction16 => {
                let bytes = code.as_bytes();
                let levels_ok = !code.is_empty()
                    && code.len() % 4 == 0
                    && bytes.chunks(4).all(|l| {
                        l[0].is_ascii_uppercase() && l[1..].iter().all(u8::is_ascii_digit)
                    });
                if !levels_ok {
                    return vec![code];
                }
                let mut levels: Vec<&str> = (0..code.len() / 4)
                    .map(|i| &code[i * 4..i * 4 + 4])
                    .collect();
                while levels.last().is_some_and(|l| l.ends_with("000")) {
                    levels.pop();
                }
                levels
            }
        }
    }

    /// How (normalised) code `a` relates to code `b`.
    pub fn compare(self, a: &str, b: &str) -> Outcome {
        let (pa, pb) = (self.path(a), self.path(b));
        let below = |upper: &[&str], lower: &[&str]| match self {
            Hierarchy::Icd10 => {
                let (u, l) = (upper[0], lower[0]);
                l.len() > u.len() && l.starts_with(u)
            }
            Hierarchy::NursingAction16 => lower.len() > upper.len() && lower.starts_with(upper),
        };
        if pa == pb {
            Outcome::Equivalent
        } else if below(&pa, &pb) {
            Outcome::Subsumes
        } else if below(&pb, &pa) {
            Outcome::SubsumedBy
        } else {
            Outcome::NotSubsumed
        }
    }
}

/// One side of the comparison: its code, and the system and version its coding gives.
struct Side {
    code: String,
    system: Option<String>,
    version: Option<String>,
    /// The parameter the code came in (for issues' `expression`).
    at: &'static str,
}

fn side(params: &Params, which: char) -> Result<Side, FhirError> {
    let (coding_name, code_name, coding_at, code_at) = match which {
        'A' => ("codingA", "codeA", "codingA.code", "codeA"),
        _ => ("codingB", "codeB", "codingB.code", "codeB"),
    };
    if let Some(coding) = params.coding(coding_name)? {
        let code = coding
            .code
            .ok_or_else(|| FhirError::Invalid(format!("`{coding_name}` has no code")))?;
        return Ok(Side {
            code,
            system: coding.system,
            version: coding.version,
            at: coding_at,
        });
    }
    let code = params.text(code_name).ok_or_else(|| {
        FhirError::Invalid(format!(
            "give `{code_name}` (with `system`) or `{coding_name}`: $subsumes compares two codes"
        ))
    })?;
    Ok(Side {
        code,
        system: None,
        version: None,
        at: code_at,
    })
}

/// The one value several places give (the parameter and each coding), or a 400 naming them.
fn agreed(what: &str, values: &[Option<&str>]) -> Result<Option<String>, FhirError> {
    let mut given = values.iter().flatten();
    let Some(first) = given.next() else {
        return Ok(None);
    };
    if let Some(other) = given.find(|v| *v != first) {
        return Err(FhirError::Invalid(format!(
            "the two codes must be compared in one {what}: `{}` and `{}` differ",
            crate::excerpt::excerpt(first),
            crate::excerpt::excerpt(other)
        )));
    }
    Ok(Some((*first).to_owned()))
}

/// `$subsumes`.
pub fn run(ctx: &Context, params: &Params) -> Result<Parameters, FhirError> {
    let lang = ctx.lang;
    let (a, b) = (side(params, 'A')?, side(params, 'B')?);
    let system_param = params.text("system");
    // Systems compare by what they name (a URL and its OID are one system).
    let mut resolved: Option<(Resolved, String)> = None;
    for (uri, at) in [
        (system_param.as_deref(), "system"),
        (a.system.as_deref(), "codingA.system"),
        (b.system.as_deref(), "codingB.system"),
    ] {
        let Some(uri) = uri else { continue };
        let r = codes::system_or_404(lang, uri, at)?;
        match &resolved {
            Some((first, first_uri)) if first.system.key != r.system.key => {
                return Err(FhirError::Invalid(format!(
                    "the two codes must be of one system: `{}` and `{}` differ",
                    crate::excerpt::excerpt(first_uri),
                    crate::excerpt::excerpt(uri)
                )))
            }
            Some(_) => {}
            None => resolved = Some((r, uri.to_owned())),
        }
    }
    let Some((resolved, _)) = resolved else {
        return Err(FhirError::Invalid(
            "give `system` (or codings with their system): $subsumes compares codes of one code system".into(),
        ));
    };
    let url = resolved.url();
    let Some(hierarchy) = Hierarchy::of(resolved.system.key) else {
        let with: Vec<String> = HIERARCHICAL
            .iter()
            .filter_map(|k| crate::systems::by_key(k))
            .map(|s| canon::url(s).to_owned())
            .collect();
        return Err(FhirError::issue(
            StatusCode::BAD_REQUEST,
            Issue::new(
                Severity::Error,
                "not-supported",
                messages::text(lang, "HYOJUN_NO_HIERARCHY", &[&url, &with.join(", ")]),
            )
            .message_id("HYOJUN_NO_HIERARCHY")
            .at("system"),
        ));
    };
    let version = agreed(
        "version",
        &[
            params.text("version").as_deref(),
            a.version.as_deref(),
            b.version.as_deref(),
        ],
    )?;
    let release = codes::release_or_404(ctx, &resolved, version.as_deref(), None, "version")?;
    let (code_a, code_b) = (hierarchy.normalise(&a.code), hierarchy.normalise(&b.code));
    let statuses = codes::statuses(ctx, &release, resolved.system, &[&code_a, &code_b])?;
    let unknown: Vec<Issue> = [&a, &b]
        .into_iter()
        .zip(&statuses)
        .filter(|(_, s)| !s.as_ref().is_some_and(|s| s.present))
        .map(|(side, _)| codes::unknown_code(lang, &side.code, url, &release.label, side.at))
        .collect();
    if !unknown.is_empty() {
        return Err(FhirError::Outcome {
            status: StatusCode::NOT_FOUND,
            outcome: OperationOutcome::new(unknown),
        });
    }
    let mut out = Parameters::default();
    out.push(
        "outcome",
        Out::Code(hierarchy.compare(&code_a, &code_b).as_str().to_owned()),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_codes_nest_by_prefix_and_dots_are_dropped() {
        let h = Hierarchy::Icd10;
        assert_eq!(h.compare("E10", "E100"), Outcome::Subsumes);
        assert_eq!(h.compare("E100", "E10"), Outcome::SubsumedBy);
        assert_eq!(h.compare("F152", "F152a"), Outcome::Subsumes);
        assert_eq!(h.compare("E10", "F152a"), Outcome::NotSubsumed);
        assert_eq!(h.compare("E10", "E11"), Outcome::NotSubsumed);
        assert_eq!(h.compare("E100", "E101"), Outcome::NotSubsumed);
        assert_eq!(h.compare("T08", "T08-1"), Outcome::Subsumes);
        assert_eq!(h.compare("E10", "E10"), Outcome::Equivalent);
        assert_eq!(h.normalise("E10.0"), "E100");
        assert_eq!(h.normalise("T08.-1"), "T08-1");
        assert_eq!(h.normalise("E10."), "E10.");
        assert_eq!(h.normalise("E100"), "E100");
        assert_eq!(
            h.compare(&h.normalise("E10.0"), &h.normalise("E100")),
            Outcome::Equivalent
        );
    }

    #[test]
    fn nursing_levels_nest_and_000_is_an_empty_level() {
        let h = Hierarchy::NursingAction16;
        assert_eq!(
            h.compare("A001B001C001D000", "A001B001C001D001"),
            Outcome::Subsumes
        );
        assert_eq!(
            h.compare("A001B001C001D002", "A001B001C001D000"),
            Outcome::SubsumedBy
        );
        assert_eq!(
            h.compare("A001B001C001D001", "A001B001C001D002"),
            Outcome::NotSubsumed
        );
        assert_eq!(
            h.compare("A001B001C001D000", "A001B001C002D001"),
            Outcome::NotSubsumed
        );
        assert_eq!(h.compare("A001B001", "A001B001C001D001"), Outcome::Subsumes);
        assert_eq!(
            h.compare("A001B001C001", "A001B001C001D000"),
            Outcome::Equivalent
        );
        assert_eq!(
            h.compare("E017F050G107H000", "E017F050G107H001"),
            Outcome::Subsumes
        );
        // Not level-shaped: equal or unrelated, never a prefix match.
        assert_eq!(h.compare("A001B", "A001B001C001D001"), Outcome::NotSubsumed);
        assert_eq!(h.compare("x", "x"), Outcome::Equivalent);
    }
}
