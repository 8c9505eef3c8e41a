// spikesim._spikesim: the library's run session, sweeps, theory and single-neuron analysis for the
// Python package (python/spikesim/), which phrases them as functions, exceptions and arrays. The
// simulation runs with the GIL released; a pending Ctrl-C is noticed after every chunk and stops
// the run as a signal stops the CLI's (the file kept, marked interrupted, and a checkpoint).
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <spikesim/communicator.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/environment.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/model_file.hpp>
#include <spikesim/session.hpp>
#include <spikesim/single_neuron.hpp>
#include <spikesim/sweep_merge.hpp>
#include <spikesim/sweep_run.hpp>
#include <spikesim/theory.hpp>
#include <spikesim/version.hpp>

namespace nb = nanobind;
using namespace nb::literals;

namespace spikesim::python {
namespace {

// The settings as the Python functions name their arguments.
std::string python_setting_name(setting s) {
  switch (s) {
    case setting::checkpoint_every:
      return "checkpoint_every_ms=";
    case setting::current_range:
      return "currents=";
    case setting::redo:
      return "redo=True";
    default:
      return neutral_setting_name(s) + "=";
  }
}

// One communicator for the life of the module: MPI (where the process was started by a launcher)
// is initialised once.
communicator& comm() {
  static communicator c;
  return c;
}

// The hooks' side of a run: throttled progress and Ctrl-C, each with the GIL taken back briefly.
struct python_hooks {
  std::atomic<bool> stop{false};
  bool interrupted = false;  // by a KeyboardInterrupt (Ctrl-C) while it ran
  nb::object progress, report;
  std::chrono::steady_clock::time_point last{};

