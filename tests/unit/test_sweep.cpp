// Sweep expansion: the points of grids and zips, ranges, integer keys, seeds, task split,
// packing, and errors that name the key.
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/rng.hpp>
#include <spikesim/sweep.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

const std::string base =
    "[run]\ndt = 0.1\ntstop = 50.0\nrandom_seed = 7\n"
    "[population.eif]\nsize = 10\nmodel = \"eif\"\ninput = { I = 1.0, sigma = 1.0 }\n"
    "[population.lif]\nsize = 5\nmodel = \"lif\"\n"
    "[projection.el]\nsource = \"eif\"\ntarget = \"lif\"\nrule = \"fixed_indegree\"\n"
    "indegree = 2\nweight = 0.1\ndelay = 1.0\n";

sweep_spec sweep_of(const std::string& table, const std::vector<std::string>& sets = {},
                    const std::vector<std::string>& cli = {}) {
  return parse_sweep(base + table, "<test>", sets, cli);
}

std::vector<std::vector<double>> all_points(const sweep_spec& s) {
  std::vector<std::vector<double>> v;
  for (uint64_t k = 0; k < s.points(); ++k) v.push_back(point_values(s, k));
  return v;
}

TEST(sweep, grid_varies_the_last_key_fastest_in_written_order) {
  // Written out of alphabetical order: the order in the file is the order of the axes.
  const auto s = sweep_of(
      "[sweep]\n\"population.lif.input.I\" = [1.0, 2.0]\n"
      "\"population.eif.input.sigma\" = [0.5, 1.5, 2.5]\n");
  ASSERT_EQ(s.axes.size(), 2u);
  EXPECT_EQ(s.axes[0].key, "population.lif.input.I");
  EXPECT_EQ(s.axes[1].key, "population.eif.input.sigma");
  EXPECT_EQ(s.points(), 6u);
  const std::vector<std::vector<double>> expect = {{1.0, 0.5}, {1.0, 1.5}, {1.0, 2.5},
                                                   {2.0, 0.5}, {2.0, 1.5}, {2.0, 2.5}};
  EXPECT_EQ(all_points(s), expect);
  // The values reach the point's spec.
  const auto p4 = point_spec(s, 4);
  EXPECT_DOUBLE_EQ(p4.populations[1].input.I.at(0), 2.0);  // lif (tables sorted by name)
  EXPECT_DOUBLE_EQ(p4.populations[0].input.noise.sigma, 1.5);
}

TEST(sweep, nested_keys_are_the_same_as_quoted_ones) {
  const auto s = sweep_of("[sweep]\npopulation.eif.input.I = [3.0, 4.0]\n");
  ASSERT_EQ(s.axes.size(), 1u);
  EXPECT_EQ(s.axes[0].key, "population.eif.input.I");
  EXPECT_EQ(s.points(), 2u);
}

TEST(sweep, zip_pairs_values_and_needs_equal_lengths) {
  const auto s = sweep_of(
      "[sweep]\nmode = \"zip\"\n\"population.eif.input.I\" = [1.0, 2.0, 3.0]\n"
      "\"projection.el.weight\" = [0.1, 0.2, 0.3]\n");
  EXPECT_EQ(s.mode, sweep_mode::zip);
  EXPECT_EQ(all_points(s), (std::vector<std::vector<double>>{{1.0, 0.1}, {2.0, 0.2}, {3.0, 0.3}}));
  try {
    sweep_of(
        "[sweep]\nmode = \"zip\"\n\"population.eif.input.I\" = [1.0, 2.0, 3.0]\n"
        "\"projection.el.weight\" = [0.1, 0.2]\n");
    ADD_FAILURE() << "zip of unequal lengths accepted";
  } catch (const config_error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.kind(), error_kind::config);
    EXPECT_NE(m.find("population.eif.input.I has 3"), std::string::npos) << m;
    EXPECT_NE(m.find("projection.el.weight has 2"), std::string::npos) << m;
  }
}

