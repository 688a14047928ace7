//! JSON kept in a TEXT column, typed: [`JsonText<T>`] serialises its value on write and parses
//! it as `T` on read, on SQLite, PostgreSQL and the connection that may be either. Stored
//! JSON that does not parse as `T` is a decoding error naming the column (damaged data, or a
//! bug that wrote the wrong shape), never a silent default: what a row holds is what its type
//! says.
//!
//! Each stored type names its column ([`JsonColumn::COLUMN`]), so that the error says where
//! the damaged value is; a type stored in two columns needs one type per column.

use std::fmt;
use std::io::Write;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::MultiBackend;

/// A value stored as JSON in a TEXT column of the store.
pub trait JsonColumn: Serialize + DeserializeOwned + fmt::Debug + Send + Sync + 'static {
    /// `table.column`, for the error a value that does not parse is.
    const COLUMN: &'static str;
}

/// A [`JsonColumn`] value as a column of a row, or a value bound in a query.
#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct JsonText<T>(pub T);

impl<T> JsonText<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonText<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for JsonText<T> {
    fn from(value: T) -> Self {
        JsonText(value)
    }
}

/// `text` parsed as `T`, or the error naming the column and an excerpt of what it holds.
pub fn decode<T: JsonColumn>(text: &str) -> deserialize::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{} holds JSON that is not {}: {e} (stored: `{}`)",
            T::COLUMN,
            short_type_name::<T>(),
            crate::excerpt::excerpt(text)
        )
        .into()
    })
}

/// The type's own name, without its module path (for messages).
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

impl<T: JsonColumn> ToSql<Text, Sqlite> for JsonText<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl<T: JsonColumn> ToSql<Text, Pg> for JsonText<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        serde_json::to_writer(&mut *out, &self.0)?;
        out.flush()?;
        Ok(IsNull::No)
    }
}

impl<T: JsonColumn> ToSql<Text, MultiBackend> for JsonText<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl<T: JsonColumn> FromSql<Text, Sqlite> for JsonText<T> {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
        decode(&text).map(JsonText)
    }
}

impl<T: JsonColumn> FromSql<Text, Pg> for JsonText<T> {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        decode(&text).map(JsonText)
    }
}

impl<T: JsonColumn> FromSql<Text, MultiBackend> for JsonText<T> {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Text>()
    }
}
