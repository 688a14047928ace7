//! Typed ids: one newtype per entity whose id crosses layers (store → app → api / fhir /
//! cli), so that a release id cannot be passed where a project id is expected.
//!
//! Each id is an `i64` underneath (the tables' `BigInt` columns) and shows as that number
//! everywhere: JSON (`#[serde(transparent)]`), `Display` (path segments, messages, folder
//! names) and `FromStr` (command-line arguments, with `i64`'s own parse errors). The module is
//! pure: the store gives the ids their diesel impls (`store/id_column.rs`) and the API their
//! OpenAPI schema (an `integer` of format `int64`, as before).
//!
//! Local codes and mappings have no id of their own: they are keyed by (project, code).

/// Declares id newtypes over `i64`; see the module documentation.
macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id numbered `id` (as stored, or as a client sent it).
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            /// The number, for SQL text, arithmetic and formats that need one.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        /// A reference to the number, for serialisers that bind by reference (the store's
        /// database layer).
        impl AsRef<i64> for $name {
            fn as_ref(&self) -> &i64 {
                &self.0
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        /// The number, as `i64` shows it (formatting flags included).
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        /// The bare number too, so that logs and messages that debug-print an id (alone or
        /// in an `Option`) read as they did when ids were `i64`.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        /// Parses like `i64` (same errors), so a command-line argument reads as before.
        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    )+};
}

id_type! {
    /// A release (`releases.id`): ids grow with import order, so `Ord` is import order, the
    /// order the concepts' `valid_from` / `valid_to` ranges rely on.
    ReleaseId;
    /// A background job (`jobs.id`).
    JobId;
    /// A mapping project (`mapping_projects.id`).
    ProjectId;
    /// An API key (`api_keys.id`): never the key itself.
    ApiKeyId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_and_parses_as_the_number() {
        let id = ReleaseId::new(42);
        assert_eq!(id.to_string(), "42");
        assert_eq!(format!("{id:>5}"), "   42");
        assert_eq!(format!("{:?}", Some(id)), "Some(42)");
        assert_eq!("42".parse::<ReleaseId>(), Ok(id));
        assert_eq!("-7".parse::<JobId>().map(JobId::get), Ok(-7));
        assert_eq!(i64::from(ProjectId::new(3)), 3);
    }

    #[test]
    fn parse_errors_are_those_of_i64() {
        for bad in ["", "x1", "1.5", " 1", "99999999999999999999"] {
            let ours = bad.parse::<ProjectId>().expect_err(bad);
            let theirs = bad.parse::<i64>().expect_err(bad);
            assert_eq!(ours, theirs, "{bad:?}");
            assert_eq!(ours.to_string(), theirs.to_string());
        }
    }

    #[test]
    fn json_is_the_bare_number() {
        let id = ApiKeyId::new(9);
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("9"));
        assert_eq!(serde_json::from_str::<ApiKeyId>("9").ok(), Some(id));
        assert_eq!(
            serde_json::to_string(&Some(JobId::new(5))).ok().as_deref(),
            Some("5")
        );
        assert!(serde_json::from_str::<ApiKeyId>("\"9\"").is_err());
        assert!(serde_json::from_str::<ApiKeyId>("9.5").is_err());
    }

    #[test]
    fn order_is_the_numbers_order() {
        let mut ids = [ReleaseId::new(3), ReleaseId::new(-1), ReleaseId::new(2)];
        ids.sort();
        assert_eq!(ids.map(ReleaseId::get), [-1, 2, 3]);
    }
}
