// The CUDA backend: one thread per neuron advances a whole chunk of steps in one kernel launch
// with its state in registers, using the model math and random streams of the CPU backend
// (src/cpu/population.cpp), whose output it reproduces: the same spikes in the same order, the
// same per-step counts and traces.
//
// Organisation of a chunk, per population (each population has its own stream, so the kernels
// of small populations run side by side):
//   launch    zero the per-step counts and the flags, run the kernel, copy the flags (spike
//             count, first non-finite neuron) to pinned memory;
//   collect   wait for the flags; a non-finite potential throws; a spike buffer that overflowed
//             is grown to the counted size and the chunk is run again from its start state;
//             then radix-sort the spike keys on the device (cub) and copy keys, counts and
//             traces to pinned memory;
//   decode    turn keys into (step, id) pairs in the caller's chunk_output.
// The state is double-buffered: a kernel reads u/ref/eta from one copy and writes the other, so
// the start state of a chunk survives for a rerun without a copy, and the copies only swap
// roles once a chunk is collected.
//
// Overlap with the host: advance() must return chunk k complete, so the host's writing of
// chunk k (sorting is on the device) can only overlap a kernel already running for chunk k + 1.
// advance() therefore launches chunk k + 1 speculatively, with the same length (or the rest of
// the run, if shorter), into the spare state copy before decoding chunk k, and the next call
// collects it. The speculation is dropped, at the cost of the idle GPU time it used, if the call
// asks for another range; the state is unaffected. A collect-side interface (advance()
// launching, a separate call handing back chunk k - 1, or a recorder that takes ownership of
// pinned buffers) would make the pipelining explicit and let the sort and copies of chunk k
// overlap the host too; with the present interface only the kernel overlaps.
//
// Over ranks (docs/scaling.md) a backend holds its rank's slice of each population: array
// element i is neuron id_offset + i, the population-local id that keys its random numbers, its
// trace column and its spike keys. Every population gathers its spikes then; after a chunk they
// are sorted and copied to the host, exchanged with the other ranks (chunk_exchange, shared with
// the CPU backend), and the spikes of all ranks are copied back to the device and delivered into
// the local rings before the next chunk is launched, speculatively as above.
//
// Determinism: results do not depend on the launch shape. Every random number is a pure function
// of (seed, stream, neuron id, step); spikes are gathered in arbitrary order and sorted by the
// key (step << id_bits) | id, which is unique, so the sort order is total; the per-step counts
// are integer sums.
#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/connectivity.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/models/exp_synapse.hpp>
#include <spikesim/rng.hpp>
#include <spikesim/simulation.hpp>

#include "chunk_exchange.hpp"
#include "connectivity.cuh"
#include "cuda_check.cuh"
#include "device_ops.cuh"
#include "population_state.hpp"

