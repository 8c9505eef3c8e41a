// Spike-train statistics: per-train rate, ISI moments, CV and LV; population rate; Fano factor;
// Golomb's synchrony measure; histograms and summaries. Times in ms, rates in Hz.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace spikesim {
namespace stats {

// Spike trains of a population grouped by neuron: the times of neuron i are
// times[offsets[i] .. offsets[i + 1]), sorted ascending. offsets has n_neurons + 1 entries.
struct trains {
  std::vector<uint64_t> offsets;
  std::vector<double> times;

  std::size_t n_neurons() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  const double* begin(std::size_t neuron) const { return times.data() + offsets[neuron]; }
  std::size_t count(std::size_t neuron) const {
    return static_cast<std::size_t>(offsets[neuron + 1] - offsets[neuron]);
  }
};

// Groups (node_ids, timestamps) pairs, as stored in the output file, by neuron: a stable counting
// sort by id (O(n + n_neurons), one copy of the times), after which each neuron's times are sorted
// only if they are not sorted already (so time-ordered input costs no sort at all). Throws
// std::invalid_argument if an id is >= n_neurons.
trains group_by_neuron(const uint64_t* ids, const double* t, std::size_t n, uint64_t n_neurons);

struct train_stats {
  uint64_t count;      // spikes in [t_start, t_stop)
  double rate_hz;      // count / (t_stop - t_start)
  double isi_mean_ms;  // NaN with fewer than 2 spikes
  double isi_sd_ms;    // population SD (ddof 0); NaN with fewer than 2 spikes
  double cv;           // isi_sd / isi_mean; NaN when count < cv_min_spikes or count < 2
  double lv;           // local variation; NaN when count < cv_min_spikes or count < 3
};

// Statistics of one sorted train restricted to [t_start, t_stop). The local variation (Shinomoto
// et al. 2003) is LV = 3/(n-1) sum_{i=1}^{n-1} ((I_i - I_{i+1}) / (I_i + I_{i+1}))^2 over the n
// ISIs; a pair of zero-length ISIs (coincident spikes) contributes 0. Poisson: CV = LV = 1;
// gamma of shape k: CV = 1/sqrt(k), LV = 3/(2k + 1); regular: 0. Throws std::invalid_argument
// for t_stop <= t_start or unsorted times.
train_stats train_statistics(const double* t, std::size_t n, double t_start, double t_stop,
                             uint64_t cv_min_spikes);

// Population rate in consecutive bins [t_start + k bin_ms, t_start + (k+1) bin_ms): spikes per
// bin / (n_neurons * bin in s). Only whole bins are returned: a last bin that would extend past
// t_stop (by more than 1e-9 of a bin, to absorb rounding of (t_stop - t_start)/bin_ms) is dropped
// together with its spikes. Times need not be sorted. Throws std::invalid_argument for
// n_neurons = 0, bin_ms <= 0 or t_stop <= t_start.
std::vector<double> population_rate_hz(const double* t, std::size_t n_spikes, uint64_t n_neurons,
                                       double t_start, double t_stop, double bin_ms);

// Fano factor of spike counts in consecutive whole windows of window_ms from t_start (binned as
// in population_rate_hz). For each neuron F_i = Var_k(c_ik) / Mean_k(c_ik) with the population
// variance (ddof 0) over its windows; the result is the mean of F_i over the neurons whose mean
// count is non-zero. NaN when there are fewer than 2 windows or no neuron spiked in them.
// Poisson: 1 (up to a -1/n_windows bias of the ddof-0 variance).
double fano_factor(const trains& spikes, double window_ms, double t_start, double t_stop);

// Golomb's synchrony measure chi (Golomb & Rinzel 1993; Golomb 2007), returned as chi, where
//   chi^2 = Var_t(A(t)) / mean_i Var_t(r_i(t)),
// r_i(t) is neuron i's spike count in bin t divided by the bin width, A(t) = mean_i r_i(t), the
// variances are over the whole bins of bin_ms from t_start (population variance), and the mean
// runs over all neurons, silent ones included. The bin sets the time scale of "synchronous":
// use a few ms for spike-to-spike synchrony, longer bins for rate co-modulation.
// chi = 1 for identical trains; for N independent trains chi^2 ~ 1/N. NaN when no neuron's
// count varies or there are fewer than 2 bins.
double synchrony_chi(const trains& spikes, double bin_ms, double t_start, double t_stop);

struct histogram {
  std::vector<uint64_t> counts;   // bins entries
  std::vector<double> bin_edges;  // bins + 1 entries, bin_edges[0] = lo, bin_edges[bins] = hi
};

// Equal-width histogram on [lo, hi] like numpy.histogram: bins are [e_k, e_{k+1}) except the last,
// which includes hi; NaN and values outside [lo, hi] are not counted. Throws
// std::invalid_argument for bins = 0 or a non-finite or empty range.
histogram make_histogram(const std::vector<double>& values, std::size_t bins, double lo, double hi);

struct summary {
  double mean, median, p10, p90;  // over the non-NaN values; NaN when there are none
  uint64_t n, n_nan;              // non-NaN and NaN values
};

// Percentiles use linear interpolation between order statistics (numpy's default "linear"
// method): the q-quantile of sorted a[0..n-1] is a[j] + g (a[j+1] - a[j]), j + g = q (n - 1).
summary summarize(const std::vector<double>& values);

}  // namespace stats
}  // namespace spikesim
