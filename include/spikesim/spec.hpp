// ExperimentSpec: the validated, unit-checked description of a run, built from a TOML config and
// consumed by the backends, the recorder and the analysis. Plain data, no behaviour.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include <spikesim/models/eif.hpp>
#include <spikesim/models/hh.hpp>
#include <spikesim/models/lif.hpp>
#include <spikesim/models/rate.hpp>
#include <spikesim/models/registry.hpp>

namespace spikesim {

enum class precision { single, dual };

// A per-neuron quantity: one value for all neurons, one value per neuron, or a linear ramp
// { from, to } spread over the neurons (neuron i of n gets from + (to - from) i / (n - 1)).
struct per_neuron {
  std::vector<double> values;  // size 1 (uniform) or the population size; empty for a ramp
  bool ramp = false;
  double from = 0.0, to = 0.0;
  uint64_t n = 1;  // population size, for the ramp

  bool uniform() const { return !ramp && values.size() == 1; }
  double at(uint64_t i) const {
    if (ramp) return n > 1 ? from + (to - from) * static_cast<double>(i) / (n - 1) : from;
    return values[values.size() == 1 ? 0 : i];
  }
};

// An input current added while start <= t < stop (step n covers [n dt, (n+1) dt)).
struct pulse_spec {
  double start = 0.0;    // ms
  double stop = 0.0;     // ms
  per_neuron amplitude;  // nA
};

// External Poisson drive: `count` independent sources firing at `rate` each, every spike a jump
// of `weight` mV (applied like a delta synapse); sampled per neuron and step (docs/models.md).
enum class synapse_kind { delta, exp };

struct poisson_spec {
  double rate = 0.0;    // Hz per source
  uint64_t count = 0;   // sources
  double weight = 0.0;  // mV (delta) or nA (exp)
  synapse_kind synapse = synapse_kind::delta;
  double tau_syn = 0.0;  // ms, exp
  bool active() const { return rate > 0.0 && count > 0 && weight != 0.0; }
};

struct input_spec {
  per_neuron I{{0.0}};  // nA, constant current
  std::vector<pulse_spec> pulses;
  noise_params noise;
  poisson_spec poisson;
};

struct init_spec {
  per_neuron V;  // mV; no values and no ramp means E_L
  // V drawn from the seed: uniform in [V_a, V_b), or normal with mean V_a and SD V_b
  enum class draw_kind { none, uniform, normal };
  draw_kind draw = draw_kind::none;
  double V_a = 0.0, V_b = 0.0;
};

struct record_spec {
  bool spikes = true;
  std::vector<uint64_t> traces;  // node ids, ascending, unique
  uint64_t trace_every = 1;      // steps
};

using model_params = registered_params;  // models/registry.hpp

// A spike-source population (`source = { ... }` in its table, docs/config.md): its neurons have
// no dynamics and no input; they emit the spikes given here and project like neurons.
//   poisson: in each step of [start, stop) neuron i spikes with probability 1 - e^(-rate dt),
//            at most once a step, from its own Philox draw (the same on every backend);
//   times:   neuron ids[k] spikes in step spike_step(times[k]) (docs/models.md), the list
//            sorted by (time, id), at most one spike of a neuron per step.
struct source_spec {
  enum class kind { none, poisson, times };
  kind type = kind::none;
  double rate = 0.0;                                      // Hz per neuron (poisson)
  double start = 0.0;                                     // ms (poisson)
  double stop = std::numeric_limits<double>::infinity();  // ms (poisson)
  std::vector<uint64_t> ids;                              // times: population-local ids
  std::vector<double> times;                              // ms, one per id
};

struct population_spec {
  std::string name;
  uint32_t index = 0;  // position in the spec
  // The population's random numbers: Philox key `seed` (rng::named_key of run.random_seed and
  // the name) and stream block `stream` (0). A packed sweep gives each point's populations the
  // keys and streams they have when the point runs alone, whatever their name in the pack.
  uint64_t seed = 1;
  uint32_t stream = 0;
  uint64_t size = 0;
  model_params params;
  init_spec init;
  input_spec input;
  record_spec record;
  source_spec source;  // kind::none for a population of neurons

