// Unit tests for spike-train statistics. Random trains come from std::mt19937_64 with fixed
// seeds; every statistical tolerance is five standard errors for the sample size used.
#include <spikesim/statistics.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace spikesim {
namespace stats {
namespace {

std::vector<double> poisson_train(std::mt19937_64& rng, double rate_hz, double t_stop_ms) {
  std::exponential_distribution<double> isi(rate_hz * 1e-3);
  std::vector<double> t;
  for (double now = isi(rng); now < t_stop_ms; now += isi(rng)) t.push_back(now);
  return t;
}

std::vector<double> gamma_train(std::mt19937_64& rng, double shape, double rate_hz,
                                double t_stop_ms) {
  std::gamma_distribution<double> isi(shape, 1.0 / (shape * rate_hz * 1e-3));
  std::vector<double> t;
  for (double now = isi(rng); now < t_stop_ms; now += isi(rng)) t.push_back(now);
  return t;
}

trains as_trains(const std::vector<std::vector<double>>& per_neuron) {
  trains out;
  out.offsets.push_back(0);
  for (const std::vector<double>& t : per_neuron) {
    out.times.insert(out.times.end(), t.begin(), t.end());
    out.offsets.push_back(out.times.size());
  }
  return out;
}

template <class F>
void expect_invalid_argument(F call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no exception, expected one mentioning " << needle;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------------- train statistics

TEST(train_statistics, poisson_train_has_unit_cv_and_lv) {
  std::mt19937_64 rng(12345);
  const double t_stop = 5e6;  // 5000 s at 20 Hz: n ~ 1e5 spikes
  const std::vector<double> t = poisson_train(rng, 20.0, t_stop);
  const train_stats s = train_statistics(t.data(), t.size(), 0.0, t_stop, 3);
  EXPECT_EQ(s.count, t.size());
  // Count ~ Poisson(1e5): relative SD 1/sqrt(1e5) = 0.0032 -> 5 SE = 0.32 Hz.
  EXPECT_NEAR(s.rate_hz, 20.0, 0.32);
  // Mean ISI 50 ms, SD of the estimate 50/sqrt(n) = 0.16 ms.
  EXPECT_NEAR(s.isi_mean_ms, 50.0, 0.8);
  // Delta method for exponential ISIs (mu3 = 2, mu4 = 9 in units of the mean): Var(CV) = 1/n,
  // SE 0.0032.
  EXPECT_NEAR(s.cv, 1.0, 0.016);
  // Each LV term 3 ((I1 - I2)/(I1 + I2))^2 = 3 (2U - 1)^2 with U uniform: variance 0.8; adjacent
  // terms share an ISI, so Var(LV) <= 3 * 0.8 / n, SE <= 0.0049.
  EXPECT_NEAR(s.lv, 1.0, 0.025);
}

TEST(train_statistics, gamma_train_of_shape_four) {
  std::mt19937_64 rng(777);
  const double k = 4.0;
  const std::vector<double> t = gamma_train(rng, k, 20.0, 5e6);  // n ~ 1e5 ISIs
  const train_stats s = train_statistics(t.data(), t.size(), 0.0, 5e6, 3);
  // Gamma(k) ISIs: CV = 1/sqrt(k) = 0.5. Delta method with mu2 = k, mu3 = 2k, mu4 = 3k^2 + 6k
  // (unit scale): Var(CV) = 0.156/n, SE 0.00125.
  EXPECT_NEAR(s.cv, 0.5, 0.00625);
  // U = I1/(I1 + I2) ~ Beta(k, k): E[(2U-1)^2] = 1/(2k+1), so LV = 3/(2k+1) = 1/3;
  // E[(2U-1)^4] = 3/((2k+1)(2k+3)) gives Var of a term 0.16, tripled for overlap: SE 0.0022.
  EXPECT_NEAR(s.lv, 3.0 / (2.0 * k + 1.0), 0.011);
}

TEST(train_statistics, regular_train_is_exactly_regular) {
  // 25 ms is exact in binary, so every ISI is exactly 25 and CV, LV vanish exactly.
  std::vector<double> t;
  for (int k = 0; k < 400; ++k) t.push_back(25.0 * k);
  const train_stats s = train_statistics(t.data(), t.size(), 0.0, 10000.0, 3);
  EXPECT_EQ(s.count, 400u);
  EXPECT_EQ(s.rate_hz, 40.0);
  EXPECT_EQ(s.isi_mean_ms, 25.0);
  EXPECT_EQ(s.isi_sd_ms, 0.0);
  EXPECT_EQ(s.cv, 0.0);
  EXPECT_EQ(s.lv, 0.0);
}

TEST(train_statistics, window_and_small_counts) {
  // Spikes in [10, 40): 10, 20, 39 -> ISIs 10, 19: mean 14.5, population SD 4.5,
  // LV = 3/1 * ((10 - 19)/(10 + 19))^2.
  const std::vector<double> t = {5.0, 10.0, 20.0, 39.0, 50.0};
  train_stats s = train_statistics(t.data(), t.size(), 10.0, 40.0, 3);
  EXPECT_EQ(s.count, 3u);  // 10 is in, 5 and 50 are out; 39 < 40 is in
  EXPECT_DOUBLE_EQ(s.rate_hz, 3.0 / 0.030);
  EXPECT_DOUBLE_EQ(s.isi_mean_ms, 14.5);
  EXPECT_DOUBLE_EQ(s.isi_sd_ms, 4.5);
  EXPECT_DOUBLE_EQ(s.cv, 4.5 / 14.5);
  EXPECT_DOUBLE_EQ(s.lv, 3.0 * std::pow((10.0 - 19.0) / (10.0 + 19.0), 2));
  // Below cv_min_spikes: moments yes, CV and LV no.
  s = train_statistics(t.data(), t.size(), 10.0, 40.0, 4);
  EXPECT_DOUBLE_EQ(s.isi_mean_ms, 14.5);
  EXPECT_TRUE(std::isnan(s.cv));
  EXPECT_TRUE(std::isnan(s.lv));
  // Two spikes: one ISI, CV 0, no LV.
  s = train_statistics(t.data(), t.size(), 10.0, 30.0, 0);
  EXPECT_EQ(s.cv, 0.0);
  EXPECT_TRUE(std::isnan(s.lv));
  // No spikes at all.
  s = train_statistics(nullptr, 0, 0.0, 1000.0, 0);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.rate_hz, 0.0);
  EXPECT_TRUE(std::isnan(s.isi_mean_ms));
  EXPECT_TRUE(std::isnan(s.cv));
}

TEST(train_statistics, rejects_bad_input) {
  const std::vector<double> unsorted = {1.0, 3.0, 2.0};
  expect_invalid_argument([&] { train_statistics(unsorted.data(), 3, 0.0, 10.0, 0); }, "sorted");
  expect_invalid_argument([&] { train_statistics(unsorted.data(), 0, 10.0, 10.0, 0); },
                          "t_stop = 10 ms");
}

// ---------------------------------------------------------------------------- population rate

TEST(population_rate, known_pattern_is_exact) {
  // 4 neurons, 10 ms bins from 100 ms; t_stop 135 leaves [130, 135) partial, so 3 bins.
  const std::vector<double> t = {125.0, 99.9,  100.0, 110.0, 105.0,
                                 130.0, 134.0, 140.0, 129.5, 109.999};
  const std::vector<double> rate = population_rate_hz(t.data(), t.size(), 4, 100.0, 135.0, 10.0);
  ASSERT_EQ(rate.size(), 3u);
  // Counts 3, 1, 2 over 4 neurons * 0.01 s.
  EXPECT_DOUBLE_EQ(rate[0], 75.0);
  EXPECT_DOUBLE_EQ(rate[1], 25.0);
  EXPECT_DOUBLE_EQ(rate[2], 50.0);
}

TEST(population_rate, whole_bins_survive_rounding) {
  // 0.3 / 0.1 = 2.9999999999999996 in double; the bins still number 3.
  EXPECT_EQ(population_rate_hz(nullptr, 0, 1, 0.0, 0.3, 0.1).size(), 3u);
  EXPECT_EQ(population_rate_hz(nullptr, 0, 1, 0.0, 1000.0, 0.1).size(), 10000u);
  EXPECT_EQ(population_rate_hz(nullptr, 0, 1, 0.0, 0.29, 0.1).size(), 2u);
  expect_invalid_argument([] { population_rate_hz(nullptr, 0, 1, 0.0, 10.0, 0.0); },
                          "bin_ms = 0 ms");
  expect_invalid_argument([] { population_rate_hz(nullptr, 0, 0, 0.0, 10.0, 1.0); },
                          "n_neurons = 0");
}

// ------------------------------------------------------------------------------- fano factor

TEST(fano_factor, poisson_counts_have_unit_fano) {
  std::mt19937_64 rng(2024);
  std::vector<std::vector<double>> per_neuron;
  for (int i = 0; i < 4; ++i) per_neuron.push_back(poisson_train(rng, 20.0, 5e6));
  per_neuron.push_back({});  // silent neurons are left out of the mean
  const trains tr = as_trains(per_neuron);
  // 100 ms windows: mean count 2, 5e4 windows per neuron. Var(s^2) = (lambda + 2 lambda^2)/M for
  // Poisson counts, so one neuron's F has SE sqrt((1/lambda + 2)/M) = 0.0071; the mean of 4 has
  // SE 0.0035 (and a -1/M bias from ddof 0).
  EXPECT_NEAR(fano_factor(tr, 100.0, 0.0, 5e6), 1.0, 0.018);
}

TEST(fano_factor, regular_train_has_zero_fano) {
  std::vector<double> t;
  for (int k = 0; k < 400; ++k) t.push_back(25.0 * k);
  const trains tr = as_trains({t, {}});
  EXPECT_EQ(fano_factor(tr, 100.0, 0.0, 10000.0), 0.0);  // exactly 4 spikes per window
  EXPECT_TRUE(std::isnan(fano_factor(as_trains({{}, {}}), 100.0, 0.0, 10000.0)));
  EXPECT_TRUE(std::isnan(fano_factor(tr, 100.0, 0.0, 150.0)));  // a single whole window
}

TEST(fano_factor, hand_example) {
  // Windows [0,10), [10,20), [20,30), [30,40): counts 2, 0, 1, 1 -> mean 1, variance 0.5.
  const trains tr = as_trains({{1.0, 2.0, 25.0, 31.0, 45.0}});
  EXPECT_DOUBLE_EQ(fano_factor(tr, 10.0, 0.0, 40.0), 0.5);
}

// ---------------------------------------------------------------------------------- synchrony

TEST(synchrony_chi, identical_trains_are_fully_synchronous) {
  std::mt19937_64 rng(99);
  const std::vector<double> t = poisson_train(rng, 20.0, 1e5);
  const trains tr = as_trains(std::vector<std::vector<double>>(50, t));
  EXPECT_NEAR(synchrony_chi(tr, 5.0, 0.0, 1e5), 1.0, 1e-12);
}

TEST(synchrony_chi, independent_trains_scale_as_one_over_sqrt_n) {
  std::mt19937_64 rng(4321);
  const int n = 100;
  std::vector<std::vector<double>> per_neuron;
  for (int i = 0; i < n; ++i) per_neuron.push_back(poisson_train(rng, 20.0, 2e5));
  const trains tr = as_trains(per_neuron);
  const double chi = synchrony_chi(tr, 5.0, 0.0, 2e5);
  // Independent trains: E[chi^2] = 1/N. With 4e4 bins the population count is ~Poisson(10), so
  // its sample variance has relative SE sqrt((2 + 1/10)/4e4) = 0.0072; the denominator averages
  // 100 such variances and fluctuates far less. 5 SE: 3.6 % on chi^2.
  EXPECT_NEAR(chi * chi * n, 1.0, 0.036);
  EXPECT_LT(chi, 1.02 / std::sqrt(static_cast<double>(n)));
}

TEST(synchrony_chi, hand_example) {
  // Bins of 10 ms over [0, 40): neuron 0 counts 1 0 1 0, neuron 1 counts 1 0 0 1.
  // Var(c0) = Var(c1) = 0.25; population counts 2 0 1 1 -> variance 0.5.
  // chi^2 = Var(A) / mean Var(r_i) = (0.5 / 4) / 0.25 = 0.5.
  const trains tr = as_trains({{1.0, 21.0}, {2.0, 35.0}});
  EXPECT_DOUBLE_EQ(synchrony_chi(tr, 10.0, 0.0, 40.0), std::sqrt(0.5));
  EXPECT_TRUE(std::isnan(synchrony_chi(as_trains({{}, {}}), 10.0, 0.0, 40.0)));
}

// -------------------------------------------------------------------------- group by neuron

TEST(group_by_neuron, counting_sort_then_sort_within_neuron) {
  const std::vector<uint64_t> ids = {2, 0, 1, 0, 2, 2};
  const std::vector<double> t = {5.0, 3.0, 1.0, 1.0, 4.0, 6.0};
  const trains tr = group_by_neuron(ids.data(), t.data(), ids.size(), 4);
  EXPECT_EQ(tr.offsets, (std::vector<uint64_t>{0, 2, 3, 6, 6}));
  EXPECT_EQ(tr.times, (std::vector<double>{1.0, 3.0, 1.0, 4.0, 5.0, 6.0}));
  EXPECT_EQ(tr.n_neurons(), 4u);
  EXPECT_EQ(tr.count(3), 0u);
  expect_invalid_argument([&] { group_by_neuron(ids.data(), t.data(), ids.size(), 2); },
                          "node_id = 2");
}

TEST(group_by_neuron, time_sorted_input_stays_in_order) {
  // A population sorted by time gives sorted trains without sorting.
  const std::vector<uint64_t> ids = {1, 0, 1, 1, 0};
  const std::vector<double> t = {0.5, 1.0, 1.0, 2.0, 3.0};
  const trains tr = group_by_neuron(ids.data(), t.data(), ids.size(), 2);
  EXPECT_EQ(tr.times, (std::vector<double>{1.0, 3.0, 0.5, 1.0, 2.0}));
  const train_stats s = train_statistics(tr.begin(1), tr.count(1), 0.0, 10.0, 0);
  EXPECT_EQ(s.count, 3u);
}

// --------------------------------------------------------------------- histogram and summary

TEST(histogram, hand_example) {
  const std::vector<double> values = {0.0, 0.5,          1.0,  1.5, 2.0,  2.5,
                                      3.0, std::nan(""), -1.0, 4.0, 2.999};
  const histogram h = make_histogram(values, 3, 0.0, 3.0);
  EXPECT_EQ(h.bin_edges, (std::vector<double>{0.0, 1.0, 2.0, 3.0}));
  // [0,1): 0, 0.5; [1,2): 1, 1.5; [2,3]: 2, 2.5, 2.999 and 3 (hi is in the last bin);
  // NaN, -1 and 4 are not counted.
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{2, 2, 4}));
}

