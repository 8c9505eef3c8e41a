// TOML -> ExperimentSpec. Each table is read through a table_reader that knows its dotted path,
// checks types and ranges, and rejects keys nobody asked for.
#include <spikesim/config_loader.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>
#include <variant>

#include <toml++/toml.h>

#include "config/parse_toml.hpp"

#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/models/param_table.hpp>
#include <spikesim/rng.hpp>

namespace spikesim {
namespace {

std::string show(const toml::node& n) {
  std::ostringstream o;
  if (auto s = n.as_string()) {
    o << '"' << s->get() << '"';
  } else if (n.is_table()) {
    o << toml::toml_formatter(*n.as_table(), toml::format_flags::none);
  } else if (n.is_array()) {
    const auto& a = *n.as_array();
    if (a.size() > 8)
      o << "[... " << a.size() << " values ...]";
    else
      o << a;
  } else {
    n.visit([&](auto&& v) { o << v; });
  }
  return o.str();
}

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw config_error("config error: " + path + ": " + why, path, "", "", why);
}

[[noreturn]] void fail(const std::string& path, const toml::node& n, const std::string& unit,
                       const std::string& why) {
  const std::string value = show(n);
  throw config_error(
      "config error: " + path + " = " + value + (unit.empty() ? "" : " " + unit) + ": " + why, path,
      value, unit, why);
}

// A value that has the right type but is out of its range: "SHOWN is invalid: why", SHOWN the
// value with its unit.
[[noreturn]] void fail_invalid(const std::string& path, const std::string& shown,
                               const std::string& value, const std::string& unit,
                               const std::string& why) {
  throw config_error("config error: " + path + ": " + shown + " is invalid: " + why, path, value,
                     unit, why);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

// Values in messages: an ostream's default six significant digits.
std::string fmt(double x) {
  return format_significant(x, 6);
}

// A table with its dotted path; remembers which keys were read so that finish() can reject the
// others by name.
class table_reader {
 public:
  table_reader(const toml::table& t, std::string path) : t_(t), path_(std::move(path)) {}

  std::string key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  const toml::node* get(const std::string& key) {
    used_.insert(key);
    return t_.get(key);
  }
  bool has(const std::string& key) const { return t_.contains(key); }

  std::optional<double> number(const std::string& key, const std::string& unit) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    return as_number(*n, key_path(key), unit);
  }
  double number(const std::string& key, const std::string& unit, double def) {
    return number(key, unit).value_or(def);
  }
  std::optional<uint64_t> integer(const std::string& key, const std::string& unit) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    return as_integer(*n, key_path(key), unit);
  }
  std::optional<std::string> string(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(key_path(key), *n, "", "expected a string");
    return n->as_string()->get();
  }
  std::optional<bool> boolean(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(key_path(key), *n, "", "expected true or false");
    return n->as_boolean()->get();
  }
  std::optional<table_reader> table(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_table()) fail(key_path(key), *n, "", "expected a table");
    return table_reader(*n->as_table(), key_path(key));
  }

  // Rejects every key that was not read. `known` lists the valid keys for the message.
  void finish(const std::vector<std::string>& known) const {
    for (auto&& [k, v] : t_) {
      const std::string key(k.str());
      if (!used_.count(key))
        fail(key_path(key), "unknown key (valid keys here: " + join(known) + ")");
    }
  }

  static double as_number(const toml::node& n, const std::string& path, const std::string& unit) {
    double x;
    if (auto i = n.as_integer())
      x = static_cast<double>(i->get());
    else if (auto f = n.as_floating_point())
      x = f->get();
    else
      fail(path, n, "", "expected a number" + (unit.empty() ? "" : " in " + unit));
    if (!std::isfinite(x)) fail(path, n, unit, "must be finite");
    return x;
  }

  static uint64_t as_integer(const toml::node& n, const std::string& path,
                             const std::string& unit) {
    int64_t v;
    if (auto i = n.as_integer()) {
      v = i->get();
    } else if (auto f = n.as_floating_point()) {
      const double x = f->get();
      if (!(x == std::floor(x)) || std::fabs(x) > 9e18)
        fail(path, n, unit, "expected a whole number");
      v = static_cast<int64_t>(x);
    } else {
      fail(path, n, "", "expected an integer" + (unit.empty() ? "" : " (" + unit + ")"));
    }
    if (v < 0) fail(path, n, unit, "must be >= 0");
    return static_cast<uint64_t>(v);
  }

  const toml::table& raw() const { return t_; }
  const std::string& path() const { return path_; }

 private:
  const toml::table& t_;
  std::string path_;
  std::set<std::string> used_;
};

void require(bool ok, const std::string& path, double value, const std::string& unit,
             const std::string& why) {
  if (!ok) fail_invalid(path, fmt(value) + (unit.empty() ? "" : " " + unit), fmt(value), unit, why);
}

// A number, a list with one value per neuron, or { from, to }.
per_neuron read_per_neuron(const toml::node& n, const std::string& path, const std::string& unit,
                           uint64_t size) {
  per_neuron r;
  r.n = size;
  if (n.is_number()) {
    r.values = {table_reader::as_number(n, path, unit)};
  } else if (auto a = n.as_array()) {
    if (a->size() != size)
      fail(path, n, unit,
           "has " + std::to_string(a->size()) + " values but the population has " +
               std::to_string(size) + " neurons (give one number for all, one per neuron, or " +
               "{ from = a, to = b })");
    r.values.reserve(size);
    for (size_t i = 0; i < a->size(); ++i)
      r.values.push_back(
          table_reader::as_number(*a->get(i), path + "[" + std::to_string(i) + "]", unit));
  } else if (auto t = n.as_table()) {
    table_reader tr(*t, path);
    auto from = tr.number("from", unit);
    auto to = tr.number("to", unit);
    if (!from || !to) fail(path, n, unit, "a ramp needs both 'from' and 'to'");
    tr.finish({"from", "to"});
    r.ramp = true;
    r.from = *from;
    r.to = *to;
  } else {
    fail(path, n, unit, "expected a number, a list with one value per neuron, or { from, to }");
  }
  return r;
}

