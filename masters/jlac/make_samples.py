#!/usr/bin/env python3
"""Generate SYNTHETIC 臨床検査マスター (HS014, JLAC10 / JLAC11) sample releases for hyojun.

Every value here is invented: analyte codes use the 中分類 letter Z with numbers 9xx
(3Z901 …), materials / methods are 9xx, results 9x, JLAC11 測定物 codes C99xx / E99xx, and all
names start with 見本 ("sample"). Nothing is copied from the JLACセンター / JSLM / MEDIS tables,
which may not be redistributed. Only the *layout* follows the real files:

* まとめ表 workbook (.xlsx): sheet 17桁コード表 (title rows, a two-row header with merged
  group titles, data from row 5: C = 17-character code, D–U = (拡張フラグ, コード, 名称) for
  分析物 / 識別 / 材料 / 測定法 / 結果識別(共通) / 結果識別(固有), X = 単位; new codes appended
  at the bottom after a repeated header), and the component sheets 分析物 (A, C, E),
  識別 (A, C, E), 材料 (A, C, D), 測定法 (A, C, sub-method D, F), 結果識別（共通） (A, C),
  結果識別（固有） (E, G, H). Some code cells are numbers, as Excel stores them (識別 0000 → 0).
* eCS 共有項目JLACコードマスタ CSV: the REAL 32-column header, UTF-8, every field quoted, CRLF.

Outputs (relative to this script's folder, masters/jlac/):
  901/901_matome.zip (one .xlsx inside) + 901/kyoyu-jlac-master.csv   release 901
  902/902_matome.xlsx (loose) + 902/kyoyu-jlac-master.csv             release 902
  EXPECTED.md, EXPECTED.json   the 901 -> 902 diff, computed from the data

Usage: python3 masters/jlac/make_samples.py   (stdlib only, any cwd, deterministic).
"""

import copy
import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
OLD, NEW = "901", "902"
STAMP = (2026, 5, 1, 0, 0, 0)

# ------------------------------------------------------------------ component tables
ANALYTES = {
    "1Z901": ("見本尿成分", "Sample urine component"),
    "3Z901": ("見本蛋白", "Sample protein"),
    "3Z902": ("見本酵素", "Sample enzyme"),
    "3Z903": ("見本脂質", "Sample lipid"),
    "5Z901": ("見本抗体", "Sample antibody"),
    "5Z902": ("見本抗原", "Sample antigen"),
}
IDENTS = {"0000": ("", ""), "1901": ("見本負荷後", "Sample after load")}
MATERIALS = {
    "901": ("見本尿", "Sample urine"),
    "922": ("見本血漿", "Sample plasma"),
    "923": ("見本血清", "Sample serum"),
}
METHODS = {
    "971": ("見本吸光法", "Sample photometry"),
    "972": ("見本免疫法", "Sample immunoassay"),
    "999": ("見本その他", "Sample other"),
}
RESULTS = {"91": ("見本定量値", ""), "92": ("見本定性", ""), "93": ("見本判定", "")}
# 固有 結果識別: 分析物 + 識別 + 結果識別 → a meaning specific to that analyte.
SPECIFIC = {"5Z901000093": ("見本抗体指数", "Sample antibody index")}


def release_tables(release):
    t = copy.deepcopy(
        dict(analyte=ANALYTES, ident=IDENTS, material=MATERIALS, method=METHODS,
             result=RESULTS, specific=SPECIFIC))
    if release == NEW:
        # A renamed method changes the decoded names of every code using it.
        t["method"]["972"] = ("見本免疫測定法", "Sample immunoassay (renamed)")
        t["analyte"]["3Z904"] = ("見本糖質", "Sample carbohydrate")
    return t


# ------------------------------------------------------------------ 17桁コード表 rows
# (code, 拡張フラグ of 分析物, unit, new-code block?)
CODES_OLD = [
    ("1Z901000090197192", "", "", False),
    ("3Z901000092397191", "", "g/dL", False),
    ("3Z901000092297191", "", "g/dL", False),
    ("3Z902000092397191", "", "U/L", False),
    ("3Z902190192397191", "1", "U/L", False),
    ("3Z903000092397191", "", "mg/dL", False),
    ("5Z901000092397291", "", "IU/mL", False),
    ("5Z901000092397293", "", "", False),
    ("5Z902000092399992", "", "", False),
    ("5Z902000092397292", "", "", True),
]


