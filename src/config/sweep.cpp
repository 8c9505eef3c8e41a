// [sweep] tables and --sweep options -> points, each a list of --set overrides of the base config;
// and the packing of several points into one spec. Values are checked here; what a value means
// for its key is checked by parse_config when a point is built.
#include <spikesim/sweep.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <toml++/toml.h>

#include "config/parse_toml.hpp"

#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/models/param_table.hpp>

namespace spikesim {
namespace {

// Beyond this a sweep is a typo (a step far too small), not an experiment.
constexpr uint64_t k_max_points = 1000000000;

[[noreturn]] void fail(const message_text& where, const message_text& why) {
  throw config_error("config error: " + where + ": " + why, where.str(), "", "", why);
}

// A TOML float literal: "5" would be read back as an integer.
std::string float_literal(double x) {
  std::string s = format_shortest(x);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string show(const toml::node& n) {
  std::ostringstream o;
  if (auto t = n.as_table())
    o << toml::toml_formatter(*t, toml::format_flags::none);
  else if (auto a = n.as_array())
    o << *a;
  else
    n.visit([&](auto&& v) { o << v; });
  return o.str();
}

std::string with_unit(const std::string& value, const std::string& unit) {
  return unit.empty() ? value : value + " " + unit;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool valid_part(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

const toml::table* sub_table(const toml::table& t, const std::string& key) {
  const toml::node* n = t.get(key);
  return n ? n->as_table() : nullptr;
}

template <class P>
std::string param_unit(const std::string& name) {
  for (const auto& f : param_table<P>::fields)
    if (name == f.key) return f.unit;
  return "";
}

// The unit of a numeric config key, for messages (docs/config.md); empty where it has none or
// the key is unknown (parse_config reports unknown keys).
std::string key_unit(const toml::table& base, const std::vector<std::string>& parts) {
  const std::string& top = parts[0];
  const std::string last = parts.back();
  if (top == "run") {
    if (last == "dt" || last == "tstop") return "ms";
    if (last == "chunk_steps") return "steps";
    return "";
  }
  if (top == "analysis") {
    if (last == "t_start" || last == "t_stop" || last == "rate_bin" || last == "fano_window")
      return "ms";
    if (last == "cv_min_spikes") return "spikes";
    if (last == "rate_hist_bins" || last == "cv_hist_bins") return "bins";
    if (last == "rate_hist_max") return "Hz";
    return "";
  }
  const toml::table* group = sub_table(base, top);
  const toml::table* item = group ? sub_table(*group, parts[1]) : nullptr;
  auto string_of = [&](const char* key) {
    const toml::node* n = item ? item->get(key) : nullptr;
    return n && n->is_string() ? n->as_string()->get() : std::string();
  };
  const std::string& field = parts[2];
  const std::string sub = parts.size() > 3 ? parts[3] : "";
  if (top == "projection") {
    if (field == "indegree") return "synapses";
    if (field == "weight") return string_of("synapse") == "exp" ? "nA" : "mV";
    if (field == "delay" || field == "tau_syn") return "ms";
    return "";
  }
  const std::string model = string_of("model");
  // the units that differ by model come from its type (models/), any model of the registry
  const char* state_unit = "mV";
  const char* current_unit = "nA";
  std::string param = "";
  if (const auto kind = model_kind_named(model))
    visit_model(*kind, [&](auto tag) {
      using M = typename decltype(tag)::type;
      if constexpr (!std::is_void_v<typename M::params>) {
        state_unit = M::state_unit;
        current_unit = M::current_unit;
        if (field == "params" && !sub.empty()) param = param_unit<typename M::params>(sub);
      }
    });
  if (field == "size") return "neurons";
  if (field == "source")
    return last == "rate" ? "Hz" : last == "start" || last == "stop" ? "ms" : "";
  if (field == "params" && !sub.empty()) return param;
  if (field == "init") return state_unit;
  if (field == "record") return sub == "trace_every" ? "steps" : "";
  if (field == "input") {
    if (sub == "I") return current_unit;
    if (sub == "sigma") return "mV";
    if (sub == "tau_noise") return "ms";
    if (sub == "poisson") {
      if (last == "rate") return "Hz";
      if (last == "count") return "sources";
      if (last == "weight") return "mV";
    }
  }
  return "";
}

// The key's parts, checked: a path into [run], [analysis] or an existing [population.NAME] or
// [projection.NAME] of the base config.
std::vector<std::string> check_key(const std::string& key, const message_text& where,
                                   const toml::table& base) {
  const auto parts = split(key, '.');
  if (!std::all_of(parts.begin(), parts.end(), valid_part))
    fail(where, "'" + key + "' is not a config key (dotted, such as population.eif.input.I)");
  const std::string& top = parts[0];
  if (parts.size() == 1)
    fail(where,
         "unknown key (the [sweep] table takes mode, seeds and dotted config keys such as "
         "\"population.eif.input.I\")");
  if (top == "population" || top == "projection") {
    const toml::table* group = sub_table(base, top);
    if (parts.size() < 3)
      fail(where, "'" + key + "' is a table, not a numeric key (such as " + top + "." + parts[1] +
                      (top == "population" ? ".size)" : ".weight)"));
    if (!group || !sub_table(*group, parts[1])) {
      std::string names;
      if (group)
        for (auto&& [k, v] : *group) names += (names.empty() ? "" : ", ") + std::string(k.str());
      fail(where, "no [" + top + "." + parts[1] + "] in the config (" +
                      (names.empty() ? "it has none" : "it has: " + names) + ")");
    }
  } else if (top != "run" && top != "analysis") {
    fail(where, "'" + key +
                    "' cannot be swept: sweeps change numeric keys of [run], [analysis], "
                    "[population.NAME] and [projection.NAME]");
  }
  return parts;
}

struct number {
  double value = 0;
  std::string literal;
  bool integer = false;
};

number number_of(const toml::node& n, const message_text& where, const std::string& unit) {
  if (auto i = n.as_integer())
    return {static_cast<double>(i->get()), std::to_string(i->get()), true};
  if (auto f = n.as_floating_point()) {
    if (!std::isfinite(f->get()))
      fail(where, with_unit(format_shortest(f->get()), unit) + ": not finite");
    return {f->get(), float_literal(f->get()), false};
  }
  fail(where, show(n) + ": expected a number" + (unit.empty() ? "" : " in " + unit));
}

// A number typed on the command line, in TOML syntax (5, 7.25, 1e-3).
number number_of(const std::string& text, const message_text& where, const std::string& unit) {
  toml::table t;
  try {
    t = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    fail(where, "'" + text + "' is not a number (TOML syntax, such as 5, 7.25 or 1e-3" +
                    (unit.empty() ? "" : ", in " + unit) + ")");
  }
  return number_of(*t.get("v"), where, unit);
}

// Values from + i step up to `to`, which is included when it is within a relative 1e-9 of the
// grid. Computed values are rounded to 15 significant digits, so that a step of 0.1 gives 0.3
// and not 0.30000000000000004.
sweep_axis range_axis(const std::string& key, const message_text& where, const std::string& unit,
                      const number& from, const number& to, const number& step) {
  sweep_axis a;
  a.key = key;
  if (step.value == 0) fail(where, "step = " + with_unit(step.literal, unit) + ": must not be 0");
  if ((to.value - from.value) * step.value < 0)
    fail(where, "step = " + with_unit(step.literal, unit) + " never reaches to = " +
                    with_unit(to.literal, unit) + " from from = " + with_unit(from.literal, unit) +
                    " (the step must be " + (to.value > from.value ? "> 0" : "< 0") + ")");
  const double q = (to.value - from.value) / step.value;
  const double nearest = std::round(q);
  const bool reaches = std::fabs(q - nearest) <= 1e-9 * std::max(1.0, std::fabs(q));
  const double last = reaches ? nearest : std::floor(q);
  if (!(last < static_cast<double>(k_max_points)))
    fail(where, "from = " + with_unit(from.literal, unit) + ", to = " +
                    with_unit(to.literal, unit) + ", step = " + with_unit(step.literal, unit) +
                    " gives " + format_shortest(last + 1) + " values (at most 1e9)");
  const uint64_t n = static_cast<uint64_t>(last) + 1;
  const bool integer = from.integer && to.integer && step.integer;
  for (uint64_t i = 0; i < n; ++i) {
    if (integer) {
      const int64_t v = static_cast<int64_t>(from.value) +
                        static_cast<int64_t>(i) * static_cast<int64_t>(step.value);
      a.values.push_back(static_cast<double>(v));
      a.literals.push_back(std::to_string(v));
      continue;
    }
    double v = from.value + static_cast<double>(i) * step.value;
    if (i > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", v);
      v = std::strtod(buf, nullptr);
    }
    if (i + 1 == n && reaches) v = to.value;
    a.values.push_back(v);
    a.literals.push_back(float_literal(v));
  }
  return a;
}

bool is_range(const toml::table& t) {
  for (const char* k : {"from", "to", "step"})
    if (const toml::node* n = t.get(k); n && !n->is_table() && !n->is_array()) return true;
  return false;
}

sweep_axis table_axis(const std::string& key, const toml::node& v, const message_text& where,
                      const std::string& unit) {
  if (const auto* t = v.as_table()) {
    const toml::node *from = t->get("from"), *to = t->get("to"), *step = t->get("step");
    if (!from || !to || !step || t->size() != 3) {
      fail(where, show(v) + ": a range is { from = a, to = b, step = s }" +
                      (unit.empty() ? "" : " in " + unit));
    }
    return range_axis(key, where, unit, number_of(*from, where + ".from", unit),
                      number_of(*to, where + ".to", unit), number_of(*step, where + ".step", unit));
  }
  const auto* a = v.as_array();
  if (!a)
    fail(where, "expected a list of numbers or { from, to, step }" +
                    (unit.empty() ? "" : std::string(" in ") + unit));
  if (a->empty()) fail(where, "an empty list: give at least one value");
  sweep_axis axis;
  axis.key = key;
  for (size_t i = 0; i < a->size(); ++i) {
    const number x = number_of(*a->get(i), where + "[" + std::to_string(i) + "]", unit);
    axis.values.push_back(x.value);
    axis.literals.push_back(x.literal);
  }
  return axis;
}

// --sweep key=v1,v2,... or key=start:stop:step.
sweep_axis cli_axis(const std::string& arg, const toml::table& base) {
  const message_text where = setting::sweep + " " + arg;
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    fail(where, "expected key=v1,v2,... or key=start:stop:step");
  const std::string key = arg.substr(0, eq);
  const std::string rhs = arg.substr(eq + 1);
  const std::string unit = key_unit(base, check_key(key, where, base));
  if (rhs.find(':') != std::string::npos) {
    const auto p = split(rhs, ':');
    if (p.size() != 3) fail(where, "a range is start:stop:step (three numbers)");
    return range_axis(key, where, unit, number_of(p[0], where, unit), number_of(p[1], where, unit),
                      number_of(p[2], where, unit));
  }
  sweep_axis axis;
  axis.key = key;
  for (const auto& tok : split(rhs, ',')) {
    const number x = number_of(tok, where, unit);
    axis.values.push_back(x.value);
    axis.literals.push_back(x.literal);
  }
  return axis;
}

// The axes of a [sweep] table: quoted dotted keys ("population.eif.input.I" = [...]), or the same
// written as nested tables (population.eif.input.I = [...]), in the order they are written.
void collect_axes(const toml::table& t, const std::string& prefix,
                  std::vector<std::pair<toml::source_position, sweep_axis>>& out,
                  const toml::table& base) {
  for (auto&& [k, v] : t) {
    const std::string name(k.str());
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (prefix.empty() && (name == "mode" || name == "seeds")) continue;
    const std::string where = "sweep.\"" + key + "\"";
    if (const auto* sub = v.as_table(); sub && !is_range(*sub)) {
      collect_axes(*sub, key, out, base);
      continue;
    }
    const std::string unit = key_unit(base, check_key(key, where, base));
    out.emplace_back(k.source().begin, table_axis(key, v, where, unit));
  }
}

std::string string_setting(const toml::table& t, const char* key, const char* a, const char* b) {
  const toml::node* n = t.get(key);
  if (!n) return a;
  if (!n->is_string() || (n->as_string()->get() != a && n->as_string()->get() != b)) {
    fail(std::string("sweep.") + key,
         show(*n) + ": expected \"" + a + "\" (the default) or \"" + b + "\"");
  }
  return n->as_string()->get();
}

// Sets the node at `parts` in `dst` to the one in `src`, or removes it when `src` has none.
void restore(toml::table& dst, const toml::table& src, const std::vector<std::string>& parts) {
  toml::table* d = &dst;
  const toml::table* s = &src;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    toml::node* dn = d->get(parts[i]);
    d = dn ? dn->as_table() : nullptr;
    s = s ? sub_table(*s, parts[i]) : nullptr;
    if (!d) return;
  }
  const toml::node* sn = s ? s->get(parts.back()) : nullptr;
  if (sn)
    d->insert_or_assign(parts.back(), *sn);
  else
    d->erase(parts.back());
}

std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string describe_point(const sweep_spec& s, uint64_t k) {
  const auto v = point_values(s, k);
  std::string d;
  for (size_t i = 0; i < s.axes.size(); ++i)
    d += (i ? ", " : "") + s.axes[i].key + " = " + format_shortest(v[i]);
  return d;
}

std::vector<std::string> axis_overrides(const sweep_spec& s, uint64_t k) {
  std::vector<std::string> o = s.sets;
  uint64_t rest = k;
  std::vector<size_t> at(s.axes.size());
  for (size_t i = s.axes.size(); i-- > 0;) {
    const uint64_t n = s.axes[i].values.size();
    at[i] = s.mode == sweep_mode::zip ? k : rest % n;
    rest /= n;
  }
  for (size_t i = 0; i < s.axes.size(); ++i)
    o.push_back(s.axes[i].key + "=" + s.axes[i].literals[at[i]]);
  return o;
}

bool seed_is_swept(const sweep_spec& s) {
  return std::any_of(s.axes.begin(), s.axes.end(),
                     [](const sweep_axis& a) { return a.key == "run.random_seed"; });
}

}  // namespace

uint64_t sweep_spec::points() const {
  if (axes.empty()) return 0;
  if (mode == sweep_mode::zip) return axes.front().values.size();
  uint64_t n = 1;
  for (const auto& a : axes) n *= a.values.size();
  return n;
}

sweep_spec parse_sweep(const std::string& text, const std::string& source,
                       const std::vector<std::string>& sets,
                       const std::vector<std::string>& cli_axes) {
  toml::table root = parse_toml(text, source);
  sweep_spec s;
  s.source = source;
  s.sets = sets;
  toml::table table;
  if (const toml::node* n = root.get("sweep")) {
    if (!n->is_table()) fail("sweep", "expected a table ([sweep])");
    table = *n->as_table();
    root.erase("sweep");
  }
  s.mode =
      string_setting(table, "mode", "grid", "zip") == "zip" ? sweep_mode::zip : sweep_mode::grid;
  s.seeds = string_setting(table, "seeds", "distinct", "same") == "same" ? sweep_seeds::same
                                                                         : sweep_seeds::distinct;
  std::vector<std::pair<toml::source_position, sweep_axis>> written;
  collect_axes(table, "", written, root);
  std::stable_sort(written.begin(), written.end(), [](const auto& a, const auto& b) {
    return a.first.line != b.first.line ? a.first.line < b.first.line
                                        : a.first.column < b.first.column;
  });
  for (auto& w : written) s.axes.push_back(std::move(w.second));
  const size_t from_table = s.axes.size();
  for (const auto& arg : cli_axes) {
    sweep_axis a = cli_axis(arg, root);
    for (size_t i = 0; i < s.axes.size(); ++i)
      if (s.axes[i].key == a.key)
        fail(setting::sweep + " " + arg,
             a.key + " is swept twice (" +
                 (i < from_table ? message_text("also in the [sweep] table")
                                 : "also by an earlier " + setting::sweep) +
                 "): give its values once");
    s.axes.push_back(std::move(a));
  }
  if (s.axes.empty())
    fail("sweep",
         "no key to sweep: add a [sweep] table with keys such as "
         "\"population.eif.input.I\" = [5.0, 6.0], or " +
             setting::sweep + " KEY=V1,V2,...");
  for (const auto& set : sets) {
    const std::string key = set.substr(0, set.find('='));
    for (const auto& a : s.axes)
      if (a.key == key)
        fail(setting::set + " " + set,
             key + " is swept; a " + setting::set + " of it would be overridden by every point");
  }
  if (s.mode == sweep_mode::zip) {
    for (const auto& a : s.axes)
      if (a.values.size() != s.axes.front().values.size()) {
        std::string lengths;
        for (const auto& b : s.axes)
          lengths +=
              (lengths.empty() ? "" : ", ") + b.key + " has " + std::to_string(b.values.size());
        fail("sweep.mode",
             "\"zip\" needs the same number of values for every key (" + lengths + ")");
      }
  } else {
    double n = 1;
    for (const auto& a : s.axes) n *= static_cast<double>(a.values.size());
    if (n > static_cast<double>(k_max_points))
      fail("sweep", "the grid has " + format_shortest(n) + " points (at most 1e9)");
  }

  std::ostringstream base;
  base << toml::toml_formatter(root);
  s.base_text = base.str();

  // Point 0 gives the base seed (the config's run.random_seed with the --set overrides) and the
  // resolved text, from which the swept keys are taken back out.
  const experiment_spec first = [&] {
    try {
      return parse_config(s.base_text, source, axis_overrides(s, 0));
    } catch (const config_error& e) {
      const std::string what = e.what();
      const std::string prefix = "config error: ";
      throw config_error(prefix + "sweep point 0 (" + describe_point(s, 0) +
                         "): " + (what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what));
    }
  }();
  s.base_seed = first.run.seed;
  if (s.seeds == sweep_seeds::distinct && !seed_is_swept(s) &&
      s.base_seed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - s.points())
    fail("run.random_seed", std::to_string(s.base_seed) +
                                " is too large for distinct seeds (random_seed + point index "
                                "must stay below 2^63)");
  toml::table resolved = toml::parse(first.config_text);
  for (const auto& a : s.axes) restore(resolved, root, split(a.key, '.'));
  std::ostringstream out;
  out << toml::toml_formatter(resolved) << "\n\n[sweep]\nmode = \""
      << (s.mode == sweep_mode::zip ? "zip" : "grid") << "\"\nseeds = \""
      << (s.seeds == sweep_seeds::same ? "same" : "distinct") << "\"\n";
  for (const auto& a : s.axes) {
    out << '"' << a.key << "\" = [";
    for (size_t i = 0; i < a.literals.size(); ++i) out << (i ? ", " : "") << a.literals[i];
    out << "]\n";
  }
  s.config_text = out.str();
  s.id = hex64(fnv1a(s.config_text));
  return s;
}

sweep_spec load_sweep(const std::string& path, const std::vector<std::string>& sets,
                      const std::vector<std::string>& cli_axes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error("cannot read config file '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw input_error("cannot read config file '" + path + "'");
  return parse_sweep(text.str(), path, sets, cli_axes);
}

std::vector<double> point_values(const sweep_spec& s, uint64_t k) {
  std::vector<double> v(s.axes.size());
  uint64_t rest = k;
  for (size_t i = s.axes.size(); i-- > 0;) {
    const uint64_t n = s.axes[i].values.size();
    v[i] = s.axes[i].values[s.mode == sweep_mode::zip ? k : rest % n];
    rest /= n;
  }
  return v;
}

uint64_t point_seed(const sweep_spec& s, uint64_t k) {
  for (size_t i = 0; i < s.axes.size(); ++i)
    if (s.axes[i].key == "run.random_seed") return static_cast<uint64_t>(point_values(s, k)[i]);
  return s.seeds == sweep_seeds::distinct ? s.base_seed + k : s.base_seed;
}

std::vector<std::string> point_overrides(const sweep_spec& s, uint64_t k) {
  std::vector<std::string> o = axis_overrides(s, k);
  if (s.seeds == sweep_seeds::distinct && !seed_is_swept(s))
    o.push_back("run.random_seed=" + std::to_string(s.base_seed + k));
  return o;
}

experiment_spec point_spec(const sweep_spec& s, uint64_t k) {
  try {
    return parse_config(s.base_text, s.source, point_overrides(s, k));
  } catch (const config_error& e) {
    const std::string what = e.what();
    const std::string prefix = "config error: ";
    throw config_error(prefix + "sweep point " + std::to_string(k) + " (" + describe_point(s, k) +
                       "): " + (what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what));
  }
}

std::string packed_name(const std::string& name, uint64_t point) {
  return name + "@" + std::to_string(point);
}

bool packable(const experiment_spec& a, const experiment_spec& b) {
  const analysis_spec &x = a.analysis, &y = b.analysis;
  return a.run.dt == b.run.dt && a.run.tstop == b.run.tstop && a.run.prec == b.run.prec &&
         a.run.chunk_steps == b.run.chunk_steps && a.output.overwrite == b.output.overwrite &&
         x.enabled == y.enabled && x.t_start == y.t_start && x.t_stop == y.t_stop &&
         x.rate_bin == y.rate_bin && x.cv_min_spikes == y.cv_min_spikes &&
         x.fano_window == y.fano_window && x.rate_hist_bins == y.rate_hist_bins &&
         x.rate_hist_max == y.rate_hist_max && x.cv_hist_bins == y.cv_hist_bins &&
         x.cv_hist_max == y.cv_hist_max;
}

void append_point(experiment_spec& pack, const experiment_spec& point, uint64_t index) {
  const auto offset = static_cast<uint32_t>(pack.populations.size());
  for (const auto& pop : point.populations) {
    population_spec q = pop;
    q.name = packed_name(pop.name, index);
    q.index = static_cast<uint32_t>(pack.populations.size());
    pack.populations.push_back(std::move(q));
  }
  for (const auto& proj : point.projections) {
    projection_spec q = proj;
    q.name = packed_name(proj.name, index);
    q.index = static_cast<uint32_t>(pack.projections.size());
    q.source += offset;
    q.target += offset;
    pack.projections.push_back(std::move(q));
  }
}

uint64_t pack_chunk_steps(uint64_t largest_point_neurons, uint64_t total_neurons) {
  const uint64_t alone = std::clamp<uint64_t>(
      (uint64_t{1} << 24) / std::max<uint64_t>(1, largest_point_neurons), 16, 1000);
  const uint64_t pack =
      std::max<uint64_t>(16, (uint64_t{1} << 28) / std::max<uint64_t>(1, total_neurons));
  return std::min(alone, pack);
}

experiment_spec pack_points(const std::vector<experiment_spec>& points,
                            const std::vector<uint64_t>& indices) {
  if (points.empty() || points.size() != indices.size())
    throw error("internal error: pack_points needs one index per point", error_kind::internal);
  experiment_spec s;
  s.run = points.front().run;
  s.output = points.front().output;
  s.analysis = points.front().analysis;
  uint64_t largest = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!packable(points.front(), points[i]))
      throw error("internal error: sweep points " + std::to_string(indices.front()) + " and " +
                      std::to_string(indices[i]) + " differ in their run settings",
                  error_kind::internal);
    append_point(s, points[i], indices[i]);
    largest = std::max(largest, points[i].total_neurons());
  }
  if (s.run.chunk_steps == 0) s.run.chunk_steps = pack_chunk_steps(largest, s.total_neurons());
  return s;
}

point_range task_points(uint64_t points, uint64_t task, uint64_t tasks) {
  if (tasks == 0 || task >= tasks) return {};
  const uint64_t base = points / tasks, extra = points % tasks;
  return {task * base + std::min(task, extra), base + (task < extra ? 1 : 0)};
}

uint64_t task_of(uint64_t points, uint64_t tasks, uint64_t k) {
  const uint64_t base = points / tasks, extra = points % tasks;
  const uint64_t big = extra * (base + 1);  // points of the tasks that have one more
  return k < big ? k / (base + 1) : extra + (k - big) / base;
}

}  // namespace spikesim
