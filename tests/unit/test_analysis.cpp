// The streaming analyzer against the batch reference functions of statistics.hpp on synthetic
// populations (exact agreement, to rounding for the ISI SD and CV), its chunking independence,
// Poisson / gamma / regular trains, and the [analysis] config table.
#include <spikesim/analysis.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/statistics.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace spikesim {
namespace {

// A population as the output file holds it: spikes sorted by time (ties by id).
struct population {
  uint64_t n_neurons = 0;
  std::vector<double> t;
  std::vector<uint64_t> ids;
};

population merge(const std::vector<std::vector<double>>& per_neuron) {
  std::vector<std::pair<double, uint64_t>> all;
  for (uint64_t i = 0; i < per_neuron.size(); ++i)
    for (double t : per_neuron[i]) all.emplace_back(t, i);
  std::sort(all.begin(), all.end());
  population p;
  p.n_neurons = per_neuron.size();
  for (const auto& [t, id] : all) {
    p.t.push_back(t);
    p.ids.push_back(id);
  }
  return p;
}

// Renewal trains with gamma(shape) ISIs at the given rate (shape 1: Poisson), from time 0, with
// times rounded up to a grid of dt as a simulation stamps them (so that ties occur).
std::vector<double> gamma_train(std::mt19937_64& rng, double shape, double rate_hz, double t_stop,
                                double dt) {
  std::gamma_distribution<double> isi(shape, 1.0 / (shape * rate_hz * 1e-3));
  std::vector<double> t;
  double now = 0.0;
  for (now += isi(rng); now < t_stop; now += isi(rng)) {
    const double stamped = dt > 0 ? std::ceil(now / dt) * dt : now;
    if (t.empty() || stamped > t.back() || dt == 0) t.push_back(stamped);
  }
  return t;
}

analysis_spec settings(double t_start, double rate_bin, double fano_window) {
  analysis_spec a;
  a.t_start = t_start;
  a.rate_bin = rate_bin;
  a.fano_window = fano_window;
  return a;
}

// Feeds the population in chunks of the given sizes (cycled) and finishes at t_end.
population_analysis stream(const population& p, const analysis_spec& a, double t_end_max,
                           double t_end, const std::vector<std::size_t>& chunks) {
  spike_analyzer an("p", p.n_neurons, a, t_end_max);
  std::size_t k = 0;
  for (std::size_t first = 0; first < p.t.size(); ++k) {
    const std::size_t n = std::min(chunks[k % chunks.size()], p.t.size() - first);
    an.add(p.t.data() + first, p.ids.data() + first, n);
    first += n;
  }
  return an.finish(t_end);
}

void expect_same_or_both_nan(double a, double b, const std::string& what) {
  if (std::isnan(b)) {
    EXPECT_TRUE(std::isnan(a)) << what << ": " << a << " instead of NaN";
  } else {
    EXPECT_EQ(a, b) << what;
  }
}

void expect_close_or_both_nan(double a, double b, double rel, const std::string& what) {
  if (std::isnan(b)) {
    EXPECT_TRUE(std::isnan(a)) << what << ": " << a << " instead of NaN";
  } else {
    EXPECT_NEAR(a, b, rel * std::abs(b) + 1e-300) << what;
  }
}

// Everything the streaming analyzer returns, against the batch functions on the same window.
void expect_matches_batch(const population& p, const population_analysis& r, const analysis_spec& a,
                          double t_stop) {
  ASSERT_EQ(r.n_neurons, p.n_neurons);
  EXPECT_EQ(r.t_start, a.t_start);
  EXPECT_EQ(r.t_stop, t_stop);
  const stats::trains tr =
      stats::group_by_neuron(p.ids.data(), p.t.data(), p.t.size(), p.n_neurons);
  uint64_t spikes = 0, silent = 0, cv_nan = 0;
  for (uint64_t i = 0; i < p.n_neurons; ++i) {
    const stats::train_stats s =
        stats::train_statistics(tr.begin(i), tr.count(i), a.t_start, t_stop, a.cv_min_spikes);
    const std::string who = "neuron " + std::to_string(i);
    EXPECT_EQ(r.spike_count[i], s.count) << who;
    EXPECT_EQ(r.rate_hz[i], s.rate_hz) << who;
    expect_same_or_both_nan(r.isi_mean_ms[i], s.isi_mean_ms, who + " ISI mean");
    expect_same_or_both_nan(r.lv[i], s.lv, who + " LV");
    // Welford's one pass against two passes: rounding only (the SD of a train that is exactly
    // regular is exactly 0 in both).
    expect_close_or_both_nan(r.isi_sd_ms[i], s.isi_sd_ms, 1e-12, who + " ISI SD");
    expect_close_or_both_nan(r.cv_isi[i], s.cv, 1e-12, who + " CV");
    spikes += s.count;
    silent += s.count == 0;
    cv_nan += std::isnan(s.cv);
  }
  EXPECT_EQ(r.spikes, spikes);
  EXPECT_EQ(r.n_silent, silent);
  EXPECT_EQ(r.n_cv_nan, cv_nan);
  EXPECT_EQ(r.silent_fraction, static_cast<double>(silent) / p.n_neurons);

  // Spikes at or after t_stop are not given to the batch population rate: it would count those
  // falling in a bin that overhangs t_stop by less than 1e-9 of a bin, the analyzer not.
  const std::size_t in_window = std::lower_bound(p.t.begin(), p.t.end(), t_stop) - p.t.begin();
  EXPECT_EQ(r.population_rate_hz, stats::population_rate_hz(p.t.data(), in_window, p.n_neurons,
                                                            a.t_start, t_stop, a.rate_bin));
  expect_same_or_both_nan(r.fano_factor, stats::fano_factor(tr, a.fano_window, a.t_start, t_stop),
                          "Fano factor");
  expect_same_or_both_nan(r.chi, stats::synchrony_chi(tr, a.rate_bin, a.t_start, t_stop), "chi");
  if (!std::isnan(r.chi)) EXPECT_NEAR(r.chi_squared, r.chi * r.chi, 1e-15);

  double mean = 0.0;
  for (double v : r.population_rate_hz) mean += v;
  mean /= r.population_rate_hz.size();
  EXPECT_NEAR(r.population_rate_mean_hz, mean, 1e-12 * mean);

  const stats::summary rs = stats::summarize(r.rate_hz);
  EXPECT_EQ(r.rate_summary.mean, rs.mean);
  EXPECT_EQ(r.rate_summary.median, rs.median);
  EXPECT_EQ(r.rate_summary.p10, rs.p10);
  EXPECT_EQ(r.rate_summary.p90, rs.p90);
  const stats::summary cs = stats::summarize(r.cv_isi);
  EXPECT_EQ(cs.n_nan, cv_nan);
  expect_close_or_both_nan(r.cv_summary.median, cs.median, 1e-12, "CV median");
  const double hi =
      a.rate_hist_max > 0 ? a.rate_hist_max : *std::max_element(r.rate_hz.begin(), r.rate_hz.end());
  const stats::histogram rh = stats::make_histogram(r.rate_hz, a.rate_hist_bins, 0.0, hi);
  EXPECT_EQ(r.rate_hist.counts, rh.counts);
  EXPECT_EQ(r.rate_hist.bin_edges, rh.bin_edges);
  EXPECT_EQ(r.cv_hist.bin_edges.front(), 0.0);
  EXPECT_EQ(r.cv_hist.bin_edges.back(), a.cv_hist_max);
  const uint64_t in_hist =
      std::accumulate(r.cv_hist.counts.begin(), r.cv_hist.counts.end(), uint64_t{0});
  EXPECT_EQ(in_hist + r.cv_hist_outside + cv_nan, p.n_neurons);
}

// A mixed population: Poisson, gamma and regular trains at several rates, neurons with no, one
// and two spikes, and times on a 0.1 ms grid so that several neurons spike at the same time.
population mixed_population(uint64_t seed, double t_stop) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<double>> per_neuron;
  for (int i = 0; i < 300; ++i) {
    const double rate = 0.5 + 60.0 * (i % 17) / 16.0;
    const double shape = i % 3 == 0 ? 1.0 : (i % 3 == 1 ? 4.0 : 0.5);
    per_neuron.push_back(gamma_train(rng, shape, rate, t_stop, 0.1));
  }
  per_neuron.push_back({});                     // silent
  per_neuron.push_back({1500.0});               // one spike
  per_neuron.push_back({900.0, 1200.0});        // two: an ISI but no CV (cv_min_spikes = 3)
  per_neuron.push_back({100.0, 150.0, 160.0});  // before t_start
  std::vector<double> regular;
  for (int k = 1; k * 25.0 < t_stop; ++k) regular.push_back(25.0 * k);
  per_neuron.push_back(regular);
  return merge(per_neuron);
}

