#!/usr/bin/env python3
"""svm-report against bad trace files: truncated at many places, garbage,
hostile nesting and values out of range. Each must end with exit status 1
and one "svm-report: FILE: ..." line (no signal, no report written); the
good file and a few odd but valid ones must work. Where valgrind is
installed a sample of the bad files also runs under memcheck.
Usage: check_bad_input.py GEN_TRACE SVM_REPORT OUTDIR"""
import json, os, random, re, shutil, subprocess, sys

gen, svm_report, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
good = os.path.join(out, "good.json")
if subprocess.run([gen, "400", good], stdout=subprocess.DEVNULL).returncode:
    sys.exit("FAIL: gen_trace")
text = open(good, "rb").read()
failures = []

def run(name, data, want_ok, memcheck=False):
    path = os.path.join(out, name + ".json")
    html = os.path.join(out, name + ".html")
    open(path, "wb").write(data)
    if os.path.exists(html):
        os.remove(html)
    cmd = [svm_report, "-o", html, path]
    if memcheck:
        cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
               "--errors-for-leak-kinds=definite"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=60)
    ok = r.returncode == 0
    if want_ok:
        if not ok or not os.path.exists(html):
            failures.append("%s: should work, exit %d: %s" % (name, r.returncode, r.stderr))
    elif r.returncode != 1 or not r.stderr.startswith("svm-report: " + path + ": ") or \
            os.path.exists(html):
        failures.append("%s: exit %d (want 1 with a message), stderr %r" %
                        (name, r.returncode, r.stderr[-300:]))
    return r.stderr.strip()

run("good", text, True)
run("empty-object", b"{}", True)
run("huge-alloc", b'{"traceEvents":[{"name":"alloc","ts":1,"args":{"addr":"0x1000",'
    b'"pages":1099511627776}},{"name":"move","ph":"i","ts":2,"args":{"addr":"0x1000",'
    b'"pages":1099511627776,"src":"host","dst":"device 0"}}]}', True)
run("unknown-keys", b'{"x":[1,{"y":null}],"traceEvents":[{"name":"something new","ph":"i",'
    b'"ts":1}],"otherData":{"z":true}}', True)
# truncated: 60 cut points spread over the file, and the first 40 bytes one by one
cuts = sorted(set(list(range(0, 40)) + [len(text) * k // 60 for k in range(1, 60)] +
                  [len(text.rstrip()) - k for k in (1, 2, 3)]))
for c in cuts:
    run("cut-%d" % c, text[:c], False)
rnd = random.Random(16)
for k in range(20):
    run("garbage-%d" % k, bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4096))), False)
for k in range(20): # the good file with a few bytes changed: valid or not, never a crash
    b = bytearray(text)
    for _ in range(3):
        b[rnd.randrange(len(b))] = rnd.choice(b'{}[]",:0x-e\\\x00\xff')
    path = os.path.join(out, "flip-%d.json" % k)
    open(path, "wb").write(b)
    r = subprocess.run([svm_report, "-o", os.path.join(out, "flip-%d.html" % k), path],
                       capture_output=True, text=True, errors="replace", timeout=60)
    if r.returncode not in (0, 1) or (r.returncode == 1 and "svm-report: " not in r.stderr):
        failures.append("flip-%d: exit %d %r" % (k, r.returncode, r.stderr[-300:]))