namespace spikesim {
namespace {

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

// Spike keys a block gathers in shared memory (8 KiB) before appending them to the global
// buffer with one atomic; a block flushes when fewer than blockDim.x slots are left.
constexpr unsigned gather_capacity = 1024;
constexpr unsigned long long no_neuron = ~0ull;
// Device memory the estimate leaves for the CUDA context's own allocations, cub's temporary
// storage rounding and allocation granularity.
constexpr uint64_t memory_reserve = uint64_t{64} << 20;

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

template <class T>
struct kernel_args {
  model_coeffs<T> c;
  uint64_t n;
  uint64_t id_offset;  // population-local id of neuron 0 of the arrays (a rank's slice)
  uint64_t seed;
  uint32_t noise_stream;
  uint64_t first;
  uint64_t steps;
  const T* u_in;
  const int32_t* ref_in;
  const T* eta_in;
  T* u_out;
  int32_t* ref_out;
  T* eta_out;
  const T* gates_in[3];  // HH m, h, n
  T* gates_out[3];
  const T* I_base;
  const pulse_desc<T>* pulses;
  uint32_t n_pulses;
  const uint64_t* trace_ids;
  uint32_t n_traces;
  uint64_t trace_every;
  uint64_t trace_first;
  float* traces;     // [rows][n_traces]
  uint32_t* counts;  // [steps]
  uint64_t* keys;    // (step - first) << id_bits | population-local id
  uint64_t key_capacity;
  uint32_t id_bits;
  bool gather_spikes;  // recorded, or delivered to projections
  chunk_flags* flags;
  // Synaptic and Poisson input (kernels instantiated with syn = true only). The rings are read,
  // not cleared: the backend clears a chunk's slots once the chunk is accepted, so that a
  // speculative or repeated launch leaves them intact.
  const int64_t* ring_delta;               // [slots][n] or null
  const int64_t* ring_exp[max_exp_ports];  // [slots][n] per exp current
  uint64_t slots;
  uint32_t exp_ports;               // exp currents (population_state.hpp)
  const T* isyn_in[max_exp_ports];  // the exp currents, double-buffered like u
  T* isyn_out[max_exp_ports];
  T syn_decay[max_exp_ports];
  T syn_gain[max_exp_ports];  // drive (mV) per nA of I_syn held over a step
  bool poisson;
  uint32_t poisson_stream;  // also a Poisson source's draws (model source)
  double poisson_lambda;
  double poisson_exp;  // e^-lambda
  T poisson_weight;
  bool poisson_exp_syn;   // the Poisson jumps are jumps of an exp current (fixed point):
  uint32_t poisson_port;  // of this one,
  int64_t poisson_fixed;  // by 2^-24 nA per jump
  // A times-list source (model source): neuron i's spike steps are
  // source_steps[source_row[i] .. source_row[i + 1]) (population_state.hpp).
  const uint64_t* source_row;
  const uint64_t* source_steps;
};

uint32_t bit_width(uint64_t x) {
  uint32_t b = 0;
  while (x != 0) {
    ++b;
    x >>= 1;
  }
  return b;
}

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  return a != 0 && b > ~uint64_t{0} / a ? ~uint64_t{0} : a * b;
}

// R_m (I + active pulses) for neuron i from step s on, and in seg_end the step at which the
// pulses next change (or the end of the launch). The operations and their order are the CPU
// backend's, so the drive has the same bits.
template <class T>
__device__ T segment_drive(const kernel_args<T>& a, uint64_t i, bool active, uint64_t s,
                           uint64_t& seg_end) {
  seg_end = a.first + a.steps;
  T d = active ? a.I_base[i] : T(0);
  for (uint32_t k = 0; k < a.n_pulses; ++k) {
    const pulse_desc<T> p = a.pulses[k];
    if (p.start_step > s) seg_end = min(seg_end, p.start_step);
    if (p.stop_step > s) seg_end = min(seg_end, p.stop_step);
    if (active && p.start_step <= s && s < p.stop_step) d += p.amp ? p.amp[i] : p.amp_uniform;
  }
  return d * a.c.input_gain;
}

// Appends the block's gathered keys to the global buffer: one atomic per block. Keys beyond the
// buffer's capacity are dropped, but counted, so that the host can grow it and run again.
__device__ void flush_spikes(const uint64_t* s_keys, unsigned fill, unsigned* s_fill,
                             unsigned long long* s_base, chunk_flags* flags, uint64_t* keys,
                             uint64_t capacity) {
  if (threadIdx.x == 0) {
    *s_base = atomicAdd(&flags->spikes, static_cast<unsigned long long>(fill));
    // Safe before the barrier: the next gather starts after the second barrier below.
    *s_fill = 0;
  }
  __syncthreads();
  const unsigned long long base = *s_base;
  for (unsigned k = threadIdx.x; k < fill; k += blockDim.x)
    if (base + k < capacity) keys[base + k] = s_keys[k];
  __syncthreads();
}

// Steps [first, first + steps) of one population, one thread per neuron. All threads of a block,
// including those past the last neuron, run every step: the spike gathering synchronises the
// block once per step (__syncthreads_count, which also yields the block's spike count).
// `syn`: the population receives synapses or Poisson drive, read as run_tile() does on the CPU.
template <class T, model_kind kind, noise_kind noise, bool syn>
__global__ void __launch_bounds__(max_block)
    advance_population_kernel(const __grid_constant__ kernel_args<T> a) {
  __shared__ uint64_t s_keys[gather_capacity];
  __shared__ unsigned s_fill;
  __shared__ unsigned long long s_base;

  const uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool active = i < a.n;
  const uint64_t id = a.id_offset + i;  // what draws, traces and spikes are keyed by
  const unsigned lane = threadIdx.x & 31u;

  neuron_vars<T> v{T(0), 0, T(0), T(0), T(0), T(0)};
  T isyn[max_exp_ports] = {};
  if (active) {
    v.u = a.u_in[i];
    v.ref = a.ref_in[i];
    if constexpr (syn) {
#pragma unroll
      for (uint32_t k = 0; k < max_exp_ports; ++k)
        if (k < a.exp_ports) isyn[k] = a.isyn_in[k][i];
    }
    if constexpr (noise == noise_kind::ou) v.eta = a.eta_in[i];
    if constexpr (kind == model_kind::hh) {
      v.m = a.gates_in[0][i];
      v.h = a.gates_in[1][i];
      v.n = a.gates_in[2][i];
    }
  }
  // The neuron's column in the trace rows, if it is recorded (trace_ids is sorted).
  int64_t slot = -1;
  if (active && a.n_traces > 0) {
    uint32_t lo = 0, hi = a.n_traces;
    while (lo < hi) {
      const uint32_t mid = (lo + hi) / 2;
      if (a.trace_ids[mid] < id)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < a.n_traces && a.trace_ids[lo] == id) slot = lo;
  }
  // A times-list source's next spike step (~0: none left in its list).
  uint64_t cursor = 0, cursor_end = 0, next_spike = ~uint64_t{0};
  if constexpr (kind == model_kind::source) {
    if (active && a.c.src.kind == source_kind::times) {
      cursor_end = a.source_row[i + 1];
      cursor = source_cursor(a.source_steps, a.source_row[i], cursor_end, a.first);
      if (cursor < cursor_end) next_spike = a.source_steps[cursor];
    }
  }
  if (threadIdx.x == 0) s_fill = 0;
  __syncthreads();

  const uint64_t end = a.first + a.steps;
  uint64_t seg_end = a.first;
  T drive = T(0);
  // Only a traced neuron counts trace rows; for the others (all of them, usually) the test below
  // never holds.
  uint64_t next_trace = slot >= 0 ? a.trace_first : ~uint64_t{0};
  uint64_t row = 0;
  float z0 = 0.0f, z1 = 0.0f, z2 = 0.0f, z3 = 0.0f;
  unsigned fill = 0;  // keys in s_keys; the same in every thread
  uint64_t ring_slot = syn ? a.first % a.slots : 0;

  for (uint64_t s = a.first; s < end; ++s) {
    if (s == seg_end) drive = segment_drive(a, i, active, s, seg_end);
    // Four steps of deviates per Philox call, the CPU's blocks: block s >> 2 serves steps
    // 4 (s >> 2) ... + 3, drawn at the block's first step or at the chunk's first step.
    if (noise != noise_kind::none && active && (s == a.first || (s & 3) == 0)) {
      const rng::f32x4 q = rng::normal4(a.seed, a.noise_stream, id, s >> 2);
      z0 = q.v[0];
      z1 = q.v[1];
      z2 = q.v[2];
      z3 = q.v[3];
    }
    if (s == next_trace) {
      a.traces[row * a.n_traces + slot] = static_cast<float>(v.u);
      ++row;
      next_trace += a.trace_every;
    }
    const unsigned j = static_cast<unsigned>(s & 3);
    const float z = j == 0 ? z0 : j == 1 ? z1 : j == 2 ? z2 : z3;
    bool spike;
    if constexpr (kind == model_kind::source) {
      // models/source.hpp, as the CPU's run_source_tile()
      if (a.c.src.kind == source_kind::times) {
        spike = active && s == next_spike;
        if (spike) next_spike = ++cursor < cursor_end ? a.source_steps[cursor] : ~uint64_t{0};
      } else {
        spike = active && poisson_source_spike(a.c.src, a.seed, a.poisson_stream, id, s);
      }
    } else if constexpr (syn) {
      // The CPU's run_tile(), operation for operation: the delta slot and then the Poisson
      // jumps make `jump`; each exp current in port order raises the drive by its value at the
      // start of the step, then decays and takes this step's arrivals.
      T jump = T(0);
      T step_drive = drive;
      if (active) {
        const uint64_t at = ring_slot * a.n + i;
        if (a.ring_delta)
          jump = static_cast<T>(a.ring_delta[at]) * static_cast<T>(fixed_point_resolution());
        int64_t exp_in[max_exp_ports] = {};
#pragma unroll
        for (uint32_t k = 0; k < max_exp_ports; ++k)
          if (k < a.exp_ports) exp_in[k] = a.ring_exp[k][at];
        if (a.poisson) {
          const uint32_t k =
              rng::poisson_count(a.seed, a.poisson_stream, id, s, a.poisson_lambda, a.poisson_exp);
          if (a.poisson_exp_syn) {  // jumps of an exp current, in fixed point like the ring
            const int64_t jumps = static_cast<int64_t>(k) * a.poisson_fixed;
#pragma unroll
            for (uint32_t q = 0; q < max_exp_ports; ++q)  // a constant index keeps it in registers
              if (q == a.poisson_port) exp_in[q] += jumps;
          } else {
            jump += static_cast<T>(k) * a.poisson_weight;
          }
        }
#pragma unroll
        for (uint32_t k = 0; k < max_exp_ports; ++k)
          if (k < a.exp_ports)
            step_drive =
                exp_current_step(step_drive, isyn[k], exp_in[k], a.syn_gain[k], a.syn_decay[k]);
      }
      if (++ring_slot == a.slots) ring_slot = 0;
      spike = step_neuron<T, kind, noise>(a.c, v, step_drive, z, jump) && active;
    } else {
      spike = step_neuron<T, kind, noise>(a.c, v, drive, z) && active;
    }

    if (a.gather_spikes) {
      // One shared-memory atomic per warp with spikes, not one per spike.
      const unsigned mask = __ballot_sync(0xffffffffu, spike);
      if (mask != 0) {
        const int leader = __ffs(mask) - 1;
        unsigned base = 0;
        if (static_cast<int>(lane) == leader) base = atomicAdd(&s_fill, __popc(mask));
        base = __shfl_sync(0xffffffffu, base, leader);
        if (spike)
          s_keys[base + __popc(mask & ((1u << lane) - 1u))] = ((s - a.first) << a.id_bits) | id;
      }
    }
    const int block_spikes = __syncthreads_count(spike);
    if (block_spikes != 0) {
      if (threadIdx.x == 0) atomicAdd(&a.counts[s - a.first], static_cast<unsigned>(block_spikes));
      if (a.gather_spikes) {
        fill += static_cast<unsigned>(block_spikes);
        if (fill > gather_capacity - blockDim.x) {
          flush_spikes(s_keys, fill, &s_fill, &s_base, a.flags, a.keys, a.key_capacity);
          fill = 0;
        }
      }
    }
  }
  if (a.gather_spikes && fill > 0)
    flush_spikes(s_keys, fill, &s_fill, &s_base, a.flags, a.keys, a.key_capacity);

  if (active) {
    a.u_out[i] = v.u;
    a.ref_out[i] = v.ref;
    if constexpr (noise == noise_kind::ou) a.eta_out[i] = v.eta;
    if constexpr (syn) {
#pragma unroll
      for (uint32_t k = 0; k < max_exp_ports; ++k)
        if (k < a.exp_ports) a.isyn_out[k][i] = isyn[k];
    }
    if constexpr (kind == model_kind::hh) {
      a.gates_out[0][i] = v.m;
      a.gates_out[1][i] = v.h;
      a.gates_out[2][i] = v.n;
    }
    if (!cuda::is_finite(v.u))
      cuda::atomic_min(&a.flags->first_nonfinite, static_cast<unsigned long long>(id));
  }
}

// A launch numbers its steps with 24 bits of the spike key (16.7 M steps); the neuron id has the
// other 40. Longer chunks are run in several launches.
constexpr uint64_t max_launch_steps = uint64_t{1} << 24;
constexpr uint32_t max_id_bits = 40;

// The chunk simulate() takes on this backend (chunk_steps_for(spec, backend)), for sizing the
// buffers before the backend exists.
uint64_t device_chunk_steps(const experiment_spec& spec) {
  return chunk_steps_for(spec, spec.min_delay_steps() > 0 ? spec.min_delay_steps() : ~uint64_t{0},
                         device_chunk_neuron_steps);
}

uint64_t trace_first_step(uint64_t first, uint64_t every) {
  return (first + every - 1) / every * every;
}

// Trace rows of steps [first, first + steps): the steps that are multiples of `every`.
uint64_t trace_rows(uint64_t first, uint64_t steps, uint64_t every) {
  const uint64_t t0 = trace_first_step(first, every);
  return t0 < first + steps ? (first + steps - 1 - t0) / every + 1 : 0;
}

// Room for four times the spikes of a population firing at a busy 200 Hz and at least 2^20, but
// never more than one spike per neuron and step. Denser firing overflows it once: the chunk is
// then run again with the buffer grown to the counted size, which later chunks keep.
uint64_t initial_key_capacity(uint64_t n, uint64_t steps, double dt) {
  const double expected =
      4.0 * 200.0 * 1e-3 * dt * static_cast<double>(n) * static_cast<double>(steps);
  const uint64_t floor = uint64_t{1} << 20;
  const uint64_t cap =
      expected >= 0x1p62 ? uint64_t{1} << 62 : std::max(floor, static_cast<uint64_t>(expected));
  return std::min(cap, saturating_mul(n, steps));
}

// cub's temporary storage for sorting `items` keys (a host-side query).
size_t sort_temp_bytes(uint64_t items, int end_bit) {
  size_t bytes = 0;
  cub::DoubleBuffer<uint64_t> keys(nullptr, nullptr);
  SPIKESIM_CUDA_CHECK(cub::DeviceRadixSort::SortKeys(nullptr, bytes, keys, items, 0, end_bit));
  return bytes;
}

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

population_roles roles_of(const experiment_spec& spec, uint32_t p, bool ranks) {
  population_roles r;
  r.gather = ranks || spec.populations[p].record.spikes;
  uint64_t max_delay = 0;
  for (const auto& q : spec.projections) {
    if (q.source == p) r.gather = r.source = true;
    if (q.target != p) continue;
    max_delay = std::max<uint64_t>(max_delay, q.max_delay_steps(spec.run.dt));
    if (q.synapse == synapse_kind::delta) r.delta = true;
  }
  r.exp_ports = exp_port_count(spec, p);
  r.slots = max_delay + 1;
  return r;
}

// The device memory of one population, from its spec alone: the memory check runs before the
// host state is built or anything is allocated, and counts what the backend then allocates for
// the n neurons it holds (all, or a rank's slice).
uint64_t population_device_bytes(const experiment_spec& spec, const population_spec& p,
                                 uint64_t steps, uint64_t n, bool ranks) {
  const uint64_t real = spec.run.prec == precision::single ? 4 : 8;
  const bool ou = p.input.noise.tau_noise > 0.0;
  const uint64_t gates = std::holds_alternative<hh_params>(p.params) ? 3 : 0;
  // u, ref, eta and the HH gates, double-buffered
  uint64_t bytes = 2 * n * (real + 4 + (ou ? real : 0) + gates * real);
  bytes += n * real;                              // I_base
  if (p.source.type == source_spec::kind::times)  // the slice's part of the list, at most all
    bytes += (n + 1) * 8 + p.source.ids.size() * 8;
  for (const auto& q : p.input.pulses) {
    bytes += sizeof(pulse_desc<double>);
    if (!q.amplitude.uniform()) bytes += n * real;
  }
  const uint64_t n_traces = p.record.traces.size();
  bytes +=
      n_traces * 8 + n_traces * 4 * ((steps + p.record.trace_every - 1) / p.record.trace_every);
  bytes += steps * 4 + sizeof(chunk_flags);
  const population_roles r = roles_of(spec, p.index, ranks);
  if (r.gather) {
    const uint64_t cap = initial_key_capacity(n, steps, spec.run.dt);
    bytes += 2 * cap * 8 + (p.record.spikes || ranks ? sort_temp_bytes(cap, 64) : 0);
  }
  // Over ranks, the spikes of all ranks to deliver (the buffer grows when they do not fit).
  if (ranks && r.source) bytes += initial_key_capacity(p.size, steps, spec.run.dt) * 8;
  bytes += (r.delta + r.exp_ports) * r.slots * n * 8;  // rings
  bytes += r.exp_ports * 2 * n * real;                 // the exp currents, double-buffered
  return bytes;
}

// The projections onto the neurons held here: all of their storage, plus the transient buffers
// of the largest build (projections are built one after the other).
uint64_t network_device_bytes(const experiment_spec& spec,
                              const std::vector<neuron_slice>& slices) {
  uint64_t storage = 0, transient = 0;
  for (const auto& q : spec.projections) {
    const cuda::projection_bytes b = cuda::projection_device_bytes(spec, q, slices[q.target]);
    storage += b.storage;
    transient = std::max(transient, b.transient);
  }
  return storage + transient + (spec.projections.empty() ? 0 : sizeof(unsigned long long));
}

// `slices`: the neurons held here (partition_neurons()); `ranks`: the run is spread over ranks.
uint64_t estimate_device_bytes(const experiment_spec& spec, uint64_t chunk_steps,
                               const std::vector<neuron_slice>& slices, bool ranks) {
  uint64_t bytes = memory_reserve;
  for (const auto& p : spec.populations)
    bytes += population_device_bytes(spec, p, chunk_steps, slices[p.index].size(), ranks);
  return bytes + network_device_bytes(spec, slices);
}

// Threads per block: 256 once there are plenty of neurons, fewer so that a small population is
// still spread over every SM.
unsigned block_for(uint64_t n, int sms) {
  unsigned b = max_block;
  while (b > 64 && n < uint64_t{b} * static_cast<uint64_t>(sms) * 4) b /= 2;
  return b;
}

template <class T>
void upload(cuda::device_buffer<T>& d, const std::vector<T>& h) {
  d.allocate(h.size());
  if (!h.empty())
    SPIKESIM_CUDA_CHECK(
        cudaMemcpy(d.data(), h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
}

// The type of a population kernel's address, by decltype: clang, which compiles the emulated build
// (docs/architecture.md), gives a __global__ function a type that `void (*)(kernel_args<T>)`
// does not name.
template <class T>
using population_kernel =
    decltype(&advance_population_kernel<T, model_kind::lif, noise_kind::none, false>);

template <class T, model_kind kind, bool syn>
population_kernel<T> kernel_for(noise_kind noise) {
  switch (noise) {
    case noise_kind::none:
      return &advance_population_kernel<T, kind, noise_kind::none, syn>;
    case noise_kind::white:
      return &advance_population_kernel<T, kind, noise_kind::white, syn>;
    case noise_kind::ou:
      return &advance_population_kernel<T, kind, noise_kind::ou, syn>;
  }
  return nullptr;
}

template <class T, model_kind kind>
population_kernel<T> kernel_for(noise_kind noise, bool syn) {
  return syn ? kernel_for<T, kind, true>(noise) : kernel_for<T, kind, false>(noise);
}

// Rate units and sources take neither synapses nor Poisson input (the config refuses both), as
// on the CPU.
template <class T>
population_kernel<T> kernel_for(model_kind model, noise_kind noise, bool syn) {
  switch (model) {
    case model_kind::lif:
      return kernel_for<T, model_kind::lif>(noise, syn);
    case model_kind::eif:
      return kernel_for<T, model_kind::eif>(noise, syn);
    case model_kind::hh:
      return kernel_for<T, model_kind::hh>(noise, syn);
    case model_kind::rate:
      return &advance_population_kernel<T, model_kind::rate, noise_kind::none, false>;
    case model_kind::source:
      return &advance_population_kernel<T, model_kind::source, noise_kind::none, false>;
  }
  return nullptr;
}

// One population on the device: the state (two copies, `cur` holds it), the read-only inputs, the
// output buffers of one launch and their pinned host mirrors.
template <class T>
struct device_population {
  std::string name;
  uint32_t index = 0;
  uint64_t seed = 1;        // Philox key of the population's draws
  uint32_t rng_stream = 0;  // its stream block
  model_kind model = model_kind::lif;
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

  cuda::device_buffer<T> u[2];
  cuda::device_buffer<int32_t> ref[2];
  cuda::device_buffer<T> eta[2];
  cuda::device_buffer<T> gates[2][3];  // HH m, h, n
  cuda::device_buffer<T> I_base;
  std::vector<cuda::device_buffer<T>> pulse_amp;
  cuda::device_buffer<pulse_desc<T>> pulse_table;
  cuda::device_buffer<uint64_t> source_row, source_steps;  // a times-list source
  cuda::device_buffer<uint64_t> trace_ids;
  cuda::device_buffer<float> traces;
  cuda::device_buffer<uint32_t> counts;
  cuda::device_buffer<uint64_t> keys, keys_alt;  // cub sorts between the two
  uint64_t key_capacity = 0;
  cuda::device_buffer<unsigned char> sort_temp;
  cuda::device_buffer<chunk_flags> flags;

  // Synaptic input (empty without projections onto the population or Poisson drive): rings
  // [slots][n] of int64 in 2^-24 fixed point, slot = step % slots, as on the CPU.
  bool syn = false;
  uint64_t slots = 1;
  cuda::device_buffer<int64_t> ring_delta;
  cuda::device_buffer<int64_t> ring_exp[max_exp_ports];  // per exp current
  // [port][copy]: the exp currents (nA), each double-buffered like u
  cuda::device_buffer<T> i_syn[max_exp_ports][2];
  exp_synapse_coeffs<T> exp_syn{};  // decay, gain, the Poisson's jump (population_state.hpp)
  bool poisson = false;
  double poisson_lambda = 0.0;
  double poisson_exp = 1.0;
  T poisson_weight = T(0);
  const uint64_t* delivery_keys = nullptr;  // the collected chunk's keys, for delivery
  uint64_t gathered_spikes = 0;
  // Over ranks, for a source of projections: the keys of the spikes of all ranks, delivered in
  // place of the gathered ones, and their pinned staging copy.
  cuda::device_buffer<uint64_t> exchanged_keys;
  cuda::pinned_buffer<uint64_t> exchanged_keys_host;

  cuda::pinned_buffer<chunk_flags> flags_host;
  cuda::pinned_buffer<uint64_t> keys_host;
  cuda::pinned_buffer<uint32_t> counts_host;
  cuda::pinned_buffer<float> traces_host;
  uint64_t collected_spikes = 0;  // sorted keys in keys_host

  cuda::stream stream;  // the stream and its event last, so destroyed first
  cuda::event ready;    // recorded once a collected chunk's keys and cleared slots are final
};

template <class T>
class cuda_backend final : public backend {
 public:
  // With `exchange` (more than one rank), the backend simulates its rank's slice.
  cuda_backend(const experiment_spec& spec, int device, rank_exchange* exchange)
      : spec_(spec),
        device_(device),
        description_(cuda::describe_device(device)),
        dt_(spec.run.dt),
        total_steps_(spec.run.steps()),
        exchange_(exchange) {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    if (exchange_) chunks_ = std::make_unique<chunk_exchange>(spec, *exchange_);
    slices_ = exchange_ ? partition_neurons(spec, exchange_->rank(), exchange_->ranks())
                        : partition_neurons(spec, 0, 1);
    int sms = 0;
    SPIKESIM_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_));
    const uint64_t chunk = device_chunk_steps(spec);
    for (const auto& p : spec.populations)
      pops_.push_back(make_population(spec, p, slices_[p.index], exchange_ != nullptr, chunk, sms));
    setup_inputs(spec);
    // cudaMemcpy from pageable memory may return before its DMA has landed, and the populations'
    // non-blocking streams do not wait for the legacy stream that carried it.
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
    build_network(spec);
  }

  ~cuda_backend() override {
    // A speculative launch or a delivery may still run: wait for them before their buffers are
    // freed.
    cudaSetDevice(device_);
    for (auto& p : pops_) cudaStreamSynchronize(p->stream.get());
    cudaStreamSynchronize(net_stream_.get());
    cudaGetLastError();
  }

  std::string name() const override { return "cuda"; }
  std::string device() const override { return description_; }
  uint64_t chunk_neuron_steps() const override { return device_chunk_neuron_steps; }

  network_stats network() const override {
    network_stats s = stats_;
    if (!network_) return s;
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    net_stream_.synchronize();
    unsigned long long events = 0;
    SPIKESIM_CUDA_CHECK(cudaMemcpy(&events, events_.data(), sizeof events, cudaMemcpyDeviceToHost));
    s.synaptic_events = events;
    return s;
  }

  // The state after the last advance() is the copy `cur` of each population's state and the
  // rings as the last delivery left them: a speculative launch only reads both (the rings are
  // cleared when a chunk is accepted, not by the kernel). It is still let finish, so that no copy
  // below runs beside a kernel, and stays valid for the next advance().
  std::vector<state_array> save_state() const override {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    for (const auto& p : pops_) p->stream.synchronize();
    net_stream_.synchronize();
    std::vector<state_array> st;
    for (const auto& pp : pops_) {
      const population& p = *pp;
      const std::string base = "population/" + p.name + "/";
      const int c = p.cur;
      st.push_back(state_array::of(base + "u", download(p.u[c], p.n)));
      st.push_back(state_array::of(base + "ref", download(p.ref[c], p.n)));
      if (p.noise == noise_kind::ou)
        st.push_back(state_array::of(base + "eta", download(p.eta[c], p.n)));
      if (p.model == model_kind::hh) {
        st.push_back(state_array::of(base + "m", download(p.gates[c][0], p.n)));
        st.push_back(state_array::of(base + "h", download(p.gates[c][1], p.n)));
        st.push_back(state_array::of(base + "n", download(p.gates[c][2], p.n)));
      }
      for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
        if (p.ring_exp[k].size())
          st.push_back(state_array::of(base + exp_current_name(k), download(p.i_syn[k][c], p.n)));
      if (p.ring_delta.size())
        st.push_back(
            state_array::of(base + "ring_delta", download(p.ring_delta, p.ring_delta.size())));
      for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
        if (p.ring_exp[k].size())
          st.push_back(state_array::of(base + exp_ring_name(k),
                                       download(p.ring_exp[k], p.ring_exp[k].size())));
    }
    st.push_back(state_array::of("network/synaptic_events",
                                 std::vector<uint64_t>{network().synaptic_events}));
    // Over ranks: the whole network's state, as one process saves it, on rank 0.
    return exchange_ ? gather_state(spec_, st, *exchange_) : st;
  }

  // Writes into the copy `cur`; a pending speculative launch, which started from the old state,
  // is dropped first.
  void restore_state(const std::vector<state_array>& whole) override {
    const std::vector<state_array> st =
        exchange_ ? slice_state(spec_, whole, exchange_->rank(), exchange_->ranks()) : whole;
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    for (const auto& p : pops_) p->stream.synchronize();
    net_stream_.synchronize();
    pending_ = false;
    auto find = [&](const std::string& name) -> const state_array& {
      for (const auto& a : st)
        if (a.name == name) return a;
      throw input_error("checkpoint has no array '" + name + "'");
    };
    auto load = [&](const std::string& name, auto& buffer, uint64_t count) {
      using V = std::remove_cv_t<std::remove_reference_t<decltype(*buffer.data())>>;
      const std::vector<V> x = find(name).template as<V>();
      if (x.size() != count)
        throw input_error("checkpoint array '" + name + "' has " + std::to_string(x.size()) +
                          " values where " + std::to_string(count) + " were expected");
      if (count)
        SPIKESIM_CUDA_CHECK(
            cudaMemcpy(buffer.data(), x.data(), count * sizeof(V), cudaMemcpyHostToDevice));
    };
    for (auto& pp : pops_) {
      population& p = *pp;
      const std::string base = "population/" + p.name + "/";
      const int c = p.cur;
      load(base + "u", p.u[c], p.n);
      load(base + "ref", p.ref[c], p.n);
      if (p.noise == noise_kind::ou) load(base + "eta", p.eta[c], p.n);
      if (p.model == model_kind::hh) {
        load(base + "m", p.gates[c][0], p.n);
        load(base + "h", p.gates[c][1], p.n);
        load(base + "n", p.gates[c][2], p.n);
      }
      for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
        if (p.ring_exp[k].size()) load(base + exp_current_name(k), p.i_syn[k][c], p.n);
      if (p.ring_delta.size()) load(base + "ring_delta", p.ring_delta, p.ring_delta.size());
      for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
        if (p.ring_exp[k].size())
          load(base + exp_ring_name(k), p.ring_exp[k], p.ring_exp[k].size());
    }
    const std::vector<uint64_t> events = find("network/synaptic_events").template as<uint64_t>();
    if (events.size() != 1)
      throw input_error("checkpoint array 'network/synaptic_events' has " +
                        std::to_string(events.size()) + " values where 1 was expected");
    if (network_)
      SPIKESIM_CUDA_CHECK(
          cudaMemcpy(events_.data(), events.data(), sizeof(uint64_t), cudaMemcpyHostToDevice));
    // As in the constructor: the non-blocking streams do not wait for these copies.
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
  }

  std::vector<double> potentials(uint32_t population) const override {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    const auto& p = *pops_.at(population);
    // The current copy is only read by a speculative launch, so this copy need not wait for it.
    const std::vector<T> u = download(p.u[p.cur], p.n);
    return std::vector<double>(u.begin(), u.end());
  }

  void advance(uint64_t first, uint64_t steps, chunk_output& out) override {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    out.first_step = first;
    out.steps = steps;
    out.populations.resize(pops_.size());
    // A launch longer than the shortest delay would need spikes of its own steps.
    const uint64_t limit =
        min_delay_ > 0 ? std::min(max_launch_steps, min_delay_) : max_launch_steps;
    if (steps <= limit) {
      run_chunk(first, steps, out.populations);
      return;
    }
    for (auto& c : out.populations) c = population_chunk{};
    std::vector<population_chunk> part(pops_.size());
    for (uint64_t done = 0; done < steps;) {
      const uint64_t n = std::min(limit, steps - done);
      run_chunk(first + done, n, part);
      for (size_t k = 0; k < part.size(); ++k) append(out.populations[k], part[k]);
      done += n;
    }
  }

 private:
  using population = device_population<T>;

  // Allocates `count` elements set to 0 (nothing for 0), before any stream uses them.
  template <class V>
  static void zeroed(cuda::device_buffer<V>& d, uint64_t count) {
    d.allocate(count);
    if (count) SPIKESIM_CUDA_CHECK(cudaMemset(d.data(), 0, count * sizeof(V)));
  }

  template <class V>
  static std::vector<V> download(const cuda::device_buffer<V>& d, uint64_t count) {
    std::vector<V> h(count);
    if (count)
      SPIKESIM_CUDA_CHECK(
          cudaMemcpy(h.data(), d.data(), count * sizeof(V), cudaMemcpyDeviceToHost));
    return h;
  }

  // Rings, exp-synapse currents and Poisson coefficients, as setup_inputs() of the CPU backend
  // derives them (the same host expressions, so the same bits).
  void setup_inputs(const experiment_spec& spec) {
    for (auto& pp : pops_) {
      population& p = *pp;
      const population_roles r = roles_of(spec, p.index, exchange_ != nullptr);
      p.slots = r.slots;
      // A rank that holds no neuron of the population allocates none of these (size 0), as the
      // CPU backend's empty vectors.
      const uint64_t ring = r.slots * p.n;
      if (r.delta) zeroed(p.ring_delta, ring);
      for (uint32_t k = 0; k < r.exp_ports; ++k) {
        zeroed(p.ring_exp[k], ring);
        for (auto& b : p.i_syn[k]) zeroed(b, p.n);
      }
      if (exchange_ && r.source) {
        const uint64_t cap =
            initial_key_capacity(spec.populations[p.index].size, device_chunk_steps(spec), dt_);
        p.exchanged_keys.allocate(cap);
        p.exchanged_keys_host.reserve(cap);
      }
      p.exp_syn = make_exp_synapse_coeffs<T>(spec, p.index);
      const auto& po = spec.populations[p.index].input.poisson;
      if (po.active()) {
        p.poisson = true;
        p.poisson_lambda = po.rate * 1e-3 * dt_ * static_cast<double>(po.count);
        p.poisson_exp = std::exp(-p.poisson_lambda);
        p.poisson_weight = static_cast<T>(po.weight);
      }
      p.syn = p.model != model_kind::rate && p.model != model_kind::source &&
              (r.delta || r.exp_ports > 0 || p.poisson);
    }
    for (const auto& q : spec.projections) {
      exp_port_.push_back(q.synapse == synapse_kind::exp ? exp_port(spec, q) : 0);
      const uint64_t d = q.min_delay_steps(dt_);
      min_delay_ = min_delay_ == 0 ? d : std::min(min_delay_, d);
    }
  }

  void build_network(const experiment_spec& spec) {
    if (spec.projections.empty()) return;
    network_ = true;
    events_.allocate(1);
    SPIKESIM_CUDA_CHECK(cudaMemset(events_.data(), 0, sizeof(unsigned long long)));
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& q : spec.projections) {
      projections_.push_back(
          cuda::build_device_projection(spec, q, slices_[q.target], net_stream_.get()));
      stats_.synapses += projections_.back().synapses;
      stats_.synapse_bytes += projections_.back().bytes();
    }
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
    stats_.construction_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // After a chunk [first, first + steps) is collected: clear the ring slots its steps read
  // (after its kernel, in each population's stream), then deliver its spikes on the network
  // stream, which waits for every population; the next launches wait for the deliveries.
  // Over ranks, `all` holds the spikes of all ranks (chunk_exchange), delivered in place of the
  // gathered ones.
  void deliver_chunk(uint64_t first, uint64_t steps,
                     const std::vector<std::vector<spike_record>>* all = nullptr) {
    const cudaStream_t net = net_stream_.get();
    for (auto& pp : pops_) {
      population& p = *pp;
      const cudaStream_t s = p.stream.get();
      for (auto* ring : {&p.ring_delta, &p.ring_exp[0], &p.ring_exp[1]}) {
        if (ring->size() == 0) continue;
        // steps <= the shortest delay < slots: one run of slots, perhaps wrapping once.
        const uint64_t s0 = first % p.slots, count = std::min(steps, p.slots);
        const uint64_t head = std::min(count, p.slots - s0);
        SPIKESIM_CUDA_CHECK(
            cudaMemsetAsync(ring->data() + s0 * p.n, 0, head * p.n * sizeof(int64_t), s));
        if (count > head)
          SPIKESIM_CUDA_CHECK(
              cudaMemsetAsync(ring->data(), 0, (count - head) * p.n * sizeof(int64_t), s));
      }
      p.ready.record(s);
      p.ready.make_wait(net);
    }
    if (all) upload_exchanged(first, *all);
    for (const auto& c : projections_) {
      const population& src = *pops_[c.source];
      population& tgt = *pops_[c.target];
      int64_t* ring =
          (c.synapse == synapse_kind::exp ? tgt.ring_exp[exp_port_[c.index]] : tgt.ring_delta)
              .data();
      cuda::deliver_spikes(c, src.delivery_keys, src.gathered_spikes, src.id_bits, first,
                           reinterpret_cast<unsigned long long*>(ring), tgt.slots, events_.data(),
                           net);
    }
    delivered_.record(net);
  }

  // Over ranks: the spikes of all ranks as keys in the format of the gathered ones, copied on the
  // network stream to the device for delivery. The pinned staging buffers are free: this chunk's
  // kernels, collected before, waited for the last chunk's deliveries and so for its copies;
  // synchronising the network stream states it.
  void upload_exchanged(uint64_t first, const std::vector<std::vector<spike_record>>& all) {
    net_stream_.synchronize();
    for (auto& pp : pops_) {
      population& p = *pp;
      if (!p.source) continue;
      const std::vector<spike_record>& sp = all[p.index];
      const uint64_t m = sp.size();
      if (m > p.exchanged_keys.size()) {
        const uint64_t cap = m + m / 8;
        p.exchanged_keys.allocate(cap);
        p.exchanged_keys_host.reserve(cap);
      }
      uint64_t* keys = p.exchanged_keys_host.data();
      for (uint64_t k = 0; k < m; ++k) keys[k] = (sp[k].step - first) << p.id_bits | sp[k].id;
      if (m > 0)
        SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(p.exchanged_keys.data(), keys, m * sizeof(uint64_t),
                                            cudaMemcpyHostToDevice, net_stream_.get()));
      p.delivery_keys = p.exchanged_keys.data();
      p.gathered_spikes = m;
    }
  }

