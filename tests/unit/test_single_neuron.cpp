// Unit tests for the single-neuron analysis (single_neuron.hpp) against closed forms: the phase
// line's fixed points and their stability, rheobase, effective threshold and the f–I curve.
#include <spikesim/single_neuron.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <spikesim/errors.hpp>
#include <spikesim/theory.hpp>

namespace spikesim::single_neuron {
namespace {

// The reference EIF neuron of examples/eif_fI.toml (the struct's defaults, t_ref = 0).
eif_params reference_eif() {
  return eif_params{};
}

// Zeros of f(u) = -(u - E_L) + delta_T exp((u - V_T)/delta_T) + R_m I for the reference neuron,
// x = u - V_T: x + (V_T - E_L - R_m I) = exp(x). Iterated as contractions: x = exp(x) - c below
// V_T, x = ln(x + c) above it.
double stable_zero(double I) {
  const double c = 30.0 - 4.0 * I;
  double x = -c;
  for (int k = 0; k < 200; ++k) x = std::exp(x) - c;
  return -40.0 + x;
}
double unstable_zero(double I) {
  const double c = 30.0 - 4.0 * I;
  double x = 1.0;
  for (int k = 0; k < 200; ++k) x = std::log(x + c);
  return -40.0 + x;
}

TEST(single_neuron, eif_fixed_points_at_6_nA_match_the_phase_line_zeros) {
  const report r = analyse(reference_eif(), 6.0, {});
  ASSERT_EQ(r.fixed_points.size(), 2u);
  const double us = stable_zero(6.0), uu = unstable_zero(6.0);
  EXPECT_NEAR(us, -45.997515, 1e-6);  // Gerstner & Kistler 5.2
  EXPECT_NEAR(uu, -37.909283, 1e-6);
  EXPECT_NEAR(r.fixed_points[0].u, us, 1e-9);
  EXPECT_NEAR(r.fixed_points[1].u, uu, 1e-9);
  EXPECT_TRUE(r.fixed_points[0].stable);
  EXPECT_FALSE(r.fixed_points[1].stable);
  // Linearised rate f'(u) / tau_m = (exp((u - V_T)/delta_T) - 1) / tau_m.
  EXPECT_NEAR(r.fixed_points[0].eigenvalue, (std::exp(us + 40.0) - 1.0) / 10.0, 1e-12);
  EXPECT_NEAR(r.fixed_points[1].eigenvalue, (std::exp(uu + 40.0) - 1.0) / 10.0, 1e-9);
  EXPECT_LT(r.fixed_points[0].eigenvalue, 0.0);
  EXPECT_GT(r.fixed_points[1].eigenvalue, 0.0);
}

TEST(single_neuron, eif_rheobase_saddle_node_and_threshold) {
  const report r = analyse(reference_eif(), 8.0, {});
  // (V_T - E_L - delta_T) / R_m = (30 - 1) / 4.
  EXPECT_DOUBLE_EQ(r.rheobase, 7.25);
  EXPECT_NEAR(r.rheobase_numeric, 7.25, 1e-9);
  EXPECT_TRUE(r.fixed_points.empty());  // above the rheobase the neuron fires
  // The gap closes as 2 sqrt(2 delta_T R_m (I_rh - I)); the relative correction is O(sqrt(d)).
  ASSERT_EQ(r.saddle.size(), 4u);
  for (const saddle_row& s : r.saddle) {
    EXPECT_NEAR(s.gap, unstable_zero(7.25 - s.distance) - stable_zero(7.25 - s.distance), 1e-8);
    EXPECT_DOUBLE_EQ(s.law, 2.0 * std::sqrt(8.0 * s.distance));
  }
  EXPECT_NEAR(r.saddle.back().gap / r.saddle.back().law, 1.0, 0.02);
  // The effective threshold is the unstable zero at I = 0: x = ln(x + 30), near -36.5 mV.
  EXPECT_NEAR(r.threshold0, unstable_zero(0.0), 1e-9);
  EXPECT_NEAR(r.threshold0, -36.5, 0.1);
}

TEST(single_neuron, eif_fI_rows_carry_both_fixed_points_below_the_rheobase) {
  const current_range range{6.0, 7.24, 0.04};
  const std::vector<double> currents = range.values();
  ASSERT_EQ(currents.size(), 32u);
  const report r = analyse(reference_eif(), 6.0, currents);
  ASSERT_EQ(r.rows.size(), 32u);
  for (const fI_row& row : r.rows) {
    EXPECT_EQ(row.rate, 0.0);
    EXPECT_NEAR(row.u_stable, stable_zero(row.I), 1e-9);
    EXPECT_NEAR(row.u_unstable, unstable_zero(row.I), 1e-9);
  }
  const current_range d = default_currents(reference_eif());
  EXPECT_DOUBLE_EQ(d.to, 14.5);
  EXPECT_DOUBLE_EQ(d.step, 0.725);
}

TEST(single_neuron, eif_rates_above_the_rheobase_match_the_period_integral) {
  // 1/rate = tau_m int_{V_reset}^{V_peak} du / f(u), here by the composite Simpson rule.
  auto period_ms = [](double I) {
    auto f = [I](double u) { return -(u + 70.0) + std::exp(u + 40.0) + 4.0 * I; };
    const int n = 200000;
    const double h = 40.0 / n;
    double sum = 1.0 / f(-70.0) + 1.0 / f(-30.0);
    for (int k = 1; k < n; ++k) sum += (k % 2 ? 4.0 : 2.0) / f(-70.0 + k * h);
    return 10.0 * sum * h / 3.0;
  };
  const report r = analyse(reference_eif(), 0.0, {8.0, 12.0, 20.0});
  for (const fI_row& row : r.rows) {
    EXPECT_NEAR(row.rate, 1000.0 / period_ms(row.I), 1e-6 * row.rate) << row.I;
    EXPECT_TRUE(std::isnan(row.u_stable));  // above the rheobase: no fixed point
  }
  EXPECT_LT(r.rows[0].rate, r.rows[1].rate);
}

TEST(single_neuron, lif_threshold_rheobase_and_rate) {
  const lif_params p;  // tau_m 10, E_L -70, R_m 4, V_th -30, V_reset -70, t_ref 0
  const report r = analyse(p, 6.0, {20.0, 5.0});
  EXPECT_DOUBLE_EQ(r.rheobase, 10.0);  // (V_th - E_L) / R_m
  EXPECT_NEAR(r.rheobase_numeric, 10.0, 1e-9);
  ASSERT_EQ(r.fixed_points.size(), 1u);
  EXPECT_DOUBLE_EQ(r.fixed_points[0].u, -46.0);  // E_L + R_m I
  EXPECT_DOUBLE_EQ(r.fixed_points[0].eigenvalue, -0.1);
  EXPECT_TRUE(std::isnan(r.threshold0));  // imposed, not a fixed point
  // 1/rate = tau_m ln((E_L + R_m I - V_reset) / (E_L + R_m I - V_th)) = 10 ln 2 ms at 20 nA.
  EXPECT_NEAR(r.rows[0].rate, 1000.0 / (10.0 * std::log(2.0)), 1e-9);
  EXPECT_TRUE(std::isnan(r.rows[0].u_stable));
  EXPECT_EQ(r.rows[1].rate, 0.0);
  EXPECT_DOUBLE_EQ(r.rows[1].u_stable, -50.0);
  EXPECT_TRUE(analyse(p, 11.0, {}).fixed_points.empty());
}

TEST(single_neuron, lif_noisy_rows_are_the_siegert_rate_and_cv) {
  lif_params p;
  p.t_ref = 2.0;
  const report r = analyse(p, 9.0, {8.0, 12.0}, 2.0);
  // Relative to rest: mu = R_m I, theta = V_th - E_L = 40 mV, reset 0 mV.
  for (const fI_row& row : r.rows) {
    const auto s = theory::siegert(4.0 * row.I, 2.0, 10.0, 40.0, 0.0, 2.0);
    EXPECT_EQ(row.rate_noise, s.rate_hz);
    EXPECT_EQ(row.cv_noise, s.cv);
  }
  EXPECT_GT(r.rows[0].rate_noise, 0.0);  // below the rheobase noise makes it fire
  EXPECT_EQ(r.rows[0].rate, 0.0);
  // Above it the noisy rate approaches the deterministic one, t_ref + tau_m ln(48 / 8).
  EXPECT_NEAR(r.rows[1].rate, 1000.0 / (2.0 + 10.0 * std::log(6.0)), 1e-9);
  EXPECT_NEAR(r.rows[1].rate_noise / r.rows[1].rate, 1.0, 0.05);
  EXPECT_EQ(r.noisy_at_I.rate_hz, theory::siegert(36.0, 2.0, 10.0, 40.0, 0.0, 2.0).rate_hz);
  EXPECT_TRUE(std::isnan(analyse(p, 9.0, {8.0}).rows[0].rate_noise));  // sigma = 0: none
}

TEST(single_neuron, current_ranges_include_the_end_on_the_grid) {
  const std::vector<double> quarters{0, 0.25, 0.5, 0.75, 1};
  const current_range by_quarter{0.0, 1.0, 0.25}, by_0_3{0.0, 1.0, 0.3};
  EXPECT_EQ(by_quarter.values(), quarters);
  EXPECT_EQ(by_0_3.values().size(), 4u);  // up to 0.9, not 1.2
  const current_range l = default_currents(lif_params{});
  EXPECT_DOUBLE_EQ(l.to, 20.0);  // twice the rheobase 10 nA
  EXPECT_DOUBLE_EQ(l.step, 1.0);
  lif_params above;
  above.V_th = -80.0;  // rheobase < 0: 0 to 20 nA in steps of 1
  const current_range a = default_currents(above);
  EXPECT_EQ(a.to, 20.0);
  EXPECT_EQ(a.step, 1.0);
  EXPECT_EQ(default_currents(hh_params{}).to, 50.0);
}

TEST(single_neuron, hh_without_a_resting_potential_is_refused) {
  hh_params p;  // no potassium and a leak towards 200 mV: the current is inward all through
  p.g_K = 0.0;
  p.E_L = 200.0;
  EXPECT_THROW(analyse(p, 0.0, {}), std::invalid_argument);
}

TEST(single_neuron, hh_at_rest_does_not_fire_and_phase_line_has_three_zeros) {
  const report r = analyse(hh_params{}, 0.0, {0.0}, hh_simulation{0.01, 100.0});
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0].spikes, 0u);
  EXPECT_EQ(r.rows[0].rate, 0.0);
  ASSERT_EQ(r.fixed_points.size(), 3u);
  EXPECT_NEAR(r.fixed_points[0].u, 0.0, 1e-3);  // the resting potential
  EXPECT_TRUE(r.fixed_points[0].stable);
  EXPECT_DOUBLE_EQ(r.threshold0, r.fixed_points[1].u);
  EXPECT_GT(simulate_hh(hh_params{}, 10.0, {0.01, 200.0}).rate, 0.0);
}

