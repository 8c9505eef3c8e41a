// The set-up of a population of the CUDA backend: its state and inputs on the device, built from
// the host state that the CPU backend builds too (population_state.hpp), and the estimate of the
// device memory all of it takes, beside the allocations it counts.
#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <cmath>
#include <string>
#include <variant>

#include <spikesim/errors.hpp>

#include "connectivity.cuh"
#include "population.cuh"

namespace spikesim::cuda {
namespace {

// Device memory the estimate leaves for the CUDA context's own allocations, cub's temporary
// storage rounding and allocation granularity.
constexpr uint64_t memory_reserve = uint64_t{64} << 20;

// cub's temporary storage for sorting `items` keys (a host-side query).
size_t sort_temp_bytes(uint64_t items, int end_bit) {
  size_t bytes = 0;
  cub::DoubleBuffer<uint64_t> keys(nullptr, nullptr);
  SPIKESIM_CUDA_CHECK(cub::DeviceRadixSort::SortKeys(nullptr, bytes, keys, items, 0, end_bit));
  return bytes;
}

// The device memory of one population, from its spec alone: the memory check runs before the
// host state is built or anything is allocated, and counts what the backend then allocates for
// the n neurons it holds (all, or a rank's slice).
uint64_t population_device_bytes(const experiment_spec& spec, const population_spec& p,
                                 uint64_t steps, uint64_t n, bool ranks) {
  const uint64_t real = spec.run.prec == precision::single ? 4 : 8;
  const bool ou = p.input.noise.tau_noise > 0.0;
  const uint64_t gates = std::visit(
      [](const auto& params) { return model_of_params<std::decay_t<decltype(params)>>::gates; },
      p.params);
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
    const projection_bytes b = projection_device_bytes(spec, q, slices[q.target]);
    storage += b.storage;
    transient = std::max(transient, b.transient);
  }
  return storage + transient + (spec.projections.empty() ? 0 : sizeof(unsigned long long));
}

// Threads per block: 256 once there are plenty of neurons, fewer so that a small population is
// still spread over every SM.
unsigned block_for(uint64_t n, int sms) {
  unsigned b = max_block;
  while (b > 64 && n < uint64_t{b} * static_cast<uint64_t>(sms) * 4) b /= 2;
  return b;
}

template <class T>
void upload(device_buffer<T>& d, const std::vector<T>& h) {
  d.allocate(h.size());
  if (!h.empty())
    SPIKESIM_CUDA_CHECK(
        cudaMemcpy(d.data(), h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
}

// Allocates `count` elements set to 0 (nothing for 0), before any stream uses them.
template <class V>
void zeroed(device_buffer<V>& d, uint64_t count) {
  d.allocate(count);
  if (count) SPIKESIM_CUDA_CHECK(cudaMemset(d.data(), 0, count * sizeof(V)));
}

// The host state s in d: the state's copy `cur` (the other allocated), the currents, pulses,
// trace ids and a times-list source's spike steps.
template <class T>
void upload_state(device_population<T>& d, const population_state<T>& s) {
  upload(d.u[d.cur], s.u);
  upload(d.ref[d.cur], s.ref);
  d.u[1 - d.cur].allocate(d.n);
  d.ref[1 - d.cur].allocate(d.n);
  if (d.noise == noise_kind::ou) {
    upload(d.eta[d.cur], s.eta);
    d.eta[1 - d.cur].allocate(d.n);
  }
  for (uint32_t k = 0; k < model_gates(d.model); ++k) {
    upload(d.gates[d.cur][k], s.gate(k));
    d.gates[1 - d.cur][k].allocate(d.n);
  }
  upload(d.I_base, s.I_base);
  std::vector<pulse_desc<T>> table;
  for (const auto& p : s.pulses) {
    // A slice without neurons has no per-neuron amplitudes.
    pulse_desc<T> q{p.start_step, p.stop_step, nullptr, p.amp.empty() ? T(0) : p.amp[0]};
    if (p.amp.size() > 1) {
      d.pulse_amp.emplace_back();
      upload(d.pulse_amp.back(), p.amp);
      q.amp = d.pulse_amp.back().data();
    }
    table.push_back(q);
  }
  d.n_pulses = static_cast<uint32_t>(table.size());
  upload(d.pulse_table, table);
  upload(d.trace_ids, s.trace_ids);
  upload(d.source_row, s.source_row);
  upload(d.source_steps, s.source_steps);
}

}  // namespace

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  return a != 0 && b > ~uint64_t{0} / a ? ~uint64_t{0} : a * b;
}

uint64_t device_chunk_steps(const experiment_spec& spec) {
  return chunk_steps_for(spec, spec.min_delay_steps() > 0 ? spec.min_delay_steps() : ~uint64_t{0},
                         device_chunk_neuron_steps);
}

uint64_t initial_key_capacity(uint64_t n, uint64_t steps, double dt) {
  const double expected =
      4.0 * 200.0 * 1e-3 * dt * static_cast<double>(n) * static_cast<double>(steps);
  const uint64_t floor = uint64_t{1} << 20;
  const uint64_t cap =
      expected >= 0x1p62 ? uint64_t{1} << 62 : std::max(floor, static_cast<uint64_t>(expected));
  return std::min(cap, saturating_mul(n, steps));
}

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

uint64_t estimate_device_bytes(const experiment_spec& spec, uint64_t chunk_steps,
                               const std::vector<neuron_slice>& slices, bool ranks) {
  uint64_t bytes = memory_reserve;
  for (const auto& p : spec.populations)
    bytes += population_device_bytes(spec, p, chunk_steps, slices[p.index].size(), ranks);
  return bytes + network_device_bytes(spec, slices);
}

template <class T>
std::unique_ptr<device_population<T>> make_device_population(const experiment_spec& spec,
                                                             const population_spec& ps,
                                                             neuron_slice slice, bool ranks,
                                                             uint64_t chunk, int sms) {
  auto d = std::make_unique<device_population<T>>();
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
    upload_state(*d, s);
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

template <class T>
void setup_population_inputs(device_population<T>& p, const experiment_spec& spec, bool ranks) {
  const double dt = spec.run.dt;
  const population_roles r = roles_of(spec, p.index, ranks);
  p.slots = r.slots;
  // A rank that holds no neuron of the population allocates none of these (size 0), as the
  // CPU backend's empty vectors.
  const uint64_t ring = r.slots * p.n;
  if (r.delta) zeroed(p.ring_delta, ring);
  for (uint32_t k = 0; k < r.exp_ports; ++k) {
    zeroed(p.ring_exp[k], ring);
    for (auto& b : p.i_syn[k]) zeroed(b, p.n);
  }
  if (ranks && r.source) {
    const uint64_t cap =
        initial_key_capacity(spec.populations[p.index].size, device_chunk_steps(spec), dt);
    p.exchanged_keys.allocate(cap);
    p.exchanged_keys_host.reserve(cap);
  }
  p.exp_syn = make_exp_synapse_coeffs<T>(spec, p.index);
  const auto& po = spec.populations[p.index].input.poisson;
  if (po.active()) {
    p.poisson = true;
    p.poisson_lambda = po.rate * 1e-3 * dt * static_cast<double>(po.count);
    p.poisson_exp = std::exp(-p.poisson_lambda);
    p.poisson_weight = static_cast<T>(po.weight);
  }
  p.syn = model_takes_input(p.model) && (r.delta || r.exp_ports > 0 || p.poisson);
}

template <class T>
void ensure_output(device_population<T>& p, uint64_t steps) {
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

template std::unique_ptr<device_population<float>> make_device_population<float>(
    const experiment_spec&, const population_spec&, neuron_slice, bool, uint64_t, int);
template void setup_population_inputs<float>(device_population<float>&, const experiment_spec&,
                                             bool);
template void ensure_output<float>(device_population<float>&, uint64_t);
template std::unique_ptr<device_population<double>> make_device_population<double>(
    const experiment_spec&, const population_spec&, neuron_slice, bool, uint64_t, int);
template void setup_population_inputs<double>(device_population<double>&, const experiment_spec&,
                                              bool);
template void ensure_output<double>(device_population<double>&, uint64_t);

}  // namespace spikesim::cuda
