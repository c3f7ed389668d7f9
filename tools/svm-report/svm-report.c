/* SPDX-License-Identifier: MIT */
/*
 * svm-report - the visual report (docs/report.md) from an SVM_TRACE file.
 *
 *   svm-report [-p PROFILE.json] [-o REPORT.html] TRACE.json
 *
 * It reads the Chrome Trace Event JSON that svmrt writes (runtime/core/
 * profile.c) with a parser made for that format: any valid JSON is read,
 * keys it does not know are skipped, and anything else (truncated file,
 * garbage, values out of range) ends it with a message naming the byte
 * offset, never a crash. The report itself is made by the runtime's own
 * code (runtime/obs/report.c), the same that SVM_REPORT runs at exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../runtime/core/rt.h"
#include "report.h"

#define MAX_DEPTH 64
#define MAX_STR 4096

struct parser {
	const char *name; /* file, for messages */
	const char *buf;
	size_t len, pos;
	char err[256];
};

static bool perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err[0])
		return false; /* the first error is the one to tell */
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	for (char *c = p->err; *c; c++) /* bytes of the file quoted: printable only */
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return false;
}

static void ws(struct parser *p)
{
	while (p->pos < p->len && (p->buf[p->pos] == ' ' || p->buf[p->pos] == '\n' ||
				   p->buf[p->pos] == '\r' || p->buf[p->pos] == '\t'))
		p->pos++;
}

static int peek(struct parser *p)
{
	ws(p);
	return p->pos < p->len ? (unsigned char)p->buf[p->pos] : -1;
}

static bool expect(struct parser *p, char c)
{
	if (peek(p) != c)
		return perr(p, "byte %zu: expected '%c', found %s", p->pos, c,
			    p->pos < p->len ? "something else" : "the end of the file");
	p->pos++;
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string into out (cut at cap - 1 bytes; non-ASCII escapes become '?'). */
static bool str(struct parser *p, char *out, size_t cap)
{
	size_t n = 0;

	if (!expect(p, '"'))
		return false;
	for (;;) {
		if (p->pos >= p->len)
			return perr(p, "byte %zu: the file ends inside a string", p->pos);
		unsigned char c = (unsigned char)p->buf[p->pos++];

		if (c == '"')
			break;
		if (c < 0x20)
			return perr(p, "byte %zu: control character in a string", p->pos - 1);
		if (c == '\\') {
			if (p->pos >= p->len)
				return perr(p, "byte %zu: the file ends inside a string", p->pos);
			c = (unsigned char)p->buf[p->pos++];
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				int v = 0;

				if (p->len - p->pos < 4)
					return perr(p, "byte %zu: short \\u escape", p->pos);
				for (int k = 0; k < 4; k++) {
					int h = hexval(p->buf[p->pos++]);

					if (h < 0)
						return perr(p, "byte %zu: bad \\u escape", p->pos - 1);
					v = v * 16 + h;
				}
				c = v >= 0x20 && v < 0x7f ? (unsigned char)v : '?';
				break;
			}
			default:
				return perr(p, "byte %zu: bad escape \\%c", p->pos - 1, c);
			}
		}
		if (out && n + 1 < cap)
			out[n++] = (char)c;
	}
	if (out && cap)
		out[n] = 0;
	return true;
}

static bool num(struct parser *p, double *out)
{
	char tmp[64], *end;
	size_t n = 0;

	ws(p);
	while (p->pos + n < p->len && n < sizeof(tmp) - 1 &&
	       strchr("+-0123456789.eE", p->buf[p->pos + n]))
		n++;
	if (!n)
		return perr(p, "byte %zu: expected a number", p->pos);
	memcpy(tmp, p->buf + p->pos, n);
	tmp[n] = 0;
	errno = 0;
	*out = strtod(tmp, &end);
	if (end != tmp + n || errno || !isfinite(*out))
		return perr(p, "byte %zu: bad number '%s'", p->pos, tmp);
	p->pos += n;
	return true;
}