// --- By the model's name, as `spikesim model` calls it.

double value_of(const std::vector<param_value>& ps, const std::string& key) {
  for (const auto& p : ps)
    if (p.key == key) return p.value;
  ADD_FAILURE() << "no parameter " << key;
  return k_none;
}

TEST(single_neuron_by_name, parameters_follow_the_model_tables) {
  const std::vector<param_value> eif = default_parameters("eif");
  ASSERT_EQ(eif.size(), std::size(param_table<eif_params>::fields));
  for (std::size_t k = 0; k < eif.size(); ++k) {
    EXPECT_EQ(eif[k].key, param_table<eif_params>::fields[k].key);
    EXPECT_EQ(eif[k].unit, param_table<eif_params>::fields[k].unit);
  }
  EXPECT_EQ(value_of(eif, "delta_T"), eif_params{}.delta_T);
  EXPECT_EQ(default_parameters("hh").size(), std::size(param_table<hh_params>::fields));
  EXPECT_THROW(default_parameters("rate"), std::invalid_argument);
  // Every key once, lif's first.
  const auto& keys = parameter_keys();
  EXPECT_EQ(keys.front().first, param_table<lif_params>::fields[0].key);
  for (const char* m : {"lif", "eif", "hh"})
    for (const auto& p : default_parameters(m)) {
      int seen = 0;
      for (const auto& k : keys) seen += k.first == p.key;
      EXPECT_EQ(seen, 1) << p.key;
    }
}

