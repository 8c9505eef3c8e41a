// The explicit CPU thread count of a run, checked before the backend starts its threads: a count
// out of bounds is a usage error, and threads the system cannot create are reported (OpenMP
// would end the program without cleaning up).
#include <pthread.h>

#include <cstring>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>

#include "threads.hpp"

namespace spikesim {
namespace {

// The probe threads wait here until every one is created (or creation failed), so that they all
// exist at once, as OpenMP's will.
struct probe_gate {
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
  bool open = false;
};

extern "C" void* wait_at_gate(void* arg) {
  auto* g = static_cast<probe_gate*>(arg);
  pthread_mutex_lock(&g->mutex);
  while (!g->open) pthread_cond_wait(&g->cond, &g->mutex);
  pthread_mutex_unlock(&g->mutex);
  return nullptr;
}

}  // namespace

void check_threads(int threads) {
  if (threads < 0 || threads > max_threads)
    throw config_error("config error: " + setting::threads + " = " + std::to_string(threads) +
                       " threads is invalid: must be between 1 and " + std::to_string(max_threads) +
                       " (0: the default)");
  if (threads <= 1) return;
  probe_gate gate;
  std::vector<pthread_t> started;
  int err = 0;
  for (int k = 1; k < threads && err == 0; ++k) {
    pthread_t t;
    err = pthread_create(&t, nullptr, wait_at_gate, &gate);
    if (err == 0) started.push_back(t);
  }
  pthread_mutex_lock(&gate.mutex);
  gate.open = true;
  pthread_cond_broadcast(&gate.cond);
  pthread_mutex_unlock(&gate.mutex);
  for (pthread_t t : started) pthread_join(t, nullptr);
  if (err != 0) throw_thread_shortage(threads, started.size() + 1, std::strerror(err));
}

}  // namespace spikesim
