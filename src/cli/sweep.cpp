// `spikesim sweep CONFIG`: expands a parameter sweep into points, takes this task's share of them,
// packs compatible points side by side into simulations and writes one file per pack with a
// /sweep group (docs/sweeps.md). SIGINT/SIGTERM/SIGUSR1 end the current pack after its chunk,
// keep its file marked interrupted, skip the remaining packs and exit with code 75.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/simulation.hpp>
#include <spikesim/sweep.hpp>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "io/h5.hpp"
#include "io/sweep_file.hpp"

namespace spikesim::cli {
namespace {

namespace fs = std::filesystem;

struct sweep_args {
  std::string config;
  std::string output_dir;
  std::vector<std::string> sets;
  std::vector<std::string> sweeps;
  bool count = false;
  int64_t task_id = -1;
  int64_t num_tasks = -1;
  uint64_t pack = 0;  // 0: as many as fit
  std::string backend = "auto";
  int threads = 0;
  int device = 0;
  bool quiet = false;
};

// An environment variable as a non-negative integer; nullopt when unset or empty.
std::optional<uint64_t> env_number(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v, &end, 10);
  if (errno || *end || x < 0)
    throw config_error(std::string("config error: environment variable ") + name + " = '" + v +
                       "': expected a non-negative integer");
  return static_cast<uint64_t>(x);
}

// This task's id and the number of tasks: the options, else SLURM's array variables (task ids
// counted from SLURM_ARRAY_TASK_MIN), else a single task.
std::pair<uint64_t, uint64_t> resolve_task(const sweep_args& a) {
  std::string id_from = "--task-id", count_from = "--num-tasks";
  uint64_t tasks = 1, id = 0;
  if (a.num_tasks >= 0) {
    tasks = static_cast<uint64_t>(a.num_tasks);
  } else if (auto n = env_number("SLURM_ARRAY_TASK_COUNT")) {
    tasks = *n;
    count_from = "SLURM_ARRAY_TASK_COUNT";
  }
  if (a.task_id >= 0) {
    id = static_cast<uint64_t>(a.task_id);
  } else if (auto t = env_number("SLURM_ARRAY_TASK_ID")) {
    const uint64_t min = env_number("SLURM_ARRAY_TASK_MIN").value_or(0);
    if (*t < min)
      throw config_error("config error: SLURM_ARRAY_TASK_ID = " + std::to_string(*t) +
                         " is below SLURM_ARRAY_TASK_MIN = " + std::to_string(min));
    id = *t - min;
    id_from = "SLURM_ARRAY_TASK_ID";
  }
  if (tasks == 0) throw config_error("config error: " + count_from + " = 0: must be >= 1");
  if (id >= tasks)
    throw config_error(
        "config error: " + id_from + " = " + std::to_string(id) + " is invalid: must be below " +
        count_from + " = " + std::to_string(tasks) +
        " (task ids count from 0; a SLURM array must be contiguous, e.g. --array=0-" +
        std::to_string(tasks - 1) + ", or give --task-id and --num-tasks)");
  return {id, tasks};
}

// Host memory of one point inside a pack, as a + b * chunk_steps: its share of the backend
// state and chunk buffers (estimate_state_bytes is linear in the chunk), its spike-train
// statistics and the output file's open datasets (HDF5 keeps up to a chunk of each cached).
struct point_cost {
  double fixed = 0, per_step = 0;
};

point_cost cost_of(const experiment_spec& p) {
  constexpr double k_output_per_population = 1.5 * 1024 * 1024;
  point_cost c;
  c.fixed = static_cast<double>(estimate_state_bytes(p, 0));
  c.per_step = (static_cast<double>(estimate_state_bytes(p, 1000)) - c.fixed) / 1000.0;
  for (const auto& pop : p.populations) {
    c.fixed += k_output_per_population;
    if (p.analysis.enabled && pop.record.spikes)
      c.fixed += static_cast<double>(spike_analyzer::memory_bytes(
          pop.size, static_cast<uint64_t>(p.run.tstop / p.analysis.rate_bin) + 1));
  }
  return c;
}

struct pack_plan {
  uint64_t first = 0;  // index into the task's points
  uint64_t count = 0;
};

// Contiguous runs of packable points, at most `max_pack` each (0: no limit) and within `budget`
// bytes of host memory (0: no limit); a point alone always makes a pack.
std::vector<pack_plan> plan_packs(const std::vector<experiment_spec>& specs,
                                  const std::vector<uint64_t>& indices, uint64_t max_pack,
                                  double budget) {
  std::vector<pack_plan> packs;
  experiment_spec acc;  // the current pack, for its chunk length
  double fixed = 0, per_step = 0;
  uint64_t largest = 0;
  for (uint64_t i = 0; i < specs.size(); ++i) {
    const point_cost c = cost_of(specs[i]);
    const uint64_t n = specs[i].total_neurons();
    bool join = !packs.empty() && packable(specs[packs.back().first], specs[i]) &&
                (max_pack == 0 || packs.back().count < max_pack);
    if (join && budget > 0) {
      const size_t pops = acc.populations.size(), projs = acc.projections.size();
      append_point(acc, specs[i], indices[i]);
      if (specs[i].run.chunk_steps == 0)
        acc.run.chunk_steps = pack_chunk_steps(std::max(largest, n), acc.total_neurons());
      const double chunk = static_cast<double>(chunk_steps_for(acc));
      if (fixed + c.fixed + (per_step + c.per_step) * chunk > budget) {
        acc.populations.resize(pops);
        acc.projections.resize(projs);
        join = false;
      }
    }
    if (join) {
      ++packs.back().count;
      largest = std::max(largest, n);
    } else {
      packs.push_back({i, 1});
      if (budget > 0) acc = pack_points({specs[i]}, {indices[i]});
      fixed = per_step = 0;
      largest = n;
    }
    fixed += c.fixed;
    per_step += c.per_step;
  }
  return packs;
}

std::string pack_file(uint64_t first, uint64_t last, uint64_t total) {
  const int width = static_cast<int>(std::to_string(total > 0 ? total - 1 : 0).size());
  std::ostringstream o;
  o << "points_" << std::setfill('0') << std::setw(width) << first << "-" << std::setw(width)
    << last << ".h5";
  return o.str();
}

sweep_file_info sweep_info(const sweep_spec& s, const std::vector<experiment_spec>& specs,
                           const std::vector<uint64_t>& indices, const experiment_spec& packed,
                           uint64_t task, uint64_t tasks) {
  sweep_file_info f;
  f.mode = s.mode == sweep_mode::zip ? "zip" : "grid";
  f.seeds = s.seeds == sweep_seeds::same ? "same" : "distinct";
  f.id = s.id;
  for (const auto& a : s.axes) f.keys.push_back(a.key);
  f.points = s.points();
  f.task_id = task;
  f.num_tasks = tasks;
  f.values.assign(s.axes.size(), {});
  for (size_t i = 0; i < indices.size(); ++i) {
    f.point.push_back(indices[i]);
    const auto v = point_values(s, indices[i]);
    for (size_t k = 0; k < v.size(); ++k) f.values[k].push_back(v[k]);
    f.seed.push_back(point_seed(s, indices[i]));
    f.config.push_back(specs[i].config_text);
    for (size_t p = 0; p < specs[i].populations.size(); ++p)
      f.population_point.push_back(indices[i]);
  }
  for (const auto& p : packed.populations) f.population.push_back(p.name);
  return f;
}

void write_sweep_and_rename(const std::string& staged, const std::string& final_path,
                            const sweep_file_info& info) {
  {
    h5::quiet_errors quiet;
    hid_t id = H5Fopen(staged.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (id < 0) throw output_error("cannot reopen '" + staged + "' to write /sweep");
    h5::handle f(id, H5Fclose);
    write_sweep_group(f, info);
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw output_error("cannot flush '" + staged + "'");
  }
  if (std::rename(staged.c_str(), final_path.c_str()) != 0)
    throw output_error("cannot rename '" + staged + "' to '" + final_path +
                       "': " + std::strerror(errno));
}

void sweep_command(const sweep_args& a) {
  const sweep_spec s = load_sweep(a.config, a.sets, a.sweeps);
  const uint64_t total = s.points();
  if (a.count) {
    std::cout << total << "\n";
    return;
  }
  const auto [task, tasks] = resolve_task(a);
  const point_range range = task_points(total, task, tasks);
  const std::string task_text = "task " + std::to_string(task) + " of " + std::to_string(tasks);
  if (range.count == 0) {
    std::cout << "sweep: " << total << " points; " << task_text << " has none, nothing to run\n";
    return;
  }

  // Everything that can be refused is checked before the output directory is touched.
  std::vector<experiment_spec> specs;
  std::vector<uint64_t> indices;
  specs.reserve(range.count);
  for (uint64_t k = range.first; k < range.first + range.count; ++k) {
    specs.push_back(point_spec(s, k));
    indices.push_back(k);
  }
  const uint64_t avail = available_ram();
  std::vector<pack_plan> packs =
      plan_packs(specs, indices, a.pack, static_cast<double>(avail) * 0.75);
  const fs::path dir = a.output_dir.empty()
                           ? fs::path(fs::path(a.config).stem().string() + "_sweep")
                           : fs::path(a.output_dir);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw output_error("cannot write the sweep into '" + dir.string() + "': not a directory");
  for (const auto& p : packs) {
    const fs::path f = dir / pack_file(indices[p.first], indices[p.first + p.count - 1], total);
    if (!specs[p.first].output.overwrite && fs::exists(f, ec))
      throw output_error("output '" + f.string() +
                         "' exists and output.overwrite = false; remove it or choose another -o");
  }
  fs::create_directories(dir, ec);
  if (ec || access(dir.c_str(), W_OK) != 0)
    throw output_error("cannot create or write the output directory '" + dir.string() + "'" +
                       (ec ? ": " + ec.message() : std::string()));

  if (!a.quiet)
    std::cerr << "spikesim: sweep of " << total << " points; " << task_text << ": points "
              << range.first << "-" << range.first + range.count - 1 << " in " << packs.size()
              << " pack" << (packs.size() == 1 ? "" : "s") << " -> " << dir.string() << "/\n";
  install_stop_handlers();

  backend_options opt;
  opt.kind = a.backend;
  opt.threads = a.threads;
  opt.device = a.device;
  opt.quiet = a.quiet;
  uint64_t done_points = 0, files = 0;
  double neuron_steps = 0, sim_wall = 0;
  const auto t0 = std::chrono::steady_clock::now();
  bool interrupted = false;
  std::string interrupted_file;
  for (size_t pi = 0; pi < packs.size() && !interrupted; ++pi) {
    if (stop_requested.load()) {
      interrupted = true;
      break;
    }
    const pack_plan p = packs[pi];
    const std::vector<experiment_spec> part(specs.begin() + p.first,
                                            specs.begin() + p.first + p.count);
    const std::vector<uint64_t> part_idx(indices.begin() + p.first,
                                         indices.begin() + p.first + p.count);
    experiment_spec packed = pack_points(part, part_idx);
    packed.config_text = s.config_text;
    packed.run.seed = s.base_seed;
    const std::string name = pack_file(part_idx.front(), part_idx.back(), total);
    const std::string final_path = (dir / name).string();
    const std::string staged = final_path + ".partial";
    packed.output.file = final_path;

    std::unique_ptr<backend> b;
    std::string notice;
    try {
      check_host_memory(packed, a.backend, packed.analysis.enabled);
      b = make_backend(packed, opt, &notice);
    } catch (const memory_error& e) {
      // The plan's estimate is of host memory when it was made; the device's memory is only
      // known to its backend. A pack that does not fit is halved and tried again.
      if (p.count < 2) throw;
      if (!a.quiet)
        std::cerr << "spikesim: " << name << " does not fit (" << e.what()
                  << "); splitting it in two\n";
      const uint64_t half = p.count / 2;
      packs[pi] = {p.first, half};
      packs.insert(packs.begin() + static_cast<std::ptrdiff_t>(pi) + 1,
                   pack_plan{p.first + half, p.count - half});
      --pi;
      continue;
    }
    if (!notice.empty() && !a.quiet && pi == 0) std::cerr << "spikesim: " << notice << "\n";
    if (stop_requested.load()) {
      interrupted = true;
      break;
    }
    fs::remove(staged, ec);  // left by a sweep that was killed while writing /sweep
    hdf5_recorder rec(packed, staged);
    progress_meter meter(!a.quiet, name);
    run_options ro;
    ro.stop = &stop_requested;
    ro.progress = [&](uint64_t d, uint64_t t) { meter(d, t); };
    const sweep_file_info info = sweep_info(s, part, part_idx, packed, task, tasks);
    run_summary sum;
    try {
      sum = simulate(packed, *b, rec, ro);
    } catch (const numerical_error&) {
      write_sweep_and_rename(staged, final_path, info);
      std::cerr << "spikesim: the output up to the failing chunk is kept in " << final_path
                << ", marked failed\n";
      throw;
    }
    write_sweep_and_rename(staged, final_path, info);
    ++files;
    if (sum.status == run_status::complete) done_points += p.count;
    sim_wall += sum.wall_s;
    neuron_steps += static_cast<double>(packed.total_neurons()) * static_cast<double>(sum.steps);
    std::cout << std::defaultfloat << name << ": " << p.count << " point"
              << (p.count == 1 ? "" : "s") << ", " << packed.total_neurons() << " neurons, "
              << sum.steps << " steps, wall " << std::setprecision(4) << sum.wall_s << " s, "
              << std::scientific << std::setprecision(3) << sum.neuron_steps_per_s
              << " neuron-steps/s" << std::defaultfloat << " (" << to_string(sum.status) << ")\n";
    if (!rec.analysis_failure().empty())
      std::cerr << "spikesim: warning: the spike-train statistics of " << final_path << " failed ("
                << rec.analysis_failure() << "): `spikesim analyze " << final_path
                << "` computes them\n";
    if (sum.status == run_status::interrupted) {
      interrupted = true;
      interrupted_file = final_path;
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "sweep: " << done_points << " of " << range.count << " points of " << task_text
            << " in " << files << " file" << (files == 1 ? "" : "s") << " in " << dir.string()
            << "/, wall " << std::setprecision(4) << wall << " s (simulation " << sim_wall << " s, "
            << std::scientific << std::setprecision(3)
            << (sim_wall > 0 ? neuron_steps / sim_wall : 0.0) << " neuron-steps/s)"
            << std::defaultfloat << "\n";
  if (interrupted) {
    std::cerr << "spikesim: interrupted by a signal: " << (range.count - done_points) << " of "
              << range.count << " points of this task are not finished"
              << (interrupted_file.empty() ? std::string()
                                           : " (" + interrupted_file + " is marked interrupted)")
              << "; run the task again to complete it\n";
    exit_status() = exit_interrupted;
  } else if (!a.quiet) {
    std::cerr << "spikesim: `spikesim merge " << dir.string()
              << "` tabulates the points once every task has run\n";
  }
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto args = std::make_shared<sweep_args>();
  auto* cmd = app.add_subcommand(
      "sweep", "run a parameter sweep: every point of a [sweep] table or of --sweep options");
  cmd->add_option("config", args->config, "experiment file (TOML) with a [sweep] table")
      ->required();
  cmd->add_option("-o,--output", args->output_dir,
                  "output directory (default: the config's name without .toml, plus _sweep)");
  cmd->add_option("--set", args->sets, "override a config key for every point: key.path=value")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--sweep", args->sweeps,
                  "sweep a key: key=v1,v2,... or key=start:stop:step (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_flag("--count", args->count, "print the number of points and exit");
  cmd->add_option("--task-id", args->task_id,
                  "this task's share of the points, 0-based (default: SLURM_ARRAY_TASK_ID)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--num-tasks", args->num_tasks,
                  "tasks the points are split over (default: SLURM_ARRAY_TASK_COUNT, else 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--pack", args->pack,
                  "at most this many points per simulation (default: as many as fit in memory)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--backend", args->backend, "auto | cpu | cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--device", args->device, "CUDA device ordinal (default 0)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "CPU threads (default: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-q,--quiet", args->quiet, "no progress or notices");
  cmd->callback([args] { sweep_command(*args); });
}

}  // namespace spikesim::cli
