// Counter-based random numbers: every value is a pure function of (seed, stream, id, step), so
// results do not depend on threads, launch shape, backend or rank count, and resume exactly.
//
// The generator is Philox4x32-10, bit-identical to Random123's r123::Philox4x32 (checked in
// tests/unit/test_rng_math.cpp). It is written out here rather than called from Random123
// because GCC 12 does not vectorise a loop over neurons that calls r123::Philox4x32 (it cannot
// map Random123's key and counter array classes onto vector lanes, and runs 4x slower), while
// plain 32-bit words and a 64-bit product vectorise with AVX2/AVX-512 and become __umulhi on
// the device.
//
// Philox layout (one call gives four 32-bit words):
//   key     = { seed bits 0-31, seed bits 32-63 }
//   counter = { block bits 0-31, block bits 32-47 | stream << 16, id bits 0-31, id bits 32-63 }
// with block < 2^48 and stream < 2^16 (larger values would alias another stream).
//
// Normal deviates are computed in float for both precisions of the simulation, from four words
// per Philox call: two Box–Muller pairs. Words x0 and x2 give radii from
// u = ((float)x + 0.5f) * 2^-32, which lies in (0, 1] and never reaches 0, so |z| <= 6.764
// (at u = 2^-33; a true normal goes beyond with probability 1.3e-11, and the next radius
// down is 6.60); words x1 and x3 give angles 2 pi (x >> 8) 2^-24. log, sin and cos come from
// spikesim/fast_math.hpp and sqrt is IEEE (correctly rounded on both sides), so the CPU and
// GPU produce the same bits. This needs the CUDA code built without --use_fast_math or
// -prec-sqrt=false (either replaces sqrtf with an approximation), and host code built with
// -fno-math-errno, without which GCC keeps sqrt scalar and the loop does not vectorise.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "spikesim/config.hpp"
#include "spikesim/fast_math.hpp"

namespace spikesim::rng {

struct u32x4 {
  std::uint32_t v[4];
};

struct f32x4 {
  float v[4];
};

// Streams keep the draws for different purposes of one population independent.
enum stream_purpose : std::uint32_t {
  noise = 0,
  init = 1,
  poisson = 2,
  connectivity = 3,
  delay = 4,
  weight = 5,
  synapse_count = 6  // fixed_total_number: the split of the synapses over the targets
};

// Eight purposes per population and 16 stream bits: population must be < 8192.
SPIKESIM_HD constexpr std::uint32_t stream_id(std::uint32_t population, stream_purpose p) {
  return population * 8 + p;
}

// The Philox key of a population's or projection's draws: the run's seed mixed with its kind
// ("population" or "projection") and name, so that each keeps its numbers when others are
// added, removed or renamed. FNV-1a (64 bit) of "kind/name", then SplitMix64's finaliser
// around the xor with the seed: for one name, distinct seeds give distinct keys.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
inline std::uint64_t named_key(std::uint64_t seed, const char* kind, const std::string& name) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  auto add = [&](unsigned char c) { h = (h ^ c) * 0x100000001B3ull; };
  for (const char* c = kind; *c; ++c) add(static_cast<unsigned char>(*c));
  add('/');
  for (const char c : name) add(static_cast<unsigned char>(c));
  return splitmix64(splitmix64(h) ^ seed);
}

namespace detail {

SPIKESIM_HD SPIKESIM_INLINE std::uint32_t mulhilo(std::uint32_t a, std::uint32_t b,
                                                  std::uint32_t& hi) {
#if SPIKESIM_DEVICE_CODE
  hi = __umulhi(a, b);
  return a * b;
#else
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
#endif
}

SPIKESIM_HD SPIKESIM_INLINE void philox_round(std::uint32_t (&c)[4], std::uint32_t k0,
                                              std::uint32_t k1) {
  std::uint32_t hi0, hi1;
  const std::uint32_t lo0 = mulhilo(0xD2511F53u, c[0], hi0);
  const std::uint32_t lo1 = mulhilo(0xCD9E8D57u, c[2], hi1);
  const std::uint32_t c1 = c[1], c3 = c[3];
  c[0] = hi1 ^ c1 ^ k0;
  c[1] = lo1;
  c[2] = hi0 ^ c3 ^ k1;
  c[3] = lo0;
}

// Uniform in (0, 1]: the half offset keeps 0 out, and float rounding of large x gives 1.
SPIKESIM_HD SPIKESIM_INLINE float radius_uniform(std::uint32_t x) {
  return (static_cast<float>(x) + 0.5f) * 0x1p-32f;
}

// Uniform on the 2^24 multiples of 2^-24 in [0, 1), all exactly representable.
SPIKESIM_HD SPIKESIM_INLINE float angle_uniform(std::uint32_t x) {
  return static_cast<float>(x >> 8) * 0x1p-24f;
}

struct normal_pair {
  float z0, z1;
};

SPIKESIM_HD SPIKESIM_INLINE normal_pair box_muller(std::uint32_t xr, std::uint32_t xa) {
  const float r = std::sqrt(-2.0f * math::log_unit(radius_uniform(xr)));
  float s, c;
  math::sincos_2pi(angle_uniform(xa), s, c);
  return {math::detail::mul(r, c), math::detail::mul(r, s)};
}

}  // namespace detail