def codes_of(release):
    rows = list(CODES_OLD)
    if release == NEW:
        rows = [r for r in rows if r[0] != "3Z903000092397191"]          # removed
        rows = [(c, f, "mg/L" if c == "3Z901000092297191" else u, n)    # unit changed
                for c, f, u, n in rows]
        rows.append(("3Z904000092397191", "", "mg/dL", True))            # added (new block)
    return rows


def decoded(code, t):
    """Names of the five components, as the importer decodes them."""
    a, i, m, me, r = code[:5], code[5:9], code[9:12], code[12:15], code[15:]
    spec = t["specific"].get(a + i + r)
    result = spec if spec else t["result"][r]
    return [t["analyte"][a], t["ident"][i], t["material"][m], t["method"][me], result], spec


def code_row(n, code, flag, unit, t):
    names, spec = decoded(code, t)
    parts = [code[:5], code[5:9], code[9:12], code[12:15], code[15:]]
    row = [n, names[0][0] + ("・" + names[1][0] if names[1][0] else ""), code]
    for k, (part, (ja, _)) in enumerate(zip(parts, names)):
        if k == 4 and spec:
            row += ["", part, t["result"][part][0]]
            continue
        cell = part
        if k == 1 and part == "0000":
            cell = 0  # Excel keeps 0000 as the number 0
        row += [flag if k == 0 else "", cell, ja]
    row += ["", part_or_empty(spec, parts[4]), spec[0] if spec else ""]
    row += [code[:15], "", unit]
    assert len(row) == 24
    return row


def part_or_empty(spec, result):
    return result if spec else ""


GROUP_TITLES = ["分析物", "識別", "材料", "測定法", "結果識別（共通）", "結果識別（固有）"]
HEADER_1 = (["No", "検査項目名称", "JLAC10コード（17桁）"]
            + sum([[g, None, None] for g in GROUP_TITLES], [])
            + ["JLAC10コード（15桁）", "備考", "単位"])
HEADER_2 = [None, None, None] + ["拡張フラグ", "コード", "名称"] * 6 + [None, None, None]
MERGES_FOR = lambda r: [f"{c1}{r}:{c2}{r}" for c1, c2 in
                        [("D", "F"), ("G", "I"), ("J", "L"), ("M", "O"), ("P", "R"), ("S", "U")]]


def code_sheet(release, t):
    rows = [["臨床検査マスター まとめ表（JLAC10 17桁コード表） 見本", None, None, None, None, None,
             None, f"第{release}版 2026年{5 if release == OLD else 6}月1日"],
            [], HEADER_1, HEADER_2]
    merges = MERGES_FOR(3)
    n = 0
    data = codes_of(release)
    for code, flag, unit, new in data:
        if not new:
            n += 1
            rows.append(code_row(n, code, flag, unit, t))
    rows.append([])
    rows.append(["新コード"])
    rows.append(HEADER_1)
    merges += MERGES_FOR(len(rows))
    rows.append(HEADER_2)
    for code, flag, unit, new in data:
        if new:
            n += 1
            rows.append(code_row(n, code, flag, unit, t))
    return rows, merges


def component_sheets(t):
    an = [["分析物コード表 見本"], ["分析物コード", "大分類", "分析物名称", "略称", "英語名称"]]
    for c, (ja, en) in sorted(t["analyte"].items()):
        an.append([c, {"1": "一般", "3": "生化学", "5": "免疫"}[c[0]], ja, "", en])
    idt = [["識別コード表 見本"], ["識別コード", None, "識別名称", None, "英語名称"]]
    for c, (ja, en) in sorted(t["ident"].items()):
        idt.append([int(c) if c == "0000" else c, None, ja or "識別なし", None, en or "none"])
    mat = [["材料コード表 見本"], ["材料コード", None, "材料名称", "英語名称"]]
    for c, (ja, en) in sorted(t["material"].items()):
        mat.append([c, None, ja, en])
    met = [["測定法コード表 見本"], ["測定法コード", None, "測定法名称", "細分類", None, "英語名称"]]
    merges = []
    for c, (ja, en) in sorted(t["method"].items()):
        met.append([c, None, ja, "見本細分類1", None, en])
        if c == "972":
            # a sub-method on a second row, the code cell merged with the row above
            met.append([None, None, None, "見本細分類2"])
            merges.append(f"A{len(met) - 1}:A{len(met)}")
    res = [["結果識別コード表（共通） 見本"], ["結果識別コード", None, "名称"]]
    for c, (ja, _) in sorted(t["result"].items()):
        res.append([c, None, ja])
    spec = [["結果識別コード表（固有） 見本"],
            [None, None, None, None, "固有結果識別コード", None, "名称", "英語名称"]]
    for c, (ja, en) in sorted(t["specific"].items()):
        spec.append([None, None, None, None, c, None, ja, en])
    return [("分析物", an, []), ("識別", idt, []), ("材料", mat, []), ("測定法", met, merges),
            ("結果識別（共通）", res, []), ("結果識別（固有）", spec, [])]


