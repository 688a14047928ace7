#!/usr/bin/env python3
"""Generate SYNTHETIC 医薬品HOTコードマスター (HS001) sample releases for hyojun.

Every value written here is invented (brand names, companies, codes). Nothing is
copied from MEDIS data, which may not be redistributed. Only the *layout* follows
the real files: 24 columns, CP932, CRLF, header row, non-empty values quoted,
empty values unquoted, last line holding only 0x1A (Ctrl-Z).

Outputs (paths relative to this script's folder, masters/hot/):
  20260531/MEDIS20260531.TXT        standard file (one row per HOT13)
  20260531/MEDIS20260531_HOT9.TXT   HOT9 file (one row per HOT9 x YJ x レセ電算コード)
  h20260630.zip                     MEDIS20260630.TXT, MEDIS20260630_HOT9.TXT,
                                    MEDIS20260630_OP.TXT, readme.txt
  h20260630_HOT9del.txt             deletion list (layout unverified, see README)
  EXPECTED.md, EXPECTED.json        20260531 -> 20260630 diff, computed from the data

Usage: python3 masters/hot/make_samples.py   (python3 stdlib only, any cwd,
deterministic: the same bytes every run, except that the zip's compressed
stream depends on the zlib library in use).
"""

import copy
import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent

OLD = "20260531"
NEW = "20260630"

HEADER = [
    "基準番号（ＨＯＴコード）", "処方用番号（ＨＯＴ７）", "会社識別用番号", "調剤用番号",
    "物流用番号", "ＪＡＮコード", "薬価基準収載医薬品コード", "個別医薬品コード",
    "レセプト電算処理システムコード（１）", "レセプト電算処理システムコード（２）", "告示名称",
    "販売名", "レセプト電算処理システム医薬品名", "規格単位", "包装形態", "包装単位数",
    "包装単位単位", "包装総量数", "包装総量単位", "区分", "製造会社", "販売会社", "更新区分",
    "更新年月日",
]
assert len(HEADER) == 24

OP_HEADER = [
    "基準番号（ＨＯＴコード）", "包装数量", "包装数量単位", "入数", "入数単位", "内包装数量",
    "ＪＡＮコード", "ＩＴＦコード", "ＲＳＳコード", "処方用番号（ＨＯＴ７）",
    "レセプト電算処理システムコード", "基準番号（ＨＯＴ９）", "更新区分", "更新年月日",
]
assert len(OP_HEADER) == 14

DEL_HEADER = ["基準番号（ＨＯＴ９）", "処方用番号（ＨＯＴ７）", "告示名称", "販売名", "削除年月日"]

# 0-based column indexes used below
C_HOT, C_HOT7, C_CO, C_CHOZAI, C_BUTSU, C_JAN, C_YAKKA, C_YJ, C_RC1 = range(9)
C_KOKUJI, C_HANBAI = 10, 11
C_SELLER, C_DATE = 21, 23

# --------------------------------------------------------------------------- codes

_FW = str.maketrans("0123456789.%", "０１２３４５６７８９．％")


def fw(s):
    """Half-width digits/./% -> full-width, as the masters write quantities."""
    return str(s).translate(_FW)


def hot7(base6):
    """HOT7 = 6 digits + check digit: weights 1,3,1,3,1,3, check = (10 - sum % 10) % 10."""
    assert len(base6) == 6 and base6.isdigit()
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(base6))
    return base6 + str((10 - total % 10) % 10)


def hot7_valid(code):
    return len(code) == 7 and code.isdigit() and hot7(code[:6]) == code