template <class P>
P read_params(std::optional<table_reader> tr, const std::string& model,
              const std::vector<std::string>& other_keys = {}) {
  P p;
  std::vector<std::string> names;
  for (const auto& f : param_table<P>::fields) names.push_back(f.key);
  names.insert(names.end(), other_keys.begin(), other_keys.end());
  if (!tr) return p;
  for (const auto& f : param_table<P>::fields)
    if (auto v = tr->number(f.key, f.unit)) p.*f.member = *v;
  if (!tr->raw().empty()) {
    for (auto&& [k, v] : tr->raw()) {
      const std::string key(k.str());
      if (std::find(names.begin(), names.end(), key) == names.end())
        fail(tr->key_path(key),
             "unknown parameter of the " + model + " model (its parameters: " + join(names) + ")");
    }
  }
  return p;
}

// The model's parameter checks (its table in include/spikesim/models/), phrased as the config's
// messages.
template <class P>
void check_model(const P& p, const std::string& path, double dt) {
  if (const param_violation v = check_params(p, dt))
    fail_invalid(path + "." + v.key, fmt(v.value) + " " + v.unit, fmt(v.value), v.unit,
                 param_rule_text(v, 6));
}

rate_params read_rate(table_reader& pop, const std::string& path) {
  auto params = pop.table("params");
  auto p = read_params<rate_params>(params, "rate", {"transfer"});
  if (params) {
    if (auto t = params->string("transfer")) {
      if (*t == "threshold_linear")
        p.transfer = rate_transfer::threshold_linear;
      else if (*t == "sigmoid")
        p.transfer = rate_transfer::sigmoid;
      else
        fail(path + ".transfer", *params->get("transfer"), "",
             "expected \"threshold_linear\" or \"sigmoid\"");
    }
  }
  return p;
}

// The parameters of a population of the model M (of the registry, with parameters) from its
// `params` table, checked.
template <class M>
model_params read_model(table_reader& pop, double dt) {
  const std::string path = pop.key_path("params");
  model_params params;
  if constexpr (std::is_same_v<M, rate_model>)
    params = read_rate(pop, path);  // its transfer function is a name beside its numbers
  else
    params = read_params<typename M::params>(pop.table("params"), M::name);
  std::visit([&](const auto& p) { check_model(p, path, dt); }, params);
  return params;
}

// The models a population's `model` may name (those of the registry with parameters), as
// "\"lif\", \"eif\"" and so on, the last after `last_sep`.
std::string neuron_model_names(const char* last_sep) {
  std::vector<std::string> names;
  for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<typename M::params>)
      names.push_back(std::string("\"") + M::name + "\"");
  });
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? last_sep : ", ") + names[i];
  return s;
}

// The two numbers of `{ uniform = [a, b] }` or `{ normal = [mean, sd] }` at `key`; `expected`
// says what the pair holds when it is not two numbers.
std::pair<double, double> read_pair(const toml::node& v, const std::string& key,
                                    const std::string& unit, const char* expected) {
  const auto* a = v.as_array();
  if (!a || a->size() != 2) fail(key, v, unit, expected);
  return {table_reader::as_number(*a->get(0), key + "[0]", unit),
          table_reader::as_number(*a->get(1), key + "[1]", unit)};
}

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// source = { times = [[id, ms], ...] }: sorted by (time, id) into the spec; a neuron may spike
// at most once in a step (spike_step), as a neuron of the network does.
void read_spike_times(const toml::node& v, const std::string& key, population_spec& p, double dt) {
  if (v.is_string())
    fail(key, v, "",
         "reading spike times from a file is not supported yet (give a list of [neuron id, ms] "
         "pairs)");
  const auto* a = v.as_array();
  if (!a) fail(key, v, "", "expected a list of [neuron id, ms] pairs");
  std::vector<std::pair<double, uint64_t>> spikes;  // (time, id)
  spikes.reserve(a->size());
  for (size_t k = 0; k < a->size(); ++k) {
    const std::string kk = key + "[" + std::to_string(k) + "]";
    const auto* pair = a->get(k)->as_array();
    if (!pair || pair->size() != 2) fail(kk, *a->get(k), "", "expected [neuron id, ms]");
    const uint64_t id = table_reader::as_integer(*pair->get(0), kk + "[0]", "neuron id");
    if (id >= p.size)
      fail(kk + "[0]", *pair->get(0), "",
           "neuron id out of range (the population has " + std::to_string(p.size) +
               " neurons, ids 0.." + std::to_string(p.size - 1) + ")");
    const double t = table_reader::as_number(*pair->get(1), kk + "[1]", "ms");
    require(t > 0.0, kk + "[1]", t, "ms",
            "must be > 0 (a spike falls in the step that ends at or after it; the first ends at "
            "dt)");
    spikes.push_back({t, id});
  }
  std::sort(spikes.begin(), spikes.end());
  // Two spikes of one neuron in one step: compared per neuron, in time order.
  std::vector<std::pair<uint64_t, double>> by_id;
  by_id.reserve(spikes.size());
  for (const auto& [t, id] : spikes) by_id.push_back({id, t});
  std::sort(by_id.begin(), by_id.end());
  for (size_t k = 1; k < by_id.size(); ++k)
    if (by_id[k].first == by_id[k - 1].first &&
        spike_step(by_id[k].second, dt) == spike_step(by_id[k - 1].second, dt))
      fail(key, "neuron " + std::to_string(by_id[k].first) + " spikes twice in one step (at " +
                    fmt(by_id[k - 1].second) + " and " + fmt(by_id[k].second) +
                    " ms, dt = " + fmt(dt) + " ms): a neuron spikes at most once a step");
  for (const auto& [t, id] : spikes) {
    p.source.times.push_back(t);
    p.source.ids.push_back(id);
  }
}

