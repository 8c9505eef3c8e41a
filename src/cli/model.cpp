// `spikesim model`: single-neuron analysis without running an experiment (single_neuron.hpp).
// This file reads the parameters from flags or a config's population, checks them against the
// model's parameter table, prints the report and writes it as CSV or HDF5 (model_file.hpp).
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
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
using single_neuron::report;

constexpr std::size_t k_max_currents = 10001;

// ------------------------------------------------------------------------------- parameters

struct sourced_param {
  std::string key, unit;
  double value;
  std::string source;  // where the value came from, for messages: "--tau_m" or a config path
};

using param_list = std::vector<sourced_param>;

// The model's parameters at their defaults, from its parameter table.
template <class P>
param_list defaults_of() {
  const P p;
  param_list list;
  for (const auto& f : param_table<P>::fields) list.push_back({f.key, f.unit, p.*f.member, ""});
  return list;
}

param_list default_params(const std::string& model) {
  if (model == "lif") return defaults_of<lif_params>();
  if (model == "eif") return defaults_of<eif_params>();
  return defaults_of<hh_params>();
}

// Every parameter key of the supported models, for the flags (same names as the config keys).
const std::vector<std::pair<std::string, std::string>>& all_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys = [] {
    std::vector<std::pair<std::string, std::string>> k;
    for (const char* m : {"lif", "eif", "hh"})
      for (const sourced_param& p : default_params(m)) {
        bool seen = false;
        for (const auto& e : k) seen = seen || e.first == p.key;
        if (!seen) k.emplace_back(p.key, p.unit);
      }
    return k;
  }();
  return keys;
}

template <class List>
auto& find(List& ps, const std::string& key) {
  for (auto& p : ps)
    if (p.key == key) return p;
  throw std::logic_error("no parameter " + key);
}

// A number of the report: "-" where it is undefined (NaN).
std::string fmt(double x, int digits = 6) {
  return format_significant(x, digits, {"-"});
}

// A value as the user wrote it, for messages (nan and inf included).
std::string show(double x) {
  return format_significant(x, 10);
}

template <class P>
P struct_of(const param_list& ps) {
  P p;
  for (const auto& f : param_table<P>::fields) p.*f.member = find(ps, f.key).value;
  return p;
}

// Calls f with the parameters as the struct of the model (lif, eif or hh).
template <class F>
auto with_params(const std::string& model, const param_list& ps, F f) {
  if (model == "lif") return f(struct_of<lif_params>(ps));
  if (model == "eif") return f(struct_of<eif_params>(ps));
  return f(struct_of<hh_params>(ps));
}

// The parameter table's checks (those of a run, less the time step's), phrased with the source.
void validate(const std::string& model, const param_list& ps) {
  with_params(model, ps, [&ps](const auto& p) {
    if (const param_violation v = check_params(p)) {
      const sourced_param& bad = find(ps, v.key);
      throw config_error("config error: " + bad.source + " = " + show(bad.value) + " " + bad.unit +
                         ": " + param_rule_text(v, 10));
    }
  });
}

// ------------------------------------------------------------------------------- output

// The parameters, the fixed points at I, the rheobase and the effective threshold.
void print_phase_line(std::ostream& o, const report& r) {
  const std::string& iu = r.I_units;
  o << "model " << r.model << " (" << r.title << ")\n  ";
  for (std::size_t k = 0; k < r.params.size(); ++k)
    o << (k ? ", " : "") << r.params[k].key << " = " << fmt(r.params[k].value) << " "
      << r.params[k].unit;
  o << "\n  " << r.equation << "\n\n";

  o << "fixed points at I = " << fmt(r.I) << " " << iu << ":\n";
  if (r.fixed_points.empty()) o << "  none: the neuron fires repetitively\n";
  if (!r.fixed_points.empty())
    o << std::setw(14) << "u (mV)"
      << "  " << std::left << std::setw(10) << "stability" << std::right << std::setw(19)
      << "eigenvalue (1/ms)\n";
  for (const auto& fp : r.fixed_points)
    o << std::setw(14) << fmt(fp.u, 8) << "  " << std::left << std::setw(10)
      << (fp.stable ? "stable" : "unstable") << std::right << std::setw(18) << fmt(fp.eigenvalue, 4)
      << "\n";
  if (r.sigma > 0)
    o << "  with noise sigma = " << fmt(r.sigma) << " mV (Siegert): rate "
      << fmt(r.noisy_at_I.rate_hz) << " Hz, CV " << fmt(r.noisy_at_I.cv, 4) << "\n";
  if (r.model != "hh")
    o << "rheobase: " << fmt(r.rheobase, 8) << " " << iu << " (" << r.rheobase_note << "), "
      << fmt(r.rheobase_numeric, 8) << " " << iu << " (numerical)\n";
  if (r.model == "hh") {
    double onset = single_neuron::k_none;
    for (const auto& row : r.rows)
      if (std::isnan(onset) && row.rate > 0) onset = row.I;
    o << "repetitive firing from: "
      << (std::isnan(onset) ? std::string("none in the range") : fmt(onset) + " " + iu)
      << " (the first current of the f-I range with a periodic rate)\n";
  }
  o << "effective threshold at I = 0: "
    << (std::isnan(r.threshold0) ? r.threshold_note
                                 : fmt(r.threshold0, 8) + " mV (" + r.threshold_note + ")")
    << "\n";
  if (!r.saddle.empty()) {
    o << "\nsaddle-node: the fixed points merge as I approaches the rheobase, their gap close "
         "to it\nfollowing 2 sqrt(2 delta_T R_m (I_rh - I))\n"
      << std::setw(16) << "I_rh - I (nA)" << std::setw(14) << "gap (mV)" << std::setw(16)
      << "sqrt law (mV)\n";
    for (const auto& s : r.saddle)
      o << std::setw(16) << fmt(s.distance) << std::setw(14) << fmt(s.gap) << std::setw(15)
        << fmt(s.law) << "\n";
  }
}

