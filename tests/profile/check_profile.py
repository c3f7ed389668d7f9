#!/usr/bin/env python3
"""Runs test_profile with SVM_TRACE and SVM_PROFILE=json, then checks that
the trace is Chrome Trace Event JSON with the fields Perfetto needs, that
its event counts agree with svm_stats, and that the profile JSON follows
docs/profiling.md. Usage: check_profile.py <test_profile binary> <workdir>"""
import json, os, subprocess, sys

exe, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
trace, prof, stats = (os.path.join(work, n) for n in ("trace.json", "profile.json", "stats.json"))
for p in (trace, prof, stats):
    if os.path.exists(p):
        os.remove(p)
env = dict(os.environ, SVM_BACKEND="user", SVM_GRANULARITY="4K", SVM_USER_DEVICE_MEMORY="1M",
           SVM_TRACE=trace, SVM_PROFILE="json:" + prof,
           SVM_INJECT="class=busy,percent=40,seed=3,direction=to-device")
res = subprocess.run([exe, stats], env=env)
if res.returncode == 77:
    sys.exit(77)
if res.returncode:
    sys.exit("test_profile failed with %d" % res.returncode)

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

t = json.load(open(trace))
s = json.load(open(stats))
p = json.load(open(prof))
events = t["traceEvents"]
if t["otherData"]["dropped_events"] != 0:
    fail("events dropped in a small run")
for e in events:
    for k in ("name", "ph", "pid", "tid"):
        if k not in e:
            fail("event without %s: %r" % (k, e))
    if e["ph"] == "M":
        continue
    if not isinstance(e.get("ts"), (int, float)):
        fail("event without a numeric ts: %r" % e)
    if e["ph"] == "X" and not isinstance(e.get("dur"), (int, float)):
        fail("complete event without dur: %r" % e)
    if e["ph"] not in ("X", "i"):
        fail("unexpected phase %r" % e["ph"])

def count(name):
    return sum(1 for e in events if e["name"] == name)

def pages(name, cls=None):
    return sum(e["args"]["pages"] for e in events
               if e["name"] == name and (cls is None or e["args"].get("class") == cls))

checks = [
    ("cpu fault events", count("cpu fault"), s["cpu_faults"]),
    ("device fault events", count("device fault"), s["device_faults"]),
    ("launch events", count("launch"), s["launches"]),
    ("prefetch events", count("prefetch"), s["prefetches"]),
    ("retry events", count("retry"), s["retries"]),
    ("evicted pages", pages("evict"), s["evictions"]),
    ("busy failures", pages("failure", "busy"), s["failures"][2]),
]
for what, got, want in checks:
    print("%-20s trace %6d  svm_stats %6d" % (what, got, want))
    if got != want:
        fail("%s: trace has %d, svm_stats %d" % (what, got, want))
for what, got in (("device faults", s["device_faults"]), ("evictions", s["evictions"]),
                  ("retries", s["retries"])):
    if got == 0:
        fail("the workload made no %s; the check proves nothing" % what)

if p.get("schema") != "svmrt-profile-1":
    fail("profile schema is %r" % p.get("schema"))
for k in ("backend", "seconds", "devices", "total", "top_ranges"):
    if k not in p:
        fail("profile without %s" % k)
d0 = p["devices"][0]
for k in ("cpu_faults", "device_faults", "pages_to_device", "pages_to_host", "retries",
          "failures", "evictions", "read_duplicates", "thrash_events", "fault_service_ns"):
    if k not in d0:
        fail("profile device without %s" % k)
if p["total"]["device_faults"] != s["device_faults"]:
    fail("profile total device_faults %d, svm_stats %d" % (p["total"]["device_faults"],
                                                          s["device_faults"]))
fs = d0["fault_service_ns"]
if not (0 < fs["p50"] <= fs["p99"] <= 2 * fs["max"] + 1):
    fail("fault service percentiles out of order: %r" % fs)
print("%d trace events, profile and trace agree with svm_stats" % len(events))
