// Config parsing: values reach the spec, overrides address any key, bad input is named.
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

const char* minimal = "[population.exc]\nsize = 10\nmodel = \"lif\"\n";

TEST(config, defaults_and_values) {
  const auto s = spec_from(
      "[run]\ndt = 0.05\ntstop = 500.0\nrandom_seed = 3\nprecision = \"float\"\n"
      "[output]\nfile = \"x.h5\"\n"
      "[population.eif]\nsize = 3\nmodel = \"eif\"\n"
      "params = { tau_m = 12.0, V_T = -45.0 }\n"
      "init = { V = [-70.0, -60.0, -50.0] }\n"
      "input = { I = { from = 1.0, to = 3.0 }, sigma = 2.0, tau_noise = 4.0, "
      "pulses = [ { start = 10.0, stop = 20.0, amplitude = [1.0, 2.0, 3.0] } ] }\n"
      "record = { traces = [2, 0], trace_every = 5, spikes = false }\n");
  EXPECT_DOUBLE_EQ(s.run.dt, 0.05);
  EXPECT_EQ(s.run.steps(), 10000u);
  EXPECT_EQ(s.run.seed, 3u);
  EXPECT_EQ(s.run.prec, precision::single);
  EXPECT_EQ(s.output.file, "x.h5");
  ASSERT_EQ(s.populations.size(), 1u);
  const auto& p = s.populations[0];
  const auto& e = std::get<eif_params>(p.params);
  EXPECT_DOUBLE_EQ(e.tau_m, 12.0);
  EXPECT_DOUBLE_EQ(e.V_T, -45.0);
  EXPECT_DOUBLE_EQ(e.V_peak, -30.0);  // default
  EXPECT_DOUBLE_EQ(p.init.V.at(1), -60.0);
  EXPECT_DOUBLE_EQ(p.input.I.at(0), 1.0);
  EXPECT_DOUBLE_EQ(p.input.I.at(1), 2.0);
  EXPECT_DOUBLE_EQ(p.input.I.at(2), 3.0);
  EXPECT_DOUBLE_EQ(p.input.noise.tau_noise, 4.0);
  ASSERT_EQ(p.input.pulses.size(), 1u);
  EXPECT_DOUBLE_EQ(p.input.pulses[0].amplitude.at(2), 3.0);
  EXPECT_EQ(p.record.traces, (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(p.record.trace_every, 5u);
  EXPECT_FALSE(p.record.spikes);
}

TEST(config, overrides_address_any_key) {
  const auto s = spec_from(
      minimal, {"population.exc.size=1000", "population.exc.input.I=7.3", "run.precision=float",
                "output.file=out/run.h5", "population.exc.params.t_ref=2"});
  EXPECT_EQ(s.populations[0].size, 1000u);
  EXPECT_DOUBLE_EQ(s.populations[0].input.I.at(0), 7.3);
  EXPECT_EQ(s.run.prec, precision::single);
  EXPECT_EQ(s.output.file, "out/run.h5");
  EXPECT_DOUBLE_EQ(std::get<lif_params>(s.populations[0].params).t_ref, 2.0);
  // The resolved config holds the overrides, so the output file tells what really ran.
  EXPECT_NE(s.config_text.find("1000"), std::string::npos);
}

// Each bad input raises config_error whose message names the key (and the value where there
// is one).
struct bad_case {
  const char* what;
  std::string toml;
  std::vector<std::string> sets;
  std::vector<std::string> expect;
};

TEST(config, bad_input_names_key_value_and_reason) {
  const std::string pop = "[population.exc]\nsize = 10\nmodel = \"lif\"\n";
  const std::vector<bad_case> cases = {
      {"dt <= 0", pop, {"run.dt=0"}, {"run.dt", "0 ms", "> 0"}},
      {"negative dt", pop, {"run.dt=-0.1"}, {"run.dt", "-0.1 ms"}},
      {"tstop < dt", pop, {"run.tstop=0.01", "run.dt=0.1"}, {"run.tstop", "0.01 ms"}},
      {"size 0", pop, {"population.exc.size=0"}, {"population.exc.size", "0"}},
      {"size not a number", pop, {"population.exc.size=\"many\""}, {"population.exc.size", "many"}},
      {"tau_m <= 0",
       pop,
       {"population.exc.params.tau_m=-1"},
       {"population.exc.params.tau_m", "-1 ms"}},
      {"V_reset >= V_th",
       pop,
       {"population.exc.params.V_reset=-20"},
       {"population.exc.params.V_reset", "-20 mV", "V_th"}},
      {"trace out of range",
       pop,
       {"population.exc.record.traces=[3, 10]"},
       {"population.exc.record.traces[1]", "10", "out of range"}},
      {"unknown key", pop, {"population.exc.colour=1"}, {"population.exc.colour", "unknown key"}},
      {"unknown param", pop, {"population.exc.params.tau=1"}, {"population.exc.params.tau", "lif"}},
      {"unknown model", pop, {"population.exc.model=\"hh2\""}, {"population.exc.model", "hh2"}},
      {"bad precision", pop, {"run.precision=\"half\""}, {"run.precision", "half"}},
      {"negative sigma",
       pop,
       {"population.exc.input.sigma=-1"},
       {"population.exc.input.sigma", "-1 mV"}},
      {"wrong list length",
       pop,
       {"population.exc.input.I=[1, 2]"},
       {"population.exc.input.I", "2 values", "10 neurons"}},
      {"pulse stop before start",
       pop,
       {"population.exc.input.pulses=[{start = 5.0, stop = 1.0, amplitude = 1.0}]"},
       {"population.exc.input.pulses[0].stop", "1 ms"}},
      {"eif V_peak below V_T",
       "[population.e]\nsize = 1\nmodel = \"eif\"\n",
       {"population.e.params.V_peak=-50"},
       {"population.e.params.V_peak", "-50 mV", "V_T"}},
      {"no population", "[run]\ndt = 0.1\n", {}, {"population", "no population"}},
      {"toml syntax", "[run\ndt = 0.1\n", {}, {"<test>:1"}},
      {"bad name", "[population.\"a b\"]\nsize = 1\nmodel = \"lif\"\n", {}, {"population.a b"}},
      {"infinite value", pop, {"population.exc.input.I=inf"}, {"population.exc.input.I", "finite"}},
      {"duplicate trace", pop, {"population.exc.record.traces=[1, 1]"}, {"listed twice"}},
      {"uniform init reversed",
       pop,
       {"population.exc.init.V={uniform = [-50.0, -60.0]}"},
       {"population.exc.init.V.uniform"}},
      {"normal init negative sd",
       pop,
       {"population.exc.init.V={normal = [-60.0, -2.0]}"},
       {"population.exc.init.V.normal", "sd must be >= 0"}},
      {"normal init not a pair",
       pop,
       {"population.exc.init.V={normal = [-60.0]}"},
       {"population.exc.init.V.normal", "expected [mean, sd]"}},
      {"uniform and normal init",
       pop,
       {"population.exc.init.V={normal = [-60.0, 2.0], uniform = [-70.0, -60.0]}"},
       {"population.exc.init.V", "one of uniform and normal"}},
      // A refractory period of 2^31 steps or more would overflow the 32-bit count.
      {"t_ref beyond 2^31 steps",
       pop,
       {"population.exc.params.t_ref=1e9"},
       {"population.exc.params.t_ref", "1e+09 ms", "2^31 - 1 steps"}},
      {"negative size", pop, {"population.exc.size=-5"}, {"size = -5", "between 1 and"}},
      // tstop is named, not the analysis bins that it makes too many.
      {"tstop beyond 2^50 steps", pop, {"run.tstop=1e300"}, {"run.tstop", "2^50 steps"}},
      {"--set with further TOML",
       pop,
       {"run.tstop=200\n[evil]\nx=1"},
       {"--set run.tstop=200", "one TOML value"}},
  };
  for (const auto& c : cases) {
    try {
      spec_from(c.toml, c.sets);
      ADD_FAILURE() << c.what << ": accepted";
    } catch (const config_error& e) {
      EXPECT_EQ(e.kind(), error_kind::config);
      for (const auto& s : c.expect)
        EXPECT_NE(std::string(e.what()).find(s), std::string::npos)
            << c.what << ": message '" << e.what() << "' lacks '" << s << "'";
    }
  }
}

// A front-end that reports the parts apart (the Python package's ConfigError) gets them from
// the error: the key, the value as written, its unit and the reason.
TEST(config, a_refused_key_carries_its_parts) {
  const std::string pop = "[population.exc]\nsize = 10\nmodel = \"lif\"\n";
  auto refusal = [&](const std::vector<std::string>& sets) -> config_error {
    try {
      parse_config(pop, "t.toml", sets);
    } catch (const config_error& e) {
      return e;
    }
    ADD_FAILURE() << "no config_error";
    return config_error("");
  };
  const config_error range = refusal({"population.exc.params.tau_m=-1"});
  EXPECT_EQ(range.key, "population.exc.params.tau_m");
  EXPECT_EQ(range.value, "-1");
  EXPECT_EQ(range.unit, "ms");
  EXPECT_NE(range.reason.str().find("> 0"), std::string::npos) << range.reason.str();
  const config_error type = refusal({"run.dt=\"fast\""});
  EXPECT_EQ(type.key, "run.dt");
  EXPECT_EQ(type.value, "\"fast\"");
  EXPECT_NE(type.reason.str().find("number"), std::string::npos);
  const config_error unknown = refusal({"run.dtt=1"});
  EXPECT_EQ(unknown.key, "run.dtt");
  EXPECT_EQ(unknown.value, "");
  EXPECT_NE(unknown.reason.str().find("unknown key"), std::string::npos);
  // The message is what it was: the parts are beside it.
  EXPECT_NE(std::string(range.what()).find("population.exc.params.tau_m: -1 ms is invalid"),
            std::string::npos)
      << range.what();
}

// The config loader reads each model of the registry by its name, with no list of its own: its
// parameters, the key and unit of init, its default initial state and the names in messages.
TEST(config, every_registered_model_is_read_by_its_name) {
  std::vector<std::string> names;
  for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<typename M::params>) {
      names.push_back(M::name);
      const std::string pop =
          std::string("[population.p]\nsize = 2\nmodel = \"") + M::name + "\"\n";
      const auto s = spec_from(pop);
      ASSERT_EQ(s.populations.size(), 1u);
      const population_spec& p = s.populations[0];
      EXPECT_EQ(p.kind(), kind_of<M>) << M::name;
      EXPECT_TRUE(std::holds_alternative<typename M::params>(p.params)) << M::name;
      EXPECT_EQ(p.v_rest(), M::rest(typename M::params{})) << M::name;
      const auto init = spec_from(pop + "init = { " + M::state_var + " = 1.5 }\n");
      EXPECT_EQ(init.populations[0].init.V.at(0), 1.5) << M::name;
      const std::string other = std::string(M::state_var) == "V" ? "r" : "V";
      EXPECT_NE(
          error_of<config_error>([&] { spec_from(pop + "init = { " + other + " = 1.5 }\n"); }), "")
          << M::name << " takes no init." << other;
    }
  });
  ASSERT_GE(names.size(), 4u);
  const std::string missing =
      error_of<config_error>([] { spec_from("[population.p]\nsize = 2\n"); });
  for (const std::string& n : names)
    EXPECT_NE(missing.find("\"" + n + "\""), std::string::npos) << missing;
  const std::string unknown =
      error_of<config_error>([] { spec_from("[population.p]\nsize = 2\nmodel = \"source\"\n"); });
  EXPECT_NE(unknown.find("unknown model"), std::string::npos) << unknown;
}

