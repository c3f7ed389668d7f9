#!/usr/bin/env python3
"""The visual report, checked for real (docs/report.md).

Runs report_workload with SVM_TRACE, SVM_PROFILE=json and SVM_REPORT, makes
the same report from the trace with svm-report, then for each HTML file:
  - the data in it: its svm_stats equal the program's, all devices and each;
    the counts it made from the events equal them too;
  - in headless Chromium: the page's script finished (report-status
    data-state="ok"), no console message at all (the page logs nothing, so
    any line is an error), and the numbers shown in the DOM (data-stat,
    data-derived cells) equal the program's svm_stats;
  - driven over the DevTools pipe: hover and click on the residency map and
    the timeline fill the tooltip and the details panel, a column header
    sorts the range table both ways; pages of no events and of a trace
    without final stats render too;
  - a screenshot, kept in OUTDIR for a look (a CI artifact).
Without Chromium the data checks still run, then it says SKIP.

Usage: check_report.py WORKLOAD SVM_REPORT OUTDIR"""
import html.parser, json, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser

exe, svm_report, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
trace, prof, stats_f = (os.path.join(out, n) for n in ("trace.json", "profile.json", "stats.json"))
rt_html, tool_html = os.path.join(out, "report.html"), os.path.join(out, "report-from-trace.html")
for p in (trace, prof, stats_f, rt_html, tool_html):
    if os.path.exists(p):
        os.remove(p)

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

env = dict(os.environ, SVM_BACKEND="user", SVM_USER_DEVICES="2", SVM_USER_DEVICE_MEMORY="1M",
           SVM_GRANULARITY="4K", SVM_TRACE=trace, SVM_PROFILE="json:" + prof,
           SVM_REPORT=rt_html, SVM_PROFILE_CALLSITES="1",
           SVM_INJECT="class=busy,percent=30,seed=5,direction=to-device",
           SVM_RETRY_ROUNDS="1")  # one retry round: some pages stay BUSY for sure
res = subprocess.run([exe, stats_f], env=env)
if res.returncode == 77:
    sys.exit(77)
if res.returncode:
    fail("report_workload exited with %d" % res.returncode)
res = subprocess.run([svm_report, "-p", prof, "-o", tool_html, trace])
if res.returncode:
    fail("svm-report exited with %d" % res.returncode)
want = json.load(open(stats_f))
ndev = len(want["devices"])

def stat(s, f):
    m = re.match(r"failures_by\.(\d)$", f)
    return s["failures_by"][int(m.group(1))] if m else s[f]

FIELDS = [k for k in want["total"] if k != "failures_by"] + \
         ["failures_by.%d" % c for c in range(1, 5)]
DERIVED = ["cpu_faults", "device_faults", "pages_to_device", "pages_to_host", "retries",
           "evictions", "thrash_events", "read_duplicates", "remote_accesses", "prefetches",
           "launches"] + ["failures_by.%d" % c for c in range(1, 5)] + \
          ["prefetched_pages", "prefetched_evicted", "thrash_holds"]
for f in ("device_faults", "cpu_faults", "evictions", "retries", "read_duplicates",
          "remote_accesses", "thrash_events", "failures_by.1", "failures_by.2"):
    if stat(want["total"], f) == 0:
        fail("the workload made no %s; the check proves nothing" % f)

