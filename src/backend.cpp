// Backend selection and the memory estimate shared by both backends.
#include <spikesim/backend.hpp>

#include <algorithm>
#include <map>
#include <utility>

#include <spikesim/connectivity.hpp>
#include <spikesim/errors.hpp>

#include "population_state.hpp"

namespace spikesim {

void append(population_chunk& to, const population_chunk& from) {
  to.spike_steps.insert(to.spike_steps.end(), from.spike_steps.begin(), from.spike_steps.end());
  to.spike_ids.insert(to.spike_ids.end(), from.spike_ids.begin(), from.spike_ids.end());
  to.counts.insert(to.counts.end(), from.counts.begin(), from.counts.end());
  to.traces.insert(to.traces.end(), from.traces.begin(), from.traces.end());
  to.trace_rows += from.trace_rows;
  to.total_spikes += from.total_spikes;
}

uint64_t backend::max_chunk_steps(const experiment_spec& spec) const {
  return spec.min_delay_steps() > 0 ? spec.min_delay_steps() : ~uint64_t{0};
}

void rank_exchange::start_allgather(const std::vector<uint64_t>& local) {
  started_ = allgather(local, started_counts_);
}

std::vector<uint64_t> rank_exchange::finish_allgather(std::vector<uint64_t>& counts) {
  counts = std::move(started_counts_);
  return std::move(started_);
}

int cpu_threads_for(uint64_t neurons, int max_threads) {
  const uint64_t usable = std::max<uint64_t>(1, neurons / cpu_neurons_per_thread);
  return static_cast<int>(
      std::min<uint64_t>(usable, static_cast<uint64_t>(std::max(max_threads, 1))));
}

uint64_t estimate_state_bytes(const experiment_spec& spec, uint64_t chunk_steps) {
  const uint64_t real = spec.run.prec == precision::single ? 4 : 8;
  uint64_t bytes = 0;
  for (const auto& p : spec.populations) {
    uint64_t per_neuron = real /* u */ + 4 /* refractory */ + real /* I */;
    if (p.input.noise.tau_noise > 0) per_neuron += real;
    for (const auto& q : p.input.pulses)
      if (!q.amplitude.uniform()) per_neuron += real;
    bytes += per_neuron * p.size;
    // A times-list source: its spike steps and one row offset per neuron (the spec's list too).
    if (p.source.type == source_spec::kind::times)
      bytes += p.source.ids.size() * (8 + 16) + (p.size + 1) * 8;
    // One chunk of spike records at an assumed 100 Hz and the per-step counts; denser firing
    // grows the buffers on the CPU and is bounded by the chunk length.
    const double spikes = static_cast<double>(p.size) * chunk_steps * spec.run.dt * 1e-3 * 100.0;
    bytes += static_cast<uint64_t>(spikes) * 16 + chunk_steps * 4;
    bytes += p.record.traces.size() * chunk_steps * 4;
  }
  // Networks: the synapses at their peak during construction, and per target population one ring
  // buffer per synapse kind, of (longest delay onto it) + 1 slots of 8 bytes per neuron, as the
  // backends allocate them (not one per projection); exp synapses add a current per neuron.
  bytes += estimate_connectivity(spec).peak_bytes;
  for (size_t t = 0; t < spec.populations.size(); ++t) {
    uint64_t max_delay[2] = {0, 0};  // delta, exp
    for (const auto& q : spec.projections)
      if (q.target == t) {
        auto& d = max_delay[q.synapse == synapse_kind::exp ? 1 : 0];
        d = std::max<uint64_t>(d, q.max_delay_steps(spec.run.dt) + 1);
      }
    const uint64_t n = spec.populations[t].size;
    // one ring and current per exp current (two where I_ex and I_in differ in tau_syn)
    const uint64_t currents =
        max_delay[1] ? std::max<uint64_t>(1, exp_port_count(spec, static_cast<uint32_t>(t))) : 0;
    bytes += (max_delay[0] + currents * max_delay[1]) * 8 * n + currents * real * n;
  }
  return bytes;
}

std::vector<neuron_slice> partition_neurons(const experiment_spec& spec, int rank, int ranks) {
  // Rank r holds global ids [r N / R, (r + 1) N / R) (128-bit products: no overflow).
  using u128 = unsigned __int128;
  const u128 n = spec.total_neurons();
  const auto r = static_cast<u128>(rank), n_ranks = static_cast<u128>(std::max(ranks, 1));
  const auto g_lo = static_cast<uint64_t>(n * r / n_ranks);
  const auto g_hi = static_cast<uint64_t>(n * (r + 1) / n_ranks);
  std::vector<neuron_slice> slices;
  uint64_t base = 0;  // global id of the population's neuron 0
  for (const auto& p : spec.populations) {
    const uint64_t lo = std::clamp(g_lo, base, base + p.size) - base;
    const uint64_t hi = std::clamp(g_hi, base, base + p.size) - base;
    slices.push_back({lo, hi});
    base += p.size;
  }
  return slices;
}

namespace {

// The population an array population/<name>/<field> belongs to; nullptr for other arrays.
const population_spec* population_of(const experiment_spec& spec, const std::string& array) {
  const std::string prefix = "population/";
  if (array.compare(0, prefix.size(), prefix) != 0) return nullptr;
  const size_t end = array.find('/', prefix.size());
  if (end == std::string::npos) return nullptr;
  const std::string name = array.substr(prefix.size(), end - prefix.size());
  for (const auto& p : spec.populations)
    if (p.name == name) return &p;
  throw input_error("checkpoint array '" + array + "' names no population of the config");
}

uint64_t type_size(const state_array& a) {
  if (a.type == "f32" || a.type == "i32") return 4;
  if (a.type == "f64" || a.type == "i64" || a.type == "u64") return 8;
  throw input_error("checkpoint array '" + a.name + "' has unknown type '" + a.type + "'");
}

void put_u64(std::vector<unsigned char>& b, uint64_t v) {
  const auto* p = reinterpret_cast<const unsigned char*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}
void put_text(std::vector<unsigned char>& b, const std::string& s) {
  put_u64(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}
uint64_t get_u64(const std::vector<unsigned char>& b, uint64_t& at) {
  uint64_t v = 0;
  std::memcpy(&v, b.data() + at, sizeof v);
  at += sizeof v;
  return v;
}
std::string get_text(const std::vector<unsigned char>& b, uint64_t& at) {
  const uint64_t n = get_u64(b, at);
  std::string s(reinterpret_cast<const char*>(b.data() + at), n);
  at += n;
  return s;
}

// Element k of row r of a [rows][n] array, the bytes of one value.
const unsigned char* value_at(const state_array& a, uint64_t row, uint64_t n, uint64_t k,
                              uint64_t size) {
  return a.bytes.data() + (row * n + k) * size;
}

}  // namespace

std::vector<state_array> gather_state(const experiment_spec& spec,
                                      const std::vector<state_array>& local, rank_exchange& x) {
  std::vector<unsigned char> send;
  for (const auto& a : local) {
    put_text(send, a.name);
    put_text(send, a.type);
    put_u64(send, a.count);
    put_u64(send, a.bytes.size());
    send.insert(send.end(), a.bytes.begin(), a.bytes.end());
  }
  std::vector<uint64_t> counts;
  const std::vector<unsigned char> all = x.gather(send, counts);
  if (x.rank() != 0) return {};

  // The arrays of each rank, by name, in the order they first appear.
  const int ranks = static_cast<int>(counts.size());
  std::vector<std::string> order;
  std::map<std::string, std::vector<state_array>> parts;  // name -> one per rank
  uint64_t at = 0;
  for (int r = 0; r < ranks; ++r) {
    const uint64_t end = at + counts[r];
    while (at < end) {
      state_array a;
      a.name = get_text(all, at);
      a.type = get_text(all, at);
      a.count = get_u64(all, at);
      a.bytes.resize(get_u64(all, at));
      std::memcpy(a.bytes.data(), all.data() + at, a.bytes.size());
      at += a.bytes.size();
      auto& v = parts[a.name];
      if (v.empty()) {
        order.push_back(a.name);
        v.resize(ranks);
      }
      v[r] = std::move(a);
    }
  }

  std::vector<state_array> whole;
  for (const auto& name : order) {
    auto& v = parts[name];
    state_array w;
    w.name = name;
    for (const auto& a : v)
      if (!a.type.empty()) w.type = a.type;
    const population_spec* pop = population_of(spec, name);
    if (!pop) {
      // Counters of each rank's part of the network (u64): summed.
      std::vector<uint64_t> sum;
      for (const auto& a : v) {
        if (a.count == 0) continue;
        const std::vector<uint64_t> part = a.as<uint64_t>();
        if (sum.size() < part.size()) sum.resize(part.size(), 0);
        for (size_t k = 0; k < part.size(); ++k) sum[k] += part[k];
      }
      whole.push_back(state_array::of(name, sum));
      continue;
    }
    const uint64_t size = type_size(w);
    uint64_t total = 0;
    for (const auto& a : v) total += a.count;
    if (total % pop->size != 0)
      throw input_error("checkpoint array '" + name + "': " + std::to_string(total) +
                        " values over the ranks, not a multiple of the population's " +
                        std::to_string(pop->size) + " neurons");
    const uint64_t rows = total / pop->size;
    w.count = total;
    w.bytes.resize(total * size);
    for (int r = 0; r < ranks; ++r) {
      const neuron_slice sl = partition_neurons(spec, r, ranks)[pop->index];
      if (v[r].count != rows * sl.size())
        throw input_error("checkpoint array '" + name + "' of rank " + std::to_string(r) + " has " +
                          std::to_string(v[r].count) + " values where " +
                          std::to_string(rows * sl.size()) + " were expected");
      for (uint64_t row = 0; row < rows; ++row)
        if (sl.size())
          std::memcpy(w.bytes.data() + (row * pop->size + sl.lo) * size,
                      value_at(v[r], row, sl.size(), 0, size), sl.size() * size);
    }
    whole.push_back(std::move(w));
  }
  return whole;
}

std::vector<state_array> slice_state(const experiment_spec& spec,
                                     const std::vector<state_array>& whole, int rank, int ranks) {
  const std::vector<neuron_slice> slices = partition_neurons(spec, rank, ranks);
  std::vector<state_array> out;
  for (const auto& w : whole) {
    const population_spec* pop = population_of(spec, w.name);
    if (!pop) {
      state_array a = w;  // counters: rank 0 carries them on
      if (rank != 0) std::fill(a.bytes.begin(), a.bytes.end(), 0);
      out.push_back(std::move(a));
      continue;
    }
    const uint64_t size = type_size(w);
    if (w.count % pop->size != 0 || w.bytes.size() != w.count * size)
      throw input_error("checkpoint array '" + w.name + "' has " + std::to_string(w.count) +
                        " values, not a multiple of the population's " + std::to_string(pop->size) +
                        " neurons");
    const uint64_t rows = w.count / pop->size;
    const neuron_slice sl = slices[pop->index];
    state_array a;
    a.name = w.name;
    a.type = w.type;
    a.count = rows * sl.size();
    a.bytes.resize(a.count * size);
    for (uint64_t row = 0; row < rows; ++row)
      if (sl.size())
        std::memcpy(a.bytes.data() + row * sl.size() * size,
                    value_at(w, row, pop->size, sl.lo, size), sl.size() * size);
    out.push_back(std::move(a));
  }
  return out;
}

std::unique_ptr<backend> make_backend(const experiment_spec& spec, const backend_options& opt,
                                      std::string* notice) {
  rank_exchange* x = opt.exchange && opt.exchange->ranks() > 1 ? opt.exchange : nullptr;
  if (opt.kind != "cuda") check_threads(opt.threads);
  if (opt.kind == "cpu") return make_cpu_backend(spec, opt.threads, x);
  if (opt.kind == "cuda") return make_cuda_backend(spec, opt.device, x);
  if (opt.kind != "auto")
    throw config_error(setting::backend + " " + opt.kind + ": expected auto, cpu or cuda");
  // Over ranks every rank runs the same backend: CUDA when every rank has its device (a
  // collective call on every rank).
  int without = -1;  // the first rank without a usable device
  if (x && cuda_built()) {
    const bool usable = opt.device >= 0 && opt.device < cuda_device_count();
    std::vector<uint64_t> counts;
    const std::vector<uint64_t> mine{usable ? uint64_t{1} : uint64_t{0}};
    const std::vector<uint64_t> all = x->allgather(mine, counts);
    for (size_t r = all.size(); r-- > 0;)
      if (!all[r]) without = static_cast<int>(r);
    if (without < 0) return make_cuda_backend(spec, opt.device, x);
  } else if (!x && cuda_built() && cuda_device_count() > 0) {
    return make_cuda_backend(spec, opt.device);
  }
  if (notice)
    *notice = !cuda_built()  ? "this build has no CUDA support: running on the CPU backend"
              : without >= 0 ? "rank " + std::to_string(without) +
                                   " has no usable CUDA device: every rank runs on the CPU backend"
                             : "no CUDA device found: running on the CPU backend";
  return make_cpu_backend(spec, opt.threads, x);
}

}  // namespace spikesim
