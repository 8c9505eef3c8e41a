// message_text (include/spikesim/message_text.hpp): settings marked in library messages, named
// by the front-end that installs its names (the program: its flags, src/cli/setting_flags.cpp).
#include <spikesim/errors.hpp>
#include <spikesim/message_text.hpp>

#include <gtest/gtest.h>

#include "cli/setting_flags.hpp"

namespace spikesim {
namespace {

// This binary names settings as the program does, so that the library's messages read in every
// test as the program prints them.
const bool flags_installed = (use_setting_names(&cli::flag_of), true);

TEST(message_text, settings_are_named_by_the_front_end) {
  ASSERT_TRUE(flags_installed);
  const message_text m = "config error: " + setting::set + " x=1: expected key.path=value";
  EXPECT_EQ(m.str(), "config error: --set x=1: expected key.path=value");
  EXPECT_EQ(m.render(neutral_setting_name), "config error: set x=1: expected key.path=value");
  const message_text two = setting::backend + " cuda: no CUDA device found; use " +
                           setting::backend + std::string(" cpu");
  EXPECT_EQ(two.str(), "--backend cuda: no CUDA device found; use --backend cpu");
  EXPECT_EQ(two.render([](setting) { return std::string("<s>"); }),
            "<s> cuda: no CUDA device found; use <s> cpu");
}

TEST(message_text, plain_text_is_unchanged) {
  EXPECT_EQ(message_text("abc").str(), "abc");
  EXPECT_EQ((message_text("a") + std::string("b") + "c").str(), "abc");
  EXPECT_EQ(message_text().str(), "");
}

TEST(message_text, every_setting_has_a_flag_and_a_neutral_name) {
  const std::pair<setting, const char*> flags[] = {
      {setting::backend, "--backend"},
      {setting::device, "--device"},
      {setting::threads, "--threads"},
      {setting::set, "--set"},
      {setting::sweep, "--sweep"},
      {setting::output, "-o"},
      {setting::task_id, "--task-id"},
      {setting::num_tasks, "--num-tasks"},
      {setting::checkpoint_every, "--checkpoint-every"},
      {setting::redo, "--redo"},
      {setting::current_range, "--I-range"}};
  for (const auto& [s, flag] : flags) {
    EXPECT_EQ(cli::flag_of(s), flag);
    EXPECT_EQ(neutral_setting_name(s).find('-'), std::string::npos);
    EXPECT_NE(neutral_setting_name(s), "setting");
  }
}

TEST(message_text, errors_keep_the_marked_text_for_a_front_end_to_phrase_again) {
  const config_error e(setting::threads + " = 0: too few");
  EXPECT_EQ(std::string(e.what()), "--threads = 0: too few");
  EXPECT_EQ(e.text().render(neutral_setting_name), "threads = 0: too few");
  EXPECT_EQ(e.kind(), error_kind::config);
}

}  // namespace
}  // namespace spikesim
