// Builds a population's initial state from its spec; the random parts (drawn initial V, the
// OU input's stationary start) come from the population's Philox streams, so they are the same on
// every backend and thread count.
#include "population_state.hpp"

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <spikesim/connectivity.hpp>
#include <spikesim/rng.hpp>

namespace spikesim {

namespace {

// The source plan of a population: the Poisson draw's coefficients, or the spike steps of each
// neuron of the slice (the spec's list is sorted by time, so each neuron's steps ascend).
template <class T>
void set_source(const population_spec& p, double dt, neuron_slice slice, population_state<T>& s) {
  source_coeffs& c = s.coeffs.src;
  const source_spec& src = p.source;
  if (src.type == source_spec::kind::poisson) {
    c.kind = source_kind::poisson;
    c.p_spike = -std::expm1(-src.rate * 1e-3 * dt);
    c.start_step = step_at(src.start, dt);
    c.stop_step = std::isfinite(src.stop) ? step_at(src.stop, dt) : ~uint64_t{0};
    return;
  }
  c.kind = source_kind::times;
  const uint64_t n = slice.size();
  s.source_row.assign(n + 1, 0);
  for (const uint64_t id : src.ids)
    if (slice.lo <= id && id < slice.hi) ++s.source_row[id - slice.lo + 1];
  for (uint64_t i = 0; i < n; ++i) s.source_row[i + 1] += s.source_row[i];
  s.source_steps.resize(s.source_row[n]);
  std::vector<uint64_t> fill(s.source_row.begin(), s.source_row.end() - 1);
  for (size_t k = 0; k < src.ids.size(); ++k)
    if (slice.lo <= src.ids[k] && src.ids[k] < slice.hi)
      s.source_steps[fill[src.ids[k] - slice.lo]++] = spike_step(src.times[k], dt);
}

}  // namespace

template <class T>
population_state<T> make_population_state(const experiment_spec& spec, const population_spec& p,
                                          neuron_slice slice) {
  population_state<T> s;
  slice = slice.clipped(p.size);
  s.id_offset = slice.lo;
  s.name = p.name;
  s.index = p.index;
  s.seed = p.seed;
  s.stream = p.stream;
  const double dt = spec.run.dt;
  auto& c = s.coeffs;
  if (p.is_source()) {
    s.model = kind_of<source_model>;
    set_source(p, dt, slice, s);
  } else {
    std::visit(
        [&](const auto& params) {
          using M = model_of_params<std::decay_t<decltype(params)>>;
          s.model = kind_of<M>;
          M::set_coeffs(c, params, p.input.noise, dt);
        },
        p.params);
  }
  s.noise = c.mem.ou                    ? noise_kind::ou
            : p.input.noise.sigma > 0.0 ? noise_kind::white
                                        : noise_kind::none;
  // Per-neuron values and draws are those of population-local id off + i.
  const uint64_t n = slice.size(), off = slice.lo;
  const uint64_t seed = p.seed;
  const uint32_t init_stream = rng::stream_id(p.stream, rng::init);
  s.u.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    double v;
    if (p.init.draw == init_spec::draw_kind::uniform)
      v = p.init.V_a + (p.init.V_b - p.init.V_a) * rng::uniform(seed, init_stream, off + i, 0);
    else if (p.init.draw == init_spec::draw_kind::normal)  // block 2 of the init stream
      v = p.init.V_a + p.init.V_b * static_cast<double>(rng::normal(seed, init_stream, off + i, 8));
    else if (p.init.V.values.empty() && !p.init.V.ramp)
      v = p.v_rest();
    else
      v = p.init.V.at(off + i);
    s.u[i] = static_cast<T>(v);
  }
  s.ref.assign(n, 0);
  visit_model(s.model, [&](auto tag) {
    using M = typename decltype(tag)::type;
    if constexpr (M::gates > 0) {
      s.m.resize(n);
      s.h.resize(n);
      s.n.resize(n);
      for (uint64_t i = 0; i < n; ++i) M::init_gates(s.u[i], s.m[i], s.h[i], s.n[i]);
    }
  });
  if (s.noise == noise_kind::ou) {
    // Start the OU input in its stationary distribution so that no transient of tau_noise is
    // needed; block 1 of the init stream keeps it apart from the uniform draw of block 0.
    s.eta.resize(n);
    for (uint64_t i = 0; i < n; ++i)
      s.eta[i] = c.mem.ou_sd * static_cast<T>(rng::normal(seed, init_stream, off + i, 4));
  }
  s.I_base.resize(n);
  for (uint64_t i = 0; i < n; ++i) s.I_base[i] = static_cast<T>(p.input.I.at(off + i));
  for (const auto& q : p.input.pulses) {
    pulse_state<T> ps;
    ps.start_step = step_at(q.start, dt);
    ps.stop_step = step_at(q.stop, dt);
    if (q.amplitude.uniform())
      ps.amp.push_back(static_cast<T>(q.amplitude.at(0)));
    else
      for (uint64_t i = 0; i < n; ++i) ps.amp.push_back(static_cast<T>(q.amplitude.at(off + i)));
    if (ps.stop_step > ps.start_step) s.pulses.push_back(std::move(ps));
  }
  s.trace_ids = p.record.traces;
  s.trace_every = p.record.trace_every;
  s.record_spikes = p.record.spikes;
  return s;
}

