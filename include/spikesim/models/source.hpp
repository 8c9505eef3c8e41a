// A spike-source population's step, as the CPU loop and the CUDA kernel both run it: a Poisson
// source's draw, and the cursor of a neuron into its list of spike steps (docs/models.md).
#pragma once

#include <cstdint>

#include <spikesim/rng.hpp>

namespace spikesim {

enum class source_kind : uint32_t { poisson, times };

// Derived once on the host (make_population_state): a Poisson source spikes in step s of
// [start_step, stop_step) with probability p_spike = 1 - e^(-rate dt), at most once a step.
struct source_coeffs {
  source_kind kind = source_kind::poisson;
  double p_spike = 0.0;
  uint64_t start_step = 0;
  uint64_t stop_step = 0;
};

// Whether Poisson source neuron `id` (population-local) spikes in step s: one Philox call of the
// population's Poisson stream, keyed by (id, s), so the train is the same on every backend,
// thread count, chunking and number of ranks.
SPIKESIM_HD SPIKESIM_INLINE bool poisson_source_spike(const source_coeffs& c, uint64_t seed,
                                                      uint32_t stream, uint64_t id, uint64_t s) {
  if (s < c.start_step || s >= c.stop_step) return false;
  const rng::u32x4 w = rng::philox(seed, stream, id, s);
  return rng::uniform_double(w.v[0], w.v[1]) < c.p_spike;
}

// The first of the ascending spike steps steps[b .. e) that is >= first (e if none): where a
// neuron of a times list resumes at the start of a chunk, so that it holds no state between
// chunks (a checkpoint needs nothing of it).
SPIKESIM_HD SPIKESIM_INLINE uint64_t source_cursor(const uint64_t* steps, uint64_t b, uint64_t e,
                                                   uint64_t first) {
  while (b < e) {
    const uint64_t mid = b + (e - b) / 2;
    if (steps[mid] < first)
      b = mid + 1;
    else
      e = mid;
  }
  return b;
}

// The model (models/registry.hpp): a spike-source population, whose neurons have no parameters,
// no state and no input; both backends run its spikes above in place of a step.
struct source_model {
  static constexpr const char* name = "source";
  using params = void;
  static constexpr uint32_t gates = 0;
  static constexpr bool takes_input = false;
};

}  // namespace spikesim
