"""make check-deploy's validator on the shipped manifests and on broken copies of them.

Needs the schemas and kubectl that `make setup` puts in .cache/deploy-check (no network).
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from streaming.deploy_check import DEPLOY, TOOLS, Schemas, check_kustomization, check_manifest, check_paths, main


@pytest.fixture(scope="module")
def schemas():
    return Schemas.load()


def _problems(results):
    return [problem for _, problems in results for problem in problems]


def _write(path: Path, *documents) -> Path:
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def _fraud() -> dict:
    return yaml.safe_load((DEPLOY / "k8s" / "fraud.yaml").read_text())


def test_the_shipped_manifests_and_their_kustomize_rendering_pass(capsys):
    assert main([]) == 0
    output = capsys.readouterr().out
    assert "FAIL" not in output
    for kind in ("FlinkDeployment/streamscore-fraud", "FlinkDeployment/streamscore-sentiment",
                 "PodMonitor/streamscore-flink", "ConfigMap/streamscore-grafana-dashboards"):
        assert f"(rendered by kustomize): {kind}" in output


def test_a_wrong_type_in_a_flink_deployment_fails(schemas, tmp_path):
    fraud = _fraud()
    fraud["spec"]["job"]["parallelism"] = "four"
    fraud["spec"]["flinkVersion"] = "v2_9"
    problems = _problems(check_manifest(_write(tmp_path / "fraud.yaml", fraud), schemas))
    assert "spec.job.parallelism: 'four' is not of type 'integer'" in problems
    assert any(p.startswith("spec.flinkVersion: 'v2_9' is not one of") for p in problems)


def test_an_unknown_field_fails_in_a_builtin_kind_and_in_a_pod_template(schemas, tmp_path):
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}},
                           "template": {"metadata": {"labels": {"a": "b"}},
                                        "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicyy": "Always"}]}}}}
    fraud = _fraud()
    fraud["spec"]["podTemplate"]["spec"]["containers"][0]["portz"] = []
    problems = _problems(check_manifest(_write(tmp_path / "two.yaml", deployment, fraud), schemas))
    assert "spec.template.spec.containers.0: Additional properties are not allowed ('imagePullPolicyy' was unexpected)" in problems
    assert "spec.podTemplate.spec.containers.0: Additional properties are not allowed ('portz' was unexpected)" in problems


def test_an_unknown_kind_fails_instead_of_being_skipped(schemas, tmp_path):
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert _problems(check_manifest(_write(tmp_path / "widget.yaml", widget), schemas)) == [
        "no schema for kind Widget of example.com/v1: an unknown kind, or a typo"]


def test_flink_configuration_must_agree_with_the_local_stack(schemas, tmp_path):
    fraud = _fraud()
    fraud["spec"]["flinkConfiguration"]["execution.checkpointing.interval"] = "60s"
    del fraud["spec"]["flinkConfiguration"]["pipeline.auto-watermark-interval"]
    problems = _problems(check_manifest(_write(tmp_path / "fraud.yaml", fraud), schemas))
    assert "spec.flinkConfiguration.execution.checkpointing.interval is '60s'; deploy/flink/config.yaml has '10s'" in problems
    assert "spec.flinkConfiguration.pipeline.auto-watermark-interval is missing; deploy/flink/config.yaml has '50ms'" in problems


def test_a_job_configuration_with_an_unknown_key_fails(schemas, tmp_path):
    (tmp_path / "streamscore.json").write_text(json.dumps({"kafka": {"passwrd_file": "/x"}}))
    assert _problems(check_paths([tmp_path], schemas)) == ["unknown config key kafka.passwrd_file"]


def test_a_dashboard_left_out_of_the_kustomization_fails(schemas, tmp_path):
    deploy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, deploy, ignore=shutil.ignore_patterns("maven", "kafka", "redis"))
    kustomization = deploy / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("      - grafana/dashboards/streamscore-pipeline.json\n", ""))
    problems = _problems(check_kustomization(deploy, schemas, TOOLS / "bin" / "kubectl"))
    assert problems == ["ConfigMap streamscore-grafana-dashboards lacks streamscore-pipeline.json: "
                        "list them in deploy/kustomization.yaml"]
