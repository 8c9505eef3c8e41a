// `spikesim analyze FILE`: recomputes the spike-train statistics of a run's file with the run's
// [analysis] settings changed by --set, rewrites /analysis, and prints a table.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <spikesim/analysis.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>

#include "commands.hpp"

namespace spikesim::cli {
namespace {

struct analyze_args {
  std::string file;
  std::vector<std::string> sets;
  bool no_write = false;
};

// A table cell: `decimals` digits after the point, "-" where the statistic is undefined (NaN).
std::string num(double x, int decimals) {
  return format_fixed(x, decimals, {"-"});
}

void analyze_command(const analyze_args& a) {
  std::string warning;
  const file_analysis fa = analyze_file(a.file, a.sets, &warning);
  if (!warning.empty()) std::cerr << "spikesim: warning: " << warning << "\n";
  if (!a.no_write) write_analysis(a.file, fa, "spikesim analyze");
  print_analysis(std::cout, fa.populations);
  for (const auto& name : fa.skipped)
    std::cout << name << ": spikes not recorded (record.spikes = false), not analysed\n";
  std::cout << (a.no_write ? "not written (--no-write)" : "written to " + a.file + ":/analysis")
            << "\n";
}

}  // namespace

void print_analysis(std::ostream& out, const std::vector<population_analysis>& results) {
  if (results.empty()) return;
  const auto& s = results.front();
  std::ostringstream head;
  head << std::setprecision(10) << "analysis over [" << s.t_start << ", " << s.t_stop
       << ") ms; population rate and chi in " << s.rate_bin_ms << " ms bins, Fano factor in "
       << s.fano_window_ms << " ms windows, CV from " << s.cv_min_spikes << " spikes\n";
  out << head.str();
  out << std::left << std::setw(16) << "population" << std::right << std::setw(10) << "neurons"
      << std::setw(12) << "spikes" << std::setw(10) << "rate Hz" << std::setw(9) << "median"
      << std::setw(9) << "p10" << std::setw(9) << "p90" << std::setw(8) << "silent" << std::setw(8)
      << "CV" << std::setw(8) << "median" << std::setw(9) << "CV NaN" << std::setw(8) << "LV"
      << std::setw(8) << "Fano" << std::setw(9) << "chi" << std::setw(10) << "pop Hz"
      << std::setw(9) << "SD"
      << "\n";
  for (const auto& r : results) {
    out << std::left << std::setw(16) << r.name << std::right << std::setw(10) << r.n_neurons
        << std::setw(12) << r.spikes << std::setw(10) << num(r.rate_summary.mean, 3) << std::setw(9)
        << num(r.rate_summary.median, 2) << std::setw(9) << num(r.rate_summary.p10, 2)
        << std::setw(9) << num(r.rate_summary.p90, 2) << std::setw(8)
        << num(100.0 * r.silent_fraction, 1) + "%" << std::setw(8) << num(r.cv_summary.mean, 3)
        << std::setw(8) << num(r.cv_summary.median, 3) << std::setw(9) << r.n_cv_nan << std::setw(8)
        << num(r.lv_summary.mean, 3) << std::setw(8) << num(r.fano_factor, 3) << std::setw(9)
        << num(r.chi, 4) << std::setw(10) << num(r.population_rate_mean_hz, 3) << std::setw(9)
        << num(r.population_rate_sd_hz, 3) << "\n";
  }
}

void add_analyze(CLI::App& app) {
  auto args = std::make_shared<analyze_args>();
  auto* cmd = app.add_subcommand(
      "analyze", "recompute the spike-train statistics (/analysis) of a run's output file");
  cmd->add_option("file", args->file, "output file of spikesim run (HDF5)")->required();
  cmd->add_option("--set", args->sets,
                  "change an analysis setting: analysis.key=value (repeatable; docs/config.md)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_flag("--no-write", args->no_write, "print the table only; leave the file untouched");
  cmd->callback([args] { analyze_command(*args); });
}

}  // namespace spikesim::cli
