// Single-neuron analysis without running an experiment: for LIF and EIF the phase line (fixed
// points and their stability, rheobase, effective threshold) and the deterministic f–I curve from
// theory, with the noisy-LIF rate and CV; for Hodgkin–Huxley the phase line of the reduced model
// and the f–I curve by simulating one neuron per current. Units: ms, mV, nA (HH: uA/cm^2), Hz.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <spikesim/models/eif.hpp>
#include <spikesim/models/hh.hpp>
#include <spikesim/models/lif.hpp>
#include <spikesim/models/param_table.hpp>
#include <spikesim/spec.hpp>
#include <spikesim/theory.hpp>

namespace spikesim {
namespace single_neuron {

inline constexpr double k_none = std::numeric_limits<double>::quiet_NaN();  // "does not exist"

struct fixed_point_row {
  double u;           // mV
  double eigenvalue;  // 1/ms: f'(u) / tau_m (or / C_m), the linearised relaxation rate
  bool stable;
};

// One current of the f–I curve; NaN where a value does not exist (no such fixed point, no noise).
struct fI_row {
  double I;
  double rate;  // Hz
  double u_stable = k_none, u_unstable = k_none;
  double rate_noise = k_none, cv_noise = k_none;  // LIF with sigma > 0
  uint64_t spikes = 0;                            // HH: spikes in the simulation
};

// The rows of an f–I curve as columns, as files and arrays hold them.
struct fI_columns {
  std::vector<double> I, rate, u_stable, u_unstable, rate_noise, cv_noise;
  std::vector<uint64_t> spikes;
};
fI_columns columns_of(const std::vector<fI_row>& rows);

// EIF near the saddle-node: the gap between the fixed points against the square-root law.
struct saddle_row {
  double distance;  // I_rh - I
  double gap;       // mV between the fixed points
  double law;       // mV, 2 sqrt(2 delta_T R_m (I_rh - I))
};

struct param_value {
  std::string key, unit;
  double value;
};

struct report {
  std::string model, title, equation, phase_units, I_units;
  std::vector<param_value> params;  // in the order of the model's parameter table
  double I = 0;                     // the current of the fixed points and the phase line
  std::vector<fixed_point_row> fixed_points;
  double rheobase = k_none, rheobase_numeric = k_none;
  double threshold0 = k_none;  // effective threshold at I = 0 (mV)
  std::string rheobase_note, threshold_note, fI_method;
  double sigma = 0;  // mV, LIF noisy rate and CV when > 0
  theory::lif_noise_result noisy_at_I{k_none, k_none, k_none};
  std::vector<saddle_row> saddle;
  std::vector<fI_row> rows;
  std::vector<double> phase_u, phase_f;  // the phase line f(u) at I
};

// The currents from:to:step, `to` included when it lies on the grid (to 1e-9 steps).
struct current_range {
  double from, to, step;
  std::vector<double> values() const;
};

// The default f–I currents: 0 to twice the rheobase in tenths of it (0:20:1 when the rheobase is
// not positive); HH 0:50:2.5 uA/cm^2.
current_range default_currents(const lif_params& p);
current_range default_currents(const eif_params& p);
current_range default_currents(const hh_params& p);

// How the HH f–I curve is simulated: one neuron from rest per current.
struct hh_simulation {
  double dt = 0.01;          // ms
  double duration = 1000.0;  // ms per current
};

// The analyses, for parameters that pass check_params. LIF: sigma > 0 adds the noisy rate and CV
// (Siegert). Throw std::invalid_argument for parameters the theory refuses (and HH without a
// resting potential), numerical_error when the HH simulation diverges.
report analyse(const lif_params& p, double I, const std::vector<double>& currents,
               double sigma = 0.0);
report analyse(const eif_params& p, double I, const std::vector<double>& currents);
report analyse(const hh_params& p, double I, const std::vector<double>& currents,
               const hh_simulation& sim = {});

// One HH neuron from rest at current I: its spikes, and its rate as 1000 / mean ISI of the
// spikes in the second half of the run (0 with fewer than two).
fI_row simulate_hh(const hh_params& p, double I, const hh_simulation& sim);

// --- The same by the model's name ("lif", "eif" or "hh") and its parameters as key = value, for
// a front-end that takes them one by one. A list holds every parameter of the model's table, in
// its order; a name or a list of another model is std::invalid_argument.

// The model's parameters at their defaults.
std::vector<param_value> default_parameters(const std::string& model);
// Every parameter key of lif, eif and hh once, with its unit, in that order.
const std::vector<std::pair<std::string, std::string>>& parameter_keys();
// The parameters of a population of a config; empty when its model is neither lif nor eif.
std::vector<param_value> population_parameters(const population_spec& pop);
// The first check of the model's parameter table that `params` fail (check_params, no dt).
param_violation check_parameters(const std::string& model, const std::vector<param_value>& params);
current_range default_currents(const std::string& model, const std::vector<param_value>& params);
// The model's analyse(): `sigma` for lif only, `sim` for hh only. Parameters the theory refuses
// are a config_error ("config error: " and the theory's reason).
report analyse(const std::string& model, const std::vector<param_value>& params, double I,
               const std::vector<double>& currents, double sigma, const hh_simulation& sim);

// The most currents an f–I curve takes.
inline constexpr std::size_t max_currents = 10001;
// The currents "from:to:step" of a front-end's setting current_range: finite numbers, step > 0,
// from < to, at most max_currents currents; config_error naming the setting and the text.
current_range parse_current_range(const std::string& text);

}  // namespace single_neuron
}  // namespace spikesim
