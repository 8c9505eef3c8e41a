// `spikesim bench`: neuron-steps per second of an uncoupled population with white noise, with
// spike recording on (spikes are gathered and counted, not written), as one JSON line.
#include <cmath>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <spikesim/backend.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/simulation.hpp>

#include "commands.hpp"

namespace spikesim::cli {
namespace {

struct bench_args {
  std::string model = "eif";
  double n = 1e5;
  double tstop = 100.0;
  double dt = 0.1;
  std::string precision = "float";
  std::string backend = "cpu";
  int threads = 0;
  int device = 0;
  double sigma = 2.0;
  std::vector<std::string> sets;
};

// Counts spikes without keeping them: what the benchmark must not measure is disk speed.
class counting_recorder : public recorder {
 public:
  void begin(const experiment_spec&, const backend&) override {}
  void write(const chunk_output& c) override {
    for (const auto& p : c.populations) spikes += p.total_spikes;
  }
  void finish(const run_summary&) override {}
  uint64_t spikes = 0;
};

std::string bench_config(const bench_args& a) {
  // The reference neuron with a current ramp that spans silence to tens of Hz, as in
  // benchmarks/brian2_eif.py, so both simulators do the same work.
  std::ostringstream o;
  o << std::setprecision(17);
  o << "[run]\ndt = " << a.dt << "\ntstop = " << a.tstop << "\nrandom_seed = 1\nprecision = \""
    << a.precision << "\"\n[population.bench]\nsize = " << static_cast<uint64_t>(a.n)
    << "\nmodel = \"" << a.model << "\"\n";
  if (a.model == "eif")
    o << "input = { I = { from = 6.0, to = 9.0 }, sigma = " << a.sigma << " }\n";
  else
    o << "input = { I = { from = 9.0, to = 12.0 }, sigma = " << a.sigma << " }\n";
  return o.str();
}

void bench_command(const bench_args& a) {
  if (a.n != std::floor(a.n))
    throw config_error("--n " + std::to_string(a.n) + ": expected a whole number of neurons");
  const experiment_spec spec = parse_config(bench_config(a), "<bench>", a.sets);
  check_host_memory(spec, a.backend, false);
  const std::string precision = spec.run.prec == precision::single ? "float" : "double";
  backend_options opt;
  opt.kind = a.backend;
  opt.threads = a.threads;
  opt.device = a.device;
  auto b = make_backend(spec, opt, nullptr);
  counting_recorder rec;
  const run_summary s = simulate(spec, *b, rec);
  const std::string date = utc_now();
  const double n = static_cast<double>(spec.total_neurons());
  std::cout << std::setprecision(6) << "{\"benchmark\": \"population\", \"model\": \"" << a.model
            << "\", \"precision\": \"" << precision << "\", \"backend\": \"" << s.backend
            << "\", \"device\": \"" << s.device << "\", \"n\": " << static_cast<uint64_t>(n)
            << ", \"dt_ms\": " << spec.run.dt << ", \"steps\": " << s.steps
            << ", \"chunk_steps\": " << chunk_steps_for(spec, *b)
            << ", \"sigma_mV\": " << spec.populations[0].input.noise.sigma
            << ", \"wall_s\": " << s.wall_s << ", \"neuron_steps_per_s\": " << s.neuron_steps_per_s
            << ", \"spikes\": " << rec.spikes
            << ", \"mean_rate_hz\": " << rec.spikes / (n * s.simulated_ms * 1e-3)
            << ", \"spike_recording\": true"
            << ", \"version\": \"" << simulator_version() << "\", \"commit\": \"" << git_sha()
            << "\", \"date_utc\": \"" << date << "\"}" << std::endl;
}

}  // namespace

void add_bench(CLI::App& app) {
  auto a = std::make_shared<bench_args>();
  auto* cmd = app.add_subcommand("bench", "measure neuron-steps per second (JSON on stdout)");
  cmd->add_option("--model", a->model, "lif | eif")->check(CLI::IsMember({"lif", "eif"}));
  cmd->add_option("--n", a->n, "neurons (e.g. 1e6)")->check(CLI::Range(1.0, 4.3e9));
  cmd->add_option("--tstop", a->tstop, "simulated time, ms");
  cmd->add_option("--dt", a->dt, "time step, ms");
  cmd->add_option("--precision", a->precision, "float | double")
      ->check(CLI::IsMember({"float", "double"}));
  cmd->add_option("--backend", a->backend, "cpu | cuda | auto")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--threads", a->threads,
                  "the most CPU threads (default: one per 2048 neurons, up to all)");
  cmd->add_option("--device", a->device, "CUDA device ordinal (default 0)");
  cmd->add_option("--sigma", a->sigma, "white noise, mV");
  cmd->add_option("--set", a->sets, "override a config key: key.path=value")
      ->take_all()
      ->allow_extra_args(false);
  cmd->callback([a] { bench_command(*a); });
}

}  // namespace spikesim::cli
