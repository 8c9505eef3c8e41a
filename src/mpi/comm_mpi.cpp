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

#include <spikesim/communicator.hpp>

namespace spikesim {
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
  throw error(std::string(what) + " failed: " + std::string(msg, len), error_kind::internal);
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

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// MPI_Allgatherv of parts whose lengths every rank knows: `counts`, in rank order.
template <class V>
std::vector<V> allgatherv_known(const std::vector<V>& local, const std::vector<uint64_t>& counts,
                                int ranks) {
  // MPI counts and displacements are int: each rank's part and the whole must fit.
  std::vector<int> cnt(ranks), displ(ranks);
  uint64_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    if (counts[r] > static_cast<uint64_t>(INT_MAX) || total > static_cast<uint64_t>(INT_MAX))
      throw error("exchange between ranks: " + std::to_string(total + counts[r]) +
                      " values in one chunk exceed MPI's int count; lower run.chunk_steps",
                  error_kind::internal);
    cnt[r] = static_cast<int>(counts[r]);
    displ[r] = static_cast<int>(total);
    total += counts[r];
  }
  std::vector<V> all(total);
  check(MPI_Allgatherv(local.data(), static_cast<int>(local.size()), type_of<V>(), all.data(),
                       cnt.data(), displ.data(), type_of<V>(), MPI_COMM_WORLD),
        "MPI_Allgatherv");
  return all;
}

template <class V>
std::vector<V> allgather_v(const std::vector<V>& local, std::vector<uint64_t>& counts, int ranks,
                           exchange_stats& st) {
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t n = local.size();
  counts.assign(ranks, 0);
  check(MPI_Allgather(&n, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
        "MPI_Allgather");
  std::vector<V> all = allgatherv_known(local, counts, ranks);
  st.seconds += seconds_since(t0);
  st.bytes_sent += n * sizeof(V) + sizeof(uint64_t);
  st.bytes_received += all.size() * sizeof(V) + ranks * sizeof(uint64_t);
  return all;
}

constexpr uint64_t least_capacity = 64;  // words per rank of a started allgather

}  // namespace

struct communicator::started {
  MPI_Request request = MPI_REQUEST_NULL;
  uint64_t capacity = least_capacity;  // words per rank, the same on every rank
  bool fixed = false;                  // SPIKESIM_EXCHANGE_WORDS
  std::vector<uint64_t> send, received;
  std::vector<uint64_t> rest;  // this rank's words beyond the capacity
  double seconds = 0.0;        // spent in the start
};

bool mpi_built() {
  return true;
}

communicator::communicator() {
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
  started_ = std::make_unique<started>();
  if (const char* words = std::getenv("SPIKESIM_EXCHANGE_WORDS")) {
    started_->capacity = std::max<uint64_t>(1, std::strtoull(words, nullptr, 10));
    started_->fixed = true;
  }
}

communicator::~communicator() {
  if (initialised_) MPI_Finalize();
}

