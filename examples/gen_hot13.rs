//! Synthetic MEDIS HOT13 standard master (`MEDISyyyymmdd.TXT`) generator for benchmarks.
//!
//! Writes a full-size file in the real MEDIS "標準" layout (see `master-formats.md` §2):
//! 24 columns, a header row, CP932, CRLF line ends, non-empty values wrapped in `"`, empty
//! values unquoted (`,,`) and a final line holding only Ctrl-Z (0x1A). Every value is
//! synthetic but shaped like the real ones: HOT7 codes carry a valid check digit, JAN codes a
//! valid EAN-13 check digit, YJ codes look like `2149039F1023`, names are full-width Japanese.
//!
//! ```text
//! # release 1: 65,000 rows
//! cargo run --release --example gen_hot13 -- --rows 65000 --seed 1 --date 20260531 --out DIR1
//! # release 2: ~1 % of the rows renamed / changed / removed / added
//! cargo run --release --example gen_hot13 -- --mutate-from DIR1/MEDIS20260531.TXT \
//!     --change-percent 1 --seed 1 --date 20260630 --out DIR2
//! ```
//!
//! The output depends only on the arguments: randomness comes from a small splitmix64 PRNG
//! seeded with `--seed`, and hash sets/maps are used for membership tests only, never
//! iterated.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use chrono::{Datelike, Months, NaiveDate};
use clap::Parser;
use encoding_rs::SHIFT_JIS;
use sha2::{Digest, Sha256};

/// Header row of the real standard file (2026-06-30 release).
const HEADER: [&str; NCOLS] = [
    "基準番号（ＨＯＴコード）",
    "処方用番号（ＨＯＴ７）",
    "会社識別用番号",
    "調剤用番号",
    "物流用番号",
    "ＪＡＮコード",
    "薬価基準収載医薬品コード",
    "個別医薬品コード",
    "レセプト電算処理システムコード（１）",
    "レセプト電算処理システムコード（２）",
    "告示名称",
    "販売名",
    "レセプト電算処理システム医薬品名",
    "規格単位",
    "包装形態",
    "包装単位数",
    "包装単位単位",
    "包装総量数",
    "包装総量単位",
    "区分",
    "製造会社",
    "販売会社",
    "更新区分",
    "更新年月日",
];

/// Number of columns of the standard file.
const NCOLS: usize = 24;

// Column indexes (0-based) used by the generator and the mutator.
const C_HOT13: usize = 0;
const C_CHOZAI: usize = 3;
const C_BUTSURYU: usize = 4;
const C_JAN: usize = 5;
const C_YAKKA: usize = 6;
const C_YJ: usize = 7;
const C_RECE1: usize = 8;
const C_RECE2: usize = 9;
const C_KOKUJI: usize = 10;
const C_HANBAI: usize = 11;
const C_RECE_NAME: usize = 12;
const C_PKG_COUNT: usize = 15;
const C_PKG_TOTAL: usize = 17;
const C_SELLER: usize = 21;
const C_UPDATED: usize = 23;

/// One data row: the 24 field values, unquoted, in column order.
type Row = Vec<String>;

/// A row to write: its fields, plus its original bytes (CRLF included) when it was read
/// from a previous release and left unchanged, so it is written back byte for byte.
struct Line {
    fields: Row,
    raw: Option<Vec<u8>>,
}

#[derive(Parser, Debug)]
#[command(about = "Generate a synthetic MEDIS HOT13 standard master file (CP932) for benchmarks")]
struct Args {
    /// Number of data rows (HOT13 codes) of a fresh release.
    #[arg(long, default_value_t = 65_000)]
    rows: usize,
    /// PRNG seed; the same arguments always give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Release date (YYYYMMDD): names the file MEDIS<date>.TXT and bounds 更新年月日.
    #[arg(long, default_value = "20260531", value_parser = parse_date)]
    date: NaiveDate,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Derive the next release from this previously generated file instead of generating
    /// a fresh one (`--rows` is then ignored).
    #[arg(long, value_name = "FILE")]
    mutate_from: Option<PathBuf>,
    /// Share of rows that differ from `--mutate-from` (renamed, changed, removed, added).
    #[arg(long, default_value_t = 1.0)]
    change_percent: f64,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|e| format!("expected YYYYMMDD: {e}"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let (rows, summary) = match &args.mutate_from {
        None => generate(&args)?,
        Some(prev) => mutate(&args, prev)?,
    };
    let path = args
        .out
        .join(format!("MEDIS{}.TXT", args.date.format("%Y%m%d")));
    let (bytes, sha) = write_file(&path, &rows)?;
    eprintln!(
        "gen_hot13: wrote {} rows to {} ({summary}; {bytes} bytes, sha256 {}, {:.2} s)",
        rows.len(),
        path.display(),
        &sha[..16],
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------

/// splitmix64: tiny, fast, good enough for synthetic data, and stable across platforms.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// `true` with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One word of a whitespace-separated word list.
    fn word(&mut self, list: &'static str) -> &'static str {
        let n = list.split_whitespace().count();
        let i = self.below(n as u64) as usize;
        list.split_whitespace().nth(i).expect("index below count")
    }

    /// Pick from `(value, weight)` pairs.
    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        self.weighted_by(items, |&(_, w)| w).0
    }

    /// Pick an item with probability proportional to `weight(item)`.
    fn weighted_by<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
        let total: u64 = items.iter().map(|i| u64::from(weight(i))).sum();
        let mut r = self.below(total);
        for item in items {
            let w = u64::from(weight(item));
            if r < w {
                return item;
            }
            r -= w;
        }
        unreachable!("weights sum to {total}")
    }

    /// `n` random decimal digits.
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Code check digits and text helpers
// ---------------------------------------------------------------------------------------

/// HOT7 check digit: weights 1,3,1,3,1,3 on the 6 digits from the left, modulus 10.
fn hot7_check(base6: u32) -> u32 {
    let digits = format!("{base6:06}");
    let sum: u32 = digits
        .bytes()
        .zip([1, 3, 1, 3, 1, 3])
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    (10 - sum % 10) % 10
}

fn hot7_code(base6: u32) -> String {
    format!("{base6:06}{}", hot7_check(base6))
}

/// EAN-13 check digit of the first 12 digits (weights 1,3,1,3,… from the left).
fn ean13_check(d12: &str) -> u32 {
    let sum: u32 = d12
        .bytes()
        .zip([1, 3].into_iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    (10 - sum % 10) % 10
}

/// Last character of a synthetic YJ code: a deterministic digit derived from the first 11
/// characters (not the official YJ check algorithm, which this benchmark does not need).
fn yj_check(s11: &str) -> char {
    let sum: u32 = s11
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b) * (i as u32 + 2))
        .sum();
    char::from(b'0' + (sum % 10) as u8)
}

/// ASCII → full width (`10mg` → `１０ｍｇ`, `0.5%` → `０．５％`); other characters kept.
fn zen(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            ' ' => '　',
            _ => c,
        })
        .collect()
}

