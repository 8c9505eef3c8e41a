// `spikesim model`: single-neuron analysis without running an experiment. For LIF and EIF the
// phase line (fixed points and their stability, rheobase, effective threshold) and the
// deterministic f–I curve from theory, with the noisy-LIF rate and CV; for Hodgkin–Huxley the
// f–I curve by simulating one neuron per current. Printed, and written as CSV or HDF5.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/models/eif.hpp>
#include <spikesim/models/hh.hpp>
#include <spikesim/models/lif.hpp>
#include <spikesim/models/param_table.hpp>
#include <spikesim/theory.hpp>

#include "cli/commands.hpp"
#include "io/h5.hpp"

namespace spikesim::cli {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t k_max_currents = 10001;
constexpr std::size_t k_phase_points = 801;

// ------------------------------------------------------------------------------- parameters

struct param_value {
  std::string key, unit;
  double value;
  std::string source;  // where the value came from, for messages: "--tau_m" or a config path
};

using param_list = std::vector<param_value>;

// The model's parameters at their defaults, from the table the config loader reads.
template <class P>
param_list defaults_of() {
  const P p;
  param_list list;
  for (const auto& f : param_table<P>::fields) list.push_back({f.key, f.unit, p.*f.member, ""});
  return list;
}

param_list default_params(const std::string& model) {
  if (model == "lif") return defaults_of<lif_params>();
  if (model == "eif") return defaults_of<eif_params>();
  return defaults_of<hh_params>();
}

// Every parameter key of the supported models, for the flags (same names as the config keys).
const std::vector<std::pair<std::string, std::string>>& all_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys = [] {
    std::vector<std::pair<std::string, std::string>> k;
    for (const char* m : {"lif", "eif", "hh"})
      for (const param_value& p : default_params(m)) {
        bool seen = false;
        for (const auto& e : k) seen = seen || e.first == p.key;
        if (!seen) k.emplace_back(p.key, p.unit);
      }
    return k;
  }();
  return keys;
}

template <class List>
auto& find(List& ps, const std::string& key) {
  for (auto& p : ps)
    if (p.key == key) return p;
  throw std::logic_error("no parameter " + key);
}
double get(const param_list& ps, const std::string& key) {
  return find(ps, key).value;
}

std::string fmt(double x, int digits = 6) {
  if (std::isnan(x)) return "-";
  std::ostringstream o;
  o << std::setprecision(digits) << x;
  return o.str();
}

// A value as the user wrote it, for messages (nan and inf included).
std::string show(double x) {
  std::ostringstream o;
  o << std::setprecision(10) << x;
  return o.str();
}

[[noreturn]] void bad(const param_value& p, const std::string& why) {
  throw config_error("config error: " + p.source + " = " + show(p.value) + " " + p.unit + ": " +
                     why);
}

void require(bool ok, const param_list& ps, const std::string& key, const std::string& why) {
  if (!ok) bad(find(ps, key), why);
}

// The config loader's rules for lif and eif, so a value is accepted here exactly when a run
// accepts it; for hh a positive capacitance and leak and non-negative conductances.
void validate(const std::string& model, const param_list& ps) {
  for (const param_value& p : ps)
    if (!std::isfinite(p.value)) bad(p, "must be a finite number");
  auto v = [&ps](const char* k) { return get(ps, k); };
  if (model == "hh") {
    require(v("C_m") > 0, ps, "C_m", "must be > 0");
    require(v("g_Na") >= 0, ps, "g_Na", "must be >= 0");
    require(v("g_K") >= 0, ps, "g_K", "must be >= 0");
    require(v("g_L") > 0, ps, "g_L", "must be > 0");
    return;
  }
  require(v("tau_m") > 0, ps, "tau_m", "must be > 0");
  require(v("R_m") > 0, ps, "R_m", "must be > 0");
  require(v("t_ref") >= 0, ps, "t_ref", "must be >= 0");
  if (model == "lif") {
    require(v("V_reset") < v("V_th"), ps, "V_reset",
            "must be below V_th = " + show(v("V_th")) + " mV");
    return;
  }
  require(v("delta_T") > 0, ps, "delta_T", "must be > 0");
  require(v("V_peak") > v("V_T"), ps, "V_peak", "must be above V_T = " + show(v("V_T")) + " mV");
  require(v("V_reset") < v("V_peak"), ps, "V_reset",
          "must be below V_peak = " + show(v("V_peak")) + " mV");
}

