// `spikesim run`: config -> simulation -> HDF5 file, with progress, a summary table, and a clean
// stop on SIGINT/SIGTERM (the file is kept, marked interrupted, exit code 75).
#include <sys/sysinfo.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <spikesim/backend.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/simulation.hpp>

#include "cli/commands.hpp"

namespace spikesim::cli {
namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) {
  stop_requested.store(true);
}

struct run_args {
  std::string config;
  std::string output;
  std::vector<std::string> sets;
  std::string backend = "auto";
  int threads = 0;
  bool quiet = false;
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

uint64_t available_ram() {
  const long pages = sysconf(_SC_AVPHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

// A bar on a terminal; a plain line at most every 10 s otherwise (logs of batch jobs).
class progress_meter {
 public:
  explicit progress_meter(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO)) {}
  void operator()(uint64_t done, uint64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double frac = total ? static_cast<double>(done) / total : 1.0;
    if (tty_) {
      if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
      const int width = 40;
      const int fill = static_cast<int>(frac * width);
      std::fprintf(stderr, "\r[%s%s] %5.1f%%  %.1f s", std::string(fill, '#').c_str(),
                   std::string(width - fill, ' ').c_str(), 100.0 * frac, elapsed);
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      if (now - last_ < std::chrono::seconds(10)) return;
      std::fprintf(stderr, "progress: %.1f%% (%llu of %llu steps) after %.0f s\n", 100.0 * frac,
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                   elapsed);
    }
    std::fflush(stderr);
    last_ = now;
  }

 private:
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

void print_summary(const run_summary& s, const std::string& file) {
  std::cout << std::left << std::setw(16) << "population" << std::right << std::setw(12)
            << "neurons" << std::setw(14) << "spikes" << std::setw(14) << "rate (Hz)"
            << "\n";
  for (const auto& p : s.populations)
    std::cout << std::left << std::setw(16) << p.name << std::right << std::setw(12) << p.neurons
              << std::setw(14) << p.spikes << std::setw(14) << std::fixed << std::setprecision(3)
              << p.mean_rate_hz << "\n";
  std::cout << std::defaultfloat << std::setprecision(4) << "steps " << s.steps << " ("
            << s.simulated_ms << " ms simulated), wall " << s.wall_s << " s, " << std::scientific
            << std::setprecision(3) << s.neuron_steps_per_s << " neuron-steps/s"
            << std::defaultfloat << "\n"
            << "backend " << s.backend << " (" << s.device << ")\n"
            << "output " << file << " (" << to_string(s.status) << ")\n";
}

void run_command(const run_args& a) {
  experiment_spec spec = a.config.empty() ? parse_config(default_config_text(), "<default>", a.sets)
                                          : load_config(a.config, a.sets);
  if (!a.output.empty()) spec.output.file = a.output;

  const uint64_t chunk = chunk_steps_for(spec);
  uint64_t need = estimate_state_bytes(spec, chunk);
  if (spec.analysis.enabled)
    for (const auto& p : spec.populations)
      if (p.record.spikes)
        need += spike_analyzer::memory_bytes(
            p.size, static_cast<uint64_t>(spec.run.tstop / spec.analysis.rate_bin) + 1);
  const uint64_t avail = available_ram();
  if (a.backend != "cuda" && avail > 0 && need > avail)
    throw memory_error("the run needs about " + human_bytes(static_cast<double>(need)) +
                       " of memory but only " + human_bytes(static_cast<double>(avail)) +
                       " is available (reduce population sizes or traces)");

  hdf5_recorder rec(spec, spec.output.file);  // fails here, before any simulation
  backend_options opt;
  opt.kind = a.backend;
  opt.threads = a.threads;
  opt.quiet = a.quiet;
  std::string notice;
  auto b = make_backend(spec, opt, &notice);
  if (!notice.empty() && !a.quiet) std::cerr << "spikesim: " << notice << "\n";

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  progress_meter meter(!a.quiet);
  run_options ro;
  ro.stop = &stop_requested;
  ro.progress = [&](uint64_t d, uint64_t t) { meter(d, t); };
  const run_summary s = simulate(spec, *b, rec, ro);
  print_summary(s, spec.output.file);
  print_analysis(std::cout, rec.analysis());
  if (!rec.analysis_failure().empty())
    std::cerr << "spikesim: warning: the spike-train statistics failed (" << rec.analysis_failure()
              << "); the file has no /analysis: `spikesim analyze " << spec.output.file
              << "` computes it\n";
  if (s.status == run_status::interrupted) {
    std::cerr << "spikesim: interrupted by a signal after " << s.simulated_ms
              << " ms; the output is valid and marked interrupted\n";
    exit_status() = exit_interrupted;
  }
}

}  // namespace

void add_run(CLI::App& app) {
  auto args = std::make_shared<run_args>();
  auto* cmd = app.add_subcommand("run", "run an experiment (the built-in one without CONFIG)");
  cmd->add_option("config", args->config, "experiment file (TOML)");
  cmd->add_option("-o,--output", args->output, "output file (overrides output.file)");
  cmd->add_option("--set", args->sets, "override a config key: key.path=value (repeatable)")
      ->take_all();
  cmd->add_option("--backend", args->backend, "auto | cpu | cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--threads", args->threads, "CPU threads (default: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-q,--quiet", args->quiet, "no progress or notices");
  cmd->callback([args] { run_command(*args); });
}

}  // namespace spikesim::cli