/// Month-end dates from the first HOT release (2001-12-14) up to `release` (inclusive),
/// formatted YYYYMMDD: the pool of plausible 更新年月日 values.
fn release_dates(release: NaiveDate) -> Vec<String> {
    let first = NaiveDate::from_ymd_opt(2001, 12, 14).expect("valid date");
    let mut dates = Vec::new();
    if first <= release {
        dates.push(first);
    }
    let mut month = NaiveDate::from_ymd_opt(2002, 1, 1).expect("valid date");
    while month <= release {
        let end = month + Months::new(1) - chrono::Days::new(1);
        dates.push(end.min(release));
        month = month + Months::new(1);
    }
    if dates.last() != Some(&release) {
        dates.push(release);
    }
    dates.dedup();
    dates
        .iter()
        .map(|d| format!("{:04}{:02}{:02}", d.year(), d.month(), d.day()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------

/// 区分 of a product.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kubun {
    Nai,
    Chu,
    Gai,
    Shi,
}

/// Realistic mix: ~58 % 内, 25 % 注, 16 % 外, 1 % 歯.
const KUBUNS: [(Kubun, u32); 4] = [
    (Kubun::Nai, 58),
    (Kubun::Chu, 25),
    (Kubun::Gai, 16),
    (Kubun::Shi, 1),
];

impl Kubun {
    fn label(self) -> &'static str {
        match self {
            Kubun::Nai => "内",
            Kubun::Chu => "注",
            Kubun::Gai => "外",
            Kubun::Shi => "歯",
        }
    }

    /// 薬効分類 (first 4 digits of the YJ code) typical for the 区分.
    fn yakko(self) -> &'static str {
        match self {
            Kubun::Nai => {
                "1124 1129 1141 1149 1179 2123 2129 2144 2149 2171 2183 2189 2325 2329 2399 \
                 2478 3112 3399 3929 3969 4490 6131 6132 6149 6241"
            }
            Kubun::Chu => {
                "1119 1214 2119 2454 3319 3327 3334 3399 3999 4291 6113 6132 6134 6241 6250 8119"
            }
            Kubun::Gai => "1147 1319 2229 2249 2259 2612 2646 2649 2655 2679",
            Kubun::Shi => "2710 2720 2790",
        }
    }

    /// First three digits of the 9-digit レセプト電算処理システムコード.
    fn rece_prefix(self) -> &'static str {
        match self {
            Kubun::Nai => "610 611 612 620 621 622",
            Kubun::Chu => "640 641 642 643",
            Kubun::Gai => "660 661 662 663",
            Kubun::Shi => "664",
        }
    }

    fn forms(self) -> &'static [Form] {
        match self {
            Kubun::Nai => FORMS_NAI,
            Kubun::Chu => FORMS_CHU,
            Kubun::Gai => FORMS_GAI,
            Kubun::Shi => FORMS_SHI,
        }
    }
}