theory::eif_params_view eif_view(const param_list& ps) {
  return {get(ps, "tau_m"), get(ps, "E_L"),    get(ps, "R_m"),     get(ps, "delta_T"),
          get(ps, "V_T"),   get(ps, "V_peak"), get(ps, "V_reset"), get(ps, "t_ref")};
}

hh_params hh_of(const param_list& ps) {
  hh_params p;
  p.C_m = get(ps, "C_m");
  p.g_Na = get(ps, "g_Na");
  p.g_K = get(ps, "g_K");
  p.g_L = get(ps, "g_L");
  p.E_Na = get(ps, "E_Na");
  p.E_K = get(ps, "E_K");
  p.E_L = get(ps, "E_L");
  p.V_spike = get(ps, "V_spike");
  return p;
}

// ------------------------------------------------------------------------------- the report

struct fixed_point_row {
  double u;           // mV
  double eigenvalue;  // 1/ms: f'(u) / tau_m (or / C_m), the linearised relaxation rate
  bool stable;
};

struct fI_row {
  double I;
  double rate;  // Hz
  double u_stable = k_nan, u_unstable = k_nan;
  double rate_noise = k_nan, cv_noise = k_nan;
  uint64_t spikes = 0;
};

struct saddle_row {
  double distance;  // I_rh - I
  double gap;       // mV between the fixed points
  double law;       // mV, 2 sqrt(2 delta_T R_m (I_rh - I))
};

struct report {
  std::string model, title, equation, phase_units, I_units;
  param_list params;
  double I = 0;
  std::vector<fixed_point_row> fixed_points;
  double rheobase = k_nan, rheobase_numeric = k_nan, threshold0 = k_nan;
  std::string rheobase_note, threshold_note, fI_method;
  double sigma = 0;  // mV, LIF noisy rate and CV when > 0
  theory::lif_noise_result noisy_at_I{k_nan, k_nan, k_nan};
  std::vector<saddle_row> saddle;
  std::vector<fI_row> rows;
  std::vector<double> phase_u, phase_f;
};

struct current_range {
  double from, to, step;
  std::vector<double> values() const {
    const std::size_t n = static_cast<std::size_t>(std::floor((to - from) / step + 1e-9)) + 1;
    std::vector<double> v(n);
    for (std::size_t k = 0; k < n; ++k) v[k] = from + static_cast<double>(k) * step;
    return v;
  }
};

