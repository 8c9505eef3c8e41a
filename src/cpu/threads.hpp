// The CPU backend's threads: a team of workers kept for the backend's whole life, whose waits spin
// a bounded time and then sleep, and the tuner that picks how many of them a run uses.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace spikesim {

// Spin iterations (pause instructions) a waiting thread makes before it sleeps: OMP_WAIT_POLICY
// = active spins without bound, passive not at all, GOMP_SPINCOUNT=N (or "infinite") N times;
// by default default_spin_iterations, and none when there are more threads than processors.
constexpr uint64_t default_spin_iterations = 2000;
uint64_t spin_iterations(int threads);

// memory_error (exit 7): `threads` CPU threads were asked for and the system created `created`
// (the calling thread counted), for the reason `why`.
[[noreturn]] void throw_thread_shortage(int threads, size_t created, const std::string& why);

class thread_team {
 public:
  // `threads` - 1 workers are started now; the caller is thread 0 of every run().
  explicit thread_team(int threads);
  ~thread_team();
  thread_team(const thread_team&) = delete;
  thread_team& operator=(const thread_team&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls f(thread, n) on threads 0 .. n - 1 (n <= size()) and returns when all have returned;
  // rethrows the exception of the lowest thread that threw.
  void run(int n, const std::function<void(int, int)>& f);
  // Inside run(): waits until every thread of the run has called it.
  void barrier();

 private:
  template <class Pred>
  void wait(Pred done);
  void wake();
  void work(int index);
  void stop_workers();  // ends and joins the workers

  std::vector<std::thread> workers_;
  uint64_t spin_ = 0;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
  std::atomic<uint64_t> job_{0};     // generation of the current run()
  std::atomic<int> finished_{0};     // workers done with it (all of them report)
  std::atomic<int> arrived_{0};      // threads at the barrier
  std::atomic<uint64_t> passed_{0};  // barriers passed
  bool stop_ = false;
  int n_ = 1;
  const std::function<void(int, int)>* f_ = nullptr;
  std::vector<std::exception_ptr> failed_;
};

// Calls f(item, thread) for items 0 .. n - 1 on `threads` threads of `team` (on the calling thread
// alone when team is null or threads <= 1), each thread claiming the next item when it is done with
// one: a thread slowed by another process takes fewer. Rethrows as thread_team::run does.
void parallel_items(thread_team* team, int threads, uint64_t n,
                    const std::function<void(uint64_t, int)>& f);

// Chooses the number of threads of each segment of a run from the measured time per unit of
// work, so that more threads are used only while they are faster: on a shared or oversubscribed
// machine a run falls back to fewer threads. The counts tried are 1, 2, 4, ... and `max`. The
// current count is measured; every `interval` segments one probe segment (half as long) runs with
// the next count down or up, and the run moves to it when it was at least 5% faster (down: not
// slower). The interval doubles (quadruples after a probe 1.5 times slower), up to 64 segments,
// while the count stays, and starts again at 2 after a move.
class thread_tuner {
 public:
  explicit thread_tuner(int max);
  int threads() const { return ladder_[probe_ >= 0 ? probe_ : level_]; }
  bool probing() const { return probe_ >= 0; }
  // The segment just run with threads() took `seconds` for `work` units of work.
  void measured(double seconds, double work);

 private:
  std::vector<int> ladder_;
  int level_ = 0;      // index of the current count
  int probe_ = -1;     // index of the count being probed, or -1
  bool down_ = true;   // direction of the next probe
  bool first_ = true;  // the run's first segment (start-up costs) is not measured
  int since_ = 0, interval_ = 2;
  double per_work_ = 0;  // the current count's seconds per unit of work (running mean)
};

}  // namespace spikesim
