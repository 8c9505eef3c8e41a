// The collectives of rank_exchange between threads of one process, for tests of a network spread
// over ranks without MPI: R backends in R threads, each with its thread_exchange.
#pragma once

#include <condition_variable>
#include <mutex>
#include <type_traits>
#include <vector>

#include <spikesim/backend.hpp>

namespace spikesim::testing {

// Each call is two barriers (all parts in, all parts read).
class thread_group {
 public:
  explicit thread_group(int ranks) : ranks_(ranks), u64_(ranks), f32_(ranks), u8_(ranks) {}
  int ranks() const { return ranks_; }
  template <class V>
  std::vector<V> allgather(int rank, const std::vector<V>& local, std::vector<uint64_t>& counts) {
    auto& parts = slot<V>();
    parts[rank] = local;
    barrier();
    std::vector<V> all;
    counts.clear();
    for (const auto& p : parts) {
      all.insert(all.end(), p.begin(), p.end());
      counts.push_back(p.size());
    }
    barrier();
    return all;
  }
  // Like MPI_Gatherv to rank 0: the others receive nothing, but every rank learns the counts.
  std::vector<unsigned char> gather(int rank, const std::vector<unsigned char>& local,
                                    std::vector<uint64_t>& counts) {
    std::vector<unsigned char> all = allgather(rank, local, counts);
    if (rank != 0) all.clear();
    return all;
  }

 private:
  template <class V>
  std::vector<std::vector<V>>& slot() {
    if constexpr (std::is_same_v<V, float>)
      return f32_;
    else if constexpr (std::is_same_v<V, unsigned char>)
      return u8_;
    else
      return u64_;
  }
  void barrier() {
    std::unique_lock<std::mutex> lock(m_);
    const uint64_t gen = gen_;
    if (++arrived_ == ranks_) {
      arrived_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen_ != gen; });
    }
  }
  int ranks_;
  std::vector<std::vector<uint64_t>> u64_;
  std::vector<std::vector<float>> f32_;
  std::vector<std::vector<unsigned char>> u8_;
  std::mutex m_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t gen_ = 0;
};

class thread_exchange final : public rank_exchange {
 public:
  thread_exchange(thread_group& g, int rank) : g_(g), rank_(rank) {}
  int rank() const override { return rank_; }
  int ranks() const override { return g_.ranks(); }
  std::vector<uint64_t> allgather(const std::vector<uint64_t>& local,
                                  std::vector<uint64_t>& counts) override {
    return g_.allgather(rank_, local, counts);
  }
  std::vector<float> allgather(const std::vector<float>& local,
                               std::vector<uint64_t>& counts) override {
    return g_.allgather(rank_, local, counts);
  }
  std::vector<unsigned char> gather(const std::vector<unsigned char>& local,
                                    std::vector<uint64_t>& counts) override {
    return g_.gather(rank_, local, counts);
  }

 private:
  thread_group& g_;
  int rank_;
};

}  // namespace spikesim::testing