TEST(single_neuron_by_name, a_population_gives_its_parameters_lif_and_eif_only) {
  population_spec pop;
  eif_params e;
  e.delta_T = 1.5;
  pop.params = e;
  const std::vector<param_value> ps = population_parameters(pop);
  EXPECT_EQ(ps.size(), std::size(param_table<eif_params>::fields));
  EXPECT_EQ(value_of(ps, "delta_T"), 1.5);
  pop.params = hh_params{};
  EXPECT_TRUE(population_parameters(pop).empty());
  // A spike source has no neuron model, whatever its (unused) params hold.
  pop.params = lif_params{};
  pop.source.type = source_spec::kind::poisson;
  EXPECT_TRUE(population_parameters(pop).empty());
}

TEST(single_neuron_by_name, checks_and_analyses_are_those_of_the_struct) {
  std::vector<param_value> ps = default_parameters("lif");
  EXPECT_FALSE(check_parameters("lif", ps));
  for (auto& p : ps)
    if (p.key == "tau_m") p.value = -1.0;
  const param_violation v = check_parameters("lif", ps);
  ASSERT_TRUE(v);
  EXPECT_EQ(std::string(v.key), "tau_m");
  EXPECT_EQ(v.value, -1.0);

  const std::vector<double> currents{0.0, 2.0, 4.0};
  const report by_name = analyse("eif", default_parameters("eif"), 1.0, currents, 0.0, {});
  const report typed = analyse(eif_params{}, 1.0, currents);
  ASSERT_EQ(by_name.rows.size(), typed.rows.size());
  for (std::size_t k = 0; k < typed.rows.size(); ++k)
    EXPECT_EQ(by_name.rows[k].rate, typed.rows[k].rate);
  EXPECT_EQ(by_name.rheobase, typed.rheobase);
  EXPECT_EQ(default_currents("eif", default_parameters("eif")).to,
            default_currents(eif_params{}).to);
  // The noise reaches lif's analysis, the simulation settings hh's.
  EXPECT_EQ(analyse("lif", default_parameters("lif"), 0.0, {}, 5.0, {}).sigma, 5.0);
  // What the theory refuses is a configuration error; a list of another model is not.
  std::vector<param_value> hh = default_parameters("hh");
  for (auto& p : hh) {
    if (p.key == "g_K") p.value = 0.0;
    if (p.key == "E_L") p.value = 200.0;
  }
  EXPECT_THROW(analyse("hh", hh, 0.0, {}, 0.0, {}), config_error);
  EXPECT_THROW(analyse("hh", default_parameters("lif"), 0.0, {}, 0.0, {}), std::invalid_argument);
}

