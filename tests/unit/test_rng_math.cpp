// Accuracy of spikesim::math against long-double libm, bit-equality of spikesim::rng::philox
// with Random123, and the distribution of the normal and uniform deviates.
#include <gtest/gtest.h>

#include <Random123/philox.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "spikesim/fast_math.hpp"
#include "spikesim/rng.hpp"

namespace {

using namespace spikesim;

// Distance from ref in units of the ulp of T at ref (subnormal ulps below the normal range).
template <class T>
long double ulp_error(T y, long double ref) {
  int e = 0;
  std::frexp(ref, &e);
  const int digits = std::numeric_limits<T>::digits;
  const int min_e = std::numeric_limits<T>::min_exponent;
  const long double ulp = std::ldexp(1.0L, std::max(e, min_e) - digits);
  return std::fabs(static_cast<long double>(y) - ref) / ulp;
}

// Measured errors go into the XML report (--gtest_output=xml), so their margin is visible.
std::string sci(long double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3Lg", x);
  return text;
}

std::uint32_t bits_of(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

float float_from_bits(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

template <class T>
long double max_exp_ulp_error(T lo, T hi) {
  long double worst = 0;
  auto check = [&](T x) {
    const long double ref = std::exp(static_cast<long double>(x));
    if (ref < std::numeric_limits<T>::min() || ref > std::numeric_limits<T>::max()) return;
    worst = std::max(worst, ulp_error(math::exp(x), ref));
  };
  const int grid = 2'000'000;
  for (int i = 0; i <= grid; ++i) check(lo + (hi - lo) * static_cast<T>(i) / grid);
  std::mt19937_64 gen(12345);
  std::uniform_real_distribution<T> wide(lo, hi);
  std::uniform_real_distribution<T> log_magnitude(-40, 0);
  for (int i = 0; i < 1'000'000; ++i) check(wide(gen));
  // Small |x|, where exp(x) is close to 1 and the reduction does nothing.
  for (int i = 0; i < 200'000; ++i) {
    const T x = std::exp2(log_magnitude(gen));
    check(x);
    check(-x);
  }
  return worst;
}

TEST(FastMath, ExpFloatWithinTwoUlp) {
  const long double worst = max_exp_ulp_error<float>(-87.4f, 88.8f);
  RecordProperty("max_ulp", sci(worst));
  EXPECT_LE(worst, 2.0L);
}

TEST(FastMath, ExpDoubleWithinTwoUlp) {
  const long double worst = max_exp_ulp_error<double>(-708.5, 709.8);
  RecordProperty("max_ulp", sci(worst));
  EXPECT_LE(worst, 2.0L);
}

TEST(FastMath, ExpSpecialValues) {
  EXPECT_EQ(math::exp(0.0f), 1.0f);
  EXPECT_EQ(math::exp(0.0), 1.0);
  EXPECT_EQ(math::exp(100.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(math::exp(1e30f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(math::exp(1000.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(math::exp(-1e30f), 0.0f);
  EXPECT_EQ(math::exp(-1000.0), 0.0);
  EXPECT_TRUE(std::isnan(math::exp(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(math::exp(std::numeric_limits<double>::quiet_NaN())));
  // Gradual underflow: within one subnormal ulp of the true value.
  for (float x = -103.0f; x < -87.4f; x += 0.01f) {
    const long double ref = std::exp(static_cast<long double>(x));
    EXPECT_LE(std::fabs(math::exp(x) - ref), std::ldexp(1.0L, -149)) << x;
  }
  for (double x = -745.0; x < -708.5; x += 0.01) {
    const long double ref = std::exp(static_cast<long double>(x));
    EXPECT_LE(std::fabs(math::exp(x) - ref), std::ldexp(1.0L, -1074)) << x;
  }
}

TEST(FastMath, LogUnitWithinFourUlp) {
  long double worst_ulp = 0, worst_abs_near_one = 0;
  auto check = [&](float u) {
    const long double ref = std::log(static_cast<long double>(u));
    const float y = math::log_unit(u);
    if (ref != 0) worst_ulp = std::max(worst_ulp, ulp_error(y, ref));
    if (u >= 0.5f) worst_abs_near_one = std::max(worst_abs_near_one, std::fabs(y - ref));
  };
  // Every 61st float in (0, 1], subnormals included, then every float in [1 - 2^-10, 1].
  for (std::uint32_t b = 1; b <= bits_of(1.0f); b += 61) check(float_from_bits(b));
  for (std::uint32_t b = bits_of(1.0f - 0x1p-10f); b <= bits_of(1.0f); ++b)
    check(float_from_bits(b));
  std::mt19937 gen(777);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int i = 0; i < 1'000'000; ++i) {
    const float u = unit(gen);
    if (u > 0.0f) check(u);
  }
  RecordProperty("max_ulp", sci(worst_ulp));
  RecordProperty("max_abs_above_half", sci(worst_abs_near_one));
  EXPECT_EQ(math::log_unit(1.0f), 0.0f);
  EXPECT_LE(worst_ulp, 4.0L);
  EXPECT_LE(worst_abs_near_one, 2e-7L);
}

TEST(FastMath, SinCos2PiWithinTwoTenMillionths) {
  const long double two_pi = 6.283185307179586476925286766559005768L;
  long double worst_sin = 0, worst_cos = 0;
  auto check = [&](float u) {
    float s, c;
    math::sincos_2pi(u, s, c);
    const long double a = two_pi * u;
    worst_sin = std::max(worst_sin, std::fabs(s - std::sin(a)));
    worst_cos = std::max(worst_cos, std::fabs(c - std::cos(a)));
  };
  // The Box–Muller angles are multiples of 2^-24; take every 7th of them, then random floats.
  for (std::uint32_t k = 0; k < (1u << 24); k += 7) check(static_cast<float>(k) * 0x1p-24f);
  std::mt19937 gen(99);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int i = 0; i < 1'000'000; ++i) check(unit(gen));
  RecordProperty("max_abs_sin", sci(worst_sin));
  RecordProperty("max_abs_cos", sci(worst_cos));
  EXPECT_LE(worst_sin, 2e-7L);
  EXPECT_LE(worst_cos, 2e-7L);

  float s, c;
  math::sincos_2pi(0.0f, s, c);
  EXPECT_EQ(s, 0.0f);
  EXPECT_EQ(c, 1.0f);
  math::sincos_2pi(0.25f, s, c);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(c, 0.0f);
  math::sincos_2pi(0.5f, s, c);
  EXPECT_EQ(s, 0.0f);
  EXPECT_EQ(c, -1.0f);
}

// Known answers from Random123's kat_vectors, independent of the installed headers.
TEST(Philox, KnownAnswers) {
  const rng::u32x4 zero = rng::philox(0, 0, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  const rng::u32x4 ones = rng::philox(~0ull, 0xffffu, ~0ull, (1ull << 48) - 1);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
  const rng::u32x4 pi =
      rng::philox(0x299f31d0a4093822ull, 0x85a3, 0x0370734413198a2eull, 0x08d3243f6a88ull);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

// Every 128-bit counter is reachable through (stream, id, block), so random words test both the
// rounds and the documented layout.
TEST(Philox, BitEqualToRandom123) {
  std::mt19937_64 gen(2024);
  r123::Philox4x32 reference;
  for (int i = 0; i < 200'000; ++i) {
    const std::uint64_t seed = gen(), id = gen(), r = gen();
    const std::uint32_t stream = static_cast<std::uint32_t>(r >> 48);
    const std::uint64_t block = r & ((1ull << 48) - 1);
    const r123::Philox4x32::ctr_type ctr = {
        {static_cast<std::uint32_t>(block),
         static_cast<std::uint32_t>(block >> 32) | (stream << 16), static_cast<std::uint32_t>(id),
         static_cast<std::uint32_t>(id >> 32)}};
    const r123::Philox4x32::key_type key = {
        {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
    const r123::Philox4x32::ctr_type want = reference(ctr, key);
    const rng::u32x4 got = rng::philox(seed, stream, id, block);
    for (int j = 0; j < 4; ++j) ASSERT_EQ(got.v[j], want[j]) << "draw " << i << " word " << j;
  }
}

TEST(Rng, StreamIds) {
  static_assert(rng::stream_id(0, rng::noise) == 0);
  static_assert(rng::stream_id(1, rng::poisson) == 10);
  static_assert(rng::stream_id(8191, rng::weight) < (1u << 16));
  EXPECT_NE(rng::stream_id(2, rng::noise), rng::stream_id(1, rng::connectivity));
}

TEST(Rng, NormalIsAPureFunctionOfItsArguments) {
  std::mt19937_64 gen(5);
  for (int i = 0; i < 10'000; ++i) {
    const std::uint64_t seed = gen(), id = gen() >> 1, step = gen() >> 18;
    const std::uint32_t stream = static_cast<std::uint32_t>(gen() >> 48);
    const float z = rng::normal(seed, stream, id, step);
    EXPECT_EQ(bits_of(z), bits_of(rng::normal(seed, stream, id, step)));
    const rng::f32x4 block = rng::normal4(seed, stream, id, step >> 2);
    float out[4];
    rng::normal4(seed, stream, id, step >> 2, out);
    EXPECT_EQ(bits_of(z), bits_of(block.v[step & 3]));
    EXPECT_EQ(bits_of(z), bits_of(out[step & 3]));
  }
}

TEST(Rng, NormalChangesWithEveryArgument) {
  const std::uint64_t seed = 0x5eed5eed1234ull, id = 1'000'003, step = 4'000'001;
  const std::uint32_t stream = rng::stream_id(3, rng::noise);
  const float base = rng::normal(seed, stream, id, step);
  for (std::uint64_t bit = 0; bit < 64; ++bit) {
    const std::uint64_t flip = 1ull << bit;
    EXPECT_NE(rng::normal(seed ^ flip, stream, id, step), base) << "seed bit " << bit;
    EXPECT_NE(rng::normal(seed, stream, id ^ flip, step), base) << "id bit " << bit;
    if (bit < 50) {
      EXPECT_NE(rng::normal(seed, stream, id, step ^ flip), base) << "step bit " << bit;
    }
    if (bit < 16) {
      EXPECT_NE(rng::normal(seed, stream ^ static_cast<std::uint32_t>(flip), id, step), base)
          << "stream bit " << bit;
    }
  }
  const rng::f32x4 four = rng::normal4(seed, stream, id, step >> 2);
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b) EXPECT_NE(four.v[a], four.v[b]);
  }
}

// Sample moments and the Kolmogorov–Smirnov distance of n normals against N(0, 1). Bounds are
// 5 standard errors of each statistic under the null hypothesis (n = 10^6, so a correct
// generator fails a given bound with probability below 10^-6):
//   mean:            SE = 1 / sqrt(n)
//   variance:        SE = sqrt(2 / (n - 1))
//   skewness:        SE = sqrt(6 (n - 2) / ((n + 1)(n + 3)))          ~ sqrt(6 / n)
//   excess kurtosis: SE = sqrt(24 n (n - 1)^2 / ((n - 3)(n - 2)(n + 3)(n + 5))) ~ sqrt(24 / n)
//   fraction beyond k sigma, p = 2 Phi(-k): SE = sqrt(p (1 - p) / n)
//   lag-1 correlation: SE = 1 / sqrt(n)
// KS at level 0.001: reject when sqrt(n) D > 1.9495, the 0.999 quantile of Kolmogorov's law.
void expect_standard_normal(std::vector<double> z) {
  const double n = static_cast<double>(z.size());
  double mean = 0;
  for (double x : z) mean += x;
  mean /= n;
  double m2 = 0, m3 = 0, m4 = 0, lag1 = 0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double d = z[i] - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
    if (i > 0) lag1 += d * (z[i - 1] - mean);
  }
  const double variance = m2 / (n - 1);
  const double skewness = (m3 / n) / std::pow(m2 / n, 1.5);
  const double excess_kurtosis = (m4 / n) / ((m2 / n) * (m2 / n)) - 3;
  const double correlation = lag1 / m2;
  EXPECT_LE(std::fabs(mean), 5 / std::sqrt(n));
  EXPECT_LE(std::fabs(variance - 1), 5 * std::sqrt(2 / (n - 1)));
  EXPECT_LE(std::fabs(skewness), 5 * std::sqrt(6 * (n - 2) / ((n + 1) * (n + 3))));
  EXPECT_LE(std::fabs(excess_kurtosis),
            5 * std::sqrt(24 * n * (n - 1) * (n - 1) / ((n - 3) * (n - 2) * (n + 3) * (n + 5))));
  EXPECT_LE(std::fabs(correlation), 5 / std::sqrt(n));

  auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  for (double k : {2.0, 3.0, 4.0}) {
    const double p = 2 * phi(-k);
    const double frac = static_cast<double>(std::count_if(
                            z.begin(), z.end(), [k](double x) { return std::fabs(x) > k; })) /
                        n;
    EXPECT_LE(std::fabs(frac - p), 5 * std::sqrt(p * (1 - p) / n)) << "beyond " << k << " sigma";
  }

  std::sort(z.begin(), z.end());
  EXPECT_GE(z.front(), -6.77);
  EXPECT_LE(z.back(), 6.77);
  double d_max = 0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double f = phi(z[i]);
    d_max = std::max({d_max, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  EXPECT_LE(std::sqrt(n) * d_max, 1.9495) << "KS distance " << d_max;
}

TEST(Rng, NormalsOverStepsAreStandardNormal) {
  std::vector<double> z;
  for (std::uint64_t step = 0; step < 1'000'000; ++step) {
    z.push_back(rng::normal(42, rng::stream_id(0, rng::noise), 17, step));
  }
  expect_standard_normal(std::move(z));
}

TEST(Rng, NormalsOverIdsAreStandardNormal) {
  std::vector<double> z;
  for (std::uint64_t id = 0; id < 1'000'000; ++id) {
    z.push_back(rng::normal(7, rng::stream_id(5, rng::init), id, 123'456'789));
  }
  expect_standard_normal(std::move(z));
}

TEST(Rng, UniformDoubleEdges) {
  EXPECT_EQ(rng::uniform_double(0, 0), 0.0);
  EXPECT_EQ(rng::uniform_double(0, 1u << 11), 0x1p-53);
  EXPECT_EQ(rng::uniform_double(0x80000000u, 0), 0.5);
  EXPECT_EQ(rng::uniform_double(~0u, ~0u), 1.0 - 0x1p-53);
}

// Mean and variance of 10^6 uniforms within 5 standard errors:
//   mean: SE = sqrt(1 / (12 n)); variance: SE = sqrt((mu4 - sigma^4) / n) = sqrt(1 / (180 n)),
// with mu4 = 1/80 and sigma^4 = 1/144 for U(0, 1).
TEST(Rng, UniformIsUniformOnUnitInterval) {
  const int n = 1'000'000;
  const std::uint32_t stream = rng::stream_id(2, rng::connectivity);
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng::uniform(99, stream, static_cast<std::uint64_t>(i) % 1000,
                                  static_cast<std::uint64_t>(i) / 1000);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
  }
  const double mean = sum / n;
  const double variance = (sum_sq - n * mean * mean) / (n - 1);
  EXPECT_LE(std::fabs(mean - 0.5), 5 * std::sqrt(1.0 / (12.0 * n)));
  EXPECT_LE(std::fabs(variance - 1.0 / 12), 5 * std::sqrt(1.0 / (180.0 * n)));

  const rng::u32x4 w = rng::philox(99, stream, 3, 4);
  EXPECT_EQ(rng::uniform(99, stream, 3, 4), rng::uniform_double(w.v[0], w.v[1]));
  EXPECT_EQ(rng::uniform(99, stream, 3, 4), rng::uniform(99, stream, 3, 4));
  EXPECT_NE(rng::uniform(99, stream, 3, 4), rng::uniform(99, stream, 3, 5));
}

}  // namespace