  // After every chunk: a pending signal handler runs; KeyboardInterrupt (or any exception it
  // raised) stops the run after this chunk.
  void check_signals() {
    nb::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      PyErr_Clear();
      interrupted = true;
      stop.store(true);
    }
  }
  void on_progress(uint64_t done, uint64_t total) {
    check_signals();
    const auto now = std::chrono::steady_clock::now();
    if (progress.is_none() || (done < total && now - last < std::chrono::milliseconds(100))) return;
    last = now;
    nb::gil_scoped_acquire gil;
    progress(done, total);
  }
  void on_report(const std::string& line) {
    if (report.is_none()) return;
    nb::gil_scoped_acquire gil;
    report(line);
  }
  session_hooks session(bool quiet) {
    session_hooks h;
    h.stop = &stop;
    h.quiet = quiet;
    h.progress = [this](uint64_t d, uint64_t t) { on_progress(d, t); };
    h.report = [this](const std::string& l) { on_report(l); };
    h.starting = [this] { check_signals(); };
    return h;
  }
};

nb::dict dict_of(std::initializer_list<std::pair<const char*, nb::object>> items) {
  nb::dict d;
  for (const auto& [k, v] : items) d[k] = v;
  return d;
}

nb::dict summary_dict(const run_summary& s) {
  nb::list pops;
  for (const auto& p : s.populations) {
    nb::dict d;
    d["name"] = p.name;
    d["neurons"] = p.neurons;
    d["spikes"] = p.spikes;
    d["mean_rate_hz"] = p.mean_rate_hz;
    pops.append(d);
  }
  nb::dict d;
  d["populations"] = pops;
  d["status"] = std::string(to_string(s.status));
  d["steps"] = s.steps;
  d["simulated_ms"] = s.simulated_ms;
  d["wall_s"] = s.wall_s;
  d["neuron_steps_per_s"] = s.neuron_steps_per_s;
  d["real_time_factor"] = s.real_time_factor;
  d["synapses"] = s.synapses;
  d["synapse_bytes"] = s.synapse_bytes;
  d["construction_s"] = s.construction_s;
  d["synaptic_events"] = s.synaptic_events;
  d["synaptic_events_per_s"] = s.synaptic_events_per_s;
  d["backend"] = s.backend;
  d["device"] = s.device;
  return d;
}

backend_options options(const std::string& backend, int threads, int device) {
  backend_options opt;
  opt.kind = backend;
  opt.threads = threads;
  opt.device = device;
  return opt;
}

nb::dict run(run_request r, int threads, int device, bool quiet, nb::object progress,
             nb::object report) {
  python_hooks hooks;
  hooks.progress = std::move(progress);
  hooks.report = std::move(report);
  run_outcome o;
  run_plan plan;
  {
    nb::gil_scoped_release release;
    plan = prepare_run(r, comm());
    check_threads(threads);
    o = execute_run(plan, options(r.backend, threads, device), comm(), hooks.session(quiet));
  }
  nb::dict d = summary_dict(o.summary);
  d["started"] = o.started;
  d["interrupted"] = hooks.interrupted;
  d["output"] = plan.spec.output.file;
  d["checkpoint"] = o.wrote_checkpoint ? plan.checkpoint_path : std::string();
  d["analysis_failure"] = o.analysis_failure;
  return d;
}

nb::dict sweep(sweep_request r, const std::string& backend, int threads, int device, bool quiet,
               nb::object progress, nb::object report, nb::object pack_starting) {
  python_hooks hooks;
  hooks.progress = std::move(progress);
  hooks.report = std::move(report);
  sweep_hooks sh;
  sh.session = hooks.session(quiet);
  std::vector<std::string> files;
  sh.pack_starting = [&](const std::string& name) {
    if (pack_starting.is_none()) return;
    nb::gil_scoped_acquire gil;
    pack_starting(name);
  };
  sh.pack_done = [&](const pack_outcome& p) { files.push_back(p.path); };
  sweep_totals s;
  sweep_task t;
  {
    nb::gil_scoped_release release;
    check_threads(threads);
    t = plan_sweep_task(r, comm(), nullptr);
    if (!t.plan.packs.empty()) s = run_packs(t, r, options(backend, threads, device), comm(), sh);
  }
  nb::dict d;
  d["directory"] = t.dir;
  d["points"] = t.sweep.points();
  d["files"] = files;
  d["done_points"] = s.done_points;
  d["interrupted"] = s.interrupted || hooks.interrupted;
  d["interrupted_file"] = s.interrupted_file;
  return d;
}

// The merged table as columns: one list per column, in the CLI's CSV order.
nb::dict merge(const std::vector<std::string>& inputs, nb::object warn) {
  merged_sweep m = merge_sweep(inputs, [&](const std::string& w) {
    if (!warn.is_none()) warn(w);
  });
  nb::dict cols;
  cols["point"] = nb::list();
  for (const auto& k : m.keys) cols[k.c_str()] = nb::list();
  const char* names[] = {"seed",
                         "population",
                         "neurons",
                         "spikes",
                         "rate_mean",
                         "rate_median",
                         "rate_p10",
                         "rate_p90",
                         "silent_fraction",
                         "cv_mean",
                         "cv_median",
                         "cv_defined_fraction",
                         "lv_mean",
                         "fano",
                         "chi",
                         "population_rate_sd",
                         "t_start",
                         "t_stop",
                         "file"};
  for (const char* n : names) cols[n] = nb::list();
  auto add = [&](const char* n, nb::object v) { nb::list(cols[n]).append(v); };
  for (const auto& row : m.rows) {
    add("point", nb::cast(row.point));
    for (size_t i = 0; i < m.keys.size(); ++i) add(m.keys[i].c_str(), nb::cast(row.values[i]));
    add("seed", nb::cast(row.seed));
    add("population", nb::cast(row.population));
    add("neurons", nb::cast(row.neurons));
    add("spikes", nb::cast(row.spikes));
    const double v[] = {
        row.rate_mean,       row.rate_median, row.rate_p10,  row.rate_p90,
        row.silent_fraction, row.cv_mean,     row.cv_median, row.cv_defined_fraction,
        row.lv_mean,         row.fano,        row.chi,       row.population_rate_sd,
        row.t_start,         row.t_stop};
    for (size_t i = 0; i < std::size(v); ++i) add(names[4 + i], nb::cast(v[i]));
    add("file", nb::cast(row.file));
  }
  nb::dict d;
  d["keys"] = m.keys;
  d["points"] = m.points;
  d["columns"] = cols;
  return d;
}

single_neuron::param_value find(const std::vector<single_neuron::param_value>& ps,
                                const std::string& key) {
  for (const auto& p : ps)
    if (p.key == key) return p;
  throw std::invalid_argument("no parameter " + key);
}

theory::eif_params_view eif_view(const std::vector<single_neuron::param_value>& ps) {
  auto v = [&](const char* k) { return find(ps, k).value; };
  return {v("tau_m"), v("E_L"),    v("R_m"),     v("delta_T"),
          v("V_T"),   v("V_peak"), v("V_reset"), v("t_ref")};
}

// The model's parameters: its defaults with those of `given` replaced (key -> value); an unknown
// key is a config_error naming it and the model's keys.
std::vector<single_neuron::param_value> parameters(const std::string& model,
                                                   const nb::dict& given) {
  auto ps = single_neuron::default_parameters(model);
  for (auto [k, v] : given) {
    const std::string key = nb::cast<std::string>(k);
    bool found = false;
    for (auto& p : ps)
      if (p.key == key) {
        p.value = nb::cast<double>(v);
        found = true;
      }
    if (!found) {
      std::string keys;
      for (const auto& p : ps) keys += (keys.empty() ? "" : ", ") + p.key;
      throw config_error(
          "config error: " + key + ": not a parameter of the " + model + " model (" + keys + ")",
          key, "", "", "not a parameter of the " + model + " model");
    }
  }
  if (const param_violation v = single_neuron::check_parameters(model, ps)) {
    const std::string value = format_shortest(v.value), why = param_rule_text(v, 10);
    throw config_error(
        "config error: " + std::string(v.key) + " = " + value + " " + v.unit + ": " + why, v.key,
        value, v.unit, why);
  }
  return ps;
}

nb::dict report_dict(const single_neuron::report& r) {
  nb::dict d;
  d["model"] = r.model;
  d["title"] = r.title;
  d["equation"] = r.equation;
  d["phase_units"] = r.phase_units;
  d["I_units"] = r.I_units;
  nb::dict params, units;
  for (const auto& p : r.params) {
    params[p.key.c_str()] = p.value;
    units[p.key.c_str()] = p.unit;
  }
  d["params"] = params;
  d["units"] = units;
  d["I"] = r.I;
  nb::list fps;
  for (const auto& f : r.fixed_points) fps.append(nb::make_tuple(f.u, f.eigenvalue, f.stable));
  d["fixed_points"] = fps;
  d["rheobase"] = r.rheobase;
  d["rheobase_numeric"] = r.rheobase_numeric;
  d["threshold0"] = r.threshold0;
  d["rheobase_note"] = r.rheobase_note;
  d["threshold_note"] = r.threshold_note;
  d["fI_method"] = r.fI_method;
  d["sigma"] = r.sigma;
  d["noisy_at_I"] = nb::make_tuple(r.noisy_at_I.rate_hz, r.noisy_at_I.cv);
  const single_neuron::fI_columns c = single_neuron::columns_of(r.rows);
  d["fI"] = dict_of({{"I", nb::cast(c.I)},
                     {"rate", nb::cast(c.rate)},
                     {"u_stable", nb::cast(c.u_stable)},
                     {"u_unstable", nb::cast(c.u_unstable)},
                     {"rate_noise", nb::cast(c.rate_noise)},
                     {"cv_noise", nb::cast(c.cv_noise)},
                     {"spikes", nb::cast(c.spikes)}});
  std::vector<double> dist, gap, law;
  for (const auto& s : r.saddle) {
    dist.push_back(s.distance);
    gap.push_back(s.gap);
    law.push_back(s.law);
  }
  d["saddle"] =
      dict_of({{"distance", nb::cast(dist)}, {"gap", nb::cast(gap)}, {"law", nb::cast(law)}});
  d["phase_u"] = r.phase_u;
  d["phase_f"] = r.phase_f;
  return d;
}

nb::dict analyse_neuron(const std::string& model, const nb::dict& params, double I,
                        nb::object currents, double sigma, double hh_dt, double hh_duration) {
  const auto ps = parameters(model, params);
  single_neuron::current_range range = single_neuron::default_currents(model, ps);
  std::vector<double> I_values = range.values();
  if (!currents.is_none()) {
    I_values = nb::cast<std::vector<double>>(currents);
    if (I_values.size() > single_neuron::max_currents)
      throw config_error("config error: currents: " + std::to_string(I_values.size()) +
                         " currents, more than " + std::to_string(single_neuron::max_currents));
    // The text's heading names the currents as from:to:step (their mean step).
    const size_t n = I_values.size();
    range = {n ? I_values.front() : 0.0, n ? I_values.back() : 0.0,
             n > 1 ? (I_values.back() - I_values.front()) / static_cast<double>(n - 1) : 0.0};
  }
  single_neuron::hh_simulation sim{hh_dt, hh_duration};
  single_neuron::report r;
  {
    nb::gil_scoped_release release;
    r = single_neuron::analyse(model, ps, I, I_values, sigma, sim);
  }
  nb::dict d = report_dict(r);
  std::ostringstream text;
  write_model_text(text, r, range);
  d["text"] = text.str();
  return d;
}

// Each typed error as the Python exception of its kind (python/spikesim/errors.py), with its data.
void translate(const std::exception_ptr& p, void* payload) {
  nb::handle factory(static_cast<PyObject*>(payload));
  try {
    std::rethrow_exception(p);
  } catch (const config_error& e) {
    nb::object ex = factory("config", e.what(), e.key, e.value, e.unit, e.reason.str());
    PyErr_SetObject(ex.type().ptr(), ex.ptr());
  } catch (const error& e) {
    static const char* kinds[] = {"internal", "config",    "input", "output",
                                  "backend",  "numerical", "memory"};
    nb::object ex = factory(kinds[static_cast<int>(e.kind())], e.what(), "", "", "", "");
    PyErr_SetObject(ex.type().ptr(), ex.ptr());
  }
}

}  // namespace
}  // namespace spikesim::python

