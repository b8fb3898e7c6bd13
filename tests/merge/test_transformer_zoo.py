"""The transformer zoo family: sequence tasks, splits, presets and the BERT layout (checked
against Hugging Face's own BertModel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from models import features  # type: ignore[import-not-found]
from presets import zoo_specs  # type: ignore[import-not-found]
from seq_tasks import (  # type: ignore[import-not-found]
    CLS,
    LENGTH,
    VOCAB,
    apply_transform,
    parse_seq_task,
    sample_sequences,
    split_data,
)
from transformer_zoo import (  # type: ignore[import-not-found]
    POOL,
    SIZES,
    TransformerZooSpec,
    build_transformer_zoo,
    init_weights,
)
from zoo import Recipe  # type: ignore[import-not-found]


def test_pool_tasks_parse_and_label_maps_apply() -> None:
    assert len(set(POOL)) >= 12
    for spec in POOL:
        parse_seq_task(spec)
    seqs, classes = sample_sequences(50, np.random.default_rng(0))
    assert seqs.shape == (50, LENGTH) and seqs.min() >= 0 and seqs.max() < VOCAB
    x, y = parse_seq_task("reverse:parity").apply(seqs, classes, np.arange(50))
    assert (x[:, 0] == CLS).all()
    np.testing.assert_array_equal(x[:, 1:], seqs[:, ::-1])
    np.testing.assert_array_equal(y, classes % 2)


def test_transforms_do_what_they_say() -> None:
    s = np.arange(LENGTH)[None, :] % VOCAB
    ids = np.zeros(1, dtype=np.int64)
    np.testing.assert_array_equal(apply_transform("swap", s, ids)[0, : LENGTH // 2],
                                  s[0, LENGTH // 2 :])
    np.testing.assert_array_equal(apply_transform("shift3", s, ids), (s + 3) % VOCAB)
    np.testing.assert_array_equal(apply_transform("mirror", s, ids), VOCAB - 1 - s)
    np.testing.assert_array_equal(apply_transform("roll1", s, ids)[0, 1:], s[0, :-1])
    inter = apply_transform("interleave", s, ids)[0]
    assert inter[: LENGTH // 2].tolist() == s[0, 0::2].tolist()
    perm = apply_transform("perm5", s, ids)
    assert sorted(perm[0].tolist()) == sorted(set(perm[0].tolist())) and perm.shape == s.shape
    many = np.repeat(s, 3, axis=0)
    a = apply_transform("noise50", many, np.array([1, 2, 1]))
    assert (a[0] == a[2]).all() and (a[0] != a[1]).any()  # fixed per sample id, not per call


@pytest.mark.parametrize("bad", ["reverse", "reverse:colour", "spin:parity", "noise200:parity", 3])
def test_bad_task_specs_name_the_problem(bad: object) -> None:
    with pytest.raises(ValueError, match="task"):
        parse_seq_task(bad)  # type: ignore[arg-type]


def test_splits_are_disjoint_and_distinct() -> None:
    split = split_data(3, SIZES)
    seen: set[bytes] = set()
    ids: set[int] = set()
    for name, (seqs, classes, sample_ids) in split.items():
        assert len(seqs) == SIZES[name] and len(classes) == len(seqs)
        rows = {r.tobytes() for r in seqs}
        assert len(rows) == len(seqs) and not rows & seen
        assert not set(sample_ids.tolist()) & ids
        seen |= rows
        ids |= set(sample_ids.tolist())
    a, b = split_data(3, SIZES), split_data(4, SIZES)
    assert not np.array_equal(a["train"][0], b["train"][0])


def test_transformer_preset_resolves_to_specs_with_disjoint_splits() -> None:
    search = zoo_specs({"preset": "transformer"})
    held = zoo_specs({"preset": "transformer", "split": "heldout"})
    assert all(isinstance(s, TransformerZooSpec) for s in search + held)
    assert len(search) == 3 and search[0].layers >= 2 and search[0].family == "bert"
    assert {s.seed for s in search}.isdisjoint({s.seed for s in held})
    assert search[0].tasks != held[0].tasks
    with pytest.raises(ValueError, match=r"evaluator.config.zoo: unknown keys \['width'\]"):
        zoo_specs({"preset": "transformer", "zoo": {"width": 3}})
    with pytest.raises(ValueError, match="unknown label map"):
        zoo_specs({"preset": "transformer", "search": {"tasks": ["reverse:colour"]}})


def _hf_bert(spec: TransformerZooSpec) -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=VOCAB + 1, hidden_size=spec.hidden,
                     num_hidden_layers=spec.layers, num_attention_heads=spec.heads,
                     intermediate_size=spec.intermediate, max_position_embeddings=LENGTH + 1,
                     hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0)
    return BertModel(cfg).eval()


def test_weights_are_a_hugging_face_bert_with_the_same_forward_pass() -> None:
    spec = TransformerZooSpec(seed=0, tasks=("identity:identity",), hidden=32, heads=4,
                              intermediate=64)
    g = torch.Generator().manual_seed(1)
    w = {k: v + 0.05 * torch.randn(v.shape, generator=g) for k, v in
         init_weights(spec, torch.Generator().manual_seed(0)).items()}
    model = _hf_bert(spec)
    # strict: exactly BERT's parameter names and shapes, nothing missing, nothing extra
    model.load_state_dict(w, strict=True)
    assert "encoder.layer.1.attention.self.query.weight" in w
    ids = torch.randint(0, VOCAB, (6, LENGTH + 1), generator=g)
    ids[:, 0] = CLS
    with torch.no_grad():
        ref = model(input_ids=ids).pooler_output
        ours = features({"family": "bert", "heads": spec.heads}, w, ids)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_built_zoo_holds_bert_experts_heads_and_frozen_embeddings(tmp_path: Path) -> None:
    spec = TransformerZooSpec(seed=5, tasks=("reverse:parity", "shift3:mod3"), hidden=16,
                              heads=2, intermediate=32, pretrain=Recipe(steps=30, batch=32),
                              finetune=Recipe(optimizer="sgd", steps=20, lr=0.01, batch=16))
    out = tmp_path / "zoo"
    meta = build_transformer_zoo(spec, out)
    assert meta["model"] == {"family": "bert", "heads": 2}
    with np.load(out / "zoo.npz") as z:
        names = [k[5:] for k in z.files if k.startswith("base/")]
        assert sorted(names) == sorted(_hf_bert(spec).state_dict())
        for k, classes in enumerate((2, 3)):
            assert z[f"head{k}/W"].shape == (classes, 16)
            assert z[f"val{k}/x"].shape[1] == LENGTH + 1
            # embeddings stay frozen in fine-tuning; the encoder moves
            for n in names:
                same = np.array_equal(z[f"base/{n}"], z[f"expert{k}/{n}"])
                assert same == n.startswith("embeddings."), n