TEST(histogram, counts_follow_the_edges) {
  // Edge 3 of linspace(0, 1, 11) is 3 * 0.1 = 0.30000000000000004 > 0.3, while 0.3 * 10 rounds
  // to 3: the edge decides, 0.3 goes to bin 2 (as numpy.histogram does); likewise 0.7 is below
  // edge 7 = 0.7000000000000001 and goes to bin 6.
  const histogram h = make_histogram({0.3, 0.7, 1.0, 0.0}, 10, 0.0, 1.0);
  ASSERT_EQ(h.bin_edges.size(), 11u);
  EXPECT_EQ(h.bin_edges[3], 3 * 0.1);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{1, 0, 1, 0, 0, 0, 1, 0, 0, 1}));
  // Every value of a fine sweep lands in the bin whose edges bracket it.
  std::vector<double> sweep;
  for (int i = 0; i <= 1000; ++i) sweep.push_back(i * 0.001);
  const histogram fine = make_histogram(sweep, 7, 0.0, 1.0);
  uint64_t total = 0;
  for (std::size_t k = 0; k < 7; ++k) {
    uint64_t expected = 0;
    for (double v : sweep) {
      const bool last = k == 6;
      if (v >= fine.bin_edges[k] && (v < fine.bin_edges[k + 1] || (last && v <= 1.0))) ++expected;
    }
    EXPECT_EQ(fine.counts[k], expected) << "bin " << k;
    total += fine.counts[k];
  }
  EXPECT_EQ(total, sweep.size());
  expect_invalid_argument([] { make_histogram({}, 0, 0.0, 1.0); }, "bins = 0");
  expect_invalid_argument([] { make_histogram({}, 3, 1.0, 1.0); }, "hi = 1");
}

