// The files of the single-neuron analysis (single_neuron.hpp): its f–I table as CSV, or
// parameters, fixed points, f–I curve and phase line as HDF5 (docs/model-command.md). Each is
// written to PATH.partial and renamed when complete, so a failed write leaves nothing; output_error
// on failure. And the report as the text `spikesim model` prints (`range`: the f–I currents).
#pragma once

#include <iosfwd>
#include <string>

#include <spikesim/single_neuron.hpp>

namespace spikesim {

void write_model_csv(const single_neuron::report& r, const std::string& path);
void write_model_h5(const single_neuron::report& r, const std::string& path);
void write_model_text(std::ostream& out, const single_neuron::report& r,
                      const single_neuron::current_range& range);

}  // namespace spikesim
