// The program's exit codes (docs/architecture.md#exit-codes): the library's errors carry a kind,
// and the program alone decides the code of each.
#pragma once

#include <spikesim/errors.hpp>

namespace spikesim::cli {

enum exit_code : int {
  exit_ok = 0,
  exit_internal = 1,
  exit_config = 2,  // usage or configuration
  exit_input = 3,
  exit_output = 4,
  exit_no_device = 5,
  exit_numerical = 6,
  exit_memory = 7,
  exit_interrupted = 75,  // by a signal, the output valid
};

exit_code exit_code_of(error_kind kind);

}  // namespace spikesim::cli
