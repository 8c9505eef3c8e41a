// Analytic and semi-analytic single-neuron theory (deterministic LIF and EIF, noisy LIF) that
// simulations are validated against. Units: ms, mV, nA, MOhm, Hz.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <spikesim/models/lif.hpp>

namespace spikesim {

struct population_spec;  // spec.hpp

namespace theory {

// A refused argument of a theory function, with its data for a front-end that names the argument
// its own way; what() is "WHERE: NAME = VALUE UNIT, REQUIREMENT" ("siegert: tau_m = 0 ms, must be
// > 0"), the value at 10 significant digits.
struct argument_error : std::invalid_argument {
  argument_error(std::string where, std::string name, double value, std::string unit,
                 std::string requirement);
  // "VALUE UNIT, REQUIREMENT": what follows "NAME = ".
  std::string value_text() const;
  std::string where, name;
  double value;
  std::string unit, requirement;
};

// Scaled complementary error function erfcx(x) = exp(x^2) erfc(x), accurate to a few ulp for
// x >= 0 (continued fraction above x = 5, where exp(x^2) erfc(x) starts losing digits and soon
// underflows). For x < 0 it equals 2 exp(x^2) - erfcx(-x) and overflows to +inf below x ~ -26.6.
double erfcx(double x);

// log(erfcx(x)) for every finite x without overflow; exp(x^2)(1 + erf x) = erfcx(-x), so this is
// how the Siegert integrand is evaluated far below threshold.
double log_erfcx(double x);

// ---------------------------------------------------------------------------------------------
// Noisy LIF in the diffusion approximation, Brunel (2000) conventions:
//   tau_m du = (-u + mu) dt + sigma sqrt(tau_m) dW,  spike at u = theta, reset to v_reset,
//   refractory t_ref.
// Potentials are measured from rest (rest at 0): mu already contains the resting potential. For a
// neuron with E_L != 0 pass mu - E_L, theta - E_L and v_reset - E_L.
struct lif_noise_result {
  double rate_hz;      // stationary firing rate
  double cv;           // coefficient of variation of the interspike interval
  double mean_isi_ms;  // 1000 / rate_hz; +inf when the rate underflows to 0
};

// Rate from 1/nu = t_ref + tau_m sqrt(pi) int_{y_r}^{y_theta} exp(x^2)(1 + erf x) dx and CV from
// the second moment of the first-passage time (Brunel 2000, appendix A; Brunel & Hakim 1999):
//   CV^2 = 2 pi (nu tau_m)^2 int_{y_r}^{y_theta} exp(x^2) dx int_{-inf}^x exp(y^2)(1 + erf y)^2 dy,
// with y = (. - mu)/sigma. Both use adaptive Gauss-Kronrod quadrature (relative tolerance 1e-11
// on the rate integral; 1e-10 on each inner and 1e-9 on the outer CV integral) on integrands
// scaled by exp(-a^2) (once and twice), a = max(y_theta, 0), so that nothing overflows far below
// threshold: the CV stays accurate while the rate underflows gracefully (to 0 below ~1e-308 Hz).
// A call costs ~0.3-10 ms. When sigma <= 1e-6 |theta - mu| the diffusion correction is below
// ~1e-13 relative and the deterministic limit is returned: above threshold the LIF rate with the
// small-noise CV
//   CV = tau_m sigma / sqrt(2) sqrt(1/(mu - theta)^2 - 1/(mu - v_reset)^2) / ISI,
// at or below it rate 0 with CV 1 (escape over a huge barrier is Poissonian), NaN if sigma = 0.
// Throws std::invalid_argument for tau_m <= 0, sigma < 0, v_reset >= theta, t_ref < 0 or a
// non-finite argument; std::runtime_error if a quadrature fails to converge.
lif_noise_result siegert(double mu, double sigma, double tau_m, double theta, double v_reset,
                         double t_ref);

// The threshold that a simulation with time step dt effectively has when it checks u >= theta
// only at the ends of steps (spikesim does: docs/models.md). Between two checks the membrane can
// cross and come back, so the simulated neuron fires less, as if its threshold were higher:
//   theta_eff = theta + beta sigma sqrt(dt / tau_m),  beta = -zeta(1/2) / sqrt(2 pi) = 0.5826,
// where sigma sqrt(dt / tau_m) is the SD of the noise added in one step. beta is the expected
// overshoot of a Gaussian random walk over a distant barrier in units of its step SD (Siegmund
// 1979; the "continuity correction" of Broadie, Glasserman & Kou 1997, Math. Finance 7:325), and
// shifting the boundary by it makes the first-passage statistics of a discretely monitored
// diffusion correct to o(sqrt(dt)) (Gobet & Menozzi 2010, Stoch. Proc. Appl. 120:130). It is the
// discrete-time counterpart of the shift sigma (|zeta(1/2)|/sqrt 2) sqrt(tau_s / tau_m) that
// Brunel & Sergi (1998) and Fourcaud & Brunel (2002) derive for synaptic filtering with time
// constant tau_s. Pass theta_eff to siegert() to predict what a run at this dt will measure.
// Throws std::invalid_argument for sigma < 0, tau_m <= 0, dt < 0 or a non-finite argument.
double discrete_time_threshold(double theta, double sigma, double tau_m, double dt);

// ---------------------------------------------------------------------------------------------
// Brunel (2000) model A, sparse E/I network of LIF neurons with delta synapses: each neuron has
// C_E excitatory inputs of J mV, C_I = gamma C_E inhibitory ones of -g J mV, and C_E external
// Poisson inputs of J mV at nu_ext = eta nu_thr, nu_thr = theta / (J C_E tau). In the diffusion
// approximation, with rates in 1/ms and tau in ms (Brunel 2000, eqs. 4-5):
//   mu = C_E J tau (nu_ext + nu (1 - g gamma)),  sigma^2 = J^2 C_E tau (nu_ext + nu (1 + g^2
//   gamma)),
// and the stationary rate solves nu = Siegert(mu(nu), sigma(nu)).
struct brunel_params {
  double g = 5.0;         // relative inhibition
  double eta = 2.0;       // nu_ext / nu_thr
  double J = 0.1;         // mV, excitatory PSP
  double C_E = 1000.0;    // excitatory inputs per neuron (also the external sources)
  double gamma = 0.25;    // C_I / C_E
  double tau_m = 20.0;    // ms
  double theta = 20.0;    // mV, relative to rest
  double v_reset = 10.0;  // mV, relative to rest
  double t_ref = 2.0;     // ms
};

struct brunel_result {
  double rate_hz;    // the self-consistent rate nu
  double mu, sigma;  // mV, at nu
  double cv;         // ISI CV of the Siegert neuron at (mu, sigma)
  double nu_thr_hz;  // theta / (J C_E tau)
  double nu_ext_hz;  // eta nu_thr
};

// The self-consistent rate by bisection on nu - Siegert(mu(nu), sigma(nu)) over
// [0, 1/t_ref], to 1e-10 relative. The root need not be unique (the input's sigma grows with nu,
// so Siegert(mu(nu), sigma(nu)) can rise with nu even when inhibition dominates: g = 4.5,
// eta = 0.9); bisection returns one root of possibly several. dt > 0 replaces theta by the
// discrete-time threshold of a simulation at that step (discrete_time_threshold, at each
// sigma(nu)). Throws std::invalid_argument for non-positive J, C_E, tau_m, eta < 0, g < 0, gamma <
// 0.
brunel_result brunel_rate(const brunel_params& p, double dt = 0.0);

// ---------------------------------------------------------------------------------------------
// Deterministic LIF, tau_m du/dt = -(u - E_L) + R_m I:
//   1/nu = t_ref + tau_m ln((E_L + R_m I - V_reset) / (E_L + R_m I - V_th))
// for E_L + R_m I > V_th, else 0 Hz. Requires tau_m > 0, R_m > 0, V_reset < V_th, t_ref >= 0.
double lif_rate_hz(double I_nA, double tau_m, double E_L, double R_m, double V_th, double V_reset,
                   double t_ref);

// Smallest constant current that drives the LIF to threshold: (V_th - E_L) / R_m.
double lif_rheobase_nA(double E_L, double R_m, double V_th);

// ---------------------------------------------------------------------------------------------
// EIF phase line: tau_m du/dt = f(u) = -(u - E_L) + delta_T exp((u - V_T)/delta_T) + R_m I.
// f is convex with its minimum at u = V_T (f'(u) = -1 + exp((u - V_T)/delta_T)), so there are at
// most two fixed points, one on each side of V_T. Field names match eif_params.
struct eif_params_view {
  double tau_m, E_L, R_m, delta_T, V_T, V_peak, V_reset, t_ref;
};

// f(u) in mV, written without the cancellation of the textbook form near the saddle node.
double eif_f(const eif_params_view& p, double I_nA, double u);
// The minimum of f, at u = V_T.
double eif_f_min(const eif_params_view& p, double I_nA);

struct fixed_point {
  double u_mV;
  bool stable;  // f'(u) < 0
};

// The fixed points in ascending order: none above the rheobase, one (at V_T, not stable) exactly
// at it, two below it. Each is bracketed by V_T and solved by safeguarded Newton/bisection to
// 1e-12 mV.
std::vector<fixed_point> eif_fixed_points(const eif_params_view& p, double I_nA);

// Saddle-node current (V_T - E_L - delta_T) / R_m, where the two fixed points merge.
double eif_rheobase_nA(const eif_params_view& p);

// The same current found without the closed form: bisection (to 1e-12 nA) on whether the phase
// line has a zero, which is decided by locating the minimum of the convex f numerically (golden
// section). Agrees with eif_rheobase_nA to ~1e-12 nA.
double eif_rheobase_numeric_nA(const eif_params_view& p);

// Periodic firing rate: 1000 / (t_ref + tau_m int_{V_reset}^{V_peak} du / f(u)) (adaptive
// Gauss-Kronrod, relative tolerance 1e-10). 0 Hz when the trajectory from V_reset cannot reach
// V_peak, i.e. when f(V_reset) <= 0 or a fixed point lies in [V_reset, V_peak]. Note that with
// V_reset above the unstable fixed point the neuron fires even below the rheobase.
double eif_rate_hz(const eif_params_view& p, double I_nA);

// What `siegert` predicts in continuous time and for a simulation at time step dt > 0 (the
// threshold raised to theta_eff = discrete_time_threshold); dt = 0: at_dt = exact and theta_eff =
// theta. Throws as siegert and discrete_time_threshold do (the continuous-time checks first).
struct lif_noise_prediction {
  lif_noise_result exact;
  double theta_eff;        // mV, relative to rest
  lif_noise_result at_dt;  // threshold checked at the ends of steps of dt
};
lif_noise_prediction siegert_prediction(double mu, double sigma, double tau_m, double theta,
                                        double v_reset, double t_ref, double dt);

// ---------------------------------------------------------------------------------------------
// The stationary theory of the populations of an experiment (`spikesim theory CONFIG`).

// Whether the Siegert formula describes a population: LIF with white noise (the input of
// projections and Poisson drive left out).
enum class siegert_scope { applies, not_lif, coloured_noise };
siegert_scope siegert_scope_of(const population_spec& p);

// The constant currents (nA) to tabulate: every distinct one up to 20 of them (each neuron's on a
// ramp of up to 20 neurons), else 11 evenly spaced over their range, and then `note` says so.
std::vector<double> tabulated_currents(const population_spec& p, std::string* note);

// The Siegert prediction for a LIF neuron at constant current I with white noise sigma (mV), and
// as simulated at time step dt (siegert_prediction). Potentials relative to E_L, mu = R_m I.
struct lif_stationary {
  double mu;  // mV
  lif_noise_prediction at;
};
lif_stationary lif_stationary_at(const lif_params& p, double sigma, double I_nA, double dt);

}  // namespace theory
}  // namespace spikesim
