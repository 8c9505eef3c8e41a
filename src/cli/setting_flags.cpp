// The flag of each front-end setting (setting_flags.hpp).
#include "setting_flags.hpp"

namespace spikesim::cli {

std::string flag_of(setting s) {
  switch (s) {
    case setting::backend:
      return "--backend";
    case setting::device:
      return "--device";
    case setting::threads:
      return "--threads";
    case setting::set:
      return "--set";
    case setting::sweep:
      return "--sweep";
  }
  return neutral_setting_name(s);
}

}  // namespace spikesim::cli