// Philox4x32-10 with the key and counter laid out as described at the top of this file.
SPIKESIM_HD SPIKESIM_INLINE u32x4 philox(std::uint64_t seed, std::uint32_t stream, std::uint64_t id,
                                         std::uint64_t block) {
  std::uint32_t c[4] = {static_cast<std::uint32_t>(block),
                        static_cast<std::uint32_t>(block >> 32) | (stream << 16),
                        static_cast<std::uint32_t>(id), static_cast<std::uint32_t>(id >> 32)};
  std::uint32_t k0 = static_cast<std::uint32_t>(seed);
  std::uint32_t k1 = static_cast<std::uint32_t>(seed >> 32);
  detail::philox_round(c, k0, k1);
  for (int round = 1; round < 10; ++round) {
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
    detail::philox_round(c, k0, k1);
  }
  return {{c[0], c[1], c[2], c[3]}};
}

// Standard normals for steps 4 block ... 4 block + 3 of one (seed, stream, id). Returned by
// value because GCC does not vectorise a `#pragma omp simd` loop whose body declares an array
// and passes it to a function to fill (the array becomes per-lane memory); the out[4] form
// below suits writing straight into a buffer.
SPIKESIM_HD SPIKESIM_INLINE f32x4 normal4(std::uint64_t seed, std::uint32_t stream,
                                          std::uint64_t id, std::uint64_t block) {
  const u32x4 w = philox(seed, stream, id, block);
  const detail::normal_pair a = detail::box_muller(w.v[0], w.v[1]);
  const detail::normal_pair b = detail::box_muller(w.v[2], w.v[3]);
  return {{a.z0, a.z1, b.z0, b.z1}};
}

SPIKESIM_HD SPIKESIM_INLINE void normal4(std::uint64_t seed, std::uint32_t stream, std::uint64_t id,
                                         std::uint64_t block, float out[4]) {
  const f32x4 z = normal4(seed, stream, id, block);
  for (int j = 0; j < 4; ++j) out[j] = z.v[j];
}

// One standard normal, equal to normal4(seed, stream, id, step >> 2).v[step & 3]. Only the
// Box–Muller pair that holds it is computed; consecutive steps are cheaper with normal4.
SPIKESIM_HD SPIKESIM_INLINE float normal(std::uint64_t seed, std::uint32_t stream, std::uint64_t id,
                                         std::uint64_t step) {
  const u32x4 w = philox(seed, stream, id, step >> 2);
  const bool second_pair = (step & 2) != 0;
  const detail::normal_pair p =
      detail::box_muller(second_pair ? w.v[2] : w.v[0], second_pair ? w.v[3] : w.v[1]);
  return math::detail::select((step & 1) != 0, p.z1, p.z0);
}

// Uniform in [0, 1) on the 2^53 multiples of 2^-53, from the top 53 bits of hi:lo.
SPIKESIM_HD SPIKESIM_INLINE double uniform_double(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits53 = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  // A signed conversion (exact below 2^53) vectorises on more targets than an unsigned one.
  return static_cast<double>(static_cast<std::int64_t>(bits53)) * 0x1p-53;
}

// One uniform in [0, 1) from words 0 and 1 of philox(seed, stream, id, index).
SPIKESIM_HD SPIKESIM_INLINE double uniform(std::uint64_t seed, std::uint32_t stream,
                                           std::uint64_t id, std::uint64_t index) {
  const u32x4 w = philox(seed, stream, id, index);
  return uniform_double(w.v[0], w.v[1]);
}

