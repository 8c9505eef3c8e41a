// The MPI module of a build without MPI: always one rank; the collectives return what they get.
#include <spikesim/communicator.hpp>

#include <cstdlib>
#include <iostream>

namespace spikesim {

bool mpi_built() {
  return false;
}

struct communicator::started {};

communicator::communicator() = default;
communicator::~communicator() = default;

std::vector<uint64_t> communicator::allgather(const std::vector<uint64_t>& local,
                                              std::vector<uint64_t>& counts) {
  counts.assign(1, local.size());
  return local;
}

std::vector<float> communicator::allgather(const std::vector<float>& local,
                                           std::vector<uint64_t>& counts) {
  counts.assign(1, local.size());
  return local;
}

std::vector<unsigned char> communicator::gather(const std::vector<unsigned char>& local,
                                                std::vector<uint64_t>& counts) {
  counts.assign(1, local.size());
  return local;
}

void communicator::start_allgather(const std::vector<uint64_t>& local) {
  rank_exchange::start_allgather(local);
}

std::vector<uint64_t> communicator::finish_allgather(std::vector<uint64_t>& counts) {
  return rank_exchange::finish_allgather(counts);
}

void communicator::progress() {}

bool communicator::any(bool flag) {
  return flag;
}
void communicator::sum(std::vector<uint64_t>&) {}
double communicator::max(double x) {
  return x;
}
double communicator::min(double x) {
  return x;
}
void communicator::broadcast(std::vector<uint64_t>&) {}
void communicator::sum_idle(std::vector<uint64_t>&) {}

void communicator::abort(const std::string& message, int code) {
  std::cerr << "spikesim: rank 0: " << message << std::endl;
  std::exit(code);
}

}  // namespace spikesim
