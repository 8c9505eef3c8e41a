// `spikesim run`: config -> simulation -> HDF5 file, with progress, a summary table, and a clean
// stop on SIGINT/SIGTERM (the file is kept, marked interrupted, exit code 75). Under mpirun the
// network is spread over the ranks and rank 0 writes the file (docs/scaling.md).
#include <cmath>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <optional>

#include <spikesim/communicator.hpp>
#include <spikesim/environment.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/session.hpp>
#include <spikesim/sweep_run.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "progress.hpp"

namespace spikesim::cli {
namespace {

struct run_args {
  run_request run;  // config, --set, -o, --resume, --checkpoint, --checkpoint-every, --backend
  int threads = 0;
  int device = 0;
  bool device_given = false;  // --device on the command line (else each rank its local rank)
  bool quiet = false;
};

void print_summary(const run_summary& s, const std::string& file) {
  std::cout << std::left << std::setw(16) << "population" << std::right << std::setw(12)
            << "neurons" << std::setw(14) << "spikes" << std::setw(14) << "rate (Hz)"
            << "\n";
  for (const auto& p : s.populations)
    std::cout << std::left << std::setw(16) << p.name << std::right << std::setw(12) << p.neurons
              << std::setw(14) << p.spikes << std::setw(14) << std::fixed << std::setprecision(3)
              << p.mean_rate_hz << "\n";
  std::cout << std::defaultfloat << std::setprecision(12) << "steps " << s.steps << " ("
            << s.simulated_ms << " ms simulated), wall " << std::setprecision(4) << s.wall_s
            << " s, " << std::scientific << std::setprecision(3) << s.neuron_steps_per_s
            << " neuron-steps/s" << std::defaultfloat << "\n"
            << "real-time factor " << std::setprecision(4) << s.real_time_factor
            << " (wall / simulated time)\n";
  if (s.synapses > 0)
    std::cout << "synapses " << s.synapses << " (" << std::setprecision(3)
              << static_cast<double>(s.synapse_bytes) / static_cast<double>(s.synapses)
              << " bytes per synapse, " << format_bytes(static_cast<double>(s.synapse_bytes))
              << "), built in " << std::setprecision(4) << s.construction_s << " s; "
              << s.synaptic_events << " synaptic events, " << std::scientific
              << std::setprecision(3) << s.synaptic_events_per_s << " per second"
              << std::defaultfloat << "\n";
  std::cout << "backend " << s.backend << " (" << s.device << ")\n"
            << "output " << file << " (" << to_string(s.status) << ")\n";
}

// The two tables count spikes differently when some lie outside the analysis window: say so,
// with how many, where the totals would otherwise contradict each other.
void print_spikes_outside_window(std::ostream& out, const run_summary& s,
                                 const std::vector<population_analysis>& analysis) {
  for (const auto& a : analysis)
    for (const auto& p : s.populations)
      if (p.name == a.name && p.spikes > a.spikes)
        out << std::setprecision(10) << a.name << ": " << p.spikes - a.spikes << " of its "
            << p.spikes << " spikes lie outside the analysis window [" << a.t_start << ", "
            << a.t_stop << ") ms (before t_start, or stamped at exactly " << a.t_stop
            << " ms, the end, by the last step): the analysis counts " << a.spikes << "\n";
}

}  // namespace

namespace {
extern "C" void on_stop_signal(int) {
  stop_requested.store(true);
}
}  // namespace

std::atomic<bool> stop_requested{false};

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        double x = 0;
        if (!CLI::detail::lexical_cast(s, x) || !(x > 0) || !std::isfinite(x))
          return "must be a number > 0, not '" + s + "'";
        return {};
      },
      "> 0");
}

CLI::Validator non_empty_path() {
  return CLI::Validator(
      [](std::string& s) -> std::string { return s.empty() ? "must name a file, not ''" : ""; },
      "FILE");
}

CLI::Option* add_backend_options(CLI::App* cmd, std::string& backend, int& device, int& threads,
                                 bool& quiet) {
  cmd->add_option("--backend", backend, "auto | cpu | cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  auto* d = cmd->add_option("--device", device,
                            "CUDA device ordinal (default 0; under mpirun, the rank's rank on its "
                            "node modulo the devices it sees)")
                ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", threads,
                  "the most CPU threads (default: one per 2048 neurons, up to all; under mpirun "
                  "without binding, the node's cores shared among its ranks)")
      ->check(CLI::Range(0, max_threads));
  cmd->add_flag("-q,--quiet", quiet, "no progress or notices");
  return d;
}

void on_every_rank(communicator& comm, const std::function<void()>& command) {
  if (comm.ranks() == 1) return command();
  try {
    command();
  } catch (const numerical_error& e) {
    if (!e.all_ranks) comm.abort(e.what(), exit_code_of(e.kind()));
    // Every rank learnt of it in the same exchange and rank 0 has closed its file, marked
    // failed: the job ends in order, every rank with the exit code.
    if (comm.rank() == 0) std::cerr << "spikesim: " << e.what() << "\n";
    exit_status() = exit_code_of(e.kind());
  } catch (const error& e) {
    comm.abort(e.what(), exit_code_of(e.kind()));
  } catch (const std::bad_alloc&) {
    comm.abort("out of memory", exit_memory);
  } catch (const std::exception& e) {
    comm.abort(std::string("internal error: ") + e.what(), exit_internal);
  }
}