// Half `half` (0 or 1) of a Philox block as 64 bits: draw 2 b + half of bits64 for block b.
SPIKESIM_HD SPIKESIM_INLINE std::uint64_t bits64_half(const u32x4& w, unsigned half) {
  const unsigned h = half * 2;
  return (static_cast<std::uint64_t>(w.v[h]) << 32) | w.v[h + 1];
}

// 64 random bits, draw k of (seed, stream, id): half of philox(seed, stream, id, k / 2).
SPIKESIM_HD SPIKESIM_INLINE std::uint64_t bits64(std::uint64_t seed, std::uint32_t stream,
                                                 std::uint64_t id, std::uint64_t k) {
  return bits64_half(philox(seed, stream, id, k >> 1), static_cast<unsigned>(k & 1));
}

// An integer uniform in [0, n) from 64 random bits: the high word of x n (Lemire). Its bias is
// below n / 2^64 (< 2.4e-10 for n <= 2^32): no rejection loop, so every draw costs the same.
SPIKESIM_HD inline std::uint64_t bounded(std::uint64_t x, std::uint64_t n) {
#if SPIKESIM_DEVICE_CODE
  return __umul64hi(x, n);
#else
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
#endif
}

// Means above this are sampled by the normal approximation in poisson_count() (docs/models.md).
constexpr double poisson_inversion_max = 64.0;

// A Poisson deviate of mean lambda (exp_neg_lambda = e^-lambda, computed once on the host) from
// one Philox call, philox(seed, stream, id, step). lambda <= poisson_inversion_max: exact
// inversion of the CDF with a 53-bit uniform (sequential search from 0, ~lambda + 1 iterations).
// Above: max(0, round(lambda + sqrt(lambda) z)) with z a Box-Muller normal, whose first three
// moments are those of the Poisson law up to O(1/sqrt(lambda)) in the skewness.
SPIKESIM_HD inline std::uint32_t poisson_count(std::uint64_t seed, std::uint32_t stream,
                                               std::uint64_t id, std::uint64_t step, double lambda,
                                               double exp_neg_lambda) {
  const u32x4 w = philox(seed, stream, id, step);
  if (lambda > poisson_inversion_max) {
    const float z = detail::box_muller(w.v[2], w.v[3]).z0;
    const double k = std::floor(lambda + std::sqrt(lambda) * static_cast<double>(z) + 0.5);
    return k > 0.0 ? static_cast<std::uint32_t>(k) : 0u;
  }
  const double u = uniform_double(w.v[0], w.v[1]);
  std::uint32_t k = 0;
  double p = exp_neg_lambda, cdf = p;
  // Where the next term no longer changes the CDF in double precision, the tail beyond it
  // (< 2^-52) is folded into k, exactly as poisson_cdf() ends its table with 1.
  while (u >= cdf && k < 1000) {
    const double q = p * lambda / static_cast<double>(k + 1);
    if (cdf + q == cdf) break;
    ++k;
    p = q;
    cdf += q;
  }
  return k;
}

// The CDF values that poisson_count()'s inversion visits for a mean lambda <=
// poisson_inversion_max, computed with the same operations in the same order: cdf[m] = P(k <= m),
// up to the first value
// >= 1 or the point where the terms underflow (at most 1000 entries). With them,
// poisson_from_cdf() finds the same k by counting the entries <= u, a loop of fixed length that
// vectorises across neurons where the search does not.
inline int poisson_cdf(double lambda, double exp_neg_lambda, double* cdf, int capacity) {
  double p = exp_neg_lambda, c = p;
  int m = 0;
  cdf[m++] = c;
  for (std::uint32_t k = 1; k <= 1000 && m < capacity; ++k) {
    const double q = p * lambda / static_cast<double>(k);
    if (c + q == c) break;
    p = q;
    c += q;
    cdf[m++] = c;
  }
  // The tail that double precision cannot add (< 2^-52) belongs to the last count: every u in
  // [0, 1) then finds its entry, as poisson_count() does.
  cdf[m - 1] = 1.0;
  return m;
}

// poisson_count()'s result for the uniform u of its Philox call (words 0 and 1), from the table
// of poisson_cdf() with n entries; `stalled`: the table ended below 1 (then the search would run
// to its cap of 1000, and so does this).
SPIKESIM_HD inline std::uint32_t poisson_from_cdf(double u, const double* cdf, int n,
                                                  bool stalled) {
  std::uint32_t k = 0;
  for (int m = 0; m < n; ++m) k += cdf[m] <= u ? 1u : 0u;
  return stalled && k == static_cast<std::uint32_t>(n) ? 1000u : k;
}

}  // namespace spikesim::rng
