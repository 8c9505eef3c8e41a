// Single-neuron analysis (single_neuron.hpp): the phase line, rheobase and effective threshold of
// LIF and EIF from theory, their f–I curves, and the HH f–I curve by simulation.
#include <spikesim/single_neuron.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/models/param_table.hpp>

namespace spikesim::single_neuron {
namespace {

constexpr std::size_t k_phase_points = 801;

// A number of a message: "-" where it is undefined (NaN), as the report writes it.
std::string fmt(double x) {
  return format_significant(x, 6, {"-"});
}

// A report's heading: the model, its parameters in table order and the current of the phase line.
template <class P>
report heading(const char* model, const P& p, double I, const char* title, const char* equation,
               const char* phase_units, const char* I_units) {
  report r;
  r.model = model;
  for (const auto& f : param_table<P>::fields) r.params.push_back({f.key, f.unit, p.*f.member});
  r.I = I;
  r.title = title;
  r.equation = equation;
  r.phase_units = phase_units;
  r.I_units = I_units;
  return r;
}

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

theory::eif_params_view view_of(const eif_params& p) {
  return {p.tau_m, p.E_L, p.R_m, p.delta_T, p.V_T, p.V_peak, p.V_reset, p.t_ref};
}

current_range around_rheobase(double rheobase) {
  return rheobase > 0 ? current_range{0.0, 2.0 * rheobase, rheobase / 10.0}
                      : current_range{0.0, 20.0, 1.0};
}

// --- EIF: tau_m du/dt = -(u - E_L) + delta_T exp((u - V_T)/delta_T) + R_m I.

std::vector<fixed_point_row> eif_points(const theory::eif_params_view& v, double I) {
  std::vector<fixed_point_row> out;
  for (const auto& fp : theory::eif_fixed_points(v, I))
    out.push_back({fp.u_mV, std::expm1((fp.u_mV - v.V_T) / v.delta_T) / v.tau_m, fp.stable});
  return out;
}

void eif_threshold(report& r, const theory::eif_params_view& v) {
  const auto at_zero = eif_points(v, 0.0);
  if (at_zero.size() == 2) {
    r.threshold0 = at_zero[1].u;
    r.threshold_note = "the unstable fixed point at I = 0";
  } else if (at_zero.size() == 1) {
    r.threshold0 = at_zero[0].u;
    r.threshold_note = "I = 0 is the rheobase: the two fixed points coincide";
  } else {
    r.threshold_note = "none: I = 0 is above the rheobase, there is no fixed point";
  }
}

// --- HH: the phase line of the reduced model (n and h frozen at rest, m at m_inf(V)):
// C_m dV/dt = g_L (E_L - V) + g_Na m_inf(V)^3 h_rest (E_Na - V) + g_K n_rest^4 (E_K - V) + I.

struct hh_phase_line {
  const hh_params& p;
  double h0, n0;  // the gates at rest
  double lo, hi;  // mV, the range searched for zeros

  hh_phase_line(const hh_params& params, double rest) : p(params) {
    double m0;
    hh_steady_gates(rest, m0, h0, n0);
    lo = std::min(p.E_K, rest) - 10.0;
    hi = std::max(p.E_Na, rest) + 10.0;
  }

  double f(double V, double I) const {
    double m, h, n;
    hh_steady_gates(V, m, h, n);
    return p.g_L * (p.E_L - V) + p.g_Na * m * m * m * h0 * (p.E_Na - V) +
           p.g_K * n0 * n0 * n0 * n0 * (p.E_K - V) + I;
  }

