// The exit code of each kind of error (exit_codes.hpp).
#include "exit_codes.hpp"

namespace spikesim::cli {

exit_code exit_code_of(error_kind kind) {
  switch (kind) {
    case error_kind::internal:
      return exit_internal;
    case error_kind::config:
      return exit_config;
    case error_kind::input:
      return exit_input;
    case error_kind::output:
      return exit_output;
    case error_kind::backend:
      return exit_no_device;
    case error_kind::numerical:
      return exit_numerical;
    case error_kind::memory:
      return exit_memory;
  }
  return exit_internal;
}

}  // namespace spikesim::cli