TEST(spike_analyzer, matches_the_batch_functions) {
  const double t_end = 3000.0;
  const population p = mixed_population(11, t_end);
  for (const analysis_spec& a :
       {settings(200.0, 1.0, 100.0), settings(0.0, 0.3, 7.0), settings(250.05, 5.0, 250.0)}) {
    SCOPED_TRACE("t_start " + std::to_string(a.t_start) + " bin " + std::to_string(a.rate_bin));
    const population_analysis r = stream(p, a, t_end, t_end, {4096});
    expect_matches_batch(p, r, a, t_end);
  }
}

TEST(spike_analyzer, results_do_not_depend_on_the_chunks) {
  // Chunks of one spike, of primes that cut groups of simultaneous spikes, and all at once.
  const double t_end = 2000.0;
  const population p = mixed_population(5, t_end);
  const analysis_spec a = settings(100.0, 2.0, 50.0);
  const population_analysis whole = stream(p, a, t_end, t_end, {p.t.size()});
  for (const auto& chunks : std::vector<std::vector<std::size_t>>{{1}, {7, 13, 1, 64}, {1000}}) {
    const population_analysis r = stream(p, a, t_end, t_end, chunks);
    EXPECT_EQ(r.spike_count, whole.spike_count);
    EXPECT_EQ(r.population_rate_hz, whole.population_rate_hz);
    for (uint64_t i = 0; i < p.n_neurons; ++i) {
      expect_same_or_both_nan(r.cv_isi[i], whole.cv_isi[i], "CV");
      expect_same_or_both_nan(r.lv[i], whole.lv[i], "LV");
    }
    EXPECT_EQ(r.fano_factor, whole.fano_factor);
    EXPECT_EQ(r.chi, whole.chi);
  }
}

