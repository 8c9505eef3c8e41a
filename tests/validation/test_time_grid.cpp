// The time conventions of docs/models.md, exactly: step n covers [n dt, (n+1) dt); a pulse is on
// in step n when start <= n dt < stop; trace row k is the state at the start of step k; t_ref is
// held for round(t_ref / dt) steps; tstop is rounded up to whole steps. Run once per backend.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "population_state.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

class time_grid : public backend_test {};

TEST_P(time_grid, refractory_period_is_whole_steps) {
  // R_m I = 8000 mV crosses V_th within any single step, so the neuron fires whenever it may:
  // at step 0, then after round(t_ref / dt) steps held at reset.
  for (const auto& [t_ref, period] : std::vector<std::pair<double, uint64_t>>{
           {0.0, 1}, {0.1, 2}, {0.3, 4}, {0.34, 4}, {1.0, 11}}) {
    std::ostringstream cfg;
    cfg << "[run]\ndt = 0.1\ntstop = 5.0\n[population.p]\nsize = 1\nmodel = \"lif\"\n"
        << "params = { t_ref = " << t_ref << " }\ninput = { I = 2000.0 }\n";
    const auto spec = spec_from(cfg.str());
    const auto r = run_on(backend_kind(), spec);
    const auto& steps = r.rec.populations[0].spike_steps;
    ASSERT_FALSE(steps.empty());
    for (size_t k = 0; k < steps.size(); ++k)
      ASSERT_EQ(steps[k], k * period) << "t_ref = " << t_ref << " ms, spike " << k;
    EXPECT_EQ(steps.size(), (spec.run.steps() + period - 1) / period);
  }
}

TEST_P(time_grid, pulse_edges_and_trace_rows) {
  // A LIF at rest receives 1 nA in [10, 20) ms (on the grid) and in [10.05, 20.05) ms (off it,
  // so steps 101 ... 200 at dt = 0.1). Row k of the trace is u at t = k dt, before step k.
  // (Populations are ordered by name: a_on is population 0.)
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 30.0\nprecision = \"double\"\n"
      "[population.a_on]\nsize = 1\nmodel = \"lif\"\n"
      "input = { pulses = [ { start = 10.0, stop = 20.0, amplitude = 1.0 } ] }\n"
      "record = { traces = [0] }\n"
      "[population.b_off]\nsize = 1\nmodel = \"lif\"\n"
      "input = { pulses = [ { start = 10.05, stop = 20.05, amplitude = 1.0 } ] }\n"
      "record = { traces = [0] }\n");
  const auto r = run_on(backend_kind(), spec);
  for (size_t p = 0; p < 2; ++p) {
    const auto& v = r.rec.populations[p].traces;
    ASSERT_EQ(v.size(), 300u);
    const size_t first = p == 0 ? 100 : 101;  // first step with the pulse on
    const size_t last = first + 99;           // last step with the pulse on
    EXPECT_EQ(v[first], -70.0f) << "the pulse acts before its start";
    EXPECT_GT(v[first + 1], -70.0f) << "the pulse does not act in its first step";
    // Exact relaxation: after m steps of the pulse, u = E_L + R I (1 - e^{-m dt / tau}).
    const double expect = -70.0 + 4.0 * -std::expm1(-100 * 0.1 / 10.0);
    EXPECT_NEAR(v[last + 1], expect, 1e-5);
    EXPECT_LT(v[last + 2], v[last + 1]) << "the pulse acts after its stop";
  }
}

TEST_P(time_grid, tstop_is_rounded_up_to_whole_steps) {
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 0.25\n[population.p]\nsize = 2\nmodel = \"lif\"\n"
      "record = { traces = [1] }\n");
  EXPECT_EQ(spec.run.steps(), 3u);
  const auto r = run_on(backend_kind(), spec);
  EXPECT_EQ(r.rec.populations[0].counts.size(), 3u);
  EXPECT_EQ(r.rec.populations[0].trace_rows, 3u);
  EXPECT_EQ(r.summary.steps, 3u);
}

SPIKESIM_INSTANTIATE_BACKENDS(time_grid);

