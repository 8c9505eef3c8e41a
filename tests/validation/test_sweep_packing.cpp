// A packed sweep point gives bitwise the spikes, per-step counts and final potentials that the
// point gives when it runs alone: for noisy EIF populations (white and OU noise, random initial
// potentials, pulses) and for small E/I networks with Poisson drive and random weights and delays,
// on every backend that runs them, with distinct and with common seeds.
#include <spikesim/sweep.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

class sweep_packing : public backend_test {};

// Four points of 6000 neurons in two populations.
const std::string eif_sweep =
    "[run]\ndt = 0.1\ntstop = 200.0\nrandom_seed = 11\n"
    "[population.eif]\nsize = 5000\nmodel = \"eif\"\nparams = { t_ref = 2.0 }\n"
    "init = { V = { uniform = [-70.0, -50.0] } }\n"
    "input = { I = 7.0, sigma = 2.0, pulses = [ { start = 50.0, stop = 80.0, amplitude = 1.0 } ] "
    "}\n"
    "record = { traces = [0, 4999] }\n"
    "[population.ou]\nsize = 1000\nmodel = \"lif\"\n"
    "input = { I = 9.0, sigma = 4.0, tau_noise = 3.0 }\n"
    "[sweep]\n\"population.eif.input.I\" = [6.5, 8.0]\n\"population.ou.input.sigma\" = [3.0, "
    "5.0]\n";

// Brunel's model A reduced to 400 + 100 neurons (in-degrees 40 and 10), with random delays on one
// projection and normal weights on another; the two points differ in g and in the E->E delay,
// which is the shortest of the second point (so the pack's chunk is shorter than the first's).
const std::string network_sweep =
    "[run]\ndt = 0.1\ntstop = 100.0\nrandom_seed = 3\n"
    "[population.exc]\nsize = 400\nmodel = \"lif\"\n"
    "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }\n"
    "init = { V = { uniform = [0.0, 20.0] } }\n"
    "input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }\n"
    "[population.inh]\nsize = 100\nmodel = \"lif\"\n"
    "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }\n"
    "init = { V = { uniform = [0.0, 20.0] } }\n"
    "input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }\n"
    "[projection.ee]\nsource = \"exc\"\ntarget = \"exc\"\nrule = \"fixed_indegree\"\n"
    "indegree = 40\nweight = 0.5\ndelay = 1.5\nautapses = false\n"
    "[projection.ei]\nsource = \"exc\"\ntarget = \"inh\"\nrule = \"fixed_indegree\"\n"
    "indegree = 40\nweight = { normal = [0.5, 0.1] }\ndelay = 1.5\n"
    "[projection.ie]\nsource = \"inh\"\ntarget = \"exc\"\nrule = \"fixed_indegree\"\n"
    "indegree = 10\nweight = -2.5\ndelay = { uniform = [1.0, 2.0] }\n"
    "[projection.ii]\nsource = \"inh\"\ntarget = \"inh\"\nrule = \"fixed_probability\"\n"
    "p = 0.1\nweight = -2.5\ndelay = 1.5\n"
    "[sweep]\nmode = \"zip\"\n\"projection.ie.weight\" = [-2.0, -3.0]\n"
    "\"projection.ii.weight\" = [-2.0, -3.0]\n\"projection.ee.delay\" = [1.5, 0.8]\n";

// Runs every point of the sweep packed into one simulation and each alone, and compares.
void expect_packed_equals_alone(const std::string& kind, const std::string& toml,
                                const std::vector<std::string>& sets, size_t min_spikes) {
  const sweep_spec s = parse_sweep(toml, "<test>", sets, {});
  std::vector<experiment_spec> points;
  std::vector<uint64_t> indices;
  for (uint64_t k = 0; k < s.points(); ++k) {
    points.push_back(point_spec(s, k));
    indices.push_back(k);
  }
  experiment_spec packed = pack_points(points, indices);
  // A chunk length that no point takes alone (1000 steps, or the shortest delay), so that the
  // chunking differs too.
  packed.run.chunk_steps = 37;
  const auto all = run_on(kind, packed);
  size_t at = 0;
  for (uint64_t k = 0; k < s.points(); ++k) {
    const auto alone = run_on(kind, points[k]);
    for (size_t p = 0; p < points[k].populations.size(); ++p, ++at) {
      const auto& a = all.rec.populations[at];
      const auto& b = alone.rec.populations[p];
      const std::string what = "point " + std::to_string(k) + ", " + packed.populations[at].name;
      EXPECT_GE(b.spike_ids.size(), min_spikes) << what;
      EXPECT_EQ(a.spike_ids, b.spike_ids) << what;
      EXPECT_EQ(a.spike_steps, b.spike_steps) << what;
      EXPECT_EQ(a.counts, b.counts) << what;
      EXPECT_EQ(a.traces, b.traces) << what;
      EXPECT_EQ(all.final_v[at], alone.final_v[p]) << what;
    }
  }
  // The first and the last point differ in their first population's input: so do its spikes.
  EXPECT_NE(all.rec.populations.front().spike_ids,
            all.rec.populations[at - points.back().populations.size()].spike_ids);
}

TEST_P(sweep_packing, eif_points_packed_equal_each_alone) {
  expect_packed_equals_alone(backend_kind(), eif_sweep, {}, 100);
}

TEST_P(sweep_packing, eif_points_with_common_seeds) {
  const auto s = parse_sweep(eif_sweep + "seeds = \"same\"\n", "<test>", {}, {});
  EXPECT_EQ(point_spec(s, 3).populations[0].seed, point_spec(s, 0).populations[0].seed);
  expect_packed_equals_alone(backend_kind(), eif_sweep + "seeds = \"same\"\n",
                             {"run.precision=\"float\""}, 100);
}

TEST_P(sweep_packing, network_points_packed_equal_each_alone) {
  try {
    expect_packed_equals_alone(backend_kind(), network_sweep, {}, 100);
    expect_packed_equals_alone(backend_kind(), network_sweep + "seeds = \"same\"\n", {}, 100);
  } catch (const backend_error& e) {
    // A backend without networks refuses the spec before simulating anything.
    GTEST_SKIP() << "this backend does not run networks: " << e.what();
  }
}

// Spike sources in a pack keep their spikes: a Poisson source swept over its rate and a times
// list, both projecting onto a LIF population.
TEST_P(sweep_packing, source_points_packed_equal_each_alone) {
  const std::string sources =
      "[run]\ndt = 0.1\ntstop = 100.0\nrandom_seed = 4\n"
      "[population.src]\nsize = 300\n"
      "source = { poisson = { rate = 80.0, start = 10.0, stop = 90.0 } }\n"
      "[population.times]\nsize = 2\nsource = { times = [[0, 5.0], [1, 20.0], [0, 60.5]] }\n"
      "[population.tgt]\nsize = 200\nmodel = \"lif\"\n"
      "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0 }\n"
      "input = { I = 18.0, sigma = 3.0 }\n"
      "[projection.st]\nsource = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_total_number\"\n"
      "N = 3000\nweight = 0.5\ndelay = 1.5\n"
      "[projection.tt]\nsource = \"times\"\ntarget = \"tgt\"\nrule = \"all_to_all\"\n"
      "weight = 1.0\ndelay = 1.0\n"
      "[sweep]\n\"population.src.source.poisson.rate\" = [80.0, 120.0]\n";
  expect_packed_equals_alone(backend_kind(), sources, {}, 3);
}

SPIKESIM_INSTANTIATE_BACKENDS(sweep_packing);

}  // namespace
}  // namespace spikesim::testing