TEST(spike_analyzer, window_end_and_interrupted_runs) {
  // analysis.t_stop before the end: spikes after it are ignored.
  const population p = mixed_population(8, 3000.0);
  analysis_spec a = settings(100.0, 1.0, 100.0);
  a.t_stop = 2000.0;
  expect_matches_batch(p, stream(p, a, 3000.0, 3000.0, {999}), a, 2000.0);
  // A run interrupted at 1500 ms: the window ends there. Spikes stamped exactly at the end (the
  // last step's) are outside [t_start, t_end), like those at t_stop of a complete run.
  population cut = p;
  const std::size_t keep = std::upper_bound(p.t.begin(), p.t.end(), 1500.0) - p.t.begin();
  cut.t.resize(keep);
  cut.ids.resize(keep);
  ASSERT_EQ(cut.t.back(), 1500.0) << "the test needs spikes at the very end";
  const analysis_spec b = settings(100.0, 1.0, 100.0);
  expect_matches_batch(cut, stream(cut, b, 3000.0, 1500.0, {333}), b, 1500.0);
}

TEST(spike_analyzer, poisson_gamma_and_regular_trains) {
  // 200 trains of 100 s each (no grid): the analyzer's population statistics against the
  // process. Tolerances are 5 standard errors for the sample size.
  std::mt19937_64 rng(2025);
  const double t_end = 1e5;
  for (const double shape : {1.0, 4.0}) {
    std::vector<std::vector<double>> per_neuron;
    for (int i = 0; i < 200; ++i) per_neuron.push_back(gamma_train(rng, shape, 20.0, t_end, 0.0));
    const population p = merge(per_neuron);
    const population_analysis r = stream(p, settings(0.0, 5.0, 100.0), t_end, t_end, {1 << 16});
    // 2e3 ISIs per train: one train's CV has SE ~ sqrt(Var(CV)/n) (1/sqrt(n) for Poisson,
    // 0.40/sqrt(n) for shape 4: see test_statistics.cpp); the mean of 200 has SE 1/sqrt(4e5) =
    // 0.0016 and 0.0006.
    const double cv = 1.0 / std::sqrt(shape);
    EXPECT_NEAR(r.cv_summary.mean, cv, 5 * (shape == 1.0 ? 0.0016 : 0.0006) + 3 * cv / 2000)
        << "shape " << shape;  // + a bound on the O(1/n) bias of a ratio of sample moments
    // LV: a mean of terms with variance 0.8 (Poisson) or 0.16 (shape 4), tripled for the
    // overlap of neighbours, over 2e3 ISIs and 200 trains: SE 0.0024 and 0.0011.
    EXPECT_NEAR(r.lv_summary.mean, 3.0 / (2.0 * shape + 1.0), shape == 1.0 ? 0.012 : 0.0055)
        << "shape " << shape;
    EXPECT_NEAR(r.rate_summary.mean, 20.0, 5 * 20.0 * cv / std::sqrt(4e5));
    // Poisson counts in 100 ms windows (mean 2, 1e3 windows): one neuron's F has SE
    // sqrt((1/2 + 2)/1e3) = 0.05, the mean over 200 neurons 0.0035 (and a -1e-3 bias).
    if (shape == 1.0) EXPECT_NEAR(r.fano_factor, 1.0, 0.018);
    // Independent trains: chi^2 ~ 1/N.
    EXPECT_NEAR(r.chi_squared * 200, 1.0, 0.05);
  }
  std::vector<std::vector<double>> regular(10);
  for (int i = 0; i < 10; ++i)
    for (int k = 0; k < 400; ++k) regular[i].push_back(25.0 * k + i);
  const population p = merge(regular);
  const population_analysis r = stream(p, settings(0.0, 1.0, 100.0), 10000.0, 10000.0, {100});
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(r.cv_isi[i], 0.0);
    EXPECT_EQ(r.lv[i], 0.0);
    EXPECT_EQ(r.isi_mean_ms[i], 25.0);
  }
  EXPECT_EQ(r.fano_factor, 0.0);  // exactly 4 spikes in every 100 ms window
}

