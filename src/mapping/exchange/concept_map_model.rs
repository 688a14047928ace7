//! The parts of a FHIR R4 ConceptMap (JSON) that [`read_concept_map`] reads, as serde types:
//! `resourceType`, and `group[].target`, `group[].element[].code` and
//! `group[].element[].target[].code` / `equivalence` / `relationship` (R5) / `comment`.
//!
//! The reader has always been lenient about what a member holds, and these types keep exactly
//! that, since a new refusal would change what an import answers:
//!
//! * a member of another JSON type than the reader expects counts as absent: a `code` that is
//!   a number is no code, and a group, element or target that is not an object has no members;
//! * an array member that is absent or `null` has no items; any other value that is not an
//!   array is [`List::NotArray`], which the reader reports with its path;
//! * unknown members are accepted and skipped, and when a member occurs twice in an object
//!   the last one counts (as when a JSON object is read whole);
//! * whatever is skipped is still parsed as JSON, not jumped over, so the document is checked
//!   as strictly as before (syntax, UTF-8, numbers in range, nesting, nothing after the end).
//!
//! A `#[derive(Deserialize)]` struct would refuse a repeated member and a member of an
//! unexpected type, so each type here says what it makes of each kind of JSON value
//! ([`Lenient`]) and one visitor ([`Read`]) feeds it. Nothing here limits sizes: the reader
//! checks the document's size and nesting depth before it deserializes anything.
//!
//! [`read_concept_map`]: super::read_concept_map

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A ConceptMap resource (or any other JSON document: then it has no `resourceType`).
#[derive(Debug, Default)]
pub(super) struct ConceptMap {
    pub resource_type: Text,
    pub group: List<Group>,
}

/// `ConceptMap.group[]`.
#[derive(Debug, Default)]
pub(super) struct Group {
    /// The target code system's URI.
    pub target: Text,
    pub element: List<Element>,
}

/// `ConceptMap.group[].element[]`: a local code and its targets.
#[derive(Debug, Default)]
pub(super) struct Element {
    pub code: Text,
    pub target: List<Target>,
}

/// `ConceptMap.group[].element[].target[]`.
#[derive(Debug, Default)]
pub(super) struct Target {
    pub code: Text,
    /// FHIR R4.
    pub equivalence: Text,
    /// FHIR R5's name for it.
    pub relationship: Text,
    pub comment: Text,
}

/// A string member. Any other JSON value counts as absent.
#[derive(Debug, Default)]
pub(super) struct Text(Option<String>);

impl Text {
    /// The string, trimmed, when there is one and it is not empty.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

/// An array member.
#[derive(Debug)]
pub(super) enum List<T> {
    /// The items (none when the member is absent or `null`).
    Items(Vec<T>),
    /// A value that is neither an array nor `null`.
    NotArray,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List::Items(Vec::new())
    }
}

impl<T> List<T> {
    /// The items; `None` when the member is not an array.
    pub fn items(&self) -> Option<&[T]> {
        match self {
            List::Items(items) => Some(items),
            List::NotArray => None,
        }
    }
}

impl ConceptMap {
    /// Reads a whole document. The only errors are those of JSON itself (see the module).
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<ConceptMap> {
        serde_json::from_slice::<Read<ConceptMap>>(bytes).map(|read| read.0)
    }
}

/// What a type makes of each kind of JSON value: `null` is always its default (absent); every
/// kind it does not override is [`Lenient::scalar`], the default unless the type says otherwise
/// (a [`List`] says `NotArray`), after parsing through an array or object item by item.
pub(super) trait Lenient: Default {
    /// `true`, `false` or a number.
    fn scalar() -> Self {
        Self::default()
    }

    /// A string.
    fn string(_: &str) -> Self {
        Self::scalar()
    }

    /// An array.
    fn array<'de, A: SeqAccess<'de>>(mut items: A) -> Result<Self, A::Error> {
        while items.next_element::<Read<Skip>>()?.is_some() {}
        Ok(Self::scalar())
    }

    /// An object.
    fn object<'de, A: MapAccess<'de>>(mut members: A) -> Result<Self, A::Error> {
        while members.next_entry::<Read<Skip>, Read<Skip>>()?.is_some() {}
        Ok(Self::scalar())
    }
}

/// A value read for its syntax only and dropped: an unknown member, or what is inside a value
/// of an unexpected type (`"code": ["A"]`).
#[derive(Debug, Default)]
pub(super) struct Skip;

impl Lenient for Skip {}

impl Lenient for Text {
    fn string(text: &str) -> Self {
        Text(Some(text.to_owned()))
    }
}

impl<T: Lenient> Lenient for List<T> {
    fn scalar() -> Self {
        List::NotArray
    }