// source = { poisson = { rate = Hz, start = ms, stop = ms } } or { times = ... } (spec.hpp).
void read_source(table_reader& pop, population_spec& p, const run_spec& run) {
  auto src = pop.table("source");
  if (!src) fail(pop.key_path("source"), "expected a table ({ poisson = ... } or { times = ... })");
  const bool poisson = src->has("poisson"), times = src->has("times");
  if (poisson == times)
    fail(src->path(), std::string(poisson ? "give one of" : "expected one of") +
                          " poisson = { rate = Hz, start = ms, stop = ms } and times = [[neuron "
                          "id, ms], ...]");
  if (times) {
    p.source.type = source_spec::kind::times;
    read_spike_times(*src->get("times"), src->key_path("times"), p, run.dt);
  } else {
    auto po = src->table("poisson");
    p.source.type = source_spec::kind::poisson;
    auto r = po->number("rate", "Hz");
    if (!r) fail(po->key_path("rate"), "missing (the rate of each neuron, Hz)");
    require(*r >= 0, po->key_path("rate"), *r, "Hz", "must be >= 0");
    p.source.rate = *r;
    p.source.start = po->number("start", "ms", 0.0);
    require(p.source.start >= 0, po->key_path("start"), p.source.start, "ms", "must be >= 0");
    if (auto stop = po->number("stop", "ms")) {
      if (!(*stop > p.source.start))
        fail(po->key_path("stop"),
             fmt(*stop) + " ms is invalid: must be after start = " + fmt(p.source.start) + " ms");
      p.source.stop = *stop;
    }
    po->finish({"rate", "start", "stop"});
  }
  src->finish({"poisson", "times"});
}

// The model, parameters, initial state and input of a population of neurons; true for rate units.
bool read_neurons(table_reader& pop, population_spec& p, const run_spec& run) {
  auto model = pop.string("model");
  if (!model) fail(pop.key_path("model"), "missing (" + neuron_model_names(" or ") + ")");
  const std::optional<model_kind> kind = model_kind_named(*model);
  if (!kind || !model_has_params(*kind))
    fail(pop.key_path("model"), *pop.get("model"), "",
         "unknown model (known: " + neuron_model_names(", ") + ")");
  // The state variable that init sets, the unit of input currents, and what input the model
  // takes, from its type (models/).
  const char* state_key = nullptr;
  const char* state_unit = nullptr;
  const char* current_unit = nullptr;
  visit_model(*kind, [&](auto tag) {
    using M = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<typename M::params>) {
      p.params = read_model<M>(pop, run.dt);
      state_key = M::state_var;
      state_unit = M::state_unit;
      current_unit = M::current_unit;
    }
  });
  const bool rate = !model_takes_input(*kind);  // rate units: no synapses, noise or Poisson input

  if (auto init = pop.table("init")) {
    if (const toml::node* v = init->get(state_key)) {
      const std::string vp = init->key_path(state_key);
      const auto* t = v->as_table();
      const char* draw = !t                       ? nullptr
                         : t->contains("uniform") ? "uniform"
                         : t->contains("normal")  ? "normal"
                                                  : nullptr;
      if (draw) {
        // { uniform = [low, high] } or { normal = [mean, sd] }, drawn from the seed
        if (t->contains("uniform") && t->contains("normal"))
          fail(vp, *v, state_unit, "give one of uniform and normal");
        table_reader u(*t, vp);
        const std::string key = vp + "." + draw;
        const bool uniform = draw[0] == 'u';
        const toml::node* pair = u.get(draw);
        const auto [x, y] = read_pair(*pair, key, state_unit,
                                      uniform ? "expected [low, high]" : "expected [mean, sd]");
        if (uniform && !(x < y)) fail(key, *pair, state_unit, "low must be below high");
        if (!uniform && !(y >= 0.0)) fail(key, *pair, state_unit, "sd must be >= 0");
        p.init.draw = uniform ? init_spec::draw_kind::uniform : init_spec::draw_kind::normal;
        p.init.V_a = x;
        p.init.V_b = y;
        u.finish({"uniform", "normal"});
      } else {
        p.init.V = read_per_neuron(*v, vp, state_unit, p.size);
      }
    }
    init->finish({state_key});
  }

  if (auto in = pop.table("input")) {
    if (const toml::node* I = in->get("I"))
      p.input.I = read_per_neuron(*I, in->key_path("I"), current_unit, p.size);
    p.input.noise.sigma = in->number("sigma", "mV", 0.0);
    if (rate && (in->has("sigma") || in->has("tau_noise")))
      fail(in->key_path(in->has("sigma") ? "sigma" : "tau_noise"),
           "rate units take no noise input (drive them with I and pulses)");
    require(p.input.noise.sigma >= 0, in->key_path("sigma"), p.input.noise.sigma, "mV",
            "must be >= 0");
    p.input.noise.tau_noise = in->number("tau_noise", "ms", 0.0);
    require(p.input.noise.tau_noise >= 0, in->key_path("tau_noise"), p.input.noise.tau_noise, "ms",
            "must be >= 0 (0 means white noise)");
    if (const toml::node* pulses = in->get("pulses")) {
      const std::string pp = in->key_path("pulses");
      const auto* a = pulses->as_array();
      if (!a) fail(pp, *pulses, "", "expected a list of { start, stop, amplitude }");
      for (size_t k = 0; k < a->size(); ++k) {
        const std::string ppk = pp + "[" + std::to_string(k) + "]";
        const auto* t = a->get(k)->as_table();
        if (!t) fail(ppk, *a->get(k), "", "expected { start = ms, stop = ms, amplitude = nA }");
        table_reader pr(*t, ppk);
        pulse_spec ps;
        auto start = pr.number("start", "ms");
        auto stop = pr.number("stop", "ms");
        const toml::node* amp = pr.get("amplitude");
        if (!start || !stop || !amp)
          fail(ppk, "a pulse needs start (ms), stop (ms) and amplitude (nA)");
        ps.start = *start;
        ps.stop = *stop;
        require(ps.start >= 0, pr.key_path("start"), ps.start, "ms", "must be >= 0");
        if (!(ps.stop > ps.start))
          fail(pr.key_path("stop"),
               fmt(ps.stop) + " ms is invalid: must be after start = " + fmt(ps.start) + " ms");
        ps.amplitude = read_per_neuron(*amp, pr.key_path("amplitude"), current_unit, p.size);
        pr.finish({"start", "stop", "amplitude"});
        p.input.pulses.push_back(std::move(ps));
      }
    }
    if (auto po = in->table("poisson")) {
      if (rate) fail(po->path(), "rate units take no Poisson input");
      // Through a delta synapse (a jump of weight mV) or an exp one (a current jump of weight nA
      // that decays with tau_syn, the population's exp synaptic current).
      auto syn = po->string("synapse");
      const bool exp = syn && *syn == "exp";
      if (syn && !exp && *syn != "delta")
        fail(po->key_path("synapse"), *po->get("synapse"), "", "expected \"delta\" or \"exp\"");
      const char* wunit = exp ? "nA" : "mV";
      auto r = po->number("rate", "Hz");
      auto count = po->integer("count", "sources");
      auto w = po->number("weight", wunit);
      if (!r || !count || !w)
        fail(po->path(), std::string("Poisson input needs rate (Hz per source), count (sources) "
                                     "and weight (") +
                             wunit + ")");
      require(*r >= 0, po->key_path("rate"), *r, "Hz", "must be >= 0");
      if (*count > (uint64_t{1} << 32))
        fail(po->key_path("count"), *po->get("count"), "sources", "must be at most 2^32");
      p.input.poisson = {*r, *count, *w};
      if (exp) {
        if (!model_exp_synapses(*kind))
          fail(po->key_path("synapse"),
               "exp synapses onto " + *model + " neurons are not supported yet");
        auto tau = po->number("tau_syn", "ms");
        if (!tau)
          fail(po->key_path("tau_syn"),
               "missing (the synaptic time constant of synapse = \"exp\")");
        require(*tau > 0, po->key_path("tau_syn"), *tau, "ms", "must be > 0");
        require(std::fabs(*w) < 100.0, po->key_path("weight"), *w, "nA",
                "must lie within +-100 (the fixed-point range of the synaptic input)");
        p.input.poisson.synapse = synapse_kind::exp;
        p.input.poisson.tau_syn = *tau;
      } else if (po->has("tau_syn")) {
        fail(po->key_path("tau_syn"), "only used with synapse = \"exp\"");
      }
      const double mean = *r * 1e-3 * run.dt * static_cast<double>(*count);
      if (mean > 1e6)
        fail(po->path(), fmt(mean) + " jumps per step (rate x count x dt) is invalid: at most 1e6");
      po->finish({"rate", "count", "weight", "synapse", "tau_syn"});
    }
    in->finish({"I", "pulses", "sigma", "tau_noise", "poisson"});
  }

  return rate;
}