// A model says whether exp synapses may project onto it (HH: not yet), for a projection and a
// Poisson input alike.
TEST(config, exp_synapses_onto_a_model_without_them_are_refused) {
  const std::string net =
      "[population.a]\nsize = 2\nmodel = \"lif\"\n[population.h]\nsize = 2\nmodel = \"hh\"\n";
  const std::string proj = error_of<config_error>([&] {
    spec_from(net +
              "[projection.x]\nsource = \"a\"\ntarget = \"h\"\nrule = \"all_to_all\"\n"
              "synapse = \"exp\"\ntau_syn = 2.0\nweight = 0.1\ndelay = 1.0\n");
  });
  EXPECT_NE(proj.find("exp synapses onto hh neurons are not supported yet"), std::string::npos)
      << proj;
  const std::string poisson = error_of<config_error>([&] {
    spec_from(net +
              "input = { poisson = { rate = 10.0, count = 10, weight = 0.1, synapse = \"exp\","
              " tau_syn = 2.0 } }\n");
  });
  EXPECT_NE(poisson.find("exp synapses onto hh neurons are not supported yet"), std::string::npos)
      << poisson;
  // the same projection onto LIF neurons is accepted
  EXPECT_NO_THROW(
      spec_from(net + "[projection.x]\nsource = \"h\"\ntarget = \"a\"\nrule = \"all_to_all\"\n"
                      "synapse = \"exp\"\ntau_syn = 2.0\nweight = 0.1\ndelay = 1.0\n"));
}

TEST(config, largest_refractory_count_is_accepted) {
  const std::string pop = std::string(minimal) + "params = { t_ref = 214748364.7 }\n";
  EXPECT_NO_THROW(spec_from(pop));
}

TEST(config, directory_is_an_input_error_naming_it) {
  const std::string dir = ::testing::TempDir();
  try {
    load_config(dir);
    ADD_FAILURE() << "accepted a directory";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + dir + "'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
}

TEST(config, missing_file_is_an_input_error) {
  try {
    load_config("/nonexistent/experiment.toml");
    ADD_FAILURE() << "accepted a missing file";
  } catch (const input_error& e) {
    EXPECT_EQ(e.kind(), error_kind::input);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/experiment.toml"), std::string::npos);
  }
}

TEST(config, examples_and_default_parse) {
  for (const char* f : {"eif_pulse.toml", "eif_fI.toml", "lif_noise.toml"})
    EXPECT_NO_THROW(load_config(std::string(SPIKESIM_SOURCE_DIR) + "/examples/" + f)) << f;
  EXPECT_NO_THROW(parse_config(default_config_text(), "<default>"));
}

}  // namespace
}  // namespace spikesim::testing
