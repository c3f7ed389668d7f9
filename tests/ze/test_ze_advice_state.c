/* SPDX-License-Identifier: MIT */
/*
 * No partial state from svm_advise (issue 15 item 4), on the ze backend
 * through the real loader and the fake driver: advice the backend refuses
 * (Level Zero has no accessed-by, no host preference; a driver error) is
 * not recorded in the runtime's page table; advice it takes is. Nothing
 * public shows the core's advice on ze, so this test links the runtime's
 * objects and reads its page records.
 */
#include <dlfcn.h>

#include "svmtest.h"
#include "../../runtime/mem/mem.h"

#define PAGE 4096

/* The advice the core holds for the page at p. */
static struct svm__page advice_of(const void *p)
{
	struct svm__range *r;
	struct svm__page pg;
	struct svm__rt *rt = svm__rt_get();

	pthread_mutex_lock(&rt->lock);
	r = svm__range_find(rt, (uintptr_t)p);
	CHECK(r != NULL);
	pg = r->pages[((uintptr_t)p - r->start) / PAGE];
	pthread_mutex_unlock(&rt->lock);
	return pg;
}

static void check_plain(const void *p, const char *after)
{
	struct svm__page pg = advice_of(p);

	CHECK_MSG(pg.accessed_by == 0, "after %s: accessed_by %#x recorded", after, pg.accessed_by);
	CHECK_MSG(pg.pref == SVM__PREF_NONE, "after %s: preferred location %d recorded", after,
		  pg.pref);
	CHECK_MSG(!pg.read_mostly, "after %s: read-mostly recorded", after);
}

int main(void)
{
	const char *fake = getenv("ZE_ENABLE_ALT_DRIVERS");
	void *h = dlopen("libze_loader.so.1", RTLD_NOW | RTLD_LOCAL);
	char *x;

	if (!h)
		svmt_skip("the Level Zero loader libze_loader.so.1 is not installed (libze1)");
	dlclose(h);
	if (!fake || access(fake, R_OK))
		svmt_skip("the fake Level Zero driver was not built (needs libze-dev's headers)");
	svmt_init();
	CHECK(!strcmp(svmt_backend(), "ze"));
	x = svmt_alloc(4 * PAGE);

	/* refused by the backend: nothing recorded */
	CHECK_RES(svm_advise(x, 4 * PAGE, SVM_ADVISE_SET_ACCESSED_BY, 0), SVM_ERROR_UNSUPPORTED);
	check_plain(x, "a refused SET_ACCESSED_BY");
	check_plain(x + 3 * PAGE, "a refused SET_ACCESSED_BY");
	CHECK_RES(svm_advise(x, 4 * PAGE, SVM_ADVISE_SET_PREFERRED_LOCATION, SVM_HOST),
		  SVM_ERROR_UNSUPPORTED);
	check_plain(x, "a refused SET_PREFERRED_LOCATION(host)");

	/* a driver error: nothing recorded */
	setenv("FAKE_ZE_FAIL", "CommandListAppendMemAdvise:0x70000001", 1);
	CHECK_RES(svm_advise(x, 4 * PAGE, SVM_ADVISE_SET_READ_MOSTLY, 0), SVM_ERROR_BACKEND);
	CHECK_RES(svm_advise(x, 4 * PAGE, SVM_ADVISE_SET_PREFERRED_LOCATION, 1), SVM_ERROR_BACKEND);
	unsetenv("FAKE_ZE_FAIL");
	check_plain(x + PAGE, "a failed SET_READ_MOSTLY / SET_PREFERRED_LOCATION");

	/* taken: recorded, on exactly the pages asked for */
	CHECK_OK(svm_advise(x + PAGE, 2 * PAGE, SVM_ADVISE_SET_READ_MOSTLY, 0));
	CHECK_OK(svm_advise(x + PAGE, PAGE, SVM_ADVISE_SET_PREFERRED_LOCATION, 1));
	CHECK(advice_of(x + PAGE).read_mostly && advice_of(x + 2 * PAGE).read_mostly);
	CHECK_EQ(advice_of(x + PAGE).pref, 1);
	check_plain(x, "advice on the next pages");
	check_plain(x + 3 * PAGE, "advice on the previous pages");

	/* an UNSET the driver fails keeps the advice that is there */
	setenv("FAKE_ZE_FAIL", "CommandListAppendMemAdvise:0x70000001", 1);
	CHECK_RES(svm_advise(x + PAGE, 2 * PAGE, SVM_ADVISE_UNSET_READ_MOSTLY, 0),
		  SVM_ERROR_BACKEND);
	unsetenv("FAKE_ZE_FAIL");
	CHECK(advice_of(x + PAGE).read_mostly && advice_of(x + 2 * PAGE).read_mostly);

	CHECK_OK(svm_free(x));
	CHECK_OK(svm_finalize());
	printf("PASS ze advice state\n");
	return 0;
}
