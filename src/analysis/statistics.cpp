// Spike-train statistics over sorted per-neuron trains and (node_id, timestamp) populations,
// plus numpy-compatible histograms and percentiles for summarising per-neuron values.
#include <spikesim/statistics.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <spikesim/format.hpp>

namespace spikesim {
namespace stats {

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// More bins than this would need gigabytes for the per-bin vector: almost certainly a unit error.
constexpr double k_max_bins = 1e9;

// A count is written whole, a measure with 10 significant digits.
template <class T>
[[noreturn]] void fail(const char* where, const char* name, T value, const char* unit,
                       const std::string& requirement) {
  std::string text;
  if constexpr (std::is_integral_v<T>)
    text = std::to_string(value);
  else
    text = format_significant(value, 10);
  throw std::invalid_argument(std::string(where) + ": " + name + " = " + text +
                              (unit[0] != '\0' ? " " : "") + unit + ", " + requirement);
}

void require_window(const char* where, double t_start, double t_stop) {
  if (!std::isfinite(t_start)) fail(where, "t_start", t_start, "ms", "must be finite");
  if (!std::isfinite(t_stop)) fail(where, "t_stop", t_stop, "ms", "must be finite");
  if (!(t_stop > t_start)) fail(where, "t_stop", t_stop, "ms", "must be > t_start");
}

// Whole bins [t_start + k width, t_start + (k + 1) width) that fit in [t_start, t_stop]; a bin
// overhanging t_stop by no more than 1e-9 of its width counts as whole, so that e.g. 1000 ms in
// 0.1 ms bins gives 10000 bins despite rounding.
struct binning {
  double t_start;
  double width;
  std::size_t n_bins;

