// Stands in for the CUDA backend in builds without CUDA, so that asking for it explains itself.
#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>

#include "cpu/connectivity.hpp"

namespace spikesim {

bool cuda_built() {
  return false;
}
int cuda_device_count() {
  return 0;
}

std::unique_ptr<backend> make_cuda_backend(const experiment_spec&, int, rank_exchange*) {
  throw backend_error(setting::backend +
                      " cuda: this build of spikesim has no CUDA support (configure with "
                      "-DSPIKESIM_CUDA=ON on a machine with the CUDA toolkit)");
}

}  // namespace spikesim

namespace spikesim {
cuda_report cuda_status() {
  cuda_report r;
  r.build = "not built";
  r.error = "this build of spikesim has no CUDA support";
  return r;
}
csr_projection cuda_build_projection(const experiment_spec&, uint32_t, int, bool, neuron_slice) {
  throw backend_error("this build of spikesim has no CUDA support");
}
}  // namespace spikesim
