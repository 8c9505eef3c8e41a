"""examples/tutorial.ipynb runs from top to bottom (nbclient, in examples/), so that it never rots;
its cells assert what they claim (the pulse below the rheobase does not fire)."""

import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from conftest import ROOT  # noqa: E402


def test_tutorial_runs(tmp_path):
    path = os.path.join(ROOT, "examples", "tutorial.ipynb")
    before = sorted(os.listdir(os.path.dirname(path)))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": os.path.dirname(path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6  # a figure in every section but the thresholds
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "rheobase: 7.25 nA" in text
    nbformat.write(nb, tmp_path / "tutorial.executed.ipynb")
    assert sorted(os.listdir(os.path.dirname(path))) == before  # it writes nothing into examples/
