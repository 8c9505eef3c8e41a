// `spikesim merge FILES|DIRS...`: the files of a sweep (from one or many tasks) into one CSV table
// of each point's swept values and spike-train statistics, after checking that every point of
// the sweep is there exactly once.
#include <iostream>

#include <spikesim/sweep_merge.hpp>

#include "commands.hpp"

namespace spikesim::cli {
namespace {

struct merge_args {
  std::vector<std::string> inputs;
  std::string output;
};

void merge_command(const merge_args& a) {
  const merged_sweep m = merge_sweep(
      a.inputs, [](const std::string& line) { std::cerr << "spikesim: " << line << "\n"; });
  if (a.output.empty()) {
    write_csv(std::cout, m);
    return;
  }
  write_csv_file(a.output, m);
  std::cout << "merged " << m.points << " points (" << m.rows.size() << " rows) from " << m.files
            << " file" << (m.files == 1 ? "" : "s") << " into " << a.output << "\n";
}

}  // namespace

void add_merge(CLI::App& app) {
  auto args = std::make_shared<merge_args>();
  auto* cmd = app.add_subcommand(
      "merge", "tabulate the files of a sweep (all tasks) as CSV: swept values and statistics");
  cmd->add_option("inputs", args->inputs, "sweep files, or directories of them (*.h5)")->required();
  cmd->add_option("-o,--output", args->output, "CSV file to write (default: print the table)");
  cmd->callback([args] { merge_command(*args); });
}

}  // namespace spikesim::cli
