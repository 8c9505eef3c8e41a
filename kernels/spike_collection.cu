// The collection of a launch of the CUDA backend (the CPU's is cpu_backend::end_chunk in
// src/cpu/population.cpp): its flags checked, the spike keys sorted on the device (cub) and
// copied with the per-step counts and the traces to pinned memory, then decoded into the
// caller's chunk.
#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <sstream>
#include <string>

#include <spikesim/errors.hpp>

#include "population.cuh"

namespace spikesim::cuda {
namespace {

// Grows p's spike buffers to hold `needed` keys of the chunk [first, first + steps).
template <class T>
void grow_keys(device_population<T>& p, uint64_t needed, uint64_t first, uint64_t steps,
               double dt) {
  // Some headroom, so that the next chunks at a similar rate do not run twice too.
  const uint64_t cap = std::max(needed, std::min(saturating_mul(p.n, steps), needed + needed / 8));
  try {
    p.key_capacity = 0;
    p.keys.allocate(cap);
    p.keys_alt.allocate(cap);
    p.key_capacity = cap;
  } catch (const memory_error& e) {
    std::ostringstream o;
    o << "population '" << p.name << "' fired " << needed << " spikes between t = " << first * dt
      << " and " << (first + steps) * dt
      << " ms and its spike buffer cannot grow to hold them: " << e.what()
      << " (use a shorter run.chunk_steps, or record.spikes = false)";
    throw memory_error(o.str());
  }
}

// Sorts the collected keys on p's stream and enqueues their copy to pinned memory.
template <class T>
void sort_and_copy_keys(device_population<T>& p, uint64_t steps) {
  const cudaStream_t s = p.stream.get();
  cub::DoubleBuffer<uint64_t> keys(p.keys.data(), p.keys_alt.data());
  const int end_bit = static_cast<int>(p.id_bits + std::max<uint32_t>(1, bit_width(steps - 1)));
  size_t temp = 0;
  SPIKESIM_CUDA_CHECK(
      cub::DeviceRadixSort::SortKeys(nullptr, temp, keys, p.collected_spikes, 0, end_bit, s));
  if (temp > p.sort_temp.size()) p.sort_temp.allocate(temp);
  SPIKESIM_CUDA_CHECK(cub::DeviceRadixSort::SortKeys(p.sort_temp.data(), temp, keys,
                                                     p.collected_spikes, 0, end_bit, s));
  p.delivery_keys = keys.Current();  // the sort may leave them in either buffer
  p.keys_host.reserve(p.collected_spikes);
  SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(p.keys_host.data(), keys.Current(),
                                      p.collected_spikes * sizeof(uint64_t), cudaMemcpyDeviceToHost,
                                      s));
}

}  // namespace

uint64_t trace_first_step(uint64_t first, uint64_t every) {
  return (first + every - 1) / every * every;
}

uint64_t trace_rows(uint64_t first, uint64_t steps, uint64_t every) {
  const uint64_t t0 = trace_first_step(first, every);
  return t0 < first + steps ? (first + steps - 1 - t0) / every + 1 : 0;
}

template <class T>
void collect_population(device_population<T>& p, uint64_t first, uint64_t steps, double dt,
                        const event* delivered) {
  p.stream.synchronize();
  const unsigned long long bad = p.flags_host.data()->first_nonfinite;
  if (bad != no_neuron) {
    std::ostringstream o;
    o << "numerical failure: the membrane potential of neuron " << bad << " of population '"
      << p.name << "' is not finite between t = " << first * dt << " and " << (first + steps) * dt
      << " ms (reduce dt, or check the parameters and input)";
    throw numerical_error(o.str());
  }
  uint64_t spikes = p.flags_host.data()->spikes;
  if (p.gather && spikes > p.key_capacity) {
    grow_keys(p, spikes, first, steps, dt);
    // from the same start state: the copy `cur` was not written
    launch_population(p, first, steps, delivered);
    p.stream.synchronize();
    const uint64_t again = p.flags_host.data()->spikes;
    if (again != spikes)
      throw backend_error("internal error: population '" + p.name + "' gave " +
                          std::to_string(spikes) + " and then " + std::to_string(again) +
                          " spikes for the same chunk (the kernel is not deterministic)");
  }
  p.collected_spikes = p.to_host ? spikes : 0;
  p.gathered_spikes = p.gather ? spikes : 0;
  p.delivery_keys = p.keys.data();

  const cudaStream_t s = p.stream.get();
  if (p.collected_spikes > 0) sort_and_copy_keys(p, steps);
  p.counts_host.reserve(steps);
  SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(p.counts_host.data(), p.counts.data(),
                                      steps * sizeof(uint32_t), cudaMemcpyDeviceToHost, s));
  const uint64_t trace_values = trace_rows(first, steps, p.trace_every) * p.n_traces;
  if (trace_values > 0) {
    p.traces_host.reserve(trace_values);
    SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(p.traces_host.data(), p.traces.data(),
                                        trace_values * sizeof(float), cudaMemcpyDeviceToHost, s));
  }
}

template <class T>
void decode_population(const device_population<T>& p, uint64_t first, uint64_t steps,
                       bool counts_only, population_chunk& out) {
  out.counts.assign(p.counts_host.data(), p.counts_host.data() + steps);
  out.trace_rows = trace_rows(first, steps, p.trace_every);
  const uint64_t trace_values = out.trace_rows * p.n_traces;
  out.traces.assign(p.traces_host.data(), p.traces_host.data() + trace_values);
  out.spike_steps.clear();
  out.spike_ids.clear();
  if (!p.record || counts_only) {
    out.total_spikes = 0;
    for (uint32_t c : out.counts) out.total_spikes += c;
    return;
  }
  const int64_t m = static_cast<int64_t>(p.collected_spikes);
  out.total_spikes = p.collected_spikes;
  out.spike_steps.resize(m);
  out.spike_ids.resize(m);
  const uint64_t* keys = p.keys_host.data();
  uint64_t* steps_out = out.spike_steps.data();
  uint64_t* ids_out = out.spike_ids.data();
#pragma omp parallel for schedule(static) if (m > (int64_t{1} << 18))
  for (int64_t k = 0; k < m; ++k) {
    const spike_record r = key_spike(keys[k], p.id_bits, first);
    steps_out[k] = r.step;
    ids_out[k] = r.id;
  }
}

template void collect_population<float>(device_population<float>&, uint64_t, uint64_t, double,
                                        const event*);
template void collect_population<double>(device_population<double>&, uint64_t, uint64_t, double,
                                         const event*);
template void decode_population<float>(const device_population<float>&, uint64_t, uint64_t, bool,
                                       population_chunk&);
template void decode_population<double>(const device_population<double>&, uint64_t, uint64_t, bool,
                                        population_chunk&);

}  // namespace spikesim::cuda