static bool lit(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	ws(p);
	if (p->len - p->pos < n || memcmp(p->buf + p->pos, word, n))
		return perr(p, "byte %zu: expected a JSON value", p->pos);
	p->pos += n;
	return true;
}

static bool skip(struct parser *p, int depth)
{
	double d;
	int c = peek(p);

	if (depth > MAX_DEPTH)
		return perr(p, "byte %zu: nested too deep", p->pos);
	switch (c) {
	case '"':
		return str(p, NULL, 0);
	case 't':
		return lit(p, "true");
	case 'f':
		return lit(p, "false");
	case 'n':
		return lit(p, "null");
	case '[':
		p->pos++;
		if (peek(p) == ']')
			return p->pos++, true;
		do {
			if (!skip(p, depth + 1))
				return false;
		} while (peek(p) == ',' && ++p->pos);
		return expect(p, ']');
	case '{':
		p->pos++;
		if (peek(p) == '}')
			return p->pos++, true;
		do {
			if (!str(p, NULL, 0) || !expect(p, ':') || !skip(p, depth + 1))
				return false;
		} while (peek(p) == ',' && ++p->pos);
		return expect(p, '}');
	case -1:
		return perr(p, "byte %zu: the file ends where a value should be", p->pos);
	default:
		return num(p, &d);
	}
}

/*
 * Walks an object: fn(p, key, arg) parses (or skips) each value. Returns
 * false on a syntax error or when fn does.
 */
typedef bool (*member_fn)(struct parser *p, const char *key, void *arg);
static bool object(struct parser *p, member_fn fn, void *arg)
{
	char key[64];

	if (!expect(p, '{'))
		return false;
	if (peek(p) == '}')
		return p->pos++, true;
	do {
		if (!str(p, key, sizeof(key)) || !expect(p, ':') || !fn(p, key, arg))
			return false;
	} while (peek(p) == ',' && ++p->pos);
	return expect(p, '}');
}

typedef bool (*element_fn)(struct parser *p, size_t i, void *arg);
static bool array(struct parser *p, element_fn fn, void *arg)
{
	size_t i = 0;

	if (!expect(p, '['))
		return false;
	if (peek(p) == ']')
		return p->pos++, true;
	do {
		if (!fn(p, i++, arg))
			return false;
	} while (peek(p) == ',' && ++p->pos);
	return expect(p, ']');
}

static bool uint_val(struct parser *p, const char *what, uint64_t max, uint64_t *out)
{
	double d;
	size_t at = p->pos;

	if (!num(p, &d))
		return false;
	if (d < 0 || d > (double)max || d != floor(d))
		return perr(p, "byte %zu: %s is %g, not a whole number in 0..%" PRIu64, at, what,
			    d, max);
	*out = (uint64_t)d;
	return true;
}

/* ---- the trace ------------------------------------------------------------ */

struct input {
	struct svm__report_in in;
	struct svm__event *ev;
	size_t nev, cap;
	char **sites; /* alloc events' call sites; ev.site is an index + 1 */
	size_t nsites;
	struct svm__report_range *ranges;
	size_t nranges;
	char backend[32];
	bool have_stats;
};


static bool location(struct parser *p, int *out)
{
	char s[32];
	size_t at = p->pos;
	char *end;
	long d;

	if (!str(p, s, sizeof(s)))
		return false;
	if (!strcmp(s, "host")) {
		*out = SVM_HOST;
		return true;
	}
	if (!strcmp(s, "none")) {
		*out = -2;
		return true;
	}
	if (!strncmp(s, "device ", 7)) {
		d = strtol(s + 7, &end, 10);
		if (end != s + 7 && !*end && d >= 0 && d < SVM__REPORT_MAX_DEVICES) {
			*out = (int)d;
			return true;
		}
	}
	return perr(p, "byte %zu: bad location \"%s\"", at, s);
}

