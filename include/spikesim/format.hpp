// Numbers and byte counts as text, in each of the styles that spikesim's messages, tables and
// CSV files use (each style is kept as its output is relied on, byte for byte).
#pragma once

#include <cstdint>
#include <string>

namespace spikesim {

// What a number formatter writes for NaN (of either sign) and for +-infinity; null: what the
// conversion itself writes ("nan", "-nan", "inf", "-inf").
struct non_finite_text {
  const char* nan = nullptr;
  const char* inf = nullptr;
};

// `digits` significant digits, as an ostream writes with std::setprecision(digits) in its default
// notation: format_significant(0.1, 6) = "0.1", (1234567, 6) = "1.23457e+06".
std::string format_significant(double x, int digits, non_finite_text special = {});
// `decimals` digits after the point, as std::fixed writes them: format_fixed(2.5, 2) = "2.50".
std::string format_fixed(double x, int decimals, non_finite_text special = {});
// The shortest text that reads back as exactly x (std::to_chars): "0.1", "1e+21", "5".
std::string format_shortest(double x, non_finite_text special = {});

// A byte count in binary units: "512 B" below 1 KiB, else one decimal up to TiB ("1.5 KiB",
// "2.0 GiB", "3072.0 TiB"), as the host memory messages write it.
std::string format_bytes(double bytes);
// A byte count as the device memory messages write it: "N bytes" below 1 MiB, else "x.y MiB"
// below 1 GiB and "x.y GiB" from there on.
std::string format_bytes_mib_or_gib(uint64_t bytes);

}  // namespace spikesim
