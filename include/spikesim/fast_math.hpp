// Elementary functions that give the same bits on the CPU and the GPU, so that a
// simulation's random inputs and exact-integration factors do not depend on the backend.
//
// Everything here is built from +, -, *, fma, comparisons/selects and bit casts:
// no libm calls (whose results differ between glibc and CUDA's libdevice) and no tables
// (which block vectorisation). Every multiply-add whose rounding matters is written as an
// explicit fma, and every remaining product that feeds an addition is exact, so neither
// GCC's -ffp-contract nor nvcc's -fmad can change a result. Two consequences for builds:
// host code needs hardware FMA for speed (-march=x86-64-v3 or newer; without it std::fma
// is a correct but slow software routine that also stops vectorisation), and no -ffast-math
// (it may reassociate and drops NaN/Inf handling). The loops that call these functions
// vectorise under `#pragma omp simd` with -O3 -fopenmp-simd.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "spikesim/config.hpp"

namespace spikesim::math {
namespace detail {

SPIKESIM_HD SPIKESIM_INLINE std::uint32_t to_bits(float x) {
#if SPIKESIM_DEVICE_CODE
  return __float_as_uint(x);
#else
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#endif
}

SPIKESIM_HD SPIKESIM_INLINE std::uint64_t to_bits(double x) {
#if SPIKESIM_DEVICE_CODE
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#endif
}

SPIKESIM_HD SPIKESIM_INLINE float from_bits(std::uint32_t b) {
#if SPIKESIM_DEVICE_CODE
  return __uint_as_float(b);
#else
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
#endif
}

SPIKESIM_HD SPIKESIM_INLINE double from_bits(std::uint64_t b) {
#if SPIKESIM_DEVICE_CODE
  return __longlong_as_double(static_cast<long long>(b));
#else
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
#endif
}

// The device intrinsics are never split or fused by the compiler; on the host std::fma is a
// single vfmadd instruction when the target has FMA.
SPIKESIM_HD SPIKESIM_INLINE float fma(float a, float b, float c) {
#if SPIKESIM_DEVICE_CODE
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

SPIKESIM_HD SPIKESIM_INLINE double fma(double a, double b, double c) {
#if SPIKESIM_DEVICE_CODE
  return __fma_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

// c ? a : b as a bit blend. Written as ?: on floats, GCC may move the computation of the
// unused operand into a branch and then, under -ftrapping-math, refuse to vectorise the loop
// on targets without AVX-512 masking.
SPIKESIM_HD SPIKESIM_INLINE float select(bool c, float a, float b) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(c);
  return from_bits((to_bits(a) & mask) | (to_bits(b) & ~mask));
}

// A product the device never fuses with a later add, for results handed back to callers
// (compiled under --fmad=true, nvcc could otherwise fuse them with the caller's arithmetic).
// The host has no such intrinsic: host code that must match the device bit for bit is built
// with -ffp-contract=off.
SPIKESIM_HD SPIKESIM_INLINE float mul(float a, float b) {
#if SPIKESIM_DEVICE_CODE
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

// exp(x) = 2^k * exp(r) with k = round(x / ln 2) and |r| <= ln2 / 2 (Cody–Waite: ln2_hi has
// trailing zero bits, so k * ln2_hi and x - k * ln2_hi are exact). The polynomial is
// 1 + r + r^2 Q(r) with Q a minimax fit for relative error (float: 0.05 ulp, double:
// 0.03 ulp), so the final roundings dominate: at most 1.01 ulp for float over every input and
// 1.05 ulp for double over 10^8 random inputs.
// 2^k is applied as two halves built in the exponent field: each is a normal number for every
// clamped x, so overflow gives inf and underflow is gradual, without a branch.
SPIKESIM_HD SPIKESIM_INLINE float exp_impl(float x) {
  // Beyond these bounds exp(x) rounds to inf or 0; clamping keeps k small. NaN passes through.
  x = x < -104.0f ? -104.0f : x;
  x = x > 89.0f ? 89.0f : x;
  constexpr float round_magic = 0x1.8p23f;  // ulp 1: adding it rounds to an integer
  const float t = fma(x, 0x1.715476p+0f, round_magic);
  const float kf = t - round_magic;
  const std::int32_t k = static_cast<std::int32_t>(to_bits(t) - to_bits(round_magic));
  float r = fma(kf, -0x1.62e4p-1f, x);
  r = fma(kf, -0x1.7f7d1cp-20f, r);
  float q = 0x1.6a2434p-10f;
  q = fma(q, r, 0x1.1239e2p-7f);
  q = fma(q, r, 0x1.5558f2p-5f);
  q = fma(q, r, 0x1.555492p-3f);
  q = fma(q, r, 0x1.fffffcp-2f);
  const float p = 1.0f + fma(r * r, q, r);
  const std::int32_t k1 = k >> 1;
  const std::int32_t k2 = k - k1;
  const float s1 = from_bits(static_cast<std::uint32_t>(k1 + 127) << 23);
  const float s2 = from_bits(static_cast<std::uint32_t>(k2 + 127) << 23);
  return p * s1 * s2;
}

SPIKESIM_HD SPIKESIM_INLINE double exp_impl(double x) {
  x = x < -750.0 ? -750.0 : x;
  x = x > 710.0 ? 710.0 : x;
  constexpr double round_magic = 0x1.8p52;
  const double t = fma(x, 0x1.71547652b82fep+0, round_magic);
  const double kf = t - round_magic;
  const std::int64_t k = static_cast<std::int64_t>(to_bits(t) - to_bits(round_magic));
  double r = fma(kf, -0x1.62e42feep-1, x);
  r = fma(kf, -0x1.a39ef35793c76p-33, r);
  double q = 0x1.ad7f6f0799ee2p-26;
  q = fma(q, r, 0x1.28ad72cc30daap-22);
  q = fma(q, r, 0x1.71df2552390c2p-19);
  q = fma(q, r, 0x1.a0199a0c677acp-16);
  q = fma(q, r, 0x1.a01a012a57b51p-13);
  q = fma(q, r, 0x1.6c16c1842a11dp-10);
  q = fma(q, r, 0x1.1111111127be5p-7);
  q = fma(q, r, 0x1.555555555087cp-5);
  q = fma(q, r, 0x1.55555555554fap-3);
  q = fma(q, r, 0x1.000000000000ap-1);
  const double p = 1.0 + fma(r * r, q, r);
  const std::int64_t k1 = k >> 1;
  const std::int64_t k2 = k - k1;
  const double s1 = from_bits(static_cast<std::uint64_t>(k1 + 1023) << 52);
  const double s2 = from_bits(static_cast<std::uint64_t>(k2 + 1023) << 52);
  return p * s1 * s2;
}

}  // namespace detail

// e^x for float and double, within 2 ulp wherever the result is a normal number; inf above
// and gradual underflow to 0 below that range, NaN for NaN.
template <class T>
SPIKESIM_HD SPIKESIM_INLINE T exp(T x) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "spikesim::math::exp is defined for float and double");
  return detail::exp_impl(x);
}

// Natural log for u in (0, 1] (subnormals included), within 4 ulp and exactly 0 at u = 1; it
// feeds Box–Muller, whose uniforms never reach 0 (the result for u <= 0 is meaningless).
// u = 2^e * m with m in [sqrt(1/2), sqrt(2)), so f = m - 1 is exact and small, and
// log(u) = e ln2 + f + f^2 P(f) with P a minimax fit for relative error. Every u is scaled
// by 2^23 (exact, and normal even for subnormal u): scaling only the subnormal ones would put
// a multiply under a select, which GCC does not speculate under -ftrapping-math, leaving the
// loop scalar on targets without AVX-512 masking.
SPIKESIM_HD SPIKESIM_INLINE float log_unit(float u) {
  constexpr std::int32_t sqrt_half_bits = 0x3f3504f3;
  const std::int32_t ix = static_cast<std::int32_t>(detail::to_bits(u * 0x1p23f)) - sqrt_half_bits;
  const std::int32_t e = (ix >> 23) - 23;
  const float m = detail::from_bits(static_cast<std::uint32_t>((ix & 0x007fffff) + sqrt_half_bits));
  const float f = m - 1.0f;
  float p = -0x1.38301ep-4f;
  p = detail::fma(p, f, 0x1.084a98p-3f);
  p = detail::fma(p, f, -0x1.0f387ap-3f);
  p = detail::fma(p, f, 0x1.22715cp-3f);
  p = detail::fma(p, f, -0x1.542748p-3f);
  p = detail::fma(p, f, 0x1.99a3f4p-3f);
  p = detail::fma(p, f, -0x1.000428p-2f);
  p = detail::fma(p, f, 0x1.55555p-2f);
  p = detail::fma(p, f, -0x1.fffff8p-2f);
  const float log1p_f = detail::fma(f * f, p, f);
  const float ef = static_cast<float>(e);
  return detail::fma(ef, 0x1.62e43p-1f, detail::fma(ef, -0x1.05c61p-29f, log1p_f));
}

// s = sin(2 pi u), c = cos(2 pi u) for u in [0, 1) (any moderate u works: the reduction is
// periodic), absolute error below 2e-7. 4u = q + f with q an integer and |f| <= 1/2 (exact),
// so the angle is q * pi/2 + f * pi/2; the quadrant q only swaps and negates the two
// polynomials, which are minimax fits in f (absolute error 1.2e-9 and 5.4e-11).
SPIKESIM_HD SPIKESIM_INLINE void sincos_2pi(float u, float& s, float& c) {
  constexpr float round_magic = 0x1.8p23f;
  const float t = u * 4.0f;  // exact, so contracting it into the next add changes nothing
  const float qt = t + round_magic;
  const std::uint32_t q = detail::to_bits(qt) - detail::to_bits(round_magic);
  const float f = t - (qt - round_magic);
  const float y = f * f;
  float sp = -0x1.2cf53ap-8f;
  sp = detail::fma(sp, y, 0x1.465a3ap-4f);
  sp = detail::fma(sp, y, -0x1.4abba8p-1f);
  sp = detail::fma(sp, y, 0x1.921fb4p+0f);
  const float sin_f = f * sp;
  float cp = 0x1.d9f6ecp-11f;
  cp = detail::fma(cp, y, -0x1.55c662p-6f);
  cp = detail::fma(cp, y, 0x1.03c1dep-2f);
  cp = detail::fma(cp, y, -0x1.3bd3ccp+0f);
  const float cos_f = detail::fma(y, cp, 1.0f);
  const bool odd = (q & 1u) != 0;
  const std::uint32_t sin_sign = (q & 2u) << 30;
  const std::uint32_t cos_sign = ((q + 1u) & 2u) << 30;
  s = detail::from_bits(detail::to_bits(detail::select(odd, cos_f, sin_f)) ^ sin_sign);
  c = detail::from_bits(detail::to_bits(detail::select(odd, sin_f, cos_f)) ^ cos_sign);
}

}  // namespace spikesim::math