TEST(single_neuron_by_name, current_ranges_are_parsed_and_refused_with_the_text) {
  const current_range r = parse_current_range("0:10:0.5");
  EXPECT_EQ(r.from, 0.0);
  EXPECT_EQ(r.to, 10.0);
  EXPECT_EQ(r.step, 0.5);
  EXPECT_EQ(parse_current_range("-1e1:2:1").from, -10.0);
  const auto refusal = [](const std::string& text) {
    try {
      parse_current_range(text);
    } catch (const config_error& e) {
      return e.text().render(neutral_setting_name);
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal("1:2"), "config error: current_range = '1:2': expected from:to:step");
  EXPECT_EQ(refusal("0:x:1"),
            "config error: current_range = '0:x:1': 'x' is not a finite number (expected "
            "from:to:step)");
  EXPECT_EQ(refusal("0:1:inf"),
            "config error: current_range = '0:1:inf': 'inf' is not a finite number (expected "
            "from:to:step)");
  EXPECT_EQ(refusal("0:1:0"), "config error: current_range = '0:1:0': step must be > 0");
  EXPECT_EQ(refusal("1:1:1"),
            "config error: current_range = '1:1:1': from must be below to (the range is inverted "
            "or empty)");
  EXPECT_EQ(refusal("0:10001:1"),
            "config error: current_range = '0:10001:1': more than 10001 currents");
  EXPECT_EQ(refusal("0:10000:1"), "accepted");
}

}  // namespace
}  // namespace spikesim::single_neuron
