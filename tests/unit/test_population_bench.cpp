// The population benchmark of `spikesim bench` (population_bench.hpp): its config, and the
// spikes it counts without writing them.
#include <spikesim/population_bench.hpp>

#include <gtest/gtest.h>

#include <string>

namespace spikesim {
namespace {

TEST(population_bench, the_config_is_the_reference_ramp_of_each_model) {
  population_bench b;
  b.neurons = 1000000;
  const std::string eif = population_bench_config(b);
  EXPECT_NE(eif.find("size = 1000000\nmodel = \"eif\""), std::string::npos) << eif;
  EXPECT_NE(eif.find("I = { from = 6.0, to = 9.0 }, sigma = 2"), std::string::npos) << eif;
  b.model = "lif";
  b.precision = "double";
  const std::string lif = population_bench_config(b);
  EXPECT_NE(lif.find("I = { from = 9.0, to = 12.0 }"), std::string::npos) << lif;
  EXPECT_NE(lif.find("precision = \"double\""), std::string::npos) << lif;
}

TEST(population_bench, counts_the_spikes_that_the_run_reports) {
  population_bench b;
  b.neurons = 300;
  b.tstop = 200.0;
  b.sets = {"run.random_seed=7"};
  backend_options opt;
  opt.kind = "cpu";
  opt.threads = 1;
  const population_bench_result r = run_population_bench(b, opt);
  EXPECT_EQ(r.spec.total_neurons(), 300u);
  EXPECT_EQ(r.spec.run.seed, 7u);
  EXPECT_EQ(r.summary.steps, 2000u);
  ASSERT_EQ(r.summary.populations.size(), 1u);
  EXPECT_EQ(r.spikes, r.summary.populations[0].spikes);
  EXPECT_GT(r.spikes, 0u);
  EXPECT_GT(r.chunk_steps, 0u);
}

}  // namespace
}  // namespace spikesim
