//! Enums stored as text, one spelling each: `text_column!(Type)` maps a type with
//! `as_str(self) -> &'static str` and `parse(&str) -> Option<Self>` to diesel's `Text` on SQLite,
//! PostgreSQL and the connection that may be either. A stored value the type does not know is
//! a decoding error (damaged data), never a silent fall-back. The type itself derives
//! `diesel::AsExpression` and `diesel::FromSqlRow` with `sql_type = Text`.

/// See the module documentation.
#[macro_export]
macro_rules! text_column {
    ($ty:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite>>::to_sql(
                    (*self).as_str(),
                    out,
                )
            }
        }
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    (*self).as_str(),
                    out,
                )
            }
        }
        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::store::MultiBackend> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::store::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((diesel::sql_types::Text, (*self).as_str()));
                Ok(diesel::serialize::IsNull::No)
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $ty {
            fn from_sql(
                bytes: diesel::sqlite::SqliteValue<'_, '_, '_>,
            ) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::sqlite::Sqlite,
                >>::from_sql(bytes)?;
                $crate::store::text_column::decode(&text, <$ty>::parse, stringify!($ty))
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                $crate::store::text_column::decode(&text, <$ty>::parse, stringify!($ty))
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, $crate::store::MultiBackend>
            for $ty
        {
            fn from_sql(
                bytes: <$crate::store::MultiBackend as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                let text: String = bytes.from_sql::<String, diesel::sql_types::Text>()?;
                $crate::store::text_column::decode(&text, <$ty>::parse, stringify!($ty))
            }
        }
    };
}

/// The value `text` spells, or the error naming what was stored.
pub fn decode<T>(
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> diesel::deserialize::Result<T> {
    parse(text).ok_or_else(|| {
        format!(
            "the database holds `{}`, which is no {what}",
            crate::excerpt::excerpt(text)
        )
        .into()
    })
}
