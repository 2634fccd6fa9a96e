"""``streamscore report``: the dashboards' panels as PNG charts, straight from Prometheus.

For people who would rather look than read, and for places without Grafana: every panel of
every dashboard in ``streaming.dashboards`` is queried over the last minutes (``query_range``,
variables at "All") and drawn with matplotlib, one PNG per dashboard.

Example Usage::

    paths = render_report(config, minutes=30, out=Path("reports"))
"""

from __future__ import annotations

import datetime
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from streaming.config import Config
from streaming.dashboards import DASHBOARDS, render, substitute
from streaming.errors import ServiceUnavailable


def query_range(config: Config, expr: str, start: float, end: float, step_s: float) -> list[dict]:
    """The ``result`` of Prometheus' ``/api/v1/query_range`` (a list of series)."""
    query = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": f"{step_s:g}s"})
    try:
        with urllib.request.urlopen(f"{config.prometheus.url}/api/v1/query_range?{query}", timeout=30) as response:
            return json.loads(response.read())["data"]["result"]
    except urllib.error.HTTPError as error:
        raise ValueError(f"Prometheus refused {expr!r}: {error.read().decode()[:300]}") from None
    except (OSError, urllib.error.URLError):
        raise ServiceUnavailable(f"Prometheus is not reachable at {config.prometheus.url} "
                                 "(start it with `streamscore stack up`)") from None


def render_report(config: Config, minutes: int, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = time.time()
    start = end - minutes * 60
    step = max(5.0, minutes * 60 / 400)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.fromtimestamp(end, datetime.timezone.utc).strftime("%Y-%m-%dT%H%MZ")
    paths = []
    for dashboard in DASHBOARDS:
        model = render(dashboard.uid)
        panels = model["panels"]
        columns = 2
        rows = math.ceil(len(panels) / columns)
        figure, axes = plt.subplots(rows, columns, figsize=(14, 3.2 * rows), squeeze=False)
        for axis, panel in zip(axes.flat, panels):
            drawn = 0
            for target in panel["targets"]:
                for series in query_range(config, substitute(target["expr"]), start, end, step):
                    times = [datetime.datetime.fromtimestamp(float(t), datetime.timezone.utc) for t, _ in series["values"]]
                    values = [float(v) for _, v in series["values"]]
                    axis.plot(times, values, label=_legend(target["legendFormat"], series["metric"])[:60])
                    drawn += 1
            axis.set_title(panel["title"], fontsize=10)
            if drawn == 0:
                axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes, color="grey")
            elif drawn <= 8:
                axis.legend(fontsize=7)
            axis.tick_params(labelsize=7)
        for axis in list(axes.flat)[len(panels):]:
            axis.axis("off")
        figure.suptitle(f"{model['title']} — last {minutes} min to {stamp}")
        figure.tight_layout()
        path = out / f"{stamp}-{dashboard.uid}.png"
        figure.savefig(path, dpi=80)
        plt.close(figure)
        paths.append(path)
    return paths


def _legend(template: str, labels: dict) -> str:
    return template.replace("{{", "{").replace("}}", "}").format_map(_Missing(labels))


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return ""
