// Messages that mention a setting of the front-end (the CLI's flags, a Python module's arguments):
// the library marks the setting instead of naming it, and the front-end installs the names it
// uses (use_setting_names), so that the core never speaks in one front-end's terms.
#pragma once

#include <string>
#include <vector>

namespace spikesim {

// The settings a front-end takes beside the config file.
enum class setting {
  backend,           // the backend to run on: auto, cpu or cuda
  device,            // the CUDA device ordinal
  threads,           // the number of CPU threads
  set,               // one override of a config key: key.path=value
  sweep,             // one sweep axis: key=v1,v2,... or key=start:stop:step
  output,            // the output file (a run) or directory (a sweep)
  task_id,           // this task's share of a sweep's points
  num_tasks,         // the tasks a sweep's points are split over
  checkpoint_every,  // the simulated time between checkpoints
  redo,              // a sweep replaces every pack's file
  current_range,     // the currents of a single neuron's f–I curve: from:to:step
};

// How a front-end names a setting in its messages.
using setting_names = std::string (*)(setting);
// The names without a front-end: "backend", "device", "threads", "set", "sweep", "output",
// "task_id", "num_tasks", "checkpoint_every", "redo", "current_range".
std::string neutral_setting_name(setting s);
// Installs the front-end's names (at start-up, before any message is made); null: the neutral
// ones again.
void use_setting_names(setting_names names);

// Text with settings marked in it: built with + from strings and settings, rendered by str().
class message_text {
 public:
  message_text() = default;
  message_text(std::string text);  // NOLINT: plain text converts, so messages read as strings
  message_text(const char* text);  // NOLINT
  message_text(setting s);         // NOLINT
  message_text& operator+=(const message_text& more);
  // With each setting named by `names`.
  std::string render(setting_names names) const;
  // With the installed names.
  std::string str() const;

 private:
  struct part {
    std::string text;
    bool is_setting = false;
    setting which = setting::backend;
  };
  std::vector<part> parts_;
};

message_text operator+(message_text a, const message_text& b);
// Where neither side is a class, an operator is looked up only with the enum among its types.
message_text operator+(setting a, const message_text& b);
message_text operator+(message_text a, setting b);

}  // namespace spikesim
