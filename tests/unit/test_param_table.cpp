// Unit tests for the models' parameter tables (models/param_table.hpp): check_params, the words of
// its violations, and the config loader's messages built from them.
#include <spikesim/models/param_table.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>

#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/models/eif.hpp>
#include <spikesim/models/hh.hpp>
#include <spikesim/models/lif.hpp>
#include <spikesim/models/rate.hpp>

namespace spikesim {
namespace {

// ------------------------------------------------------------------------- parameter tables

TEST(param_table, a_bad_value_names_key_value_unit_and_rule) {
  EXPECT_FALSE(check_params(lif_params{}, 0.1));
  EXPECT_FALSE(check_params(eif_params{}, 0.1));
  EXPECT_FALSE(check_params(hh_params{}));
  EXPECT_FALSE(check_params(rate_params{}));

  lif_params l;
  l.tau_m = -5;
  param_violation v = check_params(l);
  ASSERT_TRUE(v);
  EXPECT_STREQ(v.key, "tau_m");
  EXPECT_STREQ(v.unit, "ms");
  EXPECT_EQ(v.value, -5.0);
  EXPECT_EQ(param_rule_text(v, 6), "must be > 0");

  l = lif_params{};
  l.V_reset = -20;
  v = check_params(l);
  EXPECT_STREQ(v.key, "V_reset");
  EXPECT_EQ(param_rule_text(v, 6), "must be below V_th = -30 mV");

  eif_params e;
  e.V_peak = -45;
  EXPECT_EQ(param_rule_text(check_params(e), 10), "must be above V_T = -40 mV");
  e = eif_params{};
  e.delta_T = std::nan("");
  v = check_params(e);
  EXPECT_STREQ(v.key, "delta_T");
  EXPECT_EQ(param_rule_text(v, 10), "must be a finite number");

  hh_params h;
  h.g_L = 0;
  v = check_params(h);
  EXPECT_STREQ(v.key, "g_L");
  EXPECT_STREQ(v.unit, "mS/cm^2");
  EXPECT_EQ(param_rule_text(v, 6), "must be > 0");

  rate_params r;
  r.I_max = -1;
  EXPECT_EQ(param_rule_text(check_params(r), 6), "must be above I_thr = 0 nA");
}

TEST(param_table, refractory_steps_are_checked_only_with_a_time_step) {
  lif_params l;
  l.t_ref = 1e12;
  EXPECT_FALSE(check_params(l));
  const param_violation v = check_params(l, 0.1);
  ASSERT_TRUE(v);
  EXPECT_STREQ(v.key, "t_ref");
  EXPECT_EQ(param_rule_text(v, 6),
            "1e+13 steps of dt = 0.1 ms, more than 2^31 - 1 steps (2.14748e+08 ms)");
}

TEST(param_table, the_config_loader_phrases_the_tables_violations) {
  const std::string pop = "[population.exc]\nsize = 10\nmodel = \"eif\"\n";
  const std::pair<std::string, std::string> cases[] = {
      {"population.exc.params.tau_m=-1",
       "config error: population.exc.params.tau_m: -1 ms is invalid: must be > 0"},
      {"population.exc.params.V_peak=-45.5",
       "config error: population.exc.params.V_peak: -45.5 mV is invalid: must be above V_T = -40 "
       "mV"},
      {"population.exc.params.V_reset=-29.1234567",
       "config error: population.exc.params.V_reset: -29.1235 mV is invalid: must be below "
       "V_peak = -30 mV"},
  };
  for (const auto& [set, message] : cases) {
    try {
      parse_config(pop, "<test>", {set});
      ADD_FAILURE() << set << " accepted";
    } catch (const config_error& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

}  // namespace
}  // namespace spikesim