  // Bin of time t, or n_bins when t falls outside the whole bins.
  std::size_t index(double t) const {
    if (!(t >= t_start)) return n_bins;
    const double k = std::floor((t - t_start) / width);
    return k < static_cast<double>(n_bins) ? static_cast<std::size_t>(k) : n_bins;
  }
};

binning make_binning(const char* where, const char* width_name, double t_start, double t_stop,
                     double width) {
  require_window(where, t_start, t_stop);
  if (!std::isfinite(width) || !(width > 0.0)) fail(where, width_name, width, "ms", "must be > 0");
  const double n = std::floor((t_stop - t_start) / width + 1e-9);
  if (n > k_max_bins) {
    fail(where, width_name, width, "ms",
         "gives more than 1e9 bins over [t_start, t_stop); use a wider bin");
  }
  return {t_start, width, static_cast<std::size_t>(n)};
}

// Sums of the per-bin spike counts c_k and c_k^2 of one sorted train over the whole bins; bins
// without spikes contribute nothing, so this costs O(spikes), not O(bins).
struct count_moments {
  long double sum = 0.0L;
  long double sum_sq = 0.0L;
};

count_moments bin_count_moments(const char* where, const binning& b, const double* t, std::size_t n,
                                std::size_t neuron, std::vector<uint64_t>* per_bin) {
  count_moments m;
  const double* first = std::lower_bound(t, t + n, b.t_start);
  std::size_t current = b.n_bins;
  uint64_t run = 0;
  auto flush = [&]() {
    if (run == 0) return;
    m.sum += static_cast<long double>(run);
    m.sum_sq += static_cast<long double>(run) * static_cast<long double>(run);
    if (per_bin != nullptr) (*per_bin)[current] += run;
  };
  for (const double* p = first; p != t + n; ++p) {
    const std::size_t k = b.index(*p);
    if (k == b.n_bins) break;  // sorted: every later spike is past the last whole bin
    if (k != current) {
      if (current != b.n_bins && k < current) {
        fail(where, "neuron", neuron, "", "spike times must be sorted ascending");
      }
      flush();
      current = k;
      run = 0;
    }
    ++run;
  }
  flush();
  return m;
}

long double variance_from_moments(const count_moments& m, std::size_t n_bins) {
  const long double n = static_cast<long double>(n_bins);
  const long double mean = m.sum / n;
  return std::max(0.0L, m.sum_sq / n - mean * mean);
}

// numpy's _lerp: a + (b - a) t, evaluated from the nearer end for accuracy.
double lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

double quantile_sorted(const std::vector<double>& a, double q) {
  const double position = q * static_cast<double>(a.size() - 1);
  const double j = std::floor(position);
  const std::size_t lo = static_cast<std::size_t>(j);
  if (lo + 1 >= a.size()) return a.back();
  return lerp(a[lo], a[lo + 1], position - j);
}

}  // namespace

trains group_by_neuron(const uint64_t* ids, const double* t, std::size_t n, uint64_t n_neurons) {
  const char* where = "group_by_neuron";
  trains out;
  out.offsets.assign(static_cast<std::size_t>(n_neurons) + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (ids[i] >= n_neurons) {
      fail(where, "node_id", ids[i], "",
           "must be < n_neurons = " + std::to_string(n_neurons) + " (entry " + std::to_string(i) +
               ")");
    }
    if (std::isnan(t[i])) {
      fail(where, "timestamp", t[i], "ms", "must not be NaN (entry " + std::to_string(i) + ")");
    }
    ++out.offsets[static_cast<std::size_t>(ids[i]) + 1];
  }
  for (std::size_t i = 1; i < out.offsets.size(); ++i) out.offsets[i] += out.offsets[i - 1];
  std::vector<uint64_t> cursor(out.offsets.begin(), out.offsets.end() - 1);
  out.times.resize(n);
  for (std::size_t i = 0; i < n; ++i) out.times[cursor[ids[i]]++] = t[i];
  for (std::size_t neuron = 0; neuron < n_neurons; ++neuron) {
    double* first = out.times.data() + out.offsets[neuron];
    double* last = out.times.data() + out.offsets[neuron + 1];
    if (!std::is_sorted(first, last)) std::sort(first, last);
  }
  return out;
}

train_stats train_statistics(const double* t, std::size_t n, double t_start, double t_stop,
                             uint64_t cv_min_spikes) {
  const char* where = "train_statistics";
  require_window(where, t_start, t_stop);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(t[i]) || (i > 0 && t[i] < t[i - 1])) {
      fail(where, "spike time", t[i], "ms",
           "spike times must be sorted ascending and not NaN (entry " + std::to_string(i) + ")");
    }
  }
  const double* first = std::lower_bound(t, t + n, t_start);
  const double* last = std::lower_bound(first, t + n, t_stop);
  const uint64_t count = static_cast<uint64_t>(last - first);

  train_stats s{
      count, static_cast<double>(count) / ((t_stop - t_start) * 1e-3), k_nan, k_nan, k_nan, k_nan};
  if (count < 2) return s;
  const std::size_t n_isi = static_cast<std::size_t>(count - 1);
  // The mean from the end points is exact for a regular train on a representable grid.
  s.isi_mean_ms = (last[-1] - first[0]) / static_cast<double>(n_isi);
  double sum_sq = 0.0;
  for (std::size_t i = 0; i < n_isi; ++i) {
    const double d = (first[i + 1] - first[i]) - s.isi_mean_ms;
    sum_sq += d * d;
  }
  s.isi_sd_ms = std::sqrt(sum_sq / static_cast<double>(n_isi));
  if (count < cv_min_spikes) return s;
  s.cv = s.isi_sd_ms / s.isi_mean_ms;
  if (n_isi < 2) return s;
  double lv_sum = 0.0;
  for (std::size_t i = 0; i + 1 < n_isi; ++i) {
    const double a = first[i + 1] - first[i];
    const double b = first[i + 2] - first[i + 1];
    if (a + b > 0.0) {
      const double r = (a - b) / (a + b);
      lv_sum += r * r;
    }
  }
  s.lv = 3.0 * lv_sum / static_cast<double>(n_isi - 1);
  return s;
}

std::vector<double> population_rate_hz(const double* t, std::size_t n_spikes, uint64_t n_neurons,
                                       double t_start, double t_stop, double bin_ms) {
  const char* where = "population_rate_hz";
  if (n_neurons == 0) fail(where, "n_neurons", n_neurons, "", "must be > 0");
  const binning b = make_binning(where, "bin_ms", t_start, t_stop, bin_ms);
  std::vector<uint64_t> counts(b.n_bins, 0);
  for (std::size_t i = 0; i < n_spikes; ++i) {
    const std::size_t k = b.index(t[i]);
    if (k < b.n_bins) ++counts[k];
  }
  const double per_count_hz = 1000.0 / (static_cast<double>(n_neurons) * bin_ms);
  std::vector<double> rate(b.n_bins);
  for (std::size_t k = 0; k < b.n_bins; ++k)
    rate[k] = static_cast<double>(counts[k]) * per_count_hz;
  return rate;
}

