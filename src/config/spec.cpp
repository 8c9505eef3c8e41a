// Small helpers of ExperimentSpec.
#include <spikesim/spec.hpp>

#include <algorithm>
#include <cmath>
#include <variant>

namespace spikesim {

uint64_t step_at(double time_ms, double dt) {
  // Times on the grid up to rounding count as on it: the tolerance is relative, since the
  // rounding of time_ms / dt grows with the number of steps.
  const double x = time_ms / dt;
  const double n = std::ceil(x - 1e-9 * std::max(1.0, x));
  return n <= 0.0 ? 0 : static_cast<uint64_t>(n);
}

uint64_t spike_step(double time_ms, double dt) {
  const uint64_t n = step_at(time_ms, dt);
  return n == 0 ? 0 : n - 1;
}

uint64_t run_spec::steps() const {
  return step_at(tstop, dt);
}

model_kind population_spec::kind() const {
  // a neuron model's alternative of model_params is its place in the registry
  return is_source() ? kind_of<source_model> : static_cast<model_kind>(params.index());
}

std::string population_spec::model_name() const {
  if (source.type == source_spec::kind::poisson) return "poisson_source";
  if (source.type == source_spec::kind::times) return "spike_times";
  return spikesim::model_name(kind());
}

double population_spec::v_rest() const {
  if (is_source()) return 0.0;  // a source has no potential; its state arrays hold zeros
  return std::visit(
      [](const auto& p) { return model_of_params<std::decay_t<decltype(p)>>::rest(p); }, params);
}

uint64_t delay_steps(double delay_ms, double dt) {
  // Ties round away from zero, as t_ref does; clamped before the cast (the config refuses
  // delays over 65535 steps, but this must not overflow before it can say so).
  const double x = std::round(delay_ms / dt);
  return x < 1.0 ? 1 : x > 1e15 ? uint64_t{1} << 50 : static_cast<uint64_t>(x);
}

// Normal delays are redrawn within [lo, hi] (by default [max(dt / 2, mean - 5 sd), mean + 5 sd],
// docs/config.md), uniform ones lie in [a, b]; the bounds are what the ring buffers and the chunk
// length are sized for.
uint64_t projection_spec::min_delay_steps(double dt) const {
  switch (delay.type) {
    case distribution::kind::constant:
    case distribution::kind::uniform:
      return delay_steps(delay.a, dt);
    case distribution::kind::normal:
      return delay_steps(delay.lo, dt);
  }
  return 1;
}

uint64_t projection_spec::max_delay_steps(double dt) const {
  switch (delay.type) {
    case distribution::kind::constant:
      return delay_steps(delay.a, dt);
    case distribution::kind::uniform:
      return delay_steps(delay.b, dt);
    case distribution::kind::normal:
      return delay_steps(delay.hi, dt);
  }
  return 1;
}

bool experiment_spec::has_network() const {
  if (!projections.empty()) return true;
  for (const auto& p : populations)
    if (p.input.poisson.active()) return true;
  return false;
}

uint64_t experiment_spec::min_delay_steps() const {
  uint64_t d = 0;
  for (const auto& q : projections) {
    const uint64_t m = q.min_delay_steps(run.dt);
    d = d == 0 ? m : std::min(d, m);
  }
  return d;
}

uint64_t experiment_spec::total_neurons() const {
  uint64_t n = 0;
  for (const auto& p : populations) n += p.size;
  return n;
}

}  // namespace spikesim
