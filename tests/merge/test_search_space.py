"""The seed's search space is robust: guards sit outside the EVOLVE-BLOCK, the layer knob reads
both `layers.<i>` and `encoder.layer.<i>` names, and `codeevo merge` warns when it matches none."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from conftest import PROBLEM, load_program
from safetensors.torch import save_file

from codeevo.candidate import Candidate
from codeevo.config import OperatorConfig, ProblemConfig, StageConfig
from codeevo.mutation.ast_ops import AstMutationOperator
from codeevo.mutation.base import ParentView, ProposalRequest
from codeevo.mutation.blocks import split
from codeevo.problem import Problem

SEED = (PROBLEM / "initial.py").read_text()


def test_guards_are_outside_the_evolve_block() -> None:
    blocks = "".join(split(SEED).blocks)
    fixed = "".join(split(SEED).fixed)
    assert "dim() == 2" in fixed and "dim()" not in blocks
    assert "def layer_index" in fixed and "split(" not in blocks
    # The block reaches the guards only by name: no comparison an edit could flip.
    assert "==" not in blocks and "!=" not in blocks


def test_ast_children_never_touch_the_guards() -> None:
    cfg = ProblemConfig(name="merge", stages=[StageConfig(name="fitness", function="fitness")])
    problem = Problem(PROBLEM, cfg, SEED, "", PROBLEM)
    request = ProposalRequest(problem=problem,
                              parent=ParentView(Candidate(id="c000000", seq=0), SEED))
    op = AstMutationOperator(OperatorConfig())
    rng = random.Random(0)
    head = SEED[: SEED.index("# EVOLVE-BLOCK-START")]
    for _ in range(200):
        child = op.propose_sync(request, rng).program
        assert child is not None and child.startswith(head)


@pytest.mark.parametrize("name,layer", [
    ("layers.0.weight", 0), ("layers.2.bias", 2),
    ("encoder.layer.3.attention.self.query.weight", 3), ("model.layers.7.mlp.up_proj.weight", 7),
    ("transformer.h.5.attn.c_attn.weight", 5), ("vit.blocks.11.norm1.weight", 11),
    ("embeddings.word_embeddings.weight", None), ("pooler.dense.weight", None),
    ("lm_head.weight", None)])
def test_layer_index_reads_both_naming_styles(name: str, layer: int | None) -> None:
    assert load_program(PROBLEM / "initial.py").layer_index(name) == layer


def test_layer_growth_acts_on_bert_style_names() -> None:
    mod = load_program(PROBLEM / "initial.py")
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 4, generator=g)
    experts = [base + 0.1 * torch.randn(6, 4, generator=g) for _ in range(3)]
    mod.LAYER_GROWTH = 2.0
    names = ("encoder.layer.0.output.dense.weight", "encoder.layer.2.output.dense.weight")
    d0, d2 = ((mod.merge_tensor(base, experts, n) - base).norm() for n in names)
    assert float(d2 / d0) == pytest.approx(4.0, rel=1e-4)  # 2.0 ** 2 against 2.0 ** 0


def _checkpoints(tmp: Path, names: list[str]) -> tuple[Path, list[Path]]:
    g = torch.Generator().manual_seed(0)
    base = {n: torch.randn(4, 3, generator=g) for n in names}
    save_file(base, str(tmp / "base.safetensors"))
    experts = []
    for k in range(2):
        save_file({n: t + 0.1 * (k + 1) for n, t in base.items()}, str(tmp / f"e{k}.safetensors"))
        experts.append(tmp / f"e{k}.safetensors")
    return tmp / "base.safetensors", experts


@pytest.mark.parametrize("names,warned", [
    (["encoder.layer.0.attention.self.query.weight", "encoder.layer.1.output.dense.weight"],
     False),
    (["layers.0.weight", "layers.1.weight"], False),
    (["model.decoder.0.weight", "model.decoder.1.weight"], True)])
def test_merge_warns_when_layer_knobs_match_no_tensor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names: list[str], warned: bool
) -> None:
    from codeevo.cli import main

    base, experts = _checkpoints(tmp_path, names)
    out = tmp_path / "merged.safetensors"
    code = main(["merge", "--method", str(PROBLEM / "initial.py"), "--base", str(base),
                 "--experts", *map(str, experts), "--out", str(out),
                 "--param", "LAYER_GROWTH=1.3"])
    err = capsys.readouterr().err
    assert code == 0 and out.is_file()
    assert ("warning: LAYER_GROWTH = 1.3" in err) is warned, err
    if warned:
        assert "model.decoder.0.weight" in err and "encoder.layer.<i>." in err


def test_programs_without_layer_knobs_are_not_probed(tmp_path: Path) -> None:
    from codeevo.merging.layers import layer_warnings

    program = PROBLEM / "baselines" / "tsv_m.py"
    assert layer_warnings(program, ["model.decoder.0.weight"]) == []
