#!/usr/bin/env python3
"""Builds JLAC and 看護 releases in the real file layouts from the real extracts.

Input (read only, never copied into the repository), from the shared data folder
(default ../shared/data beside the repository, or HYOJUN_SHARED_DATA):

  jlac    jlac-hs014/jpcore-ext_medis-jlac10-17digit_matome.tsv   8,108 JLAC10 codes + display
  nursing nursing-hs024/format-samples/*.utf8.txt                 real rows of all four files
          nursing-hs024/jpcore-ext_nursing-action-16digit.tsv     3,608 16-character 行為 codes
          nursing-hs024/jpcore-ext_nursing-observation-vitalsigns.tsv, jpcore_nursing-observation-
          bodymeasurement.tsv                                     観察 codes + names

Output:

  jlac OUT_DIR     OUT_DIR/jlac-real/2023_matome.xlsx: a まとめ表 workbook built the way the test
                   tests/it/jlac.rs::a_workbook_of_the_real_jlac10_codes builds it (the JP Core
                   display split into 分析物_材料_測定法_結果識別 names for the row cells and the
                   component sheets; the second half of the codes in an appended 新コード block).
                   Written with the .xlsx writer of masters/jlac/make_samples.py (shared strings
                   instead of the test's inline strings; same cells).
  nursing OUT_DIR  OUT_DIR/nursing-real/{koui,kansatsu,result,unit}-ver.4.0.txt: a release built
                   the way tests/it/nursing.rs::real_release builds it (the format samples, one
                   行為 row per JP Core 16-character code, one 観察 row per vital-sign /
                   body-measurement code), CP932, CRLF, header rows, no quoting.

Usage: make_real_releases.py {jlac|nursing} OUT_DIR
Prints a summary on stderr and the path to import on the last line of stdout.
Python 3 standard library only; deterministic.
"""

import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def shared_data():
    d = Path(os.environ.get("HYOJUN_SHARED_DATA") or REPO.parent / "shared" / "data")
    if not d.is_dir():
        sys.exit(f"real master extracts are expected at {d} (set HYOJUN_SHARED_DATA)")
    return d


def read_tsv(path):
    """Rows after the header, split on tabs (as the tests read them)."""
    text = path.read_text(encoding="utf-8")
    return [line.split("\t") for line in text_lines(text)[1:]]


