// spikesim's entry point: parses the command line and maps every error to its exit code
// (exit_codes.hpp).
#include <csignal>
#include <iostream>

#include <spikesim/errors.hpp>
#include <spikesim/version.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "setting_flags.hpp"

namespace spikesim::cli {
int& exit_status() {
  static int code = 0;
  return code;
}
}  // namespace spikesim::cli

int main(int argc, char** argv) {
  using namespace spikesim;
  // Library messages name the settings they concern by these flags.
  use_setting_names(&cli::flag_of);
  CLI::App app{"spikesim: simulate populations of spiking neurons on GPUs and CPUs", "spikesim"};
  // A write past the file size limit (ulimit -f) then fails with EFBIG and is reported (exit 4)
  // instead of killing the program without a word.
  std::signal(SIGXFSZ, SIG_IGN);
  app.require_subcommand(1);
  app.set_version_flag("--version", "spikesim " + simulator_version());
  cli::add_run(app);
  cli::add_info(app);
  cli::add_bench(app);
  cli::add_analyze(app);
  cli::add_theory(app);
  cli::add_model(app);
  cli::add_sweep(app);
  cli::add_merge(app);
  // CLI11 takes an unknown first word for a missing subcommand: name it instead.
  std::string names;
  bool known = false;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
    known |= argc > 1 && sub->get_name() == argv[1];
  }
  if (argc > 1 && argv[1][0] != '-' && !known) {
    std::cerr << "spikesim: unknown command '" << argv[1] << "' (the commands: " << names
              << "; spikesim --help)\n";
    return cli::exit_config;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : cli::exit_config;
  } catch (const error& e) {
    std::cerr << "spikesim: " << e.what() << "\n";
    return cli::exit_code_of(e.kind());
  } catch (const std::bad_alloc&) {
    std::cerr << "spikesim: out of memory\n";
    return cli::exit_memory;
  } catch (const std::exception& e) {
    std::cerr << "spikesim: internal error: " << e.what() << "\n";
    return cli::exit_internal;
  }
  return cli::exit_status();
}