struct ev_parse {
	struct input *I;
	struct svm__event e;
	int type;      /* -1 not one of ours (metadata...) */
	bool has_ts, has_name;
	char site[MAX_STR];
	bool has_site;
	uint64_t bytes;
};

static bool ev_arg(struct parser *p, const char *key, void *arg)
{
	struct ev_parse *x = arg;
	uint64_t v = 0;

	if (!strcmp(key, "addr")) {
		char s[40], *end;
		size_t at = p->pos;

		if (!str(p, s, sizeof(s)))
			return false;
		errno = 0;
		x->e.addr = strtoull(s, &end, 16);
		if (strncmp(s, "0x", 2) && strcmp(s, "0"))
			return perr(p, "byte %zu: addr \"%s\" is not hexadecimal", at, s);
		if (errno || *end)
			return perr(p, "byte %zu: bad addr \"%s\"", at, s);
		return true;
	}
	if (!strcmp(key, "pages"))
		return uint_val(p, "pages", 1ull << 40, &x->e.pages);
	if (!strcmp(key, "bytes"))
		return uint_val(p, "bytes", 1ull << 52, &x->bytes);
	if (!strcmp(key, "failed") || !strcmp(key, "thrash"))
		return uint_val(p, key, 1ull << 40, &x->e.failed);
	if (!strcmp(key, "prefetched")) { /* evict */
		if (!uint_val(p, key, UINT32_MAX, &v))
			return false;
		x->e.prefetched = (uint32_t)v;
		return true;
	}
	if (!strcmp(key, "retries") || !strcmp(key, "round")) {
		if (!uint_val(p, key, 65535, &v))
			return false;
		x->e.retries = (uint16_t)v;
		return true;
	}
	if (!strcmp(key, "src") || !strcmp(key, "dst")) {
		int l = -2;

		if (!location(p, &l))
			return false;
		if (key[0] == 's')
			x->e.src = (int8_t)l;
		else
			x->e.dst = (int8_t)l;
		return true;
	}
	if (!strcmp(key, "class")) {
		char s[32];
		size_t at = p->pos;

		if (!str(p, s, sizeof(s)))
			return false;
		for (int c = 1; c < SVM_FAILURE_COUNT; c++)
			if (!strcmp(s, svm_failure_string((svm_failure_t)c))) {
				x->e.cls = (uint8_t)c;
				return true;
			}
		return perr(p, "byte %zu: unknown failure class \"%s\"", at, s);
	}
	if (!strcmp(key, "write")) {
		if (peek(p) == 't')
			return (x->e.write = 1), lit(p, "true");
		return lit(p, "false");
	}
	if (!strcmp(key, "callsite")) {
		x->has_site = true;
		return str(p, x->site, sizeof(x->site));
	}
	return skip(p, 1);
}

static bool ev_member(struct parser *p, const char *key, void *arg)
{
	struct ev_parse *x = arg;
	double d;
	size_t at;

	if (!strcmp(key, "name")) {
		char s[64];

		if (!str(p, s, sizeof(s)))
			return false;
		x->has_name = true;
		x->type = -1;
		for (int t = 0; t < SVM__EV_COUNT; t++)
			if (!strcmp(s, svm__ev_names[t]))
				x->type = t;
		return true;
	}
	if (!strcmp(key, "ts") || !strcmp(key, "dur")) {
		at = p->pos;
		if (!num(p, &d))
			return false;
		if (d < 0 || d > 1e13) /* microseconds: about 115 days */
			return perr(p, "byte %zu: %s %g is out of range", at, key, d);
		if (key[0] == 't') {
			x->e.ts_ns = (uint64_t)llround(d * 1000.0);
			x->has_ts = true;
		} else {
			x->e.dur_ns = (uint64_t)llround(d * 1000.0);
		}
		return true;
	}
	if (!strcmp(key, "tid")) {
		uint64_t v = 0;

		if (!uint_val(p, "tid", UINT32_MAX, &v))
			return false;
		x->e.tid = (uint32_t)v;
		return true;
	}
	if (!strcmp(key, "args")) {
		if (peek(p) != '{')
			return skip(p, 1);
		return object(p, ev_arg, x);
	}
	return skip(p, 1);
}