population_spec read_population(const std::string& name, const toml::node& node, uint32_t index,
                                const run_spec& run) {
  const std::string path = "population." + name;
  if (!valid_name(name)) fail(path, "a population name may use letters, digits, '_' and '-' only");
  if (!node.is_table()) fail(path, node, "", "expected a table ([population." + name + "])");
  table_reader pop(*node.as_table(), path);
  population_spec p;
  p.name = name;
  p.index = index;
  p.seed = rng::named_key(run.seed, "population", name);
  p.stream = 0;

  const toml::node* size = pop.get("size");
  if (!size) fail(pop.key_path("size"), "missing (the number of neurons)");
  const auto* int_size = size->as_integer();
  const auto* float_size = size->as_floating_point();
  if ((int_size && int_size->get() < 1) || (float_size && float_size->get() < 1))
    fail(pop.key_path("size"), *size, "neurons", "must be between 1 and 2^32 - 1");
  p.size = table_reader::as_integer(*size, pop.key_path("size"), "neurons");
  // Below 2^32 so that neuron indices and the per-step spike counts fit 32 bits.
  if (p.size < 1 || p.size >= (uint64_t{1} << 32))
    fail(pop.key_path("size"), *size, "neurons", "must be between 1 and 2^32 - 1");

  const bool source = pop.has("source");
  bool rate = false;
  if (source) {
    for (const char* key : {"model", "params", "init", "input"})
      if (pop.has(key))
        fail(pop.key_path(key), std::string("a spike-source population takes no ") + key +
                                    " (its neurons emit the spikes of `source` and nothing else)");
    read_source(pop, p, run);
  } else {
    rate = read_neurons(pop, p, run);
  }

  if (auto rec = pop.table("record")) {
    p.record.spikes = rec->boolean("spikes").value_or(true);
    if (auto every = rec->integer("trace_every", "steps")) {
      if (*every < 1)
        fail(rec->key_path("trace_every"), *rec->get("trace_every"), "steps", "must be >= 1");
      p.record.trace_every = *every;
    }
    if (const toml::node* tr = rec->get("traces")) {
      const std::string tp = rec->key_path("traces");
      const auto* a = tr->as_array();
      if (!a) fail(tp, *tr, "", "expected a list of neuron indices");
      for (size_t k = 0; k < a->size(); ++k) {
        const uint64_t id = table_reader::as_integer(*a->get(k), tp + "[" + std::to_string(k) + "]",
                                                     "neuron index");
        if (id >= p.size)
          fail(tp + "[" + std::to_string(k) + "]", *a->get(k), "",
               "neuron index out of range (the population has " + std::to_string(p.size) +
                   " neurons, indices 0.." + std::to_string(p.size - 1) + ")");
        p.record.traces.push_back(id);
      }
      std::sort(p.record.traces.begin(), p.record.traces.end());
      auto dup = std::adjacent_find(p.record.traces.begin(), p.record.traces.end());
      if (dup != p.record.traces.end())
        fail(tp, *tr, "", "neuron " + std::to_string(*dup) + " is listed twice");
    }
    rec->finish({"spikes", "traces", "trace_every"});
  }
  if (rate) p.record.spikes = false;  // rate units do not spike: their output is the traces
  if (source && !p.record.traces.empty())
    fail(pop.key_path("record.traces"),
         "a spike-source population has no membrane potential to trace (record its spikes)");
  if (source)
    pop.finish({"size", "source", "record"});
  else
    pop.finish({"size", "model", "params", "init", "input", "record"});
  return p;
}

