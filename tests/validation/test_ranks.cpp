// A network spread over ranks, without MPI: R CPU backends in R threads, joined by an in-process
// rank_exchange, must give the spikes, counts and traces of one backend for the whole network;
// the partition and the sliced builds (population state, connectivity) are checked on their own.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cpu/connectivity.hpp"
#include "population_state.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

// The collectives of rank_exchange between threads: each call is two barriers (all parts in,
// all parts read).
class thread_group {
 public:
  explicit thread_group(int ranks) : ranks_(ranks), u64_(ranks), f32_(ranks) {}
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

 private:
  template <class V>
  std::vector<std::vector<V>>& slot() {
    if constexpr (std::is_same_v<V, float>)
      return f32_;
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

 private:
  thread_group& g_;
  int rank_;
};

// Every rank's recorder; all of them must hold the whole network's output.
std::vector<memory_recorder> run_on_ranks(const experiment_spec& spec, int ranks) {
  thread_group group(ranks);
  std::vector<memory_recorder> recs(ranks);
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      try {
        thread_exchange x(group, r);
        auto b = make_cpu_backend(spec, 1, &x);
        simulate(spec, *b, recs[r]);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  return recs;
}

void expect_same_output(const memory_recorder& a, const memory_recorder& b, const char* what) {
  ASSERT_EQ(a.populations.size(), b.populations.size());
  for (size_t p = 0; p < a.populations.size(); ++p) {
    const auto& x = a.populations[p];
    const auto& y = b.populations[p];
    EXPECT_EQ(x.spike_steps, y.spike_steps) << what << ", population " << p;
    EXPECT_EQ(x.spike_ids, y.spike_ids) << what << ", population " << p;
    EXPECT_EQ(x.counts, y.counts) << what << ", population " << p;
    EXPECT_EQ(x.total_spikes, y.total_spikes) << what << ", population " << p;
    EXPECT_EQ(x.trace_rows, y.trace_rows) << what << ", population " << p;
    ASSERT_EQ(x.traces.size(), y.traces.size()) << what << ", population " << p;
    EXPECT_EQ(0, std::memcmp(x.traces.data(), y.traces.data(), x.traces.size() * sizeof(float)))
        << what << ", population " << p;
  }
}

const char* small_brunel = R"(
[run]
dt = 0.1
tstop = 150.0
random_seed = 3
[population.exc]
size = 400
model = "lif"
params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
init = { V = { uniform = [0.0, 20.0] } }
input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }
record = { traces = [0, 133, 134, 399] }
[population.inh]
size = 101
model = "lif"
params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
init = { V = { uniform = [0.0, 20.0] } }
input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }
[projection.ee]
source = "exc"
target = "exc"
rule = "fixed_indegree"
indegree = 40
weight = 0.1
delay = { uniform = [1.0, 2.0] }
autapses = false
multapses = false
[projection.ei]
source = "exc"
target = "inh"
rule = "fixed_probability"
p = 0.1
weight = { normal = [0.1, 0.02] }
delay = 1.5
[projection.ie]
source = "inh"
target = "exc"
rule = "fixed_indegree"
indegree = 10
weight = -0.5
delay = 1.5
synapse = "exp"
tau_syn = 2.0
[projection.ii]
source = "inh"
target = "inh"
rule = "all_to_all"
weight = -0.05
delay = 1.5
)";

TEST(ranks, partition_is_contiguous_balanced_and_complete) {
  const auto spec = spec_from(small_brunel);
  for (int ranks : {1, 2, 3, 4, 7, 600}) {
    uint64_t global = 0, smallest = ~uint64_t{0}, largest = 0;
    std::vector<uint64_t> next(spec.populations.size(), 0);
    for (int r = 0; r < ranks; ++r) {
      const auto s = partition_neurons(spec, r, ranks);
      ASSERT_EQ(s.size(), spec.populations.size());
      uint64_t mine = 0;
      for (size_t p = 0; p < s.size(); ++p) {
        if (s[p].size() == 0) continue;
        EXPECT_EQ(s[p].lo, next[p]) << ranks << " ranks, rank " << r;
        next[p] = s[p].hi;
        mine += s[p].size();
      }
      global += mine;
      smallest = std::min(smallest, mine);
      largest = std::max(largest, mine);
    }
    EXPECT_EQ(global, spec.total_neurons());
    for (size_t p = 0; p < next.size(); ++p) EXPECT_EQ(next[p], spec.populations[p].size);
    EXPECT_LE(largest - smallest, 1u) << ranks << " ranks";
  }
}

