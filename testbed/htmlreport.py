"""``report.html``: one self-contained page to read a run or a matrix in a browser.

``write(folder)`` reads what ``testbed run`` (``results.jsonl``, ``expected.json``)
or ``testbed matrix`` (one such folder per stack, ``matrix.json``) wrote and
writes ``folder/report.html``: the suite x stack heatmap, filters, and every
test with its requirement, RFC link, each stack's verdict and reason and a
ladder diagram of the packet exchange, linked to its pcapng.

The page is one file (inline CSS and JS, no network) that works opened from
disk.  The heatmap and the filters are HTML; the tests are one JSON block
(strings stored once, ladders capped at ``LADDER_ROWS``) that the script turns
into rows at load and into details and ladders only when a test is opened, so
thousands of test x stack cells open in well under a second.  Everything from
the results is escaped: inside the JSON block ``<``, ``>`` and ``&`` are
``\\u`` escapes, and the script builds markup only through ``esc()``.

Like ``results.py`` this module needs neither Mininet nor scapy; scapy is
imported only to draw the ladder of an old result that has none (from its pcap).
"""

import html
import json
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from . import expected as expectations
from . import suites as suite_table
from .errors import InputError
from .results import VERDICTS, id_order

NAME = "report.html"
LADDER_ROWS = 40                     # frames drawn per ladder; the pcap has them all
RFC_EDITOR = "https://www.rfc-editor.org/rfc/rfc"


# -- reading --------------------------------------------------------------------

def rfc_link(reference):
    """The RFC Editor's address for a reference such as "RFC 1122, 3.2.2.1": the section
    when it is numbered (or an appendix), the RFC's page otherwise; None without an RFC."""
    match = re.match(r"\s*RFC\s*(\d+)\b[\s,:]*(?:§\s*|sections?\s+)?(.*)", reference or "",
                     re.IGNORECASE)
    if not match:
        return None
    url = f"{RFC_EDITOR}{int(match.group(1))}"
    rest = match.group(2)
    section = re.match(r"(\d+(?:\.\d+)*)\.?(?=$|[\s,;:)])", rest)
    if section:
        return f"{url}#section-{section.group(1)}"
    appendix = re.match(r"appendix\s+([A-Z](?:\.\d+)*)\b", rest, re.IGNORECASE)
    if appendix:
        return f"{url}#appendix-{appendix.group(1).upper()}"
    return url


def _read_lines(path):
    """The JSON objects of a results.jsonl (a line cut short by a killed run is skipped)."""
    items = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("id") and item.get("verdict"):
            items.append(item)
    return items


def _sources(folder):
    """("run" or "matrix", [(stack folder, its path relative to *folder*)])."""
    if (folder / "results.jsonl").is_file():
        return "run", [(folder, "")]
    found = sorted(p.parent for p in folder.glob("*/results.jsonl"))
    if not found:
        raise InputError("no results.jsonl here, nor in a folder per stack", folder)
    return "matrix", [(p, p.name) for p in found]


