// message_text and the names of front-end settings (include/spikesim/message_text.hpp).
#include <spikesim/message_text.hpp>

#include <atomic>

namespace spikesim {
namespace {

std::atomic<setting_names> installed_names{nullptr};

}  // namespace

std::string neutral_setting_name(setting s) {
  switch (s) {
    case setting::backend:
      return "backend";
    case setting::device:
      return "device";
    case setting::threads:
      return "threads";
    case setting::set:
      return "set";
    case setting::sweep:
      return "sweep";
    case setting::output:
      return "output";
    case setting::task_id:
      return "task_id";
    case setting::num_tasks:
      return "num_tasks";
    case setting::checkpoint_every:
      return "checkpoint_every";
    case setting::redo:
      return "redo";
    case setting::current_range:
      return "current_range";
  }
  return "setting";
}

void use_setting_names(setting_names names) {
  installed_names.store(names);
}

message_text::message_text(std::string text) : parts_{{std::move(text)}} {}
message_text::message_text(const char* text) : message_text(std::string(text)) {}
message_text::message_text(setting s) : parts_{{std::string(), true, s}} {}

message_text& message_text::operator+=(const message_text& more) {
  for (const part& p : more.parts_) {
    // Adjacent text is kept as one part: most messages are text only.
    if (!p.is_setting && !parts_.empty() && !parts_.back().is_setting)
      parts_.back().text += p.text;
    else
      parts_.push_back(p);
  }
  return *this;
}

std::string message_text::render(setting_names names) const {
  std::string s;
  for (const part& p : parts_) s += p.is_setting ? names(p.which) : p.text;
  return s;
}

std::string message_text::str() const {
  const setting_names names = installed_names.load();
  return render(names ? names : neutral_setting_name);
}

message_text operator+(message_text a, const message_text& b) {
  return a += b;
}
message_text operator+(setting a, const message_text& b) {
  return message_text(a) += b;
}
message_text operator+(message_text a, setting b) {
  return a += b;
}

}  // namespace spikesim
