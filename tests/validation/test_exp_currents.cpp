// Two exp synaptic currents on one population (I_ex, I_in with their own tau_syn, as NEST's
// iaf_psc_exp; the sign of the weight chooses the current): the PSPs against the closed form,
// superposition, the coefficients, the config checks, and a checkpoint resumed on each backend.
#include <algorithm>
#include <cmath>
#include <string>

#include <spikesim/backend.hpp>
#include <spikesim/connectivity.hpp>

#include "population_state.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

std::string config_error_of(const std::string& toml) {
  return error_of<config_error>([&] { spec_from(toml); });
}

// Two single-neuron sources, each spiking once in step 69 (I = 20 nA) unless its I is 0, onto one
// LIF neuron (tau_m = 10 ms, R_m = 1): an excitatory exp projection (0.5 nA, delay 1.5 ms) and an
// inhibitory one (-0.3 nA, delay 3 ms).
std::string two_current_config(double tau_ex, double tau_in, bool ex_fires, bool in_fires) {
  const std::string pre =
      "model = \"lif\"\n"
      "params = { tau_m = 10.0, E_L = 0.0, R_m = 1.0, V_th = 10.0, V_reset = 0.0, t_ref = 100.0 "
      "}\n";
  return "[run]\ndt = 0.1\ntstop = 30.0\n"
         "[population.a_ex]\nsize = 1\n" +
         pre + "input = { I = " + (ex_fires ? "20.0" : "0.0") +
         " }\n"
         "[population.b_in]\nsize = 1\n" +
         pre + "input = { I = " + (in_fires ? "20.0" : "0.0") +
         " }\n"
         "[population.c_post]\nsize = 1\nmodel = \"lif\"\n"
         "params = { tau_m = 10.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 0.0 }\n"
         "record = { traces = [0] }\n"
         "[projection.ex]\nsource = \"a_ex\"\ntarget = \"c_post\"\nrule = \"one_to_one\"\n"
         "synapse = \"exp\"\ntau_syn = " +
         std::to_string(tau_ex) +
         "\nweight = 0.5\ndelay = 1.5\n"
         "[projection.in]\nsource = \"b_in\"\ntarget = \"c_post\"\nrule = \"one_to_one\"\n"
         "synapse = \"exp\"\ntau_syn = " +
         std::to_string(tau_in) + "\nweight = -0.3\ndelay = 3.0\n";
}

// The PSP (mV) at t ms after a current jump of w nA decaying with tau_syn, for tau_m = 10 ms and
// R_m = 1 MOhm; 0 before the jump.
double closed_form_psp(double w, double tau_syn, double t) {
  const double tau_m = 10.0;
  if (t <= 0) return 0.0;
  return tau_syn == tau_m
             ? w * (t / tau_m) * std::exp(-t / tau_m)
             : w * tau_syn / (tau_m - tau_syn) * (std::exp(-t / tau_m) - std::exp(-t / tau_syn));
}

std::vector<float> post_trace(double tau_ex, double tau_in, bool ex_fires, bool in_fires) {
  const auto spec = spec_from(two_current_config(tau_ex, tau_in, ex_fires, in_fires));
  const auto r = run_on("cpu", spec, 1);
  if (ex_fires) EXPECT_EQ(r.rec.populations[0].spike_steps.at(0), 69u);
  if (in_fires) EXPECT_EQ(r.rec.populations[1].spike_steps.at(0), 69u);
  return r.rec.populations[2].traces;  // row n: u at t = n dt
}

