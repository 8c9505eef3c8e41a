// `spikesim theory`: the stationary rate, mean ISI and CV of the noisy LIF neuron (Siegert formula,
// Brunel 2000), for given parameters (`theory lif --mu ...`) or for each population of a config.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <stdexcept>
#include <variant>

#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/theory.hpp>

#include "commands.hpp"

namespace spikesim::cli {
namespace {

struct lif_args {
  double mu = 0.0, sigma = 0.0;
  double tau_m = 20.0, theta = 20.0, v_reset = 10.0, t_ref = 2.0;
  double dt = 0.0;  // > 0: also the prediction for a simulation at this step
};

struct theory_args {
  std::string config;
  std::vector<std::string> sets;
  lif_args lif;
  theory::brunel_params brunel;
  double brunel_dt = 0.0;
};

// Runs a theory call with its refusals phrased as the program's: an argument by its flag
// ("config error: --tau-m = -5 ms, must be > 0"), anything else as a configuration error.
template <class F>
auto with_flags(F call) {
  try {
    return call();
  } catch (const theory::argument_error& e) {
    std::string flag = e.name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    throw config_error("config error: --" + flag + " = " + e.value_text());
  } catch (const std::invalid_argument& e) {
    throw config_error(std::string("config error: ") + e.what());
  }
}

std::string num(double x, int digits) {
  return format_significant(x, digits, {"undefined", "inf"});
}

void print_prediction(const theory::lif_noise_result& r, const std::string& indent) {
  std::cout << indent << "rate      " << num(r.rate_hz, 6) << " Hz\n"
            << indent << "mean ISI  " << num(r.mean_isi_ms, 6) << " ms\n"
            << indent << "CV        " << num(r.cv, 6) << "\n";
}

void lif_command(const lif_args& a) {
  const theory::lif_noise_prediction r = with_flags([&] {
    return theory::siegert_prediction(a.mu, a.sigma, a.tau_m, a.theta, a.v_reset, a.t_ref, a.dt);
  });
  std::cout << "LIF with white noise, diffusion approximation (Siegert; Brunel 2000), potentials "
               "relative to rest:\n"
            << "  mu = " << a.mu << " mV, sigma = " << a.sigma << " mV, tau_m = " << a.tau_m
            << " ms, theta = " << a.theta << " mV, V_reset = " << a.v_reset
            << " mV, t_ref = " << a.t_ref << " ms\n";
  print_prediction(r.exact, "");
  if (a.dt > 0) {
    std::cout << "simulated at dt = " << a.dt << " ms (threshold checked at step ends, effective "
              << "threshold " << num(r.theta_eff, 6) << " mV):\n";
    print_prediction(r.at_dt, "");
  }
}

void brunel_command(const theory::brunel_params& p, double dt) {
  const theory::brunel_result r = with_flags([&] { return theory::brunel_rate(p); });
  const theory::brunel_result d =
      dt > 0 ? with_flags([&] { return theory::brunel_rate(p, dt); }) : theory::brunel_result{};
  std::cout << "Brunel (2000) model A, mean-field self-consistent rate (diffusion approximation, "
               "Siegert):\n"
            << "  g = " << p.g << ", eta = " << p.eta << ", J = " << p.J << " mV, C_E = " << p.C_E
            << ", gamma = " << p.gamma << ", tau_m = " << p.tau_m << " ms, theta = " << p.theta
            << " mV, V_reset = " << p.v_reset << " mV, t_ref = " << p.t_ref << " ms\n"
            << "nu_thr    " << num(r.nu_thr_hz, 6) << " Hz\n"
            << "nu_ext    " << num(r.nu_ext_hz, 6) << " Hz per source\n"
            << "rate      " << num(r.rate_hz, 6) << " Hz\n"
            << "mu        " << num(r.mu, 6) << " mV\n"
            << "sigma     " << num(r.sigma, 6) << " mV\n"
            << "CV        " << num(r.cv, 6) << "\n";
  if (dt > 0)
    std::cout << "simulated at dt = " << dt << " ms (threshold checked at step ends):\n"
              << "rate      " << num(d.rate_hz, 6) << " Hz\n"
              << "CV        " << num(d.cv, 6) << "\n";
}

// One population's table, or why there is none.
void print_population(const population_spec& p, double dt) {
  if (p.is_source()) {
    std::cout << "\npopulation " << p.name << " (" << p.model_name() << ", " << p.size
              << " neurons)\n  skipped: a spike source, whose spikes are given\n";
    return;
  }
  std::cout << "\npopulation " << p.name << " (" << p.model_name() << ", " << p.size
            << " neurons, sigma = " << p.input.noise.sigma << " mV)\n";
  switch (theory::siegert_scope_of(p)) {
    case theory::siegert_scope::not_lif:
      std::cout << "  skipped: no stationary noisy-EIF theory here (theory.hpp has the "
                   "deterministic EIF rate, eif_rate_hz)\n";
      return;
    case theory::siegert_scope::coloured_noise:
      std::cout << "  skipped: coloured (Ornstein-Uhlenbeck) input, tau_noise = "
                << p.input.noise.tau_noise << " ms; the Siegert formula is for white noise\n";
      return;
    case theory::siegert_scope::applies:
      break;
  }
  if (!p.input.pulses.empty())
    std::cout << "  note: " << p.input.pulses.size()
              << " pulse(s) ignored: the theory is that of the constant current alone\n";
  std::string note;
  const std::vector<double> currents = theory::tabulated_currents(p, &note);
  if (!note.empty()) std::cout << "  note: " << note << "\n";
  std::cout << std::right << std::setw(12) << "I (nA)" << std::setw(12) << "mu (mV)"
            << std::setw(14) << "rate (Hz)" << std::setw(14) << "mean ISI ms" << std::setw(10)
            << "CV" << std::setw(16) << "dt-corr. Hz" << std::setw(12) << "dt-corr. CV"
            << "\n";
  const auto& lif = std::get<lif_params>(p.params);
  for (double I : currents) {
    theory::lif_stationary s{};
    try {
      s = theory::lif_stationary_at(lif, p.input.noise.sigma, I, dt);
    } catch (const std::invalid_argument& e) {
      throw config_error("config error: population." + p.name + ": " + e.what());
    }
    const theory::lif_noise_result &r = s.at.exact, &d = s.at.at_dt;
    std::cout << std::setw(12) << num(I, 6) << std::setw(12) << num(s.mu, 6) << std::setw(14)
              << num(r.rate_hz, 6) << std::setw(14) << num(r.mean_isi_ms, 6) << std::setw(10)
              << num(r.cv, 4) << std::setw(16) << num(d.rate_hz, 6) << std::setw(12) << num(d.cv, 4)
              << "\n";
  }
}

void config_command(const theory_args& a) {
  const experiment_spec spec = load_config(a.config, a.sets);
  const double dt = spec.run.dt;
  std::cout << "stationary theory of each population (Siegert formula for LIF with white noise; "
               "potentials relative to rest, mu = R_m I)\n"
            << "\"dt-corrected\": as simulated at run.dt = " << dt
            << " ms, threshold checked at step ends (theory.hpp: discrete_time_threshold)\n";
  if (spec.has_network())
    std::cout << "note: the input of projections and Poisson drive is left out here; for a Brunel "
                 "network use `spikesim theory brunel`\n";
  for (const auto& p : spec.populations) print_population(p, dt);
}

}  // namespace

void add_theory(CLI::App& app) {
  auto args = std::make_shared<theory_args>();
  auto* cmd = app.add_subcommand(
      "theory",
      "stationary rate and ISI CV of the noisy LIF (Siegert formula): `theory lif "
      "--mu M --sigma S ...`, or `theory CONFIG` for each population of an experiment");
  cmd->add_option("config", args->config, "experiment file (TOML)");
  cmd->add_option("--set", args->sets, "override a config key: key.path=value (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  auto* lif = cmd->add_subcommand(
      "lif", "tau_m du = (-u + mu) dt + sigma sqrt(tau_m) dW, potentials relative to rest");
  auto& l = args->lif;
  lif->add_option("--mu", l.mu, "mean input R_m I relative to rest (mV)")->required();
  lif->add_option("--sigma", l.sigma, "noise amplitude (mV), as input.sigma")->required();
  lif->add_option("--tau-m", l.tau_m, "membrane time constant (ms)")->capture_default_str();
  lif->add_option("--theta", l.theta, "threshold relative to rest (mV)")->capture_default_str();
  lif->add_option("--v-reset", l.v_reset, "reset relative to rest (mV)")->capture_default_str();
  lif->add_option("--t-ref", l.t_ref, "refractory period (ms)")->capture_default_str();
  lif->add_option("--dt", l.dt, "also predict a simulation at this time step (ms)");
  lif->callback([args] {
    if (!args->config.empty())
      throw config_error("config error: give either `theory lif ...` or `theory CONFIG`");
    if (!(args->lif.dt >= 0) || !std::isfinite(args->lif.dt))
      throw config_error("config error: --dt = " + num(args->lif.dt, 6) +
                         " ms is invalid: must be > 0");
    lif_command(args->lif);
  });
  auto* brunel = cmd->add_subcommand(
      "brunel", "self-consistent rate of Brunel's (2000) sparse E/I network (model A)");
  auto& b = args->brunel;
  brunel->add_option("--g", b.g, "relative strength of inhibition")->capture_default_str();
  brunel->add_option("--eta", b.eta, "external rate / threshold rate")->capture_default_str();
  brunel->add_option("--J", b.J, "excitatory PSP (mV)")->capture_default_str();
  brunel->add_option("--C-E", b.C_E, "excitatory inputs per neuron")->capture_default_str();
  brunel->add_option("--gamma", b.gamma, "C_I / C_E")->capture_default_str();
  brunel->add_option("--tau-m", b.tau_m, "membrane time constant (ms)")->capture_default_str();
  brunel->add_option("--theta", b.theta, "threshold relative to rest (mV)")->capture_default_str();
  brunel->add_option("--v-reset", b.v_reset, "reset relative to rest (mV)")->capture_default_str();
  brunel->add_option("--t-ref", b.t_ref, "refractory period (ms)")->capture_default_str();
  brunel->add_option("--dt", args->brunel_dt, "also predict a simulation at this time step (ms)");
  brunel->callback([args] {
    if (!args->config.empty())
      throw config_error("config error: give either `theory brunel ...` or `theory CONFIG`");
    brunel_command(args->brunel, args->brunel_dt);
  });
  cmd->callback([cmd, lif, brunel, args] {
    if (lif->parsed() || brunel->parsed()) return;
    if (args->config.empty())
      throw config_error("config error: theory: give `lif --mu M --sigma S ...` or a CONFIG file");
    config_command(*args);
  });
}

}  // namespace spikesim::cli
