#!/usr/bin/env python3
"""The SVM_TRACE file opens in a real trace viewer that runs offline:
speedscope (from the npm registry; it imports Chrome Trace Event JSON),
driven in headless Chromium over the DevTools protocol (a pipe, no network).

It runs a workload with SVM_TRACE, loads the file the way speedscope's own
command line does (index.html#localProfilePath=a script that hands it the
file), waits until speedscope says it imported a Trace Event Format
profile, presses its Export button and reads the file speedscope writes:
the events in it (one open per complete event) must be exactly the trace's
"X" events, thread by thread. Speedscope draws spans only: the trace's
instant events (retry, failure, pinned range ...) are not in its model, and
this check counts them out on both sides.

speedscope is looked for in $SPEEDSCOPE_DIR, then in CACHE (npm install
--prefix CACHE speedscope@VERSION, done here when npm can reach the
registry). Without chromium or speedscope: SKIP with the reason.
Usage: check_speedscope.py WORKLOAD CACHE OUTDIR"""
import base64, collections, json, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser

VERSION = "1.25.0"
exe, cache, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)

chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
if not chromium:
    skip("chromium not found (scripts/install-deps.sh installs it)")
dist = None
for base in (os.environ.get("SPEEDSCOPE_DIR"), os.path.join(cache, "node_modules", "speedscope")):
    if base and os.path.exists(os.path.join(base, "dist", "release", "index.html")):
        dist = os.path.join(base, "dist", "release")
        break
if not dist:
    npm = shutil.which("npm")
    if not npm:
        skip("speedscope not in %s and no npm to fetch it (apt-get install npm)" % cache)
    r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", cache,
                        "speedscope@" + VERSION], capture_output=True, text=True, timeout=300)
    dist = os.path.join(cache, "node_modules", "speedscope", "dist", "release")
    if r.returncode or not os.path.exists(os.path.join(dist, "index.html")):
        skip("npm could not fetch speedscope@%s (offline?): %s" % (VERSION, r.stderr[-300:]))

trace = os.path.join(out, "trace.json")
if os.path.exists(trace):
    os.remove(trace)
env = dict(os.environ, SVM_BACKEND="user", SVM_USER_DEVICES="2", SVM_USER_DEVICE_MEMORY="1M",
           SVM_GRANULARITY="4K", SVM_TRACE=trace,
           SVM_INJECT="class=busy,percent=30,seed=5,direction=to-device")
r = subprocess.run([exe, os.path.join(out, "stats.json")], env=env)
if r.returncode == 77:
    sys.exit(77)
if r.returncode:
    fail("the workload exited %d" % r.returncode)
t = json.load(open(trace))
want, zero = collections.Counter(), 0
for e in t["traceEvents"]:
    if e["ph"] == "X" and e["dur"] > 0:
        want[(e["pid"], e["tid"])] += 1
    zero += e["ph"] == "X" and e["dur"] == 0
if zero: # speedscope leaves spans of no length out; svmrt should write none
    fail("the trace has %d complete events of zero length" % zero)
loader = os.path.join(out, "load-trace.js")
with open(loader, "w") as f: # what speedscope's cli.mjs writes for a file
    f.write("speedscope.loadFileFromBase64(%s, %s)\n" % (
        json.dumps("trace.json"), json.dumps(base64.b64encode(open(trace, "rb").read()).decode())))


downloads = tempfile.mkdtemp(prefix="speedscope-dl-", dir=out)
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
    b = Browser(chromium, profile, fail)
    try:
        url = "file://%s/index.html#localProfilePath=%s" % (dist, loader)
        target = b.call("Target.createTarget", url="about:blank")["targetId"]
        s = b.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        b.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=downloads)
        b.call("Page.enable", session=s)
        b.call("Runtime.enable", session=s)
        b.call("Page.navigate", session=s, url=url)
        def ev(expr):
            r = b.call("Runtime.evaluate", session=s, expression=expr, returnByValue=True)
            return r.get("result", {}).get("value")
        end, state = time.time() + 60, None
        while time.time() < end: # imported: the title names the file, the toolbar has Export
            state = ev("document.title + '|' + [...document.querySelectorAll('div')]"
                       ".some(d => d.textContent.trim().endsWith('Export'))")
            if state and state.startswith("trace.json - speedscope|true"):
                break
            time.sleep(0.2)
        else:
            fail("speedscope did not show the trace (state %r)" % state)
        clicked = ev("(() => { const d = [...document.querySelectorAll('div')].filter("
                     "x => x.children.length <= 2 && x.textContent.trim().endsWith('Export'));"
                     " if (!d.length) return false; d[d.length - 1].click(); return true; })()")
        if not clicked:
            fail("no Export button in speedscope's toolbar")
        end, files = time.time() + 60, []
        while time.time() < end:
            files = [f for f in os.listdir(downloads) if not f.endswith(".crdownload")]
            if files:
                break
            time.sleep(0.2)
        if not files:
            fail("speedscope's export did not arrive")
    finally:
        b.close()
exported = json.load(open(os.path.join(downloads, files[0])))
got = collections.Counter()
for p in exported["profiles"]:
    opens = sum(1 for e in p.get("events", []) if e.get("type") == "O")
    # the profile's name is "<process name> (pid P, tid T)"
    name = p.get("name", "")
    tid = int(name.rsplit("tid ", 1)[1].rstrip(")")) if "tid " in name else None
    got[tid] += opens
mine = collections.Counter()
for (pid, tid), n in want.items():
    mine[tid] += n
print("speedscope %s imported %d threads, %d complete events; the trace has %d threads, %d"
      % (VERSION, len(got), sum(got.values()), len(mine), sum(mine.values())))
if got != mine:
    fail("per thread, speedscope %s, the trace %s" % (dict(got), dict(mine)))
shutil.rmtree(downloads)
print("PASS")
