//! OpenAPI schemas of the domain enums the API answers with (mapping states, equivalences and
//! actions, release states, audit outcomes, job states and kinds). Each enum keeps its one
//! spelling where it is defined (`ALL` and `as_str`, the same ones its text column uses);
//! [`api_enum!`] reads the document's `enum` values from them, so the domain modules need no
//! utoipa and no second list of spellings exists. One crate: implementing utoipa's traits for
//! a type of another module is allowed.

/// `api_enum!(Type, "Description.")` makes `Type` (a `Copy` enum with `const ALL` and
/// `as_str(self) -> &'static str`) a named OpenAPI component: a string whose values are the
/// spellings of `ALL`, in that order, described as given.
macro_rules! api_enum {
    ($ty:ident, $description:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .enum_values(Some($ty::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($ty))
            }
        }
    };
}

use crate::mapping::state::{Action, Equivalence, State};
use crate::store::audit::Outcome;
use crate::store::jobs::{JobKind, JobState};
use crate::store::models::ReleaseState;

api_enum!(State, "Where a mapping stands.");
api_enum!(
    Equivalence,
    "How the target relates to the local concept (FHIR ConceptMap equivalence)."
);
api_enum!(Action, "What a person does to a mapping.");
api_enum!(ReleaseState, "Whether a release is usable.");
api_enum!(Outcome, "How a write ended.");
api_enum!(JobState, "Where a job stands.");
api_enum!(JobKind, "What a job does.");

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    /// The spellings serde writes (the enums derive them: request bodies, job results, job
    /// views) are the ones `as_str` stores and the schema lists.
    fn same_spellings<T>(all: &[T], spelling: impl Fn(T) -> &'static str)
    where
        T: Copy + serde::Serialize + utoipa::ToSchema,
    {
        let schema = serde_json::to_value(T::schema()).expect("a schema is JSON");
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum schema")
            .iter()
            .map(|v| v.as_str().expect("a string value"))
            .collect();
        let serialized: Vec<String> = all
            .iter()
            .map(|v| {
                serde_json::to_value(v)
                    .expect("serialises")
                    .as_str()
                    .expect("as a string")
                    .to_owned()
            })
            .collect();
        let spelled: Vec<&str> = all.iter().map(|v| spelling(*v)).collect();
        assert_eq!(listed, spelled);
        assert_eq!(serialized, spelled);
    }

    #[test]
    fn schemas_list_each_enums_own_spellings() {
        same_spellings(&State::ALL, State::as_str);
        same_spellings(&Equivalence::ALL, Equivalence::as_str);
        same_spellings(&Action::ALL, Action::as_str);
        same_spellings(&ReleaseState::ALL, ReleaseState::as_str);
        same_spellings(&Outcome::ALL, Outcome::as_str);
        same_spellings(&JobState::ALL, JobState::as_str);
        same_spellings(&JobKind::ALL, JobKind::as_str);
    }

    #[test]
    fn mapping_enums_read_their_spellings() {
        for state in State::ALL {
            let read: State = serde_json::from_value(state.as_str().into()).expect("reads");
            assert_eq!(read, state);
        }
        for e in Equivalence::ALL {
            let read: Equivalence = serde_json::from_value(e.as_str().into()).expect("reads");
            assert_eq!(read, e);
        }
        for action in Action::ALL {
            let read: Action = serde_json::from_value(action.as_str().into()).expect("reads");
            assert_eq!(read, action);
        }
    }

    #[test]
    fn a_schema_is_a_described_string_enum() {
        let schema = serde_json::to_value(ReleaseState::schema()).expect("JSON");
        assert_eq!(
            schema,
            serde_json::json!({
                "type": "string",
                "description": "Whether a release is usable.",
                "enum": ["ready", "superseded"]
            })
        );
        assert_eq!(<ReleaseState as utoipa::ToSchema>::name(), "ReleaseState");
    }
}