def gs1_check(digits):
    """GS1 check digit (EAN-13 / GTIN-14): weights 3,1,3,1... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def gs1_valid(code):
    return code.isdigit() and gs1_check(code[:-1]) == code[-1]


assert [hot7(x[:6]) for x in ("1003031", "1003055", "1003062")] == ["1003031", "1003055", "1003062"]
assert gs1_valid("4901234567894")

# --------------------------------------------------------------------------- data
#
# HOT7 codes start with 9 on purpose: real HOT7 codes are 10xxxxx-19xxxxx (JP Core
# list of 2023), so a synthetic code can never be mistaken for a real one. YJ codes
# use real 薬効分類 prefixes with invented 成分 numbers 9xx; receipt codes 6x999xxxx.
#
# A "variant" is one row of the HOT9 file (HOT9 x YJ x レセ電算コード); a "package"
# is one row of the standard file (HOT13). Products with the same 告示名称 from two
# companies share a HOT7; a HOT9 whose brand name changed keeps its old-name package
# under the old YJ / receipt code, so that HOT9 has two rows in the HOT9 file.

def variant(key, base6, co, yakka, yj, rc1, kokuji, hanbai, rece, kikaku, kubun, maker, seller,
            date, packages):
    return {
        "key": key, "hot7": hot7(base6), "co": co, "yakka": yakka, "yj": yj, "rc1": rc1, "rc2": "",
        "kokuji": kokuji, "hanbai": hanbai, "rece": rece, "kikaku": kikaku, "kubun": kubun,
        "maker": maker, "seller": seller, "kbn": "1", "date": date, "packages": packages,
    }


def pkg(chozai, butsu, keitai, tan_n, tan_u, sou_n, sou_u, date):
    return {"chozai": chozai, "butsu": butsu, "keitai": keitai, "tan_n": fw(tan_n), "tan_u": tan_u,
            "sou_n": fw(sou_n), "sou_u": sou_u, "date": date}


def release_20260531():
    return [
        # A: brand tablet, two companies (co-marketing: same brand name, same YJ / receipt code)
        variant("A-01", "900101", "01", "2149901F1023", "2149901F1023", "629990101",
                "ヒョウジュン錠１０ｍｇ", "ヒョウジュン錠１０ｍｇ", "ヒョウジュン錠１０ｍｇ", "１０ｍｇ１錠", "内",
                "サンプル製薬", "サンプル製薬", "20240401", [
                    pkg("01", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20240401"),
                    pkg("01", "02", "ＰＴＰ", 10, "錠", 500, "錠", "20240401"),
                    pkg("02", "01", "バラ", 500, "錠", 500, "錠", "20240401"),
                ]),
        variant("A-02", "900101", "02", "2149901F1023", "2149901F1023", "629990101",
                "ヒョウジュン錠１０ｍｇ", "ヒョウジュン錠１０ｍｇ", "ヒョウジュン錠１０ｍｇ", "１０ｍｇ１錠", "内",
                "サンプル製薬", "ヒョウジュン薬品工業", "20240401", [
                    pkg("01", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20240401"),
                    pkg("01", "02", "ＰＴＰ", 10, "錠", 500, "錠", "20240401"),
                ]),
        # B: higher strength of A, one company
        variant("B-01", "900118", "01", "2149901F2020", "2149901F2020", "629990102",
                "ヒョウジュン錠２０ｍｇ", "ヒョウジュン錠２０ｍｇ", "ヒョウジュン錠２０ｍｇ", "２０ｍｇ１錠", "内",
                "サンプル製薬", "サンプル製薬", "20240401", [
                    pkg("01", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20240401"),
                    pkg("01", "02", "ＰＴＰ", 10, "錠", 500, "錠", "20240401"),
                    pkg("02", "01", "バラ", 500, "錠", 500, "錠", "20241206"),
                ]),
        # C: generics listed under one 告示名称 with a －ＧＥ suffix; one HOT7, two
        #    companies, one YJ / receipt code per brand
        variant("C-01", "900200", "01", "2149901F1015", "2149901F1058", "629990111",
                "ヒョウジュンロン１０ｍｇ錠－ＧＥ", "ヒョウジュンロン錠１０ｍｇ「ミホン」",
                "ヒョウジュンロン錠１０ｍｇ「ミホン」", "１０ｍｇ１錠", "内",
                "見本ファーマ", "見本ファーマ", "20241206", [
                    pkg("01", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20241206"),
                    pkg("01", "02", "ＰＴＰ", 10, "錠", 1000, "錠", "20241206"),
                ]),
        variant("C-02", "900200", "02", "2149901F1015", "2149901F1066", "629990112",
                "ヒョウジュンロン１０ｍｇ錠－ＧＥ", "ヒョウジュンロン錠１０ｍｇ「サンプル」",
                "ヒョウジュンロン錠１０ｍｇ「サンプル」", "１０ｍｇ１錠", "内",
                "テスト製薬", "サンプル製薬", "20241206", [
                    pkg("01", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20241206"),
                    pkg("02", "01", "バラ", 500, "錠", 500, "錠", "20250618"),
                ]),
        # D: brand renamed テスタミド錠 -> テスタミド錠５ｍｇ; the old-name package keeps the
        #    old YJ / receipt code, so HOT9 D-01 is on TWO rows of the HOT9 file
        variant("D-01old", "900309", "01", "2171902F1011", "2171902F1011", "629990201",
                "テスタミド錠", "テスタミド錠", "テスタミド錠　５ｍｇ", "５ｍｇ１錠", "内",
                "ダミー薬品", "ダミー薬品", "20240401", [
                    pkg("01", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20240401"),
                ]),
        variant("D-01new", "900309", "01", "2171902F1038", "2171902F1038", "629990202",
                "テスタミド錠５ｍｇ", "テスタミド錠５ｍｇ", "テスタミド錠５ｍｇ", "５ｍｇ１錠", "内",
                "ダミー薬品", "ダミー薬品", "20250618", [
                    pkg("02", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20250618"),
                    pkg("02", "02", "ＰＴＰ", 10, "錠", 500, "錠", "20250618"),
                ]),
        # E: injection (powder, vial); maker with a CP932 vendor character (㈱)
        variant("E-01", "900408", "01", "6132901D1020", "6132901D1020", "649990401",
                "（局）注射用サンプリンナトリウム", "サンプリン静注用１ｇ", "サンプリン静注用１ｇ", "１ｇ１瓶", "注",
                "モデル化学㈱", "サンプル製薬", "20240401", [
                    pkg("01", "01", "バイアル", 10, "瓶", 10, "瓶", "20240401"),
                    pkg("01", "02", "バイアル", 50, "瓶", 50, "瓶", "20240401"),
                ]),
        # F: external ointment
        variant("F-01", "900507", "01", "2646901M1027", "2646901M1027", "669990501",
                "ケンショウ軟膏０．１％", "ケンショウ軟膏０．１％", "ケンショウ軟膏０．１％", "０．１％１ｇ", "外",
                "テスト製薬", "テスト製薬", "20240401", [
                    pkg("01", "01", "チューブ", 5, "ｇ", 50, "ｇ", "20240401"),
                    pkg("01", "02", "チューブ", 5, "ｇ", 250, "ｇ", "20240401"),
                ]),
        # G: granules, brand name with a CP932 vendor character (Ⅱ)
        variant("G-01", "900606", "01", "3179901C1026", "3179901C1026", "629990601",
                "ダミゾール配合顆粒Ⅱ", "ダミゾール配合顆粒Ⅱ", "ダミゾール配合顆粒Ⅱ", "１ｇ", "内",
                "ダミー薬品", "ダミー薬品", "20240401", [
                    pkg("01", "01", "分包", 1, "ｇ", 120, "ｇ", "20240401"),
                    pkg("02", "01", "バラ", 500, "ｇ", 500, "ｇ", "20240401"),
                ]),
        # H: capsule, two companies (co-marketing)
        variant("H-01", "900705", "01", "1149901M1029", "1149901M1029", "629990701",
                "モデルールカプセル２５ｍｇ", "モデルールカプセル２５ｍｇ", "モデルールカプセル２５ｍｇ",
                "２５ｍｇ１カプセル", "内", "例示製薬", "例示製薬", "20240401", [
                    pkg("01", "01", "ＰＴＰ", 10, "カプセル", 100, "カプセル", "20240401"),
                    pkg("01", "02", "ＰＴＰ", 10, "カプセル", 500, "カプセル", "20240401"),
                ]),
        variant("H-02", "900705", "02", "1149901M1029", "1149901M1029", "629990701",
                "モデルールカプセル２５ｍｇ", "モデルールカプセル２５ｍｇ", "モデルールカプセル２５ｍｇ",
                "２５ｍｇ１カプセル", "内", "例示製薬", "架空メディカル", "20250401", [
                    pkg("01", "01", "ＰＴＰ", 10, "カプセル", 100, "カプセル", "20250401"),
                ]),
        # I: dental (区分 歯)
        variant("I-01", "900804", "01", "2790901X1023", "2790901X1023", "689990801",
                "ヒョウジュン歯科用ペースト５％", "ヒョウジュン歯科用ペースト５％", "ヒョウジュン歯科用ペースト５％",
                "５％１ｇ", "歯", "見本ファーマ", "見本ファーマ", "20240401", [
                    pkg("01", "01", "瓶", 10, "ｇ", 10, "ｇ", "20240401"),
                ]),
        # J: single-company product, dropped entirely in 20260630
        variant("J-01", "900903", "01", "6149901F1028", "6149901F1028", "629990901",
                "ケンショウマイシン錠５０ｍｇ", "ケンショウマイシン錠５０ｍｇ", "ケンショウマイシン錠５０ｍｇ",
                "５０ｍｇ１錠", "内", "試験製薬", "試験製薬", "20240401", [
                    pkg("01", "01", "ＰＴＰ", 10, "錠", 100, "錠", "20240401"),
                    pkg("01", "02", "ＰＴＰ", 10, "錠", 500, "錠", "20240401"),
                ]),
        # K: syrup; one package updated on the release date itself
        variant("K-01", "901000", "01", "4490901Q1020", "4490901Q1020", "629991001",
                "レイジドンシロップ０．５％", "レイジドンシロップ０．５％", "レイジドンシロップ０．５％",
                "０．５％１ｍＬ", "内", "例示製薬", "例示製薬", "20251212", [
                    pkg("01", "01", "瓶", 500, "ｍＬ", 500, "ｍＬ", "20251212"),
                    pkg("02", "01", "瓶", 100, "ｍＬ", 100, "ｍＬ", OLD),
                ]),
        # L: patch (external), 規格単位 with ×
        variant("L-01", "901109", "01", "2649901S1023", "2649901S1023", "669991101",
                "ケンショウテープ２０ｍｇ", "ケンショウテープ２０ｍｇ", "ケンショウテープ２０ｍｇ",
                "７ｃｍ×１０ｃｍ１枚", "外", "テスト製薬", "テスト製薬", "20260301", [
                    pkg("01", "01", "袋", 7, "枚", 70, "枚", "20260301"),
                    pkg("01", "02", "袋", 7, "枚", 700, "枚", "20260301"),
                ]),
    ]


def by_key(variants, key):
    (v,) = [v for v in variants if v["key"] == key]
    return v


def touch(v):
    """A product-level change: the HOT9 row and all HOT13 rows under it get the release date."""
    v["date"] = NEW
    for p in v["packages"]:
        p["date"] = NEW


def release_20260630(old):
    vs = copy.deepcopy(old)
    # added: a new package (HOT13) of an existing HOT9; the HOT9-level row is unchanged
    by_key(vs, "A-01")["packages"].append(pkg("02", "02", "バラ", 1000, "錠", 1000, "錠", NEW))
    # removed: one package (HOT13) row dropped
    b = by_key(vs, "B-01")
    b["packages"] = [p for p in b["packages"] if (p["chozai"], p["butsu"]) != ("02", "01")]
    # removed: a whole HOT9 (its HOT7 and YJ had no other rows) dropped from both files
    vs = [v for v in vs if v["key"] != "J-01"]
    # changed: 告示名称 rename removing the －ＧＥ suffix (all rows of HOT7 C)
    for key in ("C-01", "C-02"):
        v = by_key(vs, key)
        assert v["kokuji"].endswith("－ＧＥ")
        v["kokuji"] = v["kokuji"][: -len("－ＧＥ")]
        touch(v)
    # changed: 販売会社 change
    e = by_key(vs, "E-01")
    e["seller"] = "見本ファーマ"
    touch(e)
    # changed: YJ code correction (last 3 characters)
    f = by_key(vs, "F-01")
    f["yj"] = "2646901M1035"
    touch(f)
    # added: a new HOT7 with its HOT9 and HOT13 rows
    vs.append(variant("N-01", "901208", "01", "1319901Q1024", "1319901Q1024", "669991201",
                      "サンプリン点眼液０．５％", "サンプリン点眼液０．５％", "サンプリン点眼液０．５％",
                      "０．５％１ｍＬ", "外", "サンプル製薬", "サンプル製薬", NEW, [
                          pkg("01", "01", "容器", 5, "ｍＬ", 50, "ｍＬ", NEW),
                          pkg("01", "02", "容器", 5, "ｍＬ", 250, "ｍＬ", NEW),
                      ]))
    return vs


# The deletion list published with 20260630: one HOT9 that is still in the 20260630
# HOT9 file (so it becomes retired) and one HOT9 that is gone from it.
DELETED_20260630 = [("A-02", NEW), ("J-01", NEW)]

# --------------------------------------------------------------------------- rows


def hot9_of(v):
    return v["hot7"] + v["co"]


def std_rows(variants):
    """Standard file rows (HOT13), sorted by HOT13."""
    rows = []
    for v in variants:
        for p in v["packages"]:
            h13 = hot9_of(v) + p["chozai"] + p["butsu"]
            jan12 = "49" + h13[3:]
            rows.append([
                h13, v["hot7"], v["co"], p["chozai"], p["butsu"], jan12 + gs1_check(jan12),
                v["yakka"], v["yj"], v["rc1"], v["rc2"], v["kokuji"], v["hanbai"], v["rece"],
                v["kikaku"], p["keitai"], p["tan_n"], p["tan_u"], p["sou_n"], p["sou_u"], v["kubun"],
                v["maker"], v["seller"], v["kbn"], p["date"],
            ])
    rows.sort(key=lambda r: r[C_HOT])
    assert len({r[C_HOT] for r in rows}) == len(rows), "HOT13 must be unique in the standard file"
    return rows


def hot9_rows(variants, std):
    """HOT9 file rows derived from the standard file: one row per (HOT9, YJ, レセ電算コード(1)).

    Columns 4-6 (調剤用番号, 物流用番号, ＪＡＮコード) and the package columns 15-19 are
    empty, as in the real HOT9 files. 更新年月日 is the HOT9-level (product) date, which
    does not move when only a package row is added or dropped.
    """
    hot9_date = {(hot9_of(v), v["yj"], v["rc1"]): v["date"] for v in variants}
    groups = {}
    for r in std:
        k = (r[C_HOT][:9], r[C_YJ], r[C_RC1])
        row = [k[0]] + r[1:3] + ["", "", ""] + r[6:14] + ["", "", "", "", ""] + r[19:23] + [hot9_date[k]]
        if k in groups:
            assert groups[k] == row, f"HOT13 rows of {k} disagree on HOT9-level columns"
        groups[k] = row
    rows = [groups[k] for k in sorted(groups)]
    return rows


def op_rows(std):
    """Option file rows (layout inferred, unverified) for the first HOT13 codes."""
    rows = []
    for r in std[:6]:
        jan = r[C_JAN]
        itf13 = "1" + jan[:12]
        rss13 = "0" + "49" + r[C_HOT][3:11] + "99"
        n_unit, n_total = r[15], r[17]
        rows.append([
            r[C_HOT], n_total, r[18], n_unit, r[16], n_unit, jan, itf13 + gs1_check(itf13),
            rss13 + gs1_check(rss13), r[C_HOT7], r[C_RC1], r[C_HOT][:9], "1", r[C_DATE],
        ])
    return rows


def del_rows(old_variants):
    out = []
    for key, date in DELETED_20260630:
        v = by_key(old_variants, key)
        out.append([hot9_of(v), v["hot7"], v["kokuji"], v["hanbai"], date])
    return out


# --------------------------------------------------------------------------- writing


def csv_line(values):
    for v in values:
        assert '"' not in v and "," not in v and "\r" not in v and "\n" not in v, v
    return ",".join(f'"{v}"' if v != "" else "" for v in values) + "\r\n"


def encode(text):
    return text.encode("cp932")  # fails loudly on a character CP932 cannot hold


def medis_file(header, rows):
    """Header + rows, CP932, CRLF, quoted non-empty values, then a last line of only 0x1A."""
    return encode(csv_line(header) + "".join(csv_line(r) for r in rows)) + b"\x1a"


def plain_csv(header, rows):
    return encode(csv_line(header) + "".join(csv_line(r) for r in rows))


README_TXT = """\
hyojun テスト用 サンプル配布物 (sample distribution) h{date}.zip

