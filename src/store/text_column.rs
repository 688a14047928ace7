//! Enums stored as text, one spelling each: `text_column!(Type)` maps a `Copy` type with
//! `const ALL: [Self; N]` and `as_str(self) -> &'static str` to diesel's `Text` on SQLite,
//! PostgreSQL and the connection that may be either. A stored value no variant spells is a
//! decoding error (damaged data), never a silent fall-back. The type itself derives
//! `diesel::AsExpression` and `diesel::FromSqlRow` with `sql_type = Text`.

/// See the module documentation.
#[macro_export]
macro_rules! text_column {
    ($ty:ty) => {
        $crate::text_column!(@backend $ty, diesel::sqlite::Sqlite);
        $crate::text_column!(@backend $ty, diesel::pg::Pg);
        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::store::MultiBackend> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::store::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((diesel::sql_types::Text, (*self).as_str()));
                Ok(diesel::serialize::IsNull::No)
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, $crate::store::MultiBackend>
            for $ty
        {
            fn from_sql(
                bytes: <$crate::store::MultiBackend as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                let text: String = bytes.from_sql::<String, diesel::sql_types::Text>()?;
                $crate::store::text_column::decode(&text, &<$ty>::ALL, <$ty>::as_str, stringify!($ty))
            }
        }
    };
    (@backend $ty:ty, $db:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, $db> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $db>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, $db>>::to_sql(
                    (*self).as_str(),
                    out,
                )
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, $db> for $ty {
            fn from_sql(
                bytes: <$db as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, $db>>::from_sql(
                        bytes,
                    )?;
                $crate::store::text_column::decode(&text, &<$ty>::ALL, <$ty>::as_str, stringify!($ty))
            }
        }
    };
}

/// The variant of `all` that `text` spells, or the error naming what was stored.
pub fn decode<T: Copy>(
    text: &str,
    all: &[T],
    spelling: impl Fn(T) -> &'static str,
    what: &str,
) -> diesel::deserialize::Result<T> {
    all.iter()
        .copied()
        .find(|v| spelling(*v) == text)
        .ok_or_else(|| {
            format!(
                "the database holds `{}`, which is no {what}",
                crate::excerpt::excerpt(text)
            )
            .into()
        })
}
