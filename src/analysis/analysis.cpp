// The streaming spike-train analyzer: one pass over time-sorted spikes, a fixed record per neuron
// and a count per population-rate bin, finished into the statistics of /analysis/<pop>/.
#include <spikesim/analysis.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>

namespace spikesim {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// Whole bins of `width` from t_start that fit in [t_start, t_stop], as stats::population_rate_hz
// counts them (a bin overhanging t_stop by at most 1e-9 of its width is whole).
uint64_t whole_bins(double t_start, double t_stop, double width) {
  return static_cast<uint64_t>(std::floor((t_stop - t_start) / width + 1e-9));
}

// The bin of a time t >= t_start, computed exactly as the batch functions do.
inline uint64_t bin_of(double t, double t_start, double width) {
  return static_cast<uint64_t>(std::floor((t - t_start) / width));
}

// Mean and population variance of counts whose sums are given, as statistics.cpp computes them.
long double variance_from_moments(uint64_t sum, uint64_t sum_sq, uint64_t n_bins) {
  const long double n = static_cast<long double>(n_bins);
  const long double mean = static_cast<long double>(sum) / n;
  return std::max(0.0L, static_cast<long double>(sum_sq) / n - mean * mean);
}

}  // namespace

spike_analyzer::spike_analyzer(std::string name, uint64_t n_neurons, const analysis_spec& a,
                               double t_end_max)
    : name_(std::move(name)), settings_(a), t_stop_max_(std::min(a.t_stop, t_end_max)) {
  if (n_neurons == 0) throw std::invalid_argument("spike_analyzer: a population without neurons");
  if (!std::isfinite(a.t_start) || !(t_stop_max_ > a.t_start))
    throw std::invalid_argument("spike_analyzer: empty window [" +
                                format_significant(a.t_start, 10) + ", " +
                                format_significant(t_stop_max_, 10) + ") ms");
  if (!(a.rate_bin > 0) || !(a.fano_window > 0))
    throw std::invalid_argument("spike_analyzer: rate_bin and fano_window must be > 0 ms");
  const uint64_t bins = whole_bins(a.t_start, t_stop_max_, a.rate_bin);
  if (bins > 100000000)
    throw std::invalid_argument("spike_analyzer: rate_bin = " + format_significant(a.rate_bin, 10) +
                                " ms gives " + std::to_string(bins) + " bins (at most 1e8)");
  neurons_.resize(n_neurons);
  // One more than the whole bins: a spike in the partial last bin lands there and is not used.
  population_counts_.assign(bins + 1, 0);
}

uint64_t spike_analyzer::memory_bytes(uint64_t n_neurons, uint64_t rate_bins) {
  return n_neurons * sizeof(neuron) + (rate_bins + 1) * sizeof(uint64_t);
}

void spike_analyzer::add(const double* t, const uint64_t* ids, std::size_t n) {
  if (n == 0) return;
  const uint64_t n_neurons = neurons_.size();
  double previous = last_seen_;
  for (std::size_t i = 0; i < n; ++i) {
    if (ids[i] >= n_neurons || !(t[i] >= previous)) {
      std::ostringstream o;
      o << std::setprecision(17) << "spikes of population '" << name_ << "', entry " << seen_ + i
        << ": ";
      if (ids[i] >= n_neurons)
        o << "node id " << ids[i] << " is out of range (the population has " << n_neurons
          << " neurons)";
      else if (std::isnan(t[i]))
        o << "the time is NaN";
      else
        o << "time " << t[i] << " ms is earlier than the spike before it (" << previous
          << " ms): spikes must be sorted by time";
      throw input_error(o.str());
    }
    previous = t[i];
  }
  last_seen_ = previous;
  seen_ += n;
  if (done_) return;

  // Only [t_start, t_stop_max) matters; times are sorted, so both ends are binary searches.
  const double* end = std::lower_bound(t, t + n, t_stop_max_);
  if (end != t + n) done_ = true;
  const double* first = std::lower_bound(t, end, settings_.t_start);
  if (first == end) return;
  const std::size_t b = static_cast<std::size_t>(first - t);
  const std::size_t e = static_cast<std::size_t>(end - t);
  const double newest = t[e - 1];
  if (!pending_t_.empty() && newest > pending_t_.front()) {
    commit(pending_t_.data(), pending_id_.data(), pending_t_.size());
    pending_t_.clear();
    pending_id_.clear();
  }
  const std::size_t tail = static_cast<std::size_t>(std::lower_bound(first, end, newest) - t);
  commit(t + b, ids + b, tail - b);
  pending_t_.insert(pending_t_.end(), t + tail, t + e);
  pending_id_.insert(pending_id_.end(), ids + tail, ids + e);
}