# ------------------------------------------------------------------ minimal .xlsx writer
def col_letter(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def xlsx_bytes(sheets):
    strings, index = [], {}

    def sst(s):
        if s not in index:
            index[s] = len(strings)
            strings.append(s)
        return index[s]

    parts = {}
    for n, (name, rows, merges) in enumerate(sheets, 1):
        out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
        for r, row in enumerate(rows, 1):
            cells = []
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                ref = f"{col_letter(c)}{r}"
                if isinstance(v, int):
                    cells.append(f'<c r="{ref}"><v>{v}</v></c>')
                else:
                    cells.append(f'<c r="{ref}" t="s"><v>{sst(str(v))}</v></c>')
            out.append(f'<row r="{r}">{"".join(cells)}</row>')
        out.append("</sheetData>")
        if merges:
            out.append(f'<mergeCells count="{len(merges)}">'
                       + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + "</mergeCells>")
        out.append("</worksheet>")
        parts[f"xl/worksheets/sheet{n}.xml"] = "".join(out)
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings) + "</sst>")
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {ns}><sheets>'
        + "".join(f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
                  for n, (name, _, _) in enumerate(sheets, 1)) + "</sheets></workbook>")
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts["xl/_rels/workbook.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{n}" Type="{rel}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                  for n in range(1, len(sheets) + 1))
        + f'<Relationship Id="rId{len(sheets) + 1}" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>")
    parts["_rels/.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{ct}.worksheet+xml"/>'
                  for n in range(1, len(sheets) + 1))
        + f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>')
    order = ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
             "xl/sharedStrings.xml"] + [f"xl/worksheets/sheet{n}.xml" for n in range(1, len(sheets) + 1)]
    return zip_bytes([(name, parts[name].encode("utf-8")) for name in order])


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


# ------------------------------------------------------------------ 共有項目 CSV
KYOYU_HEADER = [
    "区分名称", "予備区分名称", "救急フラグ", "生活習慣病フラグ", "データ区分", "大項目", "FHIR項目名称",
    "FHIR識別文字列", "略称", "販売名称", "材料(JLAC11)", "測定法(JLAC11)", "JLAC11コード", "表示用単位",
    "表示用単位2", "XML用単位", "XML用単位2", "材料(JLAC10)", "検査方法(JLAC10-測定法)", "JLAC10コード",
    "基準値フラグ(下限)", "基準値フラグ(上限)", "基準値フラグ(判定)", "データタイプ", "値の下限", "値の上限",
    "数値型の場合の形式", "コード型の場合の値リスト", "コード型のOID", "並び順", "適用開始日", "適用終了日",
]
assert len(KYOYU_HEADER) == 32


def kyoyu_row(item, fhir_id, product, material, jlac11, unit, jlac10, order, category="生化学検査"):
    return [category, "", "1", "1", "1", item, item, fhir_id, fhir_id, product, material, product,
            jlac11, unit, "", unit, "", material, METHODS[jlac10[12:15]][0], jlac10, "", "", "",
            "PQ", "", "", "", "", "", str(order), "00000000", "99999999"]


def kyoyu_rows(release):
    rows = [
        kyoyu_row("見本蛋白(SP)", "SP", "「見本」SP-L", "見本血清", "C9901000092390155", "g/dL",
                  "3Z901000092397191", 100),
        kyoyu_row("見本蛋白(SP)", "SP", "「見本」SP-L", "見本血漿", "C9901000092290155", "g/dL",
                  "3Z901000092297191", 100),
        kyoyu_row("見本酵素(SE)", "SE", "「見本」SE-R", "見本血清", "C9902000092390217", "U/L",
                  "3Z902000092397191", 110),
        kyoyu_row("見本脂質(SL)", "SL", "「見本」SL-N", "見本血清", "C9903000092390344", "mg/dL",
                  "3Z903000092397191", 120),
    ]
    if release == NEW:
        rows = [r for r in rows if r[12] != "C9903000092390344"]              # removed
        rows[2][9] = rows[2][11] = "「見本」SE-R2"                              # changed
        rows.append(kyoyu_row("見本抗体(SA)", "SA", "「見本」SA-C", "見本血清", "E9901000092390452",
                              "IU/mL", "5Z901000092397291", 200, category="免疫検査"))  # added
    return rows