NB_MODULE(_spikesim, m) {
  using namespace spikesim;
  using namespace spikesim::python;
  use_setting_names(python_setting_name);
  m.attr("__version__") = simulator_version();
  m.attr("git_sha") = git_sha();
  m.attr("cuda_built") = cuda_built();
  m.attr("mpi_built") = mpi_built();

  m.def("set_error_factory", [](nb::object factory) {
    // Kept for the life of the process: the translator holds it.
    nb::register_exception_translator(translate, factory.release().ptr());
  });

  nb::class_<run_request>(m, "RunRequest")
      .def(nb::init<>())
      .def_rw("config", &run_request::config)
      .def_rw("config_text", &run_request::config_text)
      .def_rw("sets", &run_request::sets)
      .def_rw("output", &run_request::output)
      .def_rw("resume", &run_request::resume)
      .def_rw("checkpoint", &run_request::checkpoint)
      .def_rw("checkpoint_every_ms", &run_request::checkpoint_every_ms)
      .def_rw("backend", &run_request::backend);
  nb::class_<sweep_request>(m, "SweepRequest")
      .def(nb::init<>())
      .def_rw("config", &sweep_request::config)
      .def_rw("config_text", &sweep_request::config_text)
      .def_rw("sets", &sweep_request::sets)
      .def_rw("sweeps", &sweep_request::sweeps)
      .def_rw("output_dir", &sweep_request::output_dir)
      .def_rw("task_id", &sweep_request::task_id)
      .def_rw("num_tasks", &sweep_request::num_tasks)
      .def_rw("pack", &sweep_request::pack)
      .def_rw("redo", &sweep_request::redo)
      .def_rw("checkpoint_every_ms", &sweep_request::checkpoint_every_ms);

  m.def("run", &run, "request"_a, "threads"_a, "device"_a, "quiet"_a, "progress"_a.none(),
        "report"_a.none());
  m.def("sweep", &sweep, "request"_a, "backend"_a, "threads"_a, "device"_a, "quiet"_a,
        "progress"_a.none(), "report"_a.none(), "pack_starting"_a.none());
  m.def("merge", &merge, "inputs"_a, "warn"_a.none());
  m.def("default_config_text", [] { return default_config_text(); });
  m.def("resolved_config", [](const std::string& text, const std::string& source,
                              const std::vector<std::string>& sets) {
    return parse_config(text, source, sets).config_text;
  });

  m.def("siegert", [](double mu, double sigma, double tau_m, double theta, double v_reset,
                      double t_ref, double dt) {
    const auto p = theory::siegert_prediction(mu, sigma, tau_m, theta, v_reset, t_ref, dt);
    return nb::make_tuple(p.at_dt.rate_hz, p.at_dt.cv, p.theta_eff);
  });
  m.def("discrete_time_threshold", &theory::discrete_time_threshold);
  m.def("brunel_rate", [](const std::vector<double>& a, double dt) {
    if (a.size() != 9) throw std::invalid_argument("brunel_rate takes 9 parameters");
    const theory::brunel_result r =
        theory::brunel_rate({a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]}, dt);
    return dict_of({{"rate_hz", nb::cast(r.rate_hz)},
                    {"mu", nb::cast(r.mu)},
                    {"sigma", nb::cast(r.sigma)},
                    {"cv", nb::cast(r.cv)},
                    {"nu_thr_hz", nb::cast(r.nu_thr_hz)},
                    {"nu_ext_hz", nb::cast(r.nu_ext_hz)}});
  });
  m.def("lif_rate_hz", &theory::lif_rate_hz);
  m.def("lif_rheobase_nA", &theory::lif_rheobase_nA);
  m.def("eif_f", [](const nb::dict& p, double I, double u) {
    return theory::eif_f(eif_view(parameters("eif", p)), I, u);
  });
  m.def("eif_fixed_points", [](const nb::dict& p, double I) {
    std::vector<std::pair<double, bool>> out;
    for (const auto& f : theory::eif_fixed_points(eif_view(parameters("eif", p)), I))
      out.emplace_back(f.u_mV, f.stable);
    return out;
  });
  m.def("eif_rheobase_nA",
        [](const nb::dict& p) { return theory::eif_rheobase_nA(eif_view(parameters("eif", p))); });
  m.def("eif_rate_hz", [](const nb::dict& p, double I) {
    return theory::eif_rate_hz(eif_view(parameters("eif", p)), I);
  });
  m.def("default_parameters", [](const std::string& model) {
    std::vector<std::tuple<std::string, std::string, double>> out;
    for (const auto& p : single_neuron::default_parameters(model))
      out.emplace_back(p.key, p.unit, p.value);
    return out;
  });
  m.def("analyse_neuron", &analyse_neuron, "model"_a, "params"_a, "I"_a, "currents"_a.none(),
        "sigma"_a, "hh_dt"_a, "hh_duration"_a);
}
