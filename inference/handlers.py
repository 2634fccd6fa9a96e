"""Model handlers: how a model's inputs are built from columns and its outputs read back.

A handler owns only "turn a batch of column values into model inputs, flagging the rows that
cannot be scored" and "turn model outputs into result columns". Batching, swapping and metrics
belong to ``inference.scorer``. Which handler a model uses is declared in its metadata
(``"handler": "tabular"`` or ``"text"``).

Example Usage::

    handler = handler_for(model)
    batch = handler.prepare([amounts, counts])
    outputs = runner.run(batch.inputs)
    results = handler.results(outputs)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from inference.registry import ModelVersion


@dataclass
class PreparedBatch:
    """Model inputs for the scorable rows of a batch, and why the other rows cannot be scored."""

    inputs: dict[str, np.ndarray]
    valid: np.ndarray  # bool per input row
    reasons: np.ndarray  # object per input row: None, or "<code>: <detail>"
    # Input row i is the order[i]-th valid row (None: in order); results come back in input order.
    order: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.valid.sum())


class TabularHandler:
    """Named feature columns → one numeric matrix per model input; outputs → a probability.

    Metadata: ``features`` (column order: a list of names for a one-input model, or a list of
    ``{"input": name, "columns": [...]}`` for several inputs), ``inputs`` (the signature, which
    gives each input's dtype),
    ``probability_output`` (the ``[n, classes]`` probabilities) and ``positive_class``.
    """

    result_columns = ("score",)

    def __init__(self, metadata: dict):
        features = metadata["features"]
        if all(isinstance(f, str) for f in features):
            features = [{"input": metadata["inputs"][0]["name"], "columns": features}]
        dtypes = {i["name"]: _NUMPY_DTYPES[i["dtype"]] for i in metadata["inputs"]}
        self.features: list[str] = [column for group in features for column in group["columns"]]
        self.groups: list[tuple[str, slice, np.dtype]] = []
        start = 0
        for group in features:
            end = start + len(group["columns"])
            self.groups.append((group["input"], slice(start, end), dtypes[group["input"]]))
            start = end
        self.probability_output: str = metadata.get("probability_output", metadata["outputs"][-1]["name"])
        self.positive_class: int = metadata.get("positive_class", 1)

    def prepare(self, columns: list[pd.Series]) -> PreparedBatch:
        if len(columns) != len(self.features):
            raise ValueError(f"model takes {len(self.features)} features, the job passes {len(columns)}")
        matrix = np.column_stack([pd.to_numeric(c, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                                  for c in columns])
        finite = np.isfinite(matrix)
        valid = finite.all(axis=1)
        reasons = np.full(len(matrix), None, dtype=object)
        for row in np.flatnonzero(~valid):
            column = int(np.flatnonzero(~finite[row])[0])
            kind = "missing_feature" if np.isnan(matrix[row, column]) else "non_finite_feature"
            reasons[row] = f"{kind}: {self.features[column]}"
        scorable = matrix[valid]
        inputs = {name: np.ascontiguousarray(scorable[:, columns_of], dtype=dtype)
                  for name, columns_of, dtype in self.groups}
        return PreparedBatch(inputs, valid, reasons)

    def trim(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return inputs

    def results(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        probabilities = outputs[self.probability_output]
        if isinstance(probabilities, list):  # ZipMap output: a list of {class: probability}
            probabilities = np.array([[row[k] for k in sorted(row)] for row in probabilities])
        return {"score": np.asarray(probabilities, dtype=np.float64)[:, self.positive_class]}


_NUMPY_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
                 "tensor(int64)": np.int64, "tensor(int32)": np.int32}


class TextHandler:
    """Texts → token ids and attention mask with the model's tokenizer; logits → class probabilities.

    Metadata: ``labels`` (class names in output order), ``max_length``, ``tokenizer`` (file name in
    the version folder, a ``tokenizers`` JSON), ``logits_output``.
    """

    def __init__(self, metadata: dict, model: ModelVersion):
        from tokenizers import Tokenizer

        self.labels: list[str] = metadata["labels"]
        self.max_length: int = metadata["max_length"]
        self.logits_output: str = metadata.get("logits_output", metadata["outputs"][0]["name"])
        self.input_names = [i["name"] for i in metadata["inputs"]]
        self.tokenizer = Tokenizer.from_file(str(model.path / metadata["tokenizer"]))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        self.pad_id = metadata.get("pad_id", 0)
        self.result_columns = (*self.labels, "label")

    def prepare(self, columns: list[pd.Series]) -> PreparedBatch:
        """Token ids sorted by length, so each chunk of the batch pads only to its own longest text."""
        texts = columns[0]
        present = texts.notna().to_numpy()
        stripped = texts.where(present, "").astype(str).str.strip()
        valid = present & (stripped.str.len() > 0).to_numpy()
        reasons = np.where(valid, None, "empty_text: nothing to score after cleaning").astype(object)
        encodings = self.tokenizer.encode_batch(stripped[valid].tolist()) if valid.any() else []
        lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
        order = np.argsort(lengths, kind="stable")
        ids = np.full((len(encodings), int(lengths.max(initial=1))), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, index in enumerate(order):
            ids[row, :lengths[index]] = encodings[index].ids
            mask[row, :lengths[index]] = 1
        inputs = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            inputs["token_type_ids"] = np.zeros_like(ids)
        return PreparedBatch({k: v for k, v in inputs.items() if k in self.input_names}, valid, reasons, order)

    def trim(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A chunk's inputs without the padding columns no row of the chunk needs."""
        width = int(inputs["attention_mask"].sum(axis=1).max(initial=1))
        return {name: value[:, :width] for name, value in inputs.items()}

    def results(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        logits = np.asarray(outputs[self.logits_output], dtype=np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        results = {label: probabilities[:, i] for i, label in enumerate(self.labels)}
        results["label"] = np.array(self.labels, dtype=object)[probabilities.argmax(axis=1)]
        return results


def handler_for(model: ModelVersion):
    kind = model.metadata.get("handler", "tabular")
    if kind == "tabular":
        return TabularHandler(model.metadata)
    if kind == "text":
        return TextHandler(model.metadata, model)
    raise ValueError(f"{model.tag}: unknown handler {kind!r}")
