#!/usr/bin/env python3
"""Headless Chromium driven over the DevTools protocol on a pipe (no
network, no port): enough for the report tests to load a page, evaluate
script in it and send it mouse events."""
import fcntl, json, os, select, subprocess, time


class Browser:
    """Chromium with --remote-debugging-pipe: commands on fd 3, replies on fd 4."""
    def __init__(self, chromium, profile, fail):
        self.fail = fail
        def high(fd): # above 4, so that moving them to 3 and 4 clobbers nothing
            h = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
            os.close(fd)
            return h
        self.to_r, self.to_w = map(high, os.pipe())
        self.from_r, self.from_w = map(high, os.pipe())
        def fds():
            os.dup2(self.to_r, 3)
            os.dup2(self.from_w, 4)
        self.p = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                   "--no-first-run", "--disable-extensions",
                                   "--remote-debugging-pipe", "--user-data-dir=" + profile,
                                   "--window-size=1400,1000",
                                   "about:blank"], preexec_fn=fds,
                                  pass_fds=(3, 4, self.to_r, self.from_w),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self.to_r)
        os.close(self.from_w)
        self.buf, self.n = b"", 0
    def call(self, method, session=None, timeout=30, **params):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        end = time.time() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.n:
                    if "error" in reply:
                        self.fail("%s: %s" % (method, reply["error"]))
                    return reply.get("result", {})
            left = end - time.time()
            if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                self.fail("chromium did not answer %s" % method)
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                self.fail("chromium went away during %s" % method)
            self.buf += chunk
    def close(self):
        self.p.kill()
        self.p.wait()

    def open(self, url):
        """A new tab at url; returns its session."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        s = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=s)
        self.call("Runtime.enable", session=s)
        self.call("Page.navigate", session=s, url=url)
        return s

    def eval(self, s, expr):
        r = self.call("Runtime.evaluate", session=s, expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            self.fail("script %r: %s" % (expr[:80], r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def mouse(self, s, kind, x, y):
        """kind: mouseMoved, or a click (pressed and released) with "click"."""
        if kind == "click":
            for t in ("mousePressed", "mouseReleased"):
                self.call("Input.dispatchMouseEvent", session=s, type=t, x=x, y=y,
                          button="left", clickCount=1)
        else:
            self.call("Input.dispatchMouseEvent", session=s, type=kind, x=x, y=y)
