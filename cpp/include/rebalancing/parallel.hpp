#pragma once
/// parallel_for over independent items with std::thread (no OpenMP: Dask workers set
/// OMP_NUM_THREADS=1, and an explicit thread count must mean what it says).
///
/// Items are split into `n_threads` contiguous ranges. Callers make results independent of the
/// split (each item writes only its own output), so they are bitwise identical for any thread
/// count. An exception thrown by any item is rethrown on the calling thread after all threads
/// have joined.

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace rebalancing {

/// The thread count to use: `requested`, or the hardware's if 0, never more than `items`.
inline std::size_t resolve_threads(std::size_t requested, std::size_t items) {
    std::size_t n = requested;
    if (n == 0) n = std::max<unsigned>(1, std::thread::hardware_concurrency());
    return std::max<std::size_t>(1, std::min(n, items));
}

/// Calls fn(begin, end) on contiguous ranges covering [0, items), one range per thread.
template <class Fn>
void parallel_for(std::size_t items, std::size_t n_threads, Fn fn) {
    if (items == 0) return;
    const std::size_t threads = resolve_threads(n_threads, items);
    if (threads == 1) {
        fn(std::size_t{0}, items);
        return;
    }
    std::exception_ptr error;
    std::mutex error_mutex;
    auto run = [&](std::size_t begin, std::size_t end) {
        try {
            fn(begin, end);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    const std::size_t base = items / threads, extra = items % threads;
    std::size_t begin = 0;
    for (std::size_t t = 0; t < threads; ++t) {
        const std::size_t end = begin + base + (t < extra ? 1 : 0);
        if (t + 1 == threads) {
            run(begin, end);  // the calling thread takes the last range
        } else {
            try {
                pool.emplace_back(run, begin, end);
            } catch (...) {  // no thread available (std::system_error): do the range here
                run(begin, end);
            }
        }
        begin = end;
    }
    for (std::thread& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace rebalancing
