import json

from streaming.dashboards import DASHBOARDS, DASHBOARD_DIR, panel_queries, render, stale_dashboards, substitute


def test_the_committed_dashboards_are_the_generated_ones():
    assert stale_dashboards() == []


def test_dashboards_have_stable_unique_uids_and_use_the_datasource_variable():
    uids = [d.uid for d in DASHBOARDS]
    assert len(set(uids)) == len(uids) == len(list(DASHBOARD_DIR.glob("*.json")))
    for uid in uids:
        model = json.loads((DASHBOARD_DIR / f"{uid}.json").read_text())
        assert model["uid"] == uid
        assert model["templating"]["list"][0]["type"] == "datasource"
        for panel in model["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"], panel["title"]


def test_variables_are_substituted_as_grafana_sends_them():
    queries = [expr for d in DASHBOARDS for _, expr in panel_queries(render(d.uid))]
    for expr in map(substitute, queries):
        assert "$" not in expr, expr