TEST_P(time_grid, checkpoints_come_every_interval_however_long_the_chunks) {
  // 100 neurons without projections take automatic chunks of up to 1000 steps; a checkpoint
  // every 100 steps must still come at steps 100, 200, ... (the chunk is cut to the interval),
  // and the spikes equal those of the run without checkpoints.
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 50.0\n[population.p]\nsize = 100\nmodel = \"lif\"\n"
      "input = { I = 1.5, sigma = 0.5 }\n");
  ASSERT_GT(chunk_steps_for(spec), 100u) << "the automatic chunk must be longer than the interval";
  backend_options opt;
  opt.kind = backend_kind();
  auto b = make_backend(spec, opt, nullptr);
  memory_recorder rec;
  run_options ro;
  ro.checkpoint_every = 100;
  std::vector<uint64_t> at;
  ro.checkpoint = [&](uint64_t done, const std::vector<uint64_t>&) { at.push_back(done); };
  simulate(spec, *b, rec, ro);
  EXPECT_EQ(at, (std::vector<uint64_t>{100, 200, 300, 400}));
  const auto plain = run_on(backend_kind(), spec);
  EXPECT_EQ(rec.populations[0].spike_steps, plain.rec.populations[0].spike_steps);
  EXPECT_EQ(rec.populations[0].spike_ids, plain.rec.populations[0].spike_ids);
}

TEST(time_grid_state, ou_input_starts_stationary) {
  // Var(eta) = sigma^2 tau_m / (2 tau_s) = 9 * 10 / 10 = 9 mV^2 at t = 0, not 0; 10^5 samples
  // give the variance to sqrt(2 / N) = 0.45%, checked to 5 standard errors.
  const auto spec = spec_from(
      "[population.p]\nsize = 100000\nmodel = \"lif\"\n"
      "input = { sigma = 3.0, tau_noise = 5.0 }\n");
  const auto s = make_population_state<double>(spec, spec.populations[0]);
  ASSERT_EQ(s.eta.size(), 100000u);
  double m = 0, q = 0;
  for (double e : s.eta) m += e;
  m /= s.eta.size();
  for (double e : s.eta) q += (e - m) * (e - m);
  q /= s.eta.size() - 1;
  EXPECT_NEAR(m, 0.0, 5 * std::sqrt(9.0 / 1e5));
  EXPECT_NEAR(q, 9.0, 5 * std::sqrt(2.0 / 1e5) * 9.0);
}

TEST(time_grid_state, normal_initial_potential_is_normal_and_sliced_alike) {
  // init.V = { normal = [-65, 4] }: 10^5 draws against N(-65, 4^2): mean to 5 standard errors
  // (4 / sqrt(N)), SD to 5 (4 / sqrt(2N)), and the Kolmogorov distance below 1.95 / sqrt(N), its
  // 0.1% quantile; the draws are keyed by neuron id, so a slice holds the same values.
  const uint64_t n = 100000;
  const auto spec = spec_from(
      "[population.p]\nsize = 100000\nmodel = \"lif\"\n"
      "init = { V = { normal = [-65.0, 4.0] } }\n");
  const auto s = make_population_state<double>(spec, spec.populations[0]);
  ASSERT_EQ(s.u.size(), n);
  double m = 0, q = 0;
  for (double v : s.u) m += v;
  m /= n;
  for (double v : s.u) q += (v - m) * (v - m);
  const double sd = std::sqrt(q / (n - 1));
  EXPECT_NEAR(m, -65.0, 5 * 4.0 / std::sqrt(1e5));
  EXPECT_NEAR(sd, 4.0, 5 * 4.0 / std::sqrt(2e5));
  std::vector<double> sorted(s.u.begin(), s.u.end());
  std::sort(sorted.begin(), sorted.end());
  double d = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const double F = 0.5 * std::erfc(-(sorted[i] + 65.0) / (4.0 * std::sqrt(2.0)));
    d = std::max({d, std::abs(F - double(i) / n), std::abs(F - double(i + 1) / n)});
  }
  EXPECT_LT(d, 1.95 / std::sqrt(1e5));
  const auto part = make_population_state<double>(spec, spec.populations[0], {500, 900});
  for (uint64_t i = 0; i < 400; ++i) ASSERT_EQ(part.u[i], s.u[500 + i]) << i;
}

}  // namespace
}  // namespace spikesim::testing
