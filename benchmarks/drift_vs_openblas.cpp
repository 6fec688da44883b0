// The fused drift check beside OpenBLAS's ddot (numpy's own copy) in one C++ process, to see
// whether a gap between them is the kernel's or the threads'. Build and run (numpy installed):
//
//   L=$(python -c "import numpy, os; print(os.path.join(os.path.dirname(numpy.__file__), '..',
//   'numpy.libs'))")
//   g++ -O3 -std=c++17 -Icpp/include benchmarks/drift_vs_openblas.cpp -o /tmp/drift_vs_openblas \
//       -L$L -l:$(ls $L | grep scipy_openblas) -Wl,-rpath,$L -lpthread
//   /tmp/drift_vs_openblas 0    # our check and a hand-written dot on our pool, alone
//   /tmp/drift_vs_openblas 1    # the same with ddot interleaved call by call
//
// n = 1e7 (160 MB per call), 60 rounds, medians. scipy-openblas exports ddot with a suffix:
// scipy_cblas_ddot64_ (64-bit integers).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <rebalancing/drift.hpp>
#include <vector>

extern "C" double scipy_cblas_ddot64_(long n, const double* x, long incx, const double* y,
                                      long incy);

namespace {

double dot(const double* a, const double* b, std::size_t begin, std::size_t end) {
    double sum[4] = {0.0, 0.0, 0.0, 0.0};
    std::size_t j = begin;
    for (; j + 4 <= end; j += 4)
        for (std::size_t h = 0; h < 4; ++h) sum[h] += a[j + h] * b[j + h];
    for (; j < end; ++j) sum[0] += a[j] * b[j];
    return sum[0] + sum[1] + sum[2] + sum[3];
}

}  // namespace

int main(int argc, char** argv) {
    using clock = std::chrono::steady_clock;
    const bool with_ddot = argc > 1 && std::atoi(argv[1]) != 0;
    const std::size_t n = 10'000'000, rounds = 60;
    std::vector<double> cur(n), tgt(n, 1e-7);
    for (std::size_t i = 0; i < n; ++i) cur[i] = 1e-7 * (1.0 + 0.05 * ((i * 7919) % 101) / 101.0);
    rebalancing::DriftBatch batch;
    batch.m = 1;
    batch.n = n;
    batch.current = cur.data();
    batch.target = tgt.data();
    rebalancing::BandRule rule;
    rule.abs_kind = rebalancing::BandKind::scalar;
    rule.abs_scalar = 0.05;
    rebalancing::DriftSummary summary;
    volatile double sink = 0.0;
    std::vector<double> times[3];
    for (std::size_t r = 0; r < rounds; ++r) {
        auto timed = [&](int which, auto run) {
            const auto start = clock::now();
            run();
            times[which].push_back(std::chrono::duration<double>(clock::now() - start).count());
        };
        timed(0, [&] { rebalancing::check_drift(batch, rule, 2, &summary, nullptr); });
        if (with_ddot)
            timed(1, [&] { sink = scipy_cblas_ddot64_(long(n), cur.data(), 1, tgt.data(), 1); });
        timed(2, [&] {
            double part[2];
            rebalancing::parallel_for(2, 2, [&](std::size_t first, std::size_t last) {
                for (std::size_t k = first; k < last; ++k)
                    part[k] = dot(cur.data(), tgt.data(), k * n / 2, (k + 1) * n / 2);
            });
            sink = part[0] + part[1];
        });
    }
    const char* names[] = {"check_drift, 2 threads", "OpenBLAS ddot", "hand-written dot, our pool"};
    for (int i = 0; i < 3; ++i) {
        if (times[i].empty()) continue;
        std::sort(times[i].begin(), times[i].end());
        const double median = times[i][times[i].size() / 2];
        std::printf("%-28s %.2f ms  %.1f GB/s\n", names[i], median * 1e3, 16e7 / median / 1e9);
    }
    return sink == 12345.0;  // keeps the results alive
}