double fano_factor(const trains& spikes, double window_ms, double t_start, double t_stop) {
  const char* where = "fano_factor";
  const binning b = make_binning(where, "window_ms", t_start, t_stop, window_ms);
  if (b.n_bins < 2) return k_nan;
  double sum = 0.0;
  std::size_t n_used = 0;
  for (std::size_t i = 0; i < spikes.n_neurons(); ++i) {
    const count_moments m =
        bin_count_moments(where, b, spikes.begin(i), spikes.count(i), i, nullptr);
    if (m.sum == 0.0L) continue;
    const long double mean = m.sum / static_cast<long double>(b.n_bins);
    sum += static_cast<double>(variance_from_moments(m, b.n_bins) / mean);
    ++n_used;
  }
  return n_used == 0 ? k_nan : sum / static_cast<double>(n_used);
}

double synchrony_chi(const trains& spikes, double bin_ms, double t_start, double t_stop) {
  const char* where = "synchrony_chi";
  const binning b = make_binning(where, "bin_ms", t_start, t_stop, bin_ms);
  const std::size_t n_neurons = spikes.n_neurons();
  if (b.n_bins < 2 || n_neurons == 0) return k_nan;
  std::vector<uint64_t> population(b.n_bins, 0);
  long double sum_neuron_var = 0.0L;
  for (std::size_t i = 0; i < n_neurons; ++i) {
    const count_moments m =
        bin_count_moments(where, b, spikes.begin(i), spikes.count(i), i, &population);
    sum_neuron_var += variance_from_moments(m, b.n_bins);
  }
  if (!(sum_neuron_var > 0.0L)) return k_nan;
  // Two passes over the population counts: their variance can be small next to their mean.
  long double total = 0.0L;
  for (uint64_t c : population) total += static_cast<long double>(c);
  const long double mean = total / static_cast<long double>(b.n_bins);
  long double sum_sq = 0.0L;
  for (uint64_t c : population) {
    const long double d = static_cast<long double>(c) - mean;
    sum_sq += d * d;
  }
  const long double population_var = sum_sq / static_cast<long double>(b.n_bins);
  // Var(A) / mean_i Var(r_i) with A = sum_i r_i / N: the bin width cancels.
  const long double chi_sq =
      population_var / (static_cast<long double>(n_neurons) * sum_neuron_var);
  return static_cast<double>(std::sqrt(chi_sq));
}

histogram make_histogram(const std::vector<double>& values, std::size_t bins, double lo,
                         double hi) {
  const char* where = "make_histogram";
  if (bins == 0) fail(where, "bins", bins, "", "must be > 0");
  if (!std::isfinite(lo)) fail(where, "lo", lo, "", "must be finite");
  if (!std::isfinite(hi)) fail(where, "hi", hi, "", "must be finite");
  if (!(hi > lo)) fail(where, "hi", hi, "", "must be > lo");
  histogram h;
  h.counts.assign(bins, 0);
  h.bin_edges.resize(bins + 1);
  // Edges as numpy.linspace makes them, so that counts agree with numpy.histogram bit for bit.
  const double step = (hi - lo) / static_cast<double>(bins);
  for (std::size_t k = 0; k < bins; ++k) h.bin_edges[k] = static_cast<double>(k) * step + lo;
  h.bin_edges[bins] = hi;
  const double norm = static_cast<double>(bins) / (hi - lo);
  for (double v : values) {
    if (!(v >= lo && v <= hi)) continue;  // NaN fails both
    std::size_t k = static_cast<std::size_t>((v - lo) * norm);
    if (k >= bins) k = bins - 1;
    // The scaled index can be off by one near an edge; the edges decide.
    if (v < h.bin_edges[k]) --k;
    if (k + 1 < bins && v >= h.bin_edges[k + 1]) ++k;
    ++h.counts[k];
  }
  return h;
}

summary summarize(const std::vector<double>& values) {
  summary s{k_nan, k_nan, k_nan, k_nan, 0, 0};
  std::vector<double> sorted;
  sorted.reserve(values.size());
  for (double v : values) {
    if (std::isnan(v)) {
      ++s.n_nan;
    } else {
      sorted.push_back(v);
    }
  }
  s.n = sorted.size();
  if (sorted.empty()) return s;
  std::sort(sorted.begin(), sorted.end());
  double total = 0.0;
  for (double v : sorted) total += v;
  s.mean = total / static_cast<double>(sorted.size());
  const std::size_t half = sorted.size() / 2;
  // numpy.median averages the two middle values of an even count.
  s.median = sorted.size() % 2 == 1 ? sorted[half] : 0.5 * (sorted[half - 1] + sorted[half]);
  s.p10 = quantile_sorted(sorted, 0.10);
  s.p90 = quantile_sorted(sorted, 0.90);
  return s;
}

}  // namespace stats
}  // namespace spikesim