// The spikes of step 69 are stamped 7 ms; the currents jump at 8.5 ms (ex) and 10 ms (in), rows
// 85 and 100. Each current's step is exact for the linear system, so, as for the one current
// (test_network.cpp), the only errors are the float trace (6e-8 relative) and the 2^-24 nA weight
// grid (below 1e-7 relative): 1e-6 of the larger weight's scale, 0.5 mV, covers both. A current
// held within each step, or the other port's tau_syn, would miss by percent.
void expect_two_current_psps(double tau_ex, double tau_in) {
  SCOPED_TRACE("tau_syn_ex " + std::to_string(tau_ex) + ", tau_syn_in " + std::to_string(tau_in));
  const auto spec = spec_from(two_current_config(tau_ex, tau_in, true, true));
  const auto e = make_exp_synapse_coeffs<double>(spec, 2);
  ASSERT_EQ(e.ports, 2u);
  EXPECT_EQ(e.decay[0], std::exp(-0.1 / tau_ex));
  EXPECT_EQ(e.decay[1], std::exp(-0.1 / tau_in));
  EXPECT_EQ(exp_port(spec, spec.projections[0]), 0u);
  EXPECT_EQ(exp_port(spec, spec.projections[1]), 1u);

  const auto ex = post_trace(tau_ex, tau_in, true, false);
  const auto in = post_trace(tau_ex, tau_in, false, true);
  const auto both = post_trace(tau_ex, tau_in, true, true);
  ASSERT_EQ(both.size(), spec.run.steps());
  const double tol = 1e-6 * 0.5;
  double ex_peak = 0.0, in_peak = 0.0;
  for (uint64_t n = 0; n < both.size(); ++n) {
    const double u_ex = closed_form_psp(0.5, tau_ex, (n - 85.0) * 0.1);
    const double u_in = closed_form_psp(-0.3, tau_in, (n - 100.0) * 0.1);
    ex_peak = std::max(ex_peak, u_ex);
    in_peak = std::min(in_peak, u_in);
    ASSERT_NEAR(ex[n], u_ex, tol) << "excitatory alone, row " << n;
    ASSERT_NEAR(in[n], u_in, tol) << "inhibitory alone, row " << n;
    // superposition: the two currents add their terms to one membrane
    ASSERT_NEAR(both[n], ex[n] + in[n], tol) << "row " << n;
    ASSERT_NEAR(both[n], u_ex + u_in, tol) << "row " << n;
  }
  EXPECT_NEAR(*std::max_element(ex.begin(), ex.end()), ex_peak, tol);
  EXPECT_NEAR(*std::min_element(in.begin(), in.end()), in_peak, tol);
}

TEST(exp_currents, psps_of_both_ports_are_their_closed_forms) {
  expect_two_current_psps(2.0, 0.5);   // PD14-like: slow excitation, fast inhibition
  expect_two_current_psps(0.5, 5.0);   // the other way round
  expect_two_current_psps(10.0, 0.5);  // I_ex at the limit tau_syn = tau_m
  expect_two_current_psps(2.0, 10.0);  // I_in at the limit
  expect_two_current_psps(30.0, 2.0);  // tau_syn > tau_m
}

TEST(exp_currents, one_tau_syn_is_one_current_as_before) {
  // Excitatory and inhibitory projections with one tau_syn share one current, with the
  // coefficients of the excitatory projection alone; both feed port 0.
  const std::string text = two_current_config(2.0, 2.0, true, true);
  const auto shared = spec_from(text);
  const auto alone = spec_from(text.substr(0, text.find("[projection.in]")));
  const auto a = make_exp_synapse_coeffs<double>(shared, 2);
  const auto b = make_exp_synapse_coeffs<double>(alone, 2);
  EXPECT_EQ(a.ports, 1u);
  EXPECT_EQ(b.ports, 1u);
  EXPECT_EQ(a.decay[0], b.decay[0]);
  EXPECT_EQ(a.gain[0], b.gain[0]);
  EXPECT_EQ(exp_port(shared, shared.projections[1]), 0u);
  // An inhibitory projection alone is one current too (port 0, its own tau_syn).
  const auto inh = spec_from(two_current_config(2.0, 0.5, false, true),
                             {"projection.ex.weight=-0.1", "projection.ex.tau_syn=0.5"});
  EXPECT_EQ(make_exp_synapse_coeffs<double>(inh, 2).ports, 1u);
  EXPECT_EQ(make_exp_synapse_coeffs<double>(inh, 2).decay[0], std::exp(-0.1 / 0.5));
  EXPECT_EQ(exp_port(inh, inh.projections[1]), 0u);
  EXPECT_EQ(exp_current_name(0), "i_syn");
  EXPECT_EQ(exp_ring_name(0), "ring_exp");
  EXPECT_EQ(exp_current_name(1), "i_syn_in");
  EXPECT_EQ(exp_ring_name(1), "ring_exp_in");
}

// A population with an excitatory exp projection (tau_syn 2 ms) and Poisson input through the exp
// synapse with weight `w` nA and tau_syn `tau` ms.
std::string poisson_config(double w, double tau, const std::string& extra = "") {
  return "[population.a]\nsize = 10\nmodel = \"lif\"\n"
         "input = { poisson = { rate = 10.0, count = 2, weight = " +
         std::to_string(w) + ", synapse = \"exp\", tau_syn = " + std::to_string(tau) +
         " } }\n"
         "[projection.p]\nsource = \"a\"\ntarget = \"a\"\nrule = \"all_to_all\"\n"
         "weight = { normal = [0.1, 0.05] }\ndelay = 1.0\nsynapse = \"exp\"\ntau_syn = 2.0\n" +
         extra;
}

