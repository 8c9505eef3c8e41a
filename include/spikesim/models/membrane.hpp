// The per-step update shared by the integrate-and-fire models on both backends: exact integration
// of the leak for input held constant within a step, threshold, reset and refractoriness.
#pragma once

#include <cmath>
#include <cstdint>

#include <spikesim/config.hpp>
#include <spikesim/fast_math.hpp>
#include <spikesim/models/neuron_vars.hpp>

namespace spikesim {

// Noise of a population's input, in the diffusion convention tau_m du = (...) dt + sigma
// sqrt(tau_m) dW.
struct noise_params {
  double sigma = 0.0;      // mV; the free membrane potential then has SD sigma / sqrt(2)
  double tau_noise = 0.0;  // ms; > 0 replaces white noise by an Ornstein-Uhlenbeck input
};

// Everything the step needs, derived once on the host from the parameters and dt (never per step).
template <class T>
struct membrane_coeffs {
  T decay;      // exp(-dt / tau_m)
  T gain;       // 1 - decay, the weight of the drive held constant over a step
  T E_L;        // mV
  T R_m;        // MOhm
  T v_spike;    // mV: V_th (LIF) or V_peak (EIF)
  T v_reset;    // mV
  T noise_amp;  // mV per unit normal deviate, white noise only (0 otherwise)
  T ou_decay;   // exp(-dt / tau_noise)
  T ou_amp;     // mV per unit normal deviate added to the OU input each step
  T ou_sd;      // mV, stationary SD of the OU input (its initial distribution)
  T delta_T;    // mV (EIF)
  T V_T;        // mV (EIF)
  T inv_delta_T;
  T exp_arg_max;  // the exponential's argument is clamped here so nothing overflows
  int32_t ref_steps;
  bool ou;
};

// Host-side derivation of the coefficients common to all integrate-and-fire models.
template <class T>
membrane_coeffs<T> make_membrane_coeffs(double dt, double tau_m, double E_L, double R_m,
                                        double v_spike, double v_reset, double t_ref,
                                        const noise_params& noise) {
  membrane_coeffs<T> c{};
  const double decay = std::exp(-dt / tau_m);
  c.decay = static_cast<T>(decay);
  c.gain = static_cast<T>(-std::expm1(-dt / tau_m));
  c.E_L = static_cast<T>(E_L);
  c.R_m = static_cast<T>(R_m);
  c.v_spike = static_cast<T>(v_spike);
  c.v_reset = static_cast<T>(v_reset);
  c.ref_steps = static_cast<int32_t>(std::llround(t_ref / dt));
  c.ou = noise.tau_noise > 0.0;
  if (c.ou) {
    // tau_s d(eta) = -eta dt + sigma sqrt(tau_m) dW: as tau_s -> 0, eta dt -> sigma sqrt(tau_m) dW,
    // the white-noise term. Stationary variance of eta: sigma^2 tau_m / (2 tau_s).
    const double ou_decay = std::exp(-dt / noise.tau_noise);
    const double var = noise.sigma * noise.sigma * tau_m / (2.0 * noise.tau_noise);
    c.ou_decay = static_cast<T>(ou_decay);
    c.ou_amp = static_cast<T>(std::sqrt(var * -std::expm1(-2.0 * dt / noise.tau_noise)));
    c.ou_sd = static_cast<T>(std::sqrt(var));
    c.noise_amp = T(0);
  } else {
    // Exact for the leak: the free potential is an OU process with variance sigma^2/2.
    c.noise_amp = static_cast<T>(noise.sigma * std::sqrt(-std::expm1(-2.0 * dt / tau_m) / 2.0));
    c.ou_decay = T(0);
    c.ou_amp = T(0);
    c.ou_sd = T(0);
  }
  c.delta_T = T(1);
  c.V_T = T(0);
  c.inv_delta_T = T(1);
  c.exp_arg_max = T(0);
  return c;
}

enum class noise_kind { none, white, ou };

// One step of an integrate-and-fire neuron. `free_step` is the model's subthreshold update.
// Written without branches so that the CPU loop vectorises and GPU warps do not diverge.
// Returns true when the neuron spiked at the end of this step.
template <class T, class Model>
SPIKESIM_HD inline bool membrane_step(const membrane_coeffs<T>& c, T& u, int32_t& ref, T drive,
                                      T noise) {
  const bool refractory = ref > 0;
  T next = Model::free_step(c, u, drive) + noise;
  next = refractory ? c.v_reset : next;
  int32_t r = refractory ? ref - 1 : ref;
  const bool spike = next >= c.v_spike;
  u = spike ? c.v_reset : next;
  ref = spike ? c.ref_steps : r;
  return spike;
}

// One neuron, one step, input noise included: the only per-step code of the integrate-and-fire
// models, called by the CPU loop and the CUDA kernel alike. `z` is the step's normal deviate,
// `drive` is R_m I in mV, `eta` the OU input (unused for the other noise kinds).
// Builds keep a*b+c unfused (-ffp-contract=off, nvcc -fmad=false) and fuse only where written
// as fma, so both backends round alike.
// `jump` (mV), the synaptic input arriving in this step, is added with the noise: undecayed, at
// the end of the step, before the threshold check.
template <class T, class Model, noise_kind noise>
SPIKESIM_HD inline bool neuron_step(const membrane_coeffs<T>& c, T& u, int32_t& ref, T& eta,
                                    T drive, float z, T jump = T(0)) {
  T xi = jump;
  if (noise == noise_kind::white) xi = xi + c.noise_amp * static_cast<T>(z);
  if (noise == noise_kind::ou) {
    drive = drive + eta;
    eta = math::detail::fma(eta, c.ou_decay, c.ou_amp * static_cast<T>(z));
  }
  return membrane_step<T, Model>(c, u, ref, drive, xi);
}

// The ratio kappa of the charge a current decaying with tau_syn delivers through the membrane over
// a step to that of a current held at its start (population_state.hpp, exp_synapse_coeffs), for
// dt, tau_m and tau_syn in ms (> 0).
double exp_synapse_kappa(double dt, double tau_m, double tau_syn);

// What the integrate-and-fire models share as models (models/registry.hpp): Model adds its name,
// its membrane coefficients (membrane<T>) and its subthreshold update (free_step).
template <class Model, class P>
struct integrate_and_fire {
  using params = P;
  static constexpr uint32_t gates = 0;           // state arrays beside u, ref and eta
  static constexpr bool takes_input = true;      // synapses, Poisson input and noise
  static constexpr bool exp_synapses = true;     // synapse = "exp" onto it
  static constexpr const char* state_var = "V";  // what init sets, and its unit
  static constexpr const char* state_unit = "mV";
  static constexpr const char* current_unit = "nA";  // of input.I and pulses
  static double rest(const P& p) { return p.E_L; }   // the default initial V (mV)

  template <class T>
  static void set_coeffs(model_coeffs<T>& c, const P& p, const noise_params& noise, double dt) {
    c.mem = Model::template membrane<T>(p, noise, dt);
    c.input_gain = static_cast<T>(p.R_m);
  }

  // The drive (mV) per nA of an exp synaptic current with tau_syn held over a step:
  // R_m kappa, which integrates its linear part exactly.
  static double exp_synapse_gain(const P& p, double dt, double tau_syn) {
    return p.R_m * exp_synapse_kappa(dt, p.tau_m, tau_syn);
  }

  template <class T, noise_kind noise>
  SPIKESIM_HD static bool step(const model_coeffs<T>& c, neuron_vars<T>& v, T drive, float z,
                               T jump) {
    return neuron_step<T, Model, noise>(c.mem, v.u, v.ref, v.eta, drive, z, jump);
  }
};

}  // namespace spikesim