// Smallest current in [lo, hi] at which `fires` holds, by bisection to 1e-12 (relative).
template <class F>
double bisect_current(F fires, double lo, double hi) {
  while (fires(lo)) lo -= 2 * (hi - lo);
  while (!fires(hi)) hi += 2 * (hi - lo);
  for (int i = 0; i < 200 && hi - lo > 1e-12 * std::max(1.0, std::abs(hi)); ++i) {
    const double mid = 0.5 * (lo + hi);
    (fires(mid) ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi);
}

std::vector<double> grid(double lo, double hi, std::size_t n) {
  std::vector<double> g(n);
  for (std::size_t k = 0; k < n; ++k) g[k] = lo + (hi - lo) * static_cast<double>(k) / (n - 1);
  return g;
}

// --- LIF: tau_m du/dt = -(u - E_L) + R_m I, threshold V_th imposed.

void analyse_lif(report& r, const std::vector<double>& currents) {
  const param_list& ps = r.params;
  const double tau = get(ps, "tau_m"), E_L = get(ps, "E_L"), R = get(ps, "R_m");
  const double V_th = get(ps, "V_th"), V_reset = get(ps, "V_reset"), t_ref = get(ps, "t_ref");
  r.title = "leaky integrate-and-fire";
  r.equation = "tau_m du/dt = f(u) = -(u - E_L) + R_m I; spike at u = V_th, reset to V_reset";
  r.phase_units = "mV";
  r.I_units = "nA";
  r.fI_method = "analytic: 1/rate = t_ref + tau_m ln((E_L + R_m I - V_reset)/(E_L + R_m I - V_th))";
  auto fixed = [&](double I) { return E_L + R * I; };
  if (fixed(r.I) < V_th) r.fixed_points.push_back({fixed(r.I), -1.0 / tau, true});
  r.rheobase = theory::lif_rheobase_nA(E_L, R, V_th);
  r.rheobase_note = "(V_th - E_L) / R_m";
  r.rheobase_numeric = bisect_current(
      [&](double I) { return theory::lif_rate_hz(I, tau, E_L, R, V_th, V_reset, t_ref) > 0; }, 0.0,
      1.0);
  r.threshold_note =
      "none: the threshold V_th = " + fmt(V_th) + " mV is imposed and does not depend on the input";
  auto noisy = [&](double I) {
    return theory::siegert(R * I, r.sigma, tau, V_th - E_L, V_reset - E_L, t_ref);
  };
  if (r.sigma > 0) r.noisy_at_I = noisy(r.I);
  for (double I : currents) {
    fI_row row{I, theory::lif_rate_hz(I, tau, E_L, R, V_th, V_reset, t_ref)};
    if (fixed(I) < V_th) row.u_stable = fixed(I);
    if (r.sigma > 0) {
      const auto n = noisy(I);
      row.rate_noise = n.rate_hz;
      row.cv_noise = n.cv;
    }
    r.rows.push_back(row);
  }
  r.phase_u = grid(std::min({E_L, V_reset, fixed(r.I)}) - 10.0, V_th, k_phase_points);
  for (double u : r.phase_u) r.phase_f.push_back(-(u - E_L) + R * r.I);
}

// --- EIF: tau_m du/dt = -(u - E_L) + delta_T exp((u - V_T)/delta_T) + R_m I.

void analyse_eif(report& r, const std::vector<double>& currents) {
  const theory::eif_params_view v = eif_view(r.params);
  r.title = "exponential integrate-and-fire";
  r.equation =
      "tau_m du/dt = f(u) = -(u - E_L) + delta_T exp((u - V_T)/delta_T) + R_m I; spike at "
      "u = V_peak, reset to V_reset";
  r.phase_units = "mV";
  r.I_units = "nA";
  r.fI_method = "quadrature: 1/rate = t_ref + tau_m int_{V_reset}^{V_peak} du / f(u)";
  auto points = [&v](double I) {
    std::vector<fixed_point_row> out;
    for (const auto& fp : theory::eif_fixed_points(v, I))
      out.push_back({fp.u_mV, std::expm1((fp.u_mV - v.V_T) / v.delta_T) / v.tau_m, fp.stable});
    return out;
  };
  r.fixed_points = points(r.I);
  r.rheobase = theory::eif_rheobase_nA(v);
  r.rheobase_note = "(V_T - E_L - delta_T) / R_m, the saddle-node";
  r.rheobase_numeric = theory::eif_rheobase_numeric_nA(v);
  const auto at_zero = points(0.0);
  if (at_zero.size() == 2) {
    r.threshold0 = at_zero[1].u;
    r.threshold_note = "the unstable fixed point at I = 0";
  } else if (at_zero.size() == 1) {
    r.threshold0 = at_zero[0].u;
    r.threshold_note = "I = 0 is the rheobase: the two fixed points coincide";
  } else {
    r.threshold_note = "none: I = 0 is above the rheobase, there is no fixed point";
  }
  for (double d : {1.0, 0.1, 0.01, 0.001}) {
    const auto fp = points(r.rheobase - d);
    if (fp.size() == 2)
      r.saddle.push_back({d, fp[1].u - fp[0].u, 2.0 * std::sqrt(2.0 * v.delta_T * v.R_m * d)});
  }
  for (double I : currents) {
    fI_row row{I, theory::eif_rate_hz(v, I)};
    for (const auto& fp : points(I)) (fp.stable ? row.u_stable : row.u_unstable) = fp.u;
    r.rows.push_back(row);
  }
  r.phase_u =
      grid(std::min({v.E_L, v.V_reset, v.E_L + v.R_m * r.I}) - 10.0, v.V_peak, k_phase_points);
  for (double u : r.phase_u) r.phase_f.push_back(theory::eif_f(v, r.I, u));
}

// --- HH: f–I by simulation; the phase line of the reduced model (n and h frozen at rest, m at
// m_inf(V)): C_m dV/dt = g_L (E_L - V) + g_Na m_inf(V)^3 h_rest (E_Na - V) + g_K n_rest^4 (E_K - V)
// + I.

struct hh_sim {
  double dt, duration;
};

fI_row simulate_hh(const hh_params& p, double rest, double I, const hh_sim& s) {
  const auto c = make_hh_coeffs<double>(p, noise_params{}, s.dt);
  double V = rest, m, h, n;
  hh_steady_gates(V, m, h, n);
  const auto steps = static_cast<uint64_t>(std::llround(s.duration / s.dt));
  std::vector<double> late;  // upward crossings in the second half, interpolated (ms)
  fI_row row{I, 0.0};
  for (uint64_t k = 0; k < steps; ++k) {
    const double before = V;
    if (hh_step(c, V, m, h, n, I, 0.0)) {
      ++row.spikes;
      const double t = (static_cast<double>(k) + (p.V_spike - before) / (V - before)) * s.dt;
      if (t >= 0.5 * s.duration) late.push_back(t);
    }
    if (!std::isfinite(V))
      throw numerical_error("hh at I = " + fmt(I) + " uA/cm^2: V is " + fmt(V) +
                            " at t = " + fmt(static_cast<double>(k + 1) * s.dt) + " ms");
  }
  if (late.size() >= 2)
    row.rate = 1000.0 * static_cast<double>(late.size() - 1) / (late.back() - late.front());
  return row;
}

void analyse_hh(report& r, const std::vector<double>& currents, const hh_sim& s) {
  const hh_params p = hh_of(r.params);
  r.title = "Hodgkin-Huxley (squid axon, V from rest)";
  r.equation =
      "reduced phase line (h, n frozen at rest, m = m_inf(V)): C_m dV/dt = f(V) = g_L (E_L - V) "
      "+ g_Na m_inf^3 h_rest (E_Na - V) + g_K n_rest^4 (E_K - V) + I";
  r.phase_units = "uA/cm^2";
  r.I_units = "uA/cm^2";
  const double rest = hh_resting_potential(p);
  if (!std::isfinite(rest))
    throw config_error("config error: hh parameters: no resting potential in [-20, 20] mV");
  double m0, h0, n0;
  hh_steady_gates(rest, m0, h0, n0);
  auto f = [&](double V, double I) {
    double m, h, n;
    hh_steady_gates(V, m, h, n);
    return p.g_L * (p.E_L - V) + p.g_Na * m * m * m * h0 * (p.E_Na - V) +
           p.g_K * n0 * n0 * n0 * n0 * (p.E_K - V) + I;
  };
  const double lo = std::min(p.E_K, rest) - 10.0, hi = std::max(p.E_Na, rest) + 10.0;
  auto zeros = [&](double I) {
    std::vector<fixed_point_row> out;
    const std::size_t n = static_cast<std::size_t>((hi - lo) / 0.01) + 1;
    const std::vector<double> g = grid(lo, hi, n);
    for (std::size_t k = 0; k + 1 < n; ++k) {
      double a = g[k], b = g[k + 1];
      const double fa = f(a, I), fb = f(b, I);
      if (fa == 0.0 || (fa > 0) == (fb > 0)) continue;
      for (int it = 0; it < 100 && b - a > 1e-12; ++it) {
        const double mid = 0.5 * (a + b);
        ((f(mid, I) > 0) == (fa > 0) ? a : b) = mid;
      }
      const double u = 0.5 * (a + b);
      const double slope = (f(u + 1e-6, I) - f(u - 1e-6, I)) / 2e-6;
      out.push_back({u, slope / p.C_m, slope < 0});
    }
    return out;
  };
  r.fixed_points = zeros(r.I);
  const auto at_zero = zeros(0.0);
  if (at_zero.size() == 3) {
    r.threshold0 = at_zero[1].u;
    r.threshold_note = "the middle (unstable) zero of the reduced phase line at I = 0";
  } else {
    r.threshold_note =
        "none: the reduced phase line has " + std::to_string(at_zero.size()) + " zero(s) at I = 0";
  }
  r.rheobase_note = "not defined for hh: see where the f-I curve starts";
  std::ostringstream method;
  method << "simulation: one neuron from rest, dt = " << s.dt << " ms, " << s.duration
         << " ms per current; rate = 1000 / mean ISI of the spikes in the second half (0 with "
            "fewer than two)";
  r.fI_method = method.str();
  for (double I : currents) r.rows.push_back(simulate_hh(p, rest, I, s));
  r.phase_u = grid(lo, hi, k_phase_points);
  for (double u : r.phase_u) r.phase_f.push_back(f(u, r.I));
}

// ------------------------------------------------------------------------------- output

void print_report(std::ostream& o, const report& r, const current_range& range) {
  const std::string& iu = r.I_units;
  o << "model " << r.model << " (" << r.title << ")\n  ";
  for (std::size_t k = 0; k < r.params.size(); ++k)
    o << (k ? ", " : "") << r.params[k].key << " = " << fmt(r.params[k].value) << " "
      << r.params[k].unit;
  o << "\n  " << r.equation << "\n\n";

  o << "fixed points at I = " << fmt(r.I) << " " << iu << ":\n";
  if (r.fixed_points.empty()) o << "  none: the neuron fires repetitively\n";
  if (!r.fixed_points.empty())
    o << std::setw(14) << "u (mV)"
      << "  " << std::left << std::setw(10) << "stability" << std::right << std::setw(19)
      << "eigenvalue (1/ms)\n";
  for (const auto& fp : r.fixed_points)
    o << std::setw(14) << fmt(fp.u, 8) << "  " << std::left << std::setw(10)
      << (fp.stable ? "stable" : "unstable") << std::right << std::setw(18) << fmt(fp.eigenvalue, 4)
      << "\n";
  if (r.sigma > 0)
    o << "  with noise sigma = " << fmt(r.sigma) << " mV (Siegert): rate "
      << fmt(r.noisy_at_I.rate_hz) << " Hz, CV " << fmt(r.noisy_at_I.cv, 4) << "\n";
  if (r.model != "hh")
    o << "rheobase: " << fmt(r.rheobase, 8) << " " << iu << " (" << r.rheobase_note << "), "
      << fmt(r.rheobase_numeric, 8) << " " << iu << " (numerical)\n";
  if (r.model == "hh") {
    double onset = k_nan;
    for (const auto& row : r.rows)
      if (std::isnan(onset) && row.rate > 0) onset = row.I;
    o << "repetitive firing from: "
      << (std::isnan(onset) ? std::string("none in the range") : fmt(onset) + " " + iu)
      << " (the first current of the f-I range with a periodic rate)\n";
  }
  o << "effective threshold at I = 0: "
    << (std::isnan(r.threshold0) ? r.threshold_note
                                 : fmt(r.threshold0, 8) + " mV (" + r.threshold_note + ")")
    << "\n";
  if (!r.saddle.empty()) {
    o << "\nsaddle-node: the fixed points merge as I approaches the rheobase, their gap close "
         "to it\nfollowing 2 sqrt(2 delta_T R_m (I_rh - I))\n"
      << std::setw(16) << "I_rh - I (nA)" << std::setw(14) << "gap (mV)" << std::setw(16)
      << "sqrt law (mV)\n";
    for (const auto& s : r.saddle)
      o << std::setw(16) << fmt(s.distance) << std::setw(14) << fmt(s.gap) << std::setw(15)
        << fmt(s.law) << "\n";
  }

  o << "\nf-I curve, I = " << fmt(range.from) << ":" << fmt(range.to) << ":" << fmt(range.step)
    << " " << iu << " (" << r.fI_method << ")\n";
  const bool hh = r.model == "hh";
  o << std::setw(12) << ("I (" + iu + ")") << std::setw(12) << "rate (Hz)";
  if (hh) {
    o << std::setw(10) << "spikes";
  } else {
    o << std::setw(14) << "stable (mV)" << std::setw(15) << "unstable (mV)" << std::setw(11)
      << "gap (mV)";
    if (r.sigma > 0) o << std::setw(16) << "noisy rate (Hz)" << std::setw(10) << "noisy CV";
  }
  o << "\n";
  for (const auto& row : r.rows) {
    o << std::setw(12) << fmt(row.I) << std::setw(12) << fmt(row.rate);
    if (hh) {
      o << std::setw(10) << row.spikes;
    } else {
      o << std::setw(14) << fmt(row.u_stable) << std::setw(15) << fmt(row.u_unstable)
        << std::setw(11) << fmt(row.u_unstable - row.u_stable);
      if (r.sigma > 0)
        o << std::setw(16) << fmt(row.rate_noise) << std::setw(10) << fmt(row.cv_noise, 4);
    }
    o << "\n";
  }
}

// Written to PATH.partial and renamed, like the run output: a failed write leaves nothing.
void commit(const std::string& partial, const std::string& path) {
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    throw output_error("cannot create output '" + path + "'");
  }
}

