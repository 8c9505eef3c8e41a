// `spikesim run`: config -> simulation -> HDF5 file, with progress, a summary table, and a clean
// stop on SIGINT/SIGTERM (the file is kept, marked interrupted, exit code 75). Under mpirun the
// network is spread over the ranks and rank 0 writes the file (docs/scaling.md).
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include <spikesim/backend.hpp>
#include <spikesim/checkpoint.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/connectivity.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/output_paths.hpp>
#include <spikesim/simulation.hpp>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mpi/comm.hpp"

namespace spikesim::cli {
namespace {

struct run_args {
  std::string config;
  std::string output;
  std::vector<std::string> sets;
  std::string backend = "auto";
  int threads = 0;
  int device = 0;
  bool device_given = false;  // --device on the command line (else each rank its local rank)
  bool quiet = false;
  double checkpoint_every = 0.0;  // ms of simulated time; 0: only when stopped by a signal
  std::string checkpoint;         // default OUTPUT.ckpt, or the file resumed from
  std::string resume;
};

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  std::ostringstream o;
  o << std::fixed << std::setprecision(u ? 1 : 0) << b << " " << units[u];
  return o.str();
}

// Rank 0 writes the file; the other ranks of a run spread over ranks record nothing (every rank
// holds every chunk's spikes after the exchange, rank 0 included).
class null_recorder final : public recorder {
 public:
  void begin(const experiment_spec&, const backend&) override {}
  void write(const chunk_output&) override {}
  void finish(const run_summary&) override {}
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
              << " bytes per synapse, " << human_bytes(static_cast<double>(s.synapse_bytes))
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

// MemAvailable counts reclaimable page cache too, unlike free memory: on a busy node most memory
// is cache that a run may take. 0 when unknown (no check then).
uint64_t available_ram() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemAvailable:") return kib * 1024;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

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

memory_estimate check_host_memory(const experiment_spec& spec, const std::string& backend,
                                  bool analysis, int ranks) {
  if (backend == "cuda") return {};  // the CUDA backend checks device memory itself
  // Over ranks the CPU backend takes chunks longer than the shortest delay (max_chunk_steps).
  const uint64_t chunk = ranks > 1 ? chunk_steps_for(spec, ~uint64_t{0}) : chunk_steps_for(spec);
  const uint64_t per_rank = static_cast<uint64_t>(std::max(1, ranks));
  uint64_t need = estimate_state_bytes(spec, chunk) / per_rank;
  const uint64_t synapse_bytes =
      spec.projections.empty() ? 0 : estimate_connectivity(spec).peak_bytes / per_rank;
  uint64_t analysis_bytes = 0;
  if (analysis)
    for (const auto& p : spec.populations)
      if (p.record.spikes)
        analysis_bytes += spike_analyzer::memory_bytes(
            p.size, static_cast<uint64_t>(spec.run.tstop / spec.analysis.rate_bin) + 1);
  need += analysis_bytes + hdf5_recorder::buffer_bytes(spec);
  const memory_estimate e{need, available_ram()};
  // A margin, as sweep keeps: the estimate leaves out the program, the libraries and the page
  // cache the output needs, and a run using all of MemAvailable is killed by the kernel.
  const uint64_t usable = e.available / 4 * 3;
  if (e.available == 0 || need <= usable) return e;
  // The advice names what takes most of the memory.
  std::string advice;
  if (analysis_bytes > need / 2)
    advice = "; " + human_bytes(static_cast<double>(analysis_bytes)) +
             " of it for the spike-train statistics: analysis.enabled = false skips them";
  else if (synapse_bytes > need / 2)
    advice = "; " + human_bytes(static_cast<double>(synapse_bytes)) +
             " of it for the synapses (at their peak while built): reduce the indegree or p of "
             "the projections, or the population sizes";
  else
    advice = " (reduce population sizes or traces)";
  throw memory_error(
      std::string(ranks > 1 ? "each of the " + std::to_string(ranks) + " ranks needs about "
                            : "the run needs about ") +
      human_bytes(static_cast<double>(need)) + " of memory but only " +
      human_bytes(static_cast<double>(usable)) + " may be used (75% of the " +
      human_bytes(static_cast<double>(e.available)) + " available)" + advice);
}

std::string out_of_memory_message(const memory_estimate& e) {
  if (e.needed == 0) return "out of memory";
  return "out of memory: the run was estimated to need about " +
         human_bytes(static_cast<double>(e.needed)) + " and " +
         human_bytes(static_cast<double>(e.available)) + " was available when it started (" +
         human_bytes(static_cast<double>(available_ram())) +
         " now): another program took memory meanwhile, or the estimate fell short of what this "
         "run allocates";
}

uint64_t checkpoint_interval_steps(double every_ms, double dt) {
  if (every_ms == 0.0) return 0;
  if (!(every_ms > 0.0) || !std::isfinite(every_ms))
    throw config_error("config error: --checkpoint-every = " + std::to_string(every_ms) +
                       " ms is invalid: must be > 0 (simulated time between checkpoints)");
  return std::max<uint64_t>(1, step_at(every_ms, dt));
}

bool save_checkpoint(const std::string& path, uint64_t step, const std::vector<uint64_t>& spikes,
                     const experiment_spec& spec, const backend& b, hdf5_recorder& rec, int ranks) {
  rec.flush();
  checkpoint c;
  // Over ranks the state is gathered collectively: a failure there (memory on rank 0) must end
  // the job (the exception goes to on_every_rank's MPI_Abort) instead of leaving the other ranks
  // waiting in the gather. In one process the run goes on without this checkpoint.
  if (ranks > 1) c.state = b.save_state();
  try {
    if (ranks == 1) c.state = b.save_state();
    c.step = step;
    c.config_text = spec.config_text;
    c.simulator_version = simulator_version();
    c.git_sha = git_sha();
    c.backend = b.name() + (ranks > 1 ? " (" + std::to_string(ranks) + " ranks)" : "");
    c.output = spec.output.file;
    c.created_utc = utc_now();
    for (const auto& p : spec.populations) c.populations.push_back(p.name);
    c.spikes = spikes;
    c.rows = rec.rows();
    write_checkpoint(path, c);
    rec.keep_partial();
    return true;
  } catch (const std::exception& e) {
    std::cerr << "spikesim: warning: no checkpoint at t = "
              << static_cast<double>(step) * spec.run.dt
              << " ms: " << write_failure(e.what(), path + ".tmp", errno) << "\n";
    return false;
  }
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

int rank_default_device(const mpi::session& comm) {
  return comm.ranks() > 1 ? comm.local_rank() % std::max(1, cuda_device_count()) : 0;
}

int rank_default_threads(const mpi::session& comm) {
  if (comm.local_ranks() <= 1 || std::getenv("OMP_NUM_THREADS")) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  const long usable = CPU_COUNT(&set), online = sysconf(_SC_NPROCESSORS_ONLN);
  if (usable < online) return 0;  // bound by the launcher: OpenMP uses those cores
  return static_cast<int>(std::max<long>(1, usable / comm.local_ranks()));
}

void on_every_rank(mpi::session& comm, const std::function<void()>& command) {
  if (comm.ranks() == 1) return command();
  try {
    command();
  } catch (const numerical_error& e) {
    if (!e.all_ranks) comm.abort(e.what(), e.code());
    // Every rank learnt of it in the same exchange and rank 0 has closed its file, marked
    // failed: the job ends in order, every rank with the exit code.
    if (comm.rank() == 0) std::cerr << "spikesim: " << e.what() << "\n";
    exit_status() = e.code();
  } catch (const error& e) {
    comm.abort(e.what(), e.code());
  } catch (const std::bad_alloc&) {
    comm.abort("out of memory", exit_memory);
  } catch (const std::exception& e) {
    comm.abort(std::string("internal error: ") + e.what(), exit_internal);
  }
}

namespace {

// No file the run writes (the output, its partial file, the checkpoint and its temporary file) is
// one it reads or another it writes. A resume rewrites the checkpoint it started from by default:
// that one is both.
void check_run_files(const run_args& a, const std::string& output, const std::string& ckpt_path) {
  std::vector<named_file> inputs;
  if (!a.config.empty()) inputs.push_back({"config", a.config});
  if (!a.resume.empty() && !same_file(a.resume, ckpt_path))
    inputs.push_back({"checkpoint resumed from", a.resume});
  check_distinct_files(inputs, {{"output", output},
                                {"partial output", output + ".partial"},
                                {"checkpoint", ckpt_path},
                                {"temporary checkpoint", ckpt_path + ".tmp"}});
}

void run_command(const run_args& a, mpi::session& comm, memory_estimate& memory) {
  checkpoint ck;
  const bool resuming = !a.resume.empty();
  const bool spread = comm.ranks() > 1;
  const bool root = comm.rank() == 0;
  const bool quiet = a.quiet || !root;
  experiment_spec spec;
  if (resuming) {
    ck = read_checkpoint(a.resume);
    // Without CONFIG the run continues with the configuration stored in the checkpoint.
    spec = a.config.empty() ? parse_config(ck.config_text, a.resume + ":config", a.sets)
                            : load_config(a.config, a.sets);
    check_checkpoint(ck, spec, a.resume);
    spec.output.file = a.output.empty() ? ck.output : a.output;
    if (ck.populations.size() != spec.populations.size())
      throw input_error("checkpoint '" + a.resume + "' is damaged: it lists " +
                        std::to_string(ck.populations.size()) + " populations, the config " +
                        std::to_string(spec.populations.size()));
  } else {
    spec = a.config.empty() ? parse_config(default_config_text(), "<default>", a.sets)
                            : load_config(a.config, a.sets);
    if (!a.output.empty()) spec.output.file = a.output;
  }
  const uint64_t every_steps = checkpoint_interval_steps(a.checkpoint_every, spec.run.dt);
  const std::string ckpt_path = !a.checkpoint.empty() ? a.checkpoint
                                : resuming            ? a.resume
                                                      : spec.output.file + ".ckpt";
  if (root) check_run_files(a, spec.output.file, ckpt_path);

  memory = check_host_memory(spec, a.backend, spec.analysis.enabled && root, comm.ranks());

  // Handlers first: a signal while the state is being built ends the run cleanly too.
  // SIGUSR1 is what SLURM's --signal sends ahead of the end of an allocation.
  install_stop_handlers();
  std::unique_ptr<hdf5_recorder> file_rec;
  null_recorder no_file;
  if (root)
    file_rec = std::make_unique<hdf5_recorder>(spec, spec.output.file, resuming ? &ck : nullptr);
  recorder& rec = file_rec ? static_cast<recorder&>(*file_rec) : no_file;
  backend_options opt;
  opt.kind = a.backend;
  opt.threads = a.threads > 0 ? a.threads : rank_default_threads(comm);
  // One GPU per rank of a node unless --device says otherwise.
  opt.device = spread && !a.device_given ? rank_default_device(comm) : a.device;
  opt.quiet = quiet;
  opt.exchange = spread ? &comm : nullptr;
  std::string notice;
  if (spread && !quiet)
    std::cerr << "spikesim: " << comm.ranks() << " ranks; rank 0 writes " << spec.output.file
              << "\n";
  if (!spec.projections.empty() && !quiet) {
    const connectivity_estimate e = estimate_connectivity(spec);
    std::cerr << "spikesim: building about " << e.synapses
              << " synapses: " << human_bytes(static_cast<double>(e.bytes)) << " (peak "
              << human_bytes(static_cast<double>(e.peak_bytes)) << " while building)\n";
  }
  auto b = make_backend(spec, opt, &notice);
  comm.reset_stats();  // --backend auto asked every rank: not a spike exchange
  if (!notice.empty() && !quiet) std::cerr << "spikesim: " << notice << "\n";
  if (resuming) {
    b->restore_state(ck.state);
    ck.state.clear();
    ck.state.shrink_to_fit();
    if (!quiet)
      std::cerr << "spikesim: resuming at t = " << static_cast<double>(ck.step) * spec.run.dt
                << " ms (step " << ck.step << ") from " << a.resume << "\n";
  }
  // Ranks stop together: a signal reaches them at different times, so they agree on it (once per
  // chunk) before acting on it.
  std::atomic<bool> agreed_stop{false};
  if (spread ? comm.any(stop_requested.load()) : stop_requested.load()) {
    // Nothing was simulated: the recorder removes its partial file (a resumed run keeps it).
    if (root)
      std::cerr << "spikesim: interrupted by a signal before the simulation started; no output\n";
    exit_status() = exit_interrupted;
    return;
  }
  progress_meter meter(!quiet);
  run_options ro;
  ro.stop = spread ? &agreed_stop : &stop_requested;
  ro.progress = [&](uint64_t d, uint64_t t) {
    meter(d, t);
    if (spread) agreed_stop.store(comm.any(stop_requested.load()));
  };
  if (resuming) {
    ro.start_step = ck.step;
    ro.start_spikes = ck.spikes;
  }
  bool wrote_checkpoint = false;
  ro.checkpoint_every = every_steps;
  ro.checkpoint = [&](uint64_t step, const std::vector<uint64_t>& spikes) {
    // Over ranks every rank hands its slice's state to rank 0 (collective), which writes the
    // checkpoint of the whole network, the one a single process writes.
    if (!root) {
      b->save_state();
      return;
    }
    wrote_checkpoint |= save_checkpoint(ckpt_path, step, spikes, spec, *b, *file_rec, comm.ranks());
  };
  const uint64_t events_before = b->network().synaptic_events;  // restored from a checkpoint
  run_summary s;
  try {
    s = simulate(spec, *b, rec, ro);
  } catch (const numerical_error&) {
    if (root)
      std::cerr << "spikesim: the output up to the failing chunk is kept in " << spec.output.file
                << ", marked failed\n";
    throw;
  } catch (const output_error& e) {
    throw output_error(write_failure(e.what(), spec.output.file + ".partial", errno));
  }
  if (spread) {
    // Synapses and synaptic events are those of each rank's slice: summed over the ranks.
    std::vector<uint64_t> net{s.synapses, s.synapse_bytes, s.synaptic_events, events_before};
    comm.sum(net);
    s.synapses = net[0];
    s.synapse_bytes = net[1];
    s.synaptic_events = net[2];
    // Those of this run: a resumed run does not count the events before its checkpoint.
    s.synaptic_events_per_s = s.wall_s > 0 ? static_cast<double>(net[2] - net[3]) / s.wall_s : 0.0;
    s.construction_s = comm.max(s.construction_s);
    const mpi::exchange_stats& x = comm.stats();
    std::vector<uint64_t> bytes{x.bytes_sent};
    comm.sum(bytes);
    const double x_max = comm.max(x.seconds);
    const double x_fastest = comm.max(x.fastest_s);
    if (root) {
      print_summary(s, spec.output.file);
      const double intervals = static_cast<double>(std::max<uint64_t>(1, x.intervals));
      std::cout << "ranks " << comm.ranks() << ": " << x.intervals << " exchanges, "
                << std::setprecision(4) << x_max << " s in them (the slowest rank), the quickest "
                << x_fastest * 1e6 << " us; per exchange " << std::fixed << std::setprecision(0)
                << static_cast<double>(bytes[0]) / intervals << " bytes sent by all ranks, "
                << static_cast<double>(x.bytes_received) / intervals << " received by each"
                << std::defaultfloat << "; " << x.overflows
                << " exceeded the started exchange's capacity\n";
    }
  } else {
    print_summary(s, spec.output.file);
  }
  if (root) {
    print_analysis(std::cout, file_rec->analysis());
    print_spikes_outside_window(std::cout, s, file_rec->analysis());
  }
  if (root && !file_rec->analysis_failure().empty())
    std::cerr << "spikesim: warning: the spike-train statistics failed ("
              << file_rec->analysis_failure() << "); the file has no /analysis: `spikesim analyze "
              << spec.output.file << "` computes it\n";
  if (s.status == run_status::interrupted) {
    if (root)
      std::cerr << "spikesim: interrupted by a signal after " << s.simulated_ms
                << " ms; the output is valid and marked interrupted\n";
    if (wrote_checkpoint)
      // The checkpoint holds the resolved config (overrides included) and the output's name:
      // it needs nothing else.
      std::cerr << "spikesim: checkpoint " << ckpt_path << "; continue with: spikesim run --resume "
                << ckpt_path << "\n";
    exit_status() = exit_interrupted;
  } else if (root && s.status == run_status::complete && (wrote_checkpoint || resuming)) {
    // The run is complete: its checkpoint has served.
    std::remove(ckpt_path.c_str());
  }
}

}  // namespace

void add_run(CLI::App& app) {
  auto args = std::make_shared<run_args>();
  auto* cmd = app.add_subcommand("run", "run an experiment (the built-in one without CONFIG)");
  cmd->add_option("config", args->config, "experiment file (TOML)");
  cmd->add_option("-o,--output", args->output, "output file (overrides output.file)")
      ->check(non_empty_path());
  cmd->add_option("--set", args->sets, "override a config key: key.path=value (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  auto* device = add_backend_options(cmd, args->backend, args->device, args->threads, args->quiet);
  cmd->add_option("--checkpoint-every", args->checkpoint_every,
                  "write a checkpoint every T ms of simulated time (and always on SIGINT, SIGTERM "
                  "or SIGUSR1)")
      ->check(positive_number());
  cmd->add_option("--checkpoint", args->checkpoint,
                  "checkpoint file (default OUTPUT.ckpt; when resuming, the file resumed from)")
      ->check(non_empty_path());
  cmd->add_option("--resume", args->resume,
                  "continue the run saved in this checkpoint (CONFIG, if given, must resolve to "
                  "the same config)")
      ->check(non_empty_path());
  cmd->callback([args, device] {
    args->device_given = device->count() > 0;
    mpi::session comm;
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
