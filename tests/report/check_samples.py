#!/usr/bin/env python3
"""samples/thrash and samples/pinned make reports in which the ping-pong and
the pinned range are plain to see (issue 16), checked on the residency map
the page draws (its data; no browser needed):
  thrash 2 8: in both arrays every block row switches between host and
    device 0 at least four times (two round trips: the time buckets are
    1/240 of the run, so on a loaded machine or under a sanitizer several
    quick rounds can share one; an idle run shows all 16), thrash marks
    are there, and then the advice shows: read duplicates in the table,
    in-place cells in the results;
  pinned: the pinned buffer is pinned (on the host) in nearly every cell
    of its life and never on the device; the work buffer reaches device 0.
Usage: check_samples.py THRASH PINNED OUTDIR"""
import collections, json, os, re, subprocess, sys

thrash, pinned, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
ROUNDS = 16

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

def report(exe, args, name, **more):
    page = os.path.join(out, name + ".html")
    if os.path.exists(page):
        os.remove(page)
    env = dict(os.environ, SVM_BACKEND="user", SVM_REPORT=page, SVM_PROFILE_CALLSITES="1",
               **more)
    r = subprocess.run([exe] + args, env=env, stdout=subprocess.DEVNULL)
    if r.returncode == 77:
        sys.exit(77)
    if r.returncode:
        fail("%s exited %d" % (name, r.returncode))
    m = re.search(r'id="svm-data">(.*?)</script>', open(page).read(), re.S)
    d = json.loads(m.group(1))
    hb = d["heat"]["buckets"]
    drawn = sorted((r for r in d["ranges"] if "cells" in r), key=lambda r: r["start"])
    report.data = d
    for r in drawn:
        r["rows"] = [r["cells"][b * hb:(b + 1) * hb] for b in range(r["blocks"])]
        r["count"] = collections.Counter(r["cells"])
        r["thrash_cells"] = sum(1 for i in range(0, len(r["marks"]), 2)
                                if int(r["marks"][i:i + 2], 16) & 0x08)
    return drawn

def switches(row, states="hA"):
    seq = [c for c in row if c in states]
    return sum(1 for a, b in zip(seq, seq[1:]) if a != b)

table, results = report(thrash, ["2", str(ROUNDS)], "thrash")
for name, r, advised in (("table", table, "d"), ("results", results, "p")):
    least = min(switches(row) for row in r["rows"])
    print("thrash: %-7s every block row switches host/device at least %d times, %d thrash "
          "cells, %d %s cells" % (name, least, r["thrash_cells"], r["count"][advised],
                                  "read-duplicate" if advised == "d" else "in-place"))
    if least < 4:
        fail("the %s's ping-pong is not on the map: a row switches only %d times in %d "
             "rounds" % (name, least, ROUNDS))
    if r["thrash_cells"] < r["blocks"] * 2:
        fail("too few thrash marks on the %s: %d" % (name, r["thrash_cells"]))
    if r["count"][advised] < r["blocks"]:
        fail("the advice does not show on the %s" % name)

net, work = report(pinned, [], "pinned")
alive = sum(v for k, v in net["count"].items() if k != "-")
print("pinned: the network buffer is pinned in %d of its %d cells, on device 0 in %d; the "
      "work buffer on device 0 in %d" % (net["count"]["P"], alive, net["count"]["A"],
                                         work["count"]["A"]))
if net["count"]["P"] < 0.9 * alive or net["count"]["A"]:
    fail("the pinned buffer is not plain to see")
if not work["count"]["A"] or work["count"]["P"]:
    fail("the work buffer should move to device 0 and never be pinned")
# a ring too small for the run: the allocations' alloc events are lost, their
# frees are not; the map still knows both arrays and every event's place
small = report(thrash, ["2", str(ROUNDS)], "thrash-small-ring", SVM_TRACE_EVENTS="1024")
d = report.data
print("small ring: %d events dropped, %d allocations drawn, %d events outside them" %
      (d["dropped"], len(small), d["unattributed"]))
if not d["dropped"] or len(small) != 2 or d["unattributed"]:
    fail("with a small ring the allocations are not known")
print("PASS")
