// `spikesim bench`: neuron-steps per second of an uncoupled population with white noise, with
// spike recording on (spikes are gathered and counted, not written), as one JSON line.
#include <cmath>
#include <iomanip>
#include <iostream>

#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/population_bench.hpp>
#include <spikesim/version.hpp>

#include "commands.hpp"

namespace spikesim::cli {
namespace {

struct bench_args {
  population_bench bench;
  double n = 1e5;  // neurons, as a number (1e6)
  std::string backend = "cpu";
  int threads = 0;
  int device = 0;
};

void bench_command(bench_args& a) {
  if (a.n != std::floor(a.n))
    throw config_error("--n " + std::to_string(a.n) + ": expected a whole number of neurons");
  a.bench.neurons = static_cast<uint64_t>(a.n);
  backend_options opt;
  opt.kind = a.backend;
  opt.threads = a.threads;
  opt.device = a.device;
  const population_bench_result r = run_population_bench(a.bench, opt);
  const experiment_spec& spec = r.spec;
  const run_summary& s = r.summary;
  const std::string precision = spec.run.prec == precision::single ? "float" : "double";
  const std::string date = utc_now();
  const double n = static_cast<double>(spec.total_neurons());
  std::cout << std::setprecision(6) << "{\"benchmark\": \"population\", \"model\": \""
            << a.bench.model << "\", \"precision\": \"" << precision << "\", \"backend\": \""
            << s.backend << "\", \"device\": \"" << s.device
            << "\", \"n\": " << static_cast<uint64_t>(n) << ", \"dt_ms\": " << spec.run.dt
            << ", \"steps\": " << s.steps << ", \"chunk_steps\": " << r.chunk_steps
            << ", \"sigma_mV\": " << spec.populations[0].input.noise.sigma
            << ", \"wall_s\": " << s.wall_s << ", \"neuron_steps_per_s\": " << s.neuron_steps_per_s
            << ", \"spikes\": " << r.spikes
            << ", \"mean_rate_hz\": " << r.spikes / (n * s.simulated_ms * 1e-3)
            << ", \"spike_recording\": true"
            << ", \"version\": \"" << simulator_version() << "\", \"commit\": \"" << git_sha()
            << "\", \"date_utc\": \"" << date << "\"}" << std::endl;
}

}  // namespace

void add_bench(CLI::App& app) {
  auto a = std::make_shared<bench_args>();
  auto* cmd = app.add_subcommand("bench", "measure neuron-steps per second (JSON on stdout)");
  cmd->add_option("--model", a->bench.model, "lif | eif")->check(CLI::IsMember({"lif", "eif"}));
  cmd->add_option("--n", a->n, "neurons (e.g. 1e6)")->check(CLI::Range(1.0, 4.3e9));
  cmd->add_option("--tstop", a->bench.tstop, "simulated time, ms");
  cmd->add_option("--dt", a->bench.dt, "time step, ms");
  cmd->add_option("--precision", a->bench.precision, "float | double")
      ->check(CLI::IsMember({"float", "double"}));
  cmd->add_option("--backend", a->backend, "cpu | cuda | auto")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--threads", a->threads,
                  "the most CPU threads (default: one per 2048 neurons, up to all)");
  cmd->add_option("--device", a->device, "CUDA device ordinal (default 0)");
  cmd->add_option("--sigma", a->bench.sigma, "white noise, mV");
  cmd->add_option("--set", a->bench.sets, "override a config key: key.path=value")
      ->take_all()
      ->allow_extra_args(false);
  cmd->callback([a] { bench_command(*a); });
}

}  // namespace spikesim::cli