static bool event(struct parser *p, size_t i, void *arg)
{
	struct input *I = arg;
	struct ev_parse x = { .I = I, .type = -1, .e = { .src = -2, .dst = -2 } };
	size_t at = p->pos;

	(void)i;
	if (peek(p) != '{')
		return perr(p, "byte %zu: an event must be an object", p->pos);
	if (!object(p, ev_member, &x))
		return false;
	if (!x.has_name)
		return perr(p, "byte %zu: an event without a name", at);
	if (x.type < 0)
		return true; /* metadata, or a kind this svm-report does not know */
	if (!x.has_ts)
		return perr(p, "byte %zu: a \"%s\" event without ts", at,
			    svm__ev_names[x.type]);
	x.e.type = (uint8_t)x.type;
	if (x.type == SVM__EV_ALLOC) {
		x.e.failed = x.bytes; /* bytes asked */
		x.e.site = 0;
		if (x.has_site && x.site[0]) {
			char **s = realloc(I->sites, (I->nsites + 1) * sizeof(*s));

			if (!s || !(s[I->nsites] = strdup(x.site))) {
				I->sites = s ? s : I->sites;
				return perr(p, "out of memory");
			}
			I->sites = s;
			x.e.site = ++I->nsites;
		}
	}
	if (I->nev == I->cap) {
		size_t cap = I->cap ? I->cap * 2 : 4096;
		struct svm__event *ev = realloc(I->ev, cap * sizeof(*ev));

		if (!ev)
			return perr(p, "out of memory for %zu events", cap);
		I->ev = ev;
		I->cap = cap;
	}
	I->ev[I->nev++] = x.e;
	return true;
}

/* ---- otherData ------------------------------------------------------------- */

static bool failures_el(struct parser *p, size_t i, void *arg)
{
	svm_stats_t *s = arg;

	if (i >= SVM_FAILURE_COUNT)
		return perr(p, "byte %zu: failures_by has more than %d entries", p->pos,
			    SVM_FAILURE_COUNT);
	return uint_val(p, "failures_by", UINT64_MAX / 2, &s->failures_by[i]);
}

