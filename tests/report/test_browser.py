"""The report in headless Chromium, network blocked: every image decodes, no console errors, the table sorts.

The page is loaded through a copy with a checking script injected first in <head> (the report
itself contains no test hooks): it records uncaught errors and console.error calls, and on
``load`` writes into the DOM how many <img> decoded (``complete`` and ``naturalWidth > 0``), how
many resources were fetched over the network (Resource Timing; data: URIs are not fetched), and
whether clicking the ``run`` column header sorts the runs table. ``--dump-dom`` prints that DOM.
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
  var net = performance.getEntriesByType('resource').filter(function(r){ return !/^data:/.test(r.name); }).length;
  var table = document.querySelector('table.sortable'), th = table.tHead.rows[0].cells[0];
  th.click(); th.click();  // descending by run
  var first = table.tBodies[0].rows[0].cells[0].textContent;
  var out = document.createElement('pre'); out.id = '__check';
  out.textContent = JSON.stringify({images: imgs.length, decoded: ok, network: net, first_run: first,
                                    errors: window.__errors});
  document.body.appendChild(out);
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
    checked = report.with_name("checked.html")
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
    assert check["network"] == 0
    assert check["errors"] == []
    assert check["first_run"] == str(int(synthetic_store.read(experiment, "runs")["run"].max()))
    assert not console_errors(result.stderr), console_errors(result.stderr)
