// Single-neuron theory: scaled error function, adaptive quadrature, Siegert formula for the noisy
// LIF, deterministic LIF rate, and the EIF phase line (fixed points, rheobase, period).
#include <spikesim/theory.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <spikesim/format.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {
namespace theory {

namespace {

std::string argument_text(double value, const std::string& unit, const std::string& requirement) {
  return format_significant(value, 10) + (unit.empty() ? "" : " ") + unit + ", " + requirement;
}

}  // namespace

argument_error::argument_error(std::string where, std::string name, double value, std::string unit,
                               std::string requirement)
    : std::invalid_argument(where + ": " + name + " = " + argument_text(value, unit, requirement)),
      where(std::move(where)),
      name(std::move(name)),
      value(value),
      unit(std::move(unit)),
      requirement(std::move(requirement)) {}

std::string argument_error::value_text() const {
  return argument_text(value, unit, requirement);
}

namespace {

constexpr double k_pi = 3.14159265358979323846;
constexpr double k_sqrt_pi = 1.77245385090551602730;
constexpr double k_inf = std::numeric_limits<double>::infinity();
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

[[noreturn]] void fail(const char* where, const char* name, double value, const char* unit,
                       const char* requirement) {
  throw argument_error(where, name, value, unit, requirement);
}

void require_finite(const char* where, const char* name, double value, const char* unit) {
  if (!std::isfinite(value)) fail(where, name, value, unit, "must be finite");
}

void require_positive(const char* where, const char* name, double value, const char* unit) {
  require_finite(where, name, value, unit);
  if (!(value > 0.0)) fail(where, name, value, unit, "must be > 0");
}

void require_non_negative(const char* where, const char* name, double value, const char* unit) {
  require_finite(where, name, value, unit);
  if (!(value >= 0.0)) fail(where, name, value, unit, "must be >= 0");
}

// exp(x^2) without the rounding error of x*x, whose relative error exp() would multiply by x^2:
// x = hi + lo with hi holding 26 significant bits, so hi*hi is exact.
double exp_x2(double x) {
  const double hi = static_cast<double>(static_cast<float>(x));
  const double lo = x - hi;
  return std::exp(hi * hi) * std::exp(lo * (2.0 * hi + lo));
}

// ---------------------------------------------------------------------------------------------
// Globally adaptive Gauss-Kronrod (7/15 points): the interval with the largest error estimate
// |K15 - G7| is bisected until the summed estimate is below rel_tol * |integral|.

struct interval {
  double a, b, value, error;
};

bool by_error(const interval& l, const interval& r) {
  return l.error < r.error;
}

template <class F>
interval gauss_kronrod_15(const F& f, double a, double b) {
  static constexpr double xgk[8] = {
      0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
      0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
      0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
      0.207784955007898467600689403773245, 0.0};
  static constexpr double wgk[8] = {
      0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
      0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
      0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
      0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
  static constexpr double wg[4] = {
      0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
      0.381830050505118944950369775488975, 0.417959183673469387755102040816327};
  const double center = 0.5 * (a + b);
  const double half = 0.5 * (b - a);
  const double f_center = f(center);
  double kronrod = wgk[7] * f_center;
  double gauss = wg[3] * f_center;
  for (int j = 0; j < 7; ++j) {
    const double dx = half * xgk[j];
    const double pair = f(center - dx) + f(center + dx);
    kronrod += wgk[j] * pair;
    if (j % 2 == 1) gauss += wg[j / 2] * pair;
  }
  return {a, b, kronrod * half, std::abs((kronrod - gauss) * half)};
}

struct quadrature {
  double value;
  bool converged;
};

template <class F>
quadrature integrate(const F& f, const std::vector<double>& breaks, double rel_tol,
                     std::size_t max_intervals = 20000) {
  std::vector<interval> heap;
  heap.reserve(breaks.size() + 64);
  for (std::size_t i = 0; i + 1 < breaks.size(); ++i) {
    if (breaks[i + 1] > breaks[i]) heap.push_back(gauss_kronrod_15(f, breaks[i], breaks[i + 1]));
  }
  std::make_heap(heap.begin(), heap.end(), by_error);
  auto totals = [&heap](double& value, double& error) {
    value = 0.0;
    error = 0.0;
    for (const interval& iv : heap) {
      value += iv.value;
      error += iv.error;
    }
  };
  double value = 0.0;
  double error = 0.0;
  totals(value, error);
  while (true) {
    if (error <= rel_tol * std::abs(value)) {
      // The running sums drift; confirm on exact ones before stopping.
      totals(value, error);
      if (error <= rel_tol * std::abs(value)) return {value, true};
    }
    if (heap.empty() || heap.size() >= max_intervals || !std::isfinite(value)) {
      totals(value, error);
      return {value, false};
    }
    std::pop_heap(heap.begin(), heap.end(), by_error);
    const interval worst = heap.back();
    heap.pop_back();
    const double mid = 0.5 * (worst.a + worst.b);
    if (!(mid > worst.a && mid < worst.b)) {
      totals(value, error);
      return {value, false};
    }
    const interval left = gauss_kronrod_15(f, worst.a, mid);
    const interval right = gauss_kronrod_15(f, mid, worst.b);
    value += left.value + right.value - worst.value;
    error += left.error + right.error - worst.error;
    heap.push_back(left);
    std::push_heap(heap.begin(), heap.end(), by_error);
    heap.push_back(right);
    std::push_heap(heap.begin(), heap.end(), by_error);
  }
}

// Breakpoints on [a, b] crowding geometrically (width, 2 width, 4 width, ...) around `peak`, so
// that an integrand concentrated within `width` of it is seen by the first Kronrod rules.
std::vector<double> breaks_around(double a, double b, double peak, double width) {
  std::vector<double> points{a, b};
  if (!(width > 0.0)) return points;
  peak = std::min(std::max(peak, a), b);
  if (peak > a && peak < b) points.push_back(peak);
  for (double w = width; w < b - a; w *= 2.0) {
    if (peak - w > a) points.push_back(peak - w);
    if (peak + w < b) points.push_back(peak + w);
  }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

[[noreturn]] void quadrature_failed(const char* where) {
  throw std::runtime_error(std::string(where) + ": adaptive quadrature did not converge");
}

// ---------------------------------------------------------------------------------------------

// sigma <= k_small_noise |theta - mu| leaves a diffusion correction of order
// (sigma / (mu - theta))^2 / 4 ~ 1e-13 relative: the deterministic limit is exact to double.
constexpr double k_small_noise = 1e-6;

lif_noise_result siegert_deterministic_limit(double mu, double sigma, double tau_m, double theta,
                                             double v_reset, double t_ref) {
  if (mu > theta) {
    const double period = t_ref + tau_m * std::log1p((theta - v_reset) / (mu - theta));
    const double var =
        0.5 * tau_m * tau_m * sigma * sigma *
        (1.0 / ((mu - theta) * (mu - theta)) - 1.0 / ((mu - v_reset) * (mu - v_reset)));
    return {1000.0 / period, std::sqrt(var) / period, period};
  }
  return {0.0, sigma > 0.0 ? 1.0 : k_nan, k_inf};
}

double eif_df(const eif_params_view& p, double u) {
  return std::expm1((u - p.V_T) / p.delta_T);
}

void validate_eif(const char* where, const eif_params_view& p) {
  require_positive(where, "tau_m", p.tau_m, "ms");
  require_finite(where, "E_L", p.E_L, "mV");
  require_positive(where, "R_m", p.R_m, "MOhm");
  require_positive(where, "delta_T", p.delta_T, "mV");
  require_finite(where, "V_T", p.V_T, "mV");
  require_finite(where, "V_peak", p.V_peak, "mV");
  require_finite(where, "V_reset", p.V_reset, "mV");
  require_non_negative(where, "t_ref", p.t_ref, "ms");
  if (!(p.V_reset < p.V_peak)) fail(where, "V_reset", p.V_reset, "mV", "must be < V_peak");
}

// Safeguarded Newton on a sign-changing bracket [a, b]: a Newton step that leaves the bracket is
// replaced by bisection, so convergence never depends on the starting point.
template <class F, class DF>
double solve_bracketed(const F& f, const DF& df, double a, double b, double tol) {
  double f_a = f(a);
  double x = 0.5 * (a + b);
  for (int iter = 0; iter < 500; ++iter) {
    const double f_x = f(x);
    if (f_x == 0.0) return x;
    if ((f_x > 0.0) == (f_a > 0.0)) {
      a = x;
      f_a = f_x;
    } else {
      b = x;
    }
    const double slope = df(x);
    double next = slope != 0.0 ? x - f_x / slope : k_nan;
    if (!(next > std::min(a, b) && next < std::max(a, b))) next = 0.5 * (a + b);
    const bool done = std::abs(next - x) <= tol || std::abs(b - a) <= tol;
    x = next;
    if (done) return x;
  }
  return x;
}

// Minimum value of the convex phase-line function by golden-section search on the textbook form
// of f; neither V_T as the location nor f(V_T) is used, so that the numeric rheobase is an
// independent check of the closed form.
double eif_min_value_numeric(const eif_params_view& p, double I_nA) {
  auto f = [&p, I_nA](double u) {
    return -(u - p.E_L) + p.delta_T * std::exp((u - p.V_T) / p.delta_T) + p.R_m * I_nA;
  };
  double a = std::min({p.E_L, p.V_reset, p.V_T}) - 10.0 * p.delta_T - 10.0;
  double b = std::max(p.V_peak, p.V_T) + 10.0 * p.delta_T;
  const double inv_phi = 0.5 * (std::sqrt(5.0) - 1.0);
  double c = b - inv_phi * (b - a);
  double d = a + inv_phi * (b - a);
  double f_c = f(c);
  double f_d = f(d);
  for (int iter = 0; iter < 200 && b - a > 1e-12; ++iter) {
    if (f_c < f_d) {
      b = d;
      d = c;
      f_d = f_c;
      c = b - inv_phi * (b - a);
      f_c = f(c);
    } else {
      a = c;
      c = d;
      f_c = f_d;
      d = a + inv_phi * (b - a);
      f_d = f(d);
    }
  }
  return std::min(f_c, f_d);
}

}  // namespace

// f written as its minimum f(V_T) plus delta_T (e^z - 1 - z), z = (u - V_T)/delta_T: near the
// saddle node the direct form cancels terms of ~30 mV down to a tiny f and its rounding noise
// would swamp the quadrature; this form is at least as accurate everywhere.
double eif_f_min(const eif_params_view& p, double I_nA) {
  return p.delta_T + p.R_m * I_nA - (p.V_T - p.E_L);
}

double eif_f(const eif_params_view& p, double I_nA, double u) {
  const double z = (u - p.V_T) / p.delta_T;
  return eif_f_min(p, I_nA) + p.delta_T * (std::expm1(z) - z);
}

// ---------------------------------------------------------------------------------------------

double erfcx(double x) {
  if (std::isnan(x)) return x;
  if (x < 0.0) {
    if (x < -26.7) return k_inf;
    return 2.0 * exp_x2(x) - erfcx(-x);
  }
  // Up to x = 5 std::erfc keeps full relative precision and exp_x2 adds only rounding.
  if (x <= 5.0) return std::erfc(x) * exp_x2(x);
  // Beyond 1e8 the asymptotic series' second term is below 1e-16.
  if (x > 1e8) return (1.0 - 0.5 / x / x) / (k_sqrt_pi * x);
  // Laplace's continued fraction sqrt(pi) erfcx(x) = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
  // evaluated by the modified Lentz method; it needs fewer than 20 terms for x >= 5.
  const double tiny = 1e-300;
  double f = x;
  double c = x;
  double d = 0.0;
  for (int n = 1; n < 500; ++n) {
    const double a = 0.5 * n;
    d = x + a * d;
    if (d == 0.0) d = tiny;
    c = x + a / c;
    if (c == 0.0) c = tiny;
    d = 1.0 / d;
    const double delta = c * d;
    f *= delta;
    if (std::abs(delta - 1.0) < 1e-16) break;
  }
  return 1.0 / (k_sqrt_pi * f);
}

double log_erfcx(double x) {
  if (std::isnan(x)) return x;
  if (x >= 0.0) return std::log(erfcx(x));
  // erfcx(x) = exp(x^2) (1 + erf|x|) for x < 0.
  return x * x + std::log1p(std::erf(-x));
}

lif_noise_result siegert(double mu, double sigma, double tau_m, double theta, double v_reset,
                         double t_ref) {
  const char* where = "siegert";
  require_finite(where, "mu", mu, "mV");
  require_non_negative(where, "sigma", sigma, "mV");
  require_positive(where, "tau_m", tau_m, "ms");
  require_finite(where, "theta", theta, "mV");
  require_finite(where, "v_reset", v_reset, "mV");
  require_non_negative(where, "t_ref", t_ref, "ms");
  if (!(v_reset < theta)) fail(where, "v_reset", v_reset, "mV", "must be < theta");

  if (sigma <= k_small_noise * std::abs(theta - mu)) {
    return siegert_deterministic_limit(mu, sigma, tau_m, theta, v_reset, t_ref);
  }

  const double y_theta = (theta - mu) / sigma;
  const double y_reset = (v_reset - mu) / sigma;
  // Everything is scaled by exp(-a^2): far below threshold the integrands grow like exp(x^2)
  // and peak at y_theta, so the scaled values stay O(1). The integration variables are distances
  // below y_theta (s = y_theta - x, u = y_theta - y), which are exact near the peak, so that
  // exp(x^2 - a^2) = exp(-s (2a - s)) keeps full precision even when y_theta ~ 1e6.
  const double a = std::max(y_theta, 0.0);
  const double a2 = a * a;
  const double span = y_theta - y_reset;
  const double peak_width = 0.25 / std::max(a, 1.0);

  // exp(x^2) (1 + erf x) exp(-a^2) at x = y_theta - s; x > 0 implies a = y_theta.
  auto rate_integrand = [y_theta, a, a2](double s) {
    const double x = y_theta - s;
    if (x > 0.0) return (1.0 + std::erf(x)) * std::exp(-s * (2.0 * a - s));
    return erfcx(-x) * std::exp(-a2);
  };
  const quadrature rate_q =
      integrate(rate_integrand, breaks_around(0.0, span, 0.0, peak_width), 1e-11);
  if (!rate_q.converged) quadrature_failed("siegert (rate integral)");
  const double scaled_passage = tau_m * k_sqrt_pi * rate_q.value;  // mean passage time * e^{-a^2}

  lif_noise_result result{};
  const double log_passage = a2 + std::log(scaled_passage);
  if (log_passage < 700.0) {
    result.mean_isi_ms = t_ref + std::exp(log_passage);
    result.rate_hz = 1000.0 / result.mean_isi_ms;
  } else {
    // t_ref is negligible next to exp(700) ms; the rate underflows gracefully.
    result.mean_isi_ms = std::exp(log_passage);
    result.rate_hz = 1000.0 * std::exp(-log_passage);
  }
  // nu tau_m exp(a^2), finite for any a.
  const double nu_tau_scaled = tau_m / (t_ref * std::exp(-a2) + scaled_passage);

  // Inner integral exp(x^2 - 2 a^2) int_{-inf}^x exp(y^2)(1 + erf y)^2 dy at x = y_theta - s, in
  // t = x - y >= 0; u = s + t is the distance of y below y_theta. Below m = min(x, 0) the
  // integrand decays at least like exp(-(y^2 - m^2)); stopping where that exponent reaches 60
  // drops less than e^-60 of it.
  auto inner = [&](double s) {
    const double x = y_theta - s;
    auto integrand = [x, s, y_theta, a, a2](double t) {
      const double u = s + t;
      const double y = y_theta - u;
      if (y > 0.0) {  // then x > 0 and a = y_theta
        const double one_plus_erf = 1.0 + std::erf(y);
        return one_plus_erf * one_plus_erf * std::exp(-s * (2.0 * a - s) - u * (2.0 * a - u));
      }
      const double e = erfcx(t - x);
      return e * e * std::exp(t * (2.0 * x - t) - 2.0 * a2);
    };
    const double m = std::min(x, 0.0);
    const double t_max = (x - m) + (std::sqrt(m * m + 60.0) - std::abs(m));
    const double width = 0.25 / std::max(std::abs(x), 1.0);
    const quadrature q = integrate(integrand, breaks_around(0.0, t_max, 0.0, width), 1e-10);
    if (!q.converged) quadrature_failed("siegert (CV inner integral)");
    return q.value;
  };
  const quadrature cv_q = integrate(inner, breaks_around(0.0, span, 0.0, 0.5 * peak_width), 1e-9);
  if (!cv_q.converged) quadrature_failed("siegert (CV outer integral)");
  result.cv = nu_tau_scaled * std::sqrt(2.0 * k_pi * cv_q.value);
  return result;
}

double discrete_time_threshold(double theta, double sigma, double tau_m, double dt) {
  const char* where = "discrete_time_threshold";
  require_finite(where, "theta", theta, "mV");
  require_non_negative(where, "sigma", sigma, "mV");
  require_positive(where, "tau_m", tau_m, "ms");
  require_non_negative(where, "dt", dt, "ms");
  // -zeta(1/2) / sqrt(2 pi), zeta(1/2) = -1.4603545088095868...
  constexpr double beta = 0.5825971579390108;
  return theta + beta * sigma * std::sqrt(dt / tau_m);
}

double lif_rate_hz(double I_nA, double tau_m, double E_L, double R_m, double V_th, double V_reset,
                   double t_ref) {
  const char* where = "lif_rate_hz";
  require_finite(where, "I", I_nA, "nA");
  require_positive(where, "tau_m", tau_m, "ms");
  require_finite(where, "E_L", E_L, "mV");
  require_positive(where, "R_m", R_m, "MOhm");
  require_finite(where, "V_th", V_th, "mV");
  require_finite(where, "V_reset", V_reset, "mV");
  require_non_negative(where, "t_ref", t_ref, "ms");
  if (!(V_reset < V_th)) fail(where, "V_reset", V_reset, "mV", "must be < V_th");
  const double u_inf = E_L + R_m * I_nA;
  if (!(u_inf > V_th)) return 0.0;
  // log1p keeps precision just above the rheobase, where the ratio is huge.
  const double period = t_ref + tau_m * std::log1p((V_th - V_reset) / (u_inf - V_th));
  return 1000.0 / period;
}

double lif_rheobase_nA(double E_L, double R_m, double V_th) {
  const char* where = "lif_rheobase_nA";
  require_finite(where, "E_L", E_L, "mV");
  require_positive(where, "R_m", R_m, "MOhm");
  require_finite(where, "V_th", V_th, "mV");
  return (V_th - E_L) / R_m;
}

std::vector<fixed_point> eif_fixed_points(const eif_params_view& p, double I_nA) {
  const char* where = "eif_fixed_points";
  validate_eif(where, p);
  require_finite(where, "I", I_nA, "nA");
  auto f = [&p, I_nA](double u) { return eif_f(p, I_nA, u); };
  auto df = [&p](double u) { return eif_df(p, u); };
  const double f_min = eif_f_min(p, I_nA);
  if (f_min > 0.0) return {};
  if (f_min == 0.0) return {{p.V_T, false}};

  // Left of V_T the exponential term is positive, so f(u) >= E_L + R_m I - u: this is > 0.
  const double lo = std::min(p.V_T, p.E_L + p.R_m * I_nA) - 1.0;
  // Right of V_T the exponential eventually wins; doubling the distance finds a positive value.
  double hi = p.V_T + p.delta_T;
  while (!(f(hi) > 0.0)) hi = p.V_T + 2.0 * (hi - p.V_T);

  constexpr double tol = 1e-12;
  const double u_left = solve_bracketed(f, df, lo, p.V_T, tol);
  const double u_right = solve_bracketed(f, df, p.V_T, hi, tol);
  return {{u_left, df(u_left) < 0.0}, {u_right, df(u_right) < 0.0}};
}

double eif_rheobase_nA(const eif_params_view& p) {
  validate_eif("eif_rheobase_nA", p);
  return (p.V_T - p.E_L - p.delta_T) / p.R_m;
}

double eif_rheobase_numeric_nA(const eif_params_view& p) {
  validate_eif("eif_rheobase_numeric_nA", p);
  auto has_fixed_point = [&p](double I) { return eif_min_value_numeric(p, I) <= 0.0; };
  // Bracket [lo, hi] with a fixed point at lo and none at hi; f rises by R_m per nA.
  double lo = 0.0;
  double hi = 0.0;
  double step = 1.0;
  if (has_fixed_point(0.0)) {
    while (has_fixed_point(hi)) {
      lo = hi;
      hi += step;
      step *= 2.0;
    }
  } else {
    while (!has_fixed_point(lo)) {
      hi = lo;
      lo -= step;
      step *= 2.0;
    }
  }
  for (int iter = 0; iter < 200 && hi - lo > 1e-12 * std::max(1.0, std::abs(hi)); ++iter) {
    const double mid = 0.5 * (lo + hi);
    (has_fixed_point(mid) ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double eif_rate_hz(const eif_params_view& p, double I_nA) {
  const char* where = "eif_rate_hz";
  validate_eif(where, p);
  require_finite(where, "I", I_nA, "nA");
  if (!(eif_f(p, I_nA, p.V_reset) > 0.0)) return 0.0;
  for (const fixed_point& fp : eif_fixed_points(p, I_nA)) {
    if (fp.u_mV >= p.V_reset && fp.u_mV <= p.V_peak) return 0.0;
  }
  // 1/f peaks where f is smallest on [V_reset, V_peak]: at V_T if inside, else at an end. Its
  // width there is set by the curvature (near the saddle node) or the slope (near an endpoint).
  const double u_min = std::min(std::max(p.V_T, p.V_reset), p.V_peak);
  const double f_min = eif_f(p, I_nA, u_min);
  const double slope = std::abs(eif_df(p, u_min));
  double width = std::min(p.delta_T, std::sqrt(2.0 * p.delta_T * f_min));
  if (slope > 0.0) width = std::min(width, std::max(f_min / slope, 1e-300));
  auto integrand = [&p, I_nA](double u) { return 1.0 / eif_f(p, I_nA, u); };
  const quadrature q =
      integrate(integrand, breaks_around(p.V_reset, p.V_peak, u_min, width), 1e-10);
  if (!q.converged) quadrature_failed(where);
  return 1000.0 / (p.t_ref + p.tau_m * q.value);
}

brunel_result brunel_rate(const brunel_params& p, double dt) {
  const char* where = "brunel_rate";
  require_positive(where, "J", p.J, "mV");
  require_positive(where, "C_E", p.C_E, "");
  require_positive(where, "tau_m", p.tau_m, "ms");
  require_non_negative(where, "eta", p.eta, "");
  require_non_negative(where, "g", p.g, "");
  require_non_negative(where, "gamma", p.gamma, "");
  require_non_negative(where, "dt", dt, "ms");
  brunel_result r{};
  r.nu_thr_hz = 1000.0 * p.theta / (p.J * p.C_E * p.tau_m);
  r.nu_ext_hz = p.eta * r.nu_thr_hz;
  // Rates in 1/ms inside, as in Brunel's equations with tau in ms.
  const double ext = r.nu_ext_hz * 1e-3;
  auto mu_of = [&](double nu) {
    return p.C_E * p.J * p.tau_m * (ext + nu * (1.0 - p.g * p.gamma));
  };
  auto sigma_of = [&](double nu) {
    return std::sqrt(p.J * p.J * p.C_E * p.tau_m * (ext + nu * (1.0 + p.g * p.g * p.gamma)));
  };
  auto neuron = [&](double nu) {
    const double sigma = sigma_of(nu);
    const double theta = dt > 0 ? discrete_time_threshold(p.theta, sigma, p.tau_m, dt) : p.theta;
    return siegert(mu_of(nu), sigma, p.tau_m, theta, p.v_reset, p.t_ref);
  };
  double lo = 0.0, hi = p.t_ref > 0 ? 1.0 / p.t_ref : 10.0;  // 1/ms
  if (p.t_ref <= 0) {
    while (neuron(hi).rate_hz * 1e-3 > hi) hi *= 2.0;
  }
  for (int it = 0; it < 200 && hi - lo > 1e-10 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (neuron(mid).rate_hz * 1e-3 > mid ? lo : hi) = mid;
  }
  const double nu = 0.5 * (lo + hi);
  const lif_noise_result n = neuron(nu);
  r.rate_hz = nu * 1000.0;
  r.mu = mu_of(nu);
  r.sigma = sigma_of(nu);
  r.cv = n.cv;
  return r;
}

// Distinct currents of a population listed individually up to this many; beyond, a sample.
constexpr std::size_t k_max_listed = 20;
constexpr std::size_t k_sample = 11;

siegert_scope siegert_scope_of(const population_spec& p) {
  if (!std::holds_alternative<lif_params>(p.params)) return siegert_scope::not_lif;
  if (p.input.noise.tau_noise > 0) return siegert_scope::coloured_noise;
  return siegert_scope::applies;
}

std::vector<double> tabulated_currents(const population_spec& p, std::string* note) {
  const per_neuron& I = p.input.I;
  std::vector<double> values;
  if (I.ramp) {
    if (p.size <= k_max_listed) {
      for (uint64_t i = 0; i < p.size; ++i) values.push_back(I.at(i));
      return values;
    }
    *note = "a ramp over " + std::to_string(p.size) + " neurons: " + std::to_string(k_sample) +
            " evenly spaced currents of it";
    for (std::size_t k = 0; k < k_sample; ++k)
      values.push_back(I.from + (I.to - I.from) * static_cast<double>(k) / (k_sample - 1));
    return values;
  }
  const std::set<double> distinct(I.values.begin(), I.values.end());
  if (distinct.size() <= k_max_listed) return {distinct.begin(), distinct.end()};
  *note = std::to_string(distinct.size()) + " distinct currents: " + std::to_string(k_sample) +
          " evenly spaced over their range";
  const double lo = *distinct.begin(), hi = *distinct.rbegin();
  for (std::size_t k = 0; k < k_sample; ++k)
    values.push_back(lo + (hi - lo) * static_cast<double>(k) / (k_sample - 1));
  return values;
}

lif_noise_prediction siegert_prediction(double mu, double sigma, double tau_m, double theta,
                                        double v_reset, double t_ref, double dt) {
  lif_noise_prediction r{siegert(mu, sigma, tau_m, theta, v_reset, t_ref), theta, {}};
  r.at_dt = r.exact;
  if (dt > 0) {
    r.theta_eff = discrete_time_threshold(theta, sigma, tau_m, dt);
    r.at_dt = siegert(mu, sigma, tau_m, r.theta_eff, v_reset, t_ref);
  }
  return r;
}

lif_stationary lif_stationary_at(const lif_params& p, double sigma, double I_nA, double dt) {
  const double mu = p.R_m * I_nA;
  return {mu,
          siegert_prediction(mu, sigma, p.tau_m, p.V_th - p.E_L, p.V_reset - p.E_L, p.t_ref, dt)};
}

}  // namespace theory
}  // namespace spikesim
