// Small helpers of ExperimentSpec.
#include <spikesim/spec.hpp>

#include <cmath>
#include <variant>

namespace spikesim {

uint64_t step_at(double time_ms, double dt) {
  const double x = time_ms / dt;
  const double n = std::ceil(x - 1e-9);
  return n <= 0.0 ? 0 : static_cast<uint64_t>(n);
}

uint64_t run_spec::steps() const {
  return step_at(tstop, dt);
}

std::string population_spec::model_name() const {
  static const char* names[] = {"lif", "eif", "hh", "rate"};
  return names[params.index()];
}

double population_spec::v_rest() const {
  if (const auto* lif = std::get_if<lif_params>(&params)) return lif->E_L;
  if (const auto* eif = std::get_if<eif_params>(&params)) return eif->E_L;
  if (const auto* hh = std::get_if<hh_params>(&params)) {
    const double rest = hh_resting_potential(*hh);
    return std::isnan(rest) ? 0.0 : rest;
  }
  return 0.0;
}

uint64_t experiment_spec::total_neurons() const {
  uint64_t n = 0;
  for (const auto& p : populations) n += p.size;
  return n;
}

}  // namespace spikesim