def data_of(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="svm-data">(.*?)</script>', text, re.S)
    if not m:
        fail("%s: no svm-data element" % path)
    return json.loads(m.group(1))

# the runtime's report and svm-report's from the trace: the same page
same = [data_of(p) for p in (rt_html, tool_html)]
for d in same:
    d.pop("source")
if same[0] != same[1]:
    diff = [k for k in same[0] if same[0][k] != same[1].get(k)]
    fail("SVM_REPORT's page and svm-report's differ in %s" % diff)
checked = 0
for path in (rt_html, tool_html):
    d = data_of(path)
    if d["dropped"]:
        fail("%s: events dropped in a small run" % path)
    for f in FIELDS:
        if stat(d["stats"]["total"], f) != stat(want["total"], f):
            fail("%s: stats %s is %s, svm_stats %s" % (path, f, stat(d["stats"]["total"], f),
                                                       stat(want["total"], f)))
        for i in range(ndev):
            if stat(d["stats"]["devices"][i], f) != stat(want["devices"][i], f):
                fail("%s: device %d %s differs from svm_device_stats" % (path, i, f))
        checked += 1 + ndev
    for f in DERIVED:
        if stat(d["derived"]["total"], f) != stat(want["total"], f):
            fail("%s: %s made from the events is %s, svm_stats %s" %
                 (path, f, stat(d["derived"]["total"], f), stat(want["total"], f)))
    if len(d["ranges"]) != 4 or sum(1 for r in d["ranges"] if "cells" in r) != 4:
        fail("%s: %d ranges, not the workload's 4" % (path, len(d["ranges"])))
    if not all(re.match(r"\w+\+0x[0-9a-f]+$", r["site"]) for r in d["ranges"]):
        fail("%s: no call site with SVM_PROFILE_CALLSITES=1" % path)
    pinned = [r for r in d["ranges"] if r["failed"][0]]
    if len(pinned) != 1 or pinned[0]["failed"][0] != stat(want["total"], "failures_by.1"):
        fail("%s: the pinned range's failures are not the svm_stats count" % path)
print("data: %d numbers of svm_stats and %d event counts agree in both reports" %
      (checked, 2 * len(DERIVED)))

chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
if not chromium:
    print("SKIP: chromium not found (scripts/install-deps.sh installs it); "
          "the data checks above passed")
    sys.exit(77)

class Dom(html.parser.HTMLParser):
    """Collects the attributes of the elements the checks look at, and their text."""
    def __init__(self):
        super().__init__()
        self.cells, self.status, self.note, self.heat, self.rows = [], None, None, 0, 0
        self.open = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") == "report-status":
            self.status = a
        if a.get("id") == "derived-note":
            self.note = a
        if tag == "div" and a.get("class") == "heat":
            self.heat += 1
        if tag == "tr" and "data-range" in a:
            self.rows += 1
        if tag == "td" and ("data-stat" in a or "data-derived" in a):
            self.open = [a, ""]
            self.cells.append(self.open)
    def handle_data(self, data):
        if self.open:
            self.open[1] += data
    def handle_endtag(self, tag):
        if tag == "td":
            self.open = None

def browse(args, timeout=60):
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr",
               "--user-data-dir=" + profile] + args
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return r, time.time() - t0

# edge cases render too: no events at all, a trace without final stats
empty_json, empty_html = os.path.join(out, "empty.json"), os.path.join(out, "empty.html")
old_json, old_html = os.path.join(out, "old.json"), os.path.join(out, "old.html")
open(empty_json, "w").write("{}")
t = json.load(open(trace))
del t["otherData"]["stats"]
json.dump(t, open(old_json, "w"))
for src, dst in ((empty_json, empty_html), (old_json, old_html)):
    if subprocess.run([svm_report, "-o", dst, src], stdout=subprocess.DEVNULL).returncode:
        fail("svm-report failed on %s" % src)

for path in (rt_html, tool_html):
    r, secs = browse(["--dump-dom", "file://" + os.path.abspath(path)])
    console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    if r.returncode or console:
        fail("%s: chromium exited %d; console: %s" % (path, r.returncode, console or
                                                     r.stderr[-2000:]))
    dom = Dom()
    dom.feed(r.stdout)
    if not dom.status or dom.status.get("data-state") != "ok":
        fail("%s: the page's script did not finish: %r" % (path, dom.status))
    if not dom.note or dom.note.get("data-mismatches") != "0":
        fail("%s: the page says its event counts differ from svm_stats" % path)
    shown = 0
    for a, text in dom.cells:
        dev = a["data-dev"]
        s = want["total"] if dev == "total" else want["devices"][int(dev)]
        f = a.get("data-stat") or a.get("data-derived")
        if int(text) != stat(s, f):
            fail("%s: the page shows %s = %s for %s, svm_stats says %s" %
                 (path, f, text, dev, stat(s, f)))
        shown += 1
    if shown != len(FIELDS) * (ndev + 1) + len(DERIVED):
        fail("%s: %d numbers in the page, expected %d" %
             (path, shown, len(FIELDS) * (ndev + 1) + len(DERIVED)))
    if dom.heat != 4 or dom.rows != 4:
        fail("%s: %d heat maps and %d range rows, expected 4 and 4" % (path, dom.heat, dom.rows))
    print("%s: rendered in %.1f s, %d numbers shown equal svm_stats, no console output" %
          (os.path.basename(path), secs, shown))

