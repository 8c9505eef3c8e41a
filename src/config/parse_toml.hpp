// TOML text -> table, with parse errors as config_error naming the source, line and column. Shared
// by the config loader and the sweep expansion (toml++ stays out of the public headers and of
// nvcc).
#pragma once

#include <sstream>
#include <string>

#include <toml++/toml.h>

#include <spikesim/errors.hpp>

namespace spikesim {

inline toml::table parse_toml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << "config error: " << source << ":" << e.source().begin.line << ":"
      << e.source().begin.column << ": " << e.description();
    throw config_error(o.str());
  }
}

}  // namespace spikesim