TEST(sweep, ranges_include_the_end_within_tolerance) {
  // 0.1 steps do not add up exactly in binary; the end is still included and values are tidy.
  auto s = sweep_of("[sweep]\n\"population.eif.input.I\" = { from = 0.0, to = 1.0, step = 0.1 }\n");
  ASSERT_EQ(s.points(), 11u);
  EXPECT_EQ(s.axes[0].values[3], 0.3);
  EXPECT_EQ(s.axes[0].values[10], 1.0);
  EXPECT_EQ(s.axes[0].literals[3], "0.3");
  // An end that is off the grid is not reached.
  s = sweep_of("[sweep]\n\"population.eif.input.I\" = { from = 5.0, to = 6.0, step = 0.3 }\n");
  EXPECT_EQ(s.axes[0].values, (std::vector<double>{5.0, 5.3, 5.6, 5.9}));
  // Descending with a negative step.
  s = sweep_of("[sweep]\n\"population.eif.input.I\" = { from = 2.0, to = 1.0, step = -0.5 }\n");
  EXPECT_EQ(s.axes[0].values, (std::vector<double>{2.0, 1.5, 1.0}));
  // A range that stops 1e-12 short of the end still includes it, 1e-6 short does not.
  s = sweep_of(
      "[sweep]\n\"population.eif.input.I\" = { from = 0.0, to = 0.999999999999, step = 0.25 }\n");
  EXPECT_EQ(s.points(), 5u);
  s = sweep_of(
      "[sweep]\n\"population.eif.input.I\" = { from = 0.0, to = 0.999999, step = 0.25 }\n");
  EXPECT_EQ(s.points(), 4u);
}

TEST(sweep, integer_keys_get_integers) {
  const auto s =
      sweep_of("[sweep]\n\"population.eif.size\" = { from = 100, to = 300, step = 100 }\n", {},
               {"run.random_seed=3,4"});
  EXPECT_EQ(s.axes[0].literals, (std::vector<std::string>{"100", "200", "300"}));
  EXPECT_EQ(s.axes[1].literals, (std::vector<std::string>{"3", "4"}));
  const auto p = point_spec(s, 5);
  EXPECT_EQ(p.populations[0].size, 300u);
  EXPECT_EQ(p.run.seed, 4u);  // a swept seed is the point's seed
  EXPECT_EQ(point_seed(s, 5), 4u);
  // A float for an integer key is refused by the config's own validation, naming the key.
  try {
    point_spec(sweep_of("[sweep]\n\"population.eif.size\" = [10.5]\n"), 0);
    ADD_FAILURE() << "size 10.5 accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("population.eif.size"), std::string::npos) << e.what();
  }
}

TEST(sweep, cli_axes_join_the_table_and_accept_ranges) {
  const auto s = sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.0]\n", {},
                          {"population.eif.input.sigma=0:1:0.5", "projection.el.delay=1,2"});
  ASSERT_EQ(s.axes.size(), 3u);
  EXPECT_EQ(s.axes[1].values, (std::vector<double>{0.0, 0.5, 1.0}));
  EXPECT_EQ(s.axes[2].literals, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(s.points(), 12u);
  // Without a [sweep] table the CLI axes alone make the sweep.
  EXPECT_EQ(sweep_of("", {}, {"population.eif.input.I=1,2,3"}).points(), 3u);
}

TEST(sweep, seeds_are_distinct_by_default_or_the_same) {
  auto s = sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.0, 3.0]\n");
  EXPECT_EQ(s.seeds, sweep_seeds::distinct);
  for (uint64_t k = 0; k < 3; ++k) {
    EXPECT_EQ(point_seed(s, k), 7 + k);
    const auto p = point_spec(s, k);
    EXPECT_EQ(p.run.seed, 7 + k);
    EXPECT_EQ(p.populations[0].seed, rng::named_key(7 + k, "population", "eif"));
    EXPECT_EQ(p.projections[0].seed, rng::named_key(7 + k, "projection", p.projections[0].name));
  }
  s = sweep_of("[sweep]\nseeds = \"same\"\n\"population.eif.input.I\" = [1.0, 2.0]\n");
  EXPECT_EQ(point_spec(s, 1).run.seed, 7u);
  // --set run.random_seed moves the base.
  s = sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.0]\n", {"run.random_seed=100"});
  EXPECT_EQ(point_spec(s, 1).run.seed, 101u);
}

