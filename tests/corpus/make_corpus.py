#!/usr/bin/env python3
"""Writes the malformed-input corpus: small bad inputs for every way input enters hyojun,
each with the outcome it must get. tests/it/corpus.rs runs every case on SQLite and
PostgreSQL and checks the outcome and that the database is unchanged.

Every input is derived from the SYNTHETIC samples in masters/ (no MEDIS data) by one
mutation, so that each case breaks exactly one thing. Outputs (relative to this folder):

  cases/<id>/...   the files of each case
  cases.json       the cases: channel, files, arguments and the expected outcome

Channels:
  import       `hyojun import MASTER FILES… ARGS…`: exit code; the parser's problems
  upload       POST /v1/releases (multipart): the job fails with the problem, or a 4xx
  local_codes  POST /v1/mapping/projects/{id}/local-codes: 400 with the problem
  decisions    POST /v1/mapping/projects/{id}/import?format=…: 400 with the problem
  http         any request with the admin key: status and envelope code

Expected problems name a kind, a file (suffix), a line and a column where the input has
them, and a fragment of the message. Usage: python3 tests/corpus/make_corpus.py (stdlib
only, any cwd, deterministic).
"""

import importlib.util
import io
import json
import shutil
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
M = ROOT / "masters"
OUT = HERE / "cases"
STAMP = (2026, 6, 30, 0, 0, 0)

CASES = []


