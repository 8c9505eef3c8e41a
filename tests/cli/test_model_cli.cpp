// End to end: `spikesim model` on the reference neurons, its CSV and HDF5 outputs read back, and
// its usage errors.
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spikesim/theory.hpp>

#include "io/h5.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

// A CSV file as its header and its rows of numbers ("nan" where a value does not exist).
struct csv_table {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;
  std::size_t column(const std::string& name) const {
    for (std::size_t k = 0; k < header.size(); ++k)
      if (header[k] == name) return k;
    ADD_FAILURE() << "no column " << name;
    return 0;
  }
};

csv_table read_csv(const std::string& path) {
  csv_table t;
  std::ifstream in(path);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::vector<double> row;
    while (std::getline(ss, cell, ',')) {
      if (first)
        t.header.push_back(cell);
      else
        row.push_back(std::stod(cell));  // stod reads "nan"
    }
    if (!first) {
      EXPECT_EQ(row.size(), t.header.size()) << line;
      t.rows.push_back(row);
    }
    first = false;
  }
  return t;
}

double read_scalar(hid_t g, const std::string& name, std::string* units = nullptr) {
  h5::handle ds(H5Dopen2(g, name.c_str(), H5P_DEFAULT), H5Dclose);
  EXPECT_TRUE(ds.valid()) << name;
  double v = NAN;
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
  if (units) *units = h5::read_attr_string(ds, "units");
  return v;
}

std::string units_of(hid_t g, const std::string& name) {
  h5::handle ds(H5Dopen2(g, name.c_str(), H5P_DEFAULT), H5Dclose);
  return h5::read_attr_string(ds, "units");
}

const std::string k_reference_eif =
    "--model eif --tau_m 10 --E_L -70 --V_reset -70 --R_m 4 --delta_T 1 --V_T -40 --V_peak -30";

class model_cli : public scratch_dir_test {
 protected:
  model_cli() : scratch_dir_test("model") {}
};