TEST(exp_currents, the_sign_of_the_weight_chooses_the_current) {
  // inhibitory Poisson input with its own tau_syn: the second current
  const auto in = spec_from(poisson_config(-0.05, 0.5));
  auto e = make_exp_synapse_coeffs<float>(in, 0);
  EXPECT_EQ(e.ports, 2u);
  EXPECT_TRUE(e.poisson);
  EXPECT_EQ(e.poisson_port, 1u);
  EXPECT_EQ(e.decay[0], static_cast<float>(std::exp(-0.1 / 2.0)));
  EXPECT_EQ(e.decay[1], static_cast<float>(std::exp(-0.1 / 0.5)));
  EXPECT_EQ(e.poisson_fixed, std::llround(-0.05 * fixed_point_scale));
  // excitatory Poisson input with the projection's tau_syn: one current
  e = make_exp_synapse_coeffs<float>(spec_from(poisson_config(0.05, 2.0)), 0);
  EXPECT_EQ(e.ports, 1u);
  EXPECT_EQ(e.poisson_port, 0u);
  // a distribution's mean chooses: normal(-0.1, 0.05) keeps its sign, uniform [-0.3, 0.1] has
  // mean -0.1
  for (const char* w : {"{ normal = [-0.1, 0.05] }", "{ uniform = [-0.3, 0.1] }"}) {
    const auto s = spec_from(poisson_config(0.05, 2.0,
                                            "[projection.q]\nsource = \"a\"\ntarget = \"a\"\n"
                                            "rule = \"all_to_all\"\ndelay = 1.0\nsynapse = "
                                            "\"exp\"\ntau_syn = 2.0\nweight = ") +
                             w + "\n");
    EXPECT_EQ(exp_port_count(s, 0), 1u) << w << ": one tau_syn, one current";
  }
  const auto s = spec_from(poisson_config(0.05, 2.0,
                                          "[projection.q]\nsource = \"a\"\ntarget = \"a\"\n"
                                          "rule = \"all_to_all\"\ndelay = 1.0\nsynapse = "
                                          "\"exp\"\ntau_syn = 0.5\n"
                                          "weight = { normal = [-0.1, 0.05] }\n"));
  EXPECT_EQ(exp_port_count(s, 0), 2u);
  EXPECT_EQ(exp_port(s, s.projections[0]), 0u);
  EXPECT_EQ(exp_port(s, s.projections[1]), 1u);
}

TEST(exp_currents, tau_syn_must_agree_within_a_sign) {
  const std::string q =
      "[projection.q]\nsource = \"a\"\ntarget = \"a\"\nrule = \"all_to_all\"\n"
      "delay = 1.0\nsynapse = \"exp\"\n";
  // two excitatory projections
  EXPECT_EQ(config_error_of(poisson_config(-0.05, 0.5, q + "weight = 0.2\ntau_syn = 1.5\n")),
            "config error: projection.q.tau_syn: 1.5 ms is invalid: projection.p onto the same "
            "population has tau_syn = 2 ms (the excitatory exp synapses onto a population, "
            "weight >= 0, share one synaptic time constant)");
  // an inhibitory projection and the inhibitory Poisson input
  EXPECT_EQ(config_error_of(poisson_config(-0.05, 0.5, q + "weight = -0.2\ntau_syn = 1.5\n")),
            "config error: projection.q.tau_syn: 1.5 ms is invalid: the Poisson input of "
            "population.a has tau_syn = 0.5 ms (the inhibitory exp synapses onto a population, "
            "weight < 0, share one synaptic time constant)");
  // two inhibitory projections, the second's mean negative through a uniform distribution
  const std::string r =
      "[projection.r]\nsource = \"a\"\ntarget = \"a\"\nrule = \"all_to_all\"\n"
      "delay = 1.0\nsynapse = \"exp\"\n";
  EXPECT_EQ(config_error_of(poisson_config(0.05, 2.0,
                                           q + "weight = -0.2\ntau_syn = 1.5\n" + r +
                                               "weight = { uniform = [-0.4, -0.1] }\n"
                                               "tau_syn = 3.0\n")),
            "config error: projection.r.tau_syn: 3 ms is invalid: projection.q onto the same "
            "population has tau_syn = 1.5 ms (the inhibitory exp synapses onto a population, "
            "weight < 0, share one synaptic time constant)");
  // with two currents, weights of both signs cannot be placed by their mean
  EXPECT_EQ(
      config_error_of(poisson_config(0.05, 2.0,
                                     q + "weight = -0.2\ntau_syn = 0.5\n" + r +
                                         "weight = { uniform = [-0.1, 0.3] }\ntau_syn = 2.0\n")),
      "config error: projection.r.weight: uniform [-0.1, 0.3] nA is invalid: weights of both "
      "signs onto population.a, whose excitatory and inhibitory exp synapses have different "
      "tau_syn (2 ms, 0.5 ms): the sign of the mean, 0.1 nA, would choose the current of all of "
      "them");
  // ... which one current takes
  EXPECT_EQ(config_error_of(poisson_config(0.05, 2.0,
                                           q + "weight = -0.2\ntau_syn = 2.0\n" + r +
                                               "weight = { uniform = [-0.1, 0.3] }\n"
                                               "tau_syn = 2.0\n")),
            "");
  // different signs, different tau_syn: two currents, accepted
  EXPECT_EQ(config_error_of(poisson_config(-0.05, 0.5, q + "weight = -0.2\ntau_syn = 0.5\n")), "");
}

