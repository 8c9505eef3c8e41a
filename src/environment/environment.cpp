// The environment module: /proc/meminfo, the CPU affinity and device count of a rank, SLURM's
// array variables.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <limits>

#include <spikesim/backend.hpp>
#include <spikesim/communicator.hpp>
#include <spikesim/environment.hpp>

namespace spikesim {

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

int rank_default_device(int ranks, int local_rank) {
  return ranks > 1 ? local_rank % std::max(1, cuda_device_count()) : 0;
}

int rank_default_threads(int local_ranks) {
  if (local_ranks <= 1 || std::getenv("OMP_NUM_THREADS")) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  const long usable = CPU_COUNT(&set), online = sysconf(_SC_NPROCESSORS_ONLN);
  if (usable < online) return 0;  // bound by the launcher: OpenMP uses those cores
  return static_cast<int>(std::max<long>(1, usable / local_ranks));
}

backend_options rank_backend_options(const std::string& kind, int threads, int device,
                                     bool device_given, const communicator& comm) {
  backend_options opt;
  opt.kind = kind;
  opt.threads = threads > 0 ? threads : rank_default_threads(comm.local_ranks());
  opt.device = comm.ranks() > 1 && !device_given
                   ? rank_default_device(comm.ranks(), comm.local_rank())
                   : device;
  return opt;
}

namespace {

// `--array` is sbatch's option, of SLURM's command line.
message_text task_message(task_error::reason_t reason, uint64_t id, uint64_t tasks,
                          bool id_from_slurm, bool tasks_from_slurm) {
  const message_text count_from =
      tasks_from_slurm ? message_text("SLURM_ARRAY_TASK_COUNT") : setting::num_tasks;
  if (reason == task_error::no_tasks) return "config error: " + count_from + " = 0: must be >= 1";
  return "config error: " +
         (id_from_slurm ? message_text("SLURM_ARRAY_TASK_ID") : setting::task_id) + " = " +
         std::to_string(id) + " is invalid: must be below " + count_from + " = " +
         std::to_string(tasks) +
         " (task ids count from 0; a SLURM array must be contiguous, e.g. --array=0-" +
         std::to_string(tasks - 1) + ", or give " + setting::task_id + " and " +
         setting::num_tasks + ")";
}

}  // namespace

task_error::task_error(reason_t reason, uint64_t id, uint64_t tasks, bool id_from_slurm,
                       bool tasks_from_slurm)
    : config_error(task_message(reason, id, tasks, id_from_slurm, tasks_from_slurm)),
      reason(reason),
      id(id),
      tasks(tasks),
      id_from_slurm(id_from_slurm),
      tasks_from_slurm(tasks_from_slurm) {}

task_assignment resolve_task(int64_t task_id, int64_t num_tasks) {
  task_assignment t;
  bool id_from_slurm = false, tasks_from_slurm = false;
  if (num_tasks >= 0) {
    t.tasks = static_cast<uint64_t>(num_tasks);
  } else if (auto n = env_number("SLURM_ARRAY_TASK_COUNT")) {
    t.tasks = *n;
    tasks_from_slurm = true;
  }
  if (task_id >= 0) {
    t.id = static_cast<uint64_t>(task_id);
  } else if (auto k = env_number("SLURM_ARRAY_TASK_ID")) {
    const uint64_t min = env_number("SLURM_ARRAY_TASK_MIN").value_or(0);
    if (*k < min)
      throw config_error("config error: SLURM_ARRAY_TASK_ID = " + std::to_string(*k) +
                         " is below SLURM_ARRAY_TASK_MIN = " + std::to_string(min));
    t.id = *k - min;
    id_from_slurm = true;
  }
  if (t.tasks == 0)
    throw task_error(task_error::no_tasks, t.id, 0, id_from_slurm, tasks_from_slurm);
  if (t.id >= t.tasks)
    throw task_error(task_error::id_out_of_range, t.id, t.tasks, id_from_slurm, tasks_from_slurm);
  return t;
}

}  // namespace spikesim
