// Projections of the CUDA backend: built on the device from the seed with the draws of the CPU
// backend (src/cpu/connectivity.cpp), stored as the same CSR by source, and read by spike
// delivery (spike_delivery.cu). Design and determinism argument: docs/architecture.md.
#pragma once

#include <cstdint>

#include <spikesim/backend.hpp>
#include <spikesim/spec.hpp>

#include "cuda_check.cuh"

namespace spikesim::cuda {

// csr_projection's layout (src/cpu/connectivity.hpp) in device memory: row offsets by source,
// the targets of each row in ascending order (ties in draw order), per-synapse weights and
// delays only when they vary.
struct device_projection {
  uint32_t index = 0;
  uint32_t source = 0, target = 0;  // population indices
  synapse_kind synapse = synapse_kind::delta;
  uint64_t n_source = 0, n_target = 0;
  uint64_t synapses = 0;
  device_buffer<uint64_t> row;  // n_source + 1
  device_buffer<uint32_t> targets;
  int32_t weight = 0;  // fixed point (2^-24 mV or nA) when constant
  device_buffer<int32_t> weights;
  uint16_t delay = 1;  // steps, when constant
  device_buffer<uint16_t> delays;
  uint16_t min_delay = 1, max_delay = 1;

  uint64_t bytes() const {
    return (n_source + 1) * 8 + synapses * 4 + weights.size() * 4 + delays.size() * 2;
  }
};

struct build_options {
  // Builds every fixed_probability target on the host, as if each had an ambiguous draw: for
  // tests of that path, which real draws reach about once in 10^12.
  bool host_fallback_all = false;
};

// Builds projection q on the current device, on `stream`, and waits for it: the synapses onto
// targets [targets.lo, targets.hi) of the target population (all of them by default) from all
// sources, target ids relative to targets.lo, each the synapse a build of the whole projection
// holds (build_projection() on the CPU). Throws memory_error when the device cannot hold it.
device_projection build_device_projection(const experiment_spec& spec, const projection_spec& q,
                                          neuron_slice targets, cudaStream_t stream,
                                          const build_options& opt = {});

// Device memory of projection q onto `targets`: what stays allocated, and what building it needs
// on top (released afterwards). fixed_probability counts the expected number of synapses.
struct projection_bytes {
  uint64_t storage = 0;
  uint64_t transient = 0;
};
projection_bytes projection_device_bytes(const experiment_spec& spec, const projection_spec& q,
                                         neuron_slice targets);

// The bits of x's binary representation (0 for 0): of the ids and steps in a spike key.
inline uint32_t bit_width(uint64_t x) {
  uint32_t b = 0;
  while (x != 0) {
    ++b;
    x >>= 1;
  }
  return b;
}

// Adds the weights of the spikes in keys[0, n_keys) (the gather keys of the source population:
// (step - first) << id_bits | id, in any order) into ring[slot][target] (int64 as unsigned 64-bit
// words, 2^-24 fixed point, slot = arrival step % slots), and the number of synaptic events to
// *events. Integer additions commute, so the result does not depend on the order.
void deliver_spikes(const device_projection& c, const uint64_t* keys, uint64_t n_keys,
                    uint32_t id_bits, uint64_t first, unsigned long long* ring, uint64_t slots,
                    unsigned long long* events, cudaStream_t stream);

}  // namespace spikesim::cuda
