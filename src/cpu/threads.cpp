// The CPU backend's thread team and thread tuner (threads.hpp; docs/architecture.md).
#include "threads.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include <spikesim/errors.hpp>

namespace spikesim {
namespace {

inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

uint64_t spin_iterations(int threads) {
  // Read here rather than by libgomp, which reads them once at start-up, before a program
  // could set them; the same variables, so that a user's setting holds for both.
  if (const char* s = std::getenv("GOMP_SPINCOUNT")) {
    if (std::strcmp(s, "infinite") == 0 || std::strcmp(s, "infinity") == 0) return ~uint64_t{0};
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (end != s) return v;
  }
  if (const char* p = std::getenv("OMP_WAIT_POLICY")) {
    const std::string w(p);
    if (w == "active" || w == "ACTIVE") return ~uint64_t{0};
    if (w == "passive" || w == "PASSIVE") return 0;
  }
  const unsigned cpus = std::thread::hardware_concurrency();
  if (cpus > 0 && static_cast<unsigned>(threads) > cpus) return 0;
  return default_spin_iterations;
}

thread_team::thread_team(int threads) : spin_(spin_iterations(threads)) {
  failed_.resize(static_cast<size_t>(std::max(threads, 1)));
  try {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
  } catch (const std::system_error& e) {
    // The workers started so far are stopped and joined (a joinable std::thread destroyed
    // unjoined would end the program), and the shortage reported as memory: exit 7.
    const size_t started = workers_.size() + 1;
    stop_workers();
    throw_thread_shortage(threads, started, e.what());
  }
}

void throw_thread_shortage(int threads, size_t created, const std::string& why) {
  throw memory_error("cannot start " + std::to_string(threads) + " CPU threads (" +
                     setting::threads + "): the system created only " + std::to_string(created) +
                     " (" + why + "); use fewer threads, or raise the process or memory limits");
}

thread_team::~thread_team() {
  stop_workers();
}

void thread_team::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  job_.fetch_add(1);
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

// Spins, then sleeps until done(). The waker changes the state, then reads sleepers_; the sleeper
// counts itself in, then tests done() under the lock (both sequentially consistent): either the
// waker sees the sleeper and notifies under the lock, or the sleeper sees the new state.
template <class Pred>
void thread_team::wait(Pred done) {
  for (uint64_t i = 0; i < spin_; ++i) {
    if (done()) return;
    cpu_pause();
  }
  std::unique_lock<std::mutex> lock(m_);
  sleepers_.fetch_add(1);
  cv_.wait(lock, done);
  sleepers_.fetch_sub(1);
}

void thread_team::wake() {
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(m_);
    cv_.notify_all();
  }
}

void thread_team::work(int index) {
  uint64_t seen = 0;
  for (;;) {
    wait([&] { return job_.load() != seen; });
    seen = job_.load();
    {
      std::lock_guard<std::mutex> lock(m_);
      if (stop_) return;
    }
    if (index < n_) {
      try {
        (*f_)(index, n_);
      } catch (...) {
        failed_[index] = std::current_exception();
      }
    }
    // Every worker reports back, so that none still reads n_ or f_ when the next run sets them.
    finished_.fetch_add(1);
    wake();
  }
}

void thread_team::run(int n, const std::function<void(int, int)>& f) {
  n = std::clamp(n, 1, size());
  std::fill(failed_.begin(), failed_.end(), nullptr);
  n_ = n;
  if (n > 1) {
    f_ = &f;
    finished_.store(0);
    arrived_.store(0);
    job_.fetch_add(1);  // publishes n_ and f_ (sequentially consistent)
    wake();
  }
  try {
    f(0, n);
  } catch (...) {
    failed_[0] = std::current_exception();
  }
  if (n > 1) {
    const int workers = static_cast<int>(workers_.size());
    wait([&] { return finished_.load() == workers; });
  }
  for (const auto& e : failed_)
    if (e) std::rethrow_exception(e);
}

void thread_team::barrier() {
  if (n_ <= 1) return;
  const uint64_t passed = passed_.load();
  if (arrived_.fetch_add(1) + 1 == n_) {
    arrived_.store(0);
    passed_.fetch_add(1);
    wake();
  } else {
    wait([&] { return passed_.load() != passed; });
  }
}

void parallel_items(thread_team* team, int threads, uint64_t n,
                    const std::function<void(uint64_t, int)>& f) {
  if (!team || threads <= 1 || n <= 1) {
    for (uint64_t i = 0; i < n; ++i) f(i, 0);
    return;
  }
  std::atomic<uint64_t> next{0};
  team->run(static_cast<int>(std::min<uint64_t>(threads, n)), [&](int t, int) {
    for (uint64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
         i = next.fetch_add(1, std::memory_order_relaxed))
      f(i, t);
  });
}

thread_tuner::thread_tuner(int max) {
  max = std::max(max, 1);
  for (int t = 1; t < max; t *= 2) ladder_.push_back(t);
  ladder_.push_back(max);
  level_ = static_cast<int>(ladder_.size()) - 1;
}

void thread_tuner::measured(double seconds, double work) {
  if (work <= 0) return;
  const double per_work = seconds / work;
  if (first_) {
    first_ = false;
    return;
  }
  if (probe_ >= 0) {
    const bool better = probe_ < level_ ? per_work <= per_work_ : per_work < 0.95 * per_work_;
    if (better) {
      level_ = probe_;
      per_work_ = per_work;
      interval_ = 2;
    } else {
      // A count far slower is tried again much later: each probe of it is costly.
      interval_ = std::min(per_work > 1.5 * per_work_ ? 4 * interval_ : 2 * interval_, 64);
    }
    probe_ = -1;
    since_ = 0;
    down_ = !down_;
    return;
  }
  per_work_ = since_ == 0 && per_work_ == 0 ? per_work : 0.5 * (per_work_ + per_work);
  if (++since_ < interval_ || ladder_.size() < 2) return;
  const int top = static_cast<int>(ladder_.size()) - 1;
  const bool down = level_ == top ? true : level_ == 0 ? false : down_;
  probe_ = down ? level_ - 1 : level_ + 1;
}

}  // namespace spikesim
