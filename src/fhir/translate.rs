//! `ConceptMap/$translate` (`../shared/docs/fhir-terminology.md` §3.10) through the
//! ConceptMaps hyojun serves ([`super::conceptmap`]): a local code → the standard code its
//! project's **approved** mapping gives (the rule `/v1` translation uses:
//! [`crate::api::translate::translate_local`]), a code with a 移行先 → where its chain ends in
//! the release asked for, and the reverse of both (a standard code → the local codes approved
//! mappings give it; a code → the codes whose 移行先 chain ends at it,
//! [`crate::app::translate::sources_of`] and [`crate::store::Store::predecessors`]).
//!
//! **In**, R4 and R5 spellings alike (test clients send R5 names to R4 servers):
//!
//! * the concept: `code`/`sourceCode` with `system` (or `sourceSystem`) and `version`,
//!   `coding`/`sourceCoding`, or every coding of `codeableConcept`/`sourceCodeableConcept`;
//!   reverse with `reverse=true` and those, or R5's `targetCode` (its system `targetSystem`,
//!   else `system`), `targetCoding`, `targetCodeableConcept`;
//! * the map: `url`, or `conceptMap` (a canonical, or a resource whose `url` is one of
//!   hyojun's: the server's own content answers, a supplied map is not evaluated), with
//!   `conceptMapVersion` (a project's current revision; a release label of a successor map),
//!   or the instance (`ConceptMap/{id}/$translate`). Without one, every map whose side
//!   matches the concept's system: projects whose local system it is (reverse: whose target
//!   systems include it) and the successor map of its master;
//! * filters: `targetsystem`/`targetSystem` — the system answers must be in (reverse:
//!   `sourceSystem`, else `targetSystem` unless it named the concept's system); `source`/
//!   `sourceScope` and `target`/`targetScope` — value sets the map's source and target side
//!   must be in (`{system}?fhir_vs`, a published or supplied one listing whole systems or
//!   codes, or the URL of one of hyojun's code systems as R4 clients send it; an unknown one
//!   is a 404, one with filters a 400). `dependency` is accepted and has no effect (hyojun's
//!   maps have no `dependsOn`).
//!
//! **Out** (R4): `result` (a match was found), `message` (why not, or hints: a target retired
//! in its master's current release and its 移行先), and one `match` per answer: `equivalence`
//! (for reverse answers read from the answer's side: a `wider` mapping answers `narrower`),
//! `concept` (system, version for successor maps, code, display), `source` (the map's url).
//! A code the map does not know, or a version that does not exist, is an answer without a
//! match (`result` false with the message), not an error; an unknown map or map version is a
//! 404 OperationOutcome.

use super::canon;
use super::codes::{self, NoRelease};
use super::conceptmap::{self, MapId};
use super::error::FhirError;
use super::messages;
use super::params::{Coding, Out, OutParam, Parameters, Params};
use super::valueset;
use super::Context;
use crate::api::translate::translate_local;
use crate::app::translate::{sources_of, Include};
use crate::mapping::exchange::system_uri;
use crate::mapping::state::{Equivalence, State};
use crate::store::lookup::CodeRef;
use crate::store::mapping::Project;
use crate::systems::{self, Master};

/// A value set the map's source or target side must be in: (system, listed codes or all).
#[derive(Debug, Clone)]
struct Scope {
    parts: Vec<(String, Option<Vec<String>>)>,
}

