// `spikesim info`: what this build supports and which devices it sees.
#include <omp.h>

#include <iostream>

#include <spikesim/backend.hpp>
#include <spikesim/hdf5_writer.hpp>

#include "cli/commands.hpp"

namespace spikesim {
std::string cuda_build_description();     // architectures compiled in
std::vector<std::string> cuda_devices();  // one line per device
}  // namespace spikesim

namespace spikesim::cli {

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "print the build configuration and the devices");
  cmd->callback([] {
    std::cout << "spikesim " << simulator_version() << " (commit " << git_sha() << ")\n"
              << "precision: float, double\n"
              << "CPU backend: OpenMP, " << omp_get_max_threads() << " threads available\n"
              << "CUDA backend: " << cuda_build_description() << "\n";
    const auto devices = cuda_devices();
    if (cuda_built() && devices.empty()) std::cout << "CUDA devices: none usable\n";
    for (const auto& d : devices) std::cout << "  " << d << "\n";
  });
}

}  // namespace spikesim::cli