// A weight or delay: a number, { uniform = [a, b] } or { normal = [mean, sd] } with optional
// bounds min and max (the draws outside are redrawn; defaults are set by the caller).
distribution read_distribution(const toml::node& n, const std::string& path,
                               const std::string& unit) {
  distribution d;
  if (n.is_number()) {
    d.a = table_reader::as_number(n, path, unit);
    return d;
  }
  const auto* t = n.as_table();
  if (!t || (t->contains("uniform") == t->contains("normal")))
    fail(path, n, unit,
         "expected a number, { uniform = [a, b] } or { normal = [mean, sd], min = .., max = .. }");
  const bool uniform = t->contains("uniform");
  const std::string key = uniform ? "uniform" : "normal";
  table_reader r(*t, path);
  const toml::node& v = *r.get(key);
  d.type = uniform ? distribution::kind::uniform : distribution::kind::normal;
  std::tie(d.a, d.b) =
      read_pair(v, path + "." + key, unit, uniform ? "expected [a, b]" : "expected [mean, sd]");
  if (uniform && !(d.a <= d.b)) fail(path + ".uniform", v, unit, "a must not exceed b");
  if (!uniform && !(d.b >= 0)) fail(path + ".normal", v, unit, "the SD must be >= 0");
  if (uniform) {
    r.finish({"uniform"});
    return d;
  }
  if (auto lo = r.number("min", unit)) d.lo = *lo;
  if (auto hi = r.number("max", unit)) d.hi = *hi;
  if (!(d.lo < d.hi)) fail(path + ".max", fmt(d.hi) + " " + unit + " is invalid: must exceed min");
  r.finish({"normal", "min", "max"});
  return d;
}

// The share of a normal's mass within [lo, hi] (1 or 0 for a zero SD).
double mass_within(const distribution& d) {
  if (d.b == 0) return d.lo <= d.a && d.a <= d.hi ? 1.0 : 0.0;
  const double s = d.b * std::sqrt(2.0);
  return 0.5 * (std::erfc((d.lo - d.a) / s) - std::erfc((d.hi - d.a) / s));
}

// Bounds of a normal weight or delay: defaults, the sign or step they must respect, and enough
// mass within them for redrawing (a quarter: connectivity.hpp's max_redraws).
void bound_normal(distribution& d, const std::string& path, const char* unit, bool delay,
                  double dt) {
  if (d.type != distribution::kind::normal) return;
  const bool given_lo = std::isfinite(d.lo), given_hi = std::isfinite(d.hi);
  if (delay) {
    // Delays are whole steps, at least one: draws below dt / 2 would round up, not be redrawn.
    if (!given_lo) d.lo = std::max(0.5 * dt, d.a - 5.0 * d.b);
    if (!given_hi) d.hi = d.a + 5.0 * d.b;
    require(d.lo >= 0.5 * dt, path + ".min", d.lo, unit,
            "must be >= dt / 2 = " + fmt(0.5 * dt) + " ms (a delay is at least one step)");
    require(std::isfinite(d.hi), path + ".max", d.hi, unit,
            "must be finite (the ring buffers are sized for the longest delay)");
  } else if (d.a >= 0) {  // weights keep the sign of the mean
    if (!given_lo) d.lo = 0.0;
    require(d.lo >= 0.0, path + ".min", d.lo, unit,
            "must be >= 0 (weights keep the sign of the mean)");
  } else {
    if (!given_hi) d.hi = 0.0;
    require(d.hi <= 0.0, path + ".max", d.hi, unit,
            "must be <= 0 (weights keep the sign of the mean)");
  }
  if (!(d.lo < d.hi))
    fail(path, "the bounds [" + fmt(d.lo) + ", " + fmt(d.hi) + "] " + unit + " leave no value");
  const double m = mass_within(d);
  if (!(m >= 0.25))
    fail(path, "only " + fmt(100.0 * m) + "% of normal(" + fmt(d.a) + ", " + fmt(d.b) + ") " +
                   unit + " lies within [" + fmt(d.lo) + ", " + fmt(d.hi) +
                   "]: draws outside are redrawn, which needs at least 25%");
}

