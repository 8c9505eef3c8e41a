// `spikesim sweep CONFIG`: expands a parameter sweep into points, takes this task's share of them,
// leaves out the points that complete files of the sweep already hold, packs the others side by
// side into simulations and writes one file per pack with a /sweep group (docs/sweeps.md); under
// mpirun the packs are dealt round-robin to the ranks. SIGINT/SIGTERM/SIGUSR1 end the current
// pack after its chunk, keep its file marked interrupted, skip the remaining packs and exit 75.
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include <spikesim/communicator.hpp>
#include <spikesim/environment.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/sweep_run.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "progress.hpp"

namespace spikesim::cli {
namespace {

struct sweep_args {
  sweep_request sweep;  // config, -o, --set, --sweep, --task-id, --num-tasks, --pack, --redo, ...
  bool count = false;
  std::string backend = "auto";
  int threads = 0;
  int device = 0;
  bool device_given = false;  // --device on the command line (else each rank its local rank)
  bool quiet = false;
};

void print_line(const std::string& line) {
  std::cerr << "spikesim: " << line << "\n";
}

// Rank 0, once the plan is made and before the directory is touched: the files it removes and
// those it leaves alone.
void print_vetted(const sweep_task& t) {
  for (const auto& name : t.plan.unfinished)
    std::cerr << "spikesim: " << (std::filesystem::path(t.dir) / name).string()
              << ": an unfinished file of this sweep from another pack layout; its points run "
                 "again in this run's packs: removed\n";
  if (!t.plan.stray.empty())
    std::cerr << "spikesim: warning: " << t.dir << "/ holds " << t.plan.stray.size()
              << " file(s) of points of this task that this run neither keeps nor replaces ("
              << t.plan.stray.front() << (t.plan.stray.size() > 1 ? ", ..." : "")
              << "): files of another sweep, which `spikesim merge` refuses; remove them, or use a "
                 "fresh -o\n";
}

std::string task_text(const task_plan& p) {
  return "task " + std::to_string(p.task) + " of " + std::to_string(p.tasks);
}

// What rank 0 says of the plan before the packs run.
void print_plan(const sweep_task& t, const sweep_args& a, int ranks) {
  const task_plan& plan = t.plan;
  const point_range range = plan.range;
  if (plan.kept_files)
    std::cout << "sweep: " << plan.kept_files << " complete file"
              << (plan.kept_files == 1 ? "" : "s") << " of this sweep in " << t.dir
              << "/ already hold " << plan.kept_points << " of the " << range.count << " points of "
              << task_text(plan) << ": not run again (--redo runs them again)" << std::endl;
  if (a.quiet) return;
  std::cerr << "spikesim: sweep of " << t.sweep.points() << " points; " << task_text(plan)
            << ": points " << range.first << "-" << range.first + range.count - 1;
  if (plan.kept_points) std::cerr << ", " << range.count - plan.kept_points << " to run";
  std::cerr << " in " << plan.packs.size() << " pack" << (plan.packs.size() == 1 ? "" : "s");
  if (ranks > 1) std::cerr << " dealt round-robin to " << ranks << " ranks";
  std::cerr << " -> " << t.dir << "/\n";
  if (plan.packs.empty())
    std::cerr << "spikesim: nothing to run; `spikesim merge " << t.dir
              << "` tabulates the points once every task has run\n";
}

// A pack's line on stdout, written at once: the lines of several ranks must not interleave.
void print_pack(const pack_outcome& p, const std::string& rank_prefix) {
  const run_summary& sum = p.summary;
  std::ostringstream line;
  line << rank_prefix << p.name << ": " << p.points << " point" << (p.points == 1 ? "" : "s")
       << ", " << p.neurons << " neurons, " << sum.steps << " steps, wall " << std::setprecision(4)
       << sum.wall_s << " s, " << std::scientific << std::setprecision(3) << sum.neuron_steps_per_s
       << " neuron-steps/s" << std::defaultfloat << " (" << to_string(sum.status) << ")\n";
  std::cout << line.str() << std::flush;
  if (!p.analysis_failure.empty())
    std::cerr << "spikesim: warning: the spike-train statistics of " << p.path << " failed ("
              << p.analysis_failure << "): `spikesim analyze " << p.path << "` computes them\n";
}

// Rank 0's last words: the totals of all ranks and how the sweep ended.
void print_totals(const sweep_totals& s, const sweep_task& t, const sweep_args& a, double wall,
                  int ranks) {
  const bool spread = ranks > 1;
  const task_plan& plan = t.plan;
  const uint64_t count = plan.range.count;
  std::cout << "sweep: " << s.done_points << " of " << count - plan.kept_points << " points of "
            << task_text(plan) << " in " << s.files << " file" << (s.files == 1 ? "" : "s")
            << " in " << t.dir << "/";
  if (plan.kept_points) std::cout << " (" << plan.kept_points << " more complete already)";
  if (spread) std::cout << " by " << ranks << " ranks";
  std::cout << ", wall " << std::setprecision(4) << wall << " s (simulation " << s.sim_wall << " s"
            << (spread ? " on all ranks together, " : ", ") << std::scientific
            << std::setprecision(3) << (s.sim_wall > 0 ? s.neuron_steps / s.sim_wall : 0.0)
            << " neuron-steps/s)" << std::defaultfloat << "\n";
  if (s.interrupted) {
    std::cerr << "spikesim: interrupted by a signal: " << (count - plan.kept_points - s.done_points)
              << " of " << count << " points of this task are not finished"
              << (s.interrupted_file.empty() || spread ? std::string()
                                                       : " (" + s.interrupted_file + ")")
              << "; the same command again runs them (complete files are kept, an interrupted "
                 "pack resumes from its checkpoint)\n";
  } else if (!a.quiet) {
    std::cerr << "spikesim: `spikesim merge " << t.dir
              << "` tabulates the points once every task has run\n";
  }
}

// Simulates the packs dealt to this rank (all of them with one rank) into their files.
void sweep_command(const sweep_args& a, communicator& comm) {
  const bool root = comm.rank() == 0;
  if (a.count) {
    if (root)
      std::cout << load_sweep(a.sweep.config, a.sweep.sets, a.sweep.sweeps).points() << "\n";
    return;
  }
  const sweep_task t = plan_sweep_task(a.sweep, comm, print_vetted);
  if (t.plan.range.count == 0) {
    if (root)
      std::cout << "sweep: " << t.sweep.points() << " points; " << task_text(t.plan)
                << " has none, nothing to run\n";
    return;
  }
  if (root) print_plan(t, a, comm.ranks());
  if (t.plan.packs.empty()) return;
  install_stop_handlers();
  // One GPU per rank of a node unless --device says otherwise.
  const backend_options opt =
      rank_backend_options(a.backend, a.threads, a.device, a.device_given, comm);
  const std::string rank_prefix =
      comm.ranks() > 1 ? "rank " + std::to_string(comm.rank()) + ": " : "";
  // One progress meter, rank 0's: several would garble each other's lines.
  std::optional<progress_meter> meter;
  sweep_hooks hooks;
  hooks.session.stop = &stop_requested;
  hooks.session.quiet = a.quiet;
  hooks.session.report = print_line;
  hooks.session.progress = [&](uint64_t d, uint64_t total) { (*meter)(d, total); };
  hooks.pack_starting = [&](const std::string& name) { meter.emplace(!a.quiet && root, name); };
  hooks.pack_done = [&](const pack_outcome& p) { print_pack(p, rank_prefix); };
  const auto t0 = std::chrono::steady_clock::now();
  const sweep_totals s = run_packs(t, a.sweep, opt, comm, hooks);
  if (s.interrupted) exit_status() = exit_interrupted;
  if (!root) return;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_totals(s, t, a, wall, comm.ranks());
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto args = std::make_shared<sweep_args>();
  auto* cmd = app.add_subcommand(
      "sweep", "run a parameter sweep: every point of a [sweep] table or of --sweep options");
  cmd->add_option("config", args->sweep.config, "experiment file (TOML) with a [sweep] table")
      ->required();
  cmd->add_option("-o,--output", args->sweep.output_dir,
                  "output directory (default: the config's name without .toml, plus _sweep)");
  cmd->add_option("--set", args->sweep.sets,
                  "override a config key for every point: key.path=value")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--sweep", args->sweep.sweeps,
                  "sweep a key: key=v1,v2,... or key=start:stop:step (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_flag("--count", args->count, "print the number of points and exit");
  cmd->add_option("--task-id", args->sweep.task_id,
                  "this task's share of the points, 0-based (default: SLURM_ARRAY_TASK_ID)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--num-tasks", args->sweep.num_tasks,
                  "tasks the points are split over (default: SLURM_ARRAY_TASK_COUNT, else 1)")
      ->check(positive_number());
  cmd->add_option("--pack", args->sweep.pack,
                  "at most this many points per simulation (default: as many as fit in memory)")
      ->check(positive_number());
  auto* device = add_backend_options(cmd, args->backend, args->device, args->threads, args->quiet);
  cmd->add_option("--checkpoint-every", args->sweep.checkpoint_every_ms,
                  "write a checkpoint of the current pack every T ms of simulated time (and always "
                  "on SIGINT, SIGTERM or SIGUSR1)")
      ->check(positive_number());
  cmd->add_flag("--redo", args->sweep.redo,
                "run every pack again, replacing its file even when complete or of another sweep");
  cmd->callback([args, device] {
    args->device_given = device->count() > 0;
    communicator comm;
    on_every_rank(comm, [&] { sweep_command(*args, comm); });
  });
}

}  // namespace spikesim::cli
