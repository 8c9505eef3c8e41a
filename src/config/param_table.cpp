// The reasons of the models' parameter checks in words, shared by every front-end that phrases a
// param_violation (the config loader, `spikesim model`).
#include <spikesim/models/param_table.hpp>

#include <spikesim/format.hpp>

namespace spikesim {
std::string param_rule_text(const param_violation& v, int digits) {
  switch (v.rule) {
    case param_rule::finite:
      return "must be a finite number";
    case param_rule::positive:
      return "must be > 0";
    case param_rule::non_negative:
      return "must be >= 0";
    case param_rule::below:
    case param_rule::above:
      return std::string(v.rule == param_rule::below ? "must be below " : "must be above ") +
             v.bound_key + " = " + format_significant(v.bound_value, digits) + " " + v.unit;
    case param_rule::countable_steps:
      return format_significant(v.steps, digits) +
             " steps of dt = " + format_significant(v.dt, digits) + " " + v.unit +
             ", more than 2^31 - 1 steps (" +
             format_significant(max_countable_steps * v.dt, digits) + " " + v.unit + ")";
  }
  return "";
}

}  // namespace spikesim