  // Population ps, or the neurons of it in `slice` (over ranks).
  static std::unique_ptr<population> make_population(const experiment_spec& spec,
                                                     const population_spec& ps, neuron_slice slice,
                                                     bool ranks, uint64_t chunk, int sms) {
    auto d = std::make_unique<population>();
    {
      // The host state is the CPU backend's, built by the same function; it is freed once copied.
      const population_state<T> s = make_population_state<T>(spec, ps, slice);
      d->name = s.name;
      d->index = s.index;
      d->seed = s.seed;
      d->rng_stream = s.stream;
      d->model = s.model;
      d->coeffs = s.coeffs;
      d->noise = s.noise;
      d->n = s.u.size();
      d->id_offset = s.id_offset;
      d->id_bits = std::max<uint32_t>(1, bit_width(ps.size - 1));
      if (d->id_bits > max_id_bits)
        throw backend_error("population '" + s.name + "': " + std::to_string(ps.size) +
                            " neurons are more than the CUDA backend numbers (2^40)");
      d->block = block_for(d->n, sms);
      d->record = s.record_spikes;
      const population_roles roles = roles_of(spec, ps.index, ranks);
      d->gather = roles.gather;
      d->to_host = s.record_spikes || ranks;
      d->source = roles.source;
      d->trace_every = s.trace_every;
      d->n_traces = static_cast<uint32_t>(s.trace_ids.size());
      upload(d->u[d->cur], s.u);
      upload(d->ref[d->cur], s.ref);
      d->u[1 - d->cur].allocate(d->n);
      d->ref[1 - d->cur].allocate(d->n);
      if (d->noise == noise_kind::ou) {
        upload(d->eta[d->cur], s.eta);
        d->eta[1 - d->cur].allocate(d->n);
      }
      if (d->model == model_kind::hh) {
        const std::vector<T>* g[3] = {&s.m, &s.h, &s.n};
        for (int k = 0; k < 3; ++k) {
          upload(d->gates[d->cur][k], *g[k]);
          d->gates[1 - d->cur][k].allocate(d->n);
        }
      }
      upload(d->I_base, s.I_base);
      std::vector<pulse_desc<T>> table;
      for (const auto& p : s.pulses) {
        // A slice without neurons has no per-neuron amplitudes.
        pulse_desc<T> q{p.start_step, p.stop_step, nullptr, p.amp.empty() ? T(0) : p.amp[0]};
        if (p.amp.size() > 1) {
          d->pulse_amp.emplace_back();
          upload(d->pulse_amp.back(), p.amp);
          q.amp = d->pulse_amp.back().data();
        }
        table.push_back(q);
      }
      d->n_pulses = static_cast<uint32_t>(table.size());
      upload(d->pulse_table, table);
      upload(d->trace_ids, s.trace_ids);
      upload(d->source_row, s.source_row);
      upload(d->source_steps, s.source_steps);
    }
    if (d->gather) {
      d->key_capacity = initial_key_capacity(d->n, chunk, spec.run.dt);
      d->keys.allocate(d->key_capacity);
      d->keys_alt.allocate(d->key_capacity);
    }
    d->flags.allocate(1);
    d->flags_host.reserve(1);
    ensure_output(*d, chunk);
    return d;
  }