/// A package variant (包装): 包装形態, unit of 包装単位数, typical counts, optionally the
/// amount per unit when 包装総量 is given in another unit (e.g. 10 本 × 5 ｇ = 50 ｇ), and
/// how common the variant is within its dosage form.
struct Pkg {
    form: &'static str,
    unit: &'static str,
    counts: &'static [u32],
    per_unit: Option<(u32, &'static str)>,
    weight: u32,
}

/// Shorthand for the package tables below.
const fn pkg(
    form: &'static str,
    unit: &'static str,
    counts: &'static [u32],
    per_unit: Option<(u32, &'static str)>,
    weight: u32,
) -> Pkg {
    Pkg {
        form,
        unit,
        counts,
        per_unit,
        weight,
    }
}

/// A dosage form (剤形) of one 区分.
struct Form {
    /// Word in the product name: 錠, カプセル, 注射液, 軟膏, …
    name: &'static str,
    /// Dosage-form letter of the YJ code.
    yj_letter: char,
    /// Strengths in ASCII, whitespace-separated (converted to full width).
    strengths: &'static str,
    /// 規格単位 after the strength: `１０ｍｇ` + `１錠`.
    kikaku_suffix: &'static str,
    packages: &'static [Pkg],
    weight: u32,
}

const MG_TABLET: &str = "0.25mg 0.5mg 1mg 2mg 2.5mg 4mg 5mg 10mg 20mg 25mg 40mg 50mg 75mg \
    100mg 200mg 250mg 300mg 500mg 0.25μg 0.5μg";

const PKG_TABLET: &[Pkg] = &[
    pkg("ＰＴＰ", "錠", &[100, 140, 500, 1000], None, 60),
    pkg("バラ", "錠", &[500, 1000], None, 25),
    pkg("瓶", "錠", &[100, 300], None, 15),
];

const PKG_CAPSULE: &[Pkg] = &[
    pkg("ＰＴＰ", "カプセル", &[100, 140, 500], None, 75),
    pkg("バラ", "カプセル", &[500, 1000], None, 25),
];

const FORMS_NAI: &[Form] = &[
    Form {
        name: "錠",
        yj_letter: 'F',
        strengths: MG_TABLET,
        kikaku_suffix: "１錠",
        packages: PKG_TABLET,
        weight: 55,
    },
    Form {
        name: "ＯＤ錠",
        yj_letter: 'F',
        strengths: MG_TABLET,
        kikaku_suffix: "１錠",
        packages: PKG_TABLET,
        weight: 10,
    },
    Form {
        name: "カプセル",
        yj_letter: 'M',
        strengths: MG_TABLET,
        kikaku_suffix: "１カプセル",
        packages: PKG_CAPSULE,
        weight: 15,
    },
    Form {
        name: "シロップ",
        yj_letter: 'Q',
        strengths: "0.1% 0.2% 0.5% 1%",
        kikaku_suffix: "１ｍＬ",
        packages: &[pkg("瓶", "本", &[1, 10], Some((500, "ｍＬ")), 1)],
        weight: 5,
    },
    Form {
        name: "ドライシロップ",
        yj_letter: 'R',
        strengths: "5% 10% 20% 40%",
        kikaku_suffix: "１ｇ",
        packages: &[
            pkg("分包", "包", &[100, 120, 600], Some((1, "ｇ")), 70),
            pkg("バラ", "ｇ", &[100, 500], None, 30),
        ],
        weight: 15,
    },
];

const FORMS_CHU: &[Form] = &[
    Form {
        name: "注射液",
        yj_letter: 'A',
        strengths: "10mg 20mg 50mg 100mg 200mg 500mg",
        kikaku_suffix: "１管",
        packages: &[pkg("アンプル", "管", &[10, 50], None, 1)],
        weight: 50,
    },
    Form {
        name: "静注用",
        yj_letter: 'A',
        strengths: "50mg 100mg 250mg 500mg 1g",
        kikaku_suffix: "１瓶",
        packages: &[pkg("バイアル", "瓶", &[1, 10], None, 1)],
        weight: 25,
    },
    Form {
        name: "注射用",
        yj_letter: 'A',
        strengths: "0.25g 0.3g 0.5g 1g 2g",
        kikaku_suffix: "１瓶",
        packages: &[pkg("バイアル", "瓶", &[1, 10], None, 1)],
        weight: 15,
    },
    Form {
        name: "注シリンジ",
        yj_letter: 'A',
        strengths: "2.5mg 5mg 10mg 40mg",
        kikaku_suffix: "１筒",
        packages: &[pkg("シリンジ", "筒", &[1, 2, 10], None, 1)],
        weight: 10,
    },
];

const PKG_TUBE: &[Pkg] = &[
    pkg("チューブ", "本", &[10, 50], Some((5, "ｇ")), 85),
    pkg("瓶", "個", &[1], Some((500, "ｇ")), 15),
];

const FORMS_GAI: &[Form] = &[
    Form {
        name: "軟膏",
        yj_letter: 'M',
        strengths: "0.05% 0.1% 0.12% 1% 3% 5%",
        kikaku_suffix: "１ｇ",
        packages: PKG_TUBE,
        weight: 35,
    },
    Form {
        name: "クリーム",
        yj_letter: 'M',
        strengths: "0.05% 0.1% 1% 2%",
        kikaku_suffix: "１ｇ",
        packages: PKG_TUBE,
        weight: 20,
    },
    Form {
        name: "点眼液",
        yj_letter: 'Q',
        strengths: "0.01% 0.1% 0.3% 0.5%",
        kikaku_suffix: "５ｍＬ１瓶",
        packages: &[pkg("瓶", "本", &[5, 10, 50], Some((5, "ｍＬ")), 1)],
        weight: 25,
    },
    Form {
        name: "テープ",
        yj_letter: 'R',
        strengths: "10mg 20mg 40mg",
        kikaku_suffix: "１枚",
        packages: &[pkg("分包", "枚", &[70, 140, 700], None, 1)],
        weight: 20,
    },
];

const FORMS_SHI: &[Form] = &[
    Form {
        name: "歯科用軟膏",
        yj_letter: 'M',
        strengths: "1% 2% 3%",
        kikaku_suffix: "１ｇ",
        packages: &[pkg("チューブ", "本", &[1, 10], Some((5, "ｇ")), 1)],
        weight: 50,
    },
    Form {
        name: "歯科用注射液",
        yj_letter: 'A',
        strengths: "2% 3%",
        kikaku_suffix: "１．８ｍＬ１管",
        packages: &[pkg("カートリッジ", "管", &[50, 100], None, 1)],
        weight: 50,
    },
];

// Word lists are whitespace-separated (compact, and rustfmt keeps them on a few lines);
// `Rng::word` picks one.

/// Katakana syllables for brand and company names.
const KANA: &str = "ア イ ウ エ オ カ キ ク ケ コ サ シ ス セ ソ タ チ テ ト ナ ニ ノ ハ ヒ フ ヘ ホ \
    マ ミ ム メ モ ラ リ ル レ ロ バ ビ ブ ベ ボ パ ピ プ ペ ポ ガ ギ グ ゲ ゴ ザ ジ ゼ ゾ ダ デ ド \
    ヤ ユ ヨ ワ ン ー";

/// Brand name endings.
const BRAND_END: &str = "ン ール ックス ロン タン ミン ジン ナール リア ゾン";

/// Generic (一般名) name parts: prefix + optional middle syllable + suffix (+ salt).
const GEN_PREFIX: &str = "アム ロサ メト ピタ レボ セフ ファモ オル カル ラン エナ ドネ ゾル \
    バル テル ミル プラ リス アト ロス シタ ビソ カンデ オルメ エソメ ラベ クラリ アジ レバ モン \
    フェキソ ロキソ セレ トラ デュロ ミルタ エスシタ ブロ ジク イル メロ バンコ ヘパ ゲンタ リド \
    ベタ デキサ プレド ヒドロ ニフェ";
const GEN_MID: &str = "ジ ロ キ ナ ト ペ ミ ル ガ ビ サ リ";
const GEN_SUFFIX: &str = "ジピン サルタン プリル スタチン プラゾール フロキサシン マイシン \
    ロール ゾラム フェン チジン ミド グリプチン ゾシン パミン ラミン セタン ゾール ルカスト \
    プロフェン トロール シリン ペネム カイン メタゾン ロン ニゾン チアジド ガバリン ピラゾン";
const SALTS: &str = "塩酸塩 カリウム ナトリウム 水和物 マレイン酸塩 ベシル酸塩";

/// Kanji for company name stems (二字: 東和, 沢井, …) and company name suffixes.
const COMPANY_KANJI: &str = "東 西 日 本 大 明 和 光 協 第 一 三 共 中 外 小 野 辺 塩 義 興 科 \
    研 持 富 士 扶 桑 沢 井 高 鶴 原 岩 城 堀 森 北 陸 丸 石 久 田 山 川 長 生 堂 化 成 陽 新 杏 林";
const COMPANY_SUFFIX: &str = "製薬 薬品 薬品工業 ファーマ 化学工業 製薬工業 メディカル 薬業";

/// Number of synthetic companies.
const N_COMPANIES: usize = 300;

/// A synthetic pharmaceutical company.
struct Company {
    /// Full name (製造会社 / 販売会社), e.g. `サワイ製薬`.
    name: String,
    /// Short name used in generic product names, e.g. `「サワイ」`.
    short: String,
    /// JAN company prefix, `49` + 5 digits.
    jan_prefix: String,
    /// Popularity weight (Zipf-like: a few companies sell many products).
    weight: u32,
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

/// Generation state: vocabulary, companies and the sets that keep codes unique.
struct Gen {
    rng: Rng,
    companies: Vec<Company>,
    /// Pool of 更新年月日 values, ascending.
    dates: Vec<String>,
    used_jan: HashSet<String>,
    /// First 11 characters of every individual YJ code in use.
    used_yj11: HashSet<String>,
    used_rece: HashSet<String>,
    /// YJ code → レセ電算コード, so rows sharing a YJ share the receipt code.
    rece_of_yj: HashMap<String, String>,
}

impl Gen {
    /// `seed` drives everything; the company list depends on `seed` only.
    fn new(seed: u64, dates: Vec<String>) -> Self {
        let mut rng = Rng::new(seed);
        let companies = make_companies(&mut rng);
        Gen {
            rng,
            companies,
            dates,
            used_jan: HashSet::new(),
            used_yj11: HashSet::new(),
            used_rece: HashSet::new(),
            rece_of_yj: HashMap::new(),
        }
    }

    /// Register the codes of existing rows so new ones do not collide with them.
    fn absorb(&mut self, lines: &[Line]) {
        for row in lines.iter().map(|l| &l.fields) {
            self.used_jan.insert(row[C_JAN].clone());
            for col in [C_YAKKA, C_YJ] {
                if row[col].len() == 12 {
                    self.used_yj11.insert(row[col][..11].to_string());
                }
            }
            self.used_rece.insert(row[C_RECE1].clone());
            self.used_rece.insert(row[C_RECE2].clone());
            self.rece_of_yj
                .insert(row[C_YJ].clone(), row[C_RECE1].clone());
        }
    }

    fn katakana_word(&mut self, min: u64, max: u64) -> String {
        let n = self.rng.range(min, max);
        let mut word = String::new();
        let mut prev = "ン";
        for _ in 0..n {
            // No word starts with ン/ー, and ン/ー never follow each other.
            let syllable = loop {
                let s = self.rng.word(KANA);
                if !(matches!(s, "ン" | "ー") && matches!(prev, "ン" | "ー")) {
                    break s;
                }
            };
            word.push_str(syllable);
            prev = syllable;
        }
        word
    }

    fn brand_name(&mut self) -> String {
        let stem = self.katakana_word(2, 3);
        let end = if self.rng.chance(0.1) {
            ""
        } else {
            self.rng.word(BRAND_END)
        };
        format!("{stem}{end}")
    }

    fn generic_name(&mut self) -> String {
        let prefix = self.rng.word(GEN_PREFIX);
        let mid = if self.rng.chance(0.2) {
            ""
        } else {
            self.rng.word(GEN_MID)
        };
        let mut name = format!("{prefix}{mid}{}", self.rng.word(GEN_SUFFIX));
        if self.rng.chance(0.2) {
            name.push_str(self.rng.word(SALTS));
        }
        name
    }

    fn pick_company(&mut self) -> usize {
        let Gen { rng, companies, .. } = self;
        let picked = rng.weighted_by(companies, |c| c.weight);
        companies
            .iter()
            .position(|c| std::ptr::eq(c, picked))
            .expect("picked from the list")
    }

    /// A JAN code with the company's prefix, unique over the file.
    fn fresh_jan(&mut self, prefix7: &str) -> String {
        loop {
            let d12 = format!("{prefix7}{}", self.rng.digits(5));
            let jan = format!("{d12}{}", ean13_check(&d12));
            if self.used_jan.insert(jan.clone()) {
                return jan;
            }
        }
    }

    /// A new individual YJ code `prefix9` + 銘柄 (2 digits) + check, unique over the file.
    fn fresh_yj(&mut self, prefix9: &str) -> Option<String> {
        for _ in 0..200 {
            let s11 = format!("{prefix9}{:02}", self.rng.range(10, 99));
            if self.used_yj11.insert(s11.clone()) {
                let check = yj_check(&s11);
                return Some(format!("{s11}{check}"));
            }
        }
        None
    }

    /// 4-digit 薬効 + 3 digits + form letter + 規格 digit.
    fn yj_prefix9(&mut self, kubun: Kubun, letter: char) -> String {
        format!(
            "{}{}{letter}{}",
            self.rng.word(kubun.yakko()),
            self.rng.digits(3),
            self.rng.range(1, 9)
        )
    }

    /// A new individual YJ code for a new product of `kubun`/`letter`.
    fn new_product_yj(&mut self, kubun: Kubun, letter: char) -> (String, String) {
        loop {
            let prefix9 = self.yj_prefix9(kubun, letter);
            if let Some(yj) = self.fresh_yj(&prefix9) {
                return (prefix9, yj);
            }
        }
    }

    fn fresh_rece(&mut self, kubun: Kubun) -> String {
        loop {
            let code = format!(
                "{}{}",
                self.rng.word(kubun.rece_prefix()),
                self.rng.digits(6)
            );
            if self.used_rece.insert(code.clone()) {
                return code;
            }
        }
    }

    /// The receipt code of a YJ code (one per distinct YJ).
    fn rece_for(&mut self, yj: &str, kubun: Kubun) -> String {
        if let Some(code) = self.rece_of_yj.get(yj) {
            return code.clone();
        }
        let code = self.fresh_rece(kubun);
        self.rece_of_yj.insert(yj.to_string(), code.clone());
        code
    }

    /// Index into `dates`, skewed towards recent releases (max of two uniforms).
    fn date_idx(&mut self) -> usize {
        let n = self.dates.len() as u64;
        self.rng.below(n).max(self.rng.below(n)) as usize
    }

    /// Same date index, or with probability `p` a later one.
    fn maybe_later(&mut self, idx: usize, p: f64) -> usize {
        if self.rng.chance(p) {
            self.rng.range(idx as u64, self.dates.len() as u64 - 1) as usize
        } else {
            idx
        }
    }

    /// 告示名称, 販売名 and レセプト電算処理システム医薬品名 of a product.
    fn names(
        &mut self,
        generic: &str,
        brand: Option<&str>,
        form: &Form,
        strength: &str,
        short: &str,
    ) -> [String; 3] {
        let f = form.name;
        match brand {
            Some(b) => {
                let hanbai = format!("{b}{f}{strength}");
                let kokuji = if self.rng.chance(0.25) {
                    // 告示名称 by 一般名, sometimes with the 日本薬局方 mark.
                    let kyoku = if self.rng.chance(0.5) {
                        "（局）"
                    } else {
                        ""
                    };
                    format!("{kyoku}{generic}{f}{strength}")
                } else {
                    hanbai.clone()
                };
                let rece = if self.rng.chance(0.4) {
                    format!("{b}{f}　{strength}")
                } else {
                    hanbai.clone()
                };
                [kokuji, hanbai, rece]
            }
            None => {
                // Generic: 一般名 + 剤形 + 規格 + 「屋号」.
                let hanbai = format!("{generic}{f}{strength}「{short}」");
                let kokuji = match self.rng.below(10) {
                    0 => format!("{generic}{strength}{f}－ＧＥ"),
                    1 => format!("（局）{hanbai}"),
                    _ => hanbai.clone(),
                };
                [kokuji, hanbai.clone(), hanbai]
            }
        }
    }

    /// All rows of one new HOT7 product (at most `max_rows`), sorted by HOT13.
    fn product(&mut self, base6: u32, max_rows: usize) -> Vec<Row> {
        let hot7 = hot7_code(base6);
        let kubun = self.rng.weighted(&KUBUNS);
        let form = self.rng.weighted_by(kubun.forms(), |f| f.weight);
        let strength = zen(self.rng.word(form.strengths));
        let kikaku = format!("{strength}{}", form.kikaku_suffix);
        let generic = self.generic_name();
        let brand = if self.rng.chance(0.35) {
            Some(self.brand_name())
        } else {
            None
        };

        // 1–3 distinct selling companies (HOT9 = HOT7 + company number).
        let n_companies = self.rng.weighted(&[(1usize, 55), (2, 30), (3, 15)]);
        let mut sellers: Vec<usize> = Vec::new();
        while sellers.len() < n_companies {
            let c = self.pick_company();
            if !sellers.contains(&c) {
                sellers.push(c);
            }
        }
        let short = self.companies[sellers[0]].short.clone();
        let [kokuji, hanbai, rece_name] =
            self.names(&generic, brand.as_deref(), form, &strength, &short);

        let (prefix9, first_yj) = self.new_product_yj(kubun, form.yj_letter);
        // Generics are often listed under a 統一名 code (銘柄 "01") in 薬価基準収載医薬品コード.
        let unified = (brand.is_none() && self.rng.chance(0.6)).then(|| {
            let s11 = format!("{prefix9}01");
            let check = yj_check(&s11);
            format!("{s11}{check}")
        });
        let hot7_date = self.date_idx();

        let mut rows = Vec::new();
        let mut company_no = 0u64;
        for (j, &seller) in sellers.iter().enumerate() {
            company_no += if j == 0 { 1 } else { self.rng.range(1, 3) };
            // Co-marketed packages usually keep the YJ code of the first company.
            let yj = if j == 0 || self.rng.chance(0.8) {
                first_yj.clone()
            } else {
                self.fresh_yj(&prefix9).unwrap_or_else(|| first_yj.clone())
            };
            let yakka = unified.clone().unwrap_or_else(|| yj.clone());
            let rece1 = self.rece_for(&yj, kubun);
            let rece2 = if self.rng.chance(0.03) {
                self.fresh_rece(kubun)
            } else {
                String::new()
            };
            let maker = match self.rng.below(10) {
                0 => String::new(),
                1 | 2 => {
                    let other = self.pick_company();
                    self.companies[other].name.clone()
                }
                _ => self.companies[seller].name.clone(),
            };
            let seller_name = self.companies[seller].name.clone();
            let jan_prefix = self.companies[seller].jan_prefix.clone();
            let hot9_date = self.maybe_later(hot7_date, 0.3);

            // 1–4 packages; codes ascend: next 物流 number or next 調剤 number.
            let n_packages = self
                .rng
                .weighted(&[(1usize, 35), (2, 35), (3, 20), (4, 10)]);
            let (mut chozai, mut butsuryu) = (1u64, 0u64);
            for _ in 0..n_packages {
                if rows.len() >= max_rows {
                    return rows;
                }
                if butsuryu == 0 || self.rng.chance(0.6) {
                    butsuryu += 1;
                } else {
                    chozai += 1;
                    butsuryu = 1;
                }
                let pkg = self.rng.weighted_by(form.packages, |p| p.weight);
                let count = *self.rng.pick(pkg.counts);
                let (total, total_unit) = match pkg.per_unit {
                    Some((per, unit)) => (count * per, unit),
                    None => (count, pkg.unit),
                };
                let date = self.maybe_later(hot9_date, 0.15);
                let row: Row = vec![
                    format!("{hot7}{company_no:02}{chozai:02}{butsuryu:02}"),
                    hot7.clone(),
                    format!("{company_no:02}"),
                    format!("{chozai:02}"),
                    format!("{butsuryu:02}"),
                    self.fresh_jan(&jan_prefix),
                    yakka.clone(),
                    yj.clone(),
                    rece1.clone(),
                    rece2.clone(),
                    kokuji.clone(),
                    hanbai.clone(),
                    rece_name.clone(),
                    kikaku.clone(),
                    pkg.form.to_string(),
                    count.to_string(),
                    pkg.unit.to_string(),
                    total.to_string(),
                    total_unit.to_string(),
                    kubun.label().to_string(),
                    maker.clone(),
                    seller_name.clone(),
                    "1".to_string(),
                    self.dates[date].clone(),
                ];
                rows.push(row);
            }
        }
        rows
    }
}

/// The synthetic company list: unique names, unique JAN prefixes, Zipf-like weights.
fn make_companies(rng: &mut Rng) -> Vec<Company> {
    let mut names = HashSet::new();
    let mut prefixes = HashSet::new();
    let mut companies = Vec::with_capacity(N_COMPANIES);
    while companies.len() < N_COMPANIES {
        let stem = if rng.chance(0.5) {
            // Katakana stem: 2–3 syllables, no leading ン/ー.
            let mut s = String::new();
            for i in 0..rng.range(2, 3) {
                let syllable = loop {
                    let k = rng.word(KANA);
                    if i > 0 || !matches!(k, "ン" | "ー") {
                        break k;
                    }
                };
                s.push_str(syllable);
            }
            s
        } else {
            format!("{}{}", rng.word(COMPANY_KANJI), rng.word(COMPANY_KANJI))
        };
        let name = format!("{stem}{}", rng.word(COMPANY_SUFFIX));
        if !names.insert(name.clone()) {
            continue;
        }
        let jan_prefix = loop {
            let p = format!("49{}", rng.digits(5));
            if prefixes.insert(p.clone()) {
                break p;
            }
        };
        let rank = companies.len() as f64 + 1.0;
        companies.push(Company {
            name,
            short: stem,
            jan_prefix,
            weight: (1_000_000.0 / rank.powf(0.9)) as u32,
        });
    }
    companies
}

/// A fresh release of `args.rows` rows.
fn generate(args: &Args) -> Result<(Vec<Line>, String)> {
    let mut gen = Gen::new(args.seed, release_dates(args.date));
    // ~3.3 rows per HOT7 on average; spread the HOT7 numbers over ~100000..600000.
    let expected_hot7 = (args.rows as f64 / 3.2).ceil().max(1.0);
    let mean_gap = ((500_000.0 / expected_hot7) as u64).max(1);
    let mut base = 100_000 + gen.rng.below(mean_gap);
    let mut rows: Vec<Row> = Vec::with_capacity(args.rows);
    let mut hot7_count = 0usize;
    while rows.len() < args.rows {
        ensure!(base <= 999_999, "too many rows for 6-digit HOT7 numbers");
        let left = args.rows - rows.len();
        rows.extend(gen.product(base as u32, left));
        hot7_count += 1;
        base += 1 + gen.rng.below(2 * mean_gap - 1);
    }
    let hot9_count = rows
        .windows(2)
        .filter(|w| w[0][C_HOT13][..9] != w[1][C_HOT13][..9])
        .count()
        + usize::from(!rows.is_empty());
    let lines = rows
        .into_iter()
        .map(|fields| Line { fields, raw: None })
        .collect();
    Ok((
        lines,
        format!("fresh release: {hot7_count} HOT7, {hot9_count} HOT9"),
    ))
}

// ---------------------------------------------------------------------------------------
// Mutation (next release)
// ---------------------------------------------------------------------------------------

/// Parse one CSV line (double-quoted or bare fields, `""` escapes a quote).
fn parse_csv_line(line: &str) -> Result<Row> {
    let mut fields = Vec::with_capacity(NCOLS);
    let mut chars = line.chars().peekable();
    loop {
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        value.push('"');
                    }
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => bail!("unterminated quoted field"),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ',' {
                break;
            }
            value.push(c);
            chars.next();
        }
        fields.push(value);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// Read a generated (or real) standard file: its data rows (the header is skipped).
fn read_release(path: &Path) -> Result<Vec<Line>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut seen_header = false;
    let mut lines = Vec::new();
    // CP932 trail bytes are 0x40..=0xFC, so splitting on LF is safe.
    for (no, raw) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let content = raw
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(raw);
        if content.is_empty() || content == b"\x1a" {
            continue;
        }
        if !seen_header {
            seen_header = true;
            continue;
        }
        let text = SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(content)
            .with_context(|| format!("line {}: not valid CP932", no + 1))?;
        let fields = parse_csv_line(&text).with_context(|| format!("line {}", no + 1))?;
        ensure!(
            fields.len() == NCOLS,
            "line {}: {} fields, expected {NCOLS}",
            no + 1,
            fields.len()
        );
        ensure!(
            fields[C_HOT13].len() == 13 && fields[C_HOT13].bytes().all(|b| b.is_ascii_digit()),
            "line {}: {:?} is not a HOT13 code (a standard MEDIS*.TXT file is expected)",
            no + 1,
            fields[C_HOT13]
        );
        // A last line without CRLF is re-serialised instead of copied.
        let raw = raw.ends_with(b"\r\n").then(|| raw.to_vec());
        lines.push(Line { fields, raw });
    }
    ensure!(seen_header, "{} is empty", path.display());
    Ok(lines)
}

/// Rename a product: drop or add the （局） mark, drop the old －ＧＥ suffix, or move a
/// generic to another 屋号 「…」. Always returns a different name.
fn rename(rng: &mut Rng, name: &str, shorts: &[String]) -> String {
    if let Some(rest) = name.strip_prefix("（局）") {
        return rest.to_string();
    }
    if let Some(rest) = name.strip_suffix("－ＧＥ") {
        return rest.to_string();
    }
    if let (Some(open), Some(close)) = (name.find('「'), name.rfind('」')) {
        let current = &name[open + '「'.len_utf8()..close];
        let new = loop {
            let s = rng.pick(shorts);
            if s != current {
                break s;
            }
        };
        return format!(
            "{}「{new}」{}",
            &name[..open],
            &name[close + '」'.len_utf8()..]
        );
    }
    format!("（局）{name}")
}

/// Next release from a previous file: ~`change_percent` % of the rows differ.
fn mutate(args: &Args, prev: &Path) -> Result<(Vec<Line>, String)> {
    let mut lines = read_release(prev)?;
    ensure!(!lines.is_empty(), "{} has no data rows", prev.display());
    let release = args.date.format("%Y%m%d").to_string();
    // New rows are all dated with the release date.
    let mut gen = Gen::new(args.seed, vec![release.clone()]);
    gen.rng = Rng::new(args.seed ^ 0x6D75_7461_7465_2121); // separate stream from `generate`
    gen.absorb(&lines);
    let shorts: Vec<String> = gen.companies.iter().map(|c| c.short.clone()).collect();
    // Sorted, so that picking from it is deterministic.
    let sellers: Vec<String> = lines
        .iter()
        .map(|l| l.fields[C_SELLER].clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut all_hot13: HashSet<String> = lines.iter().map(|l| l.fields[C_HOT13].clone()).collect();
    // HOT13 codes were checked to be 13 digits, so their first 6 digits parse.
    let used_base6: HashSet<u32> = lines
        .iter()
        .filter_map(|l| l.fields[C_HOT13][..6].parse().ok())
        .collect();
    ensure!(
        all_hot13.len() == lines.len(),
        "duplicate HOT13 codes in {}",
        prev.display()
    );

    // HOT9 groups: rows are sorted by HOT13, so a group is a contiguous range.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match groups.last_mut() {
            Some((start, end))
                if lines[*start].fields[C_HOT13][..9] == line.fields[C_HOT13][..9] =>
            {
                *end = i + 1
            }
            _ => groups.push((i, i + 1)),
        }
    }

