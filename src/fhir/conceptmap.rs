//! The ConceptMaps hyojun serves (FHIR R4), read at `GET /fhir/ConceptMap/{id}` and searched
//! at `GET /fhir/ConceptMap?url=…&version=…` (`../shared/docs/fhir-terminology.md` §3.10,
//! §3.12), and what `$translate` ([`super::translate`]) translates through:
//!
//! * **A mapping project's approved mappings** — id `hyojun-mapping-{project id}` (the id
//!   the `/v1` export already gives the resource), `version` the project's revision (bumped by
//!   every change to its local codes or mappings; only the current revision is served). The
//!   resource is the export's ([`crate::mapping::exchange::ConceptMapWriter`], settled
//!   mappings: one group per target system from the project's local system, `equivalence` as
//!   reviewed, reviewed no-match decisions as `unmatched`), streamed page by page so that a
//!   project of 100,000 local codes is never one value in memory.
//! * **A master's 移行先 (successors)** — id `hyojun-successors-{master}` (`byomei`,
//!   `nursing`: every master whose rows name a 移行先), `version` the release label (the
//!   activated release by default; every release is a version, `meta.versionId` hyojun's id
//!   of the release revision, so that a search listing several versions names each apart).
//!   One group per code system: each code whose rows name a 移行先 in that release → the
//!   code(s) its 移行先 chain ends at there, the code to use instead (the rule `/v1`
//!   validation and translation use, [`crate::store::lookup::CodeStatus::successors`]). Only
//!   those codes are read — a few, whatever the size of the master.
//!
//!   `equivalence` is `relatedto`: R4's ConceptMapEquivalence has no "replaced by", and the
//!   masters say only that a code is replaced, not how the meanings relate (a 病名 may be
//!   abolished as a duplicate, for a more precise name, or merged into a broader one).
//!   `equivalent` would tell clients to substitute without review, which the master does
//!   not claim; `relatedto` ("some overlap, exact relationship not known") is what it does
//!   claim. Each target's `comment` says it is the 移行先.
//!
//! Canonical URLs are `urn:hyojun:conceptmap:{id}`: the same whatever host name or proxy a
//! client reaches the server through (a URL built from the request's host would change with
//! it), in the `urn:hyojun:` namespace hyojun already uses for systems without a published
//! URL.

use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use futures_util::{Stream, StreamExt};
use serde_json::{json, Map, Value};

use super::canon;
use super::codes::{self, NoRelease};
use super::error::FhirError;
use super::messages;
use super::outcome::{Issue, Severity};
use super::params::Params;
use super::{Context, FHIR_JSON};
use crate::api::mapping::{concept_map_stream, ExportChunk};
use crate::ids::ProjectId;
use crate::mapping::exchange::ConceptMapOptions;
use crate::store::mapping::Project;
use crate::store::models::ReleaseRow;
use crate::store::StoreError;
use crate::systems::{self, Master};

/// How the canonical URL of every ConceptMap hyojun serves starts.
pub const URL_PREFIX: &str = "urn:hyojun:conceptmap:";

/// The `comment` of every target of a successor map.
pub const SUCCESSOR_COMMENT: &str =
    "移行先 (replaced by): where the retired code's 移行先 chain ends in this release";

/// One of the ConceptMaps hyojun serves, by what it maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapId {
    /// A mapping project's approved mappings.
    Project(ProjectId),
    /// A master's 移行先.
    Successors(Master),
}

impl MapId {
    /// The resource id (`hyojun-mapping-3`, `hyojun-successors-byomei`).
    pub fn id(self) -> String {
        match self {
            MapId::Project(n) => format!("hyojun-mapping-{n}"),
            MapId::Successors(master) => format!("hyojun-successors-{}", master.key()),
        }
    }

    /// The canonical URL (`urn:hyojun:conceptmap:{id}`).
    pub fn url(self) -> String {
        format!("{URL_PREFIX}{}", self.id())
    }

