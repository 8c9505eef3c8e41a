// The number and byte formatters of include/spikesim/format.hpp.
#include <spikesim/format.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace spikesim {
namespace {

// The text `special` gives x when x has no digits, else null.
const char* special_text(double x, non_finite_text special) {
  if (std::isnan(x)) return special.nan;
  if (std::isinf(x)) return special.inf;
  return nullptr;
}

}  // namespace

std::string format_significant(double x, int digits, non_finite_text special) {
  if (const char* s = special_text(x, special)) return s;
  std::ostringstream o;
  o << std::setprecision(digits) << x;
  return o.str();
}

std::string format_fixed(double x, int decimals, non_finite_text special) {
  if (const char* s = special_text(x, special)) return s;
  std::ostringstream o;
  o << std::fixed << std::setprecision(decimals) << x;
  return o.str();
}

std::string format_shortest(double x, non_finite_text special) {
  if (const char* s = special_text(x, special)) return s;
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return format_fixed(bytes, u ? 1 : 0) + " " + units[u];
}

std::string format_bytes_mib_or_gib(uint64_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (b >= 0x1p30)
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / 0x1p30);
  else if (b >= 0x1p20)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 0x1p20);
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace spikesim
