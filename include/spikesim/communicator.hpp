// The ranks of a job, for every front-end: start and end, rank and size, the collectives of a
// network spread over ranks, and stopping every rank when one fails. No MPI type appears here:
// src/mpi/comm_mpi.cpp builds it on MPI, src/mpi/comm_serial.cpp (one rank, no MPI) when
// SPIKESIM_MPI=OFF or MPI is not found; in either a process not started by an MPI launcher is one
// rank and MPI is not touched, so a program or module without mpirun uses it as it is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spikesim/backend.hpp>

namespace spikesim {

bool mpi_built();  // true when MPI support is compiled in

// What the exchange between ranks cost so far, on this rank.
struct exchange_stats {
  uint64_t intervals = 0;       // spike exchanges (one per exchange interval)
  double seconds = 0.0;         // wall time inside the collectives (waiting for ranks included;
                                // for a started exchange, its start and its wait)
  double fastest_s = 0.0;       // the quickest spike exchange: the cost without waiting
  uint64_t bytes_sent = 0;      // by this rank (a started exchange: its capacity, padding included)
  uint64_t bytes_received = 0;  // by this rank: the data of all ranks, its own included
  uint64_t overflows = 0;       // started exchanges that needed a second collective
};

class communicator final : public rank_exchange {
 public:
  // Initialises MPI when the process was started by an MPI launcher (mpirun, mpiexec, srun with
  // PMI/PMIx); otherwise the process is one rank and MPI is not touched.
  communicator();
  ~communicator() override;  // finalises MPI if it was initialised
  communicator(const communicator&) = delete;
  communicator& operator=(const communicator&) = delete;

  int rank() const override { return rank_; }
  int ranks() const override { return ranks_; }
  int local_rank() const { return local_rank_; }    // rank among the ranks on this node
  int local_ranks() const { return local_ranks_; }  // ranks on this node
  std::vector<uint64_t> allgather(const std::vector<uint64_t>& local,
                                  std::vector<uint64_t>& counts) override;
  std::vector<float> allgather(const std::vector<float>& local,
                               std::vector<uint64_t>& counts) override;
  // MPI_Iallgather of a fixed capacity of words per rank: a rank's length, then as many of its
  // words as fit. Every rank reads every length, so the words that did not fit follow in one
  // MPI_Allgatherv without a size exchange (rare), and every rank sets the next capacity from the
  // same lengths: twice the longest, rounded up to a power of two, at least 64 words. The
  // environment variable SPIKESIM_EXCHANGE_WORDS fixes the capacity instead (a test knob: a
  // small value sends most words through the second collective).
  void start_allgather(const std::vector<uint64_t>& local) override;
  std::vector<uint64_t> finish_allgather(std::vector<uint64_t>& counts) override;
  // MPI_Test of the started allgather, on the thread that initialised MPI only (the MPI library
  // is initialised MPI_THREAD_FUNNELED).
  void progress() override;
  std::vector<unsigned char> gather(const std::vector<unsigned char>& local,
                                    std::vector<uint64_t>& counts) override;
  bool any(bool flag);                       // true on every rank when it is true on one
  void sum(std::vector<uint64_t>& v);        // element-wise sum over the ranks, on every rank
  double max(double x);                      // the largest value over the ranks, on every rank
  double min(double x);                      // the smallest value over the ranks, on every rank
  void broadcast(std::vector<uint64_t>& v);  // rank 0's v, of any length, on every rank
  // sum() for ranks that arrive at very different times (the end of a sweep, whose ranks run
  // different packs): a rank that waits for the others sleeps between tests instead of polling,
  // so that it holds no core that another rank of its node could use.
  void sum_idle(std::vector<uint64_t>& v);
  // Prints "spikesim: rank R: message" to stderr and ends every rank of the job with the exit
  // status `code` (the front-end's, for the error that ended this rank).
  [[noreturn]] void abort(const std::string& message, int code);
  const exchange_stats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }  // after setting up, so that stats() counts the run's

 private:
  struct started;  // the started allgather and the capacity of the next (comm_mpi.cpp)
  int rank_ = 0, ranks_ = 1, local_rank_ = 0, local_ranks_ = 1;
  bool initialised_ = false;
  std::thread::id main_thread_ = std::this_thread::get_id();
  std::unique_ptr<started> started_;
  exchange_stats stats_;
};

}  // namespace spikesim
