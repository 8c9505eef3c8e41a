// Connectivity of projections: which sources each target neuron draws (a pure function of the
// seed, the projection and the target, so any backend and thread count builds the same synapses)
// and the memory the compressed storage needs. Algorithms and format: docs/architecture.md.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <spikesim/config.hpp>
#include <spikesim/rng.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

// Synaptic input from projections is accumulated in integers of 2^-24 mV (delta synapses) or
// 2^-24 nA (exp synapses); Poisson input is sampled within the step and added in the state type:
// sums of integers do not depend on the order of the additions, so delivery by any number of
// threads gives the same bits. Weights are rounded to this grid once.
constexpr double fixed_point_scale = 16777216.0;  // 2^24 units per mV (or nA)
SPIKESIM_HD constexpr double fixed_point_resolution() {
  return 1.0 / fixed_point_scale;
}

// What a projection's storage costs: CSR by source, 4-byte target ids, plus a 4-byte weight
// and/or a 2-byte delay per synapse when they vary, plus one 8-byte row offset per source.
struct connectivity_estimate {
  uint64_t synapses = 0;    // expected (exact except for fixed_probability)
  uint64_t bytes = 0;       // storage after construction
  uint64_t peak_bytes = 0;  // during construction (the per-target lists are transient)
};

uint64_t synapse_bytes(const projection_spec& q);  // bytes per synapse, row offsets excluded

// The weight of draw k of target j in fixed point, and the delay in steps, as both backends store
// them (connectivity::weight_fixed and delay_in_steps below).
int32_t synapse_weight(const projection_spec& q, uint64_t j, uint64_t k);
uint16_t synapse_delay(const experiment_spec& spec, const projection_spec& q, uint64_t j,
                       uint64_t k);
connectivity_estimate estimate_connectivity(const experiment_spec& spec, const projection_spec& q);
connectivity_estimate estimate_connectivity(const experiment_spec& spec);

// fixed_total_number: the synapses of each target in [lo, hi) (population-local ids), a
// multinomial split of q.total over the n targets, the same for any slice, backend and thread
// count. The targets are halved recursively and the synapses of a range split by a binomial
// draw (inversion from the mode, keyed by the range), so a slice costs O(slice + log n) draws.
std::vector<uint64_t> total_number_counts(const projection_spec& q, uint64_t n_target, uint64_t lo,
                                          uint64_t hi);
// Binomial(n, p) by inversion with u in [0, 1): the support is walked from the mode outwards,
// alternating sides, until the summed probabilities exceed u (O(sqrt(n p (1 - p))) steps).
uint64_t binomial_inversion(uint64_t n, double p, double u);

namespace connectivity {

// Random streams of projection q (projections have their own stream space, like populations:
// stream_id(q, connectivity | weight | delay), purposes no population uses).
SPIKESIM_HD inline uint32_t source_stream(uint32_t q) {
  return rng::stream_id(q, rng::connectivity);
}
SPIKESIM_HD inline uint32_t weight_stream(uint32_t q) {
  return rng::stream_id(q, rng::weight);
}
SPIKESIM_HD inline uint32_t delay_stream(uint32_t q) {
  return rng::stream_id(q, rng::delay);
}

// A projection within one population without autapses leaves the target out of the pool of its
// sources; the pool's size.
bool skips_self(const projection_spec& q);
uint64_t pool_size(const experiment_spec& spec, const projection_spec& q);

// Draw k of target j: a source index in [0, pool) (Lemire's multiply on 64 random bits).
SPIKESIM_HD inline uint64_t draw_index(uint64_t seed, uint32_t q, uint64_t j, uint64_t k,
                                       uint64_t pool) {
  return rng::bounded(rng::bits64(seed, source_stream(q), j, k), pool);
}

// A weight or delay of synapse k of target j, from `stream`: constant, uniform, or a normal draw
// redrawn until it lies in [lo, hi]. Redraw r uses the normal of index k + r 2^42 (k < 2^42).
// The config loader requires a quarter of the normal's mass within the bounds, so 256 draws all
// fail with probability below 0.75^256 = 1e-32; the value would then be clamped to the bounds.
constexpr uint64_t max_redraws = 256;
// The parts of draw_value that the CPU build also applies to many draws at once: a uniform u in
// [0, 1) or a standard normal z mapped onto d, and the test of the bounds.
SPIKESIM_HD inline double uniform_value(const distribution& d, double u) {
  return d.a + (d.b - d.a) * u;
}
SPIKESIM_HD inline double normal_value(const distribution& d, float z) {
  return d.a + d.b * static_cast<double>(z);
}
SPIKESIM_HD inline bool within_bounds(const distribution& d, double x) {
  return x >= d.lo && x <= d.hi;
}
SPIKESIM_HD inline double draw_value(const distribution& d, uint64_t seed, uint32_t stream,
                                     uint64_t j, uint64_t k) {
  if (d.type == distribution::kind::uniform)
    return uniform_value(d, rng::uniform(seed, stream, j, k));
  if (d.type != distribution::kind::normal) return d.a;
  double x = d.a;
  for (uint64_t r = 0; r < max_redraws; ++r) {
    x = normal_value(d, rng::normal(seed, stream, j, k + (r << 42)));
    if (within_bounds(d, x)) return x;
  }
  return x < d.lo ? d.lo : d.hi;
}

// A weight in the 2^-24 fixed point of the synaptic input.
SPIKESIM_HD inline int32_t fixed_weight(double x) {
  return static_cast<int32_t>(llround(x * fixed_point_scale));
}

// A delay in whole steps of dt: rounded to the nearest (ties away from zero), at least one.
SPIKESIM_HD inline uint16_t delay_steps(double x, double dt) {
  const double s = round(x / dt);
  return static_cast<uint16_t>(s < 1.0 ? 1 : s > 65535.0 ? 65535 : static_cast<uint64_t>(s));
}

// Draw k of target j as a weight and as a delay.
SPIKESIM_HD inline int32_t weight_fixed(const distribution& w, uint64_t seed, uint32_t q,
                                        uint64_t j, uint64_t k) {
  return fixed_weight(draw_value(w, seed, weight_stream(q), j, k));
}
SPIKESIM_HD inline uint16_t delay_in_steps(const distribution& d, uint64_t seed, uint32_t q,
                                           uint64_t j, uint64_t k, double dt) {
  return delay_steps(draw_value(d, seed, delay_stream(q), j, k), dt);
}

// Sources are drawn from a pool that leaves out the target itself when autapses are excluded
// within one population: index x of the pool is source x, or x + 1 from the target on.
SPIKESIM_HD inline uint64_t pool_to_source(uint64_t x, uint64_t j, bool skip_self) {
  return skip_self && x >= j ? x + 1 : x;
}

}  // namespace connectivity
}  // namespace spikesim