// Gerstner & Kistler 5.2: at 6 nA a stable fixed point near -46.0 mV and an unstable one near
// -37.9 mV, merging at the rheobase 7.25 nA; without input the effective threshold near -36.5 mV.
TEST_F(model_cli, reference_eif_fixed_points_rheobase_and_saddle_node) {
  const auto csv = path("eif.csv"), h5 = path("eif.h5");
  const auto r = spikesim_cli("model " + k_reference_eif + " --I 6 --I-range 6:7.24:0.04 --csv " +
                              csv + " --h5 " + h5);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rheobase: 7.25 nA"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-45.997515"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-37.909283"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(csv + ".partial"));
  EXPECT_FALSE(fs::exists(h5 + ".partial"));

  // CSV: one row per current, the gap shrinking monotonically to the saddle node.
  const csv_table t = read_csv(csv);
  ASSERT_EQ(t.header, (std::vector<std::string>{"I_nA", "rate_Hz", "u_stable_mV", "u_unstable_mV",
                                                "gap_mV"}));
  ASSERT_EQ(t.rows.size(), 32u);  // 6, 6.04, ..., 7.24
  const std::size_t cI = t.column("I_nA"), cs = t.column("u_stable_mV"),
                    cu = t.column("u_unstable_mV"), cg = t.column("gap_mV"),
                    cr = t.column("rate_Hz");
  EXPECT_DOUBLE_EQ(t.rows[0][cI], 6.0);
  EXPECT_NEAR(t.rows[0][cs], -46.0, 0.05);
  EXPECT_NEAR(t.rows[0][cu], -37.9, 0.05);
  std::vector<double> gaps_at;  // at 6, 7, 7.2, 7.24 nA
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    const auto& row = t.rows[k];
    EXPECT_EQ(row[cr], 0.0) << "below the rheobase, I = " << row[cI];
    EXPECT_LT(row[cs], -40.0);  // on either side of V_T
    EXPECT_GT(row[cu], -40.0);
    EXPECT_NEAR(row[cg], row[cu] - row[cs], 1e-9);
    if (k) {
      EXPECT_LT(row[cg], t.rows[k - 1][cg]) << "I = " << row[cI];
    }
    for (double I : {6.0, 7.0, 7.2, 7.24})
      if (std::abs(row[cI] - I) < 1e-9) gaps_at.push_back(row[cg]);
  }
  ASSERT_EQ(gaps_at.size(), 4u);
  EXPECT_GT(gaps_at[0], gaps_at[1]);
  EXPECT_GT(gaps_at[1], gaps_at[2]);
  EXPECT_GT(gaps_at[2], gaps_at[3]);
  EXPECT_LT(gaps_at[3], 0.6);  // 2 sqrt(2 delta_T R_m (I_rh - I)) = 0.566 mV at 7.24 nA

  // HDF5: the same numbers with units.
  h5::quiet_errors quiet;
  auto f = h5::open_file(h5, false);
  EXPECT_EQ(h5::read_attr_u64(f, "magic"), 0x0A7Au);
  EXPECT_EQ(h5::read_attr_string(f, "kind"), "model");
  auto m = h5::open_group(f, "model");
  EXPECT_EQ(h5::read_attr_string(m, "model"), "eif");
  auto params = h5::open_group(m, "parameters");
  std::string units;
  EXPECT_EQ(read_scalar(params, "tau_m", &units), 10.0);
  EXPECT_EQ(units, "ms");
  EXPECT_EQ(read_scalar(params, "R_m", &units), 4.0);
  EXPECT_EQ(units, "MOhm");
  EXPECT_EQ(read_scalar(params, "V_T", &units), -40.0);
  EXPECT_EQ(units, "mV");

  auto fp = h5::open_group(m, "fixed_points");
  EXPECT_EQ(read_scalar(fp, "I", &units), 6.0);
  EXPECT_EQ(units, "nA");
  const auto u = h5::read_vector<double>(fp, "u");
  const auto stable = h5::read_vector<uint32_t>(fp, "stable");
  const auto eig = h5::read_vector<double>(fp, "eigenvalue");
  ASSERT_EQ(u.size(), 2u);
  EXPECT_NEAR(u[0], -46.0, 0.05);
  EXPECT_NEAR(u[1], -37.9, 0.05);
  EXPECT_EQ(stable, (std::vector<uint32_t>{1, 0}));
  EXPECT_LT(eig[0], 0.0);
  EXPECT_GT(eig[1], 0.0);
  EXPECT_EQ(units_of(fp, "u"), "mV");
  EXPECT_EQ(units_of(fp, "eigenvalue"), "1/ms");
  EXPECT_NEAR(read_scalar(fp, "rheobase", &units), 7.25, 1e-12);
  EXPECT_EQ(units, "nA");
  EXPECT_NEAR(read_scalar(fp, "rheobase_numeric"), 7.25, 1e-9);
  EXPECT_NEAR(read_scalar(fp, "effective_threshold", &units), -36.5, 0.05);
  EXPECT_EQ(units, "mV");

  auto fI = h5::open_group(m, "fI");
  const auto I = h5::read_vector<double>(fI, "I");
  const auto us = h5::read_vector<double>(fI, "u_stable");
  ASSERT_EQ(I.size(), 32u);
  ASSERT_EQ(us.size(), 32u);
  EXPECT_NEAR(us[0], t.rows[0][cs], 1e-9);
  EXPECT_EQ(units_of(fI, "I"), "nA");
  EXPECT_EQ(units_of(fI, "rate"), "Hz");
  EXPECT_EQ(units_of(fI, "u_unstable"), "mV");

  // The phase line at 6 nA changes sign at the two fixed points, and only there.
  auto pl = h5::open_group(m, "phase_line");
  const auto pu = h5::read_vector<double>(pl, "u");
  const auto pf = h5::read_vector<double>(pl, "f");
  ASSERT_EQ(pu.size(), pf.size());
  ASSERT_GT(pu.size(), 100u);
  EXPECT_EQ(units_of(pl, "f"), "mV");
  std::vector<double> zeros;
  for (std::size_t k = 0; k + 1 < pu.size(); ++k)
    if ((pf[k] > 0) != (pf[k + 1] > 0)) zeros.push_back(pu[k]);
  ASSERT_EQ(zeros.size(), 2u);
  EXPECT_NEAR(zeros[0], u[0], pu[1] - pu[0]);
  EXPECT_NEAR(zeros[1], u[1], pu[1] - pu[0]);
}

