// The subcommands of the spikesim program; each registers its options and its callback.
#pragma once

#include <CLI/CLI.hpp>

namespace spikesim::cli {

void add_run(CLI::App& app);
void add_info(CLI::App& app);
void add_bench(CLI::App& app);

// The exit code the chosen subcommand asks main() to return.
int& exit_status();

}  // namespace spikesim::cli