namespace {

inline void advance(uint64_t& bin, uint64_t& in_bin, uint64_t& sum, uint64_t& sum_sq, uint64_t k) {
  if (in_bin > 0 && k != bin) {
    sum += in_bin;
    sum_sq += in_bin * in_bin;
    in_bin = 0;
  }
  bin = k;
  ++in_bin;
}

}  // namespace

void spike_analyzer::commit(const double* t, const uint64_t* ids, std::size_t n) {
  if (n == 0) return;
  const double t_start = settings_.t_start;
  const double rate_bin = settings_.rate_bin;
  const double fano_window = settings_.fano_window;
  neuron* records = neurons_.data();
  uint64_t* counts = population_counts_.data();
  // Neurons are visited in spike order, i.e. at random: fetch a few spikes ahead.
  constexpr std::size_t ahead = 12;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + ahead < n) __builtin_prefetch(records + ids[i + ahead], 1);
    const double ti = t[i];
    neuron& a = records[ids[i]];
    if (a.count > 0) {
      const double isi = ti - a.last;
      const double delta = isi - a.isi_mean;
      a.isi_mean += delta / static_cast<double>(a.count);
      a.isi_m2 += delta * (isi - a.isi_mean);
      if (a.count >= 2) {
        // The same expression, in the same order, as stats::train_statistics.
        const double s = a.prev_isi + isi;
        if (s > 0.0) {
          const double r = (a.prev_isi - isi) / s;
          a.lv_sum += r * r;
        }
      }
      a.prev_isi = isi;
    } else {
      a.first = ti;
    }
    a.last = ti;
    ++a.count;
    const uint64_t k = bin_of(ti, t_start, rate_bin);
    ++counts[k];
    advance(a.rate.bin, a.rate.in_bin, a.rate.sum, a.rate.sum_sq, k);
    advance(a.fano.bin, a.fano.in_bin, a.fano.sum, a.fano.sum_sq, bin_of(ti, t_start, fano_window));
  }
  max_committed_ = t[n - 1];
}