std::string csv_num(double x) {
  if (std::isnan(x)) return "nan";
  std::ostringstream o;
  o << std::setprecision(12) << x;
  return o.str();
}

void write_csv(const report& r, const std::string& path) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial);
    if (!out) throw output_error("cannot create output '" + path + "'");
    const bool hh = r.model == "hh";
    out << (hh ? "I_uA_per_cm2,rate_Hz,spikes" : "I_nA,rate_Hz,u_stable_mV,u_unstable_mV,gap_mV");
    if (!hh && r.sigma > 0) out << ",rate_noise_Hz,cv_noise";
    out << "\n";
    for (const auto& row : r.rows) {
      out << csv_num(row.I) << "," << csv_num(row.rate);
      if (hh) {
        out << "," << row.spikes;
      } else {
        out << "," << csv_num(row.u_stable) << "," << csv_num(row.u_unstable) << ","
            << csv_num(row.u_unstable - row.u_stable);
        if (r.sigma > 0) out << "," << csv_num(row.rate_noise) << "," << csv_num(row.cv_noise);
      }
      out << "\n";
    }
    out.flush();
    if (!out) {
      out.close();
      std::remove(partial.c_str());
      throw output_error("cannot write output '" + path + "'");
    }
  }
  commit(partial, path);
}

