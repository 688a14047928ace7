//! What a search looks in, from its parameters (the same rules for `GET /v1/search` and
//! `hyojun search`): code systems, masters, status and attribute filters.

use std::collections::HashMap;

use super::document::ATTRIBUTE_FILTERS;
use super::query::{SearchRequest, StatusFilter};
use super::SearchError;
use crate::ids::ReleaseId;
use crate::systems::{self, Master};

/// The systems, masters, status and attributes of a search.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Only these code systems (all when empty).
    pub systems: Vec<&'static str>,
    /// The masters searched: those named (all when none), narrowed to the systems' and
    /// attribute filters' masters.
    pub masters: Vec<Master>,
    pub status: StatusFilter,
    pub attributes: Vec<(String, String)>,
}

impl Scope {
    /// Parses comma-separated `system` and `master` lists, a status (`active`, `retired`,
    /// `all`) and (filter name, value) attribute filters (see [`ATTRIBUTE_FILTERS`]).
    pub fn parse(
        system: Option<&str>,
        master: Option<&str>,
        status: Option<&str>,
        attributes: &[(&str, Option<&str>)],
    ) -> Result<Scope, SearchError> {
        let mut found_systems: Vec<&'static str> = Vec::new();
        for name in list(system) {
            let s = systems::find(name).ok_or_else(|| {
                SearchError::UnknownSystem(format!(
                    "unknown code system `{}`: use a key, canonical URL or urn:oid: alias from GET /v1/systems",
                    crate::excerpt::excerpt(name)
                ))
            })?;
            found_systems.push(s.key);
        }
        let mut masters: Vec<Master> = Vec::new();
        for name in list(master) {
            masters.push(
                name.parse::<Master>()
                    .map_err(|e| SearchError::BadQuery(format!("master: {e}")))?,
            );
        }
        if masters.is_empty() {
            masters = Master::ALL.to_vec();
        }
        if !found_systems.is_empty() {
            masters.retain(|m| {
                found_systems
                    .iter()
                    .any(|s| systems::by_key(s).is_some_and(|c| c.master == *m))
            });
        }
        let status = match status {
            None | Some("all") => StatusFilter::All,
            Some("active") => StatusFilter::Active,
            Some("retired") => StatusFilter::Retired,
            Some(other) => {
                return Err(SearchError::BadQuery(format!(
                    "status `{other}`: use active, retired or all"
                )))
            }
        };
        let mut filters = Vec::new();
        for &(name, value) in attributes {
            if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
                let master = ATTRIBUTE_FILTERS
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map(|(_, m, _)| *m);
                masters.retain(|m| Some(*m) == master);
                filters.push((name.to_owned(), value.to_owned()));
            }
        }
        Ok(Scope {
            systems: found_systems,
            masters,
            status,
            attributes: filters,
        })
    }

    /// The request for `query` over the given (master, release) pairs.
    pub fn request(
        &self,
        query: &str,
        releases: impl IntoIterator<Item = (Master, ReleaseId)>,
        limit: usize,
        offset: usize,
    ) -> SearchRequest {
        SearchRequest {
            query: query.to_owned(),
            releases: releases.into_iter().collect::<HashMap<_, _>>(),
            systems: self.systems.clone(),
            status: self.status,
            attributes: self.attributes.clone(),
            limit,
            offset,
        }
    }
}

fn list(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}
