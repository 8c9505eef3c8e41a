// The typed errors of spikesim; main() catches them once and maps each to its documented exit code.
#pragma once

#include <stdexcept>
#include <string>

#include <spikesim/message_text.hpp>

namespace spikesim {

enum exit_code : int {
  exit_ok = 0,
  exit_internal = 1,
  exit_config = 2,
  exit_input = 3,
  exit_output = 4,
  exit_no_device = 5,
  exit_numerical = 6,
  exit_memory = 7,
  exit_interrupted = 75,
};

// what() names the settings of the message as the front-end does (use_setting_names); text()
// keeps them marked, for a front-end that phrases the message again.
class error : public std::runtime_error {
 public:
  error(const message_text& what, int code)
      : std::runtime_error(what.str()), text_(what), code_(code) {}
  const message_text& text() const noexcept { return text_; }
  int code() const noexcept { return code_; }

 private:
  message_text text_;
  int code_;
};

// A configuration key has a wrong type, an impossible value or is unknown; the message names it.
struct config_error : error {
  explicit config_error(const message_text& what) : error(what, exit_config) {}
};
// An input file is missing, unreadable or not ours.
struct input_error : error {
  explicit input_error(const message_text& what) : error(what, exit_input) {}
};
// The output cannot be created or written.
struct output_error : error {
  explicit output_error(const message_text& what) : error(what, exit_output) {}
};
// The requested backend or device cannot be used.
struct backend_error : error {
  explicit backend_error(const message_text& what) : error(what, exit_no_device) {}
};
// The state of a neuron became NaN or infinite. On a run spread over ranks the ranks learn of a
// failure in the spike exchange, and every rank throws it after the same chunk with `all_ranks`
// set: the job can then end in order (rank 0 closes its file) instead of being aborted.
struct numerical_error : error {
  explicit numerical_error(const message_text& what, bool all_ranks = false)
      : error(what, exit_numerical), all_ranks(all_ranks) {}
  bool all_ranks;
};
// The run needs more memory than is available.
struct memory_error : error {
  explicit memory_error(const message_text& what) : error(what, exit_memory) {}
};

}  // namespace spikesim
