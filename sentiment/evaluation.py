"""Sentiment model quality: accuracy, macro-F1 and per-class figures, through the serving path.

``streamscore sentiment evaluate --data CSV`` scores a ``label,text`` file with the serving
sentiment model exactly as the job does (tokenizer, ONNX Runtime, the configured variant) and
prints these figures.

Example Usage::

    figures = evaluate_csv(config, Path("holdout.csv"))
    figures["accuracy"], figures["macro_f1"], figures["per_class"]["negative"]["f1"]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from streaming.config import Config
from streaming.errors import UserError

LABELS = ["negative", "neutral", "positive"]


def classification_metrics(gold: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    gold, predicted = np.asarray(gold, dtype=object), np.asarray(predicted, dtype=object)
    per_class = {}
    for label in LABELS:
        true_positive = int(np.sum((predicted == label) & (gold == label)))
        predicted_n, support = int(np.sum(predicted == label)), int(np.sum(gold == label))
        precision = true_positive / predicted_n if predicted_n else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return {
        "n": len(gold),
        "accuracy": float(np.mean(gold == predicted)) if len(gold) else 0.0,
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])),
        "per_class": per_class,
        # rows: true label, columns: predicted label, both in LABELS order
        "confusion": [[int(np.sum((gold == t) & (predicted == p))) for p in LABELS] for t in LABELS],
    }


def read_labelled_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} could not be read as CSV: {exc}") from None
    missing = {"label", "text"} - set(frame.columns)
    if missing:
        raise UserError(f"{path} needs the columns label,text (missing: {', '.join(sorted(missing))})")
    unknown = sorted(set(frame["label"]) - set(LABELS))
    if unknown:
        raise UserError(f"{path}: unknown labels {unknown} (expected {', '.join(LABELS)})")
    return frame


def evaluate_csv(config: Config, path: Path) -> dict:
    """Score ``path`` with the serving sentiment model; the figures plus the model that made them."""
    from inference.operator import scorer_settings
    from inference.registry import ModelRegistry
    from inference.scorer import BatchScorer, RollingMetrics

    frame = read_labelled_csv(path)
    scorer = BatchScorer(ModelRegistry(config.inference.registry_dir), config.sentiment.model,
                         scorer_settings(config), RollingMetrics())
    scorer.open(watch=False)
    predicted = []
    for start in range(0, len(frame), 1024):
        scored = scorer.score([frame["text"].iloc[start:start + 1024].reset_index(drop=True)])
        predicted.extend(scored["label"].fillna("unscored"))
    figures = classification_metrics(frame["label"].to_numpy(), np.array(predicted, dtype=object))
    return {**figures, "model_version": scorer.model.tag, "variant": scorer.variant, "data": str(path)}
