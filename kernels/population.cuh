// One population of the CUDA backend (backend.cu) as the files of its roles share it: its device
// state and buffers, and the functions that set it up (population_setup.cu), launch its kernel
// (population.cu), collect a launch's spikes, counts and traces (spike_collection.cu) and save or
// restore it for a checkpoint (checkpoint_state.cu).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/models/neuron.hpp>
#include <spikesim/simulation.hpp>
#include <spikesim/spec.hpp>

#include "chunk_exchange.hpp"
#include "connectivity.cuh"
#include "cuda_check.cuh"
#include "population_state.hpp"

namespace spikesim::cuda {

constexpr unsigned max_block = 256;
// The population kernel's warp ballots (full mask) and its __syncthreads_count in every step
// need whole warps whose threads all run every step: blocks of a multiple of 32 threads.
static_assert(max_block % 32 == 0, "blocks of whole warps");
// The neuron-steps of an automatic chunk (chunk_neuron_steps()): 2^28, 16 times the CPU
// backend's 2^24. Between two chunks the device waits for the host: the flags' copy and the
// stream synchronisation, the sort and copies of the collected chunk, the next launch; some tens
// of microseconds, perhaps 100 (tools/gpu-check.sh measures chunks of 16, 268 and 1000 steps at
// N = 10^6). At the target of 10^11 neuron-steps/s a chunk of 2^24 lasts 170 us, so that gap
// would idle the GPU a third of the time at N >= 10^6; 2^28 lasts 2.7 ms, under 4% idle. The
// cost is device memory: the initial spike buffers hold 4 x 200 Hz of spikes, 0.08 keys per
// neuron-step at dt = 0.1 ms, 2 x 8 bytes each: 330 MiB at 2^28 (20 MiB at 2^24); a population
// firing at every step grows them to 4 GiB, or fails with a memory_error that advises a shorter
// run.chunk_steps. The bound only acts between 2.7e5 and 1.7e7 neurons (1000 and 16 steps).
constexpr uint64_t device_chunk_neuron_steps = uint64_t{1} << 28;

constexpr unsigned long long no_neuron = ~0ull;

// A launch numbers its steps with 24 bits of the spike key (16.7 M steps); the neuron id has the
// other 40. Longer chunks are run in several launches.
constexpr uint64_t max_launch_steps = uint64_t{1} << 24;
constexpr uint32_t max_id_bits = 40;

// An input pulse as the kernel sees it: steps [start_step, stop_step) add amp[i], or
// amp_uniform when amp is null.
template <class T>
struct pulse_desc {
  uint64_t start_step;
  uint64_t stop_step;
  const T* amp;
  T amp_uniform;
};

struct chunk_flags {
  unsigned long long spikes;           // counted, also beyond the key buffer's capacity
  unsigned long long first_nonfinite;  // lowest neuron id whose u is not finite, or no_neuron
};

// One population on the device: the state (two copies, `cur` holds it), the read-only inputs, the
// output buffers of one launch and their pinned host mirrors.
template <class T>
struct device_population {
  std::string name;
  uint32_t index = 0;
  uint64_t seed = 1;        // Philox key of the population's draws
  uint32_t rng_stream = 0;  // its stream block
  model_kind model = kind_of<lif_model>;
  noise_kind noise = noise_kind::none;
  model_coeffs<T> coeffs{};
  uint64_t n = 0;          // neurons held here: all, or a rank's slice
  uint64_t id_offset = 0;  // population-local id of element 0 (a rank's slice)
  uint32_t id_bits = 1;    // of the population-local ids of the whole population
  unsigned block = max_block;
  bool record = true;
  bool gather = true;   // spike keys are collected: recorded, delivered, or exchanged
  bool to_host = true;  // the collected keys are sorted and copied to the host
  bool source = false;  // the source of a projection
  uint64_t trace_every = 1;
  uint32_t n_traces = 0;
  uint32_t n_pulses = 0;
  int cur = 0;

  device_buffer<T> u[2];
  device_buffer<int32_t> ref[2];
  device_buffer<T> eta[2];
  device_buffer<T> gates[2][3];  // HH m, h, n
  device_buffer<T> I_base;
  std::vector<device_buffer<T>> pulse_amp;
  device_buffer<pulse_desc<T>> pulse_table;
  device_buffer<uint64_t> source_row, source_steps;  // a times-list source
  device_buffer<uint64_t> trace_ids;
  device_buffer<float> traces;
  device_buffer<uint32_t> counts;
  device_buffer<uint64_t> keys, keys_alt;  // cub sorts between the two
  uint64_t key_capacity = 0;
  device_buffer<unsigned char> sort_temp;
  device_buffer<chunk_flags> flags;

  // Synaptic input (empty without projections onto the population or Poisson drive): rings
  // [slots][n] of int64 in 2^-24 fixed point, slot = step % slots, as on the CPU.
  bool syn = false;
  uint64_t slots = 1;
  device_buffer<int64_t> ring_delta;
  device_buffer<int64_t> ring_exp[max_exp_ports];  // per exp current
  // [port][copy]: the exp currents (nA), each double-buffered like u
  device_buffer<T> i_syn[max_exp_ports][2];
  exp_synapse_coeffs<T> exp_syn{};  // decay, gain, the Poisson's jump (population_state.hpp)
  bool poisson = false;
  double poisson_lambda = 0.0;
  double poisson_exp = 1.0;
  T poisson_weight = T(0);
  const uint64_t* delivery_keys = nullptr;  // the collected chunk's keys, for delivery
  uint64_t gathered_spikes = 0;
  // Over ranks, for a source of projections: the keys of the spikes of all ranks, delivered in
  // place of the gathered ones, and their pinned staging copy.
  device_buffer<uint64_t> exchanged_keys;
  pinned_buffer<uint64_t> exchanged_keys_host;