std::vector<uint64_t> communicator::allgather(const std::vector<uint64_t>& local,
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

std::vector<float> communicator::allgather(const std::vector<float>& local,
                                           std::vector<uint64_t>& counts) {
  if (!initialised_) {
    counts.assign(1, local.size());
    return local;
  }
  return allgather_v(local, counts, ranks_, stats_);
}

void communicator::start_allgather(const std::vector<uint64_t>& local) {
  if (!initialised_) return rank_exchange::start_allgather(local);
  const auto t0 = std::chrono::steady_clock::now();
  started& x = *started_;
  const uint64_t cap = x.capacity;
  const uint64_t fit = std::min<uint64_t>(local.size(), cap - 1);
  x.send.assign(cap, 0);
  x.send[0] = local.size();
  std::copy(local.begin(), local.begin() + fit, x.send.begin() + 1);
  x.rest.assign(local.begin() + fit, local.end());
  x.received.resize(cap * ranks_);
  check(MPI_Iallgather(x.send.data(), static_cast<int>(cap), MPI_UINT64_T, x.received.data(),
                       static_cast<int>(cap), MPI_UINT64_T, MPI_COMM_WORLD, &x.request),
        "MPI_Iallgather");
  x.seconds = seconds_since(t0);
}

void communicator::progress() {
  // Threads other than the one that initialised MPI return before touching the request.
  if (std::this_thread::get_id() != main_thread_ || !initialised_) return;
  started& x = *started_;
  if (x.request == MPI_REQUEST_NULL) return;
  int done = 0;
  // Called inside OpenMP regions, where an exception may not escape: an error shows again at
  // the wait in finish_allgather().
  MPI_Test(&x.request, &done, MPI_STATUS_IGNORE);
}

std::vector<uint64_t> communicator::finish_allgather(std::vector<uint64_t>& counts) {
  if (!initialised_) return rank_exchange::finish_allgather(counts);
  const auto t0 = std::chrono::steady_clock::now();
  started& x = *started_;
  check(MPI_Wait(&x.request, MPI_STATUS_IGNORE), "MPI_Wait");
  const uint64_t cap = x.capacity;
  counts.assign(ranks_, 0);
  std::vector<uint64_t> rest_counts(ranks_, 0);
  uint64_t total = 0, largest = 0, rest_total = 0;
  for (int r = 0; r < ranks_; ++r) {
    counts[r] = x.received[r * cap];
    rest_counts[r] = counts[r] > cap - 1 ? counts[r] - (cap - 1) : 0;
    total += counts[r];
    rest_total += rest_counts[r];
    largest = std::max(largest, counts[r]);
  }
  std::vector<uint64_t> rest;
  if (rest_total > 0) {
    rest = allgatherv_known(x.rest, rest_counts, ranks_);
    ++stats_.overflows;
  }
  std::vector<uint64_t> all(total);
  uint64_t at = 0, rest_at = 0;
  for (int r = 0; r < ranks_; ++r) {
    const uint64_t fit = counts[r] - rest_counts[r];
    std::copy_n(x.received.begin() + r * cap + 1, fit, all.begin() + at);
    std::copy_n(rest.begin() + rest_at, rest_counts[r], all.begin() + at + fit);
    at += counts[r];
    rest_at += rest_counts[r];
  }
  if (!x.fixed) {
    uint64_t next = least_capacity;
    while (next < 2 * (largest + 1)) next *= 2;
    x.capacity = std::min<uint64_t>(next, static_cast<uint64_t>(INT_MAX) / ranks_);
  }
  const double took = x.seconds + seconds_since(t0);
  ++stats_.intervals;
  stats_.seconds += took;
  if (stats_.intervals == 1 || took < stats_.fastest_s) stats_.fastest_s = took;
  stats_.bytes_sent += (cap + x.rest.size()) * sizeof(uint64_t);
  stats_.bytes_received += (cap * ranks_ + rest_total) * sizeof(uint64_t);
  return all;
}

std::vector<unsigned char> communicator::gather(const std::vector<unsigned char>& local,
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

bool communicator::any(bool flag) {
  if (!initialised_) return flag;
  int in = flag ? 1 : 0, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out != 0;
}

void communicator::sum(std::vector<uint64_t>& v) {
  if (!initialised_ || v.empty()) return;
  check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_UINT64_T, MPI_SUM,
                      MPI_COMM_WORLD),
        "MPI_Allreduce");
}

double communicator::max(double x) {
  if (!initialised_) return x;
  double out = x;
  check(MPI_Allreduce(&x, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

double communicator::min(double x) {
  if (!initialised_) return x;
  double out = x;
  check(MPI_Allreduce(&x, &out, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

void communicator::broadcast(std::vector<uint64_t>& v) {
  if (!initialised_) return;
  uint64_t n = v.size();
  check(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  if (n > static_cast<uint64_t>(INT_MAX))
    throw error("broadcast of " + std::to_string(n) + " values exceeds MPI's int count",
                error_kind::internal);
  v.resize(n);
  if (n)
    check(MPI_Bcast(v.data(), static_cast<int>(n), MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
}

void communicator::sum_idle(std::vector<uint64_t>& v) {
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

void communicator::abort(const std::string& message, int code) {
  std::cerr << "spikesim: rank " << rank_ << ": " << message << std::endl;
  if (initialised_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace spikesim
