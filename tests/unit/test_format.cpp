// The number and byte formatters (include/spikesim/format.hpp): each style as the messages,
// tables and CSV files print it, NaN and infinities included.
#include <spikesim/format.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace spikesim {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

TEST(format, significant_digits_as_an_ostream_writes_them) {
  EXPECT_EQ(format_significant(0.1, 6), "0.1");
  EXPECT_EQ(format_significant(1234567.0, 6), "1.23457e+06");
  EXPECT_EQ(format_significant(1234567.0, 10), "1234567");
  EXPECT_EQ(format_significant(2.0 / 3.0, 4), "0.6667");
  EXPECT_EQ(format_significant(-0.00001, 6), "-1e-05");
  EXPECT_EQ(format_significant(nan, 6), "nan");
  EXPECT_EQ(format_significant(-inf, 6), "-inf");
}

TEST(format, fixed_decimals) {
  EXPECT_EQ(format_fixed(2.5, 2), "2.50");
  EXPECT_EQ(format_fixed(2.0 / 3.0, 3), "0.667");
  EXPECT_EQ(format_fixed(12.5, 0), "12");  // round half to even, as printf does
  EXPECT_EQ(format_fixed(1e6, 1), "1000000.0");
}

TEST(format, shortest_text_reads_back_exactly) {
  for (double x : {0.1, 1.0 / 3.0, 5.0, 1e21, 6.02214076e23, -2.5e-300}) {
    const std::string s = format_shortest(x);
    EXPECT_EQ(std::stod(s), x) << s;
  }
  EXPECT_EQ(format_shortest(5.0), "5");
  EXPECT_EQ(format_shortest(0.1), "0.1");
  EXPECT_EQ(format_shortest(1e21), "1e+21");
  EXPECT_EQ(format_shortest(inf), "inf");
}

TEST(format, non_finite_values_take_the_given_text) {
  EXPECT_EQ(format_fixed(nan, 3, {"-"}), "-");
  EXPECT_EQ(format_fixed(-nan, 3, {"-"}), "-");   // either sign
  EXPECT_EQ(format_fixed(inf, 3, {"-"}), "inf");  // only NaN given: infinity as the stream has it
  EXPECT_EQ(format_significant(nan, 6, {"undefined", "inf"}), "undefined");
  EXPECT_EQ(format_significant(-inf, 6, {"undefined", "inf"}), "inf");
  EXPECT_EQ(format_shortest(-nan, {"nan"}), "nan");
  EXPECT_EQ(format_significant(1.5, 6, {"-", "inf"}), "1.5");  // finite values are untouched
}

TEST(format, bytes_in_binary_units) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(3.0 * (1ull << 30)), "3.0 GiB");
  EXPECT_EQ(format_bytes(2048.0 * (1ull << 40)), "2048.0 TiB");  // no unit beyond TiB
}

TEST(format, bytes_in_mib_or_gib) {
  EXPECT_EQ(format_bytes_mib_or_gib(0), "0 bytes");
  EXPECT_EQ(format_bytes_mib_or_gib((1u << 20) - 1), "1048575 bytes");
  EXPECT_EQ(format_bytes_mib_or_gib(1u << 20), "1.0 MiB");
  EXPECT_EQ(format_bytes_mib_or_gib(300u << 20), "300.0 MiB");
  EXPECT_EQ(format_bytes_mib_or_gib(uint64_t{3} << 29), "1.5 GiB");
}

}  // namespace
}  // namespace spikesim