double exp_synapse_kappa(double dt, double tau_m, double tau_syn) {
  const double a = dt / tau_m, x = dt / tau_syn - a;
  // (1 - e^-x) / x, written with expm1 so that it stays accurate as tau_syn approaches tau_m
  const double f = x == 0.0 ? 1.0 : -std::expm1(-x) / x;
  return a * std::exp(-a) * f / -std::expm1(-a);
}

namespace {

bool poisson_through_exp(const population_spec& p) {
  return p.input.poisson.active() && p.input.poisson.synapse == synapse_kind::exp;
}

// The tau_syn (ms) of a population's excitatory and inhibitory exp inputs, 0 for a sign without
// any; the config loader checks that the inputs of one sign agree.
struct exp_time_constants {
  double ex = 0.0, in = 0.0;
  bool two_ports() const { return ex > 0.0 && in > 0.0 && ex != in; }
  uint32_t ports() const { return two_ports() ? 2 : ex > 0.0 || in > 0.0 ? 1 : 0; }
  // The current an input of this weight (a distribution's mean) feeds: I_in for a negative one
  // where there are two currents, else port 0.
  uint32_t port(double weight) const { return two_ports() && weight < 0.0 ? 1 : 0; }
};

exp_time_constants exp_taus(const experiment_spec& spec, uint32_t population) {
  exp_time_constants t;
  const auto& po = spec.populations[population].input.poisson;
  if (poisson_through_exp(spec.populations[population]))
    (po.weight < 0.0 ? t.in : t.ex) = po.tau_syn;
  for (const auto& q : spec.projections)
    if (q.target == population && q.synapse == synapse_kind::exp)
      (q.weight.mean() < 0.0 ? t.in : t.ex) = q.tau_syn;
  return t;
}

}  // namespace

uint32_t exp_port_count(const experiment_spec& spec, uint32_t population) {
  return exp_taus(spec, population).ports();
}

uint32_t exp_port(const experiment_spec& spec, const projection_spec& q) {
  return exp_taus(spec, q.target).port(q.weight.mean());
}

std::string exp_current_name(uint32_t port) {
  return port == 0 ? "i_syn" : "i_syn_in";
}
std::string exp_ring_name(uint32_t port) {
  return port == 0 ? "ring_exp" : "ring_exp_in";
}

template <class T>
exp_synapse_coeffs<T> make_exp_synapse_coeffs(const experiment_spec& spec, uint32_t population) {
  exp_synapse_coeffs<T> e;
  const auto& p = spec.populations[population];
  const exp_time_constants t = exp_taus(spec, population);
  e.ports = t.ports();
  if (e.ports == 0) return e;
  // Port 0: I_ex, or the one current (of whichever sign its inputs have); port 1: I_in.
  const double tau_syn[max_exp_ports] = {t.ex > 0.0 ? t.ex : t.in, t.in};
  const double dt = spec.run.dt;
  for (uint32_t k = 0; k < e.ports; ++k) {
    e.decay[k] = static_cast<T>(std::exp(-dt / tau_syn[k]));
    e.gain[k] = std::visit(
        [&](const auto& params) {
          using M = model_of_params<std::decay_t<decltype(params)>>;
          if constexpr (M::takes_input)
            return static_cast<T>(M::exp_synapse_gain(params, dt, tau_syn[k]));
          else
            return T(1);  // not reached: the config gives rate units no synapses
        },
        p.params);
  }
  e.poisson = poisson_through_exp(p);
  if (e.poisson) {
    e.poisson_port = t.port(p.input.poisson.weight);
    e.poisson_fixed =
        static_cast<int64_t>(std::llround(p.input.poisson.weight * fixed_point_scale));
  }
  return e;
}

template exp_synapse_coeffs<float> make_exp_synapse_coeffs<float>(const experiment_spec&, uint32_t);
template exp_synapse_coeffs<double> make_exp_synapse_coeffs<double>(const experiment_spec&,
                                                                    uint32_t);

template population_state<float> make_population_state<float>(const experiment_spec&,
                                                              const population_spec&, neuron_slice);
template population_state<double> make_population_state<double>(const experiment_spec&,
                                                                const population_spec&,
                                                                neuron_slice);

}  // namespace spikesim