population_analysis spike_analyzer::finish(double t_end) {
  const double t_stop = std::min(t_stop_max_, t_end);
  const double t_start = settings_.t_start;
  if (!(t_stop > t_start))
    throw std::invalid_argument("spike_analyzer '" + name_ + "': the window [" +
                                format_significant(t_start, 10) + ", " +
                                format_significant(t_stop, 10) + ") ms is empty");
  if (!pending_t_.empty() && pending_t_.front() < t_stop)
    commit(pending_t_.data(), pending_id_.data(), pending_t_.size());
  pending_t_.clear();
  pending_id_.clear();
  if (max_committed_ >= t_stop)
    throw input_error("spikes of population '" + name_ + "': a spike at " +
                      format_significant(max_committed_, 10) +
                      " ms lies after the end of the simulated time (" +
                      format_significant(t_stop, 10) + " ms)");

  const uint64_t n = neurons_.size();
  population_analysis r;
  r.name = name_;
  r.n_neurons = n;
  r.t_start = t_start;
  r.t_stop = t_stop;
  r.rate_bin_ms = settings_.rate_bin;
  r.fano_window_ms = settings_.fano_window;
  r.cv_min_spikes = settings_.cv_min_spikes;
  r.spike_count.resize(n);
  r.rate_hz.resize(n);
  r.isi_mean_ms.assign(n, k_nan);
  r.isi_sd_ms.assign(n, k_nan);
  r.cv_isi.assign(n, k_nan);
  r.lv.assign(n, k_nan);

  const uint64_t rate_bins = whole_bins(t_start, t_stop, settings_.rate_bin);
  const uint64_t fano_bins = whole_bins(t_start, t_stop, settings_.fano_window);
  const double seconds = (t_stop - t_start) * 1e-3;
  long double sum_neuron_var = 0.0L;
  double fano_sum = 0.0;
  uint64_t fano_used = 0;
  for (uint64_t i = 0; i < n; ++i) {
    neuron& a = neurons_[i];
    const uint64_t c = a.count;
    r.spikes += c;
    r.spike_count[i] = c;
    r.rate_hz[i] = static_cast<double>(c) / seconds;
    if (c == 0) ++r.n_silent;
    if (c >= 2) {
      const double n_isi = static_cast<double>(c - 1);
      // The mean from the end points, as the batch function: exact for a regular train.
      r.isi_mean_ms[i] = (a.last - a.first) / n_isi;
      r.isi_sd_ms[i] = std::sqrt(a.isi_m2 / n_isi);
      if (c >= settings_.cv_min_spikes) {
        r.cv_isi[i] = r.isi_sd_ms[i] / r.isi_mean_ms[i];
        if (c >= 3) r.lv[i] = 3.0 * a.lv_sum / static_cast<double>(c - 2);
      }
    }
    if (std::isnan(r.cv_isi[i])) ++r.n_cv_nan;
    // Close the current bins that are whole; a partial last bin is left out.
    if (a.rate.in_bin > 0 && a.rate.bin < rate_bins) {
      a.rate.sum += a.rate.in_bin;
      a.rate.sum_sq += a.rate.in_bin * a.rate.in_bin;
    }
    if (a.fano.in_bin > 0 && a.fano.bin < fano_bins) {
      a.fano.sum += a.fano.in_bin;
      a.fano.sum_sq += a.fano.in_bin * a.fano.in_bin;
    }
    if (rate_bins >= 2)
      sum_neuron_var += variance_from_moments(a.rate.sum, a.rate.sum_sq, rate_bins);
    if (fano_bins >= 2 && a.fano.sum > 0) {
      const long double mean =
          static_cast<long double>(a.fano.sum) / static_cast<long double>(fano_bins);
      fano_sum +=
          static_cast<double>(variance_from_moments(a.fano.sum, a.fano.sum_sq, fano_bins) / mean);
      ++fano_used;
    }
  }
  r.fano_factor = fano_used == 0 ? k_nan : fano_sum / static_cast<double>(fano_used);

  // Population rate over the whole bins, its mean and SD; chi from the same bins.
  const double per_count_hz = 1000.0 / (static_cast<double>(n) * settings_.rate_bin);
  r.population_rate_hz.resize(rate_bins);
  long double total = 0.0L;
  for (uint64_t k = 0; k < rate_bins; ++k) {
    r.population_rate_hz[k] = static_cast<double>(population_counts_[k]) * per_count_hz;
    total += static_cast<long double>(population_counts_[k]);
  }
  r.population_rate_mean_hz = k_nan;
  r.population_rate_sd_hz = k_nan;
  r.chi_squared = k_nan;
  r.chi = k_nan;
  if (rate_bins > 0) {
    const long double mean = total / static_cast<long double>(rate_bins);
    long double sum_sq = 0.0L;
    for (uint64_t k = 0; k < rate_bins; ++k) {
      const long double d = static_cast<long double>(population_counts_[k]) - mean;
      sum_sq += d * d;
    }
    const long double var = sum_sq / static_cast<long double>(rate_bins);
    r.population_rate_mean_hz = static_cast<double>(mean) * per_count_hz;
    r.population_rate_sd_hz = static_cast<double>(std::sqrt(var)) * per_count_hz;
    if (rate_bins >= 2 && sum_neuron_var > 0.0L) {
      // Var(A) / mean_i Var(r_i) with A = sum_i r_i / N: the bin width cancels.
      const long double chi_sq = var / (static_cast<long double>(n) * sum_neuron_var);
      r.chi_squared = static_cast<double>(chi_sq);
      r.chi = static_cast<double>(std::sqrt(chi_sq));
    }
  }

  double rate_hi = settings_.rate_hist_max;
  if (!(rate_hi > 0.0)) {
    rate_hi = *std::max_element(r.rate_hz.begin(), r.rate_hz.end());
    if (!(rate_hi > 0.0)) rate_hi = 1.0;
  }
  r.rate_hist = stats::make_histogram(r.rate_hz, settings_.rate_hist_bins, 0.0, rate_hi);
  r.cv_hist = stats::make_histogram(r.cv_isi, settings_.cv_hist_bins, 0.0, settings_.cv_hist_max);
  for (double v : r.rate_hz) r.rate_hist_outside += v > rate_hi ? 1 : 0;
  for (double v : r.cv_isi) r.cv_hist_outside += v > settings_.cv_hist_max ? 1 : 0;
  r.rate_summary = stats::summarize(r.rate_hz);
  r.cv_summary = stats::summarize(r.cv_isi);
  r.lv_summary = stats::summarize(r.lv);
  r.silent_fraction = static_cast<double>(r.n_silent) / static_cast<double>(n);

  neurons_ = {};
  population_counts_ = {};
  return r;
}

std::string analysis_settings_toml(const analysis_spec& a) {
  std::ostringstream o;
  o << std::setprecision(17) << "[analysis]\nenabled = " << (a.enabled ? "true" : "false")
    << "\nt_start = " << a.t_start << "\n";
  if (std::isfinite(a.t_stop)) o << "t_stop = " << a.t_stop << "\n";
  o << "rate_bin = " << a.rate_bin << "\nfano_window = " << a.fano_window
    << "\ncv_min_spikes = " << a.cv_min_spikes << "\nrate_hist_bins = " << a.rate_hist_bins
    << "\nrate_hist_max = " << a.rate_hist_max << "\ncv_hist_bins = " << a.cv_hist_bins
    << "\ncv_hist_max = " << a.cv_hist_max << "\n";
  return o.str();
}

}  // namespace spikesim