namespace {

void print_ranks(const exchange_summary& x, int ranks) {
  const double intervals = static_cast<double>(std::max<uint64_t>(1, x.intervals));
  std::cout << "ranks " << ranks << ": " << x.intervals << " exchanges, " << std::setprecision(4)
            << x.slowest_s << " s in them (the slowest rank), the quickest " << x.quickest_s * 1e6
            << " us; per exchange " << std::fixed << std::setprecision(0)
            << static_cast<double>(x.bytes_sent_all) / intervals << " bytes sent by all ranks, "
            << static_cast<double>(x.bytes_received) / intervals << " received by each"
            << std::defaultfloat << "; " << x.overflows
            << " exceeded the started exchange's capacity\n";
}

// What follows the run on rank 0: the tables, the warnings, how it ended.
void print_outcome(const run_outcome& o, const run_plan& plan, const communicator& comm) {
  const std::string& file = plan.spec.output.file;
  const run_summary& s = o.summary;
  if (comm.rank() == 0) {
    print_summary(s, file);
    if (comm.ranks() > 1) print_ranks(o.exchange, comm.ranks());
    print_analysis(std::cout, o.analysis);
    print_spikes_outside_window(std::cout, s, o.analysis);
    if (!o.analysis_failure.empty())
      std::cerr << "spikesim: warning: the spike-train statistics failed (" << o.analysis_failure
                << "); the file has no /analysis: `spikesim analyze " << file << "` computes it\n";
  }
  if (s.status != run_status::interrupted) return;
  if (comm.rank() == 0)
    std::cerr << "spikesim: interrupted by a signal after " << s.simulated_ms
              << " ms; the output is valid and marked interrupted\n";
  if (o.wrote_checkpoint)
    // The checkpoint holds the resolved config (overrides included) and the output's name:
    // it needs nothing else.
    std::cerr << "spikesim: checkpoint " << plan.checkpoint_path
              << "; continue with: spikesim run --resume " << plan.checkpoint_path << "\n";
  exit_status() = exit_interrupted;
}

void run_command(const run_args& a, communicator& comm, memory_estimate& memory) {
  run_plan plan = prepare_run(a.run, comm);
  memory = plan.memory;
  // Handlers first: a signal while the state is being built ends the run cleanly too.
  // SIGUSR1 is what SLURM's --signal sends ahead of the end of an allocation.
  install_stop_handlers();
  // One GPU per rank of a node unless --device says otherwise.
  const backend_options opt =
      rank_backend_options(a.run.backend, a.threads, a.device, a.device_given, comm);
  std::optional<progress_meter> meter;
  session_hooks hooks;
  hooks.starting = [&] { meter.emplace(!a.quiet && comm.rank() == 0); };
  hooks.stop = &stop_requested;
  hooks.quiet = a.quiet;
  hooks.progress = [&](uint64_t d, uint64_t t) { (*meter)(d, t); };
  hooks.report = [](const std::string& line) { std::cerr << "spikesim: " << line << "\n"; };
  const run_outcome o = execute_run(plan, opt, comm, hooks);
  if (!o.started) {
    if (comm.rank() == 0)
      std::cerr << "spikesim: interrupted by a signal before the simulation started; no output\n";
    exit_status() = exit_interrupted;
    return;
  }
  print_outcome(o, plan, comm);
}
}  // namespace

void add_run(CLI::App& app) {
  auto args = std::make_shared<run_args>();
  auto* cmd = app.add_subcommand("run", "run an experiment (the built-in one without CONFIG)");
  cmd->add_option("config", args->run.config, "experiment file (TOML)");
  cmd->add_option("-o,--output", args->run.output, "output file (overrides output.file)")
      ->check(non_empty_path());
  cmd->add_option("--set", args->run.sets, "override a config key: key.path=value (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  auto* device =
      add_backend_options(cmd, args->run.backend, args->device, args->threads, args->quiet);
  cmd->add_option("--checkpoint-every", args->run.checkpoint_every_ms,
                  "write a checkpoint every T ms of simulated time (and always on SIGINT, SIGTERM "
                  "or SIGUSR1)")
      ->check(positive_number());
  cmd->add_option("--checkpoint", args->run.checkpoint,
                  "checkpoint file (default OUTPUT.ckpt; when resuming, the file resumed from)")
      ->check(non_empty_path());
  cmd->add_option("--resume", args->run.resume,
                  "continue the run saved in this checkpoint (CONFIG, if given, must resolve to "
                  "the same config)")
      ->check(non_empty_path());
  cmd->callback([args, device] {
    args->device_given = device->count() > 0;
    communicator comm;
    memory_estimate memory;
    on_every_rank(comm, [&] {
      try {
        run_command(*args, comm, memory);
      } catch (const std::bad_alloc&) {
        // The partial output is removed (or kept for its checkpoint) on the way here.
        throw memory_error(out_of_memory_message(memory));
      }
    });
  });
}

}  // namespace spikesim::cli
