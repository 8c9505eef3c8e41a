// The per-chunk exchange of a network spread over ranks, one implementation for both backends
// (docs/scaling.md): every rank's spikes, or its numerical failure, go to every rank, and the
// trace columns of every rank's slice are gathered, so that each rank hands back the chunk of the
// whole network.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

// A spike: its step and the population-local id of its neuron; ordered as the output is.
struct spike_record {
  uint64_t step;
  uint64_t id;
  bool operator<(const spike_record& o) const { return step != o.step ? step < o.step : id < o.id; }
};

class chunk_exchange {
 public:
  // Throws config_error when a population has more neurons than a record's 40-bit id numbers.
  chunk_exchange(const experiment_spec& spec, rank_exchange& x);

  // The exchange of chunk [first, first + steps), collective: start(), finish() and
  // exchange_traces() in one call. `spikes[p]`: this rank's spikes of population p, in any
  // order; replaced by the spikes of all ranks sorted by (step, id), which the caller delivers
  // into its rings. `out[p]`: this rank's chunk (trace_rows set, the trace columns of its own
  // neurons filled), made the chunk of the whole network: spikes (when recorded), per-step counts
  // and totals from the spikes of all ranks, every trace column. `failure`: this rank's numerical
  // failure, sent in place of its spikes; when a rank failed, every rank throws
  // numerical_error("rank R: ...", all_ranks) naming the lowest failing rank.
  void exchange(uint64_t first, uint64_t steps, const std::string& failure,
                std::vector<std::vector<spike_record>>& spikes, std::vector<population_chunk>& out);

  // The spike exchange in two halves, so that the caller integrates further steps while the
  // spikes travel (rank_exchange::start_allgather). start() sends this rank's spikes of
  // [first, first + steps), or its failure; finish() replaces `spikes` with those of all ranks
  // and fills the spikes and counts of `out` as exchange() does (traces aside), or throws the
  // failure. One exchange is started at a time.
  void start(uint64_t first, uint64_t steps, const std::string& failure,
             const std::vector<std::vector<spike_record>>& spikes);
  void finish(std::vector<std::vector<spike_record>>& spikes, std::vector<population_chunk>& out);
  // Gathers every rank's trace columns into `out` (collective, blocking; nothing without traces).
  // Any span of steps: a chunk made of several exchanged pieces gathers its traces once.
  void exchange_traces(std::vector<population_chunk>& out);

 private:
  rank_exchange& x_;
  std::vector<bool> record_;                            // per population: spikes recorded
  std::vector<std::vector<uint64_t>> trace_ids_;        // per population, population-local
  std::vector<std::vector<neuron_slice>> rank_slices_;  // [rank][population]
  uint64_t first_ = 0, steps_ = 0;                      // the started exchange's steps
};

}  // namespace spikesim