ev = b'{"traceEvents":[{"name":"move","ph":"X","ts":%s,"dur":1,"tid":1,"args":{%s}}]}'
hostile = {
    "array-top": b"[]", "null-top": b"null", "trailing": text + b"x",
    "deep-args": ev % (b"1", b'"a":' + b"[" * 100000),
    "deep-top": b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}",
    "event-not-object": b'{"traceEvents":[[1]]}',
    "no-name": b'{"traceEvents":[{"ts":1}]}',
    "no-ts": b'{"traceEvents":[{"name":"move"}]}',
    "negative-ts": ev % (b"-5", b""),
    "huge-ts": ev % (b"1e300", b""),
    "nan-ts": ev % (b"NaN", b""),
    "bad-location": ev % (b"1", b'"dst":"device 99"'),
    "bad-addr": ev % (b"1", b'"addr":"12zz"'),
    "decimal-addr": ev % (b"1", b'"addr":"4096"'),
    "huge-pages": ev % (b"1", b'"pages":1e30'),
    "fraction-pages": ev % (b"1", b'"pages":1.5'),
    "bad-class": b'{"traceEvents":[{"name":"failure","ts":1,"args":{"class":"weird"}}]}',
    "bad-escape": b'{"traceEvents":[{"name":"mo\\qve","ts":1}]}',
    "control-char": b'{"traceEvents":[{"name":"mo\x01ve","ts":1}]}',
    "short-unicode": b'{"a":"\\u12"}',
    "many-devices": b'{"otherData":{"devices":[' + b",".join([b'"d"'] * 17) + b']}}',
    "many-failures": b'{"otherData":{"stats":{"total":{"failures_by":[1,2,3,4,5,6]}}}}',
    "bad-range-start": b'{"otherData":{"ranges":[{"start":"zz","pages":1}]}}',
    "unterminated-string": b'{"traceEvents":[{"name":"move',
}
for name, data in hostile.items():
    msg = run(name, data, False)
    print("%-18s %s" % (name, msg.splitlines()[0] if msg else ""))
# a trace from before svmrt put its final svm_stats in it: no summary, or
# the counters of the SVM_PROFILE JSON given with -p
old = json.loads(text)
del old["otherData"]["stats"]
open(os.path.join(out, "old.json"), "w").write(json.dumps(old))
block = {"name": "device 0 (x)", "cpu_faults": 5, "device_faults": 6, "pages_to_device": 7,
         "pages_to_host": 8, "retries": 9, "evictions": 10, "thrash_events": 11,
         "failures": {"pinned": 1, "busy": 2, "no-memory": 3, "unsupported": 4},
         "fault_service_ns": {"count": 1, "p50": 2, "p99": 3, "max": 4}}
open(os.path.join(out, "old-profile.json"), "w").write(json.dumps(
    {"schema": "svmrt-profile-1", "backend": "user", "launches": 3, "prefetches": 2,
     "devices": [dict(block, index=0)], "total": block, "top_ranges": []}))
for args, want in (([], None), (["-p", os.path.join(out, "old-profile.json")], block)):
    html = os.path.join(out, "old.html")
    r = subprocess.run([svm_report, "-o", html] + args + [os.path.join(out, "old.json")],
                       capture_output=True, text=True, errors="replace")
    if r.returncode:
        failures.append("old trace %s: exit %d %s" % (args, r.returncode, r.stderr))
        continue
    m = re.search(r'id="svm-data">(.*?)</script>', open(html).read(), re.S)
    st = json.loads(m.group(1))["stats"]
    if want is None and st is not None:
        failures.append("old trace without -p: stats %r" % st)
    if want is not None and (st is None or st["total"]["cpu_faults"] != 5 or
                             st["total"]["failures_by"] != [0, 1, 2, 3, 4] or
                             st["total"]["launches"] != 3 or
                             st["devices"][0]["thrash_events"] != 11):
        failures.append("old trace with -p: stats %r" % st)
print("a trace without final stats: no summary, or the profile's with -p")
ldd = subprocess.run(["ldd", svm_report], capture_output=True, text=True).stdout
if "libasan" in ldd or "libtsan" in ldd:
    print("svm-report is built with a sanitizer: it checked the runs above; no valgrind")
elif shutil.which("valgrind"):
    for name in ("cut-%d" % cuts[len(cuts) // 2], "garbage-3", "deep-args", "bad-location"):
        data = open(os.path.join(out, name + ".json"), "rb").read()
        run("vg-" + name, data, False, memcheck=True)
    run("vg-good", text, True, memcheck=True)
    print("valgrind: 5 runs clean")
else:
    print("valgrind not installed: the memcheck runs were left out")
if failures:
    print("FAIL:\n  " + "\n  ".join(failures[:20]))
    sys.exit(1)
print("PASS: %d truncated, 20 garbage, 20 flipped, %d hostile files refused cleanly; "
      "4 valid ones and an old trace read" % (len(cuts), len(hostile)))
