#!/usr/bin/env python3
"""A report of a million events: svm-report's time, the HTML's size bound
(docs/report.md: it depends on the ranges drawn, not on the events), and in
headless Chromium the page's own render time, its status, and its count
check against the stats in the trace. Without Chromium the first two run,
then SKIP. Usage: check_large.py GEN_TRACE SVM_REPORT OUTDIR"""
import os, re, shutil, subprocess, sys, tempfile, time

gen, svm_report, out = sys.argv[1], sys.argv[2], sys.argv[3]
EVENTS, HTML_BOUND = 1000000, 16 << 20
os.makedirs(out, exist_ok=True)
trace, page = os.path.join(out, "large.json"), os.path.join(out, "large.html")

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

try:
    if subprocess.run([gen, str(EVENTS), trace]).returncode:
        fail("gen_trace failed")
    t0 = time.time()
    r = subprocess.run([svm_report, "-o", page, trace], capture_output=True, text=True)
    secs = time.time() - t0
    if r.returncode:
        fail("svm-report exited %d: %s" % (r.returncode, r.stderr))
    m = re.search(r"(\d+) events", r.stdout)
    if not m or int(m.group(1)) < EVENTS - 20:
        fail("svm-report read %s events" % (m.group(1) if m else "no"))
    size = os.path.getsize(page)
    print("svm-report: %s events of a %.0f MB trace in %.1f s -> %.2f MB of HTML (bound %d MB)"
          % (m.group(1), os.path.getsize(trace) / 1e6, secs, size / 1e6, HTML_BOUND >> 20))
    if size > HTML_BOUND:
        fail("the report is %d bytes, over its bound" % size)
finally:
    if os.path.exists(trace):
        os.remove(trace) # 190 MB: not kept

chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
if not chromium:
    print("SKIP: chromium not found (scripts/install-deps.sh installs it); size and "
          "svm-report time were checked")
    sys.exit(77)
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as prof:
    t0 = time.time()
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-extensions", "--enable-logging=stderr",
                        "--user-data-dir=" + prof, "--dump-dom", "file://" + page],
                       capture_output=True, text=True, timeout=120)
    wall = time.time() - t0
console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
if r.returncode or console:
    fail("chromium exited %d; console: %s" % (r.returncode, console or r.stderr[-2000:]))
st = re.search(r'id="report-status" data-state="(\w+)" data-render-ms="(\d+)"', r.stdout)
note = re.search(r'id="derived-note" data-mismatches="(\d+)"', r.stdout)
if not st or st.group(1) != "ok":
    fail("the page did not finish: %s" % (st.group(0) if st else "no status"))
if not note or note.group(1) != "0":
    fail("the page's counts from the events differ from the trace's stats")
print("chromium: page script %s ms, whole headless run %.1f s; status ok, counts agree"
      % (st.group(2), wall))
if int(st.group(2)) > 20000:
    fail("the page took over 20 s to draw")
print("PASS")
