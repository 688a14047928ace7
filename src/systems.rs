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
        match self {
            Master::Hot => "hot",
            Master::Byomei => "byomei",
            Master::Jlac => "jlac",
            Master::Nursing => "nursing",
        }
    }

    /// Human name of the master.
    pub fn name(self) -> &'static str {
        match self {
            Master::Hot => "HS001 医薬品HOTコードマスター",
            Master::Byomei => "HS005 ICD10対応標準病名マスター",
            Master::Jlac => "HS014 臨床検査マスター",
            Master::Nursing => "HS024 看護実践用語標準マスター",
        }
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
}

macro_rules! system {
    ($key:literal, $master:ident, $name:literal, $url:expr, [$($oid:literal),*], $desc:literal) => {
        CodeSystem {
            key: $key,
            master: Master::$master,
            name: $name,
            canonical_url: $url,
            oids: &[$($oid),*],
            description: $desc,
        }
    };
}

/// Every code system hyojun knows (see `../shared/docs/master-formats.md` §5).
pub const CODE_SYSTEMS: &[CodeSystem] = &[
    system!(
        "hot13",
        Hot,
        "HOTコード（基準番号 13桁）",
        Some("http://medis.or.jp/CodeSystem/master-HOT13"),
        ["urn:oid:1.2.392.200119.4.402.1"],
        "13 digits: HOT7 + 会社 2 + 調剤 2 + 物流 2"
    ),
    system!(
        "hot9",
        Hot,
        "HOT9（HOT7 + 会社識別）",
        Some("http://medis.or.jp/CodeSystem/master-HOT9"),
        [
            "urn:oid:1.2.392.200119.4.403.1",
            "urn:oid:1.2.392.100495.20.2.74"
        ],
        "9 digits: HOT7 + 会社 2"
    ),
    system!(
        "hot7",
        Hot,
        "HOT7（処方用番号）",
        Some("http://medis.or.jp/CodeSystem/master-HOT7"),
        ["urn:oid:1.2.392.200119.4.403.2"],
        "7 digits: 6 digits + modulus-10 check digit (weights 3/1)"
    ),
    system!(
        "yj",
        Hot,
        "個別医薬品コード（YJコード）",
        Some("http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"),
        ["urn:oid:1.2.392.100495.20.2.73"],
        "12 characters"
    ),
    system!(
        "yakka",
        Hot,
        "薬価基準収載医薬品コード",
        None,
        [],
        "12 characters (厚生労働省 薬価基準)"
    ),
    system!(
        "receipt_drug",
        Hot,
        "レセプト電算処理システム 医薬品コード",
        None,
        [],
        "9 digits (支払基金)"
    ),
    system!(
        "jan",
        Hot,
        "JANコード",
        None,
        [],
        "13 digits (GS1 JAN/EAN-13)"
    ),
    system!(
        "byomei",
        Byomei,
        "病名管理番号",
        Some("http://medis.or.jp/CodeSystem/master-disease-keyNumber"),
        ["urn:oid:1.2.392.200119.4.101.2"],
        "8 digits"
    ),
    system!(
        "byomei_exchange",
        Byomei,
        "病名交換用コード",
        Some("http://medis.or.jp/CodeSystem/master-disease-exCode"),
        ["urn:oid:1.2.392.200119.4.101.6"],
        "4 characters [0-9A-Z]; shared by synonyms"
    ),
    system!(
        "receipt_disease",
        Byomei,
        "レセプト電算処理システム 傷病名コード",
        Some("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease"),
        [],
        "7 digits (支払基金)"
    ),
    system!(
        "icd10",
        Byomei,
        "ICD-10 (2013, MHLW)",
        Some("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"),
        ["urn:oid:2.16.840.1.113883.6.3.1"],
        "3–5 characters, no dot"
    ),
    system!(
        "modifier",
        Byomei,
        "修飾語管理番号",
        Some("http://medis.or.jp/CodeSystem/master-disease-modKeyNumber"),
        ["urn:oid:1.2.392.200119.4.201.2"],
        "8 digits"
    ),
    system!(
        "modifier_exchange",
        Byomei,
        "修飾語交換用コード",
        Some("http://medis.or.jp/CodeSystem/master-disease-modExCode"),
        ["urn:oid:1.2.392.200119.4.201.5"],
        "4 characters"
    ),
    system!(
        "receipt_modifier",
        Byomei,
        "レセプト電算処理システム 修飾語コード",
        Some("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterZ-disease-modifier"),
        [],
        "4 digits (支払基金)"
    ),
    system!(
        "jlac10",
        Jlac,
        "JLAC10（17桁）",
        Some("http://medis.or.jp/CodeSystem/master-JLAC10-17digits"),
        ["urn:oid:1.2.392.200119.4.504"],
        "17 characters: 分析物 5, 識別 4, 材料 3, 測定法 3, 結果識別 2"
    ),
    system!(
        "jlac11",
        Jlac,
        "JLAC11（17桁）",
        None,
        [],
        "17 characters: 測定物 5, 識別 4, 材料 3, 測定法 3, 結果単位 2"
    ),
    system!(
        "nursing_action",
        Nursing,
        "看護行為 管理番号",
        None,
        [],
        "8 digits"
    ),
    system!(
        "nursing_action16",
        Nursing,
        "看護行為 16桁階層コード",
        Some("http://medis.or.jp/CodeSystem/master-nursingAction-16digits"),
        [
            "urn:oid:1.2.392.200119.4.704",
            "urn:oid:1.2.392.200119.4.701"
        ],
        "16 characters A001B001C001D001"
    ),
    system!(
        "nursing_observation",
        Nursing,
        "看護観察 観察名称管理番号",
        Some("http://medis.or.jp/CodeSystem/master-nursingObservationKeyCode"),
        ["urn:oid:1.2.392.200119.4.804"],
        "8 digits"
    ),
];

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
    let digits = |n: usize| code.len() == n && code.bytes().all(|b| b.is_ascii_digit());
    let alnum = |n: usize| code.len() == n && code.bytes().all(|b| b.is_ascii_alphanumeric());
    match system {
        "hot13" | "jan" => digits(13),
        "hot9" | "receipt_drug" => digits(9),
        "hot7" | "receipt_disease" => digits(7),
        "yj" | "yakka" => alnum(12),
        "byomei" | "modifier" | "nursing_action" | "nursing_observation" => digits(8),
        "byomei_exchange" | "modifier_exchange" => alnum(4),
        "receipt_modifier" => digits(4),
        "icd10" => (3..=7).contains(&code.len()),
        "jlac10" | "jlac11" => alnum(17) || alnum(15),
        "nursing_action16" => alnum(16),
        _ => false,
    }
}

