// The subcommands of the spikesim program; each registers its options and its callback.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>

#include <spikesim/spec.hpp>

#include <ostream>
#include <vector>

#include <spikesim/analysis.hpp>

namespace spikesim {
class backend;
class hdf5_recorder;
}  // namespace spikesim

namespace spikesim::mpi {
class session;
}

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

// Host memory a run is estimated to need and what was available (bytes; 0 when not checked).
struct memory_estimate {
  uint64_t needed = 0;
  uint64_t available = 0;
};
// Throws memory_error when the state of `spec` (and the spike-train statistics, if `analysis`)
// would need more than 75% of the available host memory; the message names what takes most of
// it. Over `ranks` MPI ranks each holds about 1/ranks of the state (an estimate per rank).
memory_estimate check_host_memory(const experiment_spec& spec, const std::string& backend,
                                  bool analysis, int ranks = 1);
// The message of a failed allocation after check_host_memory passed: needed and available.
std::string out_of_memory_message(const memory_estimate& e);
// Set by SIGINT, SIGTERM and SIGUSR1 once install_stop_handlers() ran: the run (or sweep) ends
// after its current chunk.
extern std::atomic<bool> stop_requested;
void install_stop_handlers();

// Steps between checkpoints for --checkpoint-every T, T in ms of simulated time (0: none, only
// when stopped by a signal); config_error when T is not a positive number.
uint64_t checkpoint_interval_steps(double every_ms, double dt);
// The checkpoint of `spec`'s run at `step` (the checkpoint callback of run_options), written to
// `path` after `rec` is flushed, so that the file holds every row the checkpoint counts (a failure
// of the output fails the run); `rec` then keeps its partial file whatever ends the run. A
// checkpoint that cannot be written is reported and the run goes on: returns whether it was.
// Over `ranks` > 1 this is rank 0's part; the other ranks call b.save_state() (collective), and
// a failure to gather the state is thrown (it ends the job) rather than reported.
bool save_checkpoint(const std::string& path, uint64_t step, const std::vector<uint64_t>& spikes,
                     const experiment_spec& spec, const backend& b, hdf5_recorder& rec,
                     int ranks = 1);

// Under mpirun, the defaults that share a node between its ranks. The GPU: the rank's node-local
// rank modulo the devices it sees (with one visible device per rank, that one). CPU threads,
// when --threads is not given: the cores the rank may use divided among the node's ranks when
// every rank may use all of them (mpirun --bind-to none), else 0 (OpenMP's default: the cores
// the rank is bound to, or OMP_NUM_THREADS when set).
int rank_default_device(const mpi::session& comm);
// Validators of option values with short messages (CLI11's PositiveNumber prints its 300-digit
// bound): a number > 0, and a file name that is not empty.
CLI::Validator positive_number();
CLI::Validator non_empty_path();
// --backend, --device, --threads and -q of run and sweep; returns --device (to see if given).
CLI::Option* add_backend_options(CLI::App* cmd, std::string& backend, int& device, int& threads,
                                 bool& quiet);
int rank_default_threads(const mpi::session& comm);

// Runs a subcommand on this rank. Over several ranks an error ends the whole job with this rank's
// message and the error's exit code (mpi::session::abort): the other ranks would otherwise wait
// for this one for ever. With one rank errors reach main() as usual.
void on_every_rank(mpi::session& comm, const std::function<void()>& command);

// MemAvailable of /proc/meminfo in bytes; 0 when unknown.
uint64_t available_ram();

// The exit code the chosen subcommand asks main() to return.
int& exit_status();

}  // namespace spikesim::cli
