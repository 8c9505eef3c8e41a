// TOML experiment files -> ExperimentSpec: parsing, --set overrides and validation. Every error
// is a config_error whose message names the key, the value, the unit and the reason.
#pragma once

#include <string>
#include <vector>

#include <spikesim/spec.hpp>

namespace spikesim {

// Parses `text` (named `source` in messages), applies `overrides` ("a.b.c=value", value in TOML
// syntax, or a bare string) and validates. Throws config_error.
experiment_spec parse_config(const std::string& text, const std::string& source,
                             const std::vector<std::string>& overrides = {});

// Reads the file first; a missing or unreadable file throws input_error.
experiment_spec load_config(const std::string& path,
                            const std::vector<std::string>& overrides = {});

// The built-in experiment that `spikesim run` runs without a config file.
const std::string& default_config_text();

}  // namespace spikesim
