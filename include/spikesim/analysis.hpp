// Spike-train statistics of whole populations in one streaming pass over time-sorted spikes, with
// memory O(neurons + bins) whatever the number of spikes: what /analysis/<pop>/ of the output
// file holds (docs/output.md). The batch functions of statistics.hpp are the reference it is
// tested against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <spikesim/spec.hpp>
#include <spikesim/statistics.hpp>

namespace spikesim {

// Everything measured on one population over the window [t_start, t_stop). Times in ms, rates in
// Hz; per-neuron vectors are indexed by node id.
struct population_analysis {
  std::string name;
  uint64_t n_neurons = 0;
  double t_start = 0.0, t_stop = 0.0;
  uint64_t spikes = 0;  // in the window

  // Population rate in whole bins of rate_bin_ms from t_start (spikes / (neurons * bin)); its
  // mean and SD (ddof 0) over the bins.
  double rate_bin_ms = 0.0;
  std::vector<double> population_rate_hz;
  double population_rate_mean_hz = 0.0, population_rate_sd_hz = 0.0;

  std::vector<uint64_t> spike_count;
  std::vector<double> rate_hz;
  std::vector<double> isi_mean_ms, isi_sd_ms;  // NaN with fewer than 2 spikes; SD with ddof 0
  std::vector<double> cv_isi, lv;              // NaN with fewer than cv_min_spikes (LV: 3) spikes
  uint64_t cv_min_spikes = 0;
  uint64_t n_silent = 0;  // no spike in the window
  uint64_t n_cv_nan = 0;  // CV is NaN (too few spikes)

  double fano_window_ms = 0.0;
  double fano_factor = 0.0;  // stats::fano_factor: mean over spiking neurons; NaN if undefined
  double chi_squared = 0.0;  // Golomb: Var_t(population rate) / mean_i Var_t(r_i), bins of rate_bin
  double chi = 0.0;

  stats::histogram rate_hist, cv_hist;
  uint64_t rate_hist_outside = 0, cv_hist_outside = 0;  // finite values outside the histogram
  stats::summary rate_summary, cv_summary, lv_summary;
  double silent_fraction = 0.0;
};

// One population's statistics, accumulated spike by spike. Each neuron keeps a fixed record
// (spike count, first and last spike, Welford mean and M2 of its ISIs, its previous ISI and the
// LV sum, and for the rate bins and the Fano windows its current bin, the count in it and the
// sums of counts and squared counts over the finished bins); the population keeps one count per
// rate bin. Results agree with the batch functions of statistics.hpp: exactly for counts, rates,
// LV, population rate, Fano factor and chi; to rounding for the ISI SD and CV (Welford instead
// of two passes).
class spike_analyzer {
 public:
  // `t_end_max` is the latest the window can end (the run's tstop); the window is
  // [a.t_start, min(a.t_stop, t_end)) with t_end given to finish(). Throws std::invalid_argument
  // for a window or binning that a validated analysis_spec cannot produce.
  spike_analyzer(std::string name, uint64_t n_neurons, const analysis_spec& a, double t_end_max);

  // Spikes sorted by time (ties in any order), continuing the previous call. Throws input_error
  // for a node id out of range, a NaN time or a time earlier than one already given, naming the
  // entry (counted over all calls).
  void add(const double* t_ms, const uint64_t* ids, std::size_t n);

  // True once a spike at or after the latest possible end has been given: later spikes change
  // nothing, so a reader may stop.
  bool done() const { return done_; }

  // The statistics over [t_start, min(t_stop, t_end)), t_end being the end of the simulated time
  // (steps * dt); spikes at or after it are left out. Throws std::invalid_argument when the window
  // is empty. Call once.
  population_analysis finish(double t_end);

  // Bytes this analyzer holds for n neurons and the given number of rate bins.
  static uint64_t memory_bytes(uint64_t n_neurons, uint64_t rate_bins);

 private:
  struct binned {
    uint64_t bin = 0;              // current bin, valid when in_bin > 0
    uint64_t in_bin = 0;           // spikes in it so far
    uint64_t sum = 0, sum_sq = 0;  // over the finished whole bins
  };
  // One neuron's record: all a spike touches, in two cache lines.
  struct alignas(64) neuron {
    double first = 0.0, last = 0.0;
    double isi_mean = 0.0, isi_m2 = 0.0;  // Welford
    double prev_isi = 0.0, lv_sum = 0.0;
    uint64_t count = 0;
    binned rate, fano;
  };

  void commit(const double* t, const uint64_t* ids, std::size_t n);

  std::string name_;
  analysis_spec settings_;
  double t_stop_max_;
  std::vector<neuron> neurons_;
  std::vector<uint64_t> population_counts_;  // per rate bin, up to t_stop_max_
  // The spikes of the latest time given: committed once a later time arrives (or by finish()
  // when they lie before the window's end), so that an interrupted run's last step is left out
  // exactly as when the file is read back.
  std::vector<double> pending_t_;
  std::vector<uint64_t> pending_id_;
  double last_seen_ = -std::numeric_limits<double>::infinity();  // for the order check
  double max_committed_ = -std::numeric_limits<double>::infinity();
  uint64_t seen_ = 0;
  bool done_ = false;
};

// The [analysis] table as TOML text (stored with the results: attribute /analysis/settings).
std::string analysis_settings_toml(const analysis_spec& a);

// ---------------------------------------------------------------------------------------------
// Files

struct file_analysis {
  std::string path;
  std::string status;  // "complete" or "interrupted"
  double simulated_ms = 0.0;
  double tstop = 0.0;
  analysis_spec settings;
  std::vector<population_analysis> populations;
  std::vector<std::string> skipped;  // populations whose spikes were not recorded
};

// Reads a run's file and recomputes its statistics, starting from the [analysis] settings stored
// in its config attribute and applying `overrides` ("analysis.key=value"; other keys are a
// config_error). Reads the spikes in chunks of 2^20, so memory stays O(neurons + bins). Throws
// input_error (exit 3) for a file that is missing, not HDF5, truncated or corrupt, not ours (no
// magic 0x0A7A), or left "running"; an interrupted file is analysed up to its `steps` and
// `warning` (if given) receives a sentence saying so.
file_analysis analyze_file(const std::string& path, const std::vector<std::string>& overrides,
                           std::string* warning = nullptr);

// Replaces /analysis in the file by these results; nothing else in the file is touched. Throws
// output_error when the file cannot be written.
void write_analysis(const std::string& path, const file_analysis& fa,
                    const std::string& created_by);

}  // namespace spikesim
