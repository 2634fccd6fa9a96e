"""Small ONNX models built in the tests with the onnx helper, published to a throwaway registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inference.registry import ModelRegistry, graph_signature

OPSET = [helper.make_opsetid("", 17)]


def _save(graph, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET)
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def logistic_model(path: Path, weights, bias: float = 0.0) -> Path:
    """features float[N, k] → probabilities float[N, 2] = [1 - p, p], p = sigmoid(x·w + b)."""
    k = len(weights)
    w = numpy_helper.from_array(np.array(weights, dtype=np.float32).reshape(k, 1), "w")
    b = numpy_helper.from_array(np.array([bias], dtype=np.float32), "b")
    one = numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one")
    nodes = [
        helper.make_node("MatMul", ["features", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["p"]),
        helper.make_node("Sub", ["one", "p"], ["q"]),
        helper.make_node("Concat", ["q", "p"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "logistic",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", k])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        initializer=[w, b, one])
    return _save(graph, path)


def two_input_model(path: Path) -> Path:
    """numeric float[N, 2] and category int64[N, 1] → probabilities; p = sigmoid(a + b + 10·category)."""
    w = numpy_helper.from_array(np.array([[1.0], [1.0], [10.0]], dtype=np.float32), "w")
    one = numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one")
    nodes = [
        helper.make_node("Cast", ["category"], ["category_f"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["numeric", "category_f"], ["x"], axis=1),
        helper.make_node("MatMul", ["x", "w"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["p"]),
        helper.make_node("Sub", ["one", "p"], ["q"]),
        helper.make_node("Concat", ["q", "p"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "two_inputs",
        [helper.make_tensor_value_info("numeric", TensorProto.FLOAT, ["batch", 2]),
         helper.make_tensor_value_info("category", TensorProto.INT64, ["batch", 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        initializer=[w, one])
    return _save(graph, path)


TEXT_VOCAB = ["[PAD]", "[UNK]", "profit", "rose", "fell", "loss", "shares", "the", "warm", "up", "model"]


def text_model_and_tokenizer(folder: Path) -> tuple[Path, Path]:
    """A word-level tokenizer and a bag-of-embeddings classifier: 'rose'/'profit' positive,
    'fell'/'loss' negative, anything else neutral (labels negative, neutral, positive)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(TEXT_VOCAB)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer_path = folder / "tokenizer.json"
    tokenizer.save(str(tokenizer_path))
    embedding = np.zeros((len(TEXT_VOCAB), 3), dtype=np.float32)
    embedding[:, 1] = 1.0                       # every word leans neutral
    for word in ("profit", "rose"):
        embedding[TEXT_VOCAB.index(word)] = [0, 0, 5]
    for word in ("fell", "loss"):
        embedding[TEXT_VOCAB.index(word)] = [5, 0, 0]
    nodes = [
        helper.make_node("Gather", ["embedding", "input_ids"], ["vectors"]),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["vectors", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["logits"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "bag_of_words",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        initializer=[numpy_helper.from_array(embedding, "embedding"),
                     numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
                     numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")])
    return _save(graph, folder / "text.onnx"), tokenizer_path


def publish_tabular(registry: ModelRegistry, name: str, onnx_path: Path, features, serve: bool = True,
                    **metadata) -> str:
    version = registry.publish(name, {"fp32": onnx_path}, {
        **graph_signature(onnx_path), "handler": "tabular", "features": features,
        "probability_output": "probabilities", **metadata})
    if serve:
        registry.set_serving(name, version)
    return version


def publish_text(registry: ModelRegistry, name: str, folder: Path) -> str:
    onnx_path, tokenizer_path = text_model_and_tokenizer(folder)
    version = registry.publish(name, {"fp32": onnx_path, "tokenizer.json": tokenizer_path}, {
        **graph_signature(onnx_path), "handler": "text", "labels": ["negative", "neutral", "positive"],
        "max_length": 16, "tokenizer": "tokenizer.json", "logits_output": "logits"})
    registry.set_serving(name, version)
    return version