    /// The map a resource id names (exactly as [`MapId::id`] writes it).
    pub fn from_id(id: &str) -> Option<MapId> {
        if let Some(n) = id.strip_prefix("hyojun-mapping-") {
            let n: ProjectId = n.parse().ok()?;
            let map = MapId::Project(n);
            return (n.get() > 0 && map.id() == id).then_some(map);
        }
        let master = id
            .strip_prefix("hyojun-successors-")?
            .parse::<Master>()
            .ok()?;
        Some(MapId::Successors(master))
    }

    /// The map a canonical URL names (`url` or `url|version`: the version is ignored here).
    pub fn from_url(url: &str) -> Option<MapId> {
        let url = url.split_once('|').map_or(url, |(u, _)| u);
        MapId::from_id(url.strip_prefix(URL_PREFIX)?)
    }
}

/// The code systems of a master, as keys.
pub fn system_keys(master: Master) -> Vec<&'static str> {
    systems::of_master(master).map(|s| s.key).collect()
}

/// Whether `master` has a successor map: whether any of its rows (any release) names a 移行先.
pub fn has_successor_map(ctx: &Context, master: Master) -> Result<bool, FhirError> {
    Ok(ctx.state.store.has_successor_links(&system_keys(master))?)
}

/// The 404 of a ConceptMap that does not exist.
pub fn unknown(ctx: &Context, reference: &str) -> FhirError {
    FhirError::issue(
        StatusCode::NOT_FOUND,
        Issue::new(
            Severity::Error,
            "not-found",
            messages::text(
                ctx.lang,
                "HYOJUN_CONCEPTMAP_UNKNOWN",
                &[&crate::excerpt::excerpt(reference)],
            ),
        )
        .tx_type("not-found")
        .message_id("HYOJUN_CONCEPTMAP_UNKNOWN"),
    )
}

/// The 404 of a version a ConceptMap does not have.
pub fn unknown_version(ctx: &Context, map: MapId, asked: &str, valid: &[String]) -> FhirError {
    FhirError::issue(
        StatusCode::NOT_FOUND,
        Issue::new(
            Severity::Error,
            "not-found",
            messages::text(
                ctx.lang,
                "HYOJUN_CONCEPTMAP_VERSION",
                &[
                    &map.url(),
                    &crate::excerpt::excerpt(asked),
                    &codes::or_list(valid),
                ],
            ),
        )
        .tx_type("not-found")
        .message_id("HYOJUN_CONCEPTMAP_VERSION"),
    )
}

