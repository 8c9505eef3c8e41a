// Backend selection and the memory estimate shared by both backends.
#include <spikesim/backend.hpp>

#include <algorithm>

#include <spikesim/connectivity.hpp>
#include <spikesim/errors.hpp>

namespace spikesim {

void append(population_chunk& to, const population_chunk& from) {
  to.spike_steps.insert(to.spike_steps.end(), from.spike_steps.begin(), from.spike_steps.end());
  to.spike_ids.insert(to.spike_ids.end(), from.spike_ids.begin(), from.spike_ids.end());
  to.counts.insert(to.counts.end(), from.counts.begin(), from.counts.end());
  to.traces.insert(to.traces.end(), from.traces.begin(), from.traces.end());
  to.trace_rows += from.trace_rows;
  to.total_spikes += from.total_spikes;
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
    bytes += (max_delay[0] + max_delay[1]) * 8 * n + (max_delay[1] ? real * n : 0);
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

std::unique_ptr<backend> make_backend(const experiment_spec& spec, const backend_options& opt,
                                      std::string* notice) {
  const bool ranks = opt.exchange && opt.exchange->ranks() > 1;
  if (opt.kind == "cpu") return make_cpu_backend(spec, opt.threads, opt.exchange);
  if (opt.kind == "cuda") {
    if (ranks)
      throw backend_error(
          "--backend cuda: the CUDA backend does not yet simulate a slice of a "
          "network spread over " +
          std::to_string(opt.exchange->ranks()) + " ranks; use --backend cpu, or one rank");
    return make_cuda_backend(spec, opt.device);
  }
  if (opt.kind != "auto")
    throw config_error("--backend " + opt.kind + ": expected auto, cpu or cuda");
  if (!ranks && cuda_built() && cuda_device_count() > 0) return make_cuda_backend(spec, opt.device);
  if (notice)
    *notice = ranks          ? "a run over several ranks runs on the CPU backend"
              : cuda_built() ? "no CUDA device found: running on the CPU backend"
                             : "this build has no CUDA support: running on the CPU backend";
  return make_cpu_backend(spec, opt.threads, opt.exchange);
}

}  // namespace spikesim
