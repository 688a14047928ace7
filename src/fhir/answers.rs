//! Whole answers to repeated GETs of `$validate-code`, `$lookup` and `$subsumes`, kept in the
//! node's cache: a validator asks the same few thousand codes again and again, and an answer
//! depends only on the request and on the store (which releases exist, which is activated).
//!
//! The key names all of that: the store generation the cache poller saw last (any import or
//! activation on any node changes it, and the cache is cleared then), the activated release
//! of every master as this node knows it (a pending activation that takes effect changes
//! it), the language of the messages, the endpoint's base and the request's path and query.
//! Only answers computed under the same generation as they started are kept, and only small
//! ones of small requests; a node that does not know yet which releases are activated simply
//! does not use the cache.

use std::fmt::Write;

use actix_web::web::Bytes;

use super::messages::Lang;
use super::route::Target;
use crate::api::AppState;
use crate::systems::Master;

/// The longest query string whose answer is kept.
const MAX_QUERY: usize = 2048;
/// The largest answer kept.
const MAX_ANSWER: usize = 16 * 1024;

/// Whether a request's answer may be kept: a GET of `$validate-code`, `$lookup` or
/// `$subsumes` with a short query.
pub fn cacheable(target: &Target, method: &actix_web::http::Method, query: &str) -> bool {
    if method != actix_web::http::Method::GET || query.len() > MAX_QUERY {
        return false;
    }
    let Target::Op { op, id: None } = target else {
        return false;
    };
    matches!(
        (op.resource, op.name),
        (Some("CodeSystem"), "validate-code" | "lookup" | "subsumes")
            | (Some("ValueSet"), "validate-code")
    )
}

/// The key of a cacheable request's answer, and the generation it was made in.
pub struct AnswerKey {
    generation: i64,
    text: String,
}

impl AnswerKey {
    /// The key as the cache holds it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The key of a cacheable request's answer; `None` while the node does not know the
/// generation or every master's activated release (see [`prime`]).
pub fn key(state: &AppState, lang: Lang, base: &str, path: &str, query: &str) -> Option<AnswerKey> {
    let generation = state.cache.seen_generation()?;
    let mut text = format!("{generation}|{lang:?}|");
    for master in Master::ALL {
        let current = state.cache.current_cached(master)?;
        let _ = write!(text, "{},", current.map_or(0, |r| r.id.get()));
    }
    let _ = write!(text, "|{base}|{path}?{query}");
    Some(AnswerKey { generation, text })
}

/// Makes the node know every master's activated release (on a blocking thread: it may read
/// the database), so that the next requests have a key.
pub fn prime(state: &AppState) {
    for master in Master::ALL {
        if let Err(e) = state.cache.current_release(&state.store, master) {
            tracing::debug!(error = %e, "the activated release is not known: answers not kept");
            return;
        }
    }
}

/// Keeps an answer computed while the generation stayed the one its key names.
pub fn keep(state: &AppState, key: AnswerKey, body: &Bytes) {
    if body.len() <= MAX_ANSWER && state.cache.seen_generation() == Some(key.generation) {
        state.cache.put_fhir_answer(key.text, body.clone());
    }
}
