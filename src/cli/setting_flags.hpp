// The command-line flags by which spikesim's messages name the front-end settings that library
// messages mark (include/spikesim/message_text.hpp).
#pragma once

#include <string>

#include <spikesim/message_text.hpp>

namespace spikesim::cli {

// "--backend", "--device", "--threads", "--set", "--sweep", "-o", "--task-id", "--num-tasks",
// "--checkpoint-every", "--redo", "--I-range"; main() installs it.
std::string flag_of(setting s);

}  // namespace spikesim::cli