TEST(summary, matches_numpy_percentiles) {
  // Sorted non-NaN: 1 2 3 4 10. Linear method: p10 at position 0.4 -> 1 + 0.4 * 1 = 1.4;
  // p90 at position 3.6 -> 4 + 0.6 * 6 = 7.6; median 3; mean 20 / 5 = 4.
  summary s = summarize({10.0, std::nan(""), 1.0, 4.0, 2.0, 3.0});
  EXPECT_EQ(s.n, 5u);
  EXPECT_EQ(s.n_nan, 1u);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.p10, 1.4);
  EXPECT_DOUBLE_EQ(s.p90, 7.6);
  // Even count 1 2 3 4: median 2.5; p10 at 0.3 -> 1.3; p90 at 2.7 -> 3.7.
  s = summarize({4.0, 3.0, 2.0, 1.0});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.p10, 1.3);
  EXPECT_DOUBLE_EQ(s.p90, 3.7);
  s = summarize({std::nan(""), std::nan("")});
  EXPECT_EQ(s.n, 0u);
  EXPECT_EQ(s.n_nan, 2u);
  EXPECT_TRUE(std::isnan(s.mean));
  EXPECT_TRUE(std::isnan(s.p90));
  s = summarize({7.0});
  EXPECT_EQ(s.p10, 7.0);
  EXPECT_EQ(s.p90, 7.0);
}

}  // namespace
}  // namespace stats
}  // namespace spikesim
