#pragma once
/// parallel_for over independent items with std::thread (no OpenMP: Dask workers set
/// OMP_NUM_THREADS=1, and an explicit thread count must mean what it says).
///
/// Scheduling: thread t owns the t-th contiguous share of the items and takes blocks from its
/// front, each a quarter of what is left of the share (at least one item), so blocks shrink as
/// the work runs out; a thread whose share is done takes blocks from the others' shares in the
/// same way. Owning a share keeps the same data on the same thread from call to call (a second
/// check of the same book finds its half in that core's cache, as OpenBLAS's static split
/// does); taking from the others balances the load -- on a shared machine, where one thread may
/// be descheduled for a while, and for solves whose times vary tenfold between accounts. The
/// number of takes stays logarithmic in the items, so the atomics cost nothing next to the work.
///
/// Threads: each calling thread keeps its own pool of helper threads, started on first use,
/// polling for a millisecond after each job and asleep after that. Starting and joining a
/// thread costs 120-180 us on this project's machines, as long as checking the drift of 2,000
/// accounts of 500 assets; handing a job to a polling helper costs a few microseconds.
///
/// One pool per calling thread means concurrent calls from different Python threads (the GIL
/// is released) never wait for each other. A parallel_for called from inside an item runs on
/// its own thread alone (the outer loop already keeps the threads busy, and the owner's pool is
/// taken by the outer job). After a fork (a multiprocessing child) the child has none of the
/// parent's threads: the pool notices the new process id and starts afresh, abandoning the
/// parent's pool without touching its locks.
///
/// Callers make results independent of the split (each item writes only its own output), so
/// they are bitwise identical for any thread count. An exception thrown by any item is rethrown
/// on the calling thread after all threads have finished; the other threads stop taking blocks.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
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

namespace detail {

/// How long a thread that waits for the other side (a helper for the next job, the owner for
/// its helpers) polls before it sleeps. Waking a sleeping thread on an idle virtual CPU took
/// about 1 ms here (the host has to run the vCPU again), 30-60 us on a busy one: polling this
/// long keeps back-to-back calls (a loop over portfolios, a benchmark) from paying that for
/// every call, as OpenBLAS and OpenMP runtimes do, and costs at most this much CPU after a call.
inline constexpr std::chrono::microseconds kSpinBeforeSleep{1000};

/// Polls ready() (yielding the CPU in between) until it is true or kSpinBeforeSleep has passed.
template <class Ready>
bool poll_for(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + kSpinBeforeSleep;
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::yield();
    }
    return true;
}

/// Helper threads that poll, then sleep, between jobs. One job at a time, run by its owner
/// (the thread that created the pool) together with the helpers it asks for.
///
/// The job's description (job_, wanted_) is written and read under the mutex; generation_ and
/// pending_ are also atomics so that a waiting side can poll them without the lock. A helper
/// wanted for job N always reads N's description: the owner starts N+1 only after every
/// wanted helper has finished N.
class HelperPool {
   public:
    HelperPool() = default;
    HelperPool(const HelperPool&) = delete;
    HelperPool& operator=(const HelperPool&) = delete;

    ~HelperPool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (std::thread& t : threads_) t.join();
    }

    /// Runs job(0) on the calling thread and job(1), ..., job(helpers) on helper threads;
    /// returns when every run has returned. job must not throw. Fewer helpers run when the
    /// system would not start more threads.
    void run(std::size_t helpers, const std::function<void(std::size_t)>& job) {
        while (threads_.size() < helpers) {
            try {
                threads_.emplace_back([this, index = threads_.size()] { serve(index); });
            } catch (...) {  // no thread available (std::system_error): fewer helpers
                break;
            }
        }
        helpers = std::min(helpers, threads_.size());
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &job;
            wanted_ = helpers;
            pending_ = helpers;
            ++generation_;
        }
        if (helpers > 0) wake_.notify_all();
        job(0);
        if (!poll_for([this] { return pending_.load() == 0; })) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [this] { return pending_.load() == 0; });
        }
    }

   private:
    void serve(std::size_t index) {
        std::uint64_t seen = 0;
        for (;;) {
            poll_for([&] { return generation_.load() != seen || stopping_.load(); });
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
            if (stopping_) return;
            seen = generation_;
            if (index >= wanted_) continue;
            const std::function<void(std::size_t)>* job = job_;
            lock.unlock();
            (*job)(index + 1);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::vector<std::thread> threads_;  // touched only by the owner
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> stopping_{false};
    std::size_t wanted_ = 0;
    const std::function<void(std::size_t)>* job_ = nullptr;
};

/// The calling thread's pool, (re)started in this process.
inline HelperPool& helper_pool() {
    thread_local std::unique_ptr<HelperPool> pool;
    thread_local pid_t owner = 0;
    const pid_t pid = ::getpid();
    if (pool && owner != pid) {
        // Forked: the parent's helpers do not exist here, and its locks may be held. Abandon
        // the pool (never destroyed: joining threads that do not exist would fail).
        static_cast<void>(pool.release());
    }
    if (!pool) {
        pool = std::make_unique<HelperPool>();
        owner = pid;
    }
    return *pool;
}

/// Whether this thread is running items of a parallel_for (set for the owner and the helpers).
inline bool& inside_parallel_for() {
    thread_local bool inside = false;
    return inside;
}

}  // namespace detail

/// Calls fn(begin, end) on contiguous blocks covering [0, items), from up to n_threads threads.
template <class Fn>
void parallel_for(std::size_t items, std::size_t n_threads, Fn fn) {
    if (items == 0) return;
    const std::size_t threads = resolve_threads(n_threads, items);
    if (threads == 1 || detail::inside_parallel_for()) {
        fn(std::size_t{0}, items);
        return;
    }
    // Thread t's share is [t items / threads, (t + 1) items / threads); next is its front.
    struct alignas(64) Share {  // one cache line each: the threads update their own
        std::atomic<std::size_t> next{0};
        std::size_t end = 0;
    };
    std::vector<Share> shares(threads);
    for (std::size_t t = 0; t < threads; ++t) {
        shares[t].next = t * items / threads;
        shares[t].end = (t + 1) * items / threads;
    }
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    const std::function<void(std::size_t)> work = [&](std::size_t thread) {
        detail::inside_parallel_for() = true;
        try {
            for (std::size_t k = 0; k < threads; ++k) {  // its own share first, then the others
                Share& share = shares[(thread + k) % threads];
                std::size_t begin = share.next.load(std::memory_order_relaxed);
                while (begin < share.end && !failed.load(std::memory_order_relaxed)) {
                    const std::size_t size = std::max<std::size_t>(1, (share.end - begin) / 4);
                    if (share.next.compare_exchange_weak(begin, begin + size,
                                                         std::memory_order_relaxed)) {
                        fn(begin, begin + size);
                        begin = share.next.load(std::memory_order_relaxed);
                    }  // else begin now holds the share's current front: try again from there
                }
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
            failed = true;
        }
        detail::inside_parallel_for() = false;
    };
    detail::helper_pool().run(threads - 1, work);
    if (error) std::rethrow_exception(error);
}

}  // namespace rebalancing