/// A mapping project, `None` when there is no such project.
pub fn project(ctx: &Context, id: ProjectId) -> Result<Option<Project>, FhirError> {
    match ctx.state.store.project(id) {
        Ok(p) => Ok(Some(p)),
        Err(StoreError::NotFound(..)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The release a successor map is read in: `version` (a release label, `LABEL@N`), else the
/// master's activated release.
pub fn successor_release(
    ctx: &Context,
    master: Master,
    version: Option<&str>,
) -> Result<Result<ReleaseRow, NoRelease>, FhirError> {
    let Some(system) = systems::of_master(master).next() else {
        return Ok(Err(NoRelease::None { valid: Vec::new() }));
    };
    codes::release(ctx, system, version, None)
}

/// One ConceptMap at one version, ready to be written: a project (its map is streamed from
/// the database while answering) or a successor map, already made (it is small).
enum Found {
    Project(Project),
    Made(MapId, Vec<u8>),
}

impl Found {
    fn map(&self) -> MapId {
        match self {
            Found::Project(p) => MapId::Project(p.id),
            Found::Made(map, _) => *map,
        }
    }
}

/// A successor map made, as JSON.
fn made(ctx: &Context, master: Master, release: &ReleaseRow) -> Result<Found, FhirError> {
    let map = successor_map(ctx, master, release)?;
    let bytes = serde_json::to_vec(&map)
        .map_err(|e| FhirError::Api(crate::api::ApiError::Internal(e.to_string())))?;
    Ok(Found::Made(MapId::Successors(master), bytes))
}

/// The map `GET ConceptMap/{id}` reads, at its current version (read on a blocking thread).
fn current(ctx: &Context, id: &str) -> Result<Found, FhirError> {
    let map = MapId::from_id(id).ok_or_else(|| unknown(ctx, id))?;
    match map {
        MapId::Project(n) => project(ctx, n)?
            .map(Found::Project)
            .ok_or_else(|| unknown(ctx, id)),
        MapId::Successors(master) => {
            if !has_successor_map(ctx, master)? {
                return Err(unknown(ctx, id));
            }
            match successor_release(ctx, master, None)? {
                Ok(release) => made(ctx, master, &release),
                Err(NoRelease::UnknownVersion { asked, valid }) => {
                    Err(unknown_version(ctx, map, &asked, &valid))
                }
                Err(NoRelease::None { valid }) => Err(FhirError::issue(
                    StatusCode::NOT_FOUND,
                    Issue::new(
                        Severity::Error,
                        "not-found",
                        format!(
                            "{} has no activated release, so the ConceptMap {} has no current version: search it with version = {}",
                            master.name(),
                            map.url(),
                            codes::or_list(&valid)
                        ),
                    )
                    .tx_type("not-found"),
                )),
            }
        }
    }
}

/// `GET ConceptMap/{id}`: the current version (a project's revision, a master's activated
/// release).
pub async fn read(ctx: Context, id: String) -> Result<HttpResponse, FhirError> {
    let ctx = std::sync::Arc::new(ctx);
    let found = {
        let ctx = ctx.clone();
        web::block(move || current(&ctx, &id)).await??
    };
    Ok(respond(vec![piece_of(&ctx, found)?]))
}

/// `GET ConceptMap?url=…&version=…`: a searchset Bundle of every ConceptMap (and version)
/// matching; without `url`, every ConceptMap; without `version`, every version (a project's
/// current revision; each release of a master). Other search parameters are ignored.
pub async fn search(ctx: Context, params: Params) -> Result<HttpResponse, FhirError> {
    let ctx = std::sync::Arc::new(ctx);
    let url = params.text("url");
    let version = params.text("version");
    let found = {
        let ctx = ctx.clone();
        let (url, version) = (url.clone(), version.clone());
        web::block(move || matches(&ctx, url.as_deref(), version.as_deref())).await??
    };
    let mut query: Vec<String> = Vec::new();
    if let Some(url) = &url {
        query.push(format!("url={}", encode(url)));
    }
    if let Some(version) = &version {
        query.push(format!("version={}", encode(version)));
    }
    let self_url = if query.is_empty() {
        format!("{}/ConceptMap", ctx.base)
    } else {
        format!("{}/ConceptMap?{}", ctx.base, query.join("&"))
    };
    let head = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": found.len(),
        "link": [{"relation": "self", "url": self_url}]
    });
    let mut pieces = vec![Piece::Bytes(open_object(&head)?)];
    let entries = found.len();
    for (i, f) in found.into_iter().enumerate() {
        let mut prefix = if i == 0 {
            b",\"entry\":[".to_vec()
        } else {
            b",".to_vec()
        };
        prefix.extend_from_slice(&open_object(&json!({
            "fullUrl": format!("{}/ConceptMap/{}", ctx.base, f.map().id())
        }))?);
        prefix.extend_from_slice(b",\"resource\":");
        pieces.push(Piece::Bytes(prefix));
        pieces.push(piece_of(&ctx, f)?);
        pieces.push(Piece::Bytes(b",\"search\":{\"mode\":\"match\"}}".to_vec()));
    }
    pieces.push(Piece::Bytes(if entries == 0 {
        b"}".to_vec()
    } else {
        b"]}".to_vec()
    }));
    Ok(respond(pieces))
}

/// The ConceptMaps (at one version each) a search matches (read on a blocking thread):
/// projects by id first, then the masters' successor maps, each oldest release first.
fn matches(
    ctx: &Context,
    url: Option<&str>,
    version: Option<&str>,
) -> Result<Vec<Found>, FhirError> {
    let wanted = match url {
        Some(url) => match MapId::from_url(url) {
            Some(map) => Some(map),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    let mut found = Vec::new();
    let projects = match wanted {
        Some(MapId::Project(n)) => project(ctx, n)?.into_iter().collect(),
        Some(MapId::Successors(_)) => Vec::new(),
        None => ctx.state.store.projects()?,
    };
    for p in projects {
        if version.is_none_or(|v| v == p.revision.to_string()) {
            found.push(Found::Project(p));
        }
    }
    let masters: Vec<Master> = match wanted {
        Some(MapId::Successors(m)) => vec![m],
        Some(MapId::Project(_)) => Vec::new(),
        None => Master::ALL.to_vec(),
    };
    for master in masters {
        if !has_successor_map(ctx, master)? {
            continue;
        }
        let asked: Vec<String> = match version {
            Some(v) => vec![v.to_owned()],
            None => codes::labels(ctx, master)?,
        };
        for label in asked {
            if let Ok(release) = successor_release(ctx, master, Some(&label))? {
                found.push(made(ctx, master, &release)?);
            }
        }
    }
    Ok(found)
}

/// Part of an answer: bytes, or a project's map streamed from the database.
enum Piece {
    Bytes(Vec<u8>),
    Stream(Pin<Box<dyn Stream<Item = ExportChunk>>>),
}

/// The resource of one ConceptMap: a project's map streams from the database page by page
/// (each page read on a blocking thread), a successor map was made already.
fn piece_of(ctx: &Context, found: Found) -> Result<Piece, FhirError> {
    match found {
        Found::Project(project) => {
            let options = ConceptMapOptions {
                url: Some(MapId::Project(project.id).url()),
                version: Some(project.revision.to_string()),
                source_uri: None,
                include_all: false,
                date: chrono::Utc::now(),
            };
            let stream = concept_map_stream(ctx.state.store.clone(), &project, &options)?;
            Ok(Piece::Stream(Box::pin(stream)))
        }
        Found::Made(_, bytes) => Ok(Piece::Bytes(bytes)),
    }
}

/// The answer: the pieces, in order, as one `application/fhir+json` body.
fn respond(pieces: Vec<Piece>) -> HttpResponse {
    let parts = pieces.into_iter().map(|piece| match piece {
        Piece::Bytes(bytes) => {
            let chunk: ExportChunk = Ok(web::Bytes::from(bytes));
            Box::pin(futures_util::stream::once(async move { chunk }))
                as Pin<Box<dyn Stream<Item = ExportChunk>>>
        }
        Piece::Stream(stream) => stream,
    });
    HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .streaming(futures_util::stream::iter(parts).flatten())
}

/// A JSON object serialised without its closing brace, so that more members can follow.
fn open_object(value: &Value) -> Result<Vec<u8>, FhirError> {
    let mut bytes = serde_json::to_vec(value)
        .map_err(|e| FhirError::Api(crate::api::ApiError::Internal(e.to_string())))?;
    bytes.pop();
    Ok(bytes)
}

/// Percent-encodes a query value (everything but unreserved characters, `:` and `/`).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A master's successor map in `release`: one group per (code system, target system), one
/// element per code whose rows name a 移行先 there, with the codes its chain ends at.
pub fn successor_map(
    ctx: &Context,
    master: Master,
    release: &ReleaseRow,
) -> Result<Value, FhirError> {
    let map = MapId::Successors(master);
    let keys = system_keys(master);
    let sources = ctx.state.store.codes_with_successors(release, &keys)?;
    let mut groups: Vec<Value> = Vec::new();
    for system in systems::of_master(master) {
        let codes: Vec<&str> = sources
            .iter()
            .filter(|(s, _)| s == system.key)
            .map(|(_, c)| c.as_str())
            .collect();
        if codes.is_empty() {
            continue;
        }
        let statuses = codes::statuses(ctx, release, system, &codes)?;
        // Targets by their system, in registry order: (source code, display, target codes).
        let mut by_target: Vec<(&'static systems::CodeSystem, Vec<Value>)> = Vec::new();
        for (code, status) in codes.iter().zip(&statuses) {
            let Some(status) = status.as_ref().filter(|s| s.present) else {
                continue;
            };
            for target_system in systems::of_master(master) {
                let targets: Vec<&str> = status
                    .successors
                    .iter()
                    .filter(|s| s.system == target_system.key)
                    .map(|s| s.code.as_str())
                    .collect();
                if targets.is_empty() {
                    continue;
                }
                let target_statuses = codes::statuses(ctx, release, target_system, &targets)?;
                let target_json: Vec<Value> = targets
                    .iter()
                    .zip(&target_statuses)
                    .map(|(t, s)| {
                        let mut t_json = Map::new();
                        t_json.insert("code".into(), (*t).into());
                        if let Some(d) = s
                            .as_ref()
                            .and_then(|s| s.display())
                            .filter(|d| !d.is_empty())
                        {
                            t_json.insert("display".into(), d.into());
                        }
                        t_json.insert("equivalence".into(), "relatedto".into());
                        t_json.insert("comment".into(), SUCCESSOR_COMMENT.into());
                        Value::Object(t_json)
                    })
                    .collect();
                let mut element = Map::new();
                element.insert("code".into(), (*code).into());
                if let Some(d) = status.display().filter(|d| !d.is_empty()) {
                    element.insert("display".into(), d.into());
                }
                element.insert("target".into(), Value::Array(target_json));
                match by_target
                    .iter_mut()
                    .find(|(s, _)| s.key == target_system.key)
                {
                    Some((_, elements)) => elements.push(Value::Object(element)),
                    None => by_target.push((target_system, vec![Value::Object(element)])),
                }
            }
        }
        by_target.sort_by_key(|(s, _)| {
            systems::CODE_SYSTEMS
                .iter()
                .position(|x| x.key == s.key)
                .unwrap_or(usize::MAX)
        });
        for (target_system, elements) in by_target {
            groups.push(json!({
                "source": canon::url(system),
                "sourceVersion": release.label,
                "target": canon::url(target_system),
                "targetVersion": release.label,
                "element": elements
            }));
        }
    }
    let date = release
        .publication_date
        .or(release.effective_date)
        .unwrap_or_else(|| release.imported_at.date());
    let publisher = systems::of_master(master)
        .next()
        .map_or("", canon::publisher);
    let mut resource = json!({
        "resourceType": "ConceptMap",
        "id": map.id(),
        // One resource, one version per release: the release (revision) tells them apart.
        "meta": {"versionId": release.id.to_string()},
        "url": map.url(),
        "version": release.label,
        "name": format!("HyojunSuccessors{}", capitalised(master.key())),
        "title": format!("{} 移行先 (successors), {}", master.name(), release.label),
        "status": "active",
        "experimental": false,
        "date": date.to_string(),
        "publisher": publisher,
        "description": format!(
            "The codes of {} {} whose rows name a 移行先 (the code that replaces them), each mapped to where its 移行先 chain ends in that release. Equivalence is relatedto: the master names the replacement but not how the meanings relate.",
            master.name(),
            release.label
        ),
    });
    if !groups.is_empty() {
        resource["group"] = Value::Array(groups);
    }
    Ok(resource)
}

fn capitalised(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_urls_name_one_map_each() {
        assert_eq!(MapId::Project(ProjectId::new(3)).id(), "hyojun-mapping-3");
        assert_eq!(
            MapId::Project(ProjectId::new(3)).url(),
            "urn:hyojun:conceptmap:hyojun-mapping-3"
        );
        assert_eq!(
            MapId::Successors(Master::Byomei).url(),
            "urn:hyojun:conceptmap:hyojun-successors-byomei"
        );
        for map in [
            MapId::Project(ProjectId::new(1)),
            MapId::Project(ProjectId::new(42)),
            MapId::Successors(Master::Nursing),
        ] {
            assert_eq!(MapId::from_id(&map.id()), Some(map));
            assert_eq!(MapId::from_url(&map.url()), Some(map));
            assert_eq!(MapId::from_url(&format!("{}|7", map.url())), Some(map));
        }
        for bad in [
            "hyojun-mapping-0",
            "hyojun-mapping-007",
            "hyojun-mapping--1",
            "hyojun-mapping-x",
            "hyojun-successors-HOT",
            "mapping-1",
        ] {
            assert_eq!(MapId::from_id(bad), None, "{bad}");
        }
        assert_eq!(MapId::from_url("hyojun-mapping-1"), None);
        assert_eq!(capitalised("byomei"), "Byomei");
        assert_eq!(encode("urn:a|b c"), "urn:a%7Cb%20c");
    }
}
