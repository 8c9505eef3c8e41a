// The host-side state of a population at t = 0, built from its spec the same way for both
// backends: initial potentials, OU input, per-neuron currents and pulse amplitudes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/models/neuron.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

template <class T>
struct pulse_state {
  uint64_t start_step;  // first step with the pulse on
  uint64_t stop_step;   // first step with it off again
  std::vector<T> amp;   // nA; one value, or one per neuron
};

template <class T>
struct population_state {
  std::string name;
  uint32_t index = 0;
  uint64_t seed = 1;    // Philox key of the population's draws
  uint32_t stream = 0;  // its stream block (population_spec::stream)
  model_kind model = kind_of<lif_model>;
  noise_kind noise = noise_kind::none;
  model_coeffs<T> coeffs{};
  // The slice of the population held here (all of it but on a run spread over ranks): element i
  // of the arrays below is neuron id_offset + i, the id its random numbers are keyed by.
  uint64_t id_offset = 0;
  std::vector<T> u;          // mV (Hz for rate units)
  std::vector<int32_t> ref;  // refractory steps left
  std::vector<T> eta;        // mV, OU input (empty for white or no noise)
  std::vector<T> m, h, n;    // HH gates (empty for the other models)
  std::vector<T> I_base;     // nA (uA/cm^2 for HH), constant current per neuron
  std::vector<pulse_state<T>> pulses;
  // A times-list source (model source, coeffs.src): neuron i's spike steps, ascending, are
  // source_steps[source_row[i] .. source_row[i + 1]).
  std::vector<uint64_t> source_row;
  std::vector<uint64_t> source_steps;
  std::vector<uint64_t> trace_ids;  // population-local ids, all of them (not only this slice's)
  uint64_t trace_every = 1;
  bool record_spikes = true;

  // Gate g of a model with gates (models/registry.hpp): m, h, n, as its gate names list them.
  std::vector<T>& gate(uint32_t g) { return g == 0 ? m : g == 1 ? h : n; }
  const std::vector<T>& gate(uint32_t g) const { return g == 0 ? m : g == 1 ? h : n; }
};

// The exp synapses onto a population: each exp current I (nA) decays by `decay` per step, and
// the current I at the start of a step adds `gain` * I to that step's drive, which is held over
// the step (exp_current_step, models/exp_synapse.hpp). For LIF and EIF, gain = R_m kappa with
// kappa the ratio of the charge a current decaying with tau_syn delivers through the membrane over
// the step to that of a current held at its start, so the linear part of the step is integrated
// exactly (the propagator of Rotter & Diesmann 1999, as NEST's iaf_psc_exp):
//   kappa = a e^-a (1 - e^-(b - a)) / ((b - a) (1 - e^-a)),  a = dt / tau_m,  b = dt / tau_syn,
// which is a e^-a / (1 - e^-a) when tau_syn = tau_m. HH (whose membrane time constant changes
// with its conductances) holds the current over the step (gain 1): each model's exp_synapse_gain.
// A population has one exp current, or two as NEST's iaf_psc_exp (I_ex, I_in): the sign of a
// weight (of its mean for a distribution; the Poisson input's weight) chooses excitatory (>= 0)
// or inhibitory (< 0), the exp inputs of one sign share a tau_syn (the config loader checks it),
// and only where the two signs' tau_syn differ are there two currents. Port 0 is the one current,
// or I_ex; port 1 is I_in. Each current's term is added to the drive in port order, so one port
// is the arithmetic of a single current exactly.
constexpr uint32_t max_exp_ports = 2;
template <class T>
struct exp_synapse_coeffs {
  uint32_t ports = 0;  // exp currents: 0 without exp input (exp_port_count), 1 or 2
  T decay[max_exp_ports] = {};
  T gain[max_exp_ports] = {};
  bool poisson = false;       // the Poisson input jumps an exp current (not u) ...
  uint32_t poisson_port = 0;  // ... this one (its weight's sign) ...
  int64_t poisson_fixed = 0;  // ... by this many 2^-24 nA per spike, as a projection's weight
};
template <class T>
exp_synapse_coeffs<T> make_exp_synapse_coeffs(const experiment_spec& spec, uint32_t population);
// The exp currents of a population: 0 (no exp projection onto it, no Poisson input through its
// exp synapse), 1 or 2 (see above).
uint32_t exp_port_count(const experiment_spec& spec, uint32_t population);
// The current of its target that exp projection q feeds.
uint32_t exp_port(const experiment_spec& spec, const projection_spec& q);
// The checkpoint names of port k's current and delay ring: i_syn and ring_exp (the one current,
// or I_ex), i_syn_in and ring_exp_in (I_in).
std::string exp_current_name(uint32_t port);
std::string exp_ring_name(uint32_t port);

// The state of neurons [slice.lo, slice.hi) of p (clipped to its size; by default all).
template <class T>
population_state<T> make_population_state(const experiment_spec& spec, const population_spec& p,
                                          neuron_slice slice = {0, ~uint64_t{0}});

}  // namespace spikesim