def text_lines(text):
    """Lines as Rust's str::lines() gives them: split on \\n, one trailing \\r dropped, no
    empty last line after a final newline."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


# ---------------------------------------------------------------------------------- JLAC


def load_jlac_samples():
    """masters/jlac/make_samples.py as a module (its .xlsx writer and sheet layout)."""
    path = REPO / "masters" / "jlac" / "make_samples.py"
    sys.dont_write_bytecode = True  # no __pycache__ beside it in the repository
    spec = importlib.util.spec_from_file_location("jlac_make_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def header_rows(m):
    """The two header rows of 17桁コード表 (make_samples.HEADER_1/2; None = empty cell)."""
    return [list(m.HEADER_1), list(m.HEADER_2)]


def code_row(n, code, names, unit, specific=""):
    """A 17桁コード表 row as the test's code_row(): No, (empty) 検査項目名称, code, then
    (拡張フラグ, コード, 名称) for the five components, the 結果識別(固有) group (its name when
    the result code is analyte-specific), 15-char code, 備考, 単位."""
    row = [str(n), "", code]
    for i, (a, b) in enumerate([(0, 5), (5, 9), (9, 12), (12, 15), (15, 17)]):
        row += ["", code[a:b], names[i]]
    row += ["", code[15:17] if specific else "", specific]
    row += [code[:15], "", unit]
    assert len(row) == 24
    return row


def component(name, title, entries):
    """A component sheet as the test's component(): title row, header (コード, 名称, 英語名称 at
    A, C, E), one row per (code, 名称)."""
    rows = [[title], ["コード", "", "名称", "", "英語名称"]]
    rows += [[code, "", ja, "", ""] for code, ja in entries]
    return (name, rows, [])


def build_jlac(out_dir):
    m = load_jlac_samples()
    codes = [(r[0], r[1]) for r in read_tsv(shared_data() / "jlac-hs014" /
                                            "jpcore-ext_medis-jlac10-17digit_matome.tsv")]
    if len(codes) != 8108 or len({c for c, _ in codes}) != 8108:
        sys.exit(f"expected 8,108 distinct JLAC10 codes, found {len(codes)}")
    tables = [{} for _ in range(5)]  # 分析物, 識別, 材料, 測定法, 結果識別: code -> first name
    data = []
    half = len(codes) // 2
    for n, (code, display) in enumerate(codes):
        parts = display.split("_")
        # Four parts and no 識別: 分析物, 材料, 測定法, 結果識別 (other shapes carry 識別 or a
        # 固有 result; their names come from the component sheets).
        plain = len(parts) == 4 and code[5:9] == "0000"
        # Five parts with a 識別: 分析物, 識別, 材料, 測定法, 結果識別 (e.g. HBs_ウイルス抗原_血清_…).
        with_id = len(parts) == 5 and code[5:9] != "0000"
        # An analyte-specific result (分析物固有結果コード, e.g. the 血算 panel's 白血球数):
        # the components before it, and the result's own name in the 結果識別(固有) group.
        specific = ""
        if "分析物固有結果コード" in parts and parts[-2] == "分析物固有結果コード":
            head = parts[:-2]
            if len(head) == 3 and code[5:9] == "0000":
                names, specific = [head[0], "", head[1], head[2], ""], parts[-1]
            elif len(head) == 4 and code[5:9] != "0000":
                names, specific = head + [""], parts[-1]
            else:
                names = ["", "", "", "", ""]
        elif plain:
            names = [parts[0], "", parts[1], parts[2], parts[3]]
        elif with_id:
            names = list(parts)
        else:
            names = ["", "", "", "", ""]
        if plain or with_id or specific:
            for t, (a, b) in ((0, (0, 5)), (2, (9, 12)), (3, (12, 15)), (4, (15, 17))):
                if names[t]:
                    tables[t].setdefault(code[a:b], names[t])
        if (with_id or names[1]) and tables[1].get(code[5:9], "識別").startswith("識別"):
            tables[1][code[5:9]] = names[1]
        tables[1].setdefault(code[5:9], f"識別{code[5:9]}")
        # The second half goes into the appended 新コード block.
        if n == half:
            data.append([])
            data.append(["新コード"])
            data.extend(header_rows(m))
        data.append(code_row(n + 1, code, names, "", specific))
    rows = [["臨床検査マスター まとめ表"], []] + header_rows(m) + data
    entries = lambda t: sorted(t.items())  # noqa: E731 (BTreeMap order, as the test)
    book = m.xlsx_bytes([
        ("17桁コード表", rows, []),
        component("分析物", "分析物", entries(tables[0])),
        component("識別", "識別", entries(tables[1])),
        component("材料", "材料", entries(tables[2])),
        component("測定法", "測定法", entries(tables[3])),
        component("結果識別（共通）", "結果識別", entries(tables[4])),
    ])
    folder = Path(out_dir) / "jlac-real"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "2023_matome.xlsx"
    path.write_bytes(book)
    print(f"jlac: {len(codes)} JLAC10 codes ({len(codes) - half} in the 新コード block); "
          f"components: {', '.join(str(len(t)) for t in tables)}; {len(book):,} bytes",
          file=sys.stderr)
    return path


# ------------------------------------------------------------------------------- nursing


def cp932(text, what):
    # The test encodes with encoding_rs SHIFT_JIS (the WHATWG encoder), which writes U+2212
    # MINUS SIGN as 0x817C; Python's cp932 only knows 0x817C as U+FF0D. Same bytes either way.
    text = text.replace("\u2212", "\uff0d")
    try:
        return text.encode("cp932")
    except UnicodeEncodeError as e:
        sys.exit(f"{what}: character {text[e.start]!r} (U+{ord(text[e.start]):04X}) has no CP932 code")


def build_nursing(out_dir):
    data = shared_data() / "nursing-hs024"

    def sample(name):
        return text_lines((data / "format-samples" / name).read_text(encoding="utf-8"))

    koui = sample("fhir-client_nursing_acts_sample_koui-layout.utf8.txt")
    action16 = {}
    for line in koui[1:]:
        f = line.split(",")
        action16[f[2] + f[5] + f[8] + f[11]] = ""
    real_rows = len(koui) - 1
    nxt = 13_000_001  # 管理番号 the extracts do not give: outside the real range
    jp_core = read_tsv(data / "jpcore-ext_nursing-action-16digit.tsv")
    for row in jp_core:
        code, display = row[0], row[1]
        known = code in action16
        action16[code] = display
        if known:
            continue
        # The display is 第１・第２・第３・第４ with ・ inside some names too: the first two
        # parts and the last one are taken as levels 1, 2 and 4, the rest as level 3.
        parts = display.split("・")
        l1, l2, l4 = parts[0], parts[1], parts[-1]
        l3 = "・".join(parts[2:-1])
        f = ["0", str(nxt), code[0:4], l1, "", code[4:8], l2, "", code[8:12], l3, "",
             code[12:16], l4, "", "", "20231222", "", ""]
        koui.append(",".join(f))
        nxt += 1
    actions = len(koui) - 1
    if len(action16) != 3608 or actions != real_rows + 3608 - 3:
        sys.exit(f"unexpected 行為 counts: {len(action16)} codes, {actions} rows")

    kansatsu = sample("fhir-client_nursing_observations_sample_kansatsu-layout.utf8.txt")
    observations = {}
    successors = []
    for line in kansatsu[1:]:
        f = line.split(",")
        observations[f[1]] = f[11]
        if f[40]:
            successors.append(f[40])
    # A real file lists every 移行先; the 3-row sample's successor (31001850) is outside the
    # extract, so a placeholder row stands in for it.
    for code in successors:
        f = [""] * 46
        f[0], f[1], f[11] = "0", code, "抽出外の移行先"
        observations[code] = f[11]
        kansatsu.append(",".join(f))
    for name in ("jpcore-ext_nursing-observation-vitalsigns.tsv",
                 "jpcore_nursing-observation-bodymeasurement.tsv"):
        for row in read_tsv(data / name):
            known = row[0] in observations
            observations[row[0]] = row[1]
            if known:
                continue
            f = [""] * 46
            f[0], f[1], f[11], f[18] = "0", row[0], row[1], f"{row[0]}R"
            kansatsu.append(",".join(f))

    folder = Path(out_dir) / "nursing-real"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    files = [
        ("koui-ver.4.0.txt", koui),
        ("kansatsu-ver.4.0.txt", kansatsu),
        ("result-ver.4.0.txt", sample("fhir-client_nursing_observation_results_sample.utf8.txt")),
        ("unit-ver.4.0.txt", sample("fhir-client_nursing_units_sample.utf8.txt")),
    ]
    for name, lines in files:
        (folder / name).write_bytes(cp932("".join(line + "\r\n" for line in lines), name))
    print(f"nursing: {actions} 行為 rows ({len(action16)} 16-character codes), "
          f"{len(kansatsu) - 1} 観察 rows ({len(observations)} codes), "
          f"{len(files[2][1]) - 1} results, {len(files[3][1]) - 1} units", file=sys.stderr)
    return folder


def main():
    builders = {"jlac": build_jlac, "nursing": build_nursing}
    if len(sys.argv) != 3 or sys.argv[1] not in builders:
        sys.exit("usage: make_real_releases.py {jlac|nursing} OUT_DIR")
    print(builders[sys.argv[1]](sys.argv[2]))


if __name__ == "__main__":
    main()