TEST(sweep, a_point_config_runs_alone_and_the_sweep_text_reproduces_the_sweep) {
  const auto s = sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.5]\n",
                          {"population.lif.size=6"}, {"population.eif.input.sigma=0,3"});
  // The point's resolved config is a plain config: it parses alone to the same populations.
  const auto p = point_spec(s, 3);
  const auto again = parse_config(p.config_text, "<point>");
  EXPECT_DOUBLE_EQ(again.populations[0].input.I.at(0), 2.5);
  EXPECT_DOUBLE_EQ(again.populations[0].input.noise.sigma, 3.0);
  EXPECT_EQ(again.populations[1].size, 6u);
  EXPECT_EQ(again.run.seed, 10u);
  // The sweep's own text holds the --set and both axes, and expands to the same points.
  const auto t = parse_sweep(s.config_text, "<sweep>", {}, {});
  EXPECT_EQ(t.points(), s.points());
  EXPECT_EQ(t.id, s.id);
  for (uint64_t k = 0; k < s.points(); ++k) {
    EXPECT_EQ(point_values(t, k), point_values(s, k));
    EXPECT_EQ(point_spec(t, k).config_text, point_spec(s, k).config_text);
  }
  // Another sweep has another id.
  EXPECT_NE(sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.6]\n").id, s.id);
}

TEST(sweep, run_refuses_a_sweep_config) {
  try {
    parse_config(base + "[sweep]\n\"population.eif.input.I\" = [1.0]\n", "fI.toml");
    ADD_FAILURE() << "run accepted a sweep";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("spikesim sweep fI.toml"), std::string::npos) << e.what();
  }
}

TEST(sweep, bad_sweeps_name_the_key_value_and_unit) {
  struct bad {
    const char* what;
    std::string table;
    std::vector<std::string> cli, sets, expect;
  };
  const std::vector<bad> cases = {
      {"zero step",
       "[sweep]\n\"population.eif.input.I\" = { from = 1.0, to = 2.0, step = 0.0 }\n",
       {},
       {},
       {"population.eif.input.I", "step = 0.0 nA"}},
      {"wrong sign",
       "[sweep]\n\"population.eif.input.sigma\" = { from = 1.0, to = 2.0, step = -0.5 }\n",
       {},
       {},
       {"population.eif.input.sigma", "-0.5 mV", "> 0"}},
      {"range without step",
       "[sweep]\n\"run.dt\" = { from = 0.1, to = 0.2 }\n",
       {},
       {},
       {"run.dt", "step = s", "ms"}},
      {"not a number",
       "[sweep]\n\"projection.el.delay\" = [1.0, \"x\"]\n",
       {},
       {},
       {"projection.el.delay\"[1]", "'x'", "ms"}},
      {"empty list", "[sweep]\n\"population.eif.input.I\" = []\n", {}, {}, {"empty"}},
      {"unknown population",
       "[sweep]\n\"population.ief.input.I\" = [1.0]\n",
       {},
       {},
       {"population.ief", "eif, lif"}},
      {"output key", "[sweep]\n\"output.file\" = [1.0]\n", {}, {}, {"output.file", "cannot"}},
      {"unknown setting", "[sweep]\npack = 3\n", {}, {}, {"sweep.\"pack\"", "unknown key"}},
      {"bad mode", "[sweep]\nmode = \"cross\"\n\"run.dt\" = [0.1]\n", {}, {}, {"sweep.mode"}},
      {"bad seeds", "[sweep]\nseeds = 3\n\"run.dt\" = [0.1]\n", {}, {}, {"sweep.seeds"}},
      {"nothing swept", "", {}, {}, {"no key to sweep"}},
      {"twice",
       "[sweep]\n\"population.eif.input.I\" = [1.0]\n",
       {"population.eif.input.I=2"},
       {},
       {"population.eif.input.I", "swept twice"}},
      {"set of a swept key",
       "[sweep]\n\"population.eif.input.I\" = [1.0]\n",
       {},
       {"population.eif.input.I=2"},
       {"--set population.eif.input.I=2", "swept"}},
      {"cli not a number",
       "",
       {"run.tstop=10,abc"},
       {},
       {"--sweep run.tstop=10,abc", "'abc'", "ms"}},
      {"cli bad range",
       "",
       {"run.tstop=10:20"},
       {},
       {"--sweep run.tstop=10:20", "start:stop:step"}},
      {"cli without =", "", {"run.tstop"}, {}, {"--sweep run.tstop", "key=v1,v2"}},
      {"point invalid",
       "[sweep]\n\"population.eif.input.sigma\" = [-1.0]\n",
       {},
       {},
       {"sweep point 0", "population.eif.input.sigma", "-1 mV"}},
      {"unknown key",
       "[sweep]\n\"population.eif.input.J\" = [1.0]\n",
       {},
       {},
       {"population.eif.input.J", "unknown key"}},
  };
  for (const auto& c : cases) {
    try {
      sweep_of(c.table, c.sets, c.cli);
      ADD_FAILURE() << c.what << ": accepted";
    } catch (const config_error& e) {
      EXPECT_EQ(e.kind(), error_kind::config);
      for (const auto& s : c.expect)
        EXPECT_NE(std::string(e.what()).find(s), std::string::npos)
            << c.what << ": message '" << e.what() << "' lacks '" << s << "'";
    }
  }
}

