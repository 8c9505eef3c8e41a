// `spikesim info`: what this build supports and which devices it sees.
#include <omp.h>

#include <iostream>

#include <spikesim/backend.hpp>
#include <spikesim/hdf5_writer.hpp>

#include "commands.hpp"

namespace spikesim::cli {

namespace {

// 13000 -> "13.0"; 0 -> `none`.
std::string cuda_version(int v, const char* none) {
  if (v <= 0) return none;
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

}  // namespace

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "print the build configuration and the devices");
  cmd->callback([] {
    const cuda_report cuda = cuda_status();
    std::cout << "spikesim " << simulator_version() << " (commit " << git_sha() << ")\n"
              << "precision: float, double\n"
              << "CPU backend: OpenMP, " << omp_get_max_threads() << " threads available\n"
              << "CUDA backend: " << cuda.build << "\n";
    if (!cuda.built) return;
    std::cout << "CUDA runtime: " << cuda_version(cuda.runtime_version, "unknown")
              << ", driver: " << (cuda.driver_version > 0 ? "CUDA " : "")
              << cuda_version(cuda.driver_version, "none found") << "\n";
    if (cuda.devices.empty()) std::cout << "CUDA devices: none usable: " << cuda.error << "\n";
    for (const auto& d : cuda.devices) std::cout << "  " << d << "\n";
  });
}

}  // namespace spikesim::cli
