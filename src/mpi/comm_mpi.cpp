// The MPI module on MPI (docs/scaling.md). MPI is initialised only when a launcher started the
// process, so that a plain `spikesim run` of an MPI build behaves as one of a build without it.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <spikesim/errors.hpp>

#include "mpi/comm.hpp"

namespace spikesim::mpi {
namespace {

// Variables that Open MPI's mpirun, MPICH's Hydra and SLURM's srun (PMI-2, PMIx) set.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw error(std::string(what) + " failed: " + std::string(msg, len), exit_internal);
}

template <class V>
MPI_Datatype type_of();
template <>
MPI_Datatype type_of<uint64_t>() {
  return MPI_UINT64_T;
}
template <>
MPI_Datatype type_of<float>() {
  return MPI_FLOAT;
}

template <class V>
std::vector<V> allgather_v(const std::vector<V>& local, std::vector<uint64_t>& counts, int ranks,
                           exchange_stats& st) {
  const auto t0 = std::chrono::steady_clock::now();
  // MPI counts are int: each rank's part and the whole must fit.
  if (local.size() > static_cast<uint64_t>(INT_MAX))
    throw error("exchange between ranks: " + std::to_string(local.size()) +
                    " values in one chunk exceed MPI's int count; lower run.chunk_steps",
                exit_internal);
  uint64_t n = local.size();
  counts.assign(ranks, 0);
  check(MPI_Allgather(&n, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
        "MPI_Allgather");
  std::vector<int> cnt(ranks), displ(ranks);
  uint64_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    if (total > static_cast<uint64_t>(INT_MAX))
      throw error("exchange between ranks: " + std::to_string(total) +
                      " values in one chunk exceed MPI's int count; lower run.chunk_steps",
                  exit_internal);
    cnt[r] = static_cast<int>(counts[r]);
    displ[r] = static_cast<int>(total);
    total += counts[r];
  }
  std::vector<V> all(total);
  check(MPI_Allgatherv(local.data(), static_cast<int>(n), type_of<V>(), all.data(), cnt.data(),
                       displ.data(), type_of<V>(), MPI_COMM_WORLD),
        "MPI_Allgatherv");
  st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.bytes_sent += n * sizeof(V) + sizeof(uint64_t);
  st.bytes_received += total * sizeof(V) + ranks * sizeof(uint64_t);
  return all;
}

}  // namespace

bool built() {
  return true;
}

session::session() {
  if (!launched_by_mpi()) return;
  int provided = 0;
  // MPI is called from the main thread only, outside OpenMP regions.
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  initialised_ = true;
  // Errors come back as codes (turned into exceptions, then into abort()) instead of ending the
  // job with MPI's own message.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
  MPI_Comm node;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_ranks_);
  MPI_Comm_free(&node);
}

session::~session() {
  if (initialised_) MPI_Finalize();
}

std::vector<uint64_t> session::allgather(const std::vector<uint64_t>& local,
                                         std::vector<uint64_t>& counts) {
  if (!initialised_) {
    counts.assign(1, local.size());
    return local;
  }
  ++stats_.intervals;
  const double before = stats_.seconds;
  std::vector<uint64_t> all = allgather_v(local, counts, ranks_, stats_);
  const double took = stats_.seconds - before;
  if (stats_.intervals == 1 || took < stats_.fastest_s) stats_.fastest_s = took;
  return all;
}

std::vector<float> session::allgather(const std::vector<float>& local,
                                      std::vector<uint64_t>& counts) {
  if (!initialised_) {
    counts.assign(1, local.size());
    return local;
  }
  return allgather_v(local, counts, ranks_, stats_);
}

std::vector<unsigned char> session::gather(const std::vector<unsigned char>& local,
                                           std::vector<uint64_t>& counts) {
  counts.assign(ranks_, 0);
  if (!initialised_) {
    counts.assign(1, local.size());
    return local;
  }
  uint64_t n = local.size();
  check(MPI_Allgather(&n, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
        "MPI_Allgather");
  std::vector<uint64_t> at(ranks_ + 1, 0);
  for (int r = 0; r < ranks_; ++r) at[r + 1] = at[r] + counts[r];
  const uint64_t largest = *std::max_element(counts.begin(), counts.end());
  std::vector<unsigned char> all(rank_ == 0 ? at[ranks_] : 0);
  // MPI counts and displacements are int: rounds in which each rank sends at most `piece`
  // bytes, so that one round's receive buffer stays below INT_MAX.
  const uint64_t piece = std::max<uint64_t>(1, static_cast<uint64_t>(INT_MAX) / ranks_);
  std::vector<int> cnt(ranks_), displ(ranks_);
  std::vector<unsigned char> round;
  for (uint64_t off = 0; off < largest; off += piece) {
    int total = 0;
    for (int r = 0; r < ranks_; ++r) {
      const uint64_t left = counts[r] > off ? counts[r] - off : 0;
      cnt[r] = static_cast<int>(std::min(left, piece));
      displ[r] = total;
      total += cnt[r];
    }
    if (rank_ == 0) round.resize(static_cast<size_t>(total));
    check(MPI_Gatherv(local.data() + std::min(off, n), cnt[rank_], MPI_BYTE, round.data(),
                      cnt.data(), displ.data(), MPI_BYTE, 0, MPI_COMM_WORLD),
          "MPI_Gatherv");
    if (rank_ == 0)
      for (int r = 0; r < ranks_; ++r)
        if (cnt[r]) std::memcpy(all.data() + at[r] + off, round.data() + displ[r], cnt[r]);
  }
  return all;
}

bool session::any(bool flag) {
  if (!initialised_) return flag;
  int in = flag ? 1 : 0, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out != 0;
}

void session::sum(std::vector<uint64_t>& v) {
  if (!initialised_ || v.empty()) return;
  check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_UINT64_T, MPI_SUM,
                      MPI_COMM_WORLD),
        "MPI_Allreduce");
}

double session::max(double x) {
  if (!initialised_) return x;
  double out = x;
  check(MPI_Allreduce(&x, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

double session::min(double x) {
  if (!initialised_) return x;
  double out = x;
  check(MPI_Allreduce(&x, &out, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

void session::broadcast(std::vector<uint64_t>& v) {
  if (!initialised_) return;
  uint64_t n = v.size();
  check(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  if (n > static_cast<uint64_t>(INT_MAX))
    throw error("broadcast of " + std::to_string(n) + " values exceeds MPI's int count",
                exit_internal);
  v.resize(n);
  if (n)
    check(MPI_Bcast(v.data(), static_cast<int>(n), MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
}

void session::sum_idle(std::vector<uint64_t>& v) {
  if (!initialised_ || v.empty()) return;
  MPI_Request req;
  check(MPI_Iallreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_UINT64_T, MPI_SUM,
                       MPI_COMM_WORLD, &req),
        "MPI_Iallreduce");
  for (int done = 0;;) {
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void session::abort(const std::string& message, int code) {
  std::cerr << "spikesim: rank " << rank_ << ": " << message << std::endl;
  if (initialised_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace spikesim::mpi