    let total = ((lines.len() as f64) * args.change_percent / 100.0).round() as usize;
    let want_removed = total / 6;
    let want_added = total / 6;
    let want_renamed = total / 3;
    let want_other = total - want_removed - want_added - want_renamed;

    let mut touched = vec![false; lines.len()];
    let mut removed = vec![false; lines.len()];
    // A random HOT9 group none of whose rows was touched yet (bounded number of tries).
    let pick_group = |rng: &mut Rng, touched: &[bool]| -> Option<(usize, usize)> {
        for _ in 0..10_000 {
            let (s, e) = *rng.pick(&groups);
            if !touched[s..e].iter().any(|&t| t) {
                return Some((s, e));
            }
        }
        None
    };

    // Renames (告示名称 / 販売名) and other field changes apply to a whole HOT9, as in the
    // real masters; counts are in rows, so they may overshoot by a few rows.
    let mut renamed = 0;
    while renamed < want_renamed {
        let Some((s, e)) = pick_group(&mut gen.rng, &touched) else {
            break;
        };
        let old_kokuji = lines[s].fields[C_KOKUJI].clone();
        let old_hanbai = lines[s].fields[C_HANBAI].clone();
        let kokuji = rename(&mut gen.rng, &old_kokuji, &shorts);
        // Names kept in sync stay in sync; a distinct 販売名 changes half of the time.
        let hanbai = if old_hanbai == old_kokuji {
            kokuji.clone()
        } else if gen.rng.chance(0.5) {
            rename(&mut gen.rng, &old_hanbai, &shorts)
        } else {
            old_hanbai.clone()
        };
        for (line, t) in lines[s..e].iter_mut().zip(&mut touched[s..e]) {
            let f = &mut line.fields;
            if f[C_RECE_NAME] == old_hanbai {
                f[C_RECE_NAME] = hanbai.clone();
            }
            f[C_KOKUJI] = kokuji.clone();
            f[C_HANBAI] = hanbai.clone();
            *t = true;
            renamed += 1;
        }
    }

