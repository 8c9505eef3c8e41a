// The CPU build's batched draws of weights, delays and sources against the per-synapse functions
// that the CUDA kernels call (connectivity::draw_value, draw_index): the same bits.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <spikesim/connectivity.hpp>

#include "cpu/connectivity.hpp"
#include "test_support.hpp"

namespace spikesim {
namespace {

uint64_t bits_of(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

distribution normal(double mean, double sd, double lo, double hi) {
  distribution d;
  d.type = distribution::kind::normal;
  d.a = mean;
  d.b = sd;
  d.lo = lo;
  d.hi = hi;
  return d;
}

// Every value of draw_values against draw_value, for pieces that start at 0 and further on (a
// multiple of 4, up to the redraws' 2^42) and lengths with and without a partial group of four.
void expect_draw_values(const distribution& d) {
  constexpr uint64_t seed = 0x1234ABCD5678EF01ull;
  constexpr uint32_t stream = 3 * 8 + rng::weight;
  for (const uint64_t k0 : {uint64_t{0}, uint64_t{1024}, uint64_t{1} << 40}) {
    for (const uint64_t n :
         {uint64_t{0}, uint64_t{1}, uint64_t{5}, uint64_t{1023}, uint64_t{1024}}) {
      for (const uint64_t j : {uint64_t{0}, uint64_t{977}}) {
        std::vector<double> x(n + 1, -1.0);
        draw_values(d, seed, stream, j, k0, n, x.data());
        for (uint64_t k = 0; k < n; ++k)
          ASSERT_EQ(bits_of(x[k]), bits_of(connectivity::draw_value(d, seed, stream, j, k0 + k)))
              << "k0 " << k0 << " n " << n << " j " << j << " k " << k;
        EXPECT_EQ(x[n], -1.0) << "wrote past the piece";
      }
    }
  }
}

TEST(connectivity_draws, normal_with_tight_bounds_redraws_like_draw_value) {
  // 15 % of the mass within the bounds: most draws are redone, some many times.
  expect_draw_values(normal(1.5, 0.75, 1.2, 1.5));
}

TEST(connectivity_draws, normal_with_loose_bounds_equals_draw_value) {
  const double inf = std::numeric_limits<double>::infinity();
  expect_draw_values(normal(1.5, 0.75, 0.05, inf));     // the microcircuit's delays
  expect_draw_values(normal(-0.35, 0.035, -inf, inf));  // unbounded weights
}

TEST(connectivity_draws, normal_whose_redraws_all_fail_is_clamped_like_draw_value) {
  expect_draw_values(normal(0.0, 1.0, 7.0, 7.5));  // beyond the largest deviate, 6.764
}

TEST(connectivity_draws, uniform_and_constant_equal_draw_value) {
  distribution u;
  u.type = distribution::kind::uniform;
  u.a = -0.2;
  u.b = 0.7;
  expect_draw_values(u);
  distribution c;
  c.a = 0.25;
  expect_draw_values(c);
}

TEST(connectivity_draws, sources_with_multapses_equal_draw_index) {
  constexpr uint64_t seed = 99;
  for (const uint64_t pool : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{1000},
                              uint64_t{0xFFFFFFFFu}, uint64_t{1} << 33}) {
    for (const bool skip : {false, true}) {
      for (const uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{1001}}) {
        const uint64_t j = pool / 2;
        std::vector<uint32_t> out(n + 1, 7u);
        draw_sources(seed, 5, j, n, pool, skip, out.data());
        for (uint64_t k = 0; k < n; ++k)
          ASSERT_EQ(out[k], static_cast<uint32_t>(connectivity::pool_to_source(
                                connectivity::draw_index(seed, 5, j, k, pool), j, skip)))
              << "pool " << pool << " skip " << skip << " n " << n << " k " << k;
        EXPECT_EQ(out[n], 7u) << "wrote past the draws";
      }
    }
  }
}

// A projection built from the batched draws holds, row by row, synapse k of each target j with
// source draw_index(j, k), weight synapse_weight(j, k) and delay synapse_delay(j, k).
TEST(connectivity_draws, built_synapses_are_the_per_synapse_draws) {
  const auto spec = testing::spec_from(
      "[run]\ndt = 0.1\ntstop = 10.0\nrandom_seed = 3\n"
      "[population.a]\nsize = 300\nmodel = \"lif\"\n"
      "[population.b]\nsize = 200\nmodel = \"lif\"\n"
      "[projection.p]\nsource = \"a\"\ntarget = \"b\"\nrule = \"fixed_indegree\"\n"
      "indegree = 1030\nmultapses = true\n"
      "weight = { normal = [0.2, 0.1], min = 0.15, max = 0.3 }\n"
      "delay = { normal = [1.5, 0.75], min = 0.05 }\n");
  const projection_spec& q = spec.projections[0];
  for (const int threads : {1, 2}) {
    const csr_projection c = build_projection(spec, q, threads);
    std::vector<uint64_t> next(c.row.begin(), c.row.end() - 1);
    for (uint64_t j = 0; j < 200; ++j) {
      for (uint64_t k = 0; k < q.indegree; ++k) {
        const uint64_t s = connectivity::draw_index(q.seed, q.stream, j, k, 300);
        const uint64_t e = next[s]++;
        ASSERT_LT(e, c.row[s + 1]);
        ASSERT_EQ(c.targets[e], j);
        ASSERT_EQ(c.weights[e], synapse_weight(q, j, k)) << "j " << j << " k " << k;
        ASSERT_EQ(c.delays[e], synapse_delay(spec, q, j, k)) << "j " << j << " k " << k;
      }
    }
  }
}

}  // namespace
}  // namespace spikesim