    fn array<'de, A: SeqAccess<'de>>(mut items: A) -> Result<Self, A::Error> {
        let mut out = Vec::new();
        while let Some(Read(item)) = items.next_element::<Read<T>>()? {
            out.push(item);
        }
        Ok(List::Items(out))
    }
}

/// The next member's value.
fn value<'de, T: Lenient, A: MapAccess<'de>>(members: &mut A) -> Result<T, A::Error> {
    members.next_value::<Read<T>>().map(|read| read.0)
}

/// An object's members by name, the last of a repeated name counting; the others skipped.
macro_rules! members {
    ($type:ty { $($name:literal => $field:ident),+ $(,)? }) => {
        impl Lenient for $type {
            fn object<'de, A: MapAccess<'de>>(mut members: A) -> Result<Self, A::Error> {
                let mut out = Self::default();
                while let Some(name) = members.next_key::<String>()? {
                    match name.as_str() {
                        $($name => out.$field = value(&mut members)?,)+
                        _ => {
                            value::<Skip, A>(&mut members)?;
                        }
                    }
                }
                Ok(out)
            }
        }
    };
}

members!(ConceptMap {
    "resourceType" => resource_type,
    "group" => group,
});
members!(Group {
    "target" => target,
    "element" => element,
});
members!(Element {
    "code" => code,
    "target" => target,
});
members!(Target {
    "code" => code,
    "equivalence" => equivalence,
    "relationship" => relationship,
    "comment" => comment,
});

/// Deserializes a [`Lenient`] type from any JSON value.
struct Read<T>(T);

impl<'de, T: Lenient> Deserialize<'de> for Read<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ReadVisitor(PhantomData))
    }
}

struct ReadVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for ReadVisitor<T> {
    type Value = Read<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Read<T>, E> {
        Ok(Read(T::default()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Read<T>, E> {
        Ok(Read(T::scalar()))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Read<T>, E> {
        Ok(Read(T::scalar()))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Read<T>, E> {
        Ok(Read(T::scalar()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Read<T>, E> {
        Ok(Read(T::scalar()))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Read<T>, E> {
        Ok(Read(T::string(text)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, items: A) -> Result<Read<T>, A::Error> {
        T::array(items).map(Read)
    }

    fn visit_map<A: MapAccess<'de>>(self, members: A) -> Result<Read<T>, A::Error> {
        T::object(members).map(Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_of_another_type_are_absent_and_a_repeated_member_counts_last() {
        let doc = ConceptMap::from_slice(
            br#"{"resourceType": ["ConceptMap"], "group": [
                "not an object",
                {"target": 5, "element": [7, {"code": " A ", "code": "B ", "target": null, "x": {"y": [1e3]}}]},
                {"target": "  ", "element": {"code": "C"}}
            ], "extension": [{"url": "u"}]}"#,
        )
        .expect("json");
        assert_eq!(doc.resource_type.get(), None);
        let groups = doc.group.items().expect("an array");
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].target.get(), None);
        assert_eq!(groups[0].element.items().map(<[_]>::len), Some(0));
        assert_eq!(groups[1].target.get(), None);
        let elements = groups[1].element.items().expect("an array");
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[0].code.get(), None);
        assert_eq!(elements[1].code.get(), Some("B"));
        assert_eq!(elements[1].target.items().map(<[_]>::len), Some(0));
        assert_eq!(groups[2].target.get(), None);
        assert!(groups[2].element.items().is_none());

        let doc = ConceptMap::from_slice(
            br#"{"group": 1, "resourceType": 2, "resourceType": " ConceptMap "}"#,
        )
        .expect("json");
        assert_eq!(doc.resource_type.get(), Some("ConceptMap"));
        assert!(doc.group.items().is_none());
        let doc = ConceptMap::from_slice(b"[{\"resourceType\": \"ConceptMap\"}]").expect("json");
        assert_eq!(doc.resource_type.get(), None);
        assert_eq!(doc.group.items().map(<[_]>::len), Some(0));
    }

    #[test]
    fn what_is_skipped_is_still_read_as_json() {
        let texts: [&[u8]; 7] = [
            br#"{"x": 1e400}"#,
            br#"{"x": "\ud800"}"#,
            br#"{"x": [1, 2,]}"#,
            br#"{"x": {"a" 1}}"#,
            b"{\"x\": \"\xff\"}",
            b"{\"\xff\": 1}",
            br#"{"resourceType": "ConceptMap"} 2"#,
        ];
        for text in texts {
            let shown = String::from_utf8_lossy(text);
            let as_value = serde_json::from_slice::<serde_json::Value>(text).expect_err(&shown);
            let typed = ConceptMap::from_slice(text).expect_err(&shown);
            assert_eq!(typed.to_string(), as_value.to_string(), "{shown}");
        }
    }
}
