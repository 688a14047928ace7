//! Which release each master serves: an explicit, dated activation history.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::models::{ActivationRow, NewActivation, ReleaseRow, ReleaseState};
use super::schema::{activations, releases, store_lock};
use super::{AnyConnection, Store, StoreError};
use crate::ids::ReleaseId;
use crate::systems::Master;

/// Marks that what the store serves changed (imports and activations call it first in their
/// transaction: it also serialises writers). Nodes poll the counter to drop cached answers.
pub(crate) fn bump_generation(conn: &mut AnyConnection) -> Result<(), StoreError> {
    diesel::update(store_lock::table.filter(store_lock::id.eq(1)))
        .set(store_lock::generation.eq(store_lock::generation + 1))
        .execute(conn)?;
    Ok(())
}

/// Records that `master` serves `release_id` from `effective_from` on.
pub(crate) fn record_activation(
    conn: &mut AnyConnection,
    master: Master,
    release_id: ReleaseId,
    effective_from: NaiveDateTime,
    by: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(activations::table)
        .values(NewActivation {
            master: master.key(),
            release_id,
            effective_from,
            activated_at: Utc::now().naive_utc(),
            activated_by: by,
        })
        .execute(conn)?;
    Ok(())
}

/// The release `master` serves at `at`: the activation with the latest `effective_from` not
/// after `at` (the later activation wins a tie).
pub(crate) fn serving_at(
    conn: &mut AnyConnection,
    master: Master,
    at: NaiveDateTime,
) -> Result<Option<ReleaseRow>, StoreError> {
    Ok(activations::table
        .inner_join(releases::table)
        .filter(activations::master.eq(master.key()))
        .filter(activations::effective_from.le(at))
        .order((activations::effective_from.desc(), activations::id.desc()))
        .select(ReleaseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Makes `release` the one its master serves, now or from a future moment, on `conn`;
/// returns the moment it takes effect.
pub fn activate_release(
    conn: &mut AnyConnection,
    release: &ReleaseRow,
    effective_from: Option<NaiveDateTime>,
    by: &str,
) -> Result<NaiveDateTime, StoreError> {
    let master: Master = release
        .master
        .parse()
        .map_err(|e: String| StoreError::Corrupt(e))?;
    let now = Utc::now().naive_utc();
    let from = effective_from.unwrap_or(now).max(now);
    conn.transaction(|conn| {
        bump_generation(conn)?;
        // The release's effective date: the dated moment; for an activation now, today
        // when it had a later one (it serves from now on; without one, its publication
        // date still stands for "in force from").
        let date = from.date();
        let dated = effective_from.is_some();
        if dated || release.effective_date.is_some_and(|d| d > date) {
            diesel::update(releases::table.filter(releases::id.eq(release.id)))
                .set(releases::effective_date.eq(date))
                .execute(conn)?;
        }
        record_activation(conn, master, release.id, from, by)
    })?;
    Ok(from)
}

/// The release `master` serves now, on `conn`.
pub fn serving_now(
    conn: &mut AnyConnection,
    master: Master,
) -> Result<Option<ReleaseRow>, StoreError> {
    serving_at(conn, master, Utc::now().naive_utc())
}

impl Store {
    /// The release `master` serves now.
    pub fn current_release(&self, master: Master) -> Result<Option<ReleaseRow>, StoreError> {
        serving_now(&mut *self.conn()?, master)
    }

    /// The release in force on a date: the newest non-superseded release whose effective date
    /// (or, without one, publication date) is on or before `date`.
    pub fn release_as_of(
        &self,
        master: Master,
        date: NaiveDate,
    ) -> Result<Option<ReleaseRow>, StoreError> {
        let mut conn = self.conn()?;
        let candidates: Vec<ReleaseRow> = releases::table
            .filter(releases::master.eq(master.key()))
            .filter(releases::state.eq(ReleaseState::Ready))
            .order(releases::id.desc())
            .select(ReleaseRow::as_select())
            .load(&mut *conn)?;
        Ok(candidates
            .into_iter()
            .filter(|r| {
                r.effective_date
                    .or(r.publication_date)
                    .is_some_and(|d| d <= date)
            })
            .max_by_key(|r| (r.effective_date.or(r.publication_date), r.id)))
    }

    /// The store's generation: it changes whenever a release is imported or activated.
    pub fn generation(&self) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        Ok(store_lock::table
            .filter(store_lock::id.eq(1))
            .select(store_lock::generation)
            .first(&mut *conn)?)
    }

    /// When the next activation of `master` after `at` takes effect, if one is pending.
    pub fn next_activation_after(
        &self,
        master: Master,
        at: NaiveDateTime,
    ) -> Result<Option<NaiveDateTime>, StoreError> {
        let mut conn = self.conn()?;
        Ok(activations::table
            .filter(activations::master.eq(master.key()))
            .filter(activations::effective_from.gt(at))
            .select(diesel::dsl::min(activations::effective_from))
            .first(&mut *conn)?)
    }

    /// Every activation of a master, newest first.
    pub fn activations(&self, master: Master) -> Result<Vec<ActivationRow>, StoreError> {
        let mut conn = self.conn()?;
        Ok(activations::table
            .filter(activations::master.eq(master.key()))
            .order((activations::effective_from.desc(), activations::id.desc()))
            .select(ActivationRow::as_select())
            .load(&mut *conn)?)
    }
}