  // Output buffers for a launch of `steps` steps. Only called while the population's stream is
  // idle.
  static void ensure_output(population& p, uint64_t steps) {
    if (p.counts.size() < steps) p.counts.allocate(steps);
    const uint64_t trace_values = ((steps + p.trace_every - 1) / p.trace_every) * p.n_traces;
    if (p.traces.size() < trace_values) {
      p.traces.allocate(trace_values);
      // Over ranks the columns of other ranks' neurons are never written here, but copied to the
      // host with the rest (the exchange replaces them): they read as zeros, not uninitialised.
      SPIKESIM_CUDA_CHECK(
          cudaMemsetAsync(p.traces.data(), 0, trace_values * sizeof(float), p.stream.get()));
    }
  }

  // Enqueues steps [first, first + steps) from the current state copy into the other one.
  void launch(population& p, uint64_t first, uint64_t steps) {
    ensure_output(p, steps);
    const cudaStream_t s = p.stream.get();
    // The chunk reads ring slots that the last delivery filled, and its kernel overwrites the
    // spike keys that delivery read.
    if (network_) delivered_.make_wait(s);
    SPIKESIM_CUDA_CHECK(cudaMemsetAsync(p.counts.data(), 0, steps * sizeof(uint32_t), s));
    SPIKESIM_CUDA_CHECK(cudaMemsetAsync(p.flags.data(), 0, sizeof(chunk_flags), s));
    SPIKESIM_CUDA_CHECK(
        cudaMemsetAsync(&p.flags.data()->first_nonfinite, 0xff, sizeof(unsigned long long), s));
    const int in = p.cur, out = 1 - p.cur;
    kernel_args<T> a{};
    a.c = p.coeffs;
    a.n = p.n;
    a.id_offset = p.id_offset;
    a.seed = p.seed;
    a.noise_stream = rng::stream_id(p.rng_stream, rng::noise);
    a.first = first;
    a.steps = steps;
    a.u_in = p.u[in].data();
    a.ref_in = p.ref[in].data();
    a.eta_in = p.eta[in].data();
    a.u_out = p.u[out].data();
    a.ref_out = p.ref[out].data();
    a.eta_out = p.eta[out].data();
    for (int k = 0; k < 3; ++k) {
      a.gates_in[k] = p.gates[in][k].data();
      a.gates_out[k] = p.gates[out][k].data();
    }
    a.I_base = p.I_base.data();
    a.pulses = p.pulse_table.data();
    a.n_pulses = p.n_pulses;
    a.trace_ids = p.trace_ids.data();
    a.n_traces = p.n_traces;
    a.trace_every = p.trace_every;
    a.trace_first = trace_first_step(first, p.trace_every);
    a.traces = p.traces.data();
    a.counts = p.counts.data();
    a.keys = p.keys.data();
    a.key_capacity = p.key_capacity;
    a.id_bits = p.id_bits;
    a.gather_spikes = p.gather;
    a.flags = p.flags.data();
    a.ring_delta = p.ring_delta.size() ? p.ring_delta.data() : nullptr;
    a.slots = p.slots;
    // A rank without neurons of the population has no rings: no current is read there.
    a.exp_ports = p.ring_exp[0].size() ? p.exp_syn.ports : 0;
    for (uint32_t k = 0; k < max_exp_ports; ++k) {
      a.ring_exp[k] = p.ring_exp[k].data();
      a.isyn_in[k] = p.i_syn[k][in].data();
      a.isyn_out[k] = p.i_syn[k][out].data();
      a.syn_decay[k] = p.exp_syn.decay[k];
      a.syn_gain[k] = p.exp_syn.gain[k];
    }
    a.poisson = p.poisson;
    a.poisson_stream = rng::stream_id(p.rng_stream, rng::poisson);
    a.poisson_lambda = p.poisson_lambda;
    a.poisson_exp = p.poisson_exp;
    a.poisson_weight = p.poisson_weight;
    a.poisson_exp_syn = p.exp_syn.poisson;
    a.poisson_port = p.exp_syn.poisson_port;
    a.poisson_fixed = p.exp_syn.poisson_fixed;
    a.source_row = p.source_row.data();
    a.source_steps = p.source_steps.data();
    const auto kernel = kernel_for<T>(p.model, p.noise, p.syn);
    if (p.block % 32 != 0 || p.block > max_block)  // see max_block
      throw backend_error("internal error: a block of " + std::to_string(p.block) +
                          " threads for population '" + p.name + "' (whole warps, at most " +
                          std::to_string(max_block) + ")");
    SPIKESIM_LAUNCH_1D(p.n, p.block, s, kernel, a);
    SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(p.flags_host.data(), p.flags.data(), sizeof(chunk_flags),
                                        cudaMemcpyDeviceToHost, s));
  }

  // Waits for a launch of [first, first + steps); throws on a non-finite potential, runs the
  // chunk again if the spike buffer overflowed, then enqueues the sort and the copies to pinned
  // memory.
  void collect(population& p, uint64_t first, uint64_t steps) {
    p.stream.synchronize();
    const unsigned long long bad = p.flags_host.data()->first_nonfinite;
    if (bad != no_neuron) {
      std::ostringstream o;
      o << "numerical failure: the membrane potential of neuron " << bad << " of population '"
        << p.name << "' is not finite between t = " << first * dt_ << " and "
        << (first + steps) * dt_ << " ms (reduce dt, or check the parameters and input)";
      throw numerical_error(o.str());
    }
    uint64_t spikes = p.flags_host.data()->spikes;
    if (p.gather && spikes > p.key_capacity) {
      grow_keys(p, spikes, first, steps);
      launch(p, first, steps);  // from the same start state: the copy `cur` was not written
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
    if (p.collected_spikes > 0) {
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
                                          p.collected_spikes * sizeof(uint64_t),
                                          cudaMemcpyDeviceToHost, s));
    }
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

  void grow_keys(population& p, uint64_t needed, uint64_t first, uint64_t steps) {
    // Some headroom, so that the next chunks at a similar rate do not run twice too.
    const uint64_t cap =
        std::max(needed, std::min(saturating_mul(p.n, steps), needed + needed / 8));
    try {
      p.key_capacity = 0;
      p.keys.allocate(cap);
      p.keys_alt.allocate(cap);
      p.key_capacity = cap;
    } catch (const memory_error& e) {
      std::ostringstream o;
      o << "population '" << p.name << "' fired " << needed << " spikes between t = " << first * dt_
        << " and " << (first + steps) * dt_
        << " ms and its spike buffer cannot grow to hold them: " << e.what()
        << " (use a shorter run.chunk_steps, or record.spikes = false)";
      throw memory_error(o.str());
    }
  }

  // Turns the pinned copies of a collected launch into the caller's chunk. Over ranks the spikes
  // are left out: the exchange puts in those of all ranks.
  void decode(const population& p, uint64_t first, uint64_t steps, population_chunk& out) const {
    out.counts.assign(p.counts_host.data(), p.counts_host.data() + steps);
    out.trace_rows = trace_rows(first, steps, p.trace_every);
    const uint64_t trace_values = out.trace_rows * p.n_traces;
    out.traces.assign(p.traces_host.data(), p.traces_host.data() + trace_values);
    out.spike_steps.clear();
    out.spike_ids.clear();
    if (!p.record || exchange_) {
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

  // The spike of a gathered key of a launch that started at step `first`.
  static spike_record key_spike(uint64_t key, uint32_t id_bits, uint64_t first) {
    return {first + (key >> id_bits), key & ((uint64_t{1} << id_bits) - 1)};
  }

  // One launch's worth of steps for every population, with the next chunk started before the
  // host decodes this one (see the top of this file).
  void run_chunk(uint64_t first, uint64_t steps, std::vector<population_chunk>& outs) {
    if (steps == 0) {
      for (auto& c : outs) {
        c = population_chunk{};
      }
      return;
    }
    const bool hit = pending_ && pending_first_ == first && pending_steps_ == steps;
    if (pending_ && !hit)
      for (auto& p : pops_) p->stream.synchronize();  // a wrong guess: its output is dropped
    pending_ = false;
    if (!hit)
      for (auto& p : pops_) launch(*p, first, steps);
    if (chunks_) {
      exchange_chunk(first, steps, outs);
    } else {
      for (auto& p : pops_) collect(*p, first, steps);
      if (network_) deliver_chunk(first, steps);
    }
    for (auto& p : pops_) {
      p->stream.synchronize();
      p->cur = 1 - p->cur;
    }
    const uint64_t next = first + steps;
    if (next < total_steps_) {
      pending_first_ = next;
      pending_steps_ = std::min(steps, total_steps_ - next);
      for (auto& p : pops_) launch(*p, pending_first_, pending_steps_);
      pending_ = true;
    }
    if (!chunks_)
      for (size_t k = 0; k < pops_.size(); ++k) decode(*pops_[k], first, steps, outs[k]);
  }

  // Over ranks, in place of collecting and delivering: the chunk is collected and decoded, its
  // spikes go to every rank and those of all ranks come back (chunk_exchange), and these are
  // delivered. A numerical failure is sent in the exchange, and every rank throws it there: a
  // rank that threw here would leave the others waiting in it.
  void exchange_chunk(uint64_t first, uint64_t steps, std::vector<population_chunk>& outs) {
    std::string failure;
    try {
      for (auto& p : pops_) collect(*p, first, steps);
    } catch (const numerical_error& e) {
      failure = e.what();
    }
    exchanged_.resize(pops_.size());
    for (size_t k = 0; k < pops_.size(); ++k) {
      population& p = *pops_[k];
      exchanged_[k].clear();
      if (!failure.empty()) continue;
      p.stream.synchronize();
      decode(p, first, steps, outs[k]);
      const uint64_t* keys = p.keys_host.data();
      for (uint64_t j = 0; j < p.collected_spikes; ++j)
        exchanged_[k].push_back(key_spike(keys[j], p.id_bits, first));
    }
    chunks_->exchange(first, steps, failure, exchanged_, outs);
    if (network_) deliver_chunk(first, steps, &exchanged_);
  }

  experiment_spec spec_;
  int device_;
  std::string description_;
  double dt_;
  uint64_t total_steps_;
  // Over ranks: the exchange, the neurons held here, and the spikes of all ranks in the last
  // chunk, per population. Without ranks: null, every neuron, unused.
  rank_exchange* exchange_ = nullptr;
  std::unique_ptr<chunk_exchange> chunks_;
  std::vector<neuron_slice> slices_;
  std::vector<std::vector<spike_record>> exchanged_;
  std::vector<std::unique_ptr<population>> pops_;
  // Networks: the projections, the stream of their deliveries and the event the next launches
  // wait for, synaptic events delivered (on the device), the shortest delay in steps.
  bool network_ = false;
  std::vector<cuda::device_projection> projections_;
  std::vector<uint32_t> exp_port_;  // per projection: the target's exp current it feeds
  cuda::device_buffer<unsigned long long> events_;
  network_stats stats_;
  uint64_t min_delay_ = 0;
  cuda::stream net_stream_;
  cuda::event delivered_;
  bool pending_ = false;  // a speculative launch of [pending_first_, + pending_steps_) is queued
  uint64_t pending_first_ = 0;
  uint64_t pending_steps_ = 0;
};

}  // namespace