/// The code systems whose codes the masters define by rows of their own. Every other
/// system's codes are only carried by those rows (a HOT9 row carries its HOT7, YJ, 薬価,
/// レセ電算 and JAN codes; a 病名 row its 交換用コード, レセ電算 code and ICD-10; a 看護行為 row
/// its 16桁 code), so they are found through the rows that carry them.
pub const ROW_SYSTEMS: &[&str] = &[
    "hot13",
    "hot9",
    "byomei",
    "modifier",
    "jlac10",
    "jlac11",
    "nursing_action",
    "nursing_observation",
];

/// Whether the masters define codes of `system` by rows of their own ([`ROW_SYSTEMS`]).
pub fn defines_rows(system: &CodeSystem) -> bool {
    ROW_SYSTEMS.contains(&system.key)
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
        let declared: std::collections::BTreeSet<&str> = ROW_SYSTEMS.iter().copied().collect();
        assert_eq!(defined, declared);
        assert!(ROW_SYSTEMS.iter().all(|k| by_key(k).is_some()));
    }

    #[test]
    fn keys_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in CODE_SYSTEMS {
            assert!(seen.insert(s.key));
            for alias in s.canonical_url.iter().chain(s.oids.iter()) {
                assert!(seen.insert(alias), "{alias}");
            }
        }
    }
}