projection_spec read_projection(const std::string& name, const toml::node& node, uint32_t index,
                                const experiment_spec& spec) {
  const std::string path = "projection." + name;
  if (!valid_name(name)) fail(path, "a projection name may use letters, digits, '_' and '-' only");
  if (!node.is_table()) fail(path, node, "", "expected a table ([projection." + name + "])");
  table_reader t(*node.as_table(), path);
  projection_spec q;
  q.name = name;
  q.index = index;
  q.seed = rng::named_key(spec.run.seed, "projection", name);
  q.stream = 0;
  auto population_of = [&](const char* key) -> uint32_t {
    auto s = t.string(key);
    if (!s) fail(t.key_path(key), "missing (the name of a population)");
    std::string names;
    for (const auto& p : spec.populations) {
      if (p.name == *s) {
        if (!p.spiking())
          fail(t.key_path(key), *t.get(key), "",
               "population '" + *s +
                   "' is made of rate units, which neither spike nor take synapses");
        if (p.is_source() && std::string(key) == "target")
          fail(t.key_path(key), *t.get(key), "",
               "population '" + *s +
                   "' is a spike source, which takes no synapses (it can only be a source)");
        return p.index;
      }
      names += (names.empty() ? "" : ", ") + p.name;
    }
    fail(t.key_path(key), *t.get(key), "", "no such population (defined: " + names + ")");
  };
  q.source = population_of("source");
  q.target = population_of("target");
  const uint64_t n_src = spec.populations[q.source].size;
  const uint64_t n_tgt = spec.populations[q.target].size;
  const bool same = q.source == q.target;
  q.autapses = t.boolean("autapses").value_or(true);
  q.multapses = t.boolean("multapses").value_or(true);

  auto rule = t.string("rule");
  if (!rule)
    fail(t.key_path("rule"),
         "missing (\"fixed_indegree\", \"fixed_total_number\", \"fixed_probability\", "
         "\"one_to_one\" or \"all_to_all\")");
  if (*rule == "fixed_indegree") {
    q.rule = connection_rule::fixed_indegree;
    auto k = t.integer("indegree", "synapses");
    if (!k) fail(t.key_path("indegree"), "missing (synapses per target neuron)");
    q.indegree = *k;
    const uint64_t pool = n_src - (same && !q.autapses ? 1 : 0);
    if (q.indegree > (uint64_t{1} << 31))
      fail(t.key_path("indegree"), *t.get("indegree"), "synapses", "must be at most 2^31");
    if (!q.multapses && q.indegree > pool)
      fail(t.key_path("indegree"), *t.get("indegree"), "synapses",
           "exceeds the " + std::to_string(pool) + " distinct sources available without multapses");
    if (q.indegree > 0 && pool == 0)
      fail(t.key_path("indegree"), *t.get("indegree"), "synapses",
           "no source is available (a one-neuron population without autapses)");
  } else if (*rule == "fixed_total_number") {
    q.rule = connection_rule::fixed_total_number;
    auto n = t.integer("N", "synapses");
    if (!n) fail(t.key_path("N"), "missing (synapses between the two populations)");
    q.total = *n;
    const uint64_t pool = n_src - (same && !q.autapses ? 1 : 0);
    if (q.total > (uint64_t{1} << 40))
      fail(t.key_path("N"), *t.get("N"), "synapses", "must be at most 2^40");
    if (!q.multapses)
      fail(t.key_path("multapses"), *t.get("multapses"), "",
           "rule = \"fixed_total_number\" draws its pairs independently and needs multapses "
           "(as NEST's)");
    if (q.total > 0 && pool == 0)
      fail(t.key_path("N"), *t.get("N"), "synapses",
           "no source is available (a one-neuron population without autapses)");
  } else if (*rule == "fixed_probability") {
    q.rule = connection_rule::fixed_probability;
    auto p = t.number("p", "");
    if (!p) fail(t.key_path("p"), "missing (the connection probability)");
    q.p = *p;
    if (!(q.p >= 0 && q.p <= 1)) fail(t.key_path("p"), *t.get("p"), "", "must be in [0, 1]");
  } else if (*rule == "one_to_one") {
    q.rule = connection_rule::one_to_one;
    if (n_src != n_tgt)
      fail(t.key_path("rule"), *t.get("rule"), "",
           "needs populations of equal size (source " + std::to_string(n_src) + ", target " +
               std::to_string(n_tgt) + " neurons)");
  } else if (*rule == "all_to_all") {
    q.rule = connection_rule::all_to_all;
  } else {
    fail(t.key_path("rule"), *t.get("rule"), "",
         "unknown rule (known: \"fixed_indegree\", \"fixed_total_number\", "
         "\"fixed_probability\", \"one_to_one\", \"all_to_all\")");
  }
  if (q.rule != connection_rule::fixed_total_number && t.has("N"))
    fail(t.key_path("N"), "only used with rule = \"fixed_total_number\"");
  if (q.rule != connection_rule::fixed_indegree && t.has("indegree"))
    fail(t.key_path("indegree"), "only used with rule = \"fixed_indegree\"");
  if (q.rule != connection_rule::fixed_probability && t.has("p"))
    fail(t.key_path("p"), "only used with rule = \"fixed_probability\"");

  auto syn = t.string("synapse");
  if (!syn || *syn == "delta") {
    q.synapse = synapse_kind::delta;
  } else if (*syn == "exp") {
    q.synapse = synapse_kind::exp;
    auto tau = t.number("tau_syn", "ms");
    if (!tau)
      fail(t.key_path("tau_syn"), "missing (the synaptic time constant of synapse = \"exp\")");
    require(*tau > 0, t.key_path("tau_syn"), *tau, "ms", "must be > 0");
    q.tau_syn = *tau;
  } else {
    fail(t.key_path("synapse"), *t.get("synapse"), "", "expected \"delta\" or \"exp\"");
  }
  if (q.synapse == synapse_kind::delta && t.has("tau_syn"))
    fail(t.key_path("tau_syn"), "only used with synapse = \"exp\"");
  const population_spec& target = spec.populations[q.target];
  if (q.synapse == synapse_kind::exp && !target.is_source() && model_takes_input(target.kind()) &&
      !model_exp_synapses(target.kind()))
    fail(t.key_path("synapse"),
         "exp synapses onto " + target.model_name() + " neurons are not supported yet");

  const char* wunit = q.synapse == synapse_kind::delta ? "mV" : "nA";
  const toml::node* w = t.get("weight");
  if (!w) fail(t.key_path("weight"), std::string("missing (") + wunit + ")");
  q.weight = read_distribution(*w, t.key_path("weight"), wunit);
  bound_normal(q.weight, t.key_path("weight"), wunit, false, spec.run.dt);
  const double wmax = std::max(std::fabs(q.weight.a), std::fabs(q.weight.b)) +
                      (q.weight.type == distribution::kind::normal ? 7.0 * q.weight.b : 0.0);
  if (wmax >= 100.0)
    fail(t.key_path("weight"), *w, wunit,
         "weights must lie within +-100 (the fixed-point range of the synaptic input)");
  const toml::node* d = t.get("delay");
  if (!d) fail(t.key_path("delay"), "missing (ms)");
  q.delay = read_distribution(*d, t.key_path("delay"), "ms");
  if (!(q.delay.a > 0)) fail(t.key_path("delay"), *d, "ms", "must be > 0");
  bound_normal(q.delay, t.key_path("delay"), "ms", true, spec.run.dt);
  if (q.max_delay_steps(spec.run.dt) > 65535)
    fail(t.key_path("delay"), *d, "ms",
         "too long: at most 65535 steps of dt = " + fmt(spec.run.dt) + " ms");
  t.finish({"source", "target", "rule", "indegree", "N", "p", "synapse", "tau_syn", "weight",
            "delay", "autapses", "multapses"});
  return q;
}