    let mut other = 0;
    while other < want_other {
        let Some((s, e)) = pick_group(&mut gen.rng, &touched) else {
            break;
        };
        if gen.rng.chance(0.5) {
            // YJ correction: new 銘柄 digits, same ingredient/form/strength.
            let old = lines[s].fields[C_YJ].clone();
            let Some(new) = (old.len() == 12).then(|| gen.fresh_yj(&old[..9])).flatten() else {
                continue;
            };
            for line in &mut lines[s..e] {
                let f = &mut line.fields;
                if f[C_YAKKA] == old {
                    f[C_YAKKA] = new.clone();
                }
                f[C_YJ] = new.clone();
            }
        } else {
            // 販売会社 change (販売移管).
            let old = lines[s].fields[C_SELLER].clone();
            let new = loop {
                let c = gen.rng.pick(&sellers);
                if *c != old || sellers.len() == 1 {
                    break c.clone();
                }
            };
            if new == old {
                continue;
            }
            for line in &mut lines[s..e] {
                line.fields[C_SELLER] = new.clone();
            }
        }
        for t in &mut touched[s..e] {
            *t = true;
        }
        other += e - s;
    }
    let changed = renamed + other;
    for (line, _) in lines.iter_mut().zip(&touched).filter(|(_, &t)| t) {
        line.fields[C_UPDATED] = release.clone();
        line.raw = None;
    }