static bool stats_member(struct parser *p, const char *key, void *arg)
{
	svm_stats_t *s = arg;

#define X(name)                                                                    \
	if (!strcmp(key, #name))                                                   \
		return uint_val(p, #name, UINT64_MAX / 2, &s->name);
	SVM__STATS_FIELDS(X)
#undef X
	if (!strcmp(key, "failures_by"))
		return array(p, failures_el, s);
	return skip(p, 1);
}

static bool stats_dev(struct parser *p, size_t i, void *arg)
{
	struct input *I = arg;

	if (i >= SVM__REPORT_MAX_DEVICES)
		return perr(p, "byte %zu: more than %d devices", p->pos, SVM__REPORT_MAX_DEVICES);
	return object(p, stats_member, &I->in.dev[i]);
}

static bool stats_obj(struct parser *p, const char *key, void *arg)
{
	struct input *I = arg;

	if (!strcmp(key, "total")) {
		I->have_stats = true;
		return object(p, stats_member, &I->in.total);
	}
	if (!strcmp(key, "devices"))
		return array(p, stats_dev, I);
	return skip(p, 1);
}

static bool dev_name(struct parser *p, size_t i, void *arg)
{
	struct input *I = arg;

	if (i >= SVM__REPORT_MAX_DEVICES)
		return perr(p, "byte %zu: more than %d devices", p->pos, SVM__REPORT_MAX_DEVICES);
	if (!str(p, I->in.dev_names[i], sizeof(I->in.dev_names[i])))
		return false;
	I->in.ndev = (int)i + 1;
	return true;
}

static bool range_member(struct parser *p, const char *key, void *arg)
{
	struct svm__report_range *r = arg;

	if (!strcmp(key, "start")) {
		char s[40], *end;
		size_t at = p->pos;

		if (!str(p, s, sizeof(s)))
			return false;
		errno = 0;
		r->start = strtoull(s, &end, 16);
		if (errno || *end || !s[0])
			return perr(p, "byte %zu: bad range start \"%s\"", at, s);
		return true;
	}
	if (!strcmp(key, "pages"))
		return uint_val(p, "pages", 1ull << 40, &r->pages);
	if (!strcmp(key, "bytes"))
		return uint_val(p, "bytes", 1ull << 52, &r->bytes);
	if (!strcmp(key, "callsite"))
		return str(p, r->site, sizeof(r->site));
	return skip(p, 1);
}

static bool range_el(struct parser *p, size_t i, void *arg)
{
	struct input *I = arg;
	struct svm__report_range *r = realloc(I->ranges, (i + 1) * sizeof(*r));

	if (!r)
		return perr(p, "out of memory");
	I->ranges = r;
	memset(&r[i], 0, sizeof(r[i]));
	I->nranges = i + 1;
	return object(p, range_member, &r[i]);
}

static bool other_member(struct parser *p, const char *key, void *arg)
{
	struct input *I = arg;

	if (!strcmp(key, "backend"))
		return str(p, I->backend, sizeof(I->backend));
	if (!strcmp(key, "dropped_events"))
		return uint_val(p, "dropped_events", UINT64_MAX / 2, &I->in.dropped);
	if (!strcmp(key, "seconds")) {
		size_t at = p->pos;

		if (!num(p, &I->in.seconds))
			return false;
		if (I->in.seconds < 0 || I->in.seconds > 1e7)
			return perr(p, "byte %zu: seconds out of range", at);
		return true;
	}
	if (!strcmp(key, "devices"))
		return array(p, dev_name, I);
	if (!strcmp(key, "stats"))
		return object(p, stats_obj, I);
	if (!strcmp(key, "ranges"))
		return array(p, range_el, I);
	return skip(p, 1);
}

static bool top_member(struct parser *p, const char *key, void *arg)
{
	if (!strcmp(key, "traceEvents"))
		return array(p, event, arg);
	if (!strcmp(key, "otherData"))
		return object(p, other_member, arg);
	return skip(p, 1);
}

/* ---- the profile (optional): stats when the trace has none ------------------- */

struct prof {
	struct input *I;
	svm_stats_t *s;
	bool any;
};

static bool prof_failures(struct parser *p, const char *key, void *arg)
{
	svm_stats_t *s = arg;

	for (int c = 1; c < SVM_FAILURE_COUNT; c++)
		if (!strcmp(key, svm_failure_string((svm_failure_t)c)))
			return uint_val(p, key, UINT64_MAX / 2, &s->failures_by[c]);
	return skip(p, 1);
}

static bool prof_block(struct parser *p, const char *key, void *arg)
{
	svm_stats_t *s = arg;

	if (!strcmp(key, "failures"))
		return object(p, prof_failures, s);
	if (!strcmp(key, "fault_service_ns"))
		return skip(p, 1);
	return stats_member(p, key, s);
}

static bool prof_dev(struct parser *p, size_t i, void *arg)
{
	struct input *I = arg;

	if (i >= SVM__REPORT_MAX_DEVICES)
		return perr(p, "byte %zu: more than %d devices", p->pos, SVM__REPORT_MAX_DEVICES);
	if (I->in.ndev <= (int)i)
		I->in.ndev = (int)i + 1;
	return object(p, prof_block, &I->in.dev[i]);
}

static bool prof_member(struct parser *p, const char *key, void *arg)
{
	struct prof *x = arg;

	if (!strcmp(key, "devices"))
		return array(p, prof_dev, x->I);
	if (!strcmp(key, "total")) {
		x->any = true;
		return object(p, prof_block, &x->I->in.total);
	}
	if (!strcmp(key, "launches"))
		return uint_val(p, key, UINT64_MAX / 2, &x->I->in.total.launches);
	if (!strcmp(key, "prefetches"))
		return uint_val(p, key, UINT64_MAX / 2, &x->I->in.total.prefetches);
	return skip(p, 1);
}

/* ---- main ----------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		fprintf(stderr, "svm-report: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			char *b = realloc(buf, cap = cap ? cap * 2 : 1 << 20);

			if (!b) {
				fprintf(stderr, "svm-report: %s: out of memory\n", path);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "svm-report: %s: read error\n", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static bool parse_file(const char *path, member_fn top, void *arg)
{
	struct parser p = { .name = path };
	bool ok;

	p.buf = slurp(path, &p.len);
	if (!p.buf)
		return false;
	ok = object(&p, top, arg);
	if (ok && peek(&p) != -1)
		ok = perr(&p, "byte %zu: more after the end of the JSON object", p.pos);
	if (!ok)
		fprintf(stderr, "svm-report: %s: %s\n", path, p.err[0] ? p.err : "not valid JSON");
	free((void *)p.buf);
	return ok;
}

static void site_name(uint64_t site, char *buf, size_t len, void *arg)
{
	const struct input *I = arg;

	snprintf(buf, len, "%s", site && site <= I->nsites ? I->sites[site - 1] : "");
}

static int usage(const char *me)
{
	fprintf(stderr, "usage: %s [-p PROFILE.json] [-o REPORT.html] TRACE.json\n"
		"  TRACE.json    a trace written with SVM_TRACE=FILE\n"
		"  -p PROFILE    a profile written with SVM_PROFILE=json:FILE (its counters are\n"
		"                used when the trace has no final svm_stats)\n"
		"  -o REPORT     the HTML file to write (default: TRACE with .html)\n", me);
	return 2;
}

int main(int argc, char **argv)
{
	static struct input I;
	const char *profile = NULL, *out = NULL, *trace;
	char outbuf[4096];
	int opt, rc;

	while ((opt = getopt(argc, argv, "p:o:h")) != -1) {
		switch (opt) {
		case 'p': profile = optarg; break;
		case 'o': out = optarg; break;
		default: return usage(argv[0]);
		}
	}
	if (optind != argc - 1)
		return usage(argv[0]);
	trace = argv[optind];
	if (!out) {
		size_t n = strlen(trace);

		if (n > 5 && !strcmp(trace + n - 5, ".json"))
			n -= 5;
		if (n + 6 > sizeof(outbuf))
			return usage(argv[0]);
		memcpy(outbuf, trace, n);
		strcpy(outbuf + n, ".html");
		out = outbuf;
	}
	if (!parse_file(trace, top_member, &I))
		return 1;
	if (!I.have_stats && profile) {
		struct prof x = { .I = &I };

		if (!parse_file(profile, prof_member, &x))
			return 1;
		I.have_stats = x.any;
	}
	for (size_t i = 0; i < I.nev; i++) { /* a trace without its device list */
		int d = I.ev[i].dst > I.ev[i].src ? I.ev[i].dst : I.ev[i].src;

		for (; d >= I.in.ndev && I.in.ndev < SVM__REPORT_MAX_DEVICES; I.in.ndev++)
			snprintf(I.in.dev_names[I.in.ndev], sizeof(I.in.dev_names[0]), "device %d",
				 I.in.ndev);
	}
	I.in.backend = I.backend[0] ? I.backend : "unknown";
	I.in.source = trace;
	I.in.have_stats = I.have_stats;
	I.in.ev = I.ev;
	I.in.nev = I.nev;
	I.in.ranges = I.ranges;
	I.in.nranges = I.nranges;
	I.in.site_name = site_name;
	I.in.site_arg = &I;
	rc = svm__report_write(out, &I.in);
	if (!rc)
		printf("svm-report: %zu events -> %s\n", I.nev, out);
	for (size_t k = 0; k < I.nsites; k++)
		free(I.sites[k]);
	free(I.sites);
	free(I.ev);
	free(I.ranges);
	return rc ? 1 : 0;
}