template <class T>
void dataset(hid_t g, const std::string& name, const std::vector<T>& v, const std::string& units) {
  h5::write_vector(g, name, v);
  h5::handle ds(H5Dopen2(g, name.c_str(), H5P_DEFAULT), H5Dclose);
  h5::attr(ds, "units", units);
}

void write_h5(const report& r, const std::string& path) {
  const std::string partial = path + ".partial";
  h5::quiet_errors quiet;
  try {
    h5::handle f = h5::create_file(partial);
    h5::attr(f, "magic", file_magic);
    h5::attr(f, "version", std::vector<uint32_t>{0, 1});
    h5::attr(f, "kind", std::string("model"));
    h5::attr(f, "simulator", std::string("spikesim"));
    h5::attr(f, "simulator_version", simulator_version());
    h5::attr(f, "git_sha", git_sha());
    h5::attr(f, "created_utc", utc_now());

    h5::handle m = h5::create_group(f, "model");
    h5::attr(m, "model", r.model);
    h5::attr(m, "equation", r.equation);

    h5::handle params = h5::create_group(m, "parameters");
    for (const auto& p : r.params) h5::write_scalar(params, p.key, p.value, p.unit);

    h5::handle fp = h5::create_group(m, "fixed_points");
    h5::write_scalar(fp, "I", r.I, r.I_units);
    std::vector<double> u, eig;
    std::vector<uint32_t> stable;
    for (const auto& x : r.fixed_points) {
      u.push_back(x.u);
      eig.push_back(x.eigenvalue);
      stable.push_back(x.stable ? 1u : 0u);
    }
    dataset(fp, "u", u, "mV");
    dataset(fp, "stable", stable, "1 = stable, 0 = unstable");
    dataset(fp, "eigenvalue", eig, "1/ms");
    h5::write_scalar(fp, "rheobase", r.rheobase, r.I_units);
    h5::write_scalar(fp, "rheobase_numeric", r.rheobase_numeric, r.I_units);
    h5::write_scalar(fp, "effective_threshold", r.threshold0, "mV");
    h5::attr(fp, "effective_threshold_note", r.threshold_note);

    h5::handle fi = h5::create_group(m, "fI");
    h5::attr(fi, "method", r.fI_method);
    std::vector<double> I, rate, us, uu, rn, cv;
    std::vector<uint64_t> spikes;
    for (const auto& row : r.rows) {
      I.push_back(row.I);
      rate.push_back(row.rate);
      us.push_back(row.u_stable);
      uu.push_back(row.u_unstable);
      rn.push_back(row.rate_noise);
      cv.push_back(row.cv_noise);
      spikes.push_back(row.spikes);
    }
    dataset(fi, "I", I, r.I_units);
    dataset(fi, "rate", rate, "Hz");
    if (r.model == "hh") {
      dataset(fi, "spikes", spikes, "spikes");
    } else {
      dataset(fi, "u_stable", us, "mV");
      dataset(fi, "u_unstable", uu, "mV");
    }
    if (r.sigma > 0) {
      h5::write_scalar(fi, "sigma", r.sigma, "mV");
      dataset(fi, "rate_noise", rn, "Hz");
      dataset(fi, "cv_noise", cv, "1");
    }

    h5::handle pl = h5::create_group(m, "phase_line");
    h5::attr(pl, "equation", r.equation);
    h5::write_scalar(pl, "I", r.I, r.I_units);
    dataset(pl, "u", r.phase_u, "mV");
    dataset(pl, "f", r.phase_f, r.phase_units);
  } catch (const output_error&) {
    std::remove(partial.c_str());
    throw output_error("cannot create output '" + path + "'");
  }
  commit(partial, path);
}