このzipは hyojun の取込テスト用に作成した架空のデータです。
MEDIS-DC の医薬品HOTコードマスターの実データではありません。
販売名・会社名・コードはすべて架空のものです。

This is a SYNTHETIC sample distribution made for hyojun's import tests.
It contains no MEDIS data; every brand name, company name and code is invented.

収録ファイル / files:
  MEDIS{date}.TXT        標準マスター (HOT13, 24項目)
  MEDIS{date}_HOT9.TXT   HOT9マスター (24項目)
  MEDIS{date}_OP.TXT     オプションマスター (14項目, レイアウト未確認)
  readme.txt                 このファイル

実際の配布物に含まれるレイアウトPDF(標準レイアウト.pdf, オプションレイアウト.pdf)は
このサンプルには含まれません。削除HOT9リストは zip の外の h{date}_HOT9del.txt です。
"""


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def make_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 6, 30, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0  # MS-DOS
            info.external_attr = 0x20  # archive bit
            z.writestr(info, data)
    return buf.getvalue()


# --------------------------------------------------------------------------- diff


def systems(std, h9, dels=()):
    """Map each code of each system to the sorted list of rows carrying it.

    hot13: standard-file row whose column 1 is the code.
    hot9:  HOT9-file rows whose column 1 is the code + standard-file rows whose HOT13
           starts with it + the deletion-list row naming it (a deleted HOT9 stays
           answerable, as retired).
    hot7:  rows of either file whose column 2 is the code, and deletion-list rows.
    yj:    rows of either file whose column 8 (個別医薬品コード) is the code.
    Rows are tagged with their file and with their status: every row under a HOT9 of the
    deletion list is retired, so it counts as changed.
    """
    deleted = {r[0] for r in dels}
    out = {s: defaultdict(list) for s in ("hot13", "hot9", "hot7", "yj")}
    for r in std:
        t = ("std", "retired" if r[C_HOT][:9] in deleted else "active") + tuple(r)
        out["hot13"][r[C_HOT]].append(t)
        out["hot9"][r[C_HOT][:9]].append(t)
        out["hot7"][r[C_HOT7]].append(t)
        if r[C_YJ]:
            out["yj"][r[C_YJ]].append(t)
    for r in h9:
        t = ("hot9", "retired" if r[C_HOT] in deleted else "active") + tuple(r)
        out["hot9"][r[C_HOT]].append(t)
        out["hot7"][r[C_HOT7]].append(t)
        if r[C_YJ]:
            out["yj"][r[C_YJ]].append(t)
    for r in dels:
        t = ("del", "retired") + tuple(r)
        out["hot9"][r[0]].append(t)
        out["hot7"][r[0][:7]].append(t)
    return {s: {k: sorted(v) for k, v in d.items()} for s, d in out.items()}


def describe(old_rows, new_rows):
    """Short reason text for a changed code."""
    def keyed(rows):
        d = {}
        for t in rows:
            r = t[2:]
            if t[0] == "std":
                k = (t[0], r[0], "", "")
            elif t[0] == "del":
                k = (t[0], r[0], "", "")
            else:
                k = (t[0], r[0], r[C_YJ], r[C_RC1])
            d.setdefault(k, []).append(t)
        return d
    o, n = keyed(old_rows), keyed(new_rows)
    parts = []
    for k in sorted(set(o) | set(n)):
        where = {"std": f"HOT13 {k[1]}", "del": f"deletion-list row {k[1]}"}.get(
            k[0], f"HOT9-file row {k[1]}/{k[2]}/{k[3]}")
        if k not in o:
            parts.append(f"{where} added")
        elif k not in n:
            parts.append(f"{where} removed")
        elif o[k] != n[k]:
            a, b = o[k][0], n[k][0]
            if a[1] != b[1]:
                parts.append(f"{where}: {a[1]} → {b[1]}")
            cols = sorted({i for x, y in zip(o[k], n[k]) for i in range(2, min(len(x), len(y))) if x[i] != y[i]})
            if cols:
                parts.append(f"{where}: " + ", ".join(HEADER[i - 2] for i in cols))
    return parts


def diff(old_std, old_h9, new_std, new_h9, new_dels):
    a, b = systems(old_std, old_h9), systems(new_std, new_h9, new_dels)
    result = {}
    for s in ("hot13", "hot9", "hot7", "yj"):
        added = sorted(set(b[s]) - set(a[s]))
        removed = sorted(set(a[s]) - set(b[s]))
        changed, reasons = [], {}
        for k in sorted(set(a[s]) & set(b[s])):
            if a[s][k] != b[s][k]:
                changed.append(k)
                reasons[k] = describe(a[s][k], b[s][k])
        result[s] = {"added": added, "removed": removed, "changed": changed, "reasons": reasons}
    return result


def expected_md(d, old_counts, new_counts, deleted):
    L = []
    L.append("# Expected diff of the synthetic HOT samples: 20260531 → 20260630")
    L.append("")
    L.append("GENERATED by `python3 masters/hot/make_samples.py` from the data it writes; do not edit by hand.")
    L.append("The same lists are in `EXPECTED.json` (keys `hot13`, `hot9`, `hot7`, `yj`, each with")
    L.append("`added`, `removed`, `changed`).")
    L.append("")
    L.append("## Inputs")
    L.append("")
    L.append("| release | standard file | HOT9 file | deletion list |")
    L.append("|---|---|---|---|")
    L.append(f"| {OLD} | `{OLD}/MEDIS{OLD}.TXT` ({old_counts[0]} rows) | `{OLD}/MEDIS{OLD}_HOT9.TXT` ({old_counts[1]} rows) | none |")
    L.append(f"| {NEW} | `h{NEW}.zip` → `MEDIS{NEW}.TXT` ({new_counts[0]} rows) | `h{NEW}.zip` → `MEDIS{NEW}_HOT9.TXT` ({new_counts[1]} rows) | `h{NEW}_HOT9del.txt` ({len(deleted)} codes) |")
    L.append("")
    L.append("## Definitions used")
    L.append("")
    L.append("A code's *rows* are compared field by field (all 24 columns, 更新年月日 included) between the two releases.")
    L.append("")
    L.append("* **hot13**: the standard-file row whose column 1 is the code.")
    L.append("* **hot9**: the HOT9-file rows whose column 1 is the code (there can be several) **plus** the")
    L.append("  standard-file rows whose HOT13 starts with it. So adding or dropping a HOT13 package under a")
    L.append("  HOT9 makes that HOT9 *changed*, even though its HOT9-file row is byte-identical.")
    L.append("* **hot7**: the rows of either file whose column 2 (処方用番号（ＨＯＴ７）) is the code.")
    L.append("* **yj**: the rows of either file whose column 8 (個別医薬品コード) is the code (column 7,")
    L.append("  薬価基準収載医薬品コード, is not a key here).")
    L.append("* *added* = has rows in 20260630 only; *removed* = has rows in 20260531 only; *changed* = has rows")
    L.append("  in both and the set of rows differs.")
    L.append("* The deletion list retires a HOT9: every row of the HOT9 file and every HOT13 package under it")
    L.append("  becomes *retired* (so those codes, and the HOT7/YJ codes those rows carry, are *changed*). The")
    L.append("  deletion-list row itself carries the HOT9 and its HOT7, so a listed HOT9 that is gone from the files")
    L.append("  stays answerable as retired: it is *changed*, not *removed*.")
    L.append("")
    L.append("## Counts")
    L.append("")
    L.append("| system | added | removed | changed |")
    L.append("|---|---|---|---|")
    for s in ("hot13", "hot9", "hot7", "yj"):
        L.append(f"| {s} | {len(d[s]['added'])} | {len(d[s]['removed'])} | {len(d[s]['changed'])} |")
    L.append("")
    L.append("## Codes")
    for s in ("hot13", "hot9", "hot7", "yj"):
        L.append("")
        L.append(f"### {s}")
        L.append("")
        for kind in ("added", "removed", "changed"):
            codes = d[s][kind]
            L.append(f"* {kind} ({len(codes)}): " + (", ".join(f"`{c}`" for c in codes) if codes else "none"))
            if kind == "changed":
                for c in codes:
                    L.append(f"  * `{c}`: " + "; ".join(d[s]["reasons"][c]))
    L.append("")
    L.append("## Deletion list `h20260630_HOT9del.txt`")
    L.append("")
    for h9, state in deleted:
        L.append(f"* `{h9}`: {state}")
    L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------- checks


def check(std, h9):
    for r in std + h9:
        assert len(r) == 24
        assert hot7_valid(r[C_HOT7]), r[C_HOT7]
        assert r[C_HOT].startswith(r[C_HOT7] + r[C_CO])
        assert len(r[C_YAKKA]) == 12 and len(r[C_YJ]) == 12
        assert r[C_YAKKA][:7] == r[C_YJ][:7], "YJ and 薬価基準コード share 成分 + 剤形"
        assert len(r[C_RC1]) == 9 and r[C_RC1].startswith("6")
        assert r[19] in ("内", "注", "外", "歯")
        assert r[22] == "1" and len(r[C_DATE]) == 8
    for r in std:
        assert len(r[C_HOT]) == 13 and r[C_HOT].isdigit()
        assert r[C_HOT] == r[C_HOT7] + r[C_CO] + r[C_CHOZAI] + r[C_BUTSU]
        assert len(r[C_JAN]) == 13 and r[C_JAN].startswith("49") and gs1_valid(r[C_JAN])
    for r in h9:
        assert len(r[C_HOT]) == 9 and r[3] == r[4] == r[5] == ""


def main():
    old_v = release_20260531()
    new_v = release_20260630(old_v)

    old_std = std_rows(old_v)
    old_h9 = hot9_rows(old_v, old_std)
    new_std = std_rows(new_v)
    new_h9 = hot9_rows(new_v, new_std)
    for std, h9, date in ((old_std, old_h9, OLD), (new_std, new_h9, NEW)):
        check(std, h9)
        assert all(r[C_DATE] <= date for r in std + h9)
        dup = [k for k in {r[0] for r in h9} if sum(1 for r in h9 if r[0] == k) > 1]
        assert dup, "at least one HOT9 must appear on two rows of the HOT9 file"

    # unchanged rows stay byte-identical; changed/added rows carry the new date
    old_by13 = {r[0]: r for r in old_std}
    for r in new_std:
        if r[0] in old_by13 and old_by13[r[0]] != r:
            assert r[C_DATE] == NEW and old_by13[r[0]][C_DATE] != NEW
        if r[0] not in old_by13:
            assert r[C_DATE] == NEW

    dels = del_rows(old_v)
    new_h9_codes = {r[0] for r in new_h9}
    deleted_state = []
    for r in dels:
        state = "still in the 20260630 HOT9 file → its rows and packages retired (changed)" \
            if r[0] in new_h9_codes \
            else "gone from the 20260630 files → kept as a retired code (changed)"
        deleted_state.append((r[0], state))
    assert sorted(s.split(" ")[0] for _, s in deleted_state) == ["gone", "still"]

    # ---- write
    write(HERE / OLD / f"MEDIS{OLD}.TXT", medis_file(HEADER, old_std))
    write(HERE / OLD / f"MEDIS{OLD}_HOT9.TXT", medis_file(HEADER, old_h9))
    members = [
        (f"MEDIS{NEW}.TXT", medis_file(HEADER, new_std)),
        (f"MEDIS{NEW}_HOT9.TXT", medis_file(HEADER, new_h9)),
        (f"MEDIS{NEW}_OP.TXT", medis_file(OP_HEADER, op_rows(new_std))),
        ("readme.txt", encode(README_TXT.format(date=NEW).replace("\n", "\r\n"))),
    ]
    write(HERE / f"h{NEW}.zip", make_zip(members))
    write(HERE / f"h{NEW}_HOT9del.txt", plain_csv(DEL_HEADER, dels))

    d = diff(old_std, old_h9, new_std, new_h9, dels)
    md = expected_md(d, (len(old_std), len(old_h9)), (len(new_std), len(new_h9)), deleted_state)
    write(HERE / "EXPECTED.md", md.encode("utf-8"))
    js = {s: {k: d[s][k] for k in ("added", "removed", "changed")} for s in d}
    js["deleted_hot9"] = {h: "retired" for h, _ in deleted_state}
    write(HERE / "EXPECTED.json", (json.dumps(js, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))

    # ---- summary
    print(f"{OLD}: standard {len(old_std)} rows, HOT9 file {len(old_h9)} rows")
    print(f"{NEW}: standard {len(new_std)} rows, HOT9 file {len(new_h9)} rows, "
          f"OP {len(op_rows(new_std))} rows, deletion list {len(dels)} rows")
    print(f"diff {OLD} -> {NEW}:")
    print(f"  {'system':6} {'added':>5} {'removed':>7} {'changed':>7}")
    for s in ("hot13", "hot9", "hot7", "yj"):
        print(f"  {s:6} {len(d[s]['added']):>5} {len(d[s]['removed']):>7} {len(d[s]['changed']):>7}")
    for s in ("hot13", "hot9", "hot7", "yj"):
        for kind in ("added", "removed", "changed"):
            print(f"  {s} {kind}: {' '.join(d[s][kind]) or '-'}")
    print(f"wrote files under {HERE}")


if __name__ == "__main__":
    main()
