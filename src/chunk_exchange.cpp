// The per-chunk exchange of a network spread over ranks (chunk_exchange.hpp).
#include "chunk_exchange.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include <spikesim/errors.hpp>

namespace spikesim {
namespace {

// A spike record: the step within the chunk in the high 24 bits, the population-local id in the
// low 40.
constexpr int spike_id_bits = 40;
constexpr uint64_t spike_id_mask = (uint64_t{1} << spike_id_bits) - 1;
constexpr uint64_t spike_step_mask = (uint64_t{1} << (64 - spike_id_bits)) - 1;

}  // namespace

chunk_exchange::chunk_exchange(const experiment_spec& spec, rank_exchange& x) : x_(x) {
  for (const auto& p : spec.populations) {
    if (p.size > spike_id_mask)
      throw config_error("config error: population." + p.name + ".size = " +
                         std::to_string(p.size) + " is too large for a run over several " +
                         "ranks: at most " + std::to_string(spike_id_mask));
    record_.push_back(p.record.spikes);
    trace_ids_.push_back(p.record.traces);
  }
  for (int r = 0; r < x_.ranks(); ++r)
    rank_slices_.push_back(partition_neurons(spec, r, x_.ranks()));
}

void chunk_exchange::exchange(uint64_t first, uint64_t steps, const std::string& failure,
                              std::vector<std::vector<spike_record>>& spikes,
                              std::vector<population_chunk>& out) {
  start(first, steps, failure, spikes);
  finish(spikes, out);
  exchange_traces(out);
}

void chunk_exchange::start(uint64_t first, uint64_t steps, const std::string& failure,
                           const std::vector<std::vector<spike_record>>& spikes) {
  if (steps > spike_step_mask)
    throw config_error("config error: run.chunk_steps = " + std::to_string(steps) +
                       " is too large for a run over several ranks: at most " +
                       std::to_string(spike_step_mask));
  first_ = first;
  steps_ = steps;
  const size_t n_pop = spikes.size();
  // Per rank: a status word (0, or 1 + the length of a failure message that follows in place of
  // the rest), the spike count of each population, then the records, population by population.
  std::vector<uint64_t> send{failure.size() + (failure.empty() ? 0 : 1)};
  if (!failure.empty()) {
    send.resize(1 + (failure.size() + 7) / 8, 0);
    std::memcpy(send.data() + 1, failure.data(), failure.size());
  } else {
    for (size_t p = 0; p < n_pop; ++p) send.push_back(spikes[p].size());
    for (size_t p = 0; p < n_pop; ++p)
      for (const auto& sp : spikes[p]) send.push_back((sp.step - first) << spike_id_bits | sp.id);
  }
  x_.start_allgather(send);
}

void chunk_exchange::finish(std::vector<std::vector<spike_record>>& spikes,
                            std::vector<population_chunk>& out) {
  const uint64_t first = first_, steps = steps_;
  const size_t n_pop = spikes.size();
  std::vector<uint64_t> counts;
  const std::vector<uint64_t> all = x_.finish_allgather(counts);
  uint64_t at = 0;
  for (size_t r = 0; r < counts.size(); at += counts[r], ++r) {
    if (all[at] == 0) continue;
    std::string message(all[at] - 1, ' ');
    std::memcpy(message.data(), all.data() + at + 1, message.size());
    throw numerical_error("rank " + std::to_string(r) + ": " + message, true);
  }
  for (auto& sp : spikes) sp.clear();
  at = 0;
  for (const uint64_t c : counts) {
    uint64_t rec = at + 1 + n_pop;
    for (size_t p = 0; p < n_pop; ++p)
      for (uint64_t k = 0; k < all[at + 1 + p]; ++k, ++rec)
        spikes[p].push_back({first + (all[rec] >> spike_id_bits), all[rec] & spike_id_mask});
    at += c;
  }
  for (size_t p = 0; p < n_pop; ++p) {
    auto& sp = spikes[p];
    std::sort(sp.begin(), sp.end());
    auto& o = out[p];
    o.total_spikes = sp.size();
    o.counts.assign(steps, 0);
    for (const auto& x : sp) ++o.counts[x.step - first];
    o.spike_steps.clear();
    o.spike_ids.clear();
    if (record_[p]) {
      for (const auto& x : sp) {
        o.spike_steps.push_back(x.step);
        o.spike_ids.push_back(x.id);
      }
    }
  }
}

// Each rank sends the columns of the recorded neurons in its slice.
void chunk_exchange::exchange_traces(std::vector<population_chunk>& out) {
  const size_t n_pop = trace_ids_.size();
  auto columns = [&](int r, size_t p) {
    const auto& tr = trace_ids_[p];
    const neuron_slice sl = rank_slices_[r][p];
    return std::pair<uint64_t, uint64_t>(
        std::lower_bound(tr.begin(), tr.end(), sl.lo) - tr.begin(),
        std::lower_bound(tr.begin(), tr.end(), sl.hi) - tr.begin());
  };
  bool traces = false;
  for (const auto& tr : trace_ids_) traces = traces || !tr.empty();
  if (!traces) return;
  std::vector<float> tsend;
  for (size_t p = 0; p < n_pop; ++p) {
    const auto& o = out[p];
    const uint64_t n_tr = trace_ids_[p].size();
    const auto [k_lo, k_hi] = columns(x_.rank(), p);
    for (uint64_t row = 0; row < o.trace_rows; ++row)
      for (uint64_t k = k_lo; k < k_hi; ++k) tsend.push_back(o.traces[row * n_tr + k]);
  }
  std::vector<uint64_t> tcounts;
  const std::vector<float> tall = x_.allgather(tsend, tcounts);
  uint64_t pos = 0;
  for (int r = 0; r < x_.ranks(); ++r) {
    for (size_t p = 0; p < n_pop; ++p) {
      auto& o = out[p];
      const uint64_t n_tr = trace_ids_[p].size();
      const auto [k_lo, k_hi] = columns(r, p);
      for (uint64_t row = 0; row < o.trace_rows; ++row)
        for (uint64_t k = k_lo; k < k_hi; ++k) o.traces[row * n_tr + k] = tall[pos++];
    }
  }
}

}  // namespace spikesim
