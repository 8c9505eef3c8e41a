// `spikesim sweep CONFIG`: expands a parameter sweep into points, takes this task's share of them,
// leaves out the points that complete files of the sweep already hold, packs the others side by
// side into simulations and writes one file per pack with a /sweep group (docs/sweeps.md); under
// mpirun the packs are dealt round-robin to the ranks. SIGINT/SIGTERM/SIGUSR1 end the current
// pack after its chunk, keep its file marked interrupted, skip the remaining packs and exit 75.
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
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <spikesim/backend.hpp>
#include <spikesim/checkpoint.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/simulation.hpp>
#include <spikesim/sweep.hpp>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "io/h5.hpp"
#include "io/sweep_file.hpp"
#include "mpi/comm.hpp"

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
  bool device_given = false;  // --device on the command line (else each rank its local rank)
  bool quiet = false;
  bool redo = false;              // run every pack, replacing whatever file it finds
  double checkpoint_every = 0.0;  // ms of simulated time; 0: only when stopped by a signal
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

// A pack: the points [first, first + count) of the sweep, simulated together into one file.
struct pack_plan {
  uint64_t first = 0;
  uint64_t count = 0;
};

// Runs of consecutive points of the task (specs[i] is point first_point + i) that are not `done`
// and are packable, at most `max_pack` each (0: no limit) and within `budget` bytes of host
// memory (0: no limit); a point alone always makes a pack.
std::vector<pack_plan> plan_packs(const std::vector<experiment_spec>& specs, uint64_t first_point,
                                  const std::vector<bool>& done, uint64_t max_pack, double budget) {
  std::vector<pack_plan> packs;
  experiment_spec acc;  // the current pack, for its chunk length
  double fixed = 0, per_step = 0;
  uint64_t largest = 0;
  bool after_gap = true;  // a done point ends the current pack
  for (uint64_t i = 0; i < specs.size(); ++i) {
    if (done[i]) {
      after_gap = true;
      continue;
    }
    const uint64_t k = first_point + i;
    const point_cost c = cost_of(specs[i]);
    const uint64_t n = specs[i].total_neurons();
    bool join = !after_gap && packable(specs[packs.back().first - first_point], specs[i]) &&
                (max_pack == 0 || packs.back().count < max_pack);
    after_gap = false;
    if (join && budget > 0) {
      const size_t pops = acc.populations.size(), projs = acc.projections.size();
      append_point(acc, specs[i], k);
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
      packs.push_back({k, 1});
      if (budget > 0) acc = pack_points({specs[i]}, {k});
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

// The checkpoint that a pack resumes from: the one that a signal or --checkpoint-every left next to
// its file, when it is of this pack (the sweep's config, this version of spikesim, the same
// points) and the output it continues is still there (the interrupted file, or the partial file
// of a process that was killed). nullopt otherwise; a checkpoint that cannot serve is removed with
// a notice, and the pack runs from its beginning.
std::optional<checkpoint> pack_checkpoint(const std::string& ckpt, const experiment_spec& packed,
                                          const std::string& final_path,
                                          const std::string& prefix) {
  std::error_code ec;
  if (!fs::exists(ckpt, ec)) return std::nullopt;
  try {
    checkpoint c = read_checkpoint(ckpt);
    check_checkpoint(c, packed, ckpt);
    std::vector<std::string> pops;
    for (const auto& p : packed.populations) pops.push_back(p.name);
    if (c.populations != pops || fs::path(c.output).filename() != fs::path(final_path).filename())
      throw input_error("it is of another pack of points");
    if (!fs::exists(final_path + ".partial", ec) && !fs::exists(final_path, ec))
      throw input_error("the output it continues is gone");
    return c;
  } catch (const error& e) {
    std::cerr << "spikesim: " << prefix << "cannot resume from " << ckpt << " (" << e.what()
              << "): its pack runs from the beginning\n";
    fs::remove(ckpt, ec);
    return std::nullopt;
  }
}

// A file found where the sweep writes its packs: how it relates to this sweep.
struct found_file {
  enum kind_t {
    complete,    // this sweep, this version, complete: its points are not run again
    unfinished,  // this sweep, interrupted or failed: its points run again and a pack replaces it
    foreign      // anything else: never replaced without --redo
  } kind = foreign;
  std::string why;              // why it is foreign
  std::vector<uint64_t> point;  // the points it holds (complete files)
};

// The global point indices in a pack file's name, points_<first>-<last>.h5; false for other names.
bool parse_pack_name(const std::string& name, uint64_t& first, uint64_t& last) {
  unsigned long long a = 0, b = 0;
  int used = 0;
  if (std::sscanf(name.c_str(), "points_%llu-%llu.h5%n", &a, &b, &used) != 2 ||
      static_cast<size_t>(used) != name.size())
    return false;
  first = a;
  last = b;
  return true;
}

// What `path` holds, against the sweep `s` whose points range.first... have the specs `specs`:
// a complete file also needs each of its points of the task to carry this sweep's config and seed.
found_file examine(const std::string& path, const sweep_spec& s, point_range range,
                   const std::vector<experiment_spec>& specs) {
  found_file f;
  pack_file_header h;
  try {
    const h5::handle file = open_pack_file(path);
    h = read_pack_header(file);
  } catch (const error& e) {
    f.why = e.what();
    return f;
  }
  if (h.config != s.config_text) {
    f.why = "it holds sweep " + h.sweep.id + ", this is sweep " + s.id +
            " (another config, or other --set or --sweep options)";
    return f;
  }
  if (h.status != "complete") {
    f.kind = found_file::unfinished;
    return f;
  }
  if (h.simulator_version != simulator_version()) {
    f.why = "it was written by spikesim " + h.simulator_version + "; this is spikesim " +
            simulator_version();
    return f;
  }
  for (size_t i = 0; i < h.sweep.point.size(); ++i) {
    const uint64_t k = h.sweep.point[i];
    if (k < range.first || k >= range.first + range.count) continue;
    if (h.sweep.config[i] != specs[k - range.first].config_text ||
        h.sweep.seed[i] != point_seed(s, k)) {
      f.why = "its point " + std::to_string(k) + " has another config or seed than this sweep's";
      return f;
    }
  }
  f.kind = found_file::complete;
  f.point = h.sweep.point;
  return f;
}

// What this task decided before anything runs; rank 0 makes it and hands it to the other ranks.
struct task_plan {
  uint64_t task = 0, tasks = 1;
  point_range range;
  uint64_t kept_points = 0, kept_files = 0;  // in complete files of this sweep, not run again
  std::vector<pack_plan> packs;              // what remains, in point order

  std::vector<uint64_t> encode() const {
    std::vector<uint64_t> v{task, tasks, range.first, range.count, kept_points, kept_files};
    for (const auto& p : packs) v.insert(v.end(), {p.first, p.count});
    return v;
  }
  static task_plan decode(const std::vector<uint64_t>& v) {
    task_plan t;
    t.task = v.at(0);
    t.tasks = v.at(1);
    t.range = {v.at(2), v.at(3)};
    t.kept_points = v.at(4);
    t.kept_files = v.at(5);
    for (size_t i = 6; i + 1 < v.size(); i += 2) t.packs.push_back({v[i], v[i + 1]});
    return t;
  }
};

std::vector<experiment_spec> task_specs(const sweep_spec& s, point_range range) {
  std::vector<experiment_spec> specs;
  specs.reserve(range.count);
  for (uint64_t k = range.first; k < range.first + range.count; ++k)
    specs.push_back(point_spec(s, k));
  return specs;
}

// The task's share of the points, the points that complete files in `dir` already hold (unless
// --redo), the packs of the others within `budget` bytes of memory per pack; then the checks of
// every file a pack would replace, and the output directory. Everything that can be refused is
// refused before the directory is touched.
task_plan plan_task(const sweep_args& a, const sweep_spec& s, const fs::path& dir, double budget,
                    std::vector<experiment_spec>& specs) {
  task_plan t;
  std::tie(t.task, t.tasks) = resolve_task(a);
  const uint64_t total = s.points();
  t.range = task_points(total, t.task, t.tasks);
  if (t.range.count == 0) return t;
  checkpoint_interval_steps(a.checkpoint_every, 1.0);  // refuses a bad value before anything runs
  specs = task_specs(s, t.range);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw output_error("cannot write the sweep into '" + dir.string() + "': not a directory");

  std::map<std::string, found_file> found;  // files named after points of the task
  std::vector<bool> done(t.range.count, false);
  const uint64_t last = t.range.first + t.range.count - 1;
  if (!a.redo && fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      uint64_t first = 0, end = 0;
      if (!parse_pack_name(name, first, end) || end < t.range.first || first > last) continue;
      found_file f = examine(e.path().string(), s, t.range, specs);
      if (f.kind == found_file::complete) {
        ++t.kept_files;
        for (uint64_t k : f.point)
          if (k >= t.range.first && k <= last && !done[k - t.range.first]) {
            done[k - t.range.first] = true;
            ++t.kept_points;
          }
      }
      found.emplace(name, std::move(f));
    }
    if (ec) throw input_error("cannot list directory '" + dir.string() + "': " + ec.message());
  }
  t.packs = plan_packs(specs, t.range.first, done, a.pack, budget);

  for (const auto& p : t.packs) {
    const std::string name = pack_file(p.first, p.first + p.count - 1, total);
    const fs::path f = dir / name;
    if (!fs::exists(f, ec)) continue;
    if (!specs[p.first - t.range.first].output.overwrite)
      throw output_error("output '" + f.string() +
                         "' exists and output.overwrite = false; remove it or choose another -o");
    const auto it = found.find(name);
    if (it != found.end() && it->second.kind == found_file::foreign)
      throw output_error("output '" + f.string() +
                         "' exists and is not a file of this sweep: " + it->second.why +
                         "; it is not replaced: remove it, choose another -o, or give --redo to "
                         "replace it");
    found.erase(name);
  }
  // Unfinished files of this sweep that no pack replaces come from another pack layout (the plan
  // depends on the memory available and on the ranks per node): their points run again in this
  // plan's packs, so they are removed, with their checkpoints, rather than left for `spikesim
  // merge` to refuse. Other files that are not complete files of this sweep are reported.
  std::vector<std::string> stray;
  for (const auto& [name, f] : found) {
    if (f.kind == found_file::unfinished) {
      std::cerr << "spikesim: " << (dir / name).string()
                << ": an unfinished file of this sweep from another pack layout; its points run "
                   "again in this run's packs: removed\n";
      fs::remove(dir / name, ec);
      fs::remove(dir / (name + ".ckpt"), ec);
    } else if (f.kind != found_file::complete) {
      stray.push_back(name);
    }
  }
  if (!stray.empty())
    std::cerr << "spikesim: warning: " << dir.string() << "/ holds " << stray.size()
              << " file(s) of points of this task that this run neither keeps nor replaces ("
              << stray.front() << (stray.size() > 1 ? ", ..." : "")
              << "): files of another sweep, which `spikesim merge` refuses; remove them, or use a "
                 "fresh -o\n";
  fs::create_directories(dir, ec);
  if (ec || access(dir.c_str(), W_OK) != 0)
    throw output_error("cannot create or write the output directory '" + dir.string() + "'" +
                       (ec ? ": " + ec.message() : std::string()));
  return t;
}

// Simulates the packs dealt to this rank (all of them with one rank) into their files.
// Over R ranks the task's packs are dealt round-robin (rank r takes packs r, r + R, ...): the
// ranks need not talk to each other until the end, and each writes only its own packs' files.
void sweep_command(const sweep_args& a, mpi::session& comm) {
  const bool root = comm.rank() == 0;
  const bool spread = comm.ranks() > 1;
  if (a.count) {
    if (root) std::cout << load_sweep(a.config, a.sets, a.sweeps).points() << "\n";
    return;
  }
  // Each rank of a node runs a pack at the same time: the plan gives a pack the memory of a
  // rank's share of the node that has the least available.
  const double ram = comm.min(static_cast<double>(available_ram()) / comm.local_ranks());
  const fs::path dir = a.output_dir.empty()
                           ? fs::path(fs::path(a.config).stem().string() + "_sweep")
                           : fs::path(a.output_dir);
  // Rank 0 reads, checks and plans, the others wait for its plan: an error is reported once, and
  // no rank writes a file before rank 0 has looked at those in the directory.
  sweep_spec s;
  std::vector<experiment_spec> specs;
  task_plan plan;
  std::vector<uint64_t> wire;
  if (root) {
    s = load_sweep(a.config, a.sets, a.sweeps);
    plan = plan_task(a, s, dir, ram * 0.75, specs);
    wire = plan.encode();
    wire.push_back(std::stoull(s.id, nullptr, 16));
  }
  comm.broadcast(wire);
  if (!root) {
    s = load_sweep(a.config, a.sets, a.sweeps);
    if (std::stoull(s.id, nullptr, 16) != wire.back())
      throw input_error("'" + a.config + "' changed while the sweep was starting");
    wire.pop_back();
    plan = task_plan::decode(wire);
    if (plan.range.count) specs = task_specs(s, plan.range);
  }
  const uint64_t total = s.points();
  const point_range range = plan.range;
  const std::string task_text =
      "task " + std::to_string(plan.task) + " of " + std::to_string(plan.tasks);
  if (range.count == 0) {
    if (root)
      std::cout << "sweep: " << total << " points; " << task_text << " has none, nothing to run\n";
    return;
  }
  const std::string rank_prefix = spread ? "rank " + std::to_string(comm.rank()) + ": " : "";
  if (root && plan.kept_files)
    std::cout << "sweep: " << plan.kept_files << " complete file"
              << (plan.kept_files == 1 ? "" : "s") << " of this sweep in " << dir.string()
              << "/ already hold " << plan.kept_points << " of the " << range.count << " points of "
              << task_text << ": not run again (--redo runs them again)" << std::endl;
  if (root && !a.quiet) {
    std::cerr << "spikesim: sweep of " << total << " points; " << task_text << ": points "
              << range.first << "-" << range.first + range.count - 1;
    if (plan.kept_points) std::cerr << ", " << range.count - plan.kept_points << " to run";
    std::cerr << " in " << plan.packs.size() << " pack" << (plan.packs.size() == 1 ? "" : "s");
    if (spread) std::cerr << " dealt round-robin to " << comm.ranks() << " ranks";
    std::cerr << " -> " << dir.string() << "/\n";
  }
  if (plan.packs.empty()) {
    if (root && !a.quiet)
      std::cerr << "spikesim: nothing to run; `spikesim merge " << dir.string()
                << "` tabulates the points once every task has run\n";
    return;
  }
  install_stop_handlers();

  std::vector<pack_plan> packs;  // this rank's
  for (size_t i = comm.rank(); i < plan.packs.size(); i += comm.ranks())
    packs.push_back(plan.packs[i]);
  // The names whose existing files plan_task vetted; a pack split for memory gets other names.
  std::set<std::string> vetted;
  for (const auto& p : plan.packs) vetted.insert(pack_file(p.first, p.first + p.count - 1, total));
  backend_options opt;
  opt.kind = a.backend;
  opt.threads = a.threads > 0 ? a.threads : rank_default_threads(comm);
  // One GPU per rank of a node unless --device says otherwise.
  opt.device = spread && !a.device_given ? rank_default_device(comm) : a.device;
  opt.quiet = a.quiet || !root;
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
    const auto from = specs.begin() + static_cast<std::ptrdiff_t>(p.first - range.first);
    const std::vector<experiment_spec> part(from, from + static_cast<std::ptrdiff_t>(p.count));
    std::vector<uint64_t> part_idx(p.count);
    for (uint64_t i = 0; i < p.count; ++i) part_idx[i] = p.first + i;
    experiment_spec packed = pack_points(part, part_idx);
    packed.config_text = s.config_text;
    packed.run.seed = s.base_seed;
    const std::string name = pack_file(part_idx.front(), part_idx.back(), total);
    const std::string final_path = (dir / name).string();
    packed.output.file = final_path;
    std::error_code exists_ec;
    if (!vetted.count(name) && fs::exists(final_path, exists_ec)) {
      // A pack split for memory: its file name was not looked at when the task was planned.
      if (!part.front().output.overwrite)
        throw output_error("output '" + final_path +
                           "' exists and output.overwrite = false; remove it or choose another -o");
      const found_file f = examine(final_path, s, range, specs);
      if (!a.redo && f.kind == found_file::foreign)
        throw output_error("output '" + final_path +
                           "' exists and is not a file of this sweep: " + f.why +
                           "; it is not replaced: remove it, choose another -o, or give --redo "
                           "to replace it");
    }

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
        std::cerr << "spikesim: " << rank_prefix << name << " does not fit (" << e.what()
                  << "); splitting it in two\n";
      const uint64_t half = p.count / 2;
      packs[pi] = {p.first, half};
      packs.insert(packs.begin() + static_cast<std::ptrdiff_t>(pi) + 1,
                   pack_plan{p.first + half, p.count - half});
      --pi;
      continue;
    }
    if (!notice.empty() && !opt.quiet && pi == 0) std::cerr << "spikesim: " << notice << "\n";
    if (stop_requested.load()) {
      interrupted = true;
      break;
    }
    // An interrupted pack continues from its checkpoint, in its own file: the interrupted one, or
    // the partial file of a process that was killed (the recorder copies it, changing neither).
    const std::string ckpt_path = final_path + ".ckpt";
    std::optional<checkpoint> ck;
    if (!a.redo) ck = pack_checkpoint(ckpt_path, packed, final_path, rank_prefix);
    std::error_code ec;
    std::unique_ptr<hdf5_recorder> rec;
    if (ck) {
      try {
        rec = std::make_unique<hdf5_recorder>(packed, final_path, &*ck);
      } catch (const error& e) {
        std::cerr << "spikesim: " << rank_prefix << "cannot resume from " << ckpt_path << " ("
                  << e.what() << "): its pack runs from the beginning\n";
        ck.reset();
      }
    }
    if (!rec) {
      fs::remove(ckpt_path, ec);  // of another run of the pack (--redo), or unusable
      rec = std::make_unique<hdf5_recorder>(packed, final_path);
    }
    // One progress meter, rank 0's: several would garble each other's lines.
    progress_meter meter(!a.quiet && root, name);
    run_options ro;
    ro.stop = &stop_requested;
    ro.progress = [&](uint64_t d, uint64_t t) { meter(d, t); };
    if (ck) {
      b->restore_state(ck->state);
      ro.start_step = ck->step;
      ro.start_spikes = ck->spikes;
      if (!a.quiet)
        std::cerr << "spikesim: " << rank_prefix << name
                  << " resumes at t = " << static_cast<double>(ck->step) * packed.run.dt
                  << " ms from " << ckpt_path << "\n";
    }
    bool wrote_checkpoint = false;
    ro.checkpoint_every = checkpoint_interval_steps(a.checkpoint_every, packed.run.dt);
    ro.checkpoint = [&](uint64_t step, const std::vector<uint64_t>& spikes) {
      wrote_checkpoint |= save_checkpoint(ckpt_path, step, spikes, packed, *b, *rec);
    };
    const sweep_file_info info = sweep_info(s, part, part_idx, packed, plan.task, plan.tasks);
    rec->on_finish([&info](int64_t f) { write_sweep_group(f, info); });
    run_summary sum;
    try {
      sum = simulate(packed, *b, *rec, ro);
    } catch (const numerical_error&) {
      std::cerr << "spikesim: " << rank_prefix << "the output up to the failing chunk is kept in "
                << final_path << ", marked failed\n";
      throw;
    }
    ++files;
    if (sum.status == run_status::complete) done_points += p.count;
    sim_wall += sum.wall_s;
    neuron_steps += static_cast<double>(packed.total_neurons()) *
                    static_cast<double>(sum.steps - ro.start_step);
    // Written at once: the lines of several ranks must not interleave.
    std::ostringstream line;
    line << rank_prefix << name << ": " << p.count << " point" << (p.count == 1 ? "" : "s") << ", "
         << packed.total_neurons() << " neurons, " << sum.steps << " steps, wall "
         << std::setprecision(4) << sum.wall_s << " s, " << std::scientific << std::setprecision(3)
         << sum.neuron_steps_per_s << " neuron-steps/s" << std::defaultfloat << " ("
         << to_string(sum.status) << ")\n";
    std::cout << line.str() << std::flush;
    if (!rec->analysis_failure().empty())
      std::cerr << "spikesim: warning: the spike-train statistics of " << final_path << " failed ("
                << rec->analysis_failure() << "): `spikesim analyze " << final_path
                << "` computes them\n";
    if (sum.status == run_status::interrupted) {
      interrupted = true;
      interrupted_file = final_path + " is marked interrupted" +
                         (wrote_checkpoint ? ", its checkpoint is " + ckpt_path : "");
    } else if (sum.status == run_status::complete && (wrote_checkpoint || ck)) {
      fs::remove(ckpt_path, ec);  // the pack is complete: its checkpoint has served
    }
  }
  if (spread && !interrupted_file.empty())
    std::cerr << "spikesim: " << rank_prefix << interrupted_file << "\n";

  // The ranks end together, with one exit code: Open MPI's mpirun ends every rank as soon as one
  // exits with a code other than 0, which would kill ranks still writing their last chunk.
  std::vector<uint64_t> sums{done_points, files, interrupted ? 1u : 0u,
                             static_cast<uint64_t>(neuron_steps),
                             static_cast<uint64_t>(sim_wall * 1e6)};
  comm.sum_idle(sums);
  done_points = sums[0];
  files = sums[1];
  interrupted = sums[2] > 0;
  neuron_steps = static_cast<double>(sums[3]);
  sim_wall = static_cast<double>(sums[4]) * 1e-6;
  if (interrupted) exit_status() = exit_interrupted;
  if (!root) return;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "sweep: " << done_points << " of " << range.count - plan.kept_points << " points of "
            << task_text << " in " << files << " file" << (files == 1 ? "" : "s") << " in "
            << dir.string() << "/";
  if (plan.kept_points) std::cout << " (" << plan.kept_points << " more complete already)";
  if (spread) std::cout << " by " << comm.ranks() << " ranks";
  std::cout << ", wall " << std::setprecision(4) << wall << " s (simulation " << sim_wall << " s"
            << (spread ? " on all ranks together, " : ", ") << std::scientific
            << std::setprecision(3) << (sim_wall > 0 ? neuron_steps / sim_wall : 0.0)
            << " neuron-steps/s)" << std::defaultfloat << "\n";
  if (interrupted) {
    std::cerr << "spikesim: interrupted by a signal: "
              << (range.count - plan.kept_points - done_points) << " of " << range.count
              << " points of this task are not finished"
              << (interrupted_file.empty() || spread ? std::string()
                                                     : " (" + interrupted_file + ")")
              << "; the same command again runs them (complete files are kept, an interrupted "
                 "pack resumes from its checkpoint)\n";
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
      ->check(positive_number());
  cmd->add_option("--pack", args->pack,
                  "at most this many points per simulation (default: as many as fit in memory)")
      ->check(positive_number());
  auto* device = add_backend_options(cmd, args->backend, args->device, args->threads, args->quiet);
  cmd->add_option("--checkpoint-every", args->checkpoint_every,
                  "write a checkpoint of the current pack every T ms of simulated time (and always "
                  "on SIGINT, SIGTERM or SIGUSR1)")
      ->check(positive_number());
  cmd->add_flag("--redo", args->redo,
                "run every pack again, replacing its file even when complete or of another sweep");
  cmd->callback([args, device] {
    args->device_given = device->count() > 0;
    mpi::session comm;
    on_every_rank(comm, [&] { sweep_command(*args, comm); });
  });
}

}  // namespace spikesim::cli
