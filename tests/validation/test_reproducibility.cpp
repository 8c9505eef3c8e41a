// Counter-based randomness: the same seed gives the same output, whatever the thread count.
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

class reproducibility : public backend_test {};

const char* noisy_eif =
    "[run]\ndt = 0.1\ntstop = 300.0\nrandom_seed = 42\n"
    "[population.eif]\nsize = 3000\nmodel = \"eif\"\n"
    "params = { t_ref = 2.0 }\n"
    "init = { V = { uniform = [-70.0, -45.0] } }\n"
    "input = { I = { from = 5.0, to = 10.0 }, sigma = 3.0 }\n"
    "[population.lif]\nsize = 1000\nmodel = \"lif\"\n"
    "input = { I = 9.0, sigma = 4.0, tau_noise = 3.0 }\n";

TEST_P(reproducibility, same_seed_same_spikes) {
  const auto spec = spec_from(noisy_eif);
  const auto a = run_on(backend_kind(), spec);
  const auto b = run_on(backend_kind(), spec);
  for (size_t p = 0; p < 2; ++p) {
    ASSERT_GT(a.rec.populations[p].spike_ids.size(), 100u);
    EXPECT_EQ(a.rec.populations[p].spike_ids, b.rec.populations[p].spike_ids);
    EXPECT_EQ(a.rec.populations[p].spike_steps, b.rec.populations[p].spike_steps);
    EXPECT_EQ(a.final_v[p], b.final_v[p]);
  }
}

TEST_P(reproducibility, other_seed_other_spikes) {
  const auto a = run_on(backend_kind(), spec_from(noisy_eif));
  const auto b = run_on(backend_kind(), spec_from(noisy_eif, {"run.random_seed=43"}));
  EXPECT_NE(a.rec.populations[0].spike_ids, b.rec.populations[0].spike_ids);
}

// Random numbers are keyed by name: a population keeps its spikes when a population whose name
// sorts before it (so its position in the spec changes) and a projection are added, and changes
// them when it is renamed.
TEST_P(reproducibility, a_population_keeps_its_numbers_when_others_are_added) {
  const auto alone = run_on(backend_kind(), spec_from(noisy_eif));
  const std::string more = std::string(noisy_eif) +
                           "[population.aaa]\nsize = 50\nmodel = \"lif\"\n"
                           "input = { I = 9.0, sigma = 4.0 }\n"
                           "[projection.x]\nsource = \"aaa\"\ntarget = \"aaa\"\n"
                           "rule = \"fixed_indegree\"\nindegree = 5\n"
                           "weight = { uniform = [0.0, 0.1] }\ndelay = { uniform = [1.0, 3.0] }\n";
  const auto spec = spec_from(more);
  ASSERT_EQ(spec.populations[0].name, "aaa");
  const auto with = run_on(backend_kind(), spec);
  for (size_t p = 0; p < 2; ++p) {
    const auto& a = alone.rec.populations[p];
    const auto& b = with.rec.populations[p + 1];
    ASSERT_GT(a.spike_ids.size(), 100u);
    EXPECT_EQ(a.spike_ids, b.spike_ids) << spec.populations[p + 1].name;
    EXPECT_EQ(a.spike_steps, b.spike_steps) << spec.populations[p + 1].name;
  }
  std::string renamed = noisy_eif;
  renamed.replace(renamed.find("[population.lif]"), 16, "[population.lif2]");
  const auto other = run_on(backend_kind(), spec_from(renamed));
  EXPECT_EQ(alone.rec.populations[0].spike_ids, other.rec.populations[0].spike_ids);
  EXPECT_NE(alone.rec.populations[1].spike_ids, other.rec.populations[1].spike_ids);
}

TEST_P(reproducibility, chunk_length_does_not_change_results) {
  const auto a = run_on(backend_kind(), spec_from(noisy_eif, {"run.chunk_steps=7"}));
  const auto b = run_on(backend_kind(), spec_from(noisy_eif, {"run.chunk_steps=1000"}));
  for (size_t p = 0; p < 2; ++p) {
    EXPECT_EQ(a.rec.populations[p].spike_ids, b.rec.populations[p].spike_ids);
    EXPECT_EQ(a.rec.populations[p].spike_steps, b.rec.populations[p].spike_steps);
    EXPECT_EQ(a.final_v[p], b.final_v[p]);
  }
}

// 2 threads take the two (small) populations one each; 3 threads, more than there are
// populations, share the tiles of one population at a time: both equal 1 thread.
TEST(reproducibility_cpu, one_and_more_threads_identical) {
  for (const char* prec : {"double", "float"}) {
    const auto spec = spec_from(noisy_eif, {std::string("run.precision=\"") + prec + "\""});
    const auto a = run_on("cpu", spec, 1);
    for (const int threads : {2, 3}) {
      const auto b = run_on("cpu", spec, threads);
      for (size_t p = 0; p < 2; ++p) {
        ASSERT_GT(a.rec.populations[p].spike_ids.size(), 100u);
        EXPECT_EQ(a.rec.populations[p].spike_ids, b.rec.populations[p].spike_ids)
            << prec << threads;
        EXPECT_EQ(a.rec.populations[p].spike_steps, b.rec.populations[p].spike_steps)
            << prec << threads;
        EXPECT_EQ(a.rec.populations[p].counts, b.rec.populations[p].counts) << prec << threads;
        EXPECT_EQ(a.final_v[p], b.final_v[p]) << prec << threads;
      }
    }
  }
}

TEST_P(reproducibility, spike_counts_match_spike_list) {
  const auto spec = spec_from(noisy_eif);
  const auto r = run_on(backend_kind(), spec);
  for (const auto& d : r.rec.populations) {
    ASSERT_EQ(d.counts.size(), spec.run.steps());
    std::vector<uint32_t> counts(spec.run.steps(), 0);
    for (uint64_t s : d.spike_steps) ++counts[s];
    EXPECT_EQ(d.counts, counts);
    // Sorted by (step, id).
    for (size_t k = 1; k < d.spike_steps.size(); ++k)
      EXPECT_TRUE(
          d.spike_steps[k - 1] < d.spike_steps[k] ||
          (d.spike_steps[k - 1] == d.spike_steps[k] && d.spike_ids[k - 1] < d.spike_ids[k]));
  }
}

SPIKESIM_INSTANTIATE_BACKENDS(reproducibility);

}  // namespace
}  // namespace spikesim::testing
