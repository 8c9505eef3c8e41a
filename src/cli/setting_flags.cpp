// The flag of each front-end setting (setting_flags.hpp).
#include "setting_flags.hpp"

namespace spikesim::cli {

std::string flag_of(setting s) {
  switch (s) {
    case setting::backend:
      return "--backend";
    case setting::device:
      return "--device";
    case setting::threads:
      return "--threads";
    case setting::set:
      return "--set";
    case setting::sweep:
      return "--sweep";
    case setting::output:
      return "-o";
    case setting::task_id:
      return "--task-id";
    case setting::num_tasks:
      return "--num-tasks";
    case setting::checkpoint_every:
      return "--checkpoint-every";
    case setting::redo:
      return "--redo";
    case setting::current_range:
      return "--I-range";
  }
  return neutral_setting_name(s);
}

}  // namespace spikesim::cli