// Both backends: a run with two currents (inhibitory Poisson through its own current, normal and
// uniform weights, delays of several steps) stopped, saved and resumed on a fresh backend goes on
// exactly as the uninterrupted run; the state carries both currents and rings.
class exp_currents_checkpoint : public backend_test {};

TEST_P(exp_currents_checkpoint, state_of_both_currents_resumes_exactly) {
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 60.0\nrandom_seed = 5\nchunk_steps = 10\n"
      "[population.e]\nsize = 400\nmodel = \"lif\"\n"
      "params = { tau_m = 10.0, E_L = 0.0, R_m = 1.0, V_th = 15.0, V_reset = 0.0, t_ref = 2.0 }\n"
      "init = { V = { uniform = [0.0, 15.0] } }\n"
      "input = { I = 16.0, poisson = { rate = 50.0, count = 100, weight = -0.2, "
      "synapse = \"exp\", tau_syn = 0.5 } }\n"
      "[projection.ee]\nsource = \"e\"\ntarget = \"e\"\nrule = \"fixed_indegree\"\n"
      "indegree = 50\nsynapse = \"exp\"\ntau_syn = 2.0\n"
      "weight = { normal = [0.3, 0.1] }\ndelay = { uniform = [1.0, 2.0] }\n"
      "[projection.ie]\nsource = \"e\"\ntarget = \"e\"\nrule = \"fixed_indegree\"\n"
      "indegree = 20\nsynapse = \"exp\"\ntau_syn = 0.5\n"
      "weight = { uniform = [-0.5, -0.1] }\ndelay = 1.2\n");
  backend_options opt;
  opt.kind = backend_kind();
  const uint64_t chunk = 10, stop = 300, steps = spec.run.steps();
  auto run = [&](backend& b, uint64_t first, uint64_t last) {
    population_chunk all;
    chunk_output out;
    for (uint64_t s = first; s < last; s += chunk) {
      b.advance(s, chunk, out);
      append(all, out.populations[0]);
    }
    return all;
  };
  auto full = make_backend(spec, opt, nullptr);
  run(*full, 0, stop);
  const auto rest_full = run(*full, stop, steps);
  auto first = make_backend(spec, opt, nullptr);
  run(*first, 0, stop);
  const auto state = first->save_state();
  for (const char* name : {"population/e/i_syn", "population/e/i_syn_in", "population/e/ring_exp",
                           "population/e/ring_exp_in"}) {
    bool found = false;
    for (const auto& a : state) found |= a.name == name;
    EXPECT_TRUE(found) << name;
  }
  auto second = make_backend(spec, opt, nullptr);
  second->restore_state(state);
  const auto rest = run(*second, stop, steps);
  EXPECT_GT(rest_full.spike_ids.size(), 100u);
  EXPECT_EQ(rest.spike_steps, rest_full.spike_steps);
  EXPECT_EQ(rest.spike_ids, rest_full.spike_ids);
  EXPECT_EQ(second->potentials(0), full->potentials(0));
}

SPIKESIM_INSTANTIATE_BACKENDS(exp_currents_checkpoint);

}  // namespace
}  // namespace spikesim::testing