impl Scope {
    /// Reads a `source`/`target` scope: `{system}?fhir_vs` (any system, a project's local one
    /// too), a value set hyojun knows whose includes name systems (all codes, or listed), or —
    /// as R4 clients often send it — the URL of one of hyojun's code systems itself.
    fn read(reference: &str, params: &Params, ctx: &Context) -> Result<Scope, FhirError> {
        if let Some(system) = reference.strip_suffix("?fhir_vs") {
            return Ok(Scope {
                parts: vec![(system.to_owned(), None)],
            });
        }
        let Some(set) = valueset::resolve(reference, None, params) else {
            return match canon::resolve(reference) {
                Some(system) => Ok(Scope {
                    parts: vec![(system.url().to_owned(), None)],
                }),
                None => Err(valueset::not_found(ctx.lang, reference)),
            };
        };
        let mut parts = Vec::new();
        for include in &set.include {
            let Some(system) = include.system.clone() else {
                return Err(FhirError::Invalid(format!(
                    "the value set {} includes other value sets: $translate scopes are read as lists of systems and codes",
                    crate::excerpt::excerpt(reference)
                )));
            };
            if !include.filter.is_empty() || !include.value_set.is_empty() {
                return Err(FhirError::Invalid(format!(
                    "the value set {} has filters: $translate scopes are read as lists of systems and codes",
                    crate::excerpt::excerpt(reference)
                )));
            }
            let codes = (!include.concept.is_empty())
                .then(|| include.concept.iter().map(|c| c.code.clone()).collect());
            parts.push((system, codes));
        }
        if !set.exclude.is_empty() {
            return Err(FhirError::Invalid(format!(
                "the value set {} excludes codes: $translate scopes are read as lists of systems and codes",
                crate::excerpt::excerpt(reference)
            )));
        }
        Ok(Scope { parts })
    }

    fn admits(&self, system: &str, code: &str) -> bool {
        self.parts.iter().any(|(s, codes)| {
            same_system(s, system) && codes.as_ref().is_none_or(|c| c.iter().any(|c| c == code))
        })
    }
}

/// Whether two system URIs name one system (equal, or one of hyojun's by URL and OID).
fn same_system(a: &str, b: &str) -> bool {
    a == b
        || matches!((canon::resolve(a), canon::resolve(b)),
            (Some(x), Some(y)) if x.system.key == y.system.key)
}

/// What a request asks.
struct Request {
    reverse: bool,
    /// The concepts to translate (each coding of a CodeableConcept).
    given: Vec<Coding>,
    /// The map asked for, and its version.
    map: Option<(MapId, Option<String>)>,
    /// The system answers must be in.
    answer_system: Option<String>,
    source_scope: Option<Scope>,
    target_scope: Option<Scope>,
}

