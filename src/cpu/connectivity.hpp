// Projections built on the host for the CPU backend: CSR by source, generated target by target
// from the seed in parallel; the same synapses for any thread count.
#pragma once

#include <cstdint>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/connectivity.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

struct csr_projection {
  uint32_t index = 0;
  uint32_t source = 0, target = 0;  // population indices
  synapse_kind synapse = synapse_kind::delta;
  uint64_t n_source = 0, n_target = 0;
  std::vector<uint64_t> row;      // n_source + 1 offsets into the synapse arrays
  std::vector<uint32_t> targets;  // target neuron of each synapse, ascending within a row
  int32_t weight = 0;             // fixed point (2^-24 mV or nA) when constant
  std::vector<int32_t> weights;   // per synapse when they vary, else empty
  uint16_t delay = 1;             // steps, when constant
  std::vector<uint16_t> delays;   // per synapse when they vary, else empty
  uint16_t min_delay = 1, max_delay = 1;

  uint64_t synapses() const { return targets.size(); }
  uint64_t bytes() const {
    return row.size() * 8 + targets.size() * 4 + weights.size() * 4 + delays.size() * 2;
  }
};

// Builds projection q with up to `threads` OpenMP threads (0: OpenMP's default): the synapses
// onto targets [targets.lo, targets.hi) of the target population (by default all), with all
// sources. Target ids in the result are relative to targets.lo; each synapse is the one a
// build of the whole projection holds.
csr_projection build_projection(const experiment_spec& spec, const projection_spec& q, int threads,
                                neuron_slice targets = {0, ~uint64_t{0}});

// The weight of draw k of target j in fixed point, and the delay in steps (what
// build_projection stores; exposed for tests).
int32_t synapse_weight(const projection_spec& q, uint64_t j, uint64_t k);
uint16_t synapse_delay(const experiment_spec& spec, const projection_spec& q, uint64_t j,
                       uint64_t k);

}  // namespace spikesim