void print_fI(std::ostream& o, const report& r, const current_range& range) {
  const std::string& iu = r.I_units;
  o << "\nf-I curve, I = " << fmt(range.from) << ":" << fmt(range.to) << ":" << fmt(range.step)
    << " " << iu << " (" << r.fI_method << ")\n";
  const bool hh = r.model == "hh";
  o << std::setw(12) << ("I (" + iu + ")") << std::setw(12) << "rate (Hz)";
  if (hh) {
    o << std::setw(10) << "spikes";
  } else {
    o << std::setw(14) << "stable (mV)" << std::setw(15) << "unstable (mV)" << std::setw(11)
      << "gap (mV)";
    if (r.sigma > 0) o << std::setw(16) << "noisy rate (Hz)" << std::setw(10) << "noisy CV";
  }
  o << "\n";
  for (const auto& row : r.rows) {
    o << std::setw(12) << fmt(row.I) << std::setw(12) << fmt(row.rate);
    if (hh) {
      o << std::setw(10) << row.spikes;
    } else {
      o << std::setw(14) << fmt(row.u_stable) << std::setw(15) << fmt(row.u_unstable)
        << std::setw(11) << fmt(row.u_unstable - row.u_stable);
      if (r.sigma > 0)
        o << std::setw(16) << fmt(row.rate_noise) << std::setw(10) << fmt(row.cv_noise, 4);
    }
    o << "\n";
  }
}

void print_report(std::ostream& o, const report& r, const current_range& range) {
  print_phase_line(o, r);
  print_fI(o, r, range);
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

[[noreturn]] void range_error(const std::string& text, const std::string& why) {
  throw config_error("config error: --I-range = '" + text + "': " + why);
}

current_range parse_range(const std::string& text) {
  double v[3];
  std::size_t pos = 0;
  for (int k = 0; k < 3; ++k) {
    const std::size_t end = k < 2 ? text.find(':', pos) : text.size();
    if (end == std::string::npos) range_error(text, "expected from:to:step");
    const std::string part = text.substr(pos, end - pos);
    char* stop = nullptr;
    v[k] = std::strtod(part.c_str(), &stop);
    if (part.empty() || *stop != '\0' || !std::isfinite(v[k]))
      range_error(text, "'" + part + "' is not a finite number (expected from:to:step)");
    pos = end + 1;
  }
  const current_range r{v[0], v[1], v[2]};
  if (!(r.step > 0)) range_error(text, "step must be > 0");
  if (!(r.to > r.from)) range_error(text, "from must be below to (the range is inverted or empty)");
  if ((r.to - r.from) / r.step + 1 > static_cast<double>(k_max_currents))
    range_error(text, "more than " + std::to_string(k_max_currents) + " currents");
  return r;
}

// What the analysis runs on: the model, its parameters with their sources, and the current of
// the fixed points (and, for lif, the noise of the Siegert rate).
struct model_setup {
  std::string model;
  param_list params;
  double I = 0, sigma = 0;
};

template <class P>
void take_params(param_list& ps, const P& p, const std::string& path) {
  for (const auto& f : param_table<P>::fields) {
    sourced_param& x = find(ps, f.key);
    x.value = p.*f.member;
    x.source = path + f.key;
  }
}

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
  s.params = default_params(s.model);
  const std::string path = "population." + a.population + ".params.";
  if (const auto* l = std::get_if<lif_params>(&pop.params))
    take_params(s.params, *l, path);
  else if (const auto* e = std::get_if<eif_params>(&pop.params))
    take_params(s.params, *e, path);
  else
    throw config_error("config error: population " + a.population + " has model " + s.model +
                       ": `spikesim model` reads lif and eif populations (hh: use --model hh)");
  if (pop.input.I.uniform()) s.I = pop.input.I.values[0];
  if (s.model == "lif" && pop.input.noise.tau_noise == 0) s.sigma = pop.input.noise.sigma;
  return s;
}

// The parameter flags given override the defaults or the population's values.
void apply_flags(model_setup& s, model_args& a) {
  for (auto& p : s.params)
    if (p.source.empty()) p.source = "--" + p.key + " (default)";
  for (const auto& [key, opt] : a.options) {
    if (!opt->count()) continue;
    bool known = false;
    for (auto& p : s.params) {
      if (p.key != key) continue;
      p.value = a.values[key];
      p.source = "--" + key;
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

report analyse(const model_setup& s, const std::vector<double>& currents,
               const single_neuron::hh_simulation& sim) {
  try {
    return with_params(s.model, s.params, [&](const auto& p) {
      if constexpr (std::is_same_v<std::decay_t<decltype(p)>, lif_params>)
        return single_neuron::analyse(p, s.I, currents, s.sigma);
      else if constexpr (std::is_same_v<std::decay_t<decltype(p)>, eif_params>)
        return single_neuron::analyse(p, s.I, currents);
      else
        return single_neuron::analyse(p, s.I, currents, sim);
    });
  } catch (const std::invalid_argument& e) {
    throw config_error(std::string("config error: ") + e.what());
  }
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
    s.params = default_params(s.model);
  }
  apply_flags(s, a);
  validate(s.model, s.params);
  const single_neuron::hh_simulation sim = apply_settings(s, a);
  const current_range range =
      a.I_range.empty()
          ? with_params(s.model, s.params,
                        [](const auto& p) { return single_neuron::default_currents(p); })
          : parse_range(a.I_range);
  const report r = analyse(s, range.values(), sim);
  print_report(std::cout, r, range);
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
  for (const auto& [key, unit] : all_keys()) {
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
