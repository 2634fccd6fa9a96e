import json

import pytest

from inference.registry import ModelRegistry, RegistryError
from tests.support.onnx_models import logistic_model, publish_tabular, two_input_model


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models")


def test_versions_are_new_folders_and_serving_points_at_one(registry, tmp_path):
    first = publish_tabular(registry, "m", logistic_model(tmp_path / "a.onnx", [1, 2]), ["x", "y"])
    second = publish_tabular(registry, "m", logistic_model(tmp_path / "b.onnx", [3, 4]), ["x", "y"], serve=False)
    assert (first, second) == ("1", "2") and registry.versions("m") == ["1", "2"]
    assert registry.serving_version("m") == "1"
    registry.set_serving("m", "2")
    model = registry.load("m")
    assert model.tag == "m:2" and model.metadata["features"] == ["x", "y"]
    assert set(model.metadata["sha256"]) == {"model.onnx"} and model.metadata["created_at"]


def test_a_changed_model_file_fails_its_checksum(registry, tmp_path):
    publish_tabular(registry, "m", logistic_model(tmp_path / "a.onnx", [1, 2]), ["x", "y"])
    logistic_model(registry.root / "m" / "1" / "model.onnx", [9, 9])
    with pytest.raises(RegistryError, match="does not match its sha256"):
        registry.load("m")


def test_a_signature_that_differs_from_the_graph_is_refused(registry, tmp_path):
    publish_tabular(registry, "m", two_input_model(tmp_path / "a.onnx"), [{"input": "numeric", "columns": ["a", "b"]},
                                                                          {"input": "category", "columns": ["c"]}])
    meta_path = registry.root / "m" / "1" / "metadata.json"
    metadata = json.loads(meta_path.read_text())
    metadata["inputs"][1]["dtype"] = "tensor(float)"
    meta_path.write_text(json.dumps(metadata))
    with pytest.raises(RegistryError, match="differ from metadata.json"):
        registry.load("m")


def test_missing_models_say_how_to_build_them(registry):
    with pytest.raises(RegistryError, match="streamscore models build fraud"):
        registry.load("fraud")
    with pytest.raises(RegistryError, match="no version 7"):
        registry.set_serving("fraud", "7")
