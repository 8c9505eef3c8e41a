// Small helpers of ExperimentSpec.
#include <spikesim/spec.hpp>

#include <cmath>

namespace spikesim {

uint64_t step_at(double time_ms, double dt) {
  const double x = time_ms / dt;
  const double n = std::ceil(x - 1e-9);
  return n <= 0.0 ? 0 : static_cast<uint64_t>(n);
}

uint64_t run_spec::steps() const {
  return step_at(tstop, dt);
}

double population_spec::v_rest() const {
  return std::visit([](const auto& p) { return p.E_L; }, params);
}

uint64_t experiment_spec::total_neurons() const {
  uint64_t n = 0;
  for (const auto& p : populations) n += p.size;
  return n;
}

}  // namespace spikesim
