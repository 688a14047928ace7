//! The masters hyojun imports and the code systems they define (keys, names, canonical URLs,
//! OID aliases as JP Core and JP-CLINS use them).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A standard master published by MEDIS-DC or the JLAC centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Master {
    /// HS001 医薬品HOTコードマスター.
    Hot,
    /// HS005 ICD10対応標準病名マスター.
    Byomei,
    /// HS014 臨床検査マスター (JLAC10 / JLAC11).
    Jlac,
    /// HS024 看護実践用語標準マスター.
    Nursing,
}

impl Master {
    /// Every master, in display order.
    pub const ALL: [Master; 4] = [Master::Hot, Master::Byomei, Master::Jlac, Master::Nursing];

    /// The key used on the command line, in the API and in the database.
    pub fn key(self) -> &'static str {
        crate::masters::descriptor(self).key
    }

    /// Human name of the master.
    pub fn name(self) -> &'static str {
        crate::masters::descriptor(self).name
    }
}

impl fmt::Display for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Master {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Master::ALL
            .into_iter()
            .find(|m| m.key() == s)
            .ok_or_else(|| {
                format!(
                    "unknown master `{}`: expected hot, byomei, jlac or nursing",
                    crate::excerpt::excerpt(s)
                )
            })
    }
}

/// A code system: one kind of code a master defines.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CodeSystem {
    /// Short stable key (`hot9`, `yj`, …).
    pub key: &'static str,
    pub master: Master,
    pub name: &'static str,
    /// Canonical URL (JP Core / JP-CLINS), when one is defined.
    pub canonical_url: Option<&'static str>,
    /// Legacy OIDs, written as `urn:oid:…`.
    pub oids: &'static [&'static str],
    /// Code shape, for people reading the list.
    pub description: &'static str,
    /// What a code of the system looks like ([`plausible`]).
    #[serde(skip)]
    pub shape: Shape,
    /// Whether the masters define its codes by rows of their own ([`defines_rows`]).
    #[serde(skip)]
    pub defined: Defined,
}

/// What a code of a system looks like (used to find a code whatever its kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Exactly this many ASCII digits.
    Digits(usize),
    /// Exactly this many ASCII letters or digits.
    Alnum(usize),
    /// ASCII letters or digits, one of two lengths.
    AlnumOf(usize, usize),
    /// Any characters, a length in this range (bytes).
    Length(usize, usize),
}

impl Shape {
    /// Whether `code` has this shape.
    pub fn fits(self, code: &str) -> bool {
        let digits = |n: usize| code.len() == n && code.bytes().all(|b| b.is_ascii_digit());
        let alnum = |n: usize| code.len() == n && code.bytes().all(|b| b.is_ascii_alphanumeric());
        match self {
            Shape::Digits(n) => digits(n),
            Shape::Alnum(n) => alnum(n),
            Shape::AlnumOf(a, b) => alnum(a) || alnum(b),
            Shape::Length(min, max) => (min..=max).contains(&code.len()),
        }
    }
}

/// How a master defines the codes of a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defined {
    /// By rows of its own (a HOT9 row, a 病名 row).
    Rows,
    /// Only carried by the rows of another system (a HOT9 row carries its HOT7, YJ, 薬価,
    /// レセ電算 and JAN codes; a 病名 row its 交換用コード, レセ電算 code and ICD-10; a 看護行為
    /// row its 16桁 code): found through the rows that carry them.
    Carried,
}

/// One code system of a master's descriptor.
macro_rules! system {
    ($key:literal, $master:ident, $name:literal, $url:expr, [$($oid:literal),*], $desc:literal, $shape:expr, $defined:expr) => {
        $crate::systems::CodeSystem {
            key: $key,
            master: $crate::systems::Master::$master,
            name: $name,
            canonical_url: $url,
            oids: &[$($oid),*],
            description: $desc,
            shape: $shape,
            defined: $defined,
        }
    };
}
pub(crate) use system;

/// Every code system hyojun knows (see `../shared/docs/master-formats.md` §5).
/// Every code system, in registry order: the systems of each master's descriptor
/// (`crate::masters::<master>::DESCRIPTOR`), masters in [`Master::ALL`] order.
pub static CODE_SYSTEMS: std::sync::LazyLock<Vec<CodeSystem>> = std::sync::LazyLock::new(|| {
    Master::ALL
        .iter()
        .flat_map(|&m| crate::masters::descriptor(m).systems.iter().copied())
        .collect()
});

/// Finds a code system by key, canonical URL or `urn:oid:` alias.
pub fn find(name: &str) -> Option<&'static CodeSystem> {
    CODE_SYSTEMS
        .iter()
        .find(|s| s.key == name || s.canonical_url == Some(name) || s.oids.contains(&name))
}

/// A code system by its key only.
pub fn by_key(key: &str) -> Option<&'static CodeSystem> {
    CODE_SYSTEMS.iter().find(|s| s.key == key)
}

/// Whether `code` has the shape of a code of `system` (used to find a code whatever its kind).
pub fn plausible(system: &str, code: &str) -> bool {
    by_key(system).is_some_and(|s| s.shape.fits(code))
}

/// Whether the masters define codes of `system` by rows of their own ([`Defined::Rows`]).
pub fn defines_rows(system: &CodeSystem) -> bool {
    system.defined == Defined::Rows
}

/// The code systems of one master, in registry order.
pub fn of_master(master: Master) -> impl Iterator<Item = &'static CodeSystem> {
    CODE_SYSTEMS.iter().filter(move |s| s.master == master)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_key_url_and_oid() {
        assert_eq!(find("hot9").unwrap().key, "hot9");
        assert_eq!(
            find("http://medis.or.jp/CodeSystem/master-HOT7")
                .unwrap()
                .key,
            "hot7"
        );
        assert_eq!(find("urn:oid:1.2.392.100495.20.2.74").unwrap().key, "hot9");
        assert!(find("HOT9").is_none());
    }

    #[test]
    fn row_systems_are_the_systems_the_parsers_define_rows_of() {
        use crate::masters::{parse_release, NoProgress, ParseOptions};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("masters");
        let samples = [
            (Master::Hot, vec![root.join("hot/20260531")]),
            (
                Master::Hot,
                vec![
                    root.join("hot/h20260630.zip"),
                    root.join("hot/h20260630_HOT9del.txt"),
                ],
            ),
            (Master::Byomei, vec![root.join("byomei/byomei518.zip")]),
            (Master::Jlac, vec![root.join("jlac/901")]),
            (Master::Nursing, vec![root.join("nursing/4.0")]),
        ];
        let mut defined = std::collections::BTreeSet::new();
        for (master, paths) in samples {
            let release = parse_release(master, &paths, &ParseOptions::default(), &NoProgress)
                .unwrap_or_else(|e| panic!("{master} sample: {e:?}"));
            defined.extend(release.records.iter().map(|r| r.system));
        }
        let declared: std::collections::BTreeSet<&str> = CODE_SYSTEMS
            .iter()
            .filter(|s| defines_rows(s))
            .map(|s| s.key)
            .collect();
        assert_eq!(defined, declared);
    }

    #[test]
    fn keys_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in CODE_SYSTEMS.iter() {
            assert!(seen.insert(s.key));
            for alias in s.canonical_url.iter().chain(s.oids.iter()) {
                assert!(seen.insert(alias), "{alias}");
            }
        }
    }
}
