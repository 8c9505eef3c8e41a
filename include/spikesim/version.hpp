// The version and commit of this build of spikesim, as files, checkpoints and --version state them.
#pragma once

#include <string>

namespace spikesim {

std::string simulator_version();  // "0.2.0"
std::string git_sha();            // the commit's short SHA, "unknown" outside a git checkout

}  // namespace spikesim
