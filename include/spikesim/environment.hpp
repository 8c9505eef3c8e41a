// What the machine and the batch system give a process: available memory, the CPU threads and the
// GPU of one of several ranks on a node, and SLURM's array variables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>

namespace spikesim {

class communicator;  // communicator.hpp

// MemAvailable of /proc/meminfo in bytes; 0 when unknown.
uint64_t available_ram();

// An environment variable as a non-negative integer; nullopt when unset or empty, config_error
// when it is anything else.
std::optional<uint64_t> env_number(const char* name);

// Defaults that share a node between the ranks of a job (`ranks` in all, `local_ranks` of them on
// this node, this one `local_rank` among them). The GPU: the node-local rank modulo the devices
// the rank sees (with one visible device per rank, that one); 0 for a single process. CPU
// threads: the cores the rank may use divided among the node's ranks when every rank may use all
// of them (mpirun --bind-to none), else 0 (OpenMP's default: the cores the rank is bound to, or
// OMP_NUM_THREADS when set).
int rank_default_device(int ranks, int local_rank);
int rank_default_threads(int local_ranks);
// The backend of this rank of `comm`, of `kind`: `threads` when > 0, else rank_default_threads;
// over several ranks without `device_given` rank_default_device, else `device`.
backend_options rank_backend_options(const std::string& kind, int threads, int device,
                                     bool device_given, const communicator& comm);

// A task of a job whose work is split over `tasks` tasks (a SLURM array), 0-based.
struct task_assignment {
  uint64_t id = 0;
  uint64_t tasks = 1;
};

// resolve_task's refusal: the values and where each came from (SLURM's variables, or the
// caller's settings task_id and num_tasks, which the message marks for the front-end to name).
struct task_error : config_error {
  enum reason_t { no_tasks, id_out_of_range };
  task_error(reason_t reason, uint64_t id, uint64_t tasks, bool id_from_slurm,
             bool tasks_from_slurm);
  reason_t reason;
  uint64_t id, tasks;
  bool id_from_slurm, tasks_from_slurm;
};

// This task: `task_id` and `num_tasks` where >= 0, else SLURM_ARRAY_TASK_ID (counted from
// SLURM_ARRAY_TASK_MIN) and SLURM_ARRAY_TASK_COUNT, else task 0 of 1. Throws task_error, or
// config_error for a malformed variable or an id below SLURM_ARRAY_TASK_MIN.
task_assignment resolve_task(int64_t task_id, int64_t num_tasks);

}  // namespace spikesim