// ------------------------------------------------------------------------------- arguments

struct model_args {
  std::string model, config, population, I_range, csv, h5;
  std::vector<std::string> sets;
  double I = 0, sigma = 0, dt = 0.01, duration = 1000.0;
  std::map<std::string, double> values;
  std::map<std::string, CLI::Option*> options;
  CLI::Option *I_opt = nullptr, *sigma_opt = nullptr, *dt_opt = nullptr, *duration_opt = nullptr,
              *model_opt = nullptr;
};

[[noreturn]] void range_error(const std::string& text, const std::string& why) {
  throw config_error("config error: --I-range = '" + text + "': " + why);
}

current_range parse_range(const std::string& text) {
  double v[3];
  std::size_t pos = 0;
  for (int k = 0; k < 3; ++k) {
    const std::size_t end = k < 2 ? text.find(':', pos) : text.size();
    if (end == std::string::npos) range_error(text, "expected from:to:step");
    const std::string part = text.substr(pos, end - pos);
    char* stop = nullptr;
    v[k] = std::strtod(part.c_str(), &stop);
    if (part.empty() || *stop != '\0' || !std::isfinite(v[k]))
      range_error(text, "'" + part + "' is not a finite number (expected from:to:step)");
    pos = end + 1;
  }
  const current_range r{v[0], v[1], v[2]};
  if (!(r.step > 0)) range_error(text, "step must be > 0");
  if (!(r.to > r.from)) range_error(text, "from must be below to (the range is inverted or empty)");
  if ((r.to - r.from) / r.step + 1 > static_cast<double>(k_max_currents))
    range_error(text, "more than " + std::to_string(k_max_currents) + " currents");
  return r;
}

