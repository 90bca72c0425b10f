"""The HTML report: self-contained, verdict and divergence at the top, automatic probe / heatmap figures."""

from __future__ import annotations

import re

from descentlab.report.html import write_index, write_report


def test_report_is_self_contained_with_verdict_divergence_and_auto_figures(synthetic_store):
    experiment = synthetic_store.experiments()[0]
    path = write_report(synthetic_store, experiment)
    page = path.read_text()
    # nothing is fetched: every image is inline, no external stylesheet / font; the one script loaded is the
    # store's own copy of plotly.js, by a relative path
    assert re.findall(r"<(?:script|link|iframe)[^>]+(?:src|href)=\"([^\"]*)\"", page) == ["../../assets/plotly.min.js"]
    assert (synthetic_store.root / "assets" / "plotly.min.js").is_file()
    # an interactive chart per figure, above its static image (folded by the script once the chart is drawn)
    charts = re.findall(
        r'<div class="chart" id="(chart-\d+)" hidden></div><script type="application/json" '
        r'class="plotly-figure" data-chart="(chart-\d+)">',
        page,
    )
    assert len(charts) == 5 and all(a == b for a, b in charts)
    assert page.count('<details class="static" open><summary>static image</summary><img ') == 5
    assert page.index('<script src="../../assets/plotly.min.js">') < page.index("Plotly.newPlot")
    assert not re.search(r'<img[^>]+src="(?!data:image/png;base64,)', page)
    assert "url(" not in page and "@import" not in page
    # the claim and verdict come before the figures; the diverged count is in the header
    verdict, figures = page.index('class="verdict pass"'), page.index('id="figures"')
    assert verdict < figures
    n_div = int((synthetic_store.read(experiment, "runs").status == "diverged").sum())
    assert n_div > 0
    assert page.index(f"⚠ {n_div} of 36 runs diverged") < figures
    # probe panels, heatmap and trainability map were added automatically, each in three formats
    for stem in ("curves_loss", "probes", "heatmap_loss", "trainability", "final_loss"):
        for fmt in ("png", "svg", "pdf"):
            assert (path.parent / f"{stem}.{fmt}").exists(), stem
    # probe metrics are not drawn again as plain learning curves
    assert not (path.parent / "curves_sharpness.png").exists()
    assert page.count("<img ") == 5
    # strings from the spec are escaped
    assert "A synthetic sweep &lt;for tests&gt; &amp; escaping" in page
    # the runs table: one row per run, diverged rows flagged, provenance present
    assert page.count('<tr class="diverged">') == n_div
    for needle in ("deadbeef", "compile_seconds", "Versions", "&quot;momentum&quot;"):
        assert needle in page


def test_study_figures_get_the_automatic_ones_appended(synthetic_store, tmp_path):
    import matplotlib.pyplot as plt

    from descentlab.report.figures import save

    experiment = synthetic_store.experiments()[0]
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    own = save(fig, tmp_path / "out", "probes", ("png",))  # the study drew its own "probes" figure
    page = write_report(
        synthetic_store, experiment, tmp_path / "out", figures=[("mine", own["png"])], claim="my claim"
    ).read_text()
    assert "my claim" in page
    assert page.count("<img ") == 3  # its own + heatmap + trainability (its "probes" is not redrawn)
    # its own figure (plain matplotlib) stays static; the heatmap and trainability map are also interactive
    assert page.count('class="plotly-figure"') == 2 and page.index("<figure><img ") < page.index('class="chart"')


def test_index_lists_every_experiment_with_verdict(synthetic_store):
    from tests.report.conftest import build_experiment

    build_experiment(synthetic_store, experiment="ffff000000000000", name="second", theory=False, probes=False)
    write_report(synthetic_store, "ffff000000000000")
    page = write_index(synthetic_store).read_text()
    assert page.count("<tr><td") == 2
    assert "pass 0.031" in page and 'href="ffff000000000000/report/index.html"' in page
