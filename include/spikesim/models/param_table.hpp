// The parameter table of a neuron model: each numeric parameter's config key, unit and member (its
// default is the parameter struct's initialiser) and the checks a value must pass. Each model's
// header specialises it; the config loader, the output file and `spikesim model` read it, so that
// a parameter's name, unit and valid range are typed once. Plain C++17: nvcc compiles it too.
#pragma once

#include <cmath>
#include <string>

namespace spikesim {

template <class P>
struct param_field {
  const char* key;
  const char* unit;
  double P::*member;
};

enum class param_rule {
  finite,           // every parameter: a finite number
  positive,         // > 0
  non_negative,     // >= 0
  below,            // < another parameter of the model
  above,            // > another parameter of the model
  countable_steps,  // a duration of at most 2^31 - 1 steps of dt (a 32-bit count of the state)
};

template <class P>
struct param_check {
  double P::*member;
  param_rule rule;
  double P::*bound = nullptr;  // the other parameter of below and above
};

// Specialised in each model's header: `fields` in the order of listings and of the output file,
// `checks` in the order they are tried (the first that fails is reported).
template <class P>
struct param_table;

// The first check that a parameter set fails: the parameter's key, unit and value, the rule and
// the data its message needs. False when every check passes.
struct param_violation {
  const char* key = nullptr;
  const char* unit = "";
  double value = 0.0;
  param_rule rule = param_rule::finite;
  const char* bound_key = nullptr;  // below, above: the other parameter and its value
  double bound_value = 0.0;
  double steps = 0.0, dt = 0.0;  // countable_steps: the rounded number of steps of dt (ms)
  explicit operator bool() const { return key != nullptr; }
};

// The most steps a duration may round to: the refractory count is 32 bits (as checkpoints store
// it).
inline constexpr double max_countable_steps = 2147483647.0;

// Why the value is refused, numbers at `digits` significant digits: "must be > 0", "must be below
// V_th = -30 mV", "3e+09 steps of dt = 0.1 ms, more than 2^31 - 1 steps (2.147e+08 ms)".
std::string param_rule_text(const param_violation& v, int digits);

template <class P>
const param_field<P>& param_field_of(double P::*member) {
  for (const auto& f : param_table<P>::fields)
    if (f.member == member) return f;
  return param_table<P>::fields[0];  // not reached: every check names a field of the table
}

// The first violation of the table's rules by `p`: first a non-finite value (in field order),
// then the checks in order. The countable_steps checks need the time step: dt = 0 skips them
// (an analysis without a time grid).
template <class P>
param_violation check_params(const P& p, double dt = 0.0) {
  for (const auto& f : param_table<P>::fields)
    if (!std::isfinite(p.*f.member)) return {f.key, f.unit, p.*f.member, param_rule::finite};
  for (const auto& c : param_table<P>::checks) {
    const param_field<P>& f = param_field_of<P>(c.member);
    const double x = p.*c.member;
    param_violation v{f.key, f.unit, x, c.rule};
    switch (c.rule) {
      case param_rule::finite:
        if (!std::isfinite(x)) return v;
        break;
      case param_rule::positive:
        if (!(x > 0)) return v;
        break;
      case param_rule::non_negative:
        if (!(x >= 0)) return v;
        break;
      case param_rule::below:
      case param_rule::above:
        v.bound_key = param_field_of<P>(c.bound).key;
        v.bound_value = p.*c.bound;
        if (c.rule == param_rule::below ? !(x < v.bound_value) : !(x > v.bound_value)) return v;
        break;
      case param_rule::countable_steps:
        v.steps = dt > 0 ? std::round(x / dt) : 0.0;
        v.dt = dt;
        if (v.steps > max_countable_steps) return v;
        break;
    }
  }
  return {};
}

}  // namespace spikesim
