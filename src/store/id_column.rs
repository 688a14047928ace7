//! The typed ids of `crate::ids` as diesel values: `id_column!(Type)` maps a newtype with
//! `AsRef<i64>` and `new(i64)` to `BigInt` (every id column is one, see `schema.rs`) on
//! SQLite, PostgreSQL and the connection that may be either, as a query value (also
//! nullable, also by reference, so `eq_any(&ids)` works) and as a loadable column. It is
//! what `#[derive(AsExpression, FromSqlRow)]` with `sql_type = BigInt` would give; the id
//! types themselves stay free of diesel.

use crate::ids::{ApiKeyId, JobId, ProjectId, ReleaseId};

/// See the module documentation.
macro_rules! id_column {
    ($ty:ty) => {
        id_column!(@expression $ty, diesel::sql_types::BigInt);
        id_column!(@expression $ty, diesel::sql_types::Nullable<diesel::sql_types::BigInt>);
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, DB>
            for $ty
        where
            DB: diesel::backend::Backend,
            Self: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                diesel::serialize::ToSql::<diesel::sql_types::BigInt, DB>::to_sql(self, out)
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
        id_column!(@backend $ty, diesel::sqlite::Sqlite);
        id_column!(@backend $ty, diesel::pg::Pg);
        id_column!(@backend $ty, crate::store::MultiBackend);
    };
    // A value (or a reference to one) in a query: bound as its number.
    (@expression $ty:ty, $st:ty) => {
        impl diesel::expression::AsExpression<$st> for $ty {
            type Expression = <i64 as diesel::expression::AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$st>::as_expression(self.get())
            }
        }
        impl diesel::expression::AsExpression<$st> for &$ty {
            type Expression = <i64 as diesel::expression::AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$st>::as_expression(self.get())
            }
        }
        impl diesel::expression::AsExpression<$st> for &&$ty {
            type Expression = <i64 as diesel::expression::AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$st>::as_expression(self.get())
            }
        }
    };
    (@backend $ty:ty, $db:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::BigInt, $db> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $db>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, $db>>::to_sql(
                    self.as_ref(),
                    out,
                )
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::BigInt, $db> for $ty {
            fn from_sql(
                bytes: <$db as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, $db>>::from_sql(
                    bytes,
                )
                .map(<$ty>::new)
            }
        }
    };
}

id_column!(ReleaseId);
id_column!(JobId);
id_column!(ProjectId);
id_column!(ApiKeyId);
