//! What the search index is built from: the releases (to know what an index holds) and the
//! concept versions, streamed in id order so that no master is ever held in memory whole.

use diesel::prelude::*;

use super::models::ConceptRow;
use super::schema::{concepts, releases};
use super::{Store, StoreError};
use crate::ids::ReleaseId;
use crate::with_backend;

/// Concept versions are read in pages of this many rows.
const PAGE: i64 = 5_000;

/// A release as the search index records it: id and content hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseStamp {
    pub id: ReleaseId,
    pub master: String,
    pub content_sha256: String,
}

/// Which concept versions to read.
#[derive(Debug, Clone, Copy)]
pub enum Versions<'a> {
    /// Every version of every master.
    All,
    /// The versions a set of releases opened or closed (`valid_from` or `valid_to` in the set).
    TouchedBy(&'a [ReleaseId]),
}

impl Store {
    /// Every release, oldest first.
    pub fn release_stamps(&self) -> Result<Vec<ReleaseStamp>, StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<(ReleaseId, String, String)> = releases::table
            .order(releases::id.asc())
            .select((releases::id, releases::master, releases::content_sha256))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, master, content_sha256)| ReleaseStamp {
                id,
                master,
                content_sha256,
            })
            .collect())
    }

    /// Calls `each` with pages of concept versions in id order.
    pub fn for_each_concept_page(
        &self,
        versions: Versions<'_>,
        mut each: impl FnMut(Vec<ConceptRow>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut after = 0i64;
        loop {
            macro_rules! page_after {
                () => {
                    concepts::table
                        .filter(concepts::id.gt(after))
                        .order(concepts::id.asc())
                        .limit(PAGE)
                        .select(ConceptRow::as_select())
                };
            }
            let page: Vec<ConceptRow> = match versions {
                Versions::All => page_after!().load(&mut *conn)?,
                Versions::TouchedBy(ids) => with_backend!(&mut *conn, |c| page_after!()
                    .filter(
                        concepts::valid_from
                            .eq_any(ids)
                            .or(concepts::valid_to.eq_any(ids))
                    )
                    .load(c))?,
            };
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            let full = page.len() as i64 == PAGE;
            each(page)?;
            if !full {
                return Ok(());
            }
        }
    }
}