TEST(ranks, sliced_builds_are_slices_of_the_whole) {
  const auto spec = spec_from(small_brunel);
  for (const auto& q : spec.projections) {
    const csr_projection whole = build_projection(spec, q, 2);
    const neuron_slice sl{37, 250};
    const csr_projection part = build_projection(spec, q, 2, sl);
    ASSERT_EQ(part.row.size(), whole.row.size()) << q.name;
    for (uint64_t s = 0; s + 1 < whole.row.size(); ++s) {
      std::vector<uint64_t> expected, got;
      std::vector<int64_t> w_expected, w_got;
      for (uint64_t k = whole.row[s]; k < whole.row[s + 1]; ++k)
        if (whole.targets[k] >= sl.lo && whole.targets[k] < sl.hi) {
          expected.push_back(whole.targets[k] - sl.lo);
          w_expected.push_back(whole.weights.empty() ? whole.weight : whole.weights[k]);
          w_expected.push_back(whole.delays.empty() ? whole.delay : whole.delays[k]);
        }
      for (uint64_t k = part.row[s]; k < part.row[s + 1]; ++k) {
        got.push_back(part.targets[k]);
        w_got.push_back(part.weights.empty() ? part.weight : part.weights[k]);
        w_got.push_back(part.delays.empty() ? part.delay : part.delays[k]);
      }
      ASSERT_EQ(got, expected) << q.name << ", source " << s;
      ASSERT_EQ(w_got, w_expected) << q.name << ", source " << s;
    }
  }
  const auto& p = spec.populations[0];
  const auto whole = make_population_state<double>(spec, p);
  const auto part = make_population_state<double>(spec, p, {100, 300});
  ASSERT_EQ(part.u.size(), 200u);
  EXPECT_EQ(part.id_offset, 100u);
  for (uint64_t i = 0; i < 200; ++i) EXPECT_EQ(part.u[i], whole.u[100 + i]) << i;
}

TEST(ranks, network_over_ranks_gives_the_spikes_of_one_process) {
  const auto spec = spec_from(small_brunel);
  const auto one = run_on("cpu", spec, 1);
  ASSERT_GT(one.rec.populations[0].total_spikes, 100u);
  for (int ranks : {2, 3, 5}) {
    const auto recs = run_on_ranks(spec, ranks);
    for (int r = 0; r < ranks; ++r)
      expect_same_output(one.rec, recs[r],
                         (std::to_string(ranks) + " ranks, rank " + std::to_string(r)).c_str());
  }
}

TEST(ranks, populations_over_ranks_give_the_output_of_one_process) {
  // EIF with OU noise, a ramped current and a ramped pulse; an HH population, which one of the
  // three ranks holds alone; traces on both sides of the slice boundaries.
  const auto spec = spec_from(R"(
[run]
dt = 0.05
tstop = 100.0
random_seed = 11
[population.eif]
size = 1000
model = "eif"
params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -50.0, V_peak = -30.0, V_reset = -70.0, t_ref = 1.0 }
init = { V = { uniform = [-70.0, -55.0] } }
input = { I = { from = 2.0, to = 8.0 }, sigma = 2.0, tau_noise = 5.0, pulses = [ { start = 20.0, stop = 40.0, amplitude = { from = 0.0, to = 1.0 } } ] }
record = { traces = [0, 369, 370, 739, 740, 999], trace_every = 3 }
[population.hh]
size = 110
model = "hh"
input = { I = { from = 5.0, to = 15.0 }, sigma = 1.0 }
record = { traces = [5, 109] }
)");
  const auto one = run_on("cpu", spec, 1);
  for (int ranks : {3, 4}) {
    const auto recs = run_on_ranks(spec, ranks);
    for (int r = 0; r < ranks; ++r)
      expect_same_output(one.rec, recs[r],
                         (std::to_string(ranks) + " ranks, rank " + std::to_string(r)).c_str());
  }
}

}  // namespace
}  // namespace spikesim::testing
