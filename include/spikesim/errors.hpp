// The typed errors of spikesim. Each carries its kind, what went wrong, by which a front-end
// decides what to do (the program maps it to its exit code: src/cli/exit_codes.cpp), and its
// message with the front-end's settings marked.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <spikesim/message_text.hpp>

namespace spikesim {

enum class error_kind {
  internal,   // a bug or a failure of a library spikesim uses
  config,     // the configuration or a front-end setting
  input,      // an input file
  output,     // an output file
  backend,    // the requested backend or device
  numerical,  // a neuron's state became NaN or infinite
  memory,     // more memory is needed than is available
};

// what() names the settings of the message as the front-end does (use_setting_names); text()
// keeps them marked, for a front-end that phrases the message again.
class error : public std::runtime_error {
 public:
  error(const message_text& what, error_kind kind)
      : std::runtime_error(what.str()), text_(what), kind_(kind) {}
  const message_text& text() const noexcept { return text_; }
  error_kind kind() const noexcept { return kind_; }

 private:
  message_text text_;
  error_kind kind_;
};

// A configuration key has a wrong type, an impossible value or is unknown; the message names it.
// Where the message is about one key, its parts too, for a front-end that reports them apart:
// the dotted key, its value as written, its unit, and why it is refused (empty when unknown).
struct config_error : error {
  explicit config_error(const message_text& what) : error(what, error_kind::config) {}
  config_error(const message_text& what, std::string key, std::string value, std::string unit,
               message_text reason)
      : error(what, error_kind::config),
        key(std::move(key)),
        value(std::move(value)),
        unit(std::move(unit)),
        reason(std::move(reason)) {}
  std::string key, value, unit;
  message_text reason;
};
// An input file is missing, unreadable or not ours.
struct input_error : error {
  explicit input_error(const message_text& what) : error(what, error_kind::input) {}
};
// The output cannot be created or written.
struct output_error : error {
  explicit output_error(const message_text& what) : error(what, error_kind::output) {}
};
// The requested backend or device cannot be used.
struct backend_error : error {
  explicit backend_error(const message_text& what) : error(what, error_kind::backend) {}
};
// The state of a neuron became NaN or infinite. On a run spread over ranks the ranks learn of a
// failure in the spike exchange, and every rank throws it after the same chunk with `all_ranks`
// set: the job can then end in order (rank 0 closes its file) instead of being aborted.
struct numerical_error : error {
  explicit numerical_error(const message_text& what, bool all_ranks = false)
      : error(what, error_kind::numerical), all_ranks(all_ranks) {}
  bool all_ranks;
};
// The run needs more memory than is available.
struct memory_error : error {
  explicit memory_error(const message_text& what) : error(what, error_kind::memory) {}
};

}  // namespace spikesim