TEST(spike_analyzer, rejects_bad_spikes_naming_the_entry) {
  const std::vector<double> t = {1.0, 2.0, 1.5};
  const std::vector<uint64_t> ids = {0, 1, 0};
  const analysis_spec a = settings(0.0, 1.0, 10.0);
  auto expect_input_error = [&](const std::vector<double>& tt, const std::vector<uint64_t>& ii,
                                const std::string& needle) {
    spike_analyzer an("pop", 2, a, 100.0);
    try {
      an.add(tt.data(), ii.data(), tt.size());
      ADD_FAILURE() << "no error, expected " << needle;
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_input_error(t, ids, "entry 2: time 1.5 ms is earlier");
  expect_input_error({1.0, 2.0}, {0, 2}, "entry 1: node id 2 is out of range");
  expect_input_error({std::nan("")}, {0}, "entry 0: the time is NaN");
  // Spikes after the end of the simulated time mean a broken file.
  spike_analyzer an("pop", 2, a, 100.0);
  const std::vector<double> late = {10.0, 60.0, 70.0};
  an.add(late.data(), ids.data(), 3);
  EXPECT_THROW(an.finish(50.0), input_error);
}

// ------------------------------------------------------------------------------- the config

TEST(analysis_config, defaults_and_keys) {
  const std::string base = "[run]\ntstop = 1000.0\n[population.p]\nsize = 10\nmodel = \"lif\"\n";
  analysis_spec a = testing::spec_from(base).analysis;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.t_start, 0.0);
  EXPECT_TRUE(std::isinf(a.t_stop));
  EXPECT_EQ(a.rate_bin, 1.0);
  EXPECT_EQ(a.cv_min_spikes, 3u);
  EXPECT_EQ(a.fano_window, 100.0);
  a = testing::spec_from(base +
                         "[analysis]\nt_start = 200\nt_stop = 900.0\nrate_bin = 5\n"
                         "cv_min_spikes = 10\nfano_window = 50\nrate_hist_bins = 20\n"
                         "rate_hist_max = 40\ncv_hist_bins = 30\ncv_hist_max = 2\n"
                         "enabled = false\n")
          .analysis;
  EXPECT_FALSE(a.enabled);
  EXPECT_EQ(a.t_start, 200.0);
  EXPECT_EQ(a.t_stop, 900.0);
  EXPECT_EQ(a.rate_bin, 5.0);
  EXPECT_EQ(a.cv_min_spikes, 10u);
  EXPECT_EQ(a.fano_window, 50.0);
  EXPECT_EQ(a.rate_hist_bins, 20u);
  EXPECT_EQ(a.rate_hist_max, 40.0);
  EXPECT_EQ(a.cv_hist_bins, 30u);
  EXPECT_EQ(a.cv_hist_max, 2.0);
  // The settings as TOML parse back to the same values.
  const analysis_spec back = testing::spec_from(base + analysis_settings_toml(a)).analysis;
  EXPECT_EQ(back.t_stop, 900.0);
  EXPECT_EQ(back.cv_min_spikes, 10u);
  EXPECT_EQ(analysis_settings_toml(back), analysis_settings_toml(a));
}

TEST(analysis_config, bad_values_name_key_value_and_unit) {
  const std::string base = "[run]\ntstop = 1000.0\n[population.p]\nsize = 10\nmodel = \"lif\"\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"analysis.t_start=-1", "analysis.t_start: -1 ms is invalid"},
      {"analysis.t_start=1000", "analysis.t_start: 1000 ms is invalid: must be below run.tstop"},
      {"analysis.t_stop=0", "analysis.t_stop: 0 ms is invalid"},
      {"analysis.rate_bin=0", "analysis.rate_bin: 0 ms is invalid"},
      {"analysis.rate_bin=1e-6", "analysis.rate_bin: 1e-06 ms is invalid: gives 1e+09 bins"},
      {"analysis.fano_window=-5", "analysis.fano_window: -5 ms is invalid"},
      {"analysis.cv_min_spikes=1", "analysis.cv_min_spikes = 1 spikes: must be >= 2"},
      {"analysis.cv_min_spikes=2.5", "analysis.cv_min_spikes = 2.5 spikes"},
      {"analysis.rate_hist_bins=0", "analysis.rate_hist_bins = 0 bins"},
      {"analysis.cv_hist_max=0", "analysis.cv_hist_max: 0 is invalid"},
      {"analysis.rate_hist_max=-1", "analysis.rate_hist_max: -1 Hz is invalid"},
      {"analysis.enabled=3", "analysis.enabled = 3: expected true or false"},
      {"analysis.bin=3", "analysis.bin: unknown key"},
  };
  // A run so long that the default 1 ms bins would not fit: named as the default; switching the
  // analysis off lets it run.
  const std::string long_run =
      "[run]\ntstop = 1e9\ndt = 1000.0\n[population.p]\nsize = 10\nmodel = \"lif\"\n";
  try {
    testing::spec_from(long_run);
    ADD_FAILURE() << "a 1e9 ms run with 1 ms bins was accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("analysis.rate_bin: 1 ms (the default) is invalid"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(testing::spec_from(long_run, {"analysis.enabled=false"}));
  for (const auto& [set, needle] : cases) {
    try {
      testing::spec_from(base, {set});
      ADD_FAILURE() << set << ": accepted";
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << set << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace spikesim