  // Every sign change on a 0.01 mV grid, refined by bisection.
  std::vector<fixed_point_row> zeros(double I) const {
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
  }
};

fI_row simulate_from(const hh_params& p, double rest, double I, const hh_simulation& s) {
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

double hh_rest(const hh_params& p) {
  const double rest = hh_resting_potential(p);
  if (!std::isfinite(rest))
    throw std::invalid_argument("hh parameters: no resting potential in [-20, 20] mV");
  return rest;
}

}  // namespace

std::vector<double> current_range::values() const {
  const std::size_t n = static_cast<std::size_t>(std::floor((to - from) / step + 1e-9)) + 1;
  std::vector<double> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = from + static_cast<double>(k) * step;
  return v;
}

current_range default_currents(const lif_params& p) {
  return around_rheobase(theory::lif_rheobase_nA(p.E_L, p.R_m, p.V_th));
}

current_range default_currents(const eif_params& p) {
  return around_rheobase(theory::eif_rheobase_nA(view_of(p)));
}

current_range default_currents(const hh_params&) {
  return {0.0, 50.0, 2.5};
}

// --- LIF: tau_m du/dt = -(u - E_L) + R_m I, threshold V_th imposed.
report analyse(const lif_params& p, double I, const std::vector<double>& currents, double sigma) {
  report r = heading("lif", p, I, "leaky integrate-and-fire",
                     "tau_m du/dt = f(u) = -(u - E_L) + R_m I; spike at u = V_th, reset to V_reset",
                     "mV", "nA");
  r.sigma = sigma;
  r.fI_method = "analytic: 1/rate = t_ref + tau_m ln((E_L + R_m I - V_reset)/(E_L + R_m I - V_th))";
  auto fixed = [&](double x) { return p.E_L + p.R_m * x; };
  auto rate = [&](double x) {
    return theory::lif_rate_hz(x, p.tau_m, p.E_L, p.R_m, p.V_th, p.V_reset, p.t_ref);
  };
  auto noisy = [&](double x) {
    return theory::siegert(p.R_m * x, sigma, p.tau_m, p.V_th - p.E_L, p.V_reset - p.E_L, p.t_ref);
  };
  if (fixed(I) < p.V_th) r.fixed_points.push_back({fixed(I), -1.0 / p.tau_m, true});
  r.rheobase = theory::lif_rheobase_nA(p.E_L, p.R_m, p.V_th);
  r.rheobase_note = "(V_th - E_L) / R_m";
  r.rheobase_numeric = bisect_current([&](double x) { return rate(x) > 0; }, 0.0, 1.0);
  r.threshold_note = "none: the threshold V_th = " + fmt(p.V_th) +
                     " mV is imposed and does not depend on the input";
  if (sigma > 0) r.noisy_at_I = noisy(I);
  for (double x : currents) {
    fI_row row{x, rate(x)};
    if (fixed(x) < p.V_th) row.u_stable = fixed(x);
    if (sigma > 0) {
      const auto n = noisy(x);
      row.rate_noise = n.rate_hz;
      row.cv_noise = n.cv;
    }
    r.rows.push_back(row);
  }
  r.phase_u = grid(std::min({p.E_L, p.V_reset, fixed(I)}) - 10.0, p.V_th, k_phase_points);
  for (double u : r.phase_u) r.phase_f.push_back(-(u - p.E_L) + p.R_m * I);
  return r;
}

report analyse(const eif_params& p, double I, const std::vector<double>& currents) {
  const theory::eif_params_view v = view_of(p);
  report r = heading("eif", p, I, "exponential integrate-and-fire",
                     "tau_m du/dt = f(u) = -(u - E_L) + delta_T exp((u - V_T)/delta_T) + R_m I; "
                     "spike at u = V_peak, reset to V_reset",
                     "mV", "nA");
  r.fI_method = "quadrature: 1/rate = t_ref + tau_m int_{V_reset}^{V_peak} du / f(u)";
  r.fixed_points = eif_points(v, I);
  r.rheobase = theory::eif_rheobase_nA(v);
  r.rheobase_note = "(V_T - E_L - delta_T) / R_m, the saddle-node";
  r.rheobase_numeric = theory::eif_rheobase_numeric_nA(v);
  eif_threshold(r, v);
  for (double d : {1.0, 0.1, 0.01, 0.001}) {
    const auto fp = eif_points(v, r.rheobase - d);
    if (fp.size() == 2)
      r.saddle.push_back({d, fp[1].u - fp[0].u, 2.0 * std::sqrt(2.0 * v.delta_T * v.R_m * d)});
  }
  for (double x : currents) {
    fI_row row{x, theory::eif_rate_hz(v, x)};
    for (const auto& fp : eif_points(v, x)) (fp.stable ? row.u_stable : row.u_unstable) = fp.u;
    r.rows.push_back(row);
  }
  r.phase_u =
      grid(std::min({v.E_L, v.V_reset, v.E_L + v.R_m * I}) - 10.0, v.V_peak, k_phase_points);
  for (double u : r.phase_u) r.phase_f.push_back(theory::eif_f(v, I, u));
  return r;
}

report analyse(const hh_params& p, double I, const std::vector<double>& currents,
               const hh_simulation& s) {
  report r = heading("hh", p, I, "Hodgkin-Huxley (squid axon, V from rest)",
                     "reduced phase line (h, n frozen at rest, m = m_inf(V)): C_m dV/dt = f(V) = "
                     "g_L (E_L - V) + g_Na m_inf^3 h_rest (E_Na - V) + g_K n_rest^4 (E_K - V) + I",
                     "uA/cm^2", "uA/cm^2");
  const double rest = hh_rest(p);
  const hh_phase_line line(p, rest);
  r.fixed_points = line.zeros(I);
  const auto at_zero = line.zeros(0.0);
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
  for (double x : currents) r.rows.push_back(simulate_from(p, rest, x, s));
  r.phase_u = grid(line.lo, line.hi, k_phase_points);
  for (double u : r.phase_u) r.phase_f.push_back(line.f(u, I));
  return r;
}

fI_row simulate_hh(const hh_params& p, double I, const hh_simulation& sim) {
  return simulate_from(p, hh_rest(p), I, sim);
}

// --- By the model's name.

namespace {

template <class P>
std::vector<param_value> values_of(const P& p) {
  std::vector<param_value> list;
  for (const auto& f : param_table<P>::fields) list.push_back({f.key, f.unit, p.*f.member});
  return list;
}

template <class P>
P struct_of(const std::vector<param_value>& params) {
  P p;
  for (const auto& f : param_table<P>::fields) {
    auto it = std::find_if(params.begin(), params.end(),
                           [&](const param_value& v) { return v.key == f.key; });
    if (it == params.end()) throw std::invalid_argument(std::string("no parameter ") + f.key);
    p.*f.member = it->value;
  }
  return p;
}

// Calls f with the parameters as the struct of the model.
template <class F>
auto with_struct(const std::string& model, const std::vector<param_value>& params, F f) {
  if (model == "lif") return f(struct_of<lif_params>(params));
  if (model == "eif") return f(struct_of<eif_params>(params));
  if (model == "hh") return f(struct_of<hh_params>(params));
  throw std::invalid_argument("no single-neuron analysis of model " + model);
}

[[noreturn]] void range_error(const std::string& text, const std::string& why) {
  throw config_error("config error: " + setting::current_range + " = '" + text + "': " + why);
}

}  // namespace

std::vector<param_value> default_parameters(const std::string& model) {
  if (model == "lif") return values_of(lif_params{});
  if (model == "eif") return values_of(eif_params{});
  if (model == "hh") return values_of(hh_params{});
  throw std::invalid_argument("no single-neuron analysis of model " + model);
}

const std::vector<std::pair<std::string, std::string>>& parameter_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys = [] {
    std::vector<std::pair<std::string, std::string>> k;
    for (const char* m : {"lif", "eif", "hh"})
      for (const param_value& p : default_parameters(m))
        if (std::none_of(k.begin(), k.end(), [&](const auto& e) { return e.first == p.key; }))
          k.emplace_back(p.key, p.unit);
    return k;
  }();
  return keys;
}

std::vector<param_value> population_parameters(const population_spec& pop) {
  if (pop.is_source()) return {};  // no neuron model (its params are the unused defaults)
  if (const auto* l = std::get_if<lif_params>(&pop.params)) return values_of(*l);
  if (const auto* e = std::get_if<eif_params>(&pop.params)) return values_of(*e);
  return {};
}

param_violation check_parameters(const std::string& model, const std::vector<param_value>& params) {
  return with_struct(model, params, [](const auto& p) { return check_params(p); });
}

current_range default_currents(const std::string& model, const std::vector<param_value>& params) {
  return with_struct(model, params, [](const auto& p) { return default_currents(p); });
}

report analyse(const std::string& model, const std::vector<param_value>& params, double I,
               const std::vector<double>& currents, double sigma, const hh_simulation& sim) {
  // The struct is made outside the try: a list of another model is the caller's error.
  return with_struct(model, params, [&](const auto& p) -> report {
    using P = std::decay_t<decltype(p)>;
    try {
      if constexpr (std::is_same_v<P, lif_params>)
        return analyse(p, I, currents, sigma);
      else if constexpr (std::is_same_v<P, eif_params>)
        return analyse(p, I, currents);
      else
        return analyse(p, I, currents, sim);
    } catch (const std::invalid_argument& e) {
      throw config_error(std::string("config error: ") + e.what());
    }
  });
}

current_range parse_current_range(const std::string& text) {
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
  if ((r.to - r.from) / r.step + 1 > static_cast<double>(max_currents))
    range_error(text, "more than " + std::to_string(max_currents) + " currents");
  return r;
}

fI_columns columns_of(const std::vector<fI_row>& rows) {
  fI_columns c;
  for (const auto& row : rows) {
    c.I.push_back(row.I);
    c.rate.push_back(row.rate);
    c.u_stable.push_back(row.u_stable);
    c.u_unstable.push_back(row.u_unstable);
    c.rate_noise.push_back(row.rate_noise);
    c.cv_noise.push_back(row.cv_noise);
    c.spikes.push_back(row.spikes);
  }
  return c;
}

}  // namespace spikesim::single_neuron
