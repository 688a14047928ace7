//! Enums stored as text, one spelling each: `text_column!(Type)` maps a `Copy` type with
//! `const ALL: [Self; N]` and `as_str(self) -> &'static str` to diesel's `Text` on SQLite,
//! PostgreSQL and the connection that may be either. A stored value no variant spells is a
//! decoding error (damaged data), never a silent fall-back. The macro also makes the type a
//! query value and a loadable column (what `#[derive(AsExpression, FromSqlRow)]` with
//! `sql_type = Text` would give), so the type itself needs no diesel derive: a domain enum
//! (`mapping::state::State`) stays free of diesel.

/// See the module documentation.
#[macro_export]
macro_rules! text_column {
    ($ty:ty) => {
        $crate::text_column!(@expression $ty, diesel::sql_types::Text);
        $crate::text_column!(@expression $ty, diesel::sql_types::Nullable<diesel::sql_types::Text>);
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::Text>, DB>
            for $ty
        where
            DB: diesel::backend::Backend,
            Self: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                diesel::serialize::ToSql::<diesel::sql_types::Text, DB>::to_sql(self, out)
            }
        }
        impl<DB, ST> diesel::deserialize::Queryable<ST, DB> for $ty
        where
            DB: diesel::backend::Backend,
            ST: diesel::sql_types::SingleValue,
            Self: diesel::deserialize::FromSql<ST, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> diesel::deserialize::Result<Self> {
                Ok(row)
            }
        }
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
    // A value (or a reference to one) in a query: bound as its spelling.
    (@expression $ty:ty, $st:ty) => {
        impl diesel::expression::AsExpression<$st> for $ty {
            type Expression = <String as diesel::expression::AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$st>::as_expression(self.as_str().to_owned())
            }
        }
        impl<'a> diesel::expression::AsExpression<$st> for &'a $ty {
            type Expression = <&'a str as diesel::expression::AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$st>::as_expression((*self).as_str())
            }
        }
        impl<'a, 'b> diesel::expression::AsExpression<$st> for &'b &'a $ty {
            type Expression = <&'b str as diesel::expression::AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$st>::as_expression((**self).as_str())
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