void model_command(model_args& a) {
  param_list params;
  std::string model = a.model;
  double I = 0, sigma = 0;
  if (!a.config.empty() || !a.population.empty()) {
    if (a.config.empty() || a.population.empty())
      throw config_error("config error: --config and --population go together");
    const experiment_spec spec = load_config(a.config, a.sets);
    const population_spec* pop = nullptr;
    std::string names;
    for (const auto& p : spec.populations) {
      if (p.name == a.population) pop = &p;
      names += (names.empty() ? "" : ", ") + p.name;
    }
    if (!pop)
      throw config_error("config error: --population = " + a.population +
                         ": no such population in " + a.config + " (it has: " + names + ")");
    const std::string pop_model = pop->model_name();
    if (a.model_opt->count() && a.model != pop_model)
      throw config_error("config error: --model = " + a.model + ": population " + a.population +
                         " is " + pop_model);
    model = pop_model;
    params = default_params(model);
    const std::string path = "population." + a.population + ".params.";
    auto set = [&](const std::string& k, double v) {
      param_value& p = find(params, k);
      p.value = v;
      p.source = path + k;
    };
    if (const auto* l = std::get_if<lif_params>(&pop->params)) {
      for (const auto& [k, v] : {std::pair<const char*, double>{"tau_m", l->tau_m},
                                 {"E_L", l->E_L},
                                 {"R_m", l->R_m},
                                 {"V_th", l->V_th},
                                 {"V_reset", l->V_reset},
                                 {"t_ref", l->t_ref}})
        set(k, v);
    } else if (const auto* e = std::get_if<eif_params>(&pop->params)) {
      for (const auto& [k, v] : {std::pair<const char*, double>{"tau_m", e->tau_m},
                                 {"E_L", e->E_L},
                                 {"R_m", e->R_m},
                                 {"delta_T", e->delta_T},
                                 {"V_T", e->V_T},
                                 {"V_peak", e->V_peak},
                                 {"V_reset", e->V_reset},
                                 {"t_ref", e->t_ref}})
        set(k, v);
    } else {
      throw config_error("config error: population " + a.population + " has model " + pop_model +
                         ": `spikesim model` reads lif and eif populations (hh: use --model hh)");
    }
    if (pop->input.I.uniform()) I = pop->input.I.values[0];
    if (model == "lif" && pop->input.noise.tau_noise == 0) sigma = pop->input.noise.sigma;
  } else {
    if (!a.model_opt->count())
      throw config_error(
          "config error: model: give --model lif|eif|hh or --config FILE --population NAME");
    params = default_params(model);
  }
  for (auto& p : params)
    if (p.source.empty()) p.source = "--" + p.key + " (default)";

  for (const auto& [key, opt] : a.options) {
    if (!opt->count()) continue;
    bool known = false;
    for (auto& p : params) {
      if (p.key != key) continue;
      p.value = a.values[key];
      p.source = "--" + key;
      known = true;
    }
    if (!known) {
      std::string names;
      for (const auto& p : params) names += (names.empty() ? "" : ", ") + p.key;
      throw config_error("config error: --" + key + " = " + show(a.values[key]) +
                         ": not a parameter of the " + model + " model (its parameters: " + names +
                         ")");
    }
  }
  validate(model, params);

  const std::string I_units = model == "hh" ? "uA/cm^2" : "nA";
  if (a.I_opt->count()) I = a.I;
  if (!std::isfinite(I))
    throw config_error("config error: --I = " + show(I) + " " + I_units + ": must be finite");
  if (a.sigma_opt->count()) {
    if (model != "lif")
      throw config_error("config error: --sigma = " + show(a.sigma) +
                         " mV: the noisy rate and CV (Siegert formula) are for model lif only");
    if (!(a.sigma >= 0) || !std::isfinite(a.sigma))
      throw config_error("config error: --sigma = " + show(a.sigma) + " mV: must be >= 0");
    sigma = a.sigma;
  }
  hh_sim sim{a.dt, a.duration};
  for (CLI::Option* o : {a.dt_opt, a.duration_opt})
    if (o->count() && model != "hh")
      throw config_error("config error: " + o->get_name() +
                         ": simulation settings apply to model hh only (lif and eif are analytic)");
  if (!(sim.dt > 0) || !std::isfinite(sim.dt))
    throw config_error("config error: --dt = " + show(sim.dt) + " ms: must be > 0");
  if (!(sim.duration >= sim.dt) || !std::isfinite(sim.duration) || sim.duration / sim.dt > 1e9)
    throw config_error("config error: --duration = " + show(sim.duration) +
                       " ms: must be at least dt and at most 1e9 steps");

  report r;
  r.model = model;
  r.params = params;
  r.I = I;
  r.sigma = sigma;
  current_range range{0.0, 50.0, 2.5};
  if (!a.I_range.empty()) {
    range = parse_range(a.I_range);
  } else if (model != "hh") {
    const double rh =
        model == "lif"
            ? theory::lif_rheobase_nA(get(params, "E_L"), get(params, "R_m"), get(params, "V_th"))
            : theory::eif_rheobase_nA(eif_view(params));
    range = rh > 0 ? current_range{0.0, 2.0 * rh, rh / 10.0} : current_range{0.0, 20.0, 1.0};
  }
  const std::vector<double> currents = range.values();
  try {
    if (model == "lif") analyse_lif(r, currents);
    if (model == "eif") analyse_eif(r, currents);
    if (model == "hh") analyse_hh(r, currents, sim);
  } catch (const std::invalid_argument& e) {
    throw config_error(std::string("config error: ") + e.what());
  }
  print_report(std::cout, r, range);
  if (!a.csv.empty()) {
    write_csv(r, a.csv);
    std::cout << "\nwrote " << a.csv << "\n";
  }
  if (!a.h5.empty()) {
    write_h5(r, a.h5);
    std::cout << (a.csv.empty() ? "\n" : "") << "wrote " << a.h5 << "\n";
  }
}

}  // namespace