  pinned_buffer<chunk_flags> flags_host;
  pinned_buffer<uint64_t> keys_host;
  pinned_buffer<uint32_t> counts_host;
  pinned_buffer<float> traces_host;
  uint64_t collected_spikes = 0;  // sorted keys in keys_host

  cuda::stream stream;  // the stream and its event last, so destroyed first
  event ready;          // recorded once a collected chunk's keys and cleared slots are final
};

// The first `count` elements of d, copied to the host.
template <class V>
std::vector<V> download(const device_buffer<V>& d, uint64_t count) {
  std::vector<V> h(count);
  if (count)
    SPIKESIM_CUDA_CHECK(cudaMemcpy(h.data(), d.data(), count * sizeof(V), cudaMemcpyDeviceToHost));
  return h;
}

// --- set-up and memory (population_setup.cu) ---

uint64_t saturating_mul(uint64_t a, uint64_t b);

// The chunk simulate() takes on this backend (chunk_steps_for(spec, backend)), for sizing the
// buffers before the backend exists.
uint64_t device_chunk_steps(const experiment_spec& spec);

// Room for four times the spikes of a population firing at a busy 200 Hz and at least 2^20, but
// never more than one spike per neuron and step. Denser firing overflows it once: the chunk is
// then run again with the buffer grown to the counted size, which later chunks keep.
uint64_t initial_key_capacity(uint64_t n, uint64_t steps, double dt);

// What a population takes part in: spikes gathered (recorded, delivered, or over ranks always:
// the exchange carries every spike), whether it is the source of a projection, and the synaptic
// input it receives, as the backend sets them up. Ring slots: the longest delay onto the
// population + 1, as on the CPU.
struct population_roles {
  bool gather = false;
  bool source = false;
  uint64_t slots = 1;
  bool delta = false;
  uint32_t exp_ports = 0;
};
population_roles roles_of(const experiment_spec& spec, uint32_t p, bool ranks);

// The device memory of the backend before anything is allocated. `slices`: the neurons held
// here (partition_neurons()); `ranks`: the run is spread over ranks.
uint64_t estimate_device_bytes(const experiment_spec& spec, uint64_t chunk_steps,
                               const std::vector<neuron_slice>& slices, bool ranks);

// Population ps, or the neurons of it in `slice` (over ranks), with its state and buffers on the
// device (as make_population_state() builds it for the CPU), for chunks of `chunk` steps on a
// device of `sms` multiprocessors.
template <class T>
std::unique_ptr<device_population<T>> make_device_population(const experiment_spec& spec,
                                                             const population_spec& ps,
                                                             neuron_slice slice, bool ranks,
                                                             uint64_t chunk, int sms);

// Rings, exp-synapse currents and Poisson coefficients of p, as setup_inputs() of the CPU
// backend derives them (the same host expressions, so the same bits).
template <class T>
void setup_population_inputs(device_population<T>& p, const experiment_spec& spec, bool ranks);

// Output buffers for a launch of `steps` steps. Only called while the population's stream is
// idle.
template <class T>
void ensure_output(device_population<T>& p, uint64_t steps);

// --- the population kernel (population.cu) ---

// Enqueues steps [first, first + steps) from the current state copy into the other one, after
// the work `delivered` waits for (the last spike delivery; null without a network).
template <class T>
void launch_population(device_population<T>& p, uint64_t first, uint64_t steps,
                       const event* delivered);

// --- collection of a launch (spike_collection.cu) ---

// Trace rows of steps [first, first + steps): the steps that are multiples of `every`, the first
// of them at trace_first_step().
uint64_t trace_first_step(uint64_t first, uint64_t every);
uint64_t trace_rows(uint64_t first, uint64_t steps, uint64_t every);

// Waits for a launch of [first, first + steps); throws on a non-finite potential, runs the
// chunk again if the spike buffer overflowed, then enqueues the sort and the copies to pinned
// memory. `dt` (ms) for the messages.
template <class T>
void collect_population(device_population<T>& p, uint64_t first, uint64_t steps, double dt,
                        const event* delivered);

// Turns the pinned copies of a collected launch into the caller's chunk; with `counts_only`
// (over ranks, where the exchange puts in the spikes of all ranks) the spikes are left out.
template <class T>
void decode_population(const device_population<T>& p, uint64_t first, uint64_t steps,
                       bool counts_only, population_chunk& out);

// The spike of a gathered key of a launch that started at step `first`.
inline spike_record key_spike(uint64_t key, uint32_t id_bits, uint64_t first) {
  return {first + (key >> id_bits), key & ((uint64_t{1} << id_bits) - 1)};
}

// --- checkpoints (checkpoint_state.cu) ---

// Appends the arrays of p's state (copy `cur`) that a checkpoint holds, under the names the CPU
// backend gives them.
template <class T>
void save_population_state(const device_population<T>& p, std::vector<state_array>& st);

// Loads p's state (copy `cur`) from the arrays `st`; throws input_error for a missing array or
// one of the wrong size.
template <class T>
void restore_population_state(device_population<T>& p, const std::vector<state_array>& st);

// The array `name` of `st`; throws input_error when there is none.
const state_array& find_state_array(const std::vector<state_array>& st, const std::string& name);

}  // namespace spikesim::cuda