// The exp synapses onto a population with weights >= 0 (a distribution's mean; the Poisson
// input's weight) share one tau_syn, those with weights < 0 another: the population has one exp
// current, or two (I_ex, I_in as NEST's iaf_psc_exp) where the two differ, and the sign of the
// weight chooses the current (docs/models.md). With two, a projection's weights must all have
// the sign of their mean (a normal distribution keeps it, bound_normal; a uniform one may not).
void check_exp_time_constants(const experiment_spec& spec) {
  auto is_exp = [](const projection_spec& q) { return q.synapse == synapse_kind::exp; };
  auto inhibitory = [](const projection_spec& q) { return q.weight.mean() < 0.0; };
  auto sign_text = [](bool inh) {
    return std::string(inh ? " ms (the inhibitory exp synapses onto a population, weight < 0, "
                           : " ms (the excitatory exp synapses onto a population, weight >= 0, ") +
           "share one synaptic time constant)";
  };
  for (const auto& b : spec.projections) {
    if (!is_exp(b)) continue;
    const auto& po = spec.populations[b.target].input.poisson;
    if (po.synapse == synapse_kind::exp && (po.weight < 0.0) == inhibitory(b) &&
        po.tau_syn != b.tau_syn)
      fail("projection." + b.name + ".tau_syn",
           fmt(b.tau_syn) + " ms is invalid: the Poisson input of population." +
               spec.populations[b.target].name + " has tau_syn = " + fmt(po.tau_syn) +
               sign_text(inhibitory(b)));
    for (const auto& a : spec.projections) {
      if (&a == &b) break;  // the first projection of b's target and sign sets the value
      if (is_exp(a) && a.target == b.target && inhibitory(a) == inhibitory(b) &&
          a.tau_syn != b.tau_syn)
        fail("projection." + b.name + ".tau_syn",
             fmt(b.tau_syn) + " ms is invalid: projection." + a.name +
                 " onto the same population has tau_syn = " + fmt(a.tau_syn) +
                 sign_text(inhibitory(b)));
    }
  }
  for (const auto& b : spec.projections) {
    const distribution& w = b.weight;
    if (!is_exp(b) || !(w.type == distribution::kind::uniform && w.a < 0.0 && w.b > 0.0)) continue;
    const auto& po = spec.populations[b.target].input.poisson;
    double tau[2] = {0.0, 0.0};  // ms: excitatory, inhibitory
    if (po.active() && po.synapse == synapse_kind::exp) tau[po.weight < 0.0] = po.tau_syn;
    for (const auto& a : spec.projections)
      if (is_exp(a) && a.target == b.target) tau[inhibitory(a)] = a.tau_syn;
    if (tau[0] > 0.0 && tau[1] > 0.0 && tau[0] != tau[1])
      fail("projection." + b.name + ".weight",
           "uniform [" + fmt(w.a) + ", " + fmt(w.b) + "] nA is invalid: weights of both signs " +
               "onto population." + spec.populations[b.target].name + ", whose excitatory " +
               "and inhibitory exp synapses have different tau_syn (" + fmt(tau[0]) + " ms, " +
               fmt(tau[1]) + " ms): the sign of the mean, " + fmt(w.mean()) +
               " nA, would choose the current of all of them");
  }
}

// [analysis]: the window and binning of the spike-train statistics. A bin count that would need
// gigabytes (a unit slip such as rate_bin = 1e-6) is refused here, before anything runs.
analysis_spec read_analysis(table_reader& t, const run_spec& run) {
  analysis_spec a;
  a.enabled = t.boolean("enabled").value_or(true);
  a.t_start = t.number("t_start", "ms", a.t_start);
  require(a.t_start >= 0, "analysis.t_start", a.t_start, "ms", "must be >= 0");
  if (!(a.t_start < run.tstop))
    fail("analysis.t_start", fmt(a.t_start) + " ms is invalid: must be below run.tstop = " +
                                 fmt(run.tstop) + " ms (nothing would be left to analyse)");
  if (auto stop = t.number("t_stop", "ms")) {
    a.t_stop = *stop;
    if (!(a.t_stop > a.t_start))
      fail("analysis.t_stop", fmt(a.t_stop) + " ms is invalid: must be above analysis.t_start = " +
                                  fmt(a.t_start) + " ms");
  }
  const double window = std::min(a.t_stop, run.tstop) - a.t_start;
  a.rate_bin = t.number("rate_bin", "ms", a.rate_bin);
  require(a.rate_bin > 0, "analysis.rate_bin", a.rate_bin, "ms", "must be > 0");
  if (a.enabled && window / a.rate_bin > 1e8)
    fail("analysis.rate_bin",
         fmt(a.rate_bin) + " ms" + (t.has("rate_bin") ? "" : " (the default)") +
             " is invalid: gives " + fmt(window / a.rate_bin) + " bins over the " + fmt(window) +
             " ms analysed (at most 1e8); use a wider bin or set analysis.enabled = false");
  a.fano_window = t.number("fano_window", "ms", a.fano_window);
  require(a.fano_window > 0, "analysis.fano_window", a.fano_window, "ms", "must be > 0");
  if (auto m = t.integer("cv_min_spikes", "spikes")) {
    if (*m < 2)
      fail("analysis.cv_min_spikes", *t.get("cv_min_spikes"), "spikes",
           "must be >= 2 (a CV needs at least one interspike interval)");
    a.cv_min_spikes = *m;
  }
  for (auto [key, bins] : {std::pair<const char*, uint64_t*>{"rate_hist_bins", &a.rate_hist_bins},
                           {"cv_hist_bins", &a.cv_hist_bins}}) {
    if (auto b = t.integer(key, "bins")) {
      if (*b < 1 || *b > 1000000)
        fail(std::string("analysis.") + key, *t.get(key), "bins", "must be between 1 and 1e6");
      *bins = *b;
    }
  }
  a.rate_hist_max = t.number("rate_hist_max", "Hz", a.rate_hist_max);
  require(a.rate_hist_max >= 0, "analysis.rate_hist_max", a.rate_hist_max, "Hz",
          "must be >= 0 (0: up to the largest rate)");
  a.cv_hist_max = t.number("cv_hist_max", "", a.cv_hist_max);
  require(a.cv_hist_max > 0, "analysis.cv_hist_max", a.cv_hist_max, "", "must be > 0");
  t.finish({"enabled", "t_start", "t_stop", "rate_bin", "fano_window", "cv_min_spikes",
            "rate_hist_bins", "rate_hist_max", "cv_hist_bins", "cv_hist_max"});
  return a;
}