def csv_bytes(rows):
    def q(v):
        return '"' + v.replace('"', '""') + '"'
    return "".join(",".join(q(v) for v in r) + "\r\n" for r in [KYOYU_HEADER] + rows).encode("utf-8")


# ------------------------------------------------------------------ releases and diff
def release_content(release):
    t = release_tables(release)
    jlac10 = {}
    for code, flag, unit, new in codes_of(release):
        names, spec = decoded(code, t)
        jlac10[code] = (flag, unit, new, names)
    jlac11 = {r[12]: tuple(r) for r in kyoyu_rows(release)}
    return t, {"jlac10": jlac10, "jlac11": jlac11}


def carriers(content, system):
    """code -> what every row carrying it says, as the store diffs: a JLAC10 row carries its
    code and its 15-character order code; a JLAC11 row carries its code and its JLAC10 pair."""
    out = {}

    def add(code, row):
        out.setdefault(code, []).append(row)

    if system == "jlac10":
        for code, row in content["jlac10"].items():
            add(code, ("jlac10", code, row))
            add(code[:15], ("jlac10", code, row))
        for code, row in content["jlac11"].items():
            add(row[19], ("jlac11", code, row))
    else:
        for code, row in content["jlac11"].items():
            add(code, ("jlac11", code, row))
    return {c: sorted(rows, key=repr) for c, rows in out.items()}


def write_release(release, zipped):
    t, _ = release_content(release)
    rows, merges = code_sheet(release, t)
    book = xlsx_bytes([("17桁コード表", rows, merges)] + component_sheets(t))
    folder = HERE / release
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    if zipped:
        (folder / f"{release}_matome.zip").write_bytes(zip_bytes([(f"{release}_matome.xlsx", book)]))
    else:
        (folder / f"{release}_matome.xlsx").write_bytes(book)
    (folder / "kyoyu-jlac-master.csv").write_bytes(csv_bytes(kyoyu_rows(release)))
    return len(codes_of(release)), len(kyoyu_rows(release))


def main():
    counts = {OLD: write_release(OLD, True), NEW: write_release(NEW, False)}
    _, old = release_content(OLD)
    _, new = release_content(NEW)
    expected = {}
    for system in ["jlac10", "jlac11"]:
        a, b = carriers(old, system), carriers(new, system)
        expected[system] = {
            "added": sorted(set(b) - set(a)),
            "removed": sorted(set(a) - set(b)),
            "changed": sorted(c for c in set(a) & set(b) if a[c] != b[c]),
        }
    (HERE / "EXPECTED.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n",
                                        encoding="utf-8")
    md = [f"# Expected diff of the synthetic JLAC samples: {OLD} → {NEW}", "",
          "GENERATED by `python3 masters/jlac/make_samples.py`; do not edit by hand. The same lists",
          "are in `EXPECTED.json`.", "",
          "| release | 17桁コード表 codes | 共有項目 rows |", "|---|---|---|"]
    for rel in (OLD, NEW):
        md.append(f"| {rel} | {counts[rel][0]} | {counts[rel][1]} |")
    md += ["", "As the store diffs: a code is *added* / *removed* when only one release has a row",
           "carrying it, *changed* when both do and a carrying row differs. A JLAC10 row carries its",
           "17-character code and its 15-character order code; a JLAC11 row carries its JLAC11 code and",
           "its JLAC10 pair (so a changed 共有項目 row also changes that JLAC10 code). A JLAC10 row",
           "changes when a cell differs or a component name it decodes to changed (the 測定法 972",
           "rename in 902 changes every code using it).", "",
           "| system | added | removed | changed |", "|---|---|---|---|"]
    for system, e in expected.items():
        md.append(f"| {system} | {len(e['added'])} | {len(e['removed'])} | {len(e['changed'])} |")
    for system, e in expected.items():
        md += ["", f"## {system}", ""]
        for kind in ("added", "removed", "changed"):
            md.append(f"* {kind}: " + (", ".join(f"`{c}`" for c in e[kind]) or "—"))
    (HERE / "EXPECTED.md").write_text("\n".join(md) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
