// SPDX-License-Identifier: MIT
//
// svmrt.h (and svmrt_ze.h) as C++17: this file is compiled with -std=c++17
// -Wall -Wextra -Werror -pedantic (tests/cxx/CMakeLists.txt), so a header
// change that is not clean C++ breaks the build. Then it runs what a C++
// application does: RAII around svm_alloc, a kernel that is a plain
// function (no lambda), a prefetch with its report, svm_pointer_info,
// svm_query, the result read back on the host.
#include <svmrt.h>
#include <svmrt_ze.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

namespace {

int failures;

#define EXPECT(cond)                                                        \
	do {                                                                \
		if (!(cond)) {                                              \
			std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,  \
				     __LINE__, #cond);                      \
			failures++;                                         \
		}                                                           \
	} while (0)

#define EXPECT_OK(expr)                                                     \
	do {                                                                \
		svm_result_t r_ = (expr);                                   \
		if (r_ != SVM_OK) {                                         \
			std::fprintf(stderr, "FAIL %s:%d: %s: %s\n",        \
				     __FILE__, __LINE__, #expr,             \
				     svm_result_string(r_));                \
			std::exit(1);                                       \
		}                                                           \
	} while (0)

// An owning handle for SVM memory, as a C++ code base would write one.
template <typename T> class svm_array {
public:
	explicit svm_array(std::size_t n) : n_(n)
	{
		void *p = nullptr;

		EXPECT_OK(svm_alloc(&p, n * sizeof(T)));
		p_ = static_cast<T *>(p);
	}
	~svm_array() { svm_free(p_); }
	svm_array(const svm_array &) = delete;
	svm_array &operator=(const svm_array &) = delete;
	T *data() const { return p_; }
	std::size_t size() const { return n_; }
	std::size_t bytes() const { return n_ * sizeof(T); }
	T &operator[](std::size_t i) { return p_[i]; }

private:
	T *p_ = nullptr;
	std::size_t n_;
};

struct axpy_args {
	double a;
	const double *x;
	double *y;
};

// Device code: a plain function with the svm_kernel_fn signature.
void axpy(const svm_kernel_ctx_t *ctx, std::size_t i, void *arg)
{
	const auto *args = static_cast<const axpy_args *>(arg);
	const auto *x = static_cast<const double *>(svm_device_ptr(ctx, args->x));
	auto *y = static_cast<double *>(svm_device_ptr(ctx, args->y));

	y[i] += args->a * x[i];
}

static_assert(std::is_same<decltype(&axpy), svm_kernel_fn>::value,
	      "a C++ function has the kernel type");
static_assert(std::is_standard_layout<svm_pointer_info_t>::value, "C layout");
static_assert(std::is_trivially_copyable<svm_stats_t>::value, "C layout");
static_assert(SVM_HOST == -1, "host location");

} // namespace

int main()
{
	// the version: header macros, string and the library agree
	const std::string v = std::to_string(SVM_VERSION_MAJOR) + "." +
			      std::to_string(SVM_VERSION_MINOR) + "." +
			      std::to_string(SVM_VERSION_PATCH);
	EXPECT(v == SVM_VERSION_STRING);
	EXPECT(v == svm_version());

	svm_result_t r = svm_init();
	if (r == SVM_ERROR_NO_DEVICE) {
		std::printf("SKIP: svm_init: no device\n");
		return 77;
	}
	EXPECT_OK(r);
	{
		const std::size_t n = 50000;
		svm_array<double> x(n), y(n);
		svm_array<axpy_args> args(1); // the arguments live in SVM memory too

		for (std::size_t i = 0; i < n; i++) {
			x[i] = double(i);
			y[i] = 1.0;
		}
		args[0] = axpy_args{ 2.0, x.data(), y.data() };

		svm_migrate_report_t rep;
		std::memset(&rep, 0, sizeof(rep));
		EXPECT_OK(svm_prefetch(x.data(), x.bytes(), 0, &rep));
		EXPECT(rep.failed == 0);
		EXPECT(rep.moved + rep.already == rep.pages);

		svm_pointer_info_t info{};
		EXPECT_OK(svm_pointer_info(x.data() + 1000, &info));
		EXPECT(info.base == x.data());
		EXPECT(info.bytes == x.bytes());
		EXPECT(info.location == 0);

		svm_device_props_t props{};
		EXPECT_OK(svm_device_props(0, &props));
		if (props.compute_threads == 0) {
			std::printf("SKIP: device 0 (%s) runs no svm_launch kernels\n",
				    props.backend);
			return 77;
		}
		EXPECT_OK(svm_launch(0, n, axpy, args.data()));
		EXPECT_OK(svm_prefetch(y.data(), y.bytes(), SVM_HOST, nullptr));
		svm_page_info_t page{};
		EXPECT_OK(svm_query(y.data(), 1, &page, 1));
		EXPECT(page.location == SVM_HOST);
		for (std::size_t i = 0; i < n; i++)
			if (y[i] != 1.0 + 2.0 * double(i)) {
				std::fprintf(stderr, "FAIL: y[%zu] = %g\n", i, y[i]);
				failures++;
				break;
			}
		svm_stats_t st{};
		EXPECT_OK(svm_stats(&st));
		EXPECT(st.launches == 1);
		EXPECT(st.prefetches == 2);
	}
	EXPECT_OK(svm_finalize());
	// svmrt_ze.h declares the handle query; without ze it says so
	void *ctx = nullptr;
	EXPECT(svm_ze_handles(0, &ctx, nullptr) == SVM_ERROR_NOT_INITIALIZED);
	if (failures)
		return 1;
	std::printf("PASS C++17 (%s)\n", svm_version());
	return 0;
}
