#!/usr/bin/env python3
"""Checks a per-run report folder (`trading-post run|sim --report DIR`): every file is there and
parses. With --browser CHROMIUM it also renders index.html headless and checks that the page
loaded without a script error and that every image shows (the page marks <body data-images>).

  report_check.py DIR [--story] [--no-plots] [--browser CHROMIUM]
"""
import html.parser
import json
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

PNG = b"\x89PNG\r\n\x1a\n"
PLOTS = ["latency.png", "latency-cdf.png", "messages.png"]


def fail(why):
    print(f"FAIL: {why}", file=sys.stderr)
    sys.exit(1)


class Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src"))


def main():
    args = sys.argv[1:]
    if not args:
        fail("usage: report_check.py DIR [--story] [--no-plots] [--browser CHROMIUM]")
    d = pathlib.Path(args[0])
    story = "--story" in args
    plots = "--no-plots" not in args
    browser = args[args.index("--browser") + 1] if "--browser" in args else None

    for name in ["index.html", "summary.txt", "summary.json", "shiviz.log", "diagram.svg",
                 "latency.csv", "latency-cdf.csv", "messages.csv", "markers.csv"]:
        p = d / name
        if not p.is_file() or p.stat().st_size == 0:
            fail(f"{p} is missing or empty")

    summary = json.loads((d / "summary.json").read_text())
    for key in ["seed", "requests", "traders", "failures", "returns", "messages", "plots"]:
        if key not in summary:
            fail(f"summary.json has no '{key}'")
    if summary["messages_total"] != sum(summary["messages"].values()) or not summary["messages"]:
        fail(f"summary.json's message counts do not add up: {summary['messages']}")
    if "messages" not in (d / "summary.txt").read_text():
        fail("summary.txt has no message counts")

    # Well-formed XML, and an SVG at that.
    svg = ET.parse(d / "diagram.svg").getroot()
    if not svg.tag.endswith("svg") or not svg.get("width") or not svg.get("height"):
        fail("diagram.svg is not an SVG with a size")
    ET.parse(d / "index.html")
    page = Images()
    page.feed((d / "index.html").read_text())
    for src in page.images:
        if not (d / src).is_file():
            fail(f"index.html shows {src}, which is not in the folder")
        if "://" in src or src.startswith("/"):
            fail(f"index.html refers to {src}: not a relative path")

    # ShiViz's loader: the regex on the first line, the delimiter on the second, then events.
    lines = (d / "shiviz.log").read_text().split("\n")
    if "(?<host>" not in lines[0] or lines[1] != "" or not re.match(r"\S+ \{.*\}$", lines[2]):
        fail("shiviz.log does not start with the parser regex and the delimiter line")

    for name in PLOTS:
        p = d / name
        missing = summary["plots"].get(name)
        if plots:
            if missing is not None:
                fail(f"{name} was not drawn: {missing}")
            if not p.is_file() or p.read_bytes()[:8] != PNG or p.stat().st_size < 1000:
                fail(f"{name} is not a PNG")
            if name not in page.images:
                fail(f"index.html does not show {name}")
        elif missing is None:
            fail(f"{name} is said to be drawn")
        elif name in page.images or "Not drawn" not in (d / "index.html").read_text():
            fail(f"index.html does not say that {name} is missing")

    if story:
        # The default run's story: the trader failed, another was elected, it came back and traded.
        f = summary["failures"]
        if len(f) != 1 or not f[0]["was_trader"]:
            fail(f"not one failure of the trader: {f}")
        if len(summary["traders"]) < 2 or summary["traders"][1]["peer"] == f[0]["peer"]:
            fail(f"no other trader elected: {summary['traders']}")
        r = summary["returns"]
        if len(r) != 1 or r[0]["peer"] != f[0]["peer"] or not r[0]["traded"]:
            fail(f"the old trader did not come back and trade: {r}")
        if not summary["checks_ok"]:
            fail(f"the checks failed: {summary['violations']}")

    if browser:
        url = (d / "index.html").resolve().as_uri()
        out = subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox",
                              "--virtual-time-budget=5000", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120)
        body = re.search(r"<body[^>]*>", out.stdout)
        if out.returncode != 0 or not body:
            fail(f"{browser} did not render {url}: {out.stderr[-2000:]}")
        if "data-errors" in body.group(0):
            fail(f"the page had a script error: {body.group(0)}")
        want = f'data-images="ok {len(page.images)}"'
        if want not in body.group(0):
            fail(f"not every image shows in {browser} ({body.group(0)}; expected {want})")
        print(f"ok: {browser} shows all {len(page.images)} images of {url}")
    print(f"ok: {d} has every file, and each parses")


main()
