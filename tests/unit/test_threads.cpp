// The CPU backend's thread team, its tuner and the automatic thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <stdexcept>
#include <vector>

#include <spikesim/backend.hpp>

#include "cpu/connectivity.hpp"
#include "cpu/threads.hpp"

namespace spikesim {
namespace {

TEST(cpu_threads_for, one_thread_per_2048_neurons_within_the_maximum) {
  EXPECT_EQ(cpu_threads_for(300, 8), 1);  // a few hundred neurons: no second thread
  EXPECT_EQ(cpu_threads_for(4095, 8), 1);
  EXPECT_EQ(cpu_threads_for(4096, 8), 2);
  EXPECT_EQ(cpu_threads_for(12500, 8), 6);
  EXPECT_EQ(cpu_threads_for(1000000, 8), 8);
  EXPECT_EQ(cpu_threads_for(1000000, 0), 1);
  EXPECT_EQ(cpu_threads_for(0, 4), 1);
}

TEST(thread_team, every_thread_runs_and_barriers_order_the_phases) {
  thread_team team(3);
  for (int n : {1, 2, 3, 2}) {
    std::vector<int> slots(n, 0);
    std::atomic<int> errors{0};
    team.run(n, [&](int t, int nt) {
      EXPECT_EQ(nt, n);
      for (int phase = 1; phase <= 200; ++phase) {
        slots[t] = phase;
        team.barrier();
        for (int u = 0; u < nt; ++u)
          if (slots[u] != phase) ++errors;  // a thread left the barrier before another arrived
        team.barrier();
      }
    });
    EXPECT_EQ(errors.load(), 0) << n;
    for (int v : slots) EXPECT_EQ(v, 200);
  }
}

TEST(thread_team, rethrows_the_exception_of_the_lowest_thread) {
  thread_team team(3);
  try {
    team.run(3, [](int t, int) {
      if (t > 0) throw std::runtime_error("thread " + std::to_string(t));
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "thread 1");
  }
  int ran = 0;
  team.run(1, [&](int, int) { ++ran; });  // still usable
  EXPECT_EQ(ran, 1);
}

TEST(parallel_items, calls_every_item_once_on_any_thread_count) {
  thread_team team(3);
  for (int threads : {0, 1, 2, 3})
    for (uint64_t n : {0u, 1u, 2u, 3u, 7u, 1000u}) {
      std::vector<std::atomic<int>> calls(n);
      std::atomic<int> bad_thread{0};
      parallel_items(&team, threads, n, [&](uint64_t i, int t) {
        if (t < 0 || t >= std::max(threads, 1)) ++bad_thread;
        ++calls[i];
      });
      for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(calls[i].load(), 1) << threads << " " << i;
      EXPECT_EQ(bad_thread.load(), 0);
    }
  int ran = 0;
  parallel_items(nullptr, 4, 5, [&](uint64_t, int t) { ran += 1 + t; });  // no team: caller only
  EXPECT_EQ(ran, 5);
  EXPECT_THROW(parallel_items(&team, 3, 50,
                              [](uint64_t i, int) {
                                if (i == 17) throw std::runtime_error("item 17");
                              }),
               std::runtime_error);
}

// row_lower_bound must find what std::lower_bound finds for every value, in rows of any length,
// spread and duplication (the delivery relies on it for the slice of a row a rank owns).
TEST(row_lower_bound, equals_std_lower_bound) {
  std::mt19937_64 rng(7);
  for (uint32_t n : {1u, 2u, 5u, 100u, 12500u, 1u << 20}) {
    for (int trial = 0; trial < 40; ++trial) {
      const uint64_t len =
          std::uniform_int_distribution<uint64_t>(0, trial % 4 == 0 ? 3 : 600)(rng);
      // uniform targets, or bunched into a narrow window (far from the interpolated guess)
      const uint32_t lo = trial % 3 == 0 ? n / 2 : 0, hi = trial % 3 == 0 ? n / 2 + n / 50 : n - 1;
      std::uniform_int_distribution<uint32_t> pick(lo, std::max(lo, std::min(hi, n - 1)));
      std::vector<uint32_t> row(len + 8, 0xdeadbeefu);  // guard values around the row
      for (uint64_t k = 0; k < len; ++k) row[4 + k] = pick(rng);
      std::sort(row.begin() + 4, row.begin() + 4 + len);
      std::vector<uint64_t> values = {0, n, n / 2, 1, n - 1u};
      for (int k = 0; k < 30; ++k)
        values.push_back(std::uniform_int_distribution<uint64_t>(0, n)(rng));
      for (uint64_t k = 0; k < len; ++k) values.push_back(row[4 + k]);  // hit duplicates exactly
      for (uint64_t v : values) {
        const uint64_t want =
            std::lower_bound(row.begin() + 4, row.begin() + 4 + len, v) - row.begin();
        ASSERT_EQ(row_lower_bound(row.data(), 4, 4 + len, v, n), want)
            << "n " << n << " len " << len << " v " << v;
      }
    }
  }
}

// Feeds the tuner segments whose time per unit of work depends on the thread count only.
template <class Cost>
std::vector<int> tune(int max, int segments, Cost cost) {
  thread_tuner tuner(max);
  std::vector<int> used;
  for (int s = 0; s < segments; ++s) {
    const int t = tuner.threads();
    const double work = tuner.probing() ? 0.5 : 1.0;
    used.push_back(t);
    tuner.measured(cost(t) * work, work);
  }
  return used;
}

TEST(thread_tuner, keeps_the_threads_that_are_faster) {
  const auto used = tune(2, 200, [](int t) { return 1.0 / t; });
  int at_two = 0;
  for (int t : used) at_two += t == 2;
  EXPECT_EQ(used.front(), 2);
  EXPECT_GE(at_two, 190);  // probes of one thread are rare
}

TEST(thread_tuner, falls_back_to_one_thread_when_more_are_slower) {
  // Oversubscribed: two threads take three times as long.
  const auto used = tune(2, 200, [](int t) { return t == 1 ? 1.0 : 3.0; });
  int at_one = 0;
  for (int s = 6; s < 200; ++s) at_one += used[s] == 1;
  EXPECT_GE(at_one, 185);
}

TEST(thread_tuner, climbs_and_descends_the_ladder) {
  // Four threads are best of 1, 2, 4, 8.
  const auto used = tune(8, 300, [](int t) {
    return t == 1 ? 1.0 : t == 2 ? 0.6 : t == 4 ? 0.5 : 0.7;
  });
  int at_four = 0;
  for (size_t s = 100; s < used.size(); ++s) at_four += used[s] == 4;
  EXPECT_GE(at_four, 190);
  const auto one = tune(1, 10, [](int) { return 1.0; });
  for (int t : one) EXPECT_EQ(t, 1);
}

}  // namespace
}  // namespace spikesim
