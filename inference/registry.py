"""The model registry: versioned ONNX models on disk, and which version serves.

Layout (Triton's model-repository convention, with ``metadata.json`` for ``config.pbtxt``)::

    <root>/<name>/SERVING                  the serving version, e.g. "3" (replaced atomically)
    <root>/<name>/<version>/model.onnx     the fp32 model
    <root>/<name>/<version>/model.int8.onnx, model.fp16.onnx   optional variants
    <root>/<name>/<version>/metadata.json  signature, features, preprocessing, training, metrics,
                                           sha256 of every file, created_at

A new version is a new folder, never an overwrite. Loading verifies every file's checksum and the
declared signature against the ONNX graph.

Example Usage::

    registry = ModelRegistry("models")
    version = registry.publish("fraud", "build/model.onnx", metadata)
    registry.set_serving("fraud", version)
    model = registry.load("fraud")            # the serving version, verified
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from streaming.errors import UserError

VARIANT_FILES = {"fp32": "model.onnx", "fp16": "model.fp16.onnx", "int8": "model.int8.onnx"}


class RegistryError(UserError):
    """A model is missing, corrupt, or does not match its declared signature."""


@dataclass(frozen=True)
class ModelVersion:
    """One verified version of a model: where its files are and what it declares."""

    name: str
    version: str
    path: Path
    metadata: dict

    def resolve_variant(self, variant: str = "auto") -> str:
        """``auto`` is the variant the model declares as its default (``default_variant``), else fp32."""
        return self.metadata.get("default_variant", "fp32") if variant == "auto" else variant

    def file(self, variant: str = "auto") -> Path:
        variant = self.resolve_variant(variant)
        if variant not in VARIANT_FILES:
            raise RegistryError(f"unknown model variant {variant!r} (auto, fp32, fp16, int8)")
        path = self.path / VARIANT_FILES[variant]
        if not path.exists():
            raise RegistryError(f"{self.name} version {self.version} has no {variant} variant")
        return path

    @property
    def tag(self) -> str:
        """What every output carries: ``<name>:<version>``."""
        return f"{self.name}:{self.version}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelRegistry:
    """Versions of models in a folder; see the module docstring for the layout."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def versions(self, name: str) -> list[str]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted((p.name for p in folder.iterdir() if p.is_dir() and p.name.isdigit()), key=int)

    def serving_version(self, name: str) -> str:
        pointer = self.root / name / "SERVING"
        try:
            return pointer.read_text().strip()
        except FileNotFoundError:
            raise RegistryError(f"no serving version of model {name!r} in {self.root} "
                                f"(build one with `streamscore models build {name}`)") from None

    def set_serving(self, name: str, version: str) -> None:
        """Point ``SERVING`` at ``version``; readers see the old or the new value, never a mix."""
        if version not in self.versions(name):
            raise RegistryError(f"model {name!r} has no version {version}")
        pointer = self.root / name / "SERVING"
        staging = pointer.with_suffix(".tmp")
        staging.write_text(version + "\n")
        os.replace(staging, pointer)

    def publish(self, name: str, files: dict[str, str | os.PathLike], metadata: dict) -> str:
        """Copy a model's files into a new version folder and write its metadata.

        Args:
            name: model name.
            files: variant (``fp32``, ``fp16``, ``int8``) to ONNX file, plus any extra files
                (e.g. ``tokenizer.json``) under their own names; at least one variant.
            metadata: signature, features, preprocessing, training data and metrics.

        Returns:
            The new version (the next integer).
        """
        if not set(files) & set(VARIANT_FILES):
            raise RegistryError(f"a model version needs a model file ({', '.join(VARIANT_FILES)})")
        existing = self.versions(name)
        version = str(int(existing[-1]) + 1 if existing else 1)
        staging = self.root / name / f".{version}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        checksums = {}
        for key, source in files.items():
            target = VARIANT_FILES.get(key, key)
            shutil.copyfile(source, staging / target)
            checksums[target] = sha256_file(staging / target)
        document = {**metadata, "name": name, "version": version, "sha256": checksums,
                    "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        (staging / "metadata.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        os.replace(staging, self.root / name / version)
        return version

    def load(self, name: str, version: str | None = None) -> ModelVersion:
        """A verified version (the serving one by default).

        Raises:
            RegistryError: missing version, a checksum that does not match, or a signature that
                differs from the ONNX graph's inputs and outputs.
        """
        version = version or self.serving_version(name)
        path = self.root / name / version
        try:
            metadata = json.loads((path / "metadata.json").read_text())
        except FileNotFoundError:
            raise RegistryError(f"model {name!r} has no version {version} in {self.root}") from None
        for filename, expected in metadata.get("sha256", {}).items():
            if not (path / filename).exists():
                raise RegistryError(f"{name} version {version}: {filename} is missing")
            if sha256_file(path / filename) != expected:
                raise RegistryError(f"{name} version {version}: {filename} does not match its sha256")
        model = ModelVersion(name, version, path, metadata)
        for variant, filename in VARIANT_FILES.items():
            if (path / filename).exists():
                verify_signature(model, path / filename)
        return model


def graph_signature(onnx_path: Path) -> dict:
    """Inputs and outputs of an ONNX graph as ``{"inputs": [...], "outputs": [...]}``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def describe(args):
        return [{"name": a.name, "dtype": a.type, "shape": [d if isinstance(d, int) else None for d in a.shape]}
                for a in args]
    return {"inputs": describe(session.get_inputs()), "outputs": describe(session.get_outputs())}


def verify_signature(model: ModelVersion, onnx_path: Path) -> None:
    declared = {"inputs": model.metadata.get("inputs"), "outputs": model.metadata.get("outputs")}
    actual = graph_signature(onnx_path)
    for side in ("inputs", "outputs"):
        if declared[side] is None:
            raise RegistryError(f"{model.tag}: metadata.json declares no {side}")
        if _names_types(declared[side]) != _names_types(actual[side]):
            raise RegistryError(f"{model.tag}: {onnx_path.name} {side} {_names_types(actual[side])} "
                                f"differ from metadata.json {_names_types(declared[side])}")


def _names_types(args: list[dict]) -> list[tuple]:
    return [(a["name"], a["dtype"], tuple(a.get("shape") or [])) for a in args]
