// The files of `spikesim model` (model_file.hpp): the single-neuron report as CSV or HDF5.
#include <spikesim/model_file.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>
#include <ostream>

#include <spikesim/atomic_output.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/hdf5_writer.hpp>

#include "io/h5.hpp"

namespace spikesim {
namespace {

// Written to PATH.partial and renamed, like the run output: a failed write leaves nothing. A
// failed rename reads "cannot create output 'PATH'", as a failed creation does.
void write_whole(const std::string& path, const std::function<void(const std::string&)>& write) {
  bool written = false;
  try {
    write_atomically(path, [&](const std::string& partial) {
      write(partial);
      written = true;
    });
  } catch (const output_error&) {
    if (!written) throw;
    throw output_error("cannot create output '" + path + "'");
  }
}

std::string csv_num(double x) {
  return format_significant(x, 12, {"nan"});
}

template <class T>
void dataset(hid_t g, const std::string& name, const std::vector<T>& v, const std::string& units) {
  h5::write_vector(g, name, v);
  h5::handle ds(H5Dopen2(g, name.c_str(), H5P_DEFAULT), H5Dclose);
  h5::attr(ds, "units", units);
}

void write_fixed_points(hid_t m, const single_neuron::report& r) {
  h5::handle fp = h5::create_group(m, "fixed_points");
  h5::write_scalar(fp, "I", r.I, r.I_units);
  std::vector<double> u, eig;
  std::vector<uint32_t> stable;
  for (const auto& x : r.fixed_points) {
    u.push_back(x.u);
    eig.push_back(x.eigenvalue);
    stable.push_back(x.stable ? 1u : 0u);
  }
  dataset(fp, "u", u, "mV");
  dataset(fp, "stable", stable, "1 = stable, 0 = unstable");
  dataset(fp, "eigenvalue", eig, "1/ms");
  h5::write_scalar(fp, "rheobase", r.rheobase, r.I_units);
  h5::write_scalar(fp, "rheobase_numeric", r.rheobase_numeric, r.I_units);
  h5::write_scalar(fp, "effective_threshold", r.threshold0, "mV");
  h5::attr(fp, "effective_threshold_note", r.threshold_note);
}

void write_fI(hid_t m, const single_neuron::report& r) {
  h5::handle fi = h5::create_group(m, "fI");
  h5::attr(fi, "method", r.fI_method);
  const single_neuron::fI_columns c = single_neuron::columns_of(r.rows);
  dataset(fi, "I", c.I, r.I_units);
  dataset(fi, "rate", c.rate, "Hz");
  if (r.model == "hh") {
    dataset(fi, "spikes", c.spikes, "spikes");
  } else {
    dataset(fi, "u_stable", c.u_stable, "mV");
    dataset(fi, "u_unstable", c.u_unstable, "mV");
  }
  if (r.sigma > 0) {
    h5::write_scalar(fi, "sigma", r.sigma, "mV");
    dataset(fi, "rate_noise", c.rate_noise, "Hz");
    dataset(fi, "cv_noise", c.cv_noise, "1");
  }
}

// A number of the report: "-" where it is undefined (NaN).
std::string fmt(double x, int digits = 6) {
  return format_significant(x, digits, {"-"});
}

// The parameters, the fixed points at I, the rheobase and the effective threshold.
void print_phase_line(std::ostream& o, const single_neuron::report& r) {
  const std::string& iu = r.I_units;
  o << "model " << r.model << " (" << r.title << ")\n  ";
  for (std::size_t k = 0; k < r.params.size(); ++k)
    o << (k ? ", " : "") << r.params[k].key << " = " << fmt(r.params[k].value) << " "
      << r.params[k].unit;
  o << "\n  " << r.equation << "\n\n";

  o << "fixed points at I = " << fmt(r.I) << " " << iu << ":\n";
  if (r.fixed_points.empty()) o << "  none: the neuron fires repetitively\n";
  if (!r.fixed_points.empty())
    o << std::setw(14) << "u (mV)"
      << "  " << std::left << std::setw(10) << "stability" << std::right << std::setw(19)
      << "eigenvalue (1/ms)\n";
  for (const auto& fp : r.fixed_points)
    o << std::setw(14) << fmt(fp.u, 8) << "  " << std::left << std::setw(10)
      << (fp.stable ? "stable" : "unstable") << std::right << std::setw(18) << fmt(fp.eigenvalue, 4)
      << "\n";
  if (r.sigma > 0)
    o << "  with noise sigma = " << fmt(r.sigma) << " mV (Siegert): rate "
      << fmt(r.noisy_at_I.rate_hz) << " Hz, CV " << fmt(r.noisy_at_I.cv, 4) << "\n";
  if (r.model != "hh")
    o << "rheobase: " << fmt(r.rheobase, 8) << " " << iu << " (" << r.rheobase_note << "), "
      << fmt(r.rheobase_numeric, 8) << " " << iu << " (numerical)\n";
  if (r.model == "hh") {
    double onset = single_neuron::k_none;
    for (const auto& row : r.rows)
      if (std::isnan(onset) && row.rate > 0) onset = row.I;
    o << "repetitive firing from: "
      << (std::isnan(onset) ? std::string("none in the range") : fmt(onset) + " " + iu)
      << " (the first current of the f-I range with a periodic rate)\n";
  }
  o << "effective threshold at I = 0: "
    << (std::isnan(r.threshold0) ? r.threshold_note
                                 : fmt(r.threshold0, 8) + " mV (" + r.threshold_note + ")")
    << "\n";
  if (!r.saddle.empty()) {
    o << "\nsaddle-node: the fixed points merge as I approaches the rheobase, their gap close "
         "to it\nfollowing 2 sqrt(2 delta_T R_m (I_rh - I))\n"
      << std::setw(16) << "I_rh - I (nA)" << std::setw(14) << "gap (mV)" << std::setw(16)
      << "sqrt law (mV)\n";
    for (const auto& s : r.saddle)
      o << std::setw(16) << fmt(s.distance) << std::setw(14) << fmt(s.gap) << std::setw(15)
        << fmt(s.law) << "\n";
  }
}

void print_fI(std::ostream& o, const single_neuron::report& r,
              const single_neuron::current_range& range) {
  const std::string& iu = r.I_units;
  o << "\nf-I curve, I = " << fmt(range.from) << ":" << fmt(range.to) << ":" << fmt(range.step)
    << " " << iu << " (" << r.fI_method << ")\n";
  const bool hh = r.model == "hh";
  o << std::setw(12) << ("I (" + iu + ")") << std::setw(12) << "rate (Hz)";
  if (hh) {
    o << std::setw(10) << "spikes";
  } else {
    o << std::setw(14) << "stable (mV)" << std::setw(15) << "unstable (mV)" << std::setw(11)
      << "gap (mV)";
    if (r.sigma > 0) o << std::setw(16) << "noisy rate (Hz)" << std::setw(10) << "noisy CV";
  }
  o << "\n";
  for (const auto& row : r.rows) {
    o << std::setw(12) << fmt(row.I) << std::setw(12) << fmt(row.rate);
    if (hh) {
      o << std::setw(10) << row.spikes;
    } else {
      o << std::setw(14) << fmt(row.u_stable) << std::setw(15) << fmt(row.u_unstable)
        << std::setw(11) << fmt(row.u_unstable - row.u_stable);
      if (r.sigma > 0)
        o << std::setw(16) << fmt(row.rate_noise) << std::setw(10) << fmt(row.cv_noise, 4);
    }
    o << "\n";
  }
}

}  // namespace

void write_model_csv(const single_neuron::report& r, const std::string& path) {
  write_whole(path, [&](const std::string& partial) {
    std::ofstream out(partial);
    if (!out) throw output_error("cannot create output '" + path + "'");
    const bool hh = r.model == "hh";
    out << (hh ? "I_uA_per_cm2,rate_Hz,spikes" : "I_nA,rate_Hz,u_stable_mV,u_unstable_mV,gap_mV");
    if (!hh && r.sigma > 0) out << ",rate_noise_Hz,cv_noise";
    out << "\n";
    for (const auto& row : r.rows) {
      out << csv_num(row.I) << "," << csv_num(row.rate);
      if (hh) {
        out << "," << row.spikes;
      } else {
        out << "," << csv_num(row.u_stable) << "," << csv_num(row.u_unstable) << ","
            << csv_num(row.u_unstable - row.u_stable);
        if (r.sigma > 0) out << "," << csv_num(row.rate_noise) << "," << csv_num(row.cv_noise);
      }
      out << "\n";
    }
    out.flush();
    if (!out) throw output_error("cannot write output '" + path + "'");
  });
}

void write_model_h5(const single_neuron::report& r, const std::string& path) {
  h5::quiet_errors quiet;
  write_whole(path, [&](const std::string& partial) {
    try {
      h5::handle f = h5::create_file(partial);
      h5::attr(f, "magic", file_magic);
      h5::attr(f, "version", std::vector<uint32_t>{0, 1});
      h5::attr(f, "kind", std::string("model"));
      h5::attr(f, "simulator", std::string("spikesim"));
      h5::attr(f, "simulator_version", simulator_version());
      h5::attr(f, "git_sha", git_sha());
      h5::attr(f, "created_utc", utc_now());

      h5::handle m = h5::create_group(f, "model");
      h5::attr(m, "model", r.model);
      h5::attr(m, "equation", r.equation);
      h5::handle params = h5::create_group(m, "parameters");
      for (const auto& p : r.params) h5::write_scalar(params, p.key, p.value, p.unit);
      write_fixed_points(m, r);
      write_fI(m, r);

      h5::handle pl = h5::create_group(m, "phase_line");
      h5::attr(pl, "equation", r.equation);
      h5::write_scalar(pl, "I", r.I, r.I_units);
      dataset(pl, "u", r.phase_u, "mV");
      dataset(pl, "f", r.phase_f, r.phase_units);
    } catch (const output_error&) {
      throw output_error("cannot create output '" + path + "'");
    }
  });
}

void write_model_text(std::ostream& o, const single_neuron::report& r,
                      const single_neuron::current_range& range) {
  print_phase_line(o, r);
  print_fI(o, r, range);
}

}  // namespace spikesim