void add_model(CLI::App& app) {
  auto a = std::make_shared<model_args>();
  auto* cmd = app.add_subcommand(
      "model",
      "phase-line analysis without simulating: fixed points, rheobase, effective threshold and "
      "the f-I curve of a LIF or EIF neuron (theory), or the f-I curve of a Hodgkin-Huxley "
      "neuron (simulated)");
  a->model_opt = cmd->add_option("--model", a->model, "lif, eif or hh")
                     ->check(CLI::IsMember({"lif", "eif", "hh"}));
  cmd->add_option("--config", a->config, "take the parameters from a population of this config");
  cmd->add_option("--population", a->population, "the population of --config");
  cmd->add_option("--set", a->sets, "override a config key: key.path=value (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  for (const auto& [key, unit] : all_keys()) {
    a->values[key] = 0.0;
    a->options[key] = cmd->add_option("--" + key, a->values[key],
                                      "parameter " + key + " (" + unit + "); default: the model's");
  }
  a->I_opt = cmd->add_option("--I", a->I,
                             "current for the fixed points and phase line, nA (uA/cm^2 for hh); "
                             "default 0 or the population's constant current");
  cmd->add_option("--I-range", a->I_range,
                  "f-I currents from:to:step; "
                  "default 0 to twice the rheobase (hh: 0:50:2.5)");
  a->sigma_opt = cmd->add_option("--sigma", a->sigma,
                                 "lif: white-noise amplitude (mV, as input.sigma) for the noisy "
                                 "rate and CV");
  a->dt_opt =
      cmd->add_option("--dt", a->dt, "hh: time step of the simulation (ms)")->capture_default_str();
  a->duration_opt =
      cmd->add_option("--duration", a->duration, "hh: simulated time per current (ms)")
          ->capture_default_str();
  cmd->add_option("--csv", a->csv, "write the f-I and fixed-point table as CSV");
  cmd->add_option("--h5", a->h5, "write parameters, fixed points, f-I and phase line as HDF5");
  cmd->callback([a] { model_command(*a); });
}

}  // namespace spikesim::cli
