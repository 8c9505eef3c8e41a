// Projections built on the host for the CPU backend: CSR by source, generated target by target
// from the seed in parallel; the same synapses for any thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/connectivity.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

class thread_team;

// An allocator that leaves elements made by resize() uninitialised: the build writes each synapse
// once, on the team's threads, instead of after a zero fill on one thread (a fifth of model A's
// build time on 2 threads).
template <class T>
struct uninitialized_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = uninitialized_allocator<U>;
  };
  uninitialized_allocator() = default;
  template <class U>
  uninitialized_allocator(const uninitialized_allocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};
template <class T>
using synapse_array = std::vector<T, uninitialized_allocator<T>>;

struct csr_projection {
  uint32_t index = 0;
  uint32_t source = 0, target = 0;  // population indices
  synapse_kind synapse = synapse_kind::delta;
  uint64_t n_source = 0, n_target = 0;
  std::vector<uint64_t> row;        // n_source + 1 offsets into the synapse arrays
  synapse_array<uint32_t> targets;  // target neuron of each synapse, ascending within a row
  int32_t weight = 0;               // fixed point (2^-24 mV or nA) when constant
  synapse_array<int32_t> weights;   // per synapse when they vary, else empty
  uint16_t delay = 1;               // steps, when constant
  synapse_array<uint16_t> delays;   // per synapse when they vary, else empty
  uint16_t min_delay = 1, max_delay = 1;

  uint64_t synapses() const { return targets.size(); }
  uint64_t bytes() const {
    return row.size() * 8 + targets.size() * 4 + weights.size() * 4 + delays.size() * 2;
  }
};

// Draws k0 .. k0 + n - 1 of target j from `stream` into x, each the value connectivity::draw_value
// gives: every draw once in a loop that vectorises across draws (a normal's four from one Philox
// call, so k0 is a multiple of 4), then the few outside a normal's bounds redrawn one by one.
void draw_values(const distribution& d, uint64_t seed, uint32_t stream, uint64_t j, uint64_t k0,
                 uint64_t n, double* x);
// The sources of draws 0 .. n - 1 of target j with multapses, pool_to_source(draw_index(...)),
// in a loop that vectorises across draws (a Philox call gives two).
void draw_sources(uint64_t seed, uint32_t q, uint64_t j, uint64_t n, uint64_t pool, bool skip,
                  uint32_t* out);

// Builds projection q with `threads` threads of `team` (the calling thread alone when team is
// null): the synapses onto targets [targets.lo, targets.hi) of the target population (by
// default all), with all sources. Target ids in the result are relative to targets.lo; each
// synapse is the one a build of the whole projection holds, the same for any thread count.
csr_projection build_projection(const experiment_spec& spec, const projection_spec& q,
                                thread_team* team, int threads,
                                neuron_slice targets = {0, ~uint64_t{0}});
// The same with a team of its own of `threads` threads (0: one per processor).
csr_projection build_projection(const experiment_spec& spec, const projection_spec& q, int threads,
                                neuron_slice targets = {0, ~uint64_t{0}});

// Asks the memory system for the line holding *p ahead of its use.
inline void fetch_ahead(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// The first position in [b, e) of a row (targets ascending, each < n) whose target is >= v, as
// std::lower_bound finds it. The search starts where a row of uniformly spread targets has v and
// widens from there: a row of K random targets has it within about sqrt(K) / 2 entries, a cache
// line or two, where a binary search of a row that is not in cache waits for log2(K) misses one
// after the other (on Brunel's model A 2 threads spent a third of their delivery there).
inline uint64_t row_lower_bound(const uint32_t* t, uint64_t b, uint64_t e, uint64_t v, uint64_t n) {
  if (b == e || v == 0) return b;
  if (v >= n) return e;
  const uint64_t g = b + (e - b) * v / n;  // in [b, e); (e - b) * v < 2^64 as both are < 2^32
  uint64_t lo = b, hi = e, step = 1;
  if (t[g] < v) {  // the answer is in (g, e]
    lo = g + 1;
    for (;; step <<= 1) {
      const uint64_t p = lo + step - 1;
      if (p >= e) break;
      if (t[p] >= v) {
        hi = p;
        break;
      }
      lo = p + 1;
    }
  } else {  // in [b, g]
    hi = g;
    for (;; step <<= 1) {
      if (hi - b < step) break;
      const uint64_t p = hi - step;
      if (t[p] < v) {
        lo = p + 1;
        break;
      }
      hi = p;
    }
  }
  return static_cast<uint64_t>(std::lower_bound(t + lo, t + hi, static_cast<uint32_t>(v)) - t);
}

}  // namespace spikesim
