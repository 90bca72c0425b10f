"""The report in headless Chromium, network blocked: every image decodes, the interactive charts draw and their
scale toggles work, nothing is fetched over the network, no console errors, the table sorts.

The page is loaded through a copy with a checking script injected first in <head> (the report
itself contains no test hooks): it records uncaught errors and console.error calls, and on
``load`` writes into the DOM how many <img> decoded (``complete`` and ``naturalWidth > 0``),
which resources were fetched over the network (Resource Timing: none; it lists no file: or
data: URL), which scripts the page loaded (plotly.js only, from the copy's own assets folder by
a relative path), how many plotly charts drew (a ``.main-svg`` and at least one trace), the
first chart's y-axis type before and after clicking its ``y: linear`` button, and whether
clicking the ``run`` column header sorts the runs table. ``--dump-dom`` prints that DOM. The
checked report is one of a store copied to another folder, so it must open with only what the
copy holds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from descentlab.report.html import write_report

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary on PATH (.ci/run installs Debian's chromium: apt-get install -y chromium)",
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
    "--window-size=1280,2000",
]

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function(e){ window.__errors.push('error: ' + (e.message || e.target.src)); }, true);
var __ce = console.error; console.error = function(){ window.__errors.push('console: ' + [].join.call(arguments, ' '));
  __ce.apply(console, arguments); };
window.addEventListener('load', function(){
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function(i){ return i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; }).length;
  var table = document.querySelector('table.sortable'), th = table.tHead.rows[0].cells[0];
  th.click(); th.click();  // descending by run
  var first = table.tBodies[0].rows[0].cells[0].textContent;
  var charts = Array.prototype.slice.call(document.querySelectorAll('div.chart'));
  var drawn = charts.filter(function(d){
    return d.querySelector('.main-svg') && d.querySelectorAll('.scatterlayer .trace path, .heatmaplayer image').length;
  }).length;
  var gd = charts[0], before = gd.layout && gd.layout.yaxis.type;
  var paths = gd.querySelectorAll('.scatterlayer .trace path.js-line').length;
  var button = Array.prototype.slice.call(gd.querySelectorAll('g.updatemenu-button')).filter(function(b){
    return b.textContent === 'y: linear'; })[0];
  if (button) { button.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
  setTimeout(function(){
    var names = performance.getEntriesByType('resource').map(function(r){ return r.name; });
    var out = document.createElement('pre'); out.id = '__check';
    out.textContent = JSON.stringify({images: imgs.length, decoded: ok, first_run: first, charts: charts.length,
      drawn: drawn, line_paths: paths, yaxis_before: before, yaxis_after: gd.layout && gd.layout.yaxis.type,
      folded: document.querySelectorAll('details.static:not([open])').length,
      plotly: typeof Plotly === 'object',
      scripts: Array.prototype.map.call(document.querySelectorAll('script[src]'), function(e){ return e.src; }),
      network: names.filter(function(n){ return !/^(data|file):/.test(n); }), errors: window.__errors});
    document.body.appendChild(out);
  }, 300);
});
</script>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=60
    )


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def test_report_renders_offline_without_errors(synthetic_store, tmp_path):
    import json

    experiment = synthetic_store.experiments()[0]
    report = write_report(synthetic_store, experiment)
    page = report.read_text()
    # the store copied elsewhere: the report must open from the copy alone
    copy = tmp_path / "copied"
    shutil.copytree(synthetic_store.root, copy)
    checked = copy / experiment / "report" / "checked.html"
    checked.write_text(page.replace("<head>", "<head>" + PROBE, 1))

    shot = tmp_path / "report.png"
    result = chromium(f"--screenshot={shot}", report.as_uri(), profile=tmp_path / "profile-a")
    assert shot.exists() and shot.stat().st_size > 20_000, result.stderr[-2000:]
    assert not console_errors(result.stderr), console_errors(result.stderr)

    result = chromium("--dump-dom", checked.as_uri(), profile=tmp_path / "profile-b")
    match = re.search(r'<pre id="__check">(.*?)</pre>', result.stdout, re.S)
    assert match, (result.stdout[-500:], result.stderr[-2000:])
    check = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert check["images"] == page.count("<img ") == 5
    assert check["decoded"] == check["images"]
    # every figure is also an interactive chart, drawn (an SVG with traces), its static image folded away
    assert check["charts"] == page.count('class="plotly-figure"') == 5
    assert check["drawn"] == check["charts"] and check["folded"] == check["charts"]
    assert check["line_paths"] >= 1
    # the scale toggle changes the axis
    assert (check["yaxis_before"], check["yaxis_after"]) == ("log", "linear")
    # nothing over the network: plotly.js is the copy's own file, by a relative path
    assert check["network"] == []
    assert check["plotly"] and check["scripts"] == [(copy / "assets" / "plotly.min.js").as_uri()]
    assert check["errors"] == []
    assert check["first_run"] == str(int(synthetic_store.read(experiment, "runs")["run"].max()))
    assert not console_errors(result.stderr), console_errors(result.stderr)
