// The population kernel of the CUDA backend: one thread per neuron advances a whole chunk of
// steps in one kernel launch with its state in registers, using the model math and random
// streams of the CPU backend (run_tile() in src/cpu/population.cpp), whose output it reproduces:
// the same spikes in the same order, the same per-step counts and traces. The organisation of a
// chunk and the overlap with the host: backend.cu.
//
// Determinism: results do not depend on the launch shape. Every random number is a pure function
// of (seed, stream, neuron id, step); spikes are gathered in arbitrary order and sorted by the
// key (step << id_bits) | id, which is unique, so the sort order is total; the per-step counts
// are integer sums.
#include <string>
#include <type_traits>

#include <spikesim/connectivity.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/models/exp_synapse.hpp>
#include <spikesim/rng.hpp>

#include "cuda_check.cuh"
#include "device_ops.cuh"
#include "population.cuh"

namespace spikesim::cuda {
namespace {

// Spike keys a block gathers in shared memory (8 KiB) before appending them to the global
// buffer with one atomic; a block flushes when fewer than blockDim.x slots are left.
constexpr unsigned gather_capacity = 1024;

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
template <class T, class Model, noise_kind noise, bool syn>
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
    if constexpr (Model::gates > 0) {
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
  if constexpr (std::is_same_v<Model, source_model>) {
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
    if constexpr (std::is_same_v<Model, source_model>) {
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
      spike = step_neuron<T, Model, noise>(a.c, v, step_drive, z, jump) && active;
    } else {
      spike = step_neuron<T, Model, noise>(a.c, v, drive, z) && active;
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
    if constexpr (Model::gates > 0) {
      a.gates_out[0][i] = v.m;
      a.gates_out[1][i] = v.h;
      a.gates_out[2][i] = v.n;
    }
    if (!cuda::is_finite(v.u))
      cuda::atomic_min(&a.flags->first_nonfinite, static_cast<unsigned long long>(id));
  }
}

// The type of a population kernel's address, by decltype: clang, which compiles the emulated build
// (docs/architecture.md), gives a __global__ function a type that `void (*)(kernel_args<T>)`
// does not name.
template <class T>
using population_kernel =
    decltype(&advance_population_kernel<T, lif_model, noise_kind::none, false>);

template <class T, class Model, bool syn>
population_kernel<T> kernel_for(noise_kind noise) {
  switch (noise) {
    case noise_kind::none:
      return &advance_population_kernel<T, Model, noise_kind::none, syn>;
    case noise_kind::white:
      return &advance_population_kernel<T, Model, noise_kind::white, syn>;
    case noise_kind::ou:
      return &advance_population_kernel<T, Model, noise_kind::ou, syn>;
  }
  return nullptr;
}

template <class T, class Model>
population_kernel<T> kernel_for(noise_kind noise, bool syn) {
  return syn ? kernel_for<T, Model, true>(noise) : kernel_for<T, Model, false>(noise);
}

// The kernel of a population's model: the one dispatch on the model of this backend. Rate units
// and sources take neither synapses, Poisson input nor noise (the config refuses them), as on
// the CPU.
template <class T>
population_kernel<T> kernel_for(model_kind model, noise_kind noise, bool syn) {
  return visit_model(model, [&](auto tag) -> population_kernel<T> {
    using Model = typename decltype(tag)::type;
    if constexpr (Model::takes_input)
      return kernel_for<T, Model>(noise, syn);
    else
      return &advance_population_kernel<T, Model, noise_kind::none, false>;
  });
}

// The arguments of a launch of [first, first + steps) from copy `cur` of p's state into the
// other copy.
template <class T>
kernel_args<T> launch_args(device_population<T>& p, uint64_t first, uint64_t steps) {
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
  return a;
}

}  // namespace

template <class T>
void launch_population(device_population<T>& p, uint64_t first, uint64_t steps,
                       const event* delivered) {
  ensure_output(p, steps);
  const cudaStream_t s = p.stream.get();
  // The chunk reads ring slots that the last delivery filled, and its kernel overwrites the
  // spike keys that delivery read.
  if (delivered) delivered->make_wait(s);
  SPIKESIM_CUDA_CHECK(cudaMemsetAsync(p.counts.data(), 0, steps * sizeof(uint32_t), s));
  SPIKESIM_CUDA_CHECK(cudaMemsetAsync(p.flags.data(), 0, sizeof(chunk_flags), s));
  SPIKESIM_CUDA_CHECK(
      cudaMemsetAsync(&p.flags.data()->first_nonfinite, 0xff, sizeof(unsigned long long), s));
  const kernel_args<T> a = launch_args(p, first, steps);
  const auto kernel = kernel_for<T>(p.model, p.noise, p.syn);
  if (p.block % 32 != 0 || p.block > max_block)  // see max_block
    throw backend_error("internal error: a block of " + std::to_string(p.block) +
                        " threads for population '" + p.name + "' (whole warps, at most " +
                        std::to_string(max_block) + ")");
  SPIKESIM_LAUNCH_1D(p.n, p.block, s, kernel, a);
  SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(p.flags_host.data(), p.flags.data(), sizeof(chunk_flags),
                                      cudaMemcpyDeviceToHost, s));
}

template void launch_population<float>(device_population<float>&, uint64_t, uint64_t, const event*);
template void launch_population<double>(device_population<double>&, uint64_t, uint64_t,
                                        const event*);

}  // namespace spikesim::cuda