# hover and click, driven like a person would (DevTools input events)
d = data_of(rt_html)
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
    b = Browser(chromium, profile, fail)
    try:
        s = b.open("file://" + os.path.abspath(rt_html))
        end = time.time() + 30
        while b.eval(s, "document.getElementById('report-status')?.dataset.state") != "ok":
            if time.time() > end:
                fail("the page did not finish in the driven browser")
            time.sleep(0.1)
        def rect(sel):
            r = b.eval(s, "(() => { const e = document.querySelector(%s); e.scrollIntoView("
                       "{block: 'center'}); const r = e.getBoundingClientRect(); return "
                       "[r.left, r.top, r.width, r.height]; })()" % json.dumps(sel))
            if not r:
                fail("no %s in the page" % sel)
            return r
        def text(sel):
            return b.eval(s, "document.querySelector(%s).textContent" % json.dumps(sel))
        busiest = max((r for r in d["ranges"] if "cells" in r), key=lambda r: r["moved"])
        x, y, w, h = rect("#heat-%d canvas" % busiest["id"])
        b.mouse(s, "mouseMoved", x + w / 2, y + h / 2)
        tip = text("#tip")
        if b.eval(s, "getComputedStyle(document.getElementById('tip')).display") != "block" or \
                not re.search(r"0x[0-9a-f]+ - 0x[0-9a-f]+\n.* - .*\n", tip):
            fail("hovering the residency map shows no details: %r" % tip)
        b.mouse(s, "click", x + w / 2, y + h / 2)
        det = text("#details")
        if not det.startswith("range %d " % busiest["id"]):
            fail("clicking the residency map shows no details: %r" % det[:200])
        # the timeline: the first row (as the page sorts them) and its first busy bin
        lanes = sorted(d["timeline"]["lanes"], key=lambda l: (l["loc"], l["kind"]))
        row = next(i for i, l in enumerate(lanes) if l["kind"] == 1) # device faults
        col = next(i for i, v in enumerate(lanes[row]["v"]) if v)
        x, y, w, h = rect("#timeline-canvas")
        b.mouse(s, "click", x + 230 + col + 0.5, y + row * 16 + 8)
        det = text("#details")
        if "device faults" not in det.splitlines()[0] or "device fault " not in det:
            fail("clicking a timeline bin does not list its device faults: %r" % det[:300])
        # sorting the range table by a column, both ways
        for want_order in (-1, 1):
            b.eval(s, "document.querySelector('th[data-key=device_faults]').click()")
            col = b.eval(s, "[...document.querySelectorAll('#ranges-table td"
                            "[data-col=device_faults]')].map(e => +e.textContent)")
            if col != sorted(col, reverse=want_order < 0) or len(col) != len(d["ranges"]):
                fail("sorting the ranges by device faults gave %s" % col)
        if b.eval(s, "document.getElementById('report-status').dataset.state") != "ok":
            fail("an error after the clicks: %s" %
                 b.eval(s, "document.getElementById('report-status').dataset.error"))
        # edge cases render too (in the same browser: each start costs seconds)
        for page in (empty_html, old_html):
            s = b.open("file://" + page)
            end = time.time() + 30
            while b.eval(s, "document.getElementById('report-status')?.dataset.state") \
                    in (None, "loading"):
                if time.time() > end:
                    fail("%s did not finish" % page)
                time.sleep(0.1)
            st = b.eval(s, "JSON.stringify(document.getElementById('report-status').dataset)")
            if json.loads(st).get("state") != "ok":
                fail("%s does not render cleanly: %s" % (page, st))
    finally:
        b.close()
print("hover and click on the residency map and the timeline show details; the table sorts;")
print("a report of no events and one without final stats render cleanly")

png = os.path.join(out, "report.png")
if os.path.exists(png):
    os.remove(png)
r, _ = browse(["--screenshot=" + png, "--window-size=1300,2200", "file://" + rt_html])
if r.returncode or not os.path.exists(png) or open(png, "rb").read(8) != b"\x89PNG\r\n\x1a\n":
    fail("no screenshot: %s" % r.stderr[-2000:])
print("screenshot: %s (%d bytes)" % (png, os.path.getsize(png)))
print("PASS")
