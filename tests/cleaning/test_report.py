import json

import numpy
from typer.testing import CliRunner

from spacy_dynclean.cli import app
from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.cleaning.report import markdown_summary

from ..helpers import overrides, write_setup

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_with_one_epoch_and_the_flags(tmp_path):
    write_setup(tmp_path, low=[(0, 0, 1), (0, 7, 8)])
    for name in ("dyn", "thr"):  # one recorded epoch: variability would be 0 everywhere
        dyn = Dynamics.from_disk(tmp_path / name)
        dyn.margins, dyn.probs, dyn.pred = dyn.margins[:, :1], dyn.probs[:, :1], dyn.pred[:, :1]
        dyn.to_disk(tmp_path / name)
    report = run_clean("default", tmp_path / "c.spacy", overrides=overrides(
        tmp_path, **{"detectors.aum.negative_percentile": 100}))
    assert len(report["flagged_rows"]["positives"]) == 1 and len(report["flagged_rows"]["negatives"]) == 1
    result = CliRunner().invoke(app, ["report", str(tmp_path / "dyn"), str(tmp_path / "plots"), "-t",
                                      str(tmp_path / "thr"), "--clean-report", str(tmp_path / "c.report.json")])
    assert result.exit_code == 0, result.output
    for name in ("aum_histograms.png", "data_map.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == PNG
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["aum_histograms.png", "data_map.png"]


def test_data_map_axes(tmp_path, monkeypatch):
    """With one epoch the data map plots the margin (not a zero variability),
    and kept and flagged samples are drawn apart."""
    import matplotlib.axes

    write_setup(tmp_path, low=[(0, 0, 1)])
    dyn = Dynamics.from_disk(tmp_path / "dyn")
    dyn.margins, dyn.probs, dyn.pred = dyn.margins[:, :1], dyn.probs[:, :1], dyn.pred[:, :1]
    calls = []
    real = matplotlib.axes.Axes.scatter

    def spy(self, x, y, *args, **kwargs):
        calls.append((numpy.asarray(x).copy(), kwargs.get("label")))
        return real(self, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "scatter", spy)
    from spacy_dynclean.evaluation.plots import plot_dynamics

    flagged_row = int(numpy.nonzero(dyn.margins[:, 0] < 0)[0][0])
    plot_dynamics(dyn, tmp_path / "a.png", tmp_path / "m.png",
                  clean_report={"flagged_rows": {"positives": [flagged_row], "negatives": []}, "detectors": {}})
    labels = [label for _, label in calls]
    assert any(label.startswith("positives, flagged (1)") for label in labels)
    xs = numpy.concatenate([x for x, _ in calls])
    assert xs.min() < 0 < xs.max()  # margins, not a vertical line of zero variability


def test_markdown_summary_names_the_changes(tmp_path):
    write_setup(tmp_path, low=[(0, 0, 1)])
    report = run_clean("default", tmp_path / "c.spacy", overrides=overrides(tmp_path))
    text = markdown_summary(report)
    assert "detector `aum`" in text and "decision: positives from ['aum']" in text
    assert json.loads((tmp_path / "c.report.json").read_text())["output"] == str(tmp_path / "c.spacy")