TEST(sweep, tasks_cover_every_point_once_in_balanced_blocks) {
  for (uint64_t n : {0, 1, 7, 10, 1000, 1001})
    for (uint64_t m : {1, 2, 3, 7, 16}) {
      uint64_t next = 0, lo = n, hi = 0;
      for (uint64_t t = 0; t < m; ++t) {
        const point_range r = task_points(n, t, m);
        EXPECT_EQ(r.first, next) << n << " points, task " << t << " of " << m;
        next = r.first + r.count;
        lo = std::min(lo, r.count);
        hi = std::max(hi, r.count);
      }
      EXPECT_EQ(next, n) << n << " points over " << m << " tasks";
      EXPECT_LE(hi - lo, 1u) << n << " points over " << m << " tasks";
    }
  EXPECT_EQ(task_points(10, 3, 3).count, 0u);  // task id out of range
}

TEST(sweep, packing_renames_and_reindexes_but_keeps_random_keys) {
  const auto s = sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.0, 3.0]\n");
  std::vector<experiment_spec> pts = {point_spec(s, 1), point_spec(s, 2)};
  const auto pack = pack_points(pts, {1, 2});
  ASSERT_EQ(pack.populations.size(), 4u);
  ASSERT_EQ(pack.projections.size(), 2u);
  EXPECT_EQ(pack.populations[0].name, "eif@1");
  EXPECT_EQ(pack.populations[3].name, "lif@2");
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(pack.populations[i].index, i);
    EXPECT_EQ(pack.populations[i].stream, pts[i / 2].populations[i % 2].stream);
    EXPECT_EQ(pack.populations[i].seed, pts[i / 2].populations[i % 2].seed);
  }
  EXPECT_EQ(pack.projections[1].name, "el@2");
  EXPECT_EQ(pack.projections[1].index, 1u);
  EXPECT_EQ(pack.projections[1].source, 2u);
  EXPECT_EQ(pack.projections[1].target, 3u);
  EXPECT_EQ(pack.projections[1].seed, rng::named_key(9, "projection", "el"));
  EXPECT_EQ(pack.projections[1].stream, 0u);
  // An automatic chunk is the one of the largest point alone, unless the pack's chunk would pass
  // 2^28 neuron-steps; a chunk the points set is kept.
  EXPECT_EQ(pack.run.chunk_steps, 1000u);
  EXPECT_EQ(pack_chunk_steps(1000, 1000), 1000u);
  EXPECT_EQ(pack_chunk_steps(1000, 1000000), 268u);
  EXPECT_EQ(pack_chunk_steps(100000, 200000), 167u);
  EXPECT_EQ(pack_chunk_steps(1000, uint64_t{1} << 30), 16u);
  EXPECT_EQ(
      pack_points(
          {point_spec(
              sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0]\n", {"run.chunk_steps=7"}), 0)},
          {0})
          .run.chunk_steps,
      7u);
  // Points that differ in their run settings do not share a simulation.
  const auto t = sweep_of("[sweep]\n\"run.tstop\" = [50.0, 60.0]\n");
  EXPECT_FALSE(packable(point_spec(t, 0), point_spec(t, 1)));
  EXPECT_TRUE(packable(pts[0], pts[1]));
}

}  // namespace
}  // namespace spikesim::testing