    // Removals: single packages (HOT13 rows) disappear.
    let mut n_removed = 0;
    let mut tries = 0;
    while n_removed < want_removed && tries < 1_000_000 {
        tries += 1;
        let i = gen.rng.below(lines.len() as u64) as usize;
        if !touched[i] {
            touched[i] = true;
            removed[i] = true;
            n_removed += 1;
        }
    }

    // Additions: half new packages of existing HOT9s, half new HOT7 products.
    let mut added: Vec<Row> = Vec::new();
    while added.len() < want_added / 2 {
        let Some((s, e)) = pick_group(&mut gen.rng, &touched) else {
            break;
        };
        let last = &lines[e - 1].fields;
        let chozai: u32 = last[C_CHOZAI].parse().unwrap_or(1);
        let butsuryu: u32 = last[C_BUTSURYU].parse().unwrap_or(0);
        let (chozai, butsuryu) = if butsuryu < 99 {
            (chozai, butsuryu + 1)
        } else {
            (chozai + 1, 1)
        };
        let hot13 = format!("{}{chozai:02}{butsuryu:02}", &last[C_HOT13][..9]);
        if chozai > 99 || !all_hot13.insert(hot13.clone()) {
            continue;
        }
        let mut row = last.clone();
        row[C_HOT13] = hot13;
        row[C_CHOZAI] = format!("{chozai:02}");
        row[C_BUTSURYU] = format!("{butsuryu:02}");
        let jan_prefix = if row[C_JAN].len() == 13 {
            row[C_JAN][..7].to_string()
        } else {
            "4900000".to_string()
        };
        row[C_JAN] = gen.fresh_jan(&jan_prefix);
        // A bigger box of the same package form.
        for col in [C_PKG_COUNT, C_PKG_TOTAL] {
            if let Ok(n) = row[col].parse::<u64>() {
                row[col] = (n * 2).to_string();
            }
        }
        row[C_UPDATED] = release.clone();
        for t in &mut touched[s..e] {
            *t = true;
        }
        added.push(row);
    }
    while added.len() < want_added {
        let base6 = gen.rng.range(100_000, 999_999) as u32;
        if used_base6.contains(&base6) {
            continue;
        }
        let rows = gen.product(base6, want_added - added.len());
        for row in &rows {
            all_hot13.insert(row[C_HOT13].clone());
        }
        added.extend(rows);
    }
    let n_added = added.len();

