#pragma once
/// parallel_for over independent items with std::thread (no OpenMP: Dask workers set
/// OMP_NUM_THREADS=1, and an explicit thread count must mean what it says).
///
/// Threads take contiguous blocks of items from a shared counter until none are left (dynamic
/// scheduling: on a shared machine one thread may be descheduled for a while, and a static split
/// would make every call wait for it). Callers make results independent of the split (each item
/// writes only its own output), so they are bitwise identical for any thread count. An exception
/// thrown by any item is rethrown on the calling thread after all threads have joined; the other
/// threads stop taking new blocks.

#include <algorithm>
#include <atomic>
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

/// Calls fn(begin, end) on contiguous blocks covering [0, items), from up to n_threads threads.
template <class Fn>
void parallel_for(std::size_t items, std::size_t n_threads, Fn fn) {
    if (items == 0) return;
    const std::size_t threads = resolve_threads(n_threads, items);
    if (threads == 1) {
        fn(std::size_t{0}, items);
        return;
    }
    // About eight blocks per thread: small enough to balance, large enough that taking a block
    // (one atomic add) costs nothing next to the work in it.
    const std::size_t grain = std::max<std::size_t>(1, items / (8 * threads));
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        try {
            while (!failed.load(std::memory_order_relaxed)) {
                const std::size_t begin = next.fetch_add(grain, std::memory_order_relaxed);
                if (begin >= items) break;
                fn(begin, std::min(items, begin + grain));
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
            failed = true;
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (std::size_t t = 0; t + 1 < threads; ++t) {
        try {
            pool.emplace_back(work);
        } catch (...) {  // no thread available (std::system_error): fewer threads do it all
            break;
        }
    }
    work();  // the calling thread works too
    for (std::thread& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace rebalancing