  model_kind kind() const;  // its model's place in models/registry.hpp
  std::string model_name() const;
  // The default initial state (each model's rest()): E_L for LIF/EIF, the resting potential for
  // HH, 0 Hz for rates, 0 for a spike source.
  double v_rest() const;
  bool spiking() const { return !std::holds_alternative<rate_params>(params); }
  bool is_source() const { return source.type != source_spec::kind::none; }
};

// A synaptic weight or delay: a constant, uniform in [a, b], or normal with mean a and SD b
// redrawn until it lies in [lo, hi] (NEST's redraw; the config loader sets the bounds,
// docs/config.md).
struct distribution {
  enum class kind { constant, uniform, normal };
  kind type = kind::constant;
  double a = 0.0, b = 0.0;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool constant() const { return type == kind::constant; }
  double mean() const { return type == kind::uniform ? 0.5 * (a + b) : a; }
};

enum class connection_rule {
  fixed_indegree,
  fixed_probability,
  one_to_one,
  all_to_all,
  fixed_total_number
};
// [projection.NAME]: synapses from the neurons of one population onto those of another.
struct projection_spec {
  std::string name;
  uint32_t index = 0;               // position in the spec
  uint64_t seed = 1;                // connectivity, weight and delay draws: Philox key
  uint32_t stream = 0;              // and stream block (as for populations, named "projection")
  uint32_t source = 0, target = 0;  // population indices
  connection_rule rule = connection_rule::fixed_indegree;
  uint64_t indegree = 0;  // fixed_indegree
  uint64_t total = 0;     // fixed_total_number: synapses between the populations (key N)
  double p = 0.0;         // fixed_probability
  synapse_kind synapse = synapse_kind::delta;
  double tau_syn = 0.0;   // ms, exp synapses
  distribution weight;    // mV (delta) or nA (exp); the sign of its mean chooses the exp current
  distribution delay;     // ms
  bool autapses = true;   // source = target population only: a neuron may connect to itself
  bool multapses = true;  // a pair may be connected more than once

  // Delays in whole steps of dt: rounded, at least one step.
  uint64_t min_delay_steps(double dt) const;
  uint64_t max_delay_steps(double dt) const;
};

struct run_spec {
  double dt = 0.1;        // ms
  double tstop = 1000.0;  // ms
  uint64_t seed = 1;
  precision prec = precision::dual;
  uint64_t chunk_steps = 0;  // 0: chosen from the population sizes
  uint64_t steps() const;
};

struct output_spec {
  std::string file = "spikesim.h5";
  bool overwrite = true;  // the old file is replaced only when the new run completes
  bool compress = true;   // output.compression = "deflate" (shuffle + deflate) or "none"
};

// Spike-train statistics computed when a run ends and by `spikesim analyze` (docs/config.md).
struct analysis_spec {
  bool enabled = true;
  double t_start = 0.0;  // ms: the transient before it is left out
  double t_stop = std::numeric_limits<double>::infinity();  // ms: clipped to the end of the run
  double rate_bin = 1.0;                                    // ms: population rate and chi
  uint64_t cv_min_spikes = 3;  // fewer spikes in the window: CV and LV are NaN
  double fano_window = 100.0;  // ms
  uint64_t rate_hist_bins = 50;
  double rate_hist_max = 0.0;  // Hz; 0: the largest rate (1 Hz when all are silent)
  uint64_t cv_hist_bins = 50;
  double cv_hist_max = 3.0;
};

struct experiment_spec {
  run_spec run;
  output_spec output;
  analysis_spec analysis;
  std::vector<population_spec> populations;
  std::vector<projection_spec> projections;
  std::string config_text;  // the resolved TOML, stored in the output file

  uint64_t total_neurons() const;
  // True when spikes must be delivered between chunks: projections or Poisson input exist.
  bool has_network() const;
  // The shortest delay of any projection in steps (0 without projections).
  uint64_t min_delay_steps() const;
};

// A delay in ms as whole steps: rounded to the nearest step, at least one.
uint64_t delay_steps(double delay_ms, double dt);

// Index of the first step whose start time t = n dt is >= time_ms (times on the step grid, within
// a relative tolerance of 1e-9, count as on it).
uint64_t step_at(double time_ms, double dt);

// The step a spike at time_ms (> 0) of a times-list source falls in: n with n dt < t <= (n + 1) dt
// (on the grid within step_at's tolerance), whose spikes are stamped (n + 1) dt, so that a spike
// train written by a run replays at the same times.
uint64_t spike_step(double time_ms, double dt);

}  // namespace spikesim
