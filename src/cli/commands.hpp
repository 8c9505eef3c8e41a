// The subcommands of the spikesim program; each registers its options and its callback.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>

#include <spikesim/spec.hpp>

#include <ostream>
#include <vector>

#include <spikesim/analysis.hpp>
#include <spikesim/session.hpp>

namespace spikesim::cli {

void add_run(CLI::App& app);
void add_info(CLI::App& app);
void add_bench(CLI::App& app);
void add_analyze(CLI::App& app);
void add_theory(CLI::App& app);
void add_model(CLI::App& app);
void add_sweep(CLI::App& app);
void add_merge(CLI::App& app);

// The table `analyze` prints, also printed by `run` after its summary.
void print_analysis(std::ostream& out, const std::vector<population_analysis>& results);

// Set by SIGINT, SIGTERM and SIGUSR1 once install_stop_handlers() ran: the run (or sweep) ends
// after its current chunk.
extern std::atomic<bool> stop_requested;
void install_stop_handlers();

// Validators of option values with short messages (CLI11's PositiveNumber prints its 300-digit
// bound): a number > 0, and a file name that is not empty.
CLI::Validator positive_number();
CLI::Validator non_empty_path();
// --backend, --device, --threads and -q of run and sweep; returns --device (to see if given).
CLI::Option* add_backend_options(CLI::App* cmd, std::string& backend, int& device, int& threads,
                                 bool& quiet);

// Runs a subcommand on this rank. Over several ranks an error ends the whole job with this rank's
// message and the error's exit code (communicator::abort): the other ranks would otherwise wait
// for this one for ever. With one rank errors reach main() as usual.
void on_every_rank(communicator& comm, const std::function<void()>& command);

// The exit code the chosen subcommand asks main() to return.
int& exit_status();

}  // namespace spikesim::cli
