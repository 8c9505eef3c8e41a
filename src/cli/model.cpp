// `spikesim model`: single-neuron analysis without running an experiment (single_neuron.hpp).
// This file reads the parameters from flags or a config's population, checks them against the
// model's parameter table, prints the report and writes it as CSV or HDF5 (model_file.hpp).
#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/model_file.hpp>
#include <spikesim/models/param_table.hpp>
#include <spikesim/single_neuron.hpp>

#include "commands.hpp"

namespace spikesim::cli {
namespace {

using single_neuron::current_range;
using single_neuron::param_value;
using single_neuron::report;

// A value as the user wrote it, for messages (nan and inf included).
std::string show(double x) {
  return format_significant(x, 10);
}

// What the analysis runs on: the model, its parameters and where each value came from (for
// messages: "--tau_m", "--tau_m (default)" or a config path), and the current of the fixed
// points (and, for lif, the noise of the Siegert rate).
struct model_setup {
  std::string model;
  std::vector<param_value> params;
  std::vector<std::string> sources;  // of params, one each
  double I = 0, sigma = 0;
};

// The parameter table's checks (those of a run, less the time step's), phrased with the source.
void validate(const model_setup& s) {
  if (const param_violation v = single_neuron::check_parameters(s.model, s.params))
    for (std::size_t k = 0; k < s.params.size(); ++k)
      if (s.params[k].key == v.key)
        throw config_error("config error: " + s.sources[k] + " = " + show(s.params[k].value) + " " +
                           s.params[k].unit + ": " + param_rule_text(v, 10));
}

// ------------------------------------------------------------------------------- arguments

struct model_args {
  std::string model, config, population, I_range, csv, h5;
  std::vector<std::string> sets;
  double I = 0, sigma = 0;
  double dt = single_neuron::hh_simulation{}.dt, duration = single_neuron::hh_simulation{}.duration;
  std::map<std::string, double> values;
  std::map<std::string, CLI::Option*> options;
  CLI::Option *I_opt = nullptr, *sigma_opt = nullptr, *dt_opt = nullptr, *duration_opt = nullptr,
              *model_opt = nullptr;
};

const population_spec& find_population(const experiment_spec& spec, const model_args& a) {
  const population_spec* pop = nullptr;
  std::string names;
  for (const auto& p : spec.populations) {
    if (p.name == a.population) pop = &p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  if (!pop)
    throw config_error("config error: --population = " + a.population + ": no such population in " +
                       a.config + " (it has: " + names + ")");
  return *pop;
}

model_setup from_config(const model_args& a) {
  if (a.config.empty() || a.population.empty())
    throw config_error("config error: --config and --population go together");
  const experiment_spec spec = load_config(a.config, a.sets);
  const population_spec& pop = find_population(spec, a);
  model_setup s;
  s.model = pop.model_name();
  if (a.model_opt->count() && a.model != s.model)
    throw config_error("config error: --model = " + a.model + ": population " + a.population +
                       " is " + s.model);
  s.params = single_neuron::population_parameters(pop);
  if (s.params.empty())
    throw config_error("config error: population " + a.population + " has model " + s.model +
                       ": `spikesim model` reads lif and eif populations (hh: use --model hh)");
  for (const auto& p : s.params)
    s.sources.push_back("population." + a.population + ".params." + p.key);
  if (pop.input.I.uniform()) s.I = pop.input.I.values[0];
  if (s.model == "lif" && pop.input.noise.tau_noise == 0) s.sigma = pop.input.noise.sigma;
  return s;
}

// The parameter flags given override the defaults or the population's values.
void apply_flags(model_setup& s, model_args& a) {
  s.sources.resize(s.params.size());
  for (std::size_t k = 0; k < s.params.size(); ++k)
    if (s.sources[k].empty()) s.sources[k] = "--" + s.params[k].key + " (default)";
  for (const auto& [key, opt] : a.options) {
    if (!opt->count()) continue;
    bool known = false;
    for (std::size_t k = 0; k < s.params.size(); ++k) {
      if (s.params[k].key != key) continue;
      s.params[k].value = a.values[key];
      s.sources[k] = "--" + key;
      known = true;
    }
    if (!known) {
      std::string names;
      for (const auto& p : s.params) names += (names.empty() ? "" : ", ") + p.key;
      throw config_error("config error: --" + key + " = " + show(a.values[key]) +
                         ": not a parameter of the " + s.model +
                         " model (its parameters: " + names + ")");
    }
  }
}

// --I, --sigma, --dt and --duration, checked against the model.
single_neuron::hh_simulation apply_settings(model_setup& s, const model_args& a) {
  const std::string I_units = s.model == "hh" ? "uA/cm^2" : "nA";
  if (a.I_opt->count()) s.I = a.I;
  if (!std::isfinite(s.I))
    throw config_error("config error: --I = " + show(s.I) + " " + I_units + ": must be finite");
  if (a.sigma_opt->count()) {
    if (s.model != "lif")
      throw config_error("config error: --sigma = " + show(a.sigma) +
                         " mV: the noisy rate and CV (Siegert formula) are for model lif only");
    if (!(a.sigma >= 0) || !std::isfinite(a.sigma))
      throw config_error("config error: --sigma = " + show(a.sigma) + " mV: must be >= 0");
    s.sigma = a.sigma;
  }
  const single_neuron::hh_simulation sim{a.dt, a.duration};
  for (CLI::Option* o : {a.dt_opt, a.duration_opt})
    if (o->count() && s.model != "hh")
      throw config_error("config error: " + o->get_name() +
                         ": simulation settings apply to model hh only (lif and eif are analytic)");
  if (!(sim.dt > 0) || !std::isfinite(sim.dt))
    throw config_error("config error: --dt = " + show(sim.dt) + " ms: must be > 0");
  if (!(sim.duration >= sim.dt) || !std::isfinite(sim.duration) || sim.duration / sim.dt > 1e9)
    throw config_error("config error: --duration = " + show(sim.duration) +
                       " ms: must be at least dt and at most 1e9 steps");
  return sim;
}

void model_command(model_args& a) {
  model_setup s;
  if (!a.config.empty() || !a.population.empty()) {
    s = from_config(a);
  } else {
    if (!a.model_opt->count())
      throw config_error(
          "config error: model: give --model lif|eif|hh or --config FILE --population NAME");
    s.model = a.model;
    s.params = single_neuron::default_parameters(s.model);
  }
  apply_flags(s, a);
  validate(s);
  const single_neuron::hh_simulation sim = apply_settings(s, a);
  const current_range range = a.I_range.empty() ? single_neuron::default_currents(s.model, s.params)
                                                : single_neuron::parse_current_range(a.I_range);
  const report r = single_neuron::analyse(s.model, s.params, s.I, range.values(), s.sigma, sim);
  write_model_text(std::cout, r, range);
  if (!a.csv.empty()) {
    write_model_csv(r, a.csv);
    std::cout << "\nwrote " << a.csv << "\n";
  }
  if (!a.h5.empty()) {
    write_model_h5(r, a.h5);
    std::cout << (a.csv.empty() ? "\n" : "") << "wrote " << a.h5 << "\n";
  }
}

}  // namespace

void add_model(CLI::App& app) {
  auto a = std::make_shared<model_args>();
  auto* cmd = app.add_subcommand(
      "model",
      "phase-line analysis without simulating: fixed points, rheobase, effective threshold and "
      "the f-I curve of a LIF or EIF neuron (theory), or the f-I curve of a Hodgkin-Huxley "
      "neuron (simulated)");
  a->model_opt = cmd->add_option("--model", a->model, "lif, eif or hh")
                     ->check(CLI::IsMember({"lif", "eif", "hh"}));
  cmd->add_option("--config", a->config, "take the parameters from a population of this config");
  cmd->add_option("--population", a->population, "the population of --config");
  cmd->add_option("--set", a->sets, "override a config key: key.path=value (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  for (const auto& [key, unit] : single_neuron::parameter_keys()) {
    a->values[key] = 0.0;
    a->options[key] = cmd->add_option("--" + key, a->values[key],
                                      "parameter " + key + " (" + unit + "); default: the model's");
  }
  a->I_opt = cmd->add_option("--I", a->I,
                             "current for the fixed points and phase line, nA (uA/cm^2 for hh); "
                             "default 0 or the population's constant current");
  cmd->add_option("--I-range", a->I_range,
                  "f-I currents from:to:step; "
                  "default 0 to twice the rheobase (hh: 0:50:2.5)");
  a->sigma_opt = cmd->add_option("--sigma", a->sigma,
                                 "lif: white-noise amplitude (mV, as input.sigma) for the noisy "
                                 "rate and CV");
  a->dt_opt =
      cmd->add_option("--dt", a->dt, "hh: time step of the simulation (ms)")->capture_default_str();
  a->duration_opt =
      cmd->add_option("--duration", a->duration, "hh: simulated time per current (ms)")
          ->capture_default_str();
  cmd->add_option("--csv", a->csv, "write the f-I and fixed-point table as CSV");
  cmd->add_option("--h5", a->h5, "write parameters, fixed points, f-I and phase line as HDF5");
  cmd->callback([a] { model_command(*a); });
}

}  // namespace spikesim::cli