def _matrix_info(folder):
    """{stack name: its matrix.json entry}, in the matrix's order (empty without one)."""
    try:
        data = json.loads((folder / "matrix.json").read_text(encoding="utf-8"))
        return {s["name"]: s for s in data.get("stacks", []) if isinstance(s, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _expected(folder):
    try:
        return expectations.load_copy(folder)
    except (OSError, ValueError, TypeError):
        return None


def ladder_from_pcap(path, most=LADDER_ROWS):
    """Ladder rows (as ``Capture.ladder`` makes them) decoded from a test's pcapng, for
    results written before runs recorded them: ``(rows, frames left out)``, or
    ``(None, 0)`` without scapy or a readable pcap.  The tester's identities come from
    the frames' comments; the DUT is named by the tester port it was seen on."""
    try:
        from scapy.layers.l2 import Ether
        from scapy.utils import PcapNgReader
    except ImportError:
        return None, 0
    try:
        with PcapNgReader(str(path)) as reader:
            frames = [(float(p.time), getattr(p, "sniffed_on", None) or "?",
                       (getattr(p, "comment", None) or b""), Ether(bytes(p))) for p in reader]
    except Exception:   # noqa: BLE001 - a damaged pcap only costs its ladder
        return None, 0
    names = {}
    for _, port, comment, packet in frames:
        note = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment
        if note.startswith("sent by the tester as "):
            names.setdefault(packet.src, note[len("sent by the tester as "):])
    for _, port, comment, packet in frames:
        if not comment and packet.src not in names:
            names[packet.src] = f"DUT ({port.rpartition(':')[2]})"

    def name_of(mac):
        if mac == "ff:ff:ff:ff:ff:ff":
            return "broadcast"
        if int(mac.split(":")[0], 16) & 1:
            return f"multicast {mac}"
        return names.get(mac, mac)
    start = frames[0][0] if frames else 0.0
    rows = [{"t": round(t - start, 4), "port": port, "src": names.get(packet.src, packet.src),
             "dst": name_of(packet.dst), "sent": bool(comment), "summary": packet.summary(),
             "matched": False} for t, port, comment, packet in frames[:most]]
    return rows, max(0, len(frames) - most)


def load(folder, decode_pcaps=True):
    """What the page shows: {kind, stacks: [{name, dir, version, incomplete, expected}],
    results: [(stack index, result dict, expected (verdict, reason) or None)]}."""
    folder = Path(folder)
    kind, sources = _sources(folder)
    info = _matrix_info(folder) if kind == "matrix" else {}
    stacks, index, results = [], {}, []
    for source, relative in sources:
        want = _expected(source)
        for item in _read_lines(source / "results.jsonl"):
            name = str(item.get("stack") or source.name)
            if name not in index:
                index[name] = len(stacks)
                entry = info.get(name, {})
                stacks.append({"name": name, "dir": relative, "version": entry.get("version"),
                               "incomplete": entry.get("incomplete"),
                               "expected": want is not None})
            if item.get("ladder") is None and decode_pcaps and item.get("pcap"):
                pcap = source / item["pcap"]
                if pcap.is_file():
                    item["ladder"], item["ladder_left_out"] = ladder_from_pcap(pcap)
            results.append((index[name], item, None if want is None else
                            tuple(want.get(item["id"], ("pass", "")))))
    order = list(info)
    stacks_sorted = sorted(stacks, key=lambda s: (order.index(s["name"]) if s["name"] in order
                                                  else len(order)))
    remap = {stacks.index(s): n for n, s in enumerate(stacks_sorted)}
    results = [(remap[i], item, want) for i, item, want in results]
    return {"kind": kind, "stacks": stacks_sorted, "results": results}


# -- the data block -----------------------------------------------------------------

class _Strings:
    """A table of strings stored once; each is referred to by its index."""

    def __init__(self):
        self.items, self._index = [], {}

    def __call__(self, text):
        text = "" if text is None else str(text)
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self.items)
            self.items.append(text)
        return found


def _ladder(rows, strings, most=LADDER_ROWS):
    """A ladder as one flat list, six numbers a frame: time in 0.1 ms, port, source,
    destination (string indexes), flags (1 sent by the tester, 2 matched), summary."""
    flat = []
    for row in rows[:most]:
        try:
            tenths = round(float(row.get("t", 0)) * 10000)
        except (TypeError, ValueError):
            tenths = 0
        flat += [tenths, strings(row.get("port")), strings(row.get("src")),
                 strings(row.get("dst")),
                 (1 if row.get("sent") else 0) | (2 if row.get("matched") else 0),
                 strings(row.get("summary"))]
    return flat


def data(loaded):
    """The JSON-able block the page's script reads (see the JS for the layout)."""
    strings = _Strings()
    verdict_index = {v: n for n, v in enumerate(VERDICTS)}
    stacks = loaded["stacks"]
    tests = {}
    for stack, item, want in loaded["results"]:
        verdict = item["verdict"]
        if verdict not in verdict_index:
            verdict_index[verdict] = len(verdict_index)
        test = tests.get(item["id"])
        if test is None:
            test = tests[item["id"]] = {"first": item, "cells": [0] * len(stacks)}
        rows = item.get("ladder")
        left_out = int(item.get("ladder_left_out") or 0)
        if isinstance(rows, list):
            left_out += max(0, len(rows) - LADDER_ROWS)
        if want is not None and want[0] not in verdict_index:
            verdict_index[want[0]] = len(verdict_index)
        test["cells"][stack] = [
            verdict_index[verdict], strings(item.get("reason")),
            -1 if want is None else verdict_index[want[0]],
            -1 if want is None or not want[1] else strings(want[1]),
            strings(item["pcap"]) if item.get("pcap") else -1,
            _ladder(rows, strings) if isinstance(rows, list) else 0,
            left_out]
    suites = sorted({t["first"].get("suite", "") for t in tests.values()},
                    key=lambda s: (suite_table.order(s), s))
    suite_index = {s: n for n, s in enumerate(suites)}
    ordered = sorted(tests.values(), key=lambda t: (suite_table.order(t["first"].get("suite", "")),
                                                    t["first"].get("suite", ""),
                                                    id_order(t["first"]["id"])))
    rows = []
    for test in ordered:
        first = test["first"]
        link = rfc_link(first.get("reference", ""))
        rows.append([first["id"], suite_index[first.get("suite", "")], first.get("title", ""),
                     first.get("reference", ""), first.get("classification", ""),
                     first.get("description", ""),
                     link[len(RFC_EDITOR):] if link else "",
                     strings(first.get("topology")), strings(first.get("role")),
                     test["cells"]])
    return {"verdicts": list(verdict_index), "suites": suites, "rfc": RFC_EDITOR,
            "stacks": [{k: s[k] for k in ("name", "dir", "expected")} for s in stacks],
            "ladderRows": LADDER_ROWS, "s": strings.items, "tests": rows}


def _json_for_script(value):
    """JSON that cannot end the <script> element it sits in, nor open a comment."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- the page -------------------------------------------------------------------------

def _colour(ratio):
    """Heatmap background: red at no passes through amber to green at all."""
    return f"hsl({round(120 * ratio)},62%,{80 - round(6 * ratio)}%)"


def _heatmap(loaded, suites):
    """The suite x stack table, each cell passes/total linking to that suite on that stack."""
    stacks = loaded["stacks"]
    counts, differing = {}, Counter()
    for stack, item, want in loaded["results"]:
        suite = item.get("suite", "")
        counts.setdefault((suite, stack), Counter())[item["verdict"]] += 1
        counts.setdefault(("", stack), Counter())[item["verdict"]] += 1
        if want is not None and want[0] != item["verdict"]:
            differing[(suite, stack)] += 1
            differing[("", stack)] += 1
    esc = html.escape
    head = "".join(f'<th scope="col">{esc(s["name"])}</th>' for s in stacks)
    lines = [f'<table class="heat"><thead><tr><th scope="col">suite</th>{head}</tr></thead><tbody>']
    for suite in suites + [""]:
        label = esc(suite) if suite else "all suites"
        cells = []
        for n, stack in enumerate(stacks):
            counter = counts.get((suite, n))
            if not counter:
                cells.append('<td class="none">—</td>')
                continue
            total = sum(counter.values())
            others = ", ".join(f"{v} {counter[v]}" for v in
                               [v for v in VERDICTS[1:]] + sorted(set(counter) - set(VERDICTS))
                               if counter[v])
            href = "#" + "&".join(f"{k}={quote(v, safe='')}" for k, v in
                                  (("suite", suite), ("stack", stack["name"])) if v)
            note = (f'<span class="ne" title="verdicts that differ from the stack\'s expected '
                    f'ones">{differing[(suite, n)]} ≠ expected</span>'
                    if differing[(suite, n)] else "")
            tip = f"{suite or 'all suites'} on {stack['name']}: {counter['pass']} of {total} " \
                  f"passed" + (f"; {others}" if others else "")
            cells.append(f'<td style="background:{_colour(counter["pass"] / total)}">'
                         f'<a href="{esc(href)}" title="{esc(tip)}">'
                         f'<b>{counter["pass"]}/{total}</b>'
                         f'<small>{esc(others) if others else "all pass"}</small>{note}</a></td>')
        lines.append(f'<tr{" class=total" if not suite else ""}><th scope="row">{label}</th>'
                     + "".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _filters(loaded, block):
    """The filter bar: suite, stack, verdicts, classifications, disagreement, expectations."""
    esc = html.escape
    stacks = loaded["stacks"]
    present = Counter(item["verdict"] for _, item, _ in loaded["results"])
    classes = sorted({t[4] for t in block["tests"] if t[4]},
                     key=lambda c: (["MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT",
                                     "SHOULD", "SHOULD NOT", "RECOMMENDED", "MAY",
                                     "OPTIONAL"] + [c]).index(c))
    disagree = sum(1 for t in block["tests"]
                   if len({c[0] for c in t[-1] if c}) > 1)
    differ = sum(1 for t in block["tests"]
                 if any(c and c[2] >= 0 and c[2] != c[0] for c in t[-1]))
    suite_options = "".join(f'<option value="{esc(s)}">{esc(s)}</option>' for s in block["suites"])
    stack_options = "".join(f'<option value="{esc(s["name"])}">{esc(s["name"])}</option>'
                            for s in stacks)
    verdicts = "".join(
        f'<label class="chip v-{esc(v)}"><input type="checkbox" name="verdict" value="{esc(v)}">'
        f'{esc(v)} <small>{present[v]}</small></label>'
        for v in block["verdicts"] if present[v])
    kinds = "".join(f'<label class="chip cls"><input type="checkbox" name="cls" value="{esc(c)}">'
                    f'{esc(c)}</label>' for c in classes)
    parts = [
        '<form id="filters" class="bar" autocomplete="off">',
        f'<label>suite <select id="f-suite"><option value="">all</option>{suite_options}'
        '</select></label>',
        f'<label{" hidden" if len(stacks) < 2 else ""}>stack <select id="f-stack">'
        f'<option value="">all</option>{stack_options}</select></label>',
        '<span class="group" title="show tests with any of these verdicts">'
        f'verdict {verdicts}</span>',
        f'<span class="group" title="show tests of these requirement levels">level {kinds}</span>',
        f'<label class="chip"{" hidden" if len(stacks) < 2 else ""}><input type="checkbox" '
        f'id="f-disagree">stacks disagree <small>{disagree}</small></label>',
        f'<label class="chip"{"" if any(s["expected"] for s in stacks) else " hidden"}>'
        f'<input type="checkbox" id="f-unexpected">differs from expected <small>{differ}</small>'
        '</label>',
        '<input type="search" id="f-q" placeholder="test id or words" size="16" '
        'aria-label="search test ids and titles">',
        '<button type="button" id="f-reset">clear</button>',
        '<span id="count" aria-live="polite"></span>',
        "</form>"]
    return "\n".join(parts)


def render(folder, decode_pcaps=True):
    """The page for *folder*, as a string."""
    folder = Path(folder)
    loaded = load(folder, decode_pcaps)
    block = data(loaded)
    esc = html.escape
    stacks = loaded["stacks"]
    name = folder.resolve().name or str(folder)
    total = len(block["tests"])
    cells = sum(1 for t in block["tests"] for c in t[-1] if c)
    what = (f"matrix of {len(stacks)} stacks" if loaded["kind"] == "matrix" else
            f"run against {stacks[0]['name']}" if stacks else "run")
    notes = []
    for stack in stacks:
        bits = [f'<b>{esc(stack["name"])}</b>']
        if stack["version"]:
            bits.append(esc(str(stack["version"])))
        if loaded["kind"] == "matrix":
            bits.append(f'<a href="{esc(quote(stack["dir"]))}/summary.md">summary.md</a>')
        if stack["incomplete"]:
            bits.append('<span class="warn">run incomplete: '
                        f'{esc(str(stack["incomplete"]))}</span>')
        notes.append("<li>" + " · ".join(bits) + "</li>")
    generated = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return PAGE.format(
        title=esc(f"Conformance report — {name}"),
        css=CSS, js=JS, name=esc(name), what=esc(what), generated=generated,
        count=f"{total} test{'s' * (total != 1)}, {cells} verdict{'s' * (cells != 1)}",
        stacks="".join(notes),
        heatmap=_heatmap(loaded, block["suites"]),
        filters=_filters(loaded, block),
        data=_json_for_script(block))


def write(folder, decode_pcaps=True):
    """Write ``folder/report.html`` for a run or matrix folder; return its path."""
    folder = Path(folder)
    text = render(folder, decode_pcaps)
    path = folder / NAME
    temporary = path.with_name(f".{NAME}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path


# -- the page's parts -------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>Conformance report <span class="name">{name}</span></h1>
<p class="meta">{what} · {count} · generated {generated} by <code>testbed</code></p>
<ul class="stacks">{stacks}</ul>
</header>
<section id="overview">
<h2>Passes per suite and stack</h2>
<p class="hint">passes/total, coloured from red (none pass) to green (all pass); click a cell for
that suite's tests on that stack.</p>
{heatmap}
</section>
<section id="tests">
<h2>Tests</h2>
{filters}
<noscript><p class="warn">The list of tests needs JavaScript; summary.md and results.jsonl
hold the same results as text.</p></noscript>
<div id="list" role="table" aria-label="tests"><div id="head" role="rowgroup"></div>
<div id="rows" role="rowgroup"></div></div>
<p id="empty" hidden>No test matches these filters.</p>
</section>
<script type="application/json" id="data">{data}</script>
<script>{js}</script>
</body>
</html>
"""

CSS = """
:root{--fg:#1d2430;--mute:#5b6473;--line:#d8dce3;--bg:#fff;--soft:#f4f6f9;--accent:#1f5fbf;
--pass:#d7f0dc;--pass-fg:#17602a;--fail:#fbd9d6;--fail-fg:#9b1c13;--unsupported:#e6e8ec;
--unsupported-fg:#4a5261;--inconclusive:#fdf0c4;--inconclusive-fg:#7a5900;--crash:#ecdcf7;
--crash-fg:#6a2399;--error:#3b3f46;--error-fg:#fff;--sent:#1f5fbf;--recv:#c05a00}
*{box-sizing:border-box}
body{margin:0;padding:0 24px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
h1{font-size:22px;margin:18px 0 2px}h1 .name{font-weight:400;color:var(--mute)}
h2{font-size:17px;margin:22px 0 6px}
.meta,.hint{color:var(--mute);margin:2px 0}.hint{font-size:12.5px}
ul.stacks{margin:6px 0 0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;
font-size:12.5px;color:var(--mute)}ul.stacks b{color:var(--fg)}
.warn{color:var(--fail-fg);font-weight:600}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table.heat{border-collapse:separate;border-spacing:3px;margin:6px 0}
table.heat th{font-weight:600;text-align:left;padding:2px 8px;font-size:13px}
table.heat thead th{text-align:center}
table.heat td{padding:0;width:150px;border-radius:5px;text-align:center}
table.heat td a{display:block;padding:5px 8px;color:#111;text-decoration:none;border-radius:5px}
table.heat td a:hover,table.heat td a:focus{outline:2px solid var(--fg)}
table.heat td b{font-size:16px;display:block}
table.heat td small{display:block;font-size:11px;color:#333}
table.heat td .ne{display:block;font-size:11px;font-weight:600;color:#6b1010}
table.heat td.none{color:var(--mute);background:var(--soft)}
table.heat tr.total th,table.heat tr.total td{border-top:2px solid var(--fg)}
.bar{position:sticky;top:0;z-index:3;background:var(--bg);display:flex;flex-wrap:wrap;
align-items:center;gap:6px 12px;padding:8px 0;border-bottom:1px solid var(--line)}
.bar select,.bar input[type=search],.bar button{font:inherit;padding:2px 4px}
.group{display:inline-flex;flex-wrap:wrap;align-items:center;gap:4px;color:var(--mute)}
.chip{display:inline-flex;align-items:center;gap:3px;border:1px solid var(--line);
border-radius:12px;padding:1px 8px 1px 4px;font-size:12.5px;color:var(--fg);cursor:pointer;
background:var(--soft);white-space:nowrap}
.chip input{margin:0 2px 0 0}.chip small{color:var(--mute)}
.chip:has(input:checked){border-color:var(--fg);box-shadow:inset 0 0 0 1px var(--fg)}
#count{color:var(--mute);margin-left:auto;font-size:12.5px}
#list{margin-top:4px;--stw:118px}
#list .rw{display:flex;align-items:flex-start;border-bottom:1px solid #eef0f3}
#list .rw>span{flex:none;padding:3px 6px;min-width:0}
#head .rw{background:var(--bg);font-size:12px;
color:var(--mute);font-weight:600;border-bottom:1px solid var(--line)}
#head{position:sticky;top:var(--bar,44px);z-index:2}
#rows .t{cursor:pointer;scroll-margin-top:calc(var(--bar,44px) + 30px);
content-visibility:auto;contain-intrinsic-size:auto 27px}
#rows .t:hover{background:#f7f9fc}#rows .t.open{background:#eef3fb}
#list .tog{width:20px;color:var(--mute);padding-right:0!important}
#list .id{width:104px;font-weight:600;overflow-wrap:anywhere}
#list .ti{flex:1 1 0!important}
#list .lv{width:96px}
#list .ref{width:210px;font-size:12.5px;overflow-wrap:anywhere}
#list .st{width:var(--stw);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#list .dis{width:24px;color:var(--fail-fg);font-weight:700}
.v{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600;line-height:18px}
.v-pass{background:var(--pass);color:var(--pass-fg)}
.v-fail{background:var(--fail);color:var(--fail-fg)}
.v-unsupported{background:var(--unsupported);color:var(--unsupported-fg)}
.v-inconclusive{background:var(--inconclusive);color:var(--inconclusive-fg)}
.v-crash{background:var(--crash);color:var(--crash-fg)}
.v-error{background:var(--error);color:var(--error-fg)}
label.chip.v-pass,label.chip.v-fail,label.chip.v-unsupported,label.chip.v-inconclusive,
label.chip.v-crash{font-weight:600}
.x{outline:2px dashed var(--fail-fg);outline-offset:1px}
.exp{font-size:11px;color:var(--fail-fg);margin-left:4px}#list .st .exp{display:block;margin:0}
.cl{font-size:11px;font-weight:700;letter-spacing:.02em;border-radius:3px;padding:0 4px;
border:1px solid var(--line);white-space:nowrap}
.cl-MUST,.cl-MUST_NOT,.cl-REQUIRED,.cl-SHALL,.cl-SHALL_NOT{color:#7a1010;border-color:#e2b4b0}
.cl-SHOULD,.cl-SHOULD_NOT,.cl-RECOMMENDED{color:#7a5900;border-color:#e8d49a}
.cl-MAY,.cl-OPTIONAL{color:#2f5a2f;border-color:#b8d3b8}
#rows .d{background:#fbfcfe;padding:8px 10px 14px 28px;border-bottom:2px solid var(--line)}
.det{max-width:calc(100vw - 90px)}
.det .desc{max-width:900px;margin:4px 0 8px}
.det .req{margin:0;color:var(--mute);font-size:12.5px}
table.vt{border-collapse:collapse;margin:4px 0 10px;font-size:13px}
table.vt th,table.vt td{border-bottom:1px solid #eceef2;padding:3px 10px 3px 0;text-align:left;
vertical-align:top}
table.vt th{font-size:12px;color:var(--mute);font-weight:600}
table.vt td.rs{max-width:760px}
table.vt .er{display:block;color:var(--mute);font-size:12px}
.tabs{display:flex;gap:4px;margin:6px 0 0;flex-wrap:wrap}
.tabs button{font:inherit;font-size:12.5px;border:1px solid var(--line);border-bottom:none;
background:var(--soft);border-radius:5px 5px 0 0;padding:2px 10px;cursor:pointer}
.tabs button.on{background:#fff;font-weight:700;box-shadow:0 2px 0 #fff}
.lad{border:1px solid var(--line);border-radius:0 5px 5px 5px;padding:6px 8px;background:#fff;
overflow-x:auto;max-width:calc(100vw - 100px)}
.lad .cap{font-size:12px;color:var(--mute);margin:0 0 4px}
.lad .cap .s{color:var(--sent);font-weight:700}.lad .cap .r{color:var(--recv);font-weight:700}
.lr{display:flex;align-items:center;min-height:20px;white-space:nowrap}
.lr .lt{width:74px;flex:none;text-align:right;padding-right:8px;color:var(--mute);
font:11.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.lr .lg{flex:none;height:20px;background-image:linear-gradient(to right,transparent calc(50% - .5px),
#b9c0cc calc(50% - .5px),#b9c0cc calc(50% + .5px),transparent calc(50% + .5px));
background-size:var(--cw) 100%;background-repeat:repeat-x}
.lr .lg svg{display:block;overflow:visible}
.lr .ls{padding-left:10px;font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
overflow:hidden;text-overflow:ellipsis}
.lr .ls .to{color:var(--mute)}
.lr.m{background:#fff5cc}.lr.m .ls{font-weight:600}
.lr .mk{display:inline-block;width:70px;font:600 10.5px system-ui,sans-serif;color:#7a5900}
.lh{display:flex;align-items:flex-end;border-bottom:1px solid var(--line);margin-bottom:2px}
.lh .lt{width:74px;flex:none;font-size:11px;color:var(--mute);text-align:right;padding-right:8px}
.lh .col{flex:none;text-align:center;font-size:12px;font-weight:700;overflow:hidden;
text-overflow:ellipsis;white-space:nowrap;padding:0 2px;line-height:1.2}
.lh .col small{display:block;font-weight:400;color:var(--mute);font-size:10.5px}
.lh .col.dut{color:var(--recv)}.lh .col.tst{color:var(--sent)}
.lh .col.mac{font:10px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;padding-top:3px}
.lh .ls{padding-left:10px;font-size:11px;color:var(--mute)}.lh .mk{display:inline-block;width:70px}
.more{font-size:12px;color:var(--mute);margin:4px 0 0 82px}
#empty{color:var(--mute)}
"""

JS = r"""
(function () {
"use strict";
var started = performance.now();
// The data block: verdicts[], suites[], stacks[{name, dir, expected}], s[] (strings stored
// once), tests[[id, suite, title, reference, level, description, RFC link after D.rfc,
// topology (s), role (s), cells]] with one cell per stack: 0 (not run) or [verdict,
// reason (s), expected verdict (-1: no expectations), expected reason (s or -1),
// pcap (s or -1), ladder (0 or six numbers a frame: time in 0.1 ms, port, source,
// destination, flags 1 sent by the tester / 2 matched, summary), frames left out].
var D = JSON.parse(document.getElementById("data").textContent);
var S = D.s, V = D.verdicts, ST = D.stacks, TS = D.tests, NS = ST.length;
var ID = 0, SUITE = 1, TITLE = 2, REF = 3, LEVEL = 4, DESC = 5, LINK = 6, TOPO = 7, ROLE = 8,
    CELLS = 9;
var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
function href(path) {   // a relative link, each part encoded: never a scheme, never markup
  return "./" + String(path).split("/").filter(function (p) { return p; })
    .map(encodeURIComponent).join("/");
}
function differs(c) { return c && c[2] >= 0 && c[2] !== c[0]; }
var byId = {}, lower = new Array(TS.length), disagree = new Uint8Array(TS.length);
TS.forEach(function (t, i) {
  byId[t[ID]] = i;
  lower[i] = (t[ID] + " " + t[TITLE] + " " + t[REF]).toLowerCase();
  var seen = -1;
  t[CELLS].forEach(function (c) {
    if (!c) return;
    if (seen < 0) seen = c[0]; else if (c[0] !== seen) disagree[i] = 1;
  });
});
var stackIndex = {}; ST.forEach(function (s, i) { stackIndex[s.name] = i; });

var $ = function (id) { return document.getElementById(id); };
var form = $("filters"), head = $("head"), rows = $("rows");
var state = {suite: "", stack: "", verdict: [], cls: [], disagree: false, unexpected: false,
             q: "", open: []};
var tab = {};    // test index -> stack index of the ladder shown

function checked(name) {
  return Array.prototype.filter.call(form.querySelectorAll("input[name=" + name + "]"),
    function (x) { return x.checked; }).map(function (x) { return x.value; });
}
function readControls() {
  state.suite = $("f-suite").value; state.stack = $("f-stack").value;
  state.verdict = checked("verdict"); state.cls = checked("cls");
  state.disagree = $("f-disagree").checked; state.unexpected = $("f-unexpected").checked;
  state.q = $("f-q").value.trim();
}
function writeControls() {
  var pick = function (sel, v) {
    sel.value = v; if (sel.value !== v) sel.value = "";
  };
  pick($("f-suite"), state.suite); pick($("f-stack"), state.stack);
  form.querySelectorAll("input[name=verdict]").forEach(function (x) {
    x.checked = state.verdict.indexOf(x.value) >= 0; });
  form.querySelectorAll("input[name=cls]").forEach(function (x) {
    x.checked = state.cls.indexOf(x.value) >= 0; });
  $("f-disagree").checked = state.disagree; $("f-unexpected").checked = state.unexpected;
  $("f-q").value = state.q;
}
function fromHash() {
  var p = new URLSearchParams(location.hash.replace(/^#/, ""));
  var list = function (k) {
    return (p.get(k) || "").split(",").filter(function (x) { return x; });
  };
  state.suite = p.get("suite") || ""; state.stack = p.get("stack") || "";
  state.verdict = list("verdict"); state.cls = list("level");
  state.disagree = p.get("disagree") === "1"; state.unexpected = p.get("unexpected") === "1";
  state.q = p.get("q") || "";
  state.open = list("test").filter(function (id) { return id in byId; });
}
function toHash() {
  var p = [];
  var add = function (k, v) {
    if (v) p.push(k + "=" + encodeURIComponent(v).replace(/%2C/g, ","));
  };
  add("suite", state.suite); add("stack", state.stack); add("verdict", state.verdict.join(","));
  add("level", state.cls.join(",")); add("disagree", state.disagree ? "1" : "");
  add("unexpected", state.unexpected ? "1" : ""); add("q", state.q);
  add("test", state.open.join(","));
  try { history.replaceState(null, "", p.length ? "#" + p.join("&") : location.pathname); }
  catch (e) { /* some browsers refuse history on file: pages; the page works without it */ }
}

function shown() {
  if (state.stack && state.stack in stackIndex) return [stackIndex[state.stack]];
  return ST.map(function (_, i) { return i; });
}
function visible(i, stacks) {
  var t = TS[i];
  if (state.suite && D.suites[t[SUITE]] !== state.suite) return false;
  if (state.cls.length && state.cls.indexOf(t[LEVEL]) < 0) return false;
  if (state.disagree && !disagree[i]) return false;
  if (state.q && lower[i].indexOf(state.q.toLowerCase()) < 0) return false;
  var ran = false, v = !state.verdict.length, u = !state.unexpected;
  for (var k = 0; k < stacks.length; k++) {
    var c = t[CELLS][stacks[k]];
    if (!c) continue;
    ran = true;
    if (!v && state.verdict.indexOf(V[c[0]]) >= 0) v = true;
    if (!u && differs(c)) u = true;
  }
  return ran && v && u;
}

function chip(c) {
  if (!c) return '<span class="st na">—</span>';
  var x = differs(c);
  return '<span class="st"><span class="v v-' + esc(V[c[0]]) + (x ? ' x' : '') + '"' +
    (x ? ' title="expected ' + esc(V[c[2]]) + '"' : '') + '>' + esc(V[c[0]]) + '</span>' +
    (x ? '<span class="exp">exp. ' + esc(V[c[2]]) + '</span>' : '') + '</span>';
}
function levelTag(l) {
  return l ? '<span class="cl cl-' + esc(l.replace(/ /g, "_")) + '">' + esc(l) + '</span>' : "";
}
function rfcLink(t) {
  if (!t[LINK]) return esc(t[REF]);
  return '<a href="' + esc(D.rfc + t[LINK]) + '" target="_blank" rel="noopener noreferrer">' +
    esc(t[REF]) + '</a>';
}
function row(i, stacks) {   // one flex row per test: rows off screen are not laid out
  var t = TS[i], open = state.open.indexOf(t[ID]) >= 0;
  var h = '<div class="rw t' + (open ? ' open' : '') + '" role="row" data-i="' + i + '" id="t-' +
    esc(t[ID]) + '"><span class="tog">' + (open ? '▾' : '▸') + '</span><span class="id">' +
    esc(t[ID]) + '</span><span class="ti">' + esc(t[TITLE]) + '</span><span class="lv">' +
    levelTag(t[LEVEL]) + '</span><span class="ref">' + rfcLink(t) + '</span>';
  for (var k = 0; k < stacks.length; k++) h += chip(t[CELLS][stacks[k]]);
  if (NS > 1 && stacks.length > 1) h += '<span class="dis"' + (disagree[i] ?
    ' title="the stacks disagree">≠' : '>') + '</span>';
  h += '</div>';
  if (open) h += '<div class="d" data-i="' + i + '">' + details(i) + '</div>';
  return h;
}

function render() {
  var stacks = shown(), h = [], n = 0;
  $("list").style.setProperty("--stw", (stacks.length > 4 ? 100 : 118) + "px");
  var top = '<div class="rw" role="row"><span class="tog"></span><span class="id">test</span>' +
    '<span class="ti">title</span><span class="lv">level</span><span class="ref">reference</span>';
  for (var k = 0; k < stacks.length; k++) {
    top += '<span class="st">' + esc(ST[stacks[k]].name) + '</span>';
  }
  if (NS > 1 && stacks.length > 1) top += '<span class="dis" title="stacks disagree">≠</span>';
  head.innerHTML = top + '</div>';
  for (var i = 0; i < TS.length; i++) {
    if (!visible(i, stacks)) continue;
    h.push(row(i, stacks)); n++;
  }
  rows.innerHTML = h.join("");
  $("empty").hidden = n > 0;
  $("count").textContent = (n === TS.length ? "" : n + " of ") + TS.length + " tests";
  document.documentElement.style.setProperty("--bar", form.offsetHeight + "px");
}

// -- a test's details and its ladder diagrams ---------------------------------------
function details(i) {
  var t = TS[i], h = '<div class="det">';
  h += '<p class="req">' + levelTag(t[LEVEL]) + ' ' + rfcLink(t) +
    (S[t[TOPO]] ? ' · ' + esc(S[t[TOPO]]) : '') +
    (S[t[ROLE]] ? ', DUT as ' + esc(S[t[ROLE]]) : '') +
    ' · suite ' + esc(D.suites[t[SUITE]]) + '</p>';
  h += '<p class="desc">' + (t[DESC] ? esc(t[DESC]) : '<i>(no description in these results)</i>') +
    '</p>';
  h += '<table class="vt"><tr><th>stack</th><th>verdict</th><th>reason</th><th>capture</th></tr>';
  var ran = [];
  for (var s = 0; s < NS; s++) {
    var c = t[CELLS][s];
    if (!c) continue;
    ran.push(s);
    var er = "";
    if (c[2] >= 0 && (differs(c) || c[3] >= 0)) {
      er = '<span class="er">' + (differs(c) ? '<b>expected ' + esc(V[c[2]]) + '</b>' :
        'known departure') + (c[3] >= 0 ? ': ' + esc(S[c[3]]) : '') + '</span>';
    }
    h += '<tr><td>' + esc(ST[s].name) + '</td><td>' +
      chip(c).replace(/^<span class="st">|<\/span>$/g, "") +
      '</td><td class="rs">' + (S[c[1]] ? esc(S[c[1]]) : '—') + er + '</td><td>' +
      (c[4] >= 0 ? '<a href="' + esc(href((ST[s].dir ? ST[s].dir + "/" : "") + S[c[4]])) +
        '">pcapng</a>' : '—') + '</td></tr>';
  }
  h += '</table>';
  if (!ran.length) return h + '</div>';
  var pick = tab[i];
  if (pick === undefined || ran.indexOf(pick) < 0) {
    pick = state.stack in stackIndex && ran.indexOf(stackIndex[state.stack]) >= 0 ?
      stackIndex[state.stack] : ran[0];
    if (!(state.stack in stackIndex)) {   // the first that did not pass, among those with frames
      var framed = ran.filter(function (s) { return t[CELLS][s][5]; });
      var odd = framed.filter(function (s) { return V[t[CELLS][s][0]] !== "pass"; });
      pick = odd.length ? odd[0] : framed.length ? framed[0] : ran[0];
    }
  }
  if (ran.length > 1) {
    h += '<div class="tabs" role="tablist">';
    ran.forEach(function (s) {
      h += '<button type="button" role="tab" data-tab="' + s + '" class="' +
        (s === pick ? 'on' : '') +
        '">' + esc(ST[s].name) + ' <span class="v v-' + esc(V[t[CELLS][s][0]]) + '">' +
        esc(V[t[CELLS][s][0]]) + '</span></button>';
    });
    h += '</div>';
  }
  return h + '<div class="lad">' + ladder(t[CELLS][pick], pick) + '</div></div>';
}

function fmtTime(tenths) {
  var ms = tenths / 10;
  return ms < 1000 ? ms.toFixed(1) + " ms" : (ms / 1000).toFixed(3) + " s";
}
function isGroup(name) { return name === "broadcast" || name.indexOf("multicast ") === 0; }
function isDut(name) { return name.indexOf("DUT") === 0; }
function shortPort(p) { return p.replace(/^.*:/, ""); }

function ladder(c, s) {
  var L = c[5];
  if (!L || !L.length) {
    return '<p class="cap">No frames recorded for this test' +
      (c[4] >= 0 ? '; the pcapng may still hold some.' : '.') + '</p>';
  }
  var n = L.length / 6, ports = [], dutOf = {}, testers = {}, r, k;
  for (r = 0; r < n; r++) {        // who is on which tester port
    var port = S[L[6 * r + 1]], src = S[L[6 * r + 2]], dst = S[L[6 * r + 3]],
        sent = L[6 * r + 4] & 1;
    if (ports.indexOf(port) < 0) { ports.push(port); testers[port] = []; }
    var dutSide = sent ? dst : src, testerSide = sent ? src : dst;
    if (isDut(dutSide) && !dutOf[port]) dutOf[port] = dutSide;
    if (!isDut(testerSide) && !isGroup(testerSide) && testers[port].indexOf(testerSide) < 0)
      testers[port].push(testerSide);
  }
  ports.sort();
  var cols = [], at = {};
  function add(key, label, sub, kind) { at[key] = cols.length; cols.push([label, sub, kind]); }
  function testerCols(p) {
    if (!testers[p].length) add("T|" + p, "tester", shortPort(p), "tst");
    testers[p].forEach(function (name) { add("T|" + p + "|" + name, name, shortPort(p), "tst"); });
  }
  testerCols(ports[0]);
  ports.forEach(function (p) {
    add("D|" + p, dutOf[p] || "DUT", dutOf[p] ? "via " + shortPort(p) : shortPort(p), "dut");
  });
  ports.slice(1).forEach(testerCols);
  var CW = cols.length > 6 ? 92 : 112, W = CW * cols.length;
  function x(i) { return CW * i + CW / 2; }
  function testerCol(p, name) {
    var key = "T|" + p + "|" + name;
    return key in at ? at[key] : null;
  }
  var h = '<p class="cap"><span class="s">→</span> sent by the tester · <span class="r">→</span> ' +
    'sent by the DUT · <b>matched</b>: a frame that decided one of the test\'s expectations</p>';
  h += '<div class="lh" style="--cw:' + CW + 'px"><span class="lt">time</span>';
  cols.forEach(function (col) {
    var mac = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(col[0]) ? ' mac' : '';
    h += '<span class="col ' + col[2] + mac + '" style="width:' + CW + 'px" title="' + esc(col[0]) +
      '">' + esc(col[0]) + '<small>' + esc(col[1]) + '</small></span>';
  });
  h += '<span class="ls"><span class="mk"></span>frame (scapy\'s one-line decode)</span></div>';
  for (r = 0; r < n; r++) {
    var o = 6 * r, p2 = S[L[o + 1]], from = S[L[o + 2]], to = S[L[o + 3]], fl = L[o + 4];
    var isSent = fl & 1, matched = fl & 2, dutCol = at["D|" + p2], a, b, group = false;
    if (isSent) {
      a = testerCol(p2, from); b = dutCol;
      if (a === null) a = at["T|" + p2] !== undefined ? at["T|" + p2] : dutCol;
    } else {
      a = dutCol; b = testerCol(p2, to);
      if (b === null) {            // to a group address, or to no one the tester is: the far end
        group = true;
        var mine = cols.map(function (col, i) { return i; }).filter(function (i) {
          return cols[i][2] === "tst" && cols[i][1] === shortPort(p2); });
        b = mine.length ? (Math.abs(mine[0] - a) > Math.abs(mine[mine.length - 1] - a) ?
          mine[0] : mine[mine.length - 1]) : a;
      }
    }
    var colour = isSent ? "var(--sent)" : "var(--recv)", x1 = x(a), x2 = x(b),
        dir = x2 >= x1 ? 1 : -1, sw = matched ? 2.5 : 1.5, svg;
    if (a === b) {
      svg = '<circle cx="' + x1 + '" cy="10" r="4" fill="' + colour + '"/>';
    } else {
      svg = '<line x1="' + x1 + '" y1="10" x2="' + (x2 - dir * 7) + '" y2="10" stroke="' + colour +
        '" stroke-width="' + sw + '"' + (group ? ' stroke-dasharray="5 3"' : '') + '/>' +
        '<polygon points="' + x2 + ',10 ' + (x2 - dir * 8) + ',5.5 ' + (x2 - dir * 8) +
        ',14.5" fill="' +
        colour + '"/>';
      if (group) {               // a dot on every tester column the frame reaches on its way
        cols.forEach(function (col, i) {
          if (col[2] === "tst" && col[1] === shortPort(p2) && i !== b &&
              (i - a) * (b - a) > 0) {
            svg += '<circle cx="' + x(i) + '" cy="10" r="2.5" fill="' + colour + '"/>';
          }
        });
      }
    }
    var note = "";
    if (isSent && !isDut(to)) note = "to " + to;
    else if (!isSent && group) note = "to " + to;
    if (!isSent && !isDut(from)) note = "from " + from + (note ? " " + note : "");
    var summary = S[L[o + 5]];
    h += '<div class="lr' + (matched ? ' m' : '') + '" style="--cw:' + CW + 'px"><span class="lt">' +
      fmtTime(L[o]) + '</span><span class="lg" style="width:' + W + 'px"><svg width="' + W +
      '" height="20" aria-hidden="true">' + svg + '</svg></span><span class="ls" title="' +
      esc(summary) + '"><span class="mk">' + (matched ? '◆ matched' : '') + '</span>' +
      (note ? '<span class="to">' + esc(note) + ': </span>' : '') + esc(summary) + '</span></div>';
  }
  if (c[6] > 0) {
    h += '<p class="more">… and ' + c[6] + ' more frame' + (c[6] > 1 ? 's' : '') +
      ' in the pcapng' + (c[4] >= 0 ? ' (<a href="' + esc(href((ST[s].dir ? ST[s].dir + "/" : "") +
      S[c[4]])) + '">open it</a>)' : '') + '.</p>';
  }
  return h;
}

// -- events ------------------------------------------------------------------------
function toggle(i) {
  var id = TS[i][ID], k = state.open.indexOf(id);
  if (k >= 0) state.open.splice(k, 1); else state.open.push(id);
  var r = rows.querySelector('.t[data-i="' + i + '"]'), next = r.nextElementSibling;
  if (k >= 0) {
    r.classList.remove("open"); r.firstChild.textContent = "▸";
    if (next && next.classList.contains("d")) next.remove();
  } else {
    r.classList.add("open"); r.firstChild.textContent = "▾";
    r.insertAdjacentHTML("afterend", '<div class="d" data-i="' + i + '">' + details(i) + '</div>');
  }
  toHash();
}
rows.addEventListener("click", function (e) {
  var button = e.target.closest("button[data-tab]");
  if (button) {
    var d = button.closest(".d"), i = +d.dataset.i, s = +button.dataset.tab;
    tab[i] = s;
    d.querySelectorAll(".tabs button").forEach(function (b) {
      b.classList.toggle("on", b === button);
    });
    d.querySelector(".lad").innerHTML = ladder(TS[i][CELLS][s], s);
    return;
  }
  if (e.target.closest("a") || e.target.closest(".d")) return;
  var r = e.target.closest(".t");
  if (r) toggle(+r.dataset.i);
});
form.addEventListener("submit", function (e) { e.preventDefault(); });
form.addEventListener("input", function () { readControls(); toHash(); render(); });
$("f-reset").addEventListener("click", function () {
  state = {suite: "", stack: "", verdict: [], cls: [], disagree: false, unexpected: false, q: "",
           open: state.open};
  writeControls(); toHash(); render();
});
function fromLocation(scroll) {
  fromHash(); writeControls(); render();
  var target = state.open.length ? document.getElementById("t-" + state.open[state.open.length - 1])
    : scroll ? document.getElementById("tests") : null;
  function go() {       // bring the test (or the list) into view unless its top already is
    var top = target.getBoundingClientRect().top;
    if (top < form.offsetHeight || top > window.innerHeight * 0.7) {
      target.scrollIntoView({block: "start"});
    }
  }
  if (target) {
    if (document.readyState === "complete") go(); else window.addEventListener("load", go);
  }
}
window.addEventListener("hashchange", function () { fromLocation(true); });
window.addEventListener("resize", function () {
  document.documentElement.style.setProperty("--bar", form.offsetHeight + "px"); });
fromLocation(false);
// when the list was ready (from navigation start), and how much of that was this script
document.documentElement.dataset.readyMs = performance.now().toFixed(1);
document.documentElement.dataset.scriptMs = (performance.now() - started).toFixed(1);
})();
"""