    // Assemble: kept rows (original bytes when unchanged) + added rows, sorted by HOT13.
    let mut out: Vec<Line> = Vec::with_capacity(lines.len() + n_added);
    out.extend(
        lines
            .into_iter()
            .zip(removed)
            .filter(|(_, gone)| !gone)
            .map(|(line, _)| line),
    );
    out.extend(added.into_iter().map(|fields| Line { fields, raw: None }));
    out.sort_by(|a, b| a.fields[C_HOT13].cmp(&b.fields[C_HOT13]));

    let summary = format!(
        "from {}: added {n_added}, removed {n_removed}, changed {changed} \
         (renamed {renamed}, other {other})",
        prev.display()
    );
    Ok((out, summary))
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

/// One CSV line: non-empty values quoted, empty values bare, CRLF.
fn format_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = String::with_capacity(512);
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let field = field.as_ref();
        if !field.is_empty() {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        }
    }
    line.push_str("\r\n");
    line
}

/// Write header + rows as CP932 with a final Ctrl-Z line (via a temporary file and rename);
/// unchanged rows of a previous release are copied byte for byte.
/// Returns the size in bytes and the SHA-256 of the file.
fn write_file(path: &Path, rows: &[Line]) -> Result<(u64, String)> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(rows.len() * 320 + 1024);
    let header = format_line(&HEADER);
    let (bytes, _, unmappable) = SHIFT_JIS.encode(&header);
    ensure!(!unmappable, "header not encodable in CP932");
    buf.extend_from_slice(&bytes);
    for (no, row) in rows.iter().enumerate() {
        if let Some(raw) = &row.raw {
            buf.extend_from_slice(raw);
            continue;
        }
        let line = format_line(&row.fields);
        let (bytes, _, unmappable) = SHIFT_JIS.encode(&line);
        ensure!(
            !unmappable,
            "row {}: not encodable in CP932: {line}",
            no + 1
        );
        buf.extend_from_slice(&bytes);
    }
    buf.push(0x1A);

    let tmp = path.with_extension("TXT.tmp");
    let mut file = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(&buf)?;
    file.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok((buf.len() as u64, hex::encode(Sha256::digest(&buf))))
}