fn read_request(
    ctx: &Context,
    params: &Params,
    instance: Option<&str>,
) -> Result<Request, FhirError> {
    let r5_reverse = ["targetCode", "targetCoding", "targetCodeableConcept"]
        .iter()
        .any(|n| params.get(n).is_some());
    let reverse = r5_reverse || params.flag("reverse", false)?;
    let version = params.text("version");
    let mut given: Vec<Coding> = Vec::new();
    // Whether `targetSystem` named the concept's system (R5 reverse with targetCode).
    let mut target_system_taken = false;
    let (coding_names, concept_names): (&[&str], &[&str]) = if r5_reverse {
        (&["targetCoding"], &["targetCodeableConcept"])
    } else {
        (
            &["coding", "sourceCoding"],
            &["codeableConcept", "sourceCodeableConcept"],
        )
    };
    for name in coding_names {
        if let Some(c) = params.coding(name)? {
            given.push(c);
        }
    }
    for name in concept_names {
        if let Some(cc) = params.codeable_concept(name)? {
            given.extend(cc.coding);
        }
    }
    let code_text = if r5_reverse {
        params.text("targetCode")
    } else {
        params.text_of(&["code", "sourceCode"])
    };
    if let Some(code) = code_text {
        let system = if r5_reverse {
            match params.text("targetSystem") {
                Some(s) => {
                    target_system_taken = true;
                    Some(s)
                }
                None => params.text("system"),
            }
        } else {
            params.text_of(&["system", "sourceSystem"])
        };
        given.push(Coding {
            system,
            version: version.clone(),
            code: Some(code),
            display: None,
        });
    }
    if given.is_empty() {
        return Err(FhirError::Invalid(
            "give the concept to translate: `code` (or `sourceCode`) with `system`, `coding`, `codeableConcept`; to translate back, `reverse=true` with those or `targetCode` with `targetSystem`, `targetCoding`, `targetCodeableConcept`".into(),
        ));
    }
    let answer_system = if reverse {
        params.text("sourceSystem").or_else(|| {
            (!target_system_taken)
                .then(|| params.text_of(&["targetsystem", "targetSystem"]))
                .flatten()
        })
    } else {
        params.text_of(&["targetsystem", "targetSystem"])
    };
    let map_version = params.text("conceptMapVersion");
    let map = match instance {
        Some(id) => Some((
            MapId::from_id(id).ok_or_else(|| conceptmap::unknown(ctx, id))?,
            map_version,
        )),
        None => {
            let named = match params.get("conceptMap") {
                Some(p) => match p.resource() {
                    Some(resource) => {
                        let url = resource.get("url").and_then(|u| u.as_str());
                        match url.filter(|u| MapId::from_url(u).is_some()) {
                            Some(u) => Some(u.to_owned()),
                            None => {
                                return Err(FhirError::Invalid(
                                    "a supplied ConceptMap is not evaluated: hyojun translates through its own ConceptMaps (give `url`, or see GET ConceptMap)".into(),
                                ))
                            }
                        }
                    }
                    None => p.as_text(),
                },
                None => None,
            };
            match params.text("url").or(named) {
                Some(url) => {
                    let map =
                        MapId::from_url(&url).ok_or_else(|| conceptmap::unknown(ctx, &url))?;
                    // `url|version` names the version too.
                    let pinned = url.split_once('|').map(|(_, v)| v.to_owned());
                    Some((map, map_version.or(pinned)))
                }
                None => None,
            }
        }
    };
    let scope = |names: &[&str]| -> Result<Option<Scope>, FhirError> {
        params
            .text_of(names)
            .map(|r| Scope::read(&r, params, ctx))
            .transpose()
    };
    Ok(Request {
        reverse,
        given,
        map,
        answer_system,
        source_scope: scope(&["source", "sourceScope"])?,
        target_scope: scope(&["target", "targetScope"])?,
    })
}

/// A map a concept is translated through.
#[derive(Clone)]
enum Route {
    Project(Project),
    /// A master's 移行先, in this release label when the request pins the map's version.
    Successors(Master, Option<String>),
}

/// The map the request names, checked: it exists, and has the version asked for.
fn named_route(ctx: &Context, map: MapId, version: Option<&str>) -> Result<Route, FhirError> {
    let unknown = || conceptmap::unknown(ctx, &map.url());
    match map {
        MapId::Project(n) => {
            let project = conceptmap::project(ctx, n)?.ok_or_else(unknown)?;
            if let Some(v) = version {
                let current = project.revision.to_string();
                if v != current {
                    return Err(conceptmap::unknown_version(ctx, map, v, &[current]));
                }
            }
            Ok(Route::Project(project))
        }
        MapId::Successors(master) => {
            if !conceptmap::has_successor_map(ctx, master)? {
                return Err(unknown());
            }
            if let Some(v) = version {
                if let Err(problem) = conceptmap::successor_release(ctx, master, Some(v))? {
                    let valid = match problem {
                        NoRelease::UnknownVersion { valid, .. } | NoRelease::None { valid } => {
                            valid
                        }
                    };
                    return Err(conceptmap::unknown_version(ctx, map, v, &valid));
                }
            }
            Ok(Route::Successors(master, version.map(str::to_owned)))
        }
    }
}

/// One answer.
#[derive(Debug, Clone, PartialEq)]
struct Match {
    equivalence: &'static str,
    concept: Coding,
    source: String,
}