TEST_F(model_cli, eif_above_the_rheobase_has_no_fixed_point_and_fires) {
  const auto h5 = path("eif.h5");
  const auto r = spikesim_cli("model " + k_reference_eif + " --I 8 --I-range 7:9:1 --h5 " + h5);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("none: the neuron fires repetitively"), std::string::npos) << r.out;
  h5::quiet_errors quiet;
  auto f = h5::open_file(h5, false);
  EXPECT_EQ(h5::dataset_length(f, "model/fixed_points/u"), 0u);
  const auto rate = h5::read_vector<double>(h5::open_group(f, "model/fI"), "rate");
  ASSERT_EQ(rate.size(), 3u);
  EXPECT_EQ(rate[0], 0.0);
  const theory::eif_params_view v{10, -70, 4, 1, -40, -30, -70, 0};
  EXPECT_NEAR(rate[1], theory::eif_rate_hz(v, 8.0), 1e-9);
  EXPECT_NEAR(rate[2], theory::eif_rate_hz(v, 9.0), 1e-9);
}

// LIF with threshold -30 mV: rheobase (V_th - E_L) / R_m = 10 nA, no emergent threshold; with
// --sigma the Siegert rate and CV with mu = R_m I measured from E_L.
TEST_F(model_cli, lif_rheobase_and_noisy_rate) {
  const auto csv = path("lif.csv"), h5 = path("lif.h5");
  const auto r = spikesim_cli("model --model lif --V_th -30 --I-range 0:20:1 --sigma 2 --csv " +
                              csv + " --h5 " + h5);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rheobase: 10 nA"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is imposed"), std::string::npos) << r.out;

  const csv_table t = read_csv(csv);
  ASSERT_EQ(t.rows.size(), 21u);
  const std::size_t cI = t.column("I_nA"), cr = t.column("rate_Hz"), cn = t.column("rate_noise_Hz"),
                    cc = t.column("cv_noise"), cs = t.column("u_stable_mV");
  for (const auto& row : t.rows) {
    const double I = row[cI];
    EXPECT_EQ(row[cr] > 0, I > 10.0 + 1e-9) << "I = " << I;
    EXPECT_NEAR(row[cr], theory::lif_rate_hz(I, 10, -70, 4, -30, -70, 0), 1e-9);
    if (I < 10.0 - 1e-9) {
      EXPECT_NEAR(row[cs], -70.0 + 4.0 * I, 1e-9);
    } else {
      EXPECT_TRUE(std::isnan(row[cs]));
    }
    const auto s = theory::siegert(4.0 * I, 2.0, 10.0, 40.0, 0.0, 0.0);
    EXPECT_NEAR(row[cn], s.rate_hz, 1e-9 * s.rate_hz + 1e-300) << "I = " << I;
    EXPECT_NEAR(row[cc], s.cv, 1e-6) << "I = " << I;
  }

  h5::quiet_errors quiet;
  auto f = h5::open_file(h5, false);
  auto fp = h5::open_group(f, "model/fixed_points");
  EXPECT_NEAR(read_scalar(fp, "rheobase"), 10.0, 1e-12);
  EXPECT_NEAR(read_scalar(fp, "rheobase_numeric"), 10.0, 1e-9);
  EXPECT_TRUE(std::isnan(read_scalar(fp, "effective_threshold")));
  const auto u = h5::read_vector<double>(fp, "u");  // at I = 0: rest
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0], -70.0);
  auto fI = h5::open_group(f, "model/fI");
  EXPECT_EQ(read_scalar(fI, "sigma"), 2.0);
  EXPECT_EQ(units_of(fI, "rate_noise"), "Hz");
  EXPECT_EQ(h5::dataset_length(fI, "cv_noise"), 21u);
}

