// The MPI module of a build without MPI: always one rank; the collectives return what they get.
#include "mpi/comm.hpp"

#include <cstdlib>
#include <iostream>

namespace spikesim::mpi {

bool built() {
  return false;
}

struct session::started {};

session::session() = default;
session::~session() = default;

std::vector<uint64_t> session::allgather(const std::vector<uint64_t>& local,
                                         std::vector<uint64_t>& counts) {
  counts.assign(1, local.size());
  return local;
}

std::vector<float> session::allgather(const std::vector<float>& local,
                                      std::vector<uint64_t>& counts) {
  counts.assign(1, local.size());
  return local;
}

std::vector<unsigned char> session::gather(const std::vector<unsigned char>& local,
                                           std::vector<uint64_t>& counts) {
  counts.assign(1, local.size());
  return local;
}

void session::start_allgather(const std::vector<uint64_t>& local) {
  rank_exchange::start_allgather(local);
}

std::vector<uint64_t> session::finish_allgather(std::vector<uint64_t>& counts) {
  return rank_exchange::finish_allgather(counts);
}

void session::progress() {}

bool session::any(bool flag) {
  return flag;
}
void session::sum(std::vector<uint64_t>&) {}
double session::max(double x) {
  return x;
}
double session::min(double x) {
  return x;
}
void session::broadcast(std::vector<uint64_t>&) {}
void session::sum_idle(std::vector<uint64_t>&) {}

void session::abort(const std::string& message, int code) {
  std::cerr << "spikesim: rank 0: " << message << std::endl;
  std::exit(code);
}

}  // namespace spikesim::mpi
