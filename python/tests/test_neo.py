"""Result.to_neo(): a neo.Block whose spike trains and signals are the run's, with units."""

import numpy as np
import pytest

import spikesim

neo = pytest.importorskip("neo", reason="neo is not installed (pip install neo)")
pq = pytest.importorskip("quantities")


def test_to_neo_holds_every_spike_and_trace(small, tmp_path):
    r = spikesim.run(small, output=tmp_path / "n.h5", progress=False)
    block = r.to_neo()
    seg = block.segments[0]
    t, ids = r.spikes("eif")
    assert len(seg.spiketrains) == 200
    assert sum(len(st) for st in seg.spiketrains) == t.size
    st = seg.spiketrains[int(ids[0])]
    assert st.units == pq.ms and st.t_stop == r.simulated_ms * pq.ms
    np.testing.assert_array_equal(st.magnitude, t[ids == ids[0]])
    assert st.annotations["population"] == "eif" and st.annotations["node_id"] == int(ids[0])
    (sig,) = seg.analogsignals
    times, nodes, v = r.traces("eif")
    assert sig.units == pq.mV and sig.shape == v.shape
    np.testing.assert_array_equal(sig.magnitude, v)
    assert float(sig.sampling_period.rescale("ms")) == pytest.approx(times[1] - times[0])