// HH f-I by simulation (dt = 0.01 ms, 1 s per current): silent at 0, and at 10 and 20 uA/cm^2
// the rates that tests/unit/test_hh_rate.cpp checks against an RK4 reference (68.31, 86.46 Hz).
TEST_F(model_cli, hh_fI_by_simulation) {
  const auto csv = path("hh.csv"), h5 = path("hh.h5");
  const auto r = spikesim_cli("model --model hh --I-range 0:20:10 --csv " + csv + " --h5 " + h5);
  ASSERT_EQ(r.code, 0) << r.out;
  const csv_table t = read_csv(csv);
  ASSERT_EQ(t.header, (std::vector<std::string>{"I_uA_per_cm2", "rate_Hz", "spikes"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][1], 0.0);
  EXPECT_EQ(t.rows[0][2], 0.0);
  EXPECT_NEAR(t.rows[1][1], 68.31, 0.07);
  EXPECT_NEAR(t.rows[2][1], 86.46, 0.09);
  EXPECT_NEAR(t.rows[1][2], 69.0, 1.0);

  h5::quiet_errors quiet;
  auto f = h5::open_file(h5, false);
  auto fI = h5::open_group(f, "model/fI");
  EXPECT_EQ(units_of(fI, "I"), "uA/cm^2");
  EXPECT_EQ(h5::read_vector<uint64_t>(fI, "spikes").size(), 3u);
  // The reduced phase line at I = 0: rest, the threshold in between, and the excited state.
  auto fp = h5::open_group(f, "model/fixed_points");
  EXPECT_EQ(h5::read_vector<uint32_t>(fp, "stable"), (std::vector<uint32_t>{1, 0, 1}));
  EXPECT_NEAR(h5::read_vector<double>(fp, "u")[0], 0.0, 1e-3);
  EXPECT_EQ(units_of(h5::open_group(f, "model/phase_line"), "f"), "uA/cm^2");
}

TEST_F(model_cli, parameters_from_a_config_population_and_flag_overrides) {
  const auto cfg = path("eif.toml");
  std::ofstream(cfg) << "[population.ref]\nsize = 2\nmodel = \"eif\"\n"
                        "params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, "
                        "V_T = -40.0, V_peak = -30.0, V_reset = -70.0 }\ninput = { I = 6.0 }\n";
  const auto h5 = path("cfg.h5");
  auto r = spikesim_cli("model --config " + cfg + " --population ref --h5 " + h5);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("fixed points at I = 6 nA"), std::string::npos) << r.out;
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(h5, false);
    const auto u = h5::read_vector<double>(h5::open_group(f, "model/fixed_points"), "u");
    ASSERT_EQ(u.size(), 2u);
    EXPECT_NEAR(u[0], -46.0, 0.05);
  }
  r = spikesim_cli("model --config " + cfg + " --population ref --V_T -45 --I 0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rheobase: 6 nA"), std::string::npos) << r.out;

  r = spikesim_cli("model --config " + cfg + " --population nope");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--population = nope"), std::string::npos) << r.out;
  r = spikesim_cli("model --config " + cfg + " --population ref --model lif");
  EXPECT_EQ(r.code, 2) << r.out;
  r = spikesim_cli("model --config " + cfg + " --population ref --V_reset -50");
  EXPECT_EQ(r.code, 0) << r.out;  // still below V_peak
  r = spikesim_cli("model --config " + cfg + " --population ref --V_peak -50");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--V_peak = -50 mV"), std::string::npos) << r.out;
}

TEST_F(model_cli, bad_flags_exit_2_naming_flag_and_value) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--model eif --tau_m -5", "--tau_m = -5 ms"},
      {"--model lif --R_m 0", "--R_m = 0 MOhm"},
      {"--model lif --V_reset -20", "--V_reset = -20 mV"},
      {"--model eif --delta_T nan", "--delta_T = nan mV"},
      {"--model eif --V_th -50", "--V_th = -50"},
      {"--model hh --g_L 0", "--g_L = 0 mS/cm^2"},
      {"--model eif --I-range 5:1:0.5", "--I-range = '5:1:0.5'"},
      {"--model eif --I-range 1:1:1", "--I-range = '1:1:1'"},
      {"--model eif --I-range 0:1:0", "--I-range = '0:1:0'"},
      {"--model eif --I-range 0:1:-1", "--I-range = '0:1:-1'"},
      {"--model eif --I-range 0:x:1", "--I-range = '0:x:1'"},
      {"--model eif --I-range 0:1", "--I-range = '0:1'"},
      {"--model eif --I-range 0:1e9:1e-3", "--I-range = '0:1e9:1e-3'"},
      {"--model eif --sigma 2", "--sigma = 2 mV"},
      {"--model lif --sigma -1", "--sigma = -1 mV"},
      {"--model eif --dt 0.1", "--dt"},
      {"--model hh --dt 0", "--dt = 0 ms"},
      {"--model eif --tau_m abc", "--tau_m"},
      {"--model izhikevich", "--model"},
      {"", "--model"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = spikesim_cli("model " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  }
}

TEST_F(model_cli, unwritable_output_exits_4) {
  const auto r = spikesim_cli("model --model lif --h5 " + path("missing/dir/x.h5"));
  EXPECT_EQ(r.code, 4) << r.out;
  const auto c = spikesim_cli("model --model lif --csv " + path("missing/dir/x.csv"));
  EXPECT_EQ(c.code, 4) << c.out;
}

}  // namespace
}  // namespace spikesim::testing
