/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h"

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finaliser: a well-spread hash of a 64-bit value */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && end != s && !*end && *s != '-' && *out <= max;
}

bool svm__inject_parse(const char *spec, struct svm__inject *inj, char *err, size_t len)
{
	static const char *const classes[] = { "none", "pinned", "busy", "no-memory",
					       "unsupported" };
	char buf[128], *save = NULL;
	bool have_class = false, have_pct = false;
	uint64_t v;

	memset(inj, 0, sizeof(*inj));
	if (!*spec)
		return true;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val) {
			snprintf(err, len, "\"%s\" is not key=value", tok);
			return false;
		}
		*val++ = 0;
		if (!strcmp(tok, "class") && !strcmp(val, "left-behind")) {
			inj->left_behind = true;
			have_class = true;
		} else if (!strcmp(tok, "class")) {
			for (int c = 1; c < SVM_FAILURE_COUNT; c++)
				if (!strcmp(val, classes[c])) {
					inj->cls = (svm_failure_t)c;
					have_class = true;
				}
			if (!have_class) {
				snprintf(err, len, "class \"%s\" is not busy, no-memory, pinned, "
					 "unsupported or left-behind", val);
				return false;
			}
		} else if (!strcmp(tok, "percent") && parse_u64(val, 100, &v)) {
			inj->percent = (unsigned)v;
			have_pct = true;
		} else if (!strcmp(tok, "seed") && parse_u64(val, UINT64_MAX, &v)) {
			inj->seed = v;
		} else if (!strcmp(tok, "count") && parse_u64(val, UINT64_MAX, &v)) {
			inj->count = v;
		} else if (!strcmp(tok, "direction") &&
			   (!strcmp(val, "any") || !strcmp(val, "to-host") ||
			    !strcmp(val, "to-device"))) {
			inj->direction = !strcmp(val, "any") ? 0 : !strcmp(val, "to-host") ? 1 : 2;
		} else {
			snprintf(err, len, "bad item \"%s=%s\"", tok, val);
			return false;
		}
	}
	if (!have_class || !have_pct) {
		snprintf(err, len, "class= and percent= are required");
		return false;
	}
	inj->on = inj->percent > 0;
	return true;
}

svm_failure_t svm__inject_draw(struct svm__inject *inj, uintptr_t addr, int src, int dst)
{
	bool sticky = inj->cls == SVM_FAILURE_PINNED || inj->cls == SVM_FAILURE_UNSUPPORTED;
	uint64_t h;

	(void)src;
	if (!inj->on || inj->left_behind || (inj->count && inj->injected >= inj->count))
		return SVM_FAILURE_NONE;
	if ((inj->direction == 1 && dst >= 0) || (inj->direction == 2 && dst < 0))
		return SVM_FAILURE_NONE;
	h = sticky ? mix(inj->seed ^ (addr >> 12)) : mix(inj->seed ^ mix(inj->draws++ ^ addr));
	if (h % 100 >= inj->percent)
		return SVM_FAILURE_NONE;
	inj->injected++;
	return inj->cls;
}

bool svm__inject_leave(struct svm__inject *inj, uintptr_t addr, int src, int dst)
{
	(void)src;
	if (!inj->on || !inj->left_behind || (inj->count && inj->injected >= inj->count))
		return false;
	if ((inj->direction == 1 && dst >= 0) || (inj->direction == 2 && dst < 0))
		return false;
	if (mix(inj->seed ^ mix(inj->draws++ ^ addr)) % 100 >= inj->percent)
		return false;
	inj->injected++;
	return true;
}
