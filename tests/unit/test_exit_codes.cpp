// The program's exit codes (src/cli/exit_codes.cpp): each kind of the library's errors maps to the
// code that docs/architecture.md documents, and each typed error carries its kind.
#include <spikesim/errors.hpp>

#include <gtest/gtest.h>

#include "cli/exit_codes.hpp"

namespace spikesim {
namespace {

TEST(exit_codes, each_error_kind_has_its_documented_code) {
  EXPECT_EQ(cli::exit_code_of(error_kind::internal), 1);
  EXPECT_EQ(cli::exit_code_of(error_kind::config), 2);
  EXPECT_EQ(cli::exit_code_of(error_kind::input), 3);
  EXPECT_EQ(cli::exit_code_of(error_kind::output), 4);
  EXPECT_EQ(cli::exit_code_of(error_kind::backend), 5);
  EXPECT_EQ(cli::exit_code_of(error_kind::numerical), 6);
  EXPECT_EQ(cli::exit_code_of(error_kind::memory), 7);
  EXPECT_EQ(cli::exit_interrupted, 75);
  EXPECT_EQ(cli::exit_ok, 0);
}

TEST(exit_codes, each_typed_error_carries_its_kind) {
  EXPECT_EQ(config_error("c").kind(), error_kind::config);
  EXPECT_EQ(input_error("i").kind(), error_kind::input);
  EXPECT_EQ(output_error("o").kind(), error_kind::output);
  EXPECT_EQ(backend_error("b").kind(), error_kind::backend);
  EXPECT_EQ(numerical_error("n").kind(), error_kind::numerical);
  EXPECT_EQ(memory_error("m").kind(), error_kind::memory);
  EXPECT_EQ(error("x", error_kind::internal).kind(), error_kind::internal);
  EXPECT_EQ(std::string(memory_error("needs 2 GiB").what()), "needs 2 GiB");
}

}  // namespace
}  // namespace spikesim