std::unique_ptr<backend> make_cuda_backend(const experiment_spec& spec, int device,
                                           rank_exchange* exchange) {
  if (exchange && exchange->ranks() <= 1) exchange = nullptr;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw backend_error(
        setting::backend + " cuda: no usable CUDA device (" + cudaGetErrorString(e) +
        "); check the NVIDIA driver and CUDA_VISIBLE_DEVICES, or use " + setting::backend + " cpu");
  }
  if (count == 0)
    throw backend_error(setting::backend + " cuda: no CUDA device found; use " + setting::backend +
                        " cpu");
  if (device < 0 || device >= count)
    throw backend_error(setting::device + " " + std::to_string(device) +
                        ": out of range, this machine has " + std::to_string(count) +
                        " CUDA device" + (count == 1 ? "" : "s") + " (0.." +
                        std::to_string(count - 1) + ")");
  SPIKESIM_CUDA_CHECK(cudaSetDevice(device));
  size_t free_bytes = 0, total_bytes = 0;
  SPIKESIM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const uint64_t chunk = device_chunk_steps(spec);
  const std::vector<neuron_slice> slices =
      exchange ? partition_neurons(spec, exchange->rank(), exchange->ranks())
               : partition_neurons(spec, 0, 1);
  const uint64_t need = estimate_device_bytes(spec, chunk, slices, exchange != nullptr);
  if (need > free_bytes) {
    uint64_t neurons = 0;
    for (const auto& sl : slices) neurons += sl.size();
    std::ostringstream o;
    o << "out of device memory: " << neurons << " neurons"
      << (exchange ? " (rank " + std::to_string(exchange->rank()) + "'s share)" : std::string())
      << " in " << (spec.run.prec == precision::single ? "float" : "double") << " precision need "
      << format_bytes_mib_or_gib(need) << " of device memory (state, inputs"
      << (spec.projections.empty() ? "" : ", synapses and their construction, ring buffers")
      << " and the output buffers of a " << chunk << "-step chunk) but device " << device << ", "
      << cuda::describe_device(device) << ", has " << format_bytes_mib_or_gib(free_bytes)
      << " free of " << format_bytes_mib_or_gib(total_bytes)
      << "; use fewer neurons, precision = \"float\", or ";
    throw memory_error(o.str() + setting::backend + " cpu");
  }
  if (spec.run.prec == precision::single)
    return std::make_unique<cuda_backend<float>>(spec, device, exchange);
  return std::make_unique<cuda_backend<double>>(spec, device, exchange);
}

}  // namespace spikesim
