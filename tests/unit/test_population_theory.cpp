// Unit tests for the theory of `spikesim theory` (theory.hpp): the prediction for a simulation at a
// time step, and per population which theory applies, the currents tabulated and their rows.
#include <spikesim/theory.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include <spikesim/config_loader.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {
namespace {

TEST(population_theory, siegert_prediction_adds_the_step_corrected_threshold) {
  // tests/cli (theory lif --mu 15 --sigma 5): 9.4608 Hz, CV 0.814757; at dt = 0.1 ms 8.8212 Hz.
  const theory::lif_noise_prediction at0 = theory::siegert_prediction(15, 5, 20, 20, 10, 2, 0.0);
  EXPECT_NEAR(at0.exact.rate_hz, 9.4608, 1e-4);
  EXPECT_NEAR(at0.exact.cv, 0.814757, 1e-6);
  EXPECT_EQ(at0.theta_eff, 20.0);
  EXPECT_EQ(at0.at_dt.rate_hz, at0.exact.rate_hz);
  const theory::lif_noise_prediction p = theory::siegert_prediction(15, 5, 20, 20, 10, 2, 0.1);
  EXPECT_EQ(p.exact.rate_hz, at0.exact.rate_hz);
  // theta + beta sigma sqrt(dt / tau_m), beta = -zeta(1/2) / sqrt(2 pi) = 0.5826.
  EXPECT_NEAR(p.theta_eff, 20.0 + 0.5826 * 5.0 * std::sqrt(0.1 / 20.0), 1e-4);
  EXPECT_NEAR(p.at_dt.rate_hz, 8.8212, 1e-4);
  EXPECT_THROW(theory::siegert_prediction(15, 5, 0, 20, 10, 2, 0.1), std::invalid_argument);
}

TEST(population_theory, currents_of_a_long_ramp_are_sampled_and_rows_are_siegert) {
  const experiment_spec spec = parse_config(
      "[population.l]\nsize = 30\nmodel = \"lif\"\ninput = { I = { from = 5.0, to = 15.0 }, "
      "sigma = 3.0 }\n[population.e]\nsize = 1\nmodel = \"eif\"\n",
      "<test>", {});
  const population_spec& l =
      spec.populations[0].name == "l" ? spec.populations[0] : spec.populations[1];
  const population_spec& e = &l == &spec.populations[0] ? spec.populations[1] : spec.populations[0];
  EXPECT_EQ(theory::siegert_scope_of(l), theory::siegert_scope::applies);
  EXPECT_EQ(theory::siegert_scope_of(e), theory::siegert_scope::not_lif);
  std::string note;
  const std::vector<double> I = theory::tabulated_currents(l, &note);
  ASSERT_EQ(I.size(), 11u);
  EXPECT_DOUBLE_EQ(I.front(), 5.0);
  EXPECT_DOUBLE_EQ(I.back(), 15.0);
  EXPECT_EQ(note, "a ramp over 30 neurons: 11 evenly spaced currents of it");
  const lif_params& p = std::get<lif_params>(l.params);
  const theory::lif_stationary s = theory::lif_stationary_at(p, 3.0, 12.0, 0.1);
  EXPECT_DOUBLE_EQ(s.mu, 48.0);
  const auto exact = theory::siegert(48.0, 3.0, 10.0, 40.0, 0.0, 0.0);
  EXPECT_EQ(s.at.exact.rate_hz, exact.rate_hz);
  EXPECT_LT(s.at.at_dt.rate_hz, s.at.exact.rate_hz);  // the threshold is effectively higher
}

population_spec one_population(const std::string& input, uint64_t size) {
  return parse_config("[population.p]\nsize = " + std::to_string(size) +
                          "\nmodel = \"lif\"\ninput = " + input + "\n",
                      "<test>", {})
      .populations.at(0);
}

TEST(population_theory, few_currents_are_listed_each_many_are_sampled) {
  std::string note;
  EXPECT_EQ(theory::tabulated_currents(one_population("{ I = [3.0, 1.0, 3.0, 2.0] }", 4), &note),
            (std::vector<double>{1.0, 2.0, 3.0}));  // distinct, ascending
  EXPECT_EQ(note, "");
  const std::vector<double> ramp =
      theory::tabulated_currents(one_population("{ I = { from = 0.0, to = 4.0 } }", 5), &note);
  EXPECT_EQ(ramp.size(), 5u);  // a short ramp: each neuron's current
  EXPECT_EQ(note, "");
  std::string many = "[";
  for (int k = 0; k < 25; ++k) many += (k ? ", " : "") + std::to_string(k) + ".0";
  const std::vector<double> sample =
      theory::tabulated_currents(one_population("{ I = " + many + "] }", 25), &note);
  ASSERT_EQ(sample.size(), 11u);
  EXPECT_DOUBLE_EQ(sample[1], 2.4);
  EXPECT_DOUBLE_EQ(sample.back(), 24.0);
  EXPECT_EQ(note, "25 distinct currents: 11 evenly spaced over their range");
  EXPECT_EQ(theory::siegert_scope_of(one_population("{ sigma = 2.0, tau_noise = 5.0 }", 1)),
            theory::siegert_scope::coloured_noise);
}

}  // namespace
}  // namespace spikesim