def cp932(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("cp932")


def decoded(path):
    return path.read_bytes().decode("cp932")


def zip_bytes(members):
    """A deterministic zip of (name, bytes) members, deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return out.getvalue()


def case(id, what, channel, files, expect, master=None, args=(), request=None):
    """Records a case; `files` maps names to bytes (or an absolute path string)."""
    names = []
    if files:
        d = OUT / id
        d.mkdir(parents=True)
        for name, data in files:
            if isinstance(data, str) and data.startswith("/"):
                names.append(data)
                continue
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_bytes(data)
            names.append(name)
    CASES.append({
        "id": id,
        "what": what,
        "channel": channel,
        "master": master,
        "files": names,
        "args": list(args),
        "request": request,
        "expect": expect,
    })


def problem(kind, file=None, line=None, column=None, message=None, exit=1):
    e = {"exit": exit, "kind": kind}
    if file is not None:
        e["file"] = file
    if line is not None:
        e["line"] = line
    if column is not None:
        e["column"] = column
    if message is not None:
        e["message"] = message
    return e


# ------------------------------------------------------------------------------- HOT

HOT_STD = decoded(M / "hot/20260531/MEDIS20260531.TXT")
HOT_H9 = decoded(M / "hot/20260531/MEDIS20260531_HOT9.TXT")
STD, H9 = "MEDIS20260630.TXT", "MEDIS20260630_HOT9.TXT"


def std_lines():
    return [l for l in HOT_STD.splitlines() if l.strip("\x1a")]


def hot_release(std_text=None, std_bytes=None, extra=()):
    """The 20260630 release: a (mutated) standard file and the sample's HOT9 file."""
    std = std_bytes if std_bytes is not None else cp932(std_text if std_text is not None else HOT_STD)
    return [(STD, std), (H9, cp932(HOT_H9))] + list(extra)


def field(line, n, value):
    """Line with its n-th (1-based) quoted CSV field replaced."""
    parts = line.split(",")
    parts[n - 1] = value
    return ",".join(parts)


def hot_cases():
    lines = std_lines()
    body = "\n".join(lines)
    cut = body[: len(body) - 12]
    case("hot-truncated", "the standard file ends inside a quoted field", "import",
         hot_release(cut), problem("truncated", STD, line=len(cut.splitlines())), master="hot")

    l = list(lines)
    l[4] = l[4].replace(",", "", 1)
    case("hot-column-count", "a row of the standard file lacks a field", "import",
         hot_release("\n".join(l)), problem("column_count", STD, line=5), master="hot")

    raw = cp932("\n".join(lines[:3])) + b'\r\n"9001015020101","9001015","\x82\xff"\r\n'
    case("hot-invalid-cp932", "bytes that are not CP932 in a field", "import",
         hot_release(std_bytes=raw), problem("invalid_encoding", STD, line=4), master="hot")

    case("hot-empty-file", "an empty standard file", "import",
         hot_release(std_bytes=b""), problem("empty_file", STD), master="hot")

    byomei_header = '"変更区分","病名管理番号","病名表記"\n"0","29990001","見本性胃炎"\n'
    case("hot-not-hot-header", "a file with another master's header under a HOT name", "import",
         hot_release(byomei_header), problem("not_hot_header", STD, line=1, column=1), master="hot")

    l = list(lines) + [lines[2]]
    case("hot-duplicate-hot13", "one HOT13 twice", "import",
         hot_release("\n".join(l)), problem("duplicate_key", STD, line=len(l), column=1), master="hot")

    l = list(lines)
    l[6] = l[6].replace('"9', '"X', 1)
    case("hot-bad-hot13", "a HOT13 with a letter", "import",
         hot_release("\n".join(l)), problem("bad_code", STD, line=7, column=1), master="hot")

    l = list(lines)
    l[3] = field(l[3], 12, '"ヒョウジュン\x00錠"')
    case("hot-nul-in-name", "a NUL byte inside 販売名", "import",
         hot_release("\n".join(l)), problem("control_character", STD, line=4, column=12), master="hot")

    l = list(lines)
    l[3] = field(l[3], 12, '"ヒョウジュン\x1b[31m錠"')
    case("hot-escape-in-name", "a terminal escape sequence inside 販売名", "import",
         hot_release("\n".join(l)), problem("control_character", STD, line=4, column=12), master="hot")

    l = list(lines)
    l[3] = field(l[3], 12, '"' + "錠" * 5000 + '"')
    case("hot-long-name", "a 販売名 of 5,000 characters", "import",
         hot_release("\n".join(l)), problem("field_too_long", STD, line=4, column=12), master="hot")

    l = list(lines)
    l[3] = field(l[3], 1, '"' + "9" * 100 + '"')
    case("hot-long-code", "a HOT13 of 100 digits", "import",
         hot_release("\n".join(l)), problem("field_too_long", STD, line=4, column=1), master="hot")

    l = list(lines)
    l[3] = l[3] + "," * 300
    case("hot-wide-row", "a row of 324 fields", "import",
         hot_release("\n".join(l)), problem("too_many_columns", STD, line=4), master="hot")

    utf16 = "\n".join(lines).replace("\n", "\r\n")
    case("hot-utf16le-bom", "the standard file saved as UTF-16 (LE, with BOM)", "import",
         hot_release(std_bytes=b"\xff\xfe" + utf16.encode("utf-16-le")),
         problem("wrong_encoding", STD), master="hot")
    case("hot-utf16be-nobom", "the standard file saved as UTF-16 (BE) without a BOM", "import",
         hot_release(std_bytes=utf16.encode("utf-16-be")), problem("wrong_encoding", STD), master="hot")
    case("hot-utf32-bom", "the standard file saved as UTF-32 (LE, with BOM)", "import",
         hot_release(std_bytes=b"\xff\xfe\x00\x00" + utf16.encode("utf-32-le")),
         problem("wrong_encoding", STD), master="hot")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    case("hot-binary-png", "a PNG image named MEDIS20260630.TXT", "import",
         hot_release(std_bytes=png), problem("wrong_encoding", STD), master="hot")

    case("hot-hot9-alone", "the HOT9 file without the standard file", "import",
         [(H9, cp932(HOT_H9))], problem("incomplete_release", H9), master="hot")
    case("hot-standard-alone", "the standard file without the HOT9 file", "import",
         [(STD, cp932(HOT_STD))], problem("incomplete_release", STD), master="hot")
    case("hot-two-standard-files", "two standard files in one release", "import",
         hot_release(extra=[("MEDIS20260701.TXT", cp932(HOT_STD))]),
         problem("duplicate_file"), master="hot")
    case("hot-deletion-list-alone", "a deletion list alone is not a release", "import",
         [("h20260630_HOT9del.txt", (M / "hot/h20260630_HOT9del.txt").read_bytes())],
         problem("no_hot_data"), master="hot")

    l = lines[:1]
    case("hot-header-only", "a standard file with its header and no rows", "import",
         hot_release("\n".join(l)), problem("header_only", STD, message="the file has a header but no data rows"), master="hot")

    case("hot-zip-without-data", "a zip with only a read-me", "import",
         [("h20260630.zip", zip_bytes([("readme.txt", b"nothing here\r\n")]))],
         problem("no_hot_data"), master="hot")
    whole = (M / "hot/h20260630.zip").read_bytes()
    case("hot-zip-truncated", "the distribution zip cut in half", "import",
         [("h20260630.zip", whole[: len(whole) // 2])], problem("bad_zip", "h20260630.zip"), master="hot")
    bomb = zip_bytes([(STD, b"\x00" * (24 * 1024 * 1024)), (H9, cp932(HOT_H9))])
    case("hot-zip-bomb", "a zip member that inflates 24 MiB of NULs (ratio ~1000:1)", "import",
         [("h20260630.zip", bomb)], problem("compression_ratio", "h20260630.zip:" + STD), master="hot")
    many = zip_bytes([(f"m{i:04}.txt", b"") for i in range(1001)])
    case("hot-zip-too-many-members", "a zip of 1,001 members", "import",
         [("h20260630.zip", many)], problem("too_many_members", "h20260630.zip"), master="hot")

    case("hot-bad-label", "a release label with a path in it", "import",
         hot_release(), problem("bad_label"), master="hot", args=["--version", "../../etc"])
    case("hot-escape-label", "a release label with a terminal escape sequence", "import",
         hot_release(), problem("bad_label"), master="hot", args=["--version", "x\x1b]0;pwned\x07"])
    case("hot-long-label", "a release label of 2,000 characters", "import",
         hot_release(), problem("bad_label"), master="hot", args=["--version", "v" * 2000])
    older = [("MEDIS20260430.TXT", cp932(HOT_STD)), ("MEDIS20260430_HOT9.TXT", cp932(HOT_H9))]
    case("hot-older-release", "a release dated before the newest one", "import",
         older, {"exit": 3}, master="hot", args=["--version", "20260430"])
    case("hot-device", "/dev/zero as an input file", "import",
         [("", "/dev/zero")], problem("not_a_regular_file", "/dev/zero"), master="hot")


# ---------------------------------------------------------------------------- 病名

def byomei_members():
    with zipfile.ZipFile(M / "byomei/byomei518.zip") as z:
        return [(n, z.read(n)) for n in z.namelist()]


NMAIN = "byomei520/main/nmain520.txt"


def byomei_release(replace=None, drop=None, add=()):
    out = []
    for name, data in byomei_members():
        name = name.replace("518", "520")
        if drop and name.endswith(drop):
            continue
        if replace and name.endswith(replace[0]):
            data = replace[1]
        out.append((name, data))
    out += list(add)
    return [("byomei520.zip", zip_bytes(out))]


def nmain_lines():
    members = dict(byomei_members())
    return members["byomei518/main/nmain518.txt"].decode("cp932").splitlines()


def byomei_cases():
    z = "byomei520.zip:" + NMAIN
    case("byomei-missing-mdfy", "a 病名 release without its 修飾語 table", "import",
         byomei_release(drop="mdfy520.txt"), problem("missing_file"), master="byomei")
    l = nmain_lines()
    l[1] = l[1].replace(",", "", 1)
    case("byomei-column-count", "an nmain row that lacks a field", "import",
         byomei_release(replace=("nmain520.txt", cp932("\n".join(l)))),
         problem("column_count", z, line=2), master="byomei")
    l = nmain_lines()
    l[1] = field(l[1], 3, '"見本\x00胃炎"')
    case("byomei-nul-in-name", "a NUL inside 病名表記", "import",
         byomei_release(replace=("nmain520.txt", cp932("\n".join(l)))),
         problem("control_character", z, line=2, column=3), master="byomei")
    l = nmain_lines()
    l[1] = field(l[1], 3, '"' + "胃" * 3000 + '"')
    case("byomei-long-name", "a 病名表記 of 3,000 characters", "import",
         byomei_release(replace=("nmain520.txt", cp932("\n".join(l)))),
         problem("field_too_long", z, line=2, column=3), master="byomei")
    raw = cp932("\n".join(nmain_lines()[:2])) + b'\r\n"0","29990009","\x81\x7f"\r\n'
    case("byomei-invalid-cp932", "bytes that are not CP932 in nmain", "import",
         byomei_release(replace=("nmain520.txt", raw)), problem("invalid_encoding", z, line=3),
         master="byomei")
    text = "\n".join(nmain_lines())
    case("byomei-utf32", "nmain saved as UTF-32 with a BOM", "import",
         byomei_release(replace=("nmain520.txt", b"\xff\xfe\x00\x00" + text.encode("utf-32-le"))),
         problem("wrong_encoding", z), master="byomei")
    l = nmain_lines()
    l.append(l[1])
    case("byomei-duplicate-code", "one 病名管理番号 twice", "import",
         byomei_release(replace=("nmain520.txt", cp932("\n".join(l)))),
         problem("duplicate_key", z, line=len(l), column=2), master="byomei")
    l = nmain_lines()
    l[1] = field(l[1], 2, '"2999X002"')
    case("byomei-bad-code", "a 病名管理番号 with a letter", "import",
         byomei_release(replace=("nmain520.txt", cp932("\n".join(l)))),
         problem("bad_code", z, line=2, column=2), master="byomei")
    l = nmain_lines()
    l[1] = field(l[1], 16, '"29999999"')
    case("byomei-dangling-successor", "a 移行先 that names no 病名", "import",
         byomei_release(replace=("nmain520.txt", cp932("\n".join(l)))),
         problem("dangling_successor", z, line=2, column=16), master="byomei")
    l = nmain_lines()
    l[0] = field(l[0], 16, '"29990002"')
    l[0] = field(l[0], 1, '"1"')
    case("byomei-successor-cycle", "two 病名 naming each other as 移行先", "import",
         byomei_release(replace=("nmain520.txt", cp932("\n".join(l)))),
         problem("successor_cycle", z), master="byomei")
    case("byomei-two-nmain", "two nmain tables in one release", "import",
         byomei_release(add=[("byomei520/main/nmain521.txt", cp932("\n".join(nmain_lines())))]),
         problem("duplicate_file"), master="byomei")


# ---------------------------------------------------------------------------- 看護

NURSING = ["koui", "kansatsu", "result", "unit"]


def nursing_release(which=None, data=None, drop=None):
    out = []
    for k in NURSING:
        if k == drop:
            continue
        name = f"{k}-ver.4.2.txt"
        src = (M / f"nursing/4.0/{k}-ver.4.0.txt").read_bytes()
        out.append((name, data if k == which else src))
    return out


def nursing_lines(k):
    return (M / f"nursing/4.0/{k}-ver.4.0.txt").read_bytes().decode("cp932").splitlines()


def nursing_cases():
    case("nursing-missing-unit", "a 看護 release without its 単位 file", "import",
         nursing_release(drop="unit"), problem("missing_file"), master="nursing")
    l = nursing_lines("koui")
    l[0] = l[0].replace("管理番号", "管理No", 1)
    case("nursing-header-mismatch", "a koui header with a renamed column", "import",
         nursing_release("koui", cp932("\n".join(l))),
         problem("unexpected_title", "koui-ver.4.2.txt", line=1, column=2), master="nursing")
    l = nursing_lines("koui")
    l[1] = field(l[1], 2, "1299X001")
    case("nursing-bad-code", "a 看護行為 管理番号 with a letter", "import",
         nursing_release("koui", cp932("\n".join(l))),
         problem("bad_code", "koui-ver.4.2.txt", line=2, column=2), master="nursing")
    l = nursing_lines("koui")
    l[1] = field(l[1], 10, "見本\x00洗浄")
    case("nursing-nul", "a NUL inside a 行為名称", "import",
         nursing_release("koui", cp932("\n".join(l))),
         problem("control_character", "koui-ver.4.2.txt", line=2, column=10), master="nursing")
    l = nursing_lines("koui")
    l[1] = field(l[1], 11, "定義" * 6000)
    case("nursing-long-definition", "a 定義 of 12,000 characters", "import",
         nursing_release("koui", cp932("\n".join(l))),
         problem("field_too_long", "koui-ver.4.2.txt", line=2, column=11), master="nursing")
    l = nursing_lines("unit")
    l.append(l[1])
    case("nursing-duplicate-unit", "one 単位コード twice", "import",
         nursing_release("unit", cp932("\n".join(l))),
         problem("duplicate_key", "unit-ver.4.2.txt", line=len(l), column=1), master="nursing")
    case("nursing-empty-file", "an empty 観察結果 file", "import",
         nursing_release("result", b""), problem("empty_file", "result-ver.4.2.txt"), master="nursing")
    case("nursing-gzip", "a gzip archive named like the 単位 file", "import",
         nursing_release("unit", b"\x1f\x8b\x08\x00" + bytes(range(200))),
         problem("wrong_encoding", "unit-ver.4.2.txt"), master="nursing")


# ---------------------------------------------------------------------------- JLAC

def jlac_module():
    spec = importlib.util.spec_from_file_location("jlac_samples", M / "jlac/make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def xlsx_with_cell(ref, value="x"):
    """A minimal workbook whose only sheet holds one cell at `ref`."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="{ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}">'
        f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c></row></sheetData></worksheet>'
    )
    return xlsx_parts({"xl/worksheets/sheet1.xml": sheet.encode()})


def xlsx_parts(extra):
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>').encode(),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>').encode(),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="17桁コード表" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>').encode(),
    }
    parts.update(extra)
    return zip_bytes(sorted(parts.items()))


KYOYU = (M / "jlac/902/kyoyu-jlac-master.csv").read_bytes()


def jlac_cases():
    book = (M / "jlac/902/902_matome.xlsx").read_bytes()
    case("jlac-workbook-alone", "a まとめ表 without the 共有項目 CSV", "import",
         [("903_matome.xlsx", book)], problem("incomplete_release", "903_matome.xlsx"), master="jlac")
    case("jlac-xfd-cell", "a 6 KB workbook with one cell at XFD1048576", "import",
         [("903_matome.xlsx", xlsx_with_cell("XFD1048576")), ("kyoyu-jlac-master.csv", KYOYU)],
         problem("workbook_too_large", "903_matome.xlsx [17桁コード表]", line=1048576, column=16384,
                 message="cell XFD1048576 makes the sheet's used range 1,048,576 rows long"), master="jlac")
    case("jlac-not-a-workbook", "text named .xlsx", "import",
         [("903_matome.xlsx", b"this is not a workbook\r\n"), ("kyoyu-jlac-master.csv", KYOYU)],
         problem("bad_workbook", "903_matome.xlsx"), master="jlac")
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
               'spreadsheetml/2006/main"><si><t>' + "A" * (40 * 1024 * 1024) + '</t></si></sst>').encode()
    case("jlac-shared-strings-bomb", "a workbook whose shared strings inflate to 40 MiB", "import",
         [("903_matome.xlsx", xlsx_parts({"xl/sharedStrings.xml": strings,
                                          "xl/worksheets/sheet1.xml": b"<worksheet/>"})),
          ("kyoyu-jlac-master.csv", KYOYU)],
         problem("compression_ratio", "903_matome.xlsx:xl/sharedStrings.xml"), master="jlac")
    lines = KYOYU.decode("utf-8").splitlines()
    l = list(lines)
    l[0] = l[0].replace('"JLAC11コード"', '"JLAC11"', 1)
    case("jlac-kyoyu-bad-header", "a 共有項目 CSV with a renamed column", "import",
         [("903_matome.xlsx", book), ("kyoyu-jlac-master.csv", ("\r\n".join(l) + "\r\n").encode())],
         problem("unexpected_title", "kyoyu-jlac-master.csv", line=1), master="jlac")
    l = list(lines)
    l[1] = field(l[1], 13, '"C99X1000092390155"')
    case("jlac-kyoyu-bad-jlac11", "a JLAC11 code with a letter where a digit goes", "import",
         [("903_matome.xlsx", book), ("kyoyu-jlac-master.csv", ("\r\n".join(l) + "\r\n").encode())],
         problem("bad_code", "kyoyu-jlac-master.csv", line=2, column=13), master="jlac")
    l = list(lines)
    l[1] = field(l[1], 10, '"「見本」\x00SP-L"')
    case("jlac-kyoyu-nul", "a NUL inside 販売名称", "import",
         [("903_matome.xlsx", book), ("kyoyu-jlac-master.csv", ("\r\n".join(l) + "\r\n").encode())],
         problem("control_character", "kyoyu-jlac-master.csv", line=2, column=10), master="jlac")


# ----------------------------------------------------------------------- uploads

def upload_cases():
    std, h9 = cp932(HOT_STD), cp932(HOT_H9)
    def up(id, what, fields, files, status, code, message=None):
        case(id, what, "upload", files,
             {"status": status, "code": code, **({"message": message} if message else {})},
             request={"fields": fields})
    up("upload-no-master", "an upload without its master field", [], [(STD, std), (H9, h9)],
       400, "bad_request", "`master`")
    up("upload-unknown-master", "an upload for a master hyojun does not know", [["master", "lab"]],
       [(STD, std)], 400, "bad_request")
    up("upload-unknown-field", "an upload with a misspelt field", [["master", "hot"], ["activte", "true"]],
       [(STD, std)], 400, "bad_request", "activte")
    up("upload-no-file", "an upload without a file part", [["master", "hot"]], [], 400, "bad_request")
    up("upload-file-without-name", "a `file` part that is a plain field (no file name)",
       [["master", "hot"], ["file", "MEDIS20260630.TXT"]], [], 400, "bad_request",
       "the `file` part has no file name")
    l = std_lines()
    l[3] = field(l[3], 12, '"ヒョウジュン\x00錠"')
    case("upload-bad-file", "an upload whose standard file has a NUL in a name", "upload",
         hot_release("\n".join(l)),
         {"status": 202, "job": "failed", "kind": "control_character", "file": STD, "line": 4, "column": 12},
         request={"fields": [["master", "hot"]]})
    case("upload-incomplete", "an upload of the HOT9 file alone", "upload", [(H9, h9)],
         {"status": 202, "job": "failed", "kind": "incomplete_release", "file": H9},
         request={"fields": [["master", "hot"]]})


# ------------------------------------------------------------------- local codes

def local_cases():
    def lc(id, what, data, kind, line=None, column=None, message=None, name="local-codes.csv"):
        e = {"status": 400, "code": "bad_request", "kind": kind, "file": name}
        if line is not None:
            e["line"] = line
        if column is not None:
            e["column"] = column
        if message:
            e["message"] = message
        case(id, what, "local_codes", [(name, data)], e)
    lc("local-header-only", "a local-code list with only its header", b"code,name,unit\r\n", "header_only")
    lc("local-no-code-column", "a list without a code column", "名称,単位\r\nテスト錠,錠\r\n".encode(), "missing_column", line=1)
    lc("local-duplicate-code", "one local code twice", "code,name\r\nD001,錠A\r\nD001,錠B\r\n".encode(),
       "duplicate_code", line=3, column=1)
    lc("local-nul", "a NUL inside a name", "code,name\r\nD001,錠\x00A\r\n".encode(), "control_character", line=2, column=2)
    wide = "code,name," + ",".join(f"x{i}" for i in range(300)) + "\r\nD001,錠A" + "," * 300 + "\r\n"
    lc("local-too-many-columns", "a list of 302 columns", wide.encode(), "too_many_columns", line=1)
    lc("local-long-name", "a name of 5,000 characters", ("code,name\r\nD001," + "錠" * 5000 + "\r\n").encode(),
       "field_too_long", line=2, column=2)
    lc("local-utf16", "a list saved as UTF-16 with a BOM",
       b"\xff\xfe" + "code,name\r\nD001,錠A\r\n".encode("utf-16-le"), "wrong_encoding")
    lc("local-cp932-broken", "bytes that are not CP932", b"code,name\r\nD001,\x82\xff\r\n", "invalid_encoding", line=2)


def decision_cases():
    def dc(id, what, fmt, data, kind=None, status=400, code="bad_request", line=None, name=None):
        e = {"status": status, "code": code}
        if kind:
            e["kind"] = kind
        if line is not None:
            e["line"] = line
        case(id, what, "decisions", [(name or ("decisions.csv" if fmt == "csv" else "conceptmap.json"), data)],
             e, request={"format": fmt})
    dc("decisions-no-state", "a decision CSV without its state column", "csv",
       b"local_code,target_system,target_code\r\nD001,hot9,900309501\r\n", "missing_column", line=1)
    dc("decisions-bad-state", "a decision CSV with an unknown state", "csv",
       b"local_code,state,target_system,target_code\r\nD001,maybe,hot9,900309501\r\n", "unknown_state", line=2)
    deep = b'{"resourceType":"ConceptMap","group":' + b"[" * 200 + b"]" * 200 + b"}"
    dc("decisions-deep-json", "a ConceptMap nested 200 levels deep", "conceptmap", deep)
    dc("decisions-not-json", "a ConceptMap that is not JSON", "conceptmap", b"<ConceptMap/>")
    dc("decisions-not-conceptmap", "a FHIR resource that is not a ConceptMap", "conceptmap",
       b'{"resourceType":"Patient"}')


# --------------------------------------------------------------------------- HTTP

def http_cases():
    def h(id, what, method, path, status, code, body=None, content_type=None, headers=(), message=None):
        e = {"status": status}
        if code:
            e["code"] = code
        if message:
            e["message"] = message
        request = {"method": method, "path": path, "headers": [list(x) for x in headers]}
        files = []
        if body is not None:
            files = [("body", body)]
            request["content_type"] = content_type
        case(id, what, "http", files, e, request=request)
    h("validate-not-json", "a validation body that is not JSON", "POST", "/v1/validate", 400, "bad_request",
      b"items=1", "application/json")
    h("validate-wrong-type", "a validation body sent as text/plain", "POST", "/v1/validate", 415,
      "unsupported_media_type", b'{"items":[]}', "text/plain")
    h("validate-deep", "a validation body nested 100 levels", "POST", "/v1/validate", 400, "bad_request",
      b'{"items":' + b"[" * 100 + b"]" * 100 + b"}", "application/json")
    h("validate-items-not-array", "items that are not a list", "POST", "/v1/validate", 400, "bad_request",
      b'{"items":{"system":"hot9"}}', "application/json")
    h("validate-too-many", "10,001 items in one validation", "POST", "/v1/validate", 400, "bad_request",
      json.dumps({"items": [{"system": "hot9", "code": "1"}] * 10001}).encode(), "application/json")
    h("validate-bad-date", "a validation date that is no date", "POST", "/v1/validate", 400, "bad_request",
      b'{"items":[{"system":"hot9","code":"900101501"}],"date":"2026-13-45"}', "application/json")
    h("activate-text-plain", "an activation body sent as text/plain", "POST", "/v1/releases/1/activate", 415,
      "unsupported_media_type", b"2026-07-01", "text/plain")
    h("activate-misspelt", "an activation with a misspelt field", "POST", "/v1/releases/1/activate", 400,
      "bad_request", b'{"effective_form":"2026-07-01T00:00:00Z"}', "application/json")
    h("activate-date-only", "an activation moment without a time", "POST", "/v1/releases/1/activate", 400,
      "bad_request", b'{"effective_from":"2026-07-01"}', "application/json")
    h("activate-garbage", "an activation body that is not JSON", "POST", "/v1/releases/1/activate", 400,
      "bad_request", b"{effective_from:", "application/json")
    h("activate-array", "an activation body that is an array", "POST", "/v1/releases/1/activate", 400,
      "bad_request", b'["2026-07-01T00:00:00Z"]', "application/json")
    h("activate-null", "an activation body that is null", "POST", "/v1/releases/1/activate", 400,
      "bad_request", b"null", "application/json")
    h("url-too-long", "a URL of 10,000 bytes", "GET", "/v1/search?q=" + "a" * 10000, 414, "uri_too_long")
    h("url-bad-percent", "a query with a broken percent escape", "GET", "/v1/search?q=%E8%83", 400, "bad_request")
    h("trace", "the TRACE method on a known path", "TRACE", "/v1/systems", 405, "method_not_allowed")
    h("unknown-path", "a path no endpoint serves", "GET", "/v1/nothing-here", 404, "not_found")
    h("bad-date-param", "a date parameter that is no date", "GET", "/v1/systems/hot9/codes/900101501?date=yesterday",
      400, "bad_request")
    h("bad-release-param", "a release that does not exist", "GET", "/v1/systems/hot9/codes/900101501?release=19990101",
      404, "not_found")
    h("bad-limit", "a page size out of range", "GET", "/v1/search?q=%E8%83%83&limit=100000", 400, "bad_request")
    h("jobs-limit", "a job list size out of range", "GET", "/v1/jobs?limit=0", 400, "bad_request")
    h("bad-job-id", "a job id that is not a number", "GET", "/v1/jobs/abc", 400, "bad_request")
    h("bad-key", "a key that does not exist", "GET", "/v1/systems", 401, "unauthorized",
      headers=[("Authorization", "Bearer hyj_not_a_key")])
    h("bad-auth-scheme", "an Authorization header that is not Bearer", "GET", "/v1/systems", 401, "unauthorized",
      headers=[("Authorization", "Basic YWRtaW46YWRtaW4=")])
    h("key-role-empty", "a key creation without a role", "POST", "/v1/keys", 400, "bad_request",
      b'{"name":"x"}', "application/json")
    h("key-name-escape", "a key name with a terminal escape sequence", "POST", "/v1/keys", 400, "bad_request",
      b'{"name":"a\\u001b]0;pwned\\u0007","role":"reader"}', "application/json")



# The shape of each case's message: a fragment the problem's (or the error envelope's) message
# must contain. Kept apart from the cases so that wording changes are reviewed in one place.
MESSAGES = {
    "hot-truncated": "the file ends inside a quoted field",
    "hot-column-count": "the row has 23 columns, the HOT layout has 24",
    "hot-invalid-cp932": "bytes 82 FF at byte 28 of the line are not valid CP932",
    "hot-empty-file": "the file is empty",
    "hot-not-hot-header": "column 1 is `変更区分`, expected `基準番号（ＨＯＴコード）`",
    "hot-duplicate-hot13": "HOT13 9001015010102 is already on line 3",
    "hot-bad-hot13": "`X001183010101` is not a 13-digit hot13 code",
    "hot-nul-in-name": "control character U+0000 (NUL) at character 7: `ヒョウジュン\\u{0000}錠`",
    "hot-escape-in-name": "control character U+001B (escape) at character 7: `ヒョウジュン\\u{001B}[31m錠`",
    "hot-long-name": "the name is 5,000 characters long",
    "hot-long-code": "the code is 100 characters long",
    "hot-wide-row": "the row has 324 columns; the limit is 200 columns (HYOJUN_MAX_COLUMNS)",
    "hot-utf16le-bom": "the file is UTF-16 LE text (it starts with the UTF-16 LE byte-order mark)",
    "hot-utf16be-nobom": "the file looks like UTF-16 BE text without a byte-order mark",
    "hot-utf32-bom": "the file is UTF-32 LE text",
    "hot-binary-png": "the file is a PNG image, not a CP932 or UTF-8 text file",
    "hot-hot9-alone": "the hot release has no standard file MEDIS{yyyymmdd}.TXT (HOT13)",
    "hot-standard-alone": "the hot release has no HOT9 file MEDIS{yyyymmdd}_HOT9.TXT",
    "hot-two-standard-files": "more than one hot13 file given: MEDIS20260630.TXT, MEDIS20260701.TXT",
    "hot-deletion-list-alone": "no HOT data file among the input (found: h20260630_HOT9del.txt)",
    "hot-header-only": "the file has a header but no data rows",
    "hot-zip-without-data": "(found: h20260630.zip:readme.txt)",
    "hot-zip-truncated": "not a readable zip archive",
    "hot-zip-bomb": "a ratio of 1,028 to 1; the limit is 200 to 1 (HYOJUN_MAX_COMPRESSION_RATIO)",
    "hot-zip-too-many-members": "the archive lists 1,001 members; the limit is 1,000 members",
    "hot-bad-label": "release label `../../etc` is not usable",
    "hot-device": "this is a character device, not a regular file",
    "byomei-missing-mdfy": "the release has no 修飾語テーブル (mdfy) file mdfy{NNN}.txt (given: byomei520.zip:nmain520.txt",
    "byomei-column-count": "the row has 19 columns, the nmain layout has 20",
    "byomei-nul-in-name": "control character U+0000 (NUL) at character 3",
    "byomei-long-name": "the name is 3,000 characters long",
    "byomei-invalid-cp932": "bytes 81 7F at byte 17 of the line are not valid CP932",
    "byomei-utf32": "the file is UTF-32 LE text",
    "byomei-duplicate-code": "病名管理番号 29990002 is already on line 2",
    "byomei-bad-code": "`2999X002` is not an 8-digit 病名管理番号",
    "byomei-dangling-successor": "移行先 29999999 of 29990002 is not a 病名管理番号 of this release",
    "byomei-successor-cycle": "移行先 form a cycle: 29990001 → 29990002 → 29990001",
    "byomei-two-nmain": "more than one 病名基本テーブル (nmain) file given: byomei520.zip:nmain520.txt, byomei520.zip:nmain521.txt",
    "nursing-missing-unit": "the release has no 単位 (unit) file unit-ver.{x}.txt",
    "nursing-header-mismatch": "column 2 is titled `管理No`, the koui layout has `管理番号` there",
    "nursing-bad-code": "`1299X001` is not an 8-digit 管理番号",
    "nursing-nul": "control character U+0000 (NUL) at character 3",
    "nursing-long-definition": "the text is 12,000 characters long",
    "nursing-duplicate-unit": "単位コード U901 is already on line 2",
    "nursing-empty-file": "the file is empty",
    "nursing-gzip": "the file is a gzip archive",
    "jlac-workbook-alone": "the jlac release has no 共有項目JLACコードマスタ CSV (JLAC11)",
    "jlac-xfd-cell": "cell XFD1048576 makes the sheet's used range 1,048,576 rows long",
    "jlac-not-a-workbook": "not a readable .xlsx workbook",
    "jlac-shared-strings-bomb": "a ratio of 1,025 to 1",
    "jlac-kyoyu-bad-header": "column 13 is titled `JLAC11`",
    "jlac-kyoyu-bad-jlac11": "`C99X1000092390155` is not a 17-character JLAC11 code",
    "jlac-kyoyu-nul": "control character U+0000 (NUL) at character 5",
    "upload-no-master": "the form needs a `master` field",
    "upload-unknown-master": "unknown master `lab`",
    "upload-unknown-field": "unknown form field `activte`",
    "upload-no-file": "the form has no `file` part",
    "upload-bad-file": "control character U+0000 (NUL) at character 7",
    "upload-incomplete": "the hot release has no standard file",
    "local-header-only": "the file has a header row but no local codes",
    "local-no-code-column": "no `code` column in the header row",
    "local-duplicate-code": "local code D001 is already on line 2",
    "local-nul": "control character U+0000 (NUL) at character 2",
    "local-too-many-columns": "the row has 302 columns; the limit is 200 columns",
    "local-long-name": "the name is 5,000 characters long",
    "local-utf16": "the file is UTF-16 LE text",
    "local-cp932-broken": "bytes 82 FF at byte 6 of the line are not valid CP932",
    "decisions-no-state": "no `state` column in the header row",
    "decisions-bad-state": "state `maybe` is not a review state",
    "decisions-deep-json": "1 problem(s) in the file; nothing was applied",
    "decisions-not-json": "1 problem(s) in the file; nothing was applied",
    "decisions-not-conceptmap": "1 problem(s) in the file; nothing was applied",
    "validate-not-json": "request body: expected value at line 1 column 1",
    "validate-wrong-type": "send JSON with `Content-Type: application/json`",
    "validate-deep": "nested too deep; the limit is 64 levels (HYOJUN_MAX_JSON_DEPTH)",
    "validate-items-not-array": "invalid type: map, expected a sequence",
    "validate-too-many": "10,001 items: at most 10,000 per request (HYOJUN_MAX_VALIDATE_ITEMS)",
    "validate-bad-date": "date `2026-13-45` is not YYYY-MM-DD",
    "activate-text-plain": "send JSON with `Content-Type: application/json`",
    "activate-misspelt": "unknown field `effective_form`, expected `effective_from`",
    "activate-date-only": "is a date alone: give a date-time",
    "activate-garbage": "request body: key must be a string",
    "url-too-long": "the URL is 10,013 bytes long; the limit is 8,192 bytes (HYOJUN_MAX_URL_BYTES)",
    "url-bad-percent": "does not decode to UTF-8",
    "trace": "TRACE is not served on this path: use GET",
    "unknown-path": "no such endpoint",
    "bad-date-param": "date `yesterday` is not YYYY-MM-DD",
    "bad-release-param": "hot has no release `19990101`",
    "bad-limit": "limit must be 1–1000",
    "jobs-limit": "limit must be 1–200",
    "bad-job-id": "path: can not parse",
    "bad-key": "the API key is not valid (unknown or revoked)",
    "bad-auth-scheme": "the Authorization header must be `Bearer <key>`",
    "key-role-empty": "missing field `role`",
    "key-name-escape": "`name` has the control character U+001B at character 2: remove it",
    "activate-array": "request body: a JSON object (`{…}`) is required",
    "activate-null": "request body: a JSON object (`{…}`) is required",
    "hot-escape-label": "release label `x\\u{001B}]0;pwned\\u{0007}` is not usable",
    "hot-long-label": "release label `vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv… (2000 characters)` is not usable",
}


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    hot_cases()
    byomei_cases()
    nursing_cases()
    jlac_cases()
    upload_cases()
    local_cases()
    decision_cases()
    http_cases()
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids are unique"
    for c in CASES:
        if c["id"] in MESSAGES:
            c["expect"]["message"] = MESSAGES[c["id"]]
    no_shape = [c["id"] for c in CASES if "message" not in c["expect"] and "kind" in c["expect"]]
    assert not no_shape, f"cases without a message shape: {no_shape}"
    unknown = set(MESSAGES) - set(ids)
    assert not unknown, f"message shapes of no case: {unknown}"
    (HERE / "cases.json").write_text(json.dumps(CASES, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{len(CASES)} cases, {size // 1024} KiB of inputs in {OUT}")


if __name__ == "__main__":
    main()