/// What translating gathers: answers, and texts for `message`.
#[derive(Default)]
struct Answer {
    matches: Vec<Match>,
    notes: Vec<String>,
}

impl Answer {
    fn note(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }
}

/// An equivalence read from the other side (reverse answers).
fn inverse(equivalence: &'static str) -> &'static str {
    match equivalence {
        "wider" => "narrower",
        "narrower" => "wider",
        "subsumes" => "specializes",
        "specializes" => "subsumes",
        other => other,
    }
}

/// `$translate` (type level, or on one ConceptMap instance).
pub fn run(
    ctx: &Context,
    params: &Params,
    instance: Option<&str>,
) -> Result<Parameters, FhirError> {
    let request = read_request(ctx, params, instance)?;
    let named = match &request.map {
        Some((map, version)) => Some(named_route(ctx, *map, version.as_deref())?),
        None => None,
    };
    // Every project (for maps chosen by system), read once.
    let projects = match named {
        Some(_) => Vec::new(),
        None => ctx.state.store.projects()?,
    };
    let mut answer = Answer::default();
    for coding in &request.given {
        let (Some(system), Some(code)) = (coding.system.as_deref(), coding.code.as_deref()) else {
            return Err(FhirError::Invalid(
                "each concept to translate needs a code and its system".into(),
            ));
        };
        let routes: Vec<Route> = match &named {
            Some(route) => vec![route.clone()],
            None => routes_for(ctx, &projects, system, request.reverse)?,
        };
        if routes.is_empty() {
            let id = if request.reverse {
                "HYOJUN_TRANSLATE_NO_MAP_REVERSE"
            } else {
                "HYOJUN_TRANSLATE_NO_MAP"
            };
            answer.note(messages::text(ctx.lang, id, &[&system]));
            continue;
        }
        // The concept's own side must be in its scope.
        let own_scope = if request.reverse {
            &request.target_scope
        } else {
            &request.source_scope
        };
        if own_scope.as_ref().is_some_and(|s| !s.admits(system, code)) {
            continue;
        }
        let (mut found_any, mut kept) = (false, false);
        for route in &routes {
            let found = match (route, request.reverse) {
                (Route::Project(p), false) => project_forward(ctx, p, system, code, &mut answer)?,
                (Route::Project(p), true) => project_reverse(ctx, p, system, code, &mut answer)?,
                (Route::Successors(m, v), reverse) => {
                    let version = v.as_deref().or(coding.version.as_deref());
                    successors(ctx, *m, system, code, version, reverse, &mut answer)?
                }
            };
            let answer_scope = if request.reverse {
                &request.source_scope
            } else {
                &request.target_scope
            };
            for m in found {
                found_any = true;
                let system = m.concept.system.as_deref().unwrap_or("");
                let code = m.concept.code.as_deref().unwrap_or("");
                let wanted = request
                    .answer_system
                    .as_deref()
                    .is_none_or(|s| same_system(s, system))
                    && answer_scope.as_ref().is_none_or(|s| s.admits(system, code));
                kept |= wanted;
                if wanted && !answer.matches.contains(&m) {
                    answer.matches.push(m);
                }
            }
        }
        if found_any && !kept {
            answer.note(messages::text(
                ctx.lang,
                "HYOJUN_TRANSLATE_FILTERED",
                &[&format!("{system}#{code}")],
            ));
        }
    }
    let mut out = Parameters::default();
    out.push("result", Out::Boolean(!answer.matches.is_empty()));
    if !answer.notes.is_empty() {
        out.push("message", Out::String(answer.notes.join("; ")));
    }
    for m in answer.matches {
        out.push_param(OutParam::parts(
            "match",
            vec![
                OutParam::value("equivalence", Out::Code(m.equivalence.to_owned())),
                OutParam::value("concept", Out::Coding(m.concept)),
                OutParam::value("source", Out::Uri(m.source)),
            ],
        ));
    }
    Ok(out)
}

/// The maps a concept of `system` goes through when the request names none: projects whose
/// local system it is (reverse: whose target systems include it), then its master's
/// successor map.
fn routes_for(
    ctx: &Context,
    projects: &[Project],
    system: &str,
    reverse: bool,
) -> Result<Vec<Route>, FhirError> {
    let resolved = canon::resolve(system);
    let mut routes: Vec<Route> = projects
        .iter()
        .filter(|p| {
            if reverse {
                resolved.is_some_and(|r| p.target_systems.iter().any(|t| t == r.system.key))
            } else {
                p.local_system == system
            }
        })
        .cloned()
        .map(Route::Project)
        .collect();
    if let Some(r) = resolved {
        if conceptmap::has_successor_map(ctx, r.system.master)? {
            routes.push(Route::Successors(r.system.master, None));
        }
    }
    Ok(routes)
}

/// A local code → its approved target.
fn project_forward(
    ctx: &Context,
    project: &Project,
    system: &str,
    code: &str,
    answer: &mut Answer,
) -> Result<Vec<Match>, FhirError> {
    let map = MapId::Project(project.id).url();
    let lang = ctx.lang;
    if project.local_system != system {
        answer.note(messages::text(
            lang,
            "HYOJUN_TRANSLATE_NO_GROUP",
            &[&map, &system],
        ));
        return Ok(Vec::new());
    }
    let result = translate_local(
        &ctx.state,
        project.id,
        &[code.to_owned()],
        Include::Approved,
    )?;
    let Some(item) = result.items.into_iter().next() else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    match item.result {
        "translated" => {
            for t in item.targets {
                let target_url = system_uri(&t.system);
                if t.status != "active" {
                    answer.note(messages::text(
                        lang,
                        "HYOJUN_TARGET_STATUS",
                        &[&format!("{target_url}#{}", t.code), &code, &t.status],
                    ));
                    if !t.successors.is_empty() {
                        let named: Vec<String> = t
                            .successors
                            .iter()
                            .map(|s| format!("{}#{}", system_uri(&s.system), s.code))
                            .collect();
                        answer.note(messages::text(
                            lang,
                            "HYOJUN_SUCCESSOR",
                            &[&t.code, &named.join(", ")],
                        ));
                    }
                }
                found.push(Match {
                    equivalence: t.equivalence.unwrap_or(Equivalence::Equivalent).as_str(),
                    concept: Coding {
                        system: Some(target_url),
                        version: None,
                        display: t.current_display.or(t.display).filter(|d| !d.is_empty()),
                        code: Some(t.code),
                    },
                    source: map.clone(),
                });
            }
        }
        "no_match" => answer.note(messages::text(
            lang,
            "HYOJUN_TRANSLATE_NO_MATCH",
            &[&code, &map],
        )),
        "unknown" => answer.note(messages::text(
            lang,
            "HYOJUN_TRANSLATE_LOCAL_UNKNOWN",
            &[&code, &map],
        )),
        _ => answer.note(messages::text(
            lang,
            "HYOJUN_TRANSLATE_NOT_APPROVED",
            &[&code, &map, &item.state.unwrap_or(State::Unmapped).as_str()],
        )),
    }
    Ok(found)
}

/// A standard code → the local codes whose approved mappings give it.
fn project_reverse(
    ctx: &Context,
    project: &Project,
    system: &str,
    code: &str,
    answer: &mut Answer,
) -> Result<Vec<Match>, FhirError> {
    let map = MapId::Project(project.id).url();
    let key = canon::resolve(system)
        .map(|r| r.system.key)
        .filter(|k| project.target_systems.iter().any(|t| t == k));
    let Some(key) = key else {
        answer.note(messages::text(
            ctx.lang,
            "HYOJUN_TRANSLATE_NO_GROUP_REVERSE",
            &[&map, &system],
        ));
        return Ok(Vec::new());
    };
    let table = ctx.state.translations.table(&ctx.state, project.id)?;
    let found: Vec<Match> = sources_of(&table, key, code, Include::Approved)
        .into_iter()
        .map(|row| Match {
            equivalence: inverse(row.equivalence.unwrap_or(Equivalence::Equivalent).as_str()),
            concept: Coding {
                system: Some(project.local_system.clone()),
                version: None,
                code: Some(row.local_code.clone()),
                display: Some(row.local_name.clone()).filter(|d| !d.is_empty()),
            },
            source: map.clone(),
        })
        .collect();
    if found.is_empty() {
        answer.note(messages::text(
            ctx.lang,
            "HYOJUN_TRANSLATE_NO_SOURCE",
            &[&format!("{}#{code}", system_uri(key)), &map],
        ));
    }
    Ok(found)
}

/// A code → where its 移行先 chain ends in the release (`version`, else the activated one);
/// reverse: a code → the codes whose chain ends at it.
fn successors(
    ctx: &Context,
    master: Master,
    system: &str,
    code: &str,
    version: Option<&str>,
    reverse: bool,
    answer: &mut Answer,
) -> Result<Vec<Match>, FhirError> {
    let map = MapId::Successors(master).url();
    let lang = ctx.lang;
    let Some(resolved) = canon::resolve(system).filter(|r| r.system.master == master) else {
        let id = if reverse {
            "HYOJUN_TRANSLATE_NO_GROUP_REVERSE"
        } else {
            "HYOJUN_TRANSLATE_NO_GROUP"
        };
        answer.note(messages::text(lang, id, &[&map, &system]));
        return Ok(Vec::new());
    };
    let url = resolved.url();
    let release = match codes::release(ctx, resolved.system, version, None)? {
        Ok(release) => release,
        Err(NoRelease::UnknownVersion { asked, valid }) => {
            answer.note(messages::text(
                lang,
                "UNKNOWN_CODESYSTEM_VERSION",
                &[&url, &asked, &codes::or_list(&valid)],
            ));
            return Ok(Vec::new());
        }
        Err(NoRelease::None { .. }) => {
            answer.note(messages::text(lang, "UNKNOWN_CODESYSTEM", &[&url]));
            return Ok(Vec::new());
        }
    };
    let status = codes::status(ctx, &release, resolved.system, code)?;
    let Some(status) = status.filter(|s| s.present) else {
        answer.note(messages::text(
            lang,
            "Unknown_Code_in_Version",
            &[&code, &url, &release.label],
        ));
        return Ok(Vec::new());
    };
    let coding = |system: &'static systems::CodeSystem, code: &str, display: Option<&str>| Coding {
        system: Some(canon::url(system).to_owned()),
        version: Some(release.label.clone()),
        code: Some(code.to_owned()),
        display: display.filter(|d| !d.is_empty()).map(str::to_owned),
    };
    let mut found = Vec::new();
    if !reverse {
        if status.successors.is_empty() {
            answer.note(messages::text(
                lang,
                "HYOJUN_TRANSLATE_NO_SUCCESSOR",
                &[&code, &url, &release.label],
            ));
        }
        for s in &status.successors {
            let Some(target) = systems::by_key(&s.system) else {
                continue;
            };
            let display = codes::status(ctx, &release, target, &s.code)?;
            found.push(Match {
                equivalence: "relatedto",
                concept: coding(target, &s.code, display.as_ref().and_then(|d| d.display())),
                source: map.clone(),
            });
        }
        return Ok(found);
    }
    let end = CodeRef {
        system: resolved.system.key.to_owned(),
        code: code.to_owned(),
    };
    let predecessors = ctx
        .state
        .store
        .predecessors(&release, resolved.system.key, code)?;
    for source in systems::of_master(master) {
        // Answers by code (bytes), as a map lists its elements.
        let mut codes_of: Vec<&str> = predecessors
            .iter()
            .filter(|(s, _)| s == source.key)
            .map(|(_, c)| c.as_str())
            .collect();
        codes_of.sort_unstable();
        if codes_of.is_empty() {
            continue;
        }
        let statuses = codes::statuses(ctx, &release, source, &codes_of)?;
        for (c, s) in codes_of.iter().zip(statuses) {
            let Some(s) = s.filter(|s| s.present && s.successors.contains(&end)) else {
                continue;
            };
            found.push(Match {
                equivalence: "relatedto",
                concept: coding(source, c, s.display()),
                source: map.clone(),
            });
        }
    }
    if found.is_empty() {
        answer.note(messages::text(
            lang,
            "HYOJUN_TRANSLATE_NO_SOURCE",
            &[&format!("{url}#{code}"), &map],
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_answers_read_the_equivalence_from_their_side() {
        assert_eq!(inverse("wider"), "narrower");
        assert_eq!(inverse("narrower"), "wider");
        assert_eq!(inverse("equivalent"), "equivalent");
        assert_eq!(inverse("relatedto"), "relatedto");
        assert_eq!(inverse("inexact"), "inexact");
    }

    #[test]
    fn hyojuns_messages_have_english_and_japanese() {
        use super::messages::Lang;
        for id in [
            "HYOJUN_CONCEPTMAP_UNKNOWN",
            "HYOJUN_CONCEPTMAP_VERSION",
            "HYOJUN_NO_HIERARCHY",
            "HYOJUN_TARGET_STATUS",
            "HYOJUN_TRANSLATE_FILTERED",
            "HYOJUN_TRANSLATE_LOCAL_UNKNOWN",
            "HYOJUN_TRANSLATE_NOT_APPROVED",
            "HYOJUN_TRANSLATE_NO_GROUP",
            "HYOJUN_TRANSLATE_NO_GROUP_REVERSE",
            "HYOJUN_TRANSLATE_NO_MAP",
            "HYOJUN_TRANSLATE_NO_MAP_REVERSE",
            "HYOJUN_TRANSLATE_NO_MATCH",
            "HYOJUN_TRANSLATE_NO_SOURCE",
            "HYOJUN_TRANSLATE_NO_SUCCESSOR",
        ] {
            let args: [&dyn std::fmt::Display; 4] = [&"a", &"b", &"c", &"d"];
            let (en, ja) = (
                messages::text(Lang::En, id, &args),
                messages::text(Lang::Ja, id, &args),
            );
            assert!(!en.contains('{') && !ja.contains('{'), "{id}: {en} / {ja}");
            assert_ne!(en, ja, "{id} has no Japanese");
        }
        assert_eq!(
            messages::text(
                Lang::Ja,
                "HYOJUN_TRANSLATE_NO_SUCCESSOR",
                &[&"29990001", &"http://a", &"5.18"]
            ),
            "概念'29990001'にはコードシステム'http://a'のバージョン'5.18'で移行先がありません"
        );
    }

    #[test]
    fn systems_compare_by_url_and_alias() {
        assert!(same_system(
            "http://medis.or.jp/CodeSystem/master-HOT9",
            "urn:oid:1.2.392.100495.20.2.74"
        ));
        assert!(same_system("http://a.example/cs", "http://a.example/cs"));
        assert!(!same_system(
            "http://medis.or.jp/CodeSystem/master-HOT9",
            "http://medis.or.jp/CodeSystem/master-HOT7"
        ));
        let scope = Scope {
            parts: vec![
                ("http://a.example/cs".into(), Some(vec!["1".into()])),
                ("http://medis.or.jp/CodeSystem/master-HOT9".into(), None),
            ],
        };
        assert!(scope.admits("http://a.example/cs", "1"));
        assert!(!scope.admits("http://a.example/cs", "2"));
        assert!(scope.admits("urn:oid:1.2.392.200119.4.403.1", "900309501"));
    }
}