// Sets a.b.c = value in the table, creating tables on the way.
void apply_override(toml::table& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw config_error("config error: " + setting::set + " " + assignment +
                       ": expected key.path=value");
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty())
      throw config_error("config error: " + setting::set + " " + assignment + ": empty key part");
    parts.push_back(part);
  }
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", value}};  // a bare word is a string
  }
  // One value: text after it (a newline and a [table], another key) would be dropped unread.
  if (parsed.size() != 1)
    throw config_error("config error: " + setting::set + " " + assignment +
                       ": the value must be one TOML value, without further keys or tables");
  toml::table* t = &root;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (i ? "." : "") + parts[i];
    toml::node* n = t->get(parts[i]);
    if (!n) {
      t->insert(parts[i], toml::table{});
      n = t->get(parts[i]);
    }
    if (!n->is_table())
      throw config_error("config error: " + setting::set + " " + assignment + ": " + path +
                         " is not a table");
    t = n->as_table();
  }
  t->insert_or_assign(parts.back(), *parsed.get("v"));
}

}  // namespace

experiment_spec parse_config(const std::string& text, const std::string& source,
                             const std::vector<std::string>& overrides) {
  toml::table root = parse_toml(text, source);
  for (const auto& o : overrides) apply_override(root, o);

  experiment_spec spec;
  table_reader top(root, "");
  if (auto run = top.table("run")) {
    spec.run.dt = run->number("dt", "ms", spec.run.dt);
    require(spec.run.dt > 0, "run.dt", spec.run.dt, "ms", "must be > 0");
    spec.run.tstop = run->number("tstop", "ms", spec.run.tstop);
    if (!(spec.run.tstop >= spec.run.dt))
      fail("run.tstop", fmt(spec.run.tstop) + " ms is invalid: must be at least one step (dt = " +
                            fmt(spec.run.dt) + " ms)");
    // Before the settings that depend on it (analysis bins) blame themselves.
    if (spec.run.steps() > (uint64_t{1} << 50))
      fail("run.tstop", fmt(spec.run.tstop) + " ms is invalid: more than 2^50 steps of dt = " +
                            fmt(spec.run.dt) + " ms");
    if (auto seed = run->integer("random_seed", "")) spec.run.seed = *seed;
    if (auto prec = run->string("precision")) {
      if (*prec == "float")
        spec.run.prec = precision::single;
      else if (*prec == "double")
        spec.run.prec = precision::dual;
      else
        fail("run.precision", *run->get("precision"), "", "expected \"float\" or \"double\"");
    }
    if (auto chunk = run->integer("chunk_steps", "steps")) {
      if (*chunk < 1) fail("run.chunk_steps", *run->get("chunk_steps"), "steps", "must be >= 1");
      spec.run.chunk_steps = *chunk;
    }
    run->finish({"dt", "tstop", "random_seed", "precision", "chunk_steps"});
  }
  if (auto out = top.table("output")) {
    if (auto f = out->string("file")) {
      if (f->empty()) fail("output.file", "must not be empty");
      spec.output.file = *f;
    }
    spec.output.overwrite = out->boolean("overwrite").value_or(true);
    if (auto c = out->string("compression")) {
      if (*c != "none" && *c != "deflate")
        fail("output.compression", *out->get("compression"), "",
             "expected \"none\" or \"deflate\"");
      spec.output.compress = *c == "deflate";
    }
    out->finish({"file", "overwrite", "compression"});
  }
  auto pops = top.table("population");
  if (!pops || pops->raw().empty())
    fail("population", "no population defined (add a table such as [population.exc])");
  uint32_t index = 0;
  for (auto&& [k, v] : pops->raw()) {
    if (index >= 8192) fail("population", "at most 8192 populations");
    spec.populations.push_back(read_population(std::string(k.str()), v, index++, spec.run));
    pops->get(std::string(k.str()));
  }
  if (auto projs = top.table("projection")) {
    uint32_t pindex = 0;
    for (auto&& [k, v] : projs->raw()) {
      if (pindex >= 8192) fail("projection", "at most 8192 projections");
      spec.projections.push_back(read_projection(std::string(k.str()), v, pindex++, spec));
      projs->get(std::string(k.str()));
    }
    check_exp_time_constants(spec);
  }
  {
    // Distinct random keys (named_key collides for a pair of names with probability ~2^-64).
    std::set<uint64_t> keys;
    for (const auto& p : spec.populations)
      if (!keys.insert(p.seed).second)
        fail("population." + p.name, "its random key equals another's: rename it");
    for (const auto& q : spec.projections)
      if (!keys.insert(q.seed).second)
        fail("projection." + q.name, "its random key equals another's: rename it");
  }
  {
    const toml::table empty;
    auto analysis = top.table("analysis");
    table_reader defaults(empty, "analysis");
    spec.analysis = read_analysis(analysis ? *analysis : defaults, spec.run);
  }
  if (top.has("sweep"))
    fail("sweep", "this config is a parameter sweep: run its points with `spikesim sweep " +
                      source + "` (docs/sweeps.md)");
  top.finish({"run", "output", "analysis", "population", "projection"});

  std::ostringstream resolved;
  resolved << toml::toml_formatter(root);
  spec.config_text = resolved.str();
  return spec;
}

experiment_spec load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw input_error("cannot read config file '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error("cannot read config file '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw input_error("cannot read config file '" + path + "'");
  return parse_config(text.str(), path, overrides);
}

const std::string& default_config_text() {
  // Kept in step with the README's description of the default experiment.
  static const std::string text =
      R"(# spikesim's built-in experiment: an f-I curve of the reference EIF neuron under noise.
[run]
dt = 0.1            # ms
tstop = 1000.0      # ms
random_seed = 1
precision = "double"

[output]
file = "spikesim_default.h5"

[population.eif]
size = 10000
model = "eif"
params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -40.0, V_peak = -30.0, V_reset = -70.0, t_ref = 2.0 }
init = { V = { uniform = [-70.0, -50.0] } }
input = { I = { from = 5.0, to = 10.0 }, sigma = 2.0 }
record = { traces = [0, 5000, 9999], trace_every = 10 }
)";
  return text;
}

}  // namespace spikesim
