"""Train/eval and dropout rules: TL101-TL105, and the grad-mode / call-graph semantics."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from lintutil import codes, fix, lint, settings_for
from tensorlint.semantics.context import FileContext

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def tl(code: str, select: str) -> list[int]:
    """Rows of the findings of one rule (the header adds no rows: it is part of `code`)."""
    return [d.location.row for d in lint(code, select=(select,))]


# ---------------------------------------------------------------------------------------
# grad-mode tracker
# ---------------------------------------------------------------------------------------


class _Probe:
    """Records grad_disabled() and the mode events seen at every call of `probe()`."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.seen = []

    def enter(self, node):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "probe":
            self.seen.append(self.ctx.grad.grad_disabled())

    def leave(self, node):
        pass


def probes(code: str) -> list[bool]:
    module = cst.parse_module(textwrap.dedent(code))
    ctx = FileContext("x.py", module)
    probe = _Probe(ctx)
    ctx.trackers.append(probe)

    class V(cst.CSTVisitor):
        def on_visit(self, node):
            for t in ctx.trackers:
                t.enter(node)
            return True

        def on_leave(self, node):
            for t in reversed(ctx.trackers):
                t.leave(node)

    module.visit(V())
    return probe.seen


def test_grad_contexts_blocks_and_multi_item_with():
    assert probes(
        """
        import torch
        from contextlib import nullcontext
        probe()
        with torch.no_grad():
            probe()
            with torch.enable_grad():
                probe()
            probe()
        probe()
        with nullcontext(), torch.inference_mode():
            probe()
        with torch.inference_mode(False):
            probe()
        with torch.set_grad_enabled(False):
            probe()
        with torch.no_grad():
            with torch.set_grad_enabled(flag):
                probe()
            with torch.inference_mode(False):
                probe()
        """
    ) == [False, True, False, True, False, True, False, True, False, False]


def test_grad_decorators_and_nested_functions():
    assert probes(
        """
        import torch
        from torch import no_grad, inference_mode as im

        @torch.no_grad()
        def a():
            probe()

        @no_grad
        def b():
            probe()

        @im()
        def c():
            probe()

        def d():
            with torch.no_grad():
                def inner():
                    probe()
                f = lambda: probe()
                probe()

        @torch.autograd.grad_mode.no_grad()
        def e():
            probe()
        """
    ) == [True, True, True, False, False, True, True]


def test_with_item_expression_is_not_inside_the_block():
    assert probes(
        """
        import torch
        with torch.no_grad(), probe():
            pass
        """
    ) == [False]


def test_mode_events_are_recorded_per_function():
    module = cst.parse_module(
        textwrap.dedent(
            """
            def f(model, net, other, flag, df):
                model.eval()
                net.train(False)
                other.train(flag)
                self.encoder.train()
                df.eval("a + b")      # pandas, not a mode change
                for x in y:
                    model.train(mode=True)

            def g(model):
                pass
            """
        )
    )
    ctx = FileContext("x.py", module)

    class V(cst.CSTVisitor):
        def on_visit(self, node):
            for t in ctx.trackers:
                t.enter(node)
            return True

        def on_leave(self, node):
            for t in reversed(ctx.trackers):
                t.leave(node)

    module.visit(V())
    frames = {f.name: f for f in ctx.grad.frames.values()}
    events = [(e.name, e.kind, len(e.point.loops)) for e in frames["f"].events]
    assert events == [
        ("model", "eval", 0),
        ("net", "eval", 0),
        ("other", "param", 0),
        ("self.encoder", "train", 0),
        ("model", "train", 1),
    ]
    assert frames["g"].events == []
    assert [e.name for e in frames["f"].events_for("self")] == ["self.encoder"]


def _events_of(code: str) -> dict:
    module = cst.parse_module(textwrap.dedent(code))
    ctx = FileContext("x.py", module)

    class V(cst.CSTVisitor):
        def on_visit(self, node):
            for t in ctx.trackers:
                t.enter(node)
            return True

        def on_leave(self, node):
            for t in reversed(ctx.trackers):
                t.leave(node)

    module.visit(V())
    return {f.name: [(e.name, e.kind) for e in f.events] for f in ctx.grad.frames.values()}


def test_mode_events_through_self_returning_chains_and_unknown_uses():
    events = _events_of(
        """
        def init_weights(m):
            m.weight.data.fill_(0)

        def f(model, net, enc, a, b, c, d):
            model.to(device).eval()
            net.cuda().half().train(False)
            self.encoder.requires_grad_(False).eval()
            enc.apply(lambda m: m.eval())
            a.apply(init_weights)           # leaves the mode alone
            a.apply(lambda m: m.reset())    # likewise
            b.apply(external.freeze_bn)
            for m in c.modules():
                m.eval()
            d.to(device).named_children()
            torch.load("x").to(device).eval()   # no name to attach it to
        """
    )
    assert events["f"] == [
        ("model", "eval"),
        ("net", "eval"),
        ("self.encoder", "eval"),
        ("enc", "unknown"),
        ("b", "unknown"),
        ("c", "unknown"),
        ("m", "eval"),
        ("d", "unknown"),
    ]


def test_unresolved_no_grad_is_not_a_grad_context():
    assert probes(
        """
        def no_grad():
            pass
        with no_grad():
            probe()
        """
    ) == [False]


# ---------------------------------------------------------------------------------------
# TL101 dropout-training-default
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "imports, call",
    [
        ("import torch.nn.functional as F", "F.dropout(x, 0.1)"),
        ("import torch.nn.functional as nnf", "nnf.dropout(x, 0.1)"),
        ("from torch.nn.functional import dropout", "dropout(x, 0.1)"),
        ("from torch.nn.functional import dropout as drop", "drop(x, 0.1)"),
        ("from torch.nn import functional", "functional.dropout2d(x, 0.1)"),
        ("import torch.nn.functional", "torch.nn.functional.dropout(x, 0.1)"),
        ("import torch", "torch.nn.functional.dropout(x, p=0.1)"),
        ("import torch.nn.functional as F", "F.alpha_dropout(x, 0.1)"),
    ],
)
def test_tl101_every_import_style(imports, call):
    code = f"""
import torch
{imports}

class Net(torch.nn.Module):
    def forward(self, x):
        return {call}
"""
    assert codes(code, select=("TL101",)) == ["TL101"]


def test_tl101_methods_of_subclasses_of_file_modules():
    code = """
import torch.nn as nn
import torch.nn.functional as F

class Base(nn.Module):
    pass

class Mid(Base):
    def forward(self, x):
        return F.dropout(x, 0.1)

class Leaf(Mid):
    def helper(self, x):
        return F.dropout(x, 0.1)
"""
    assert tl(code, "TL101") == [10, 14]


def test_tl101_negatives():
    code = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import mylib

class NotAModule:
    def forward(self, x):
        return F.dropout(x, 0.1)

class Net(nn.Module):
    def forward(self, x, *args, **kwargs):
        a = F.dropout(x, 0.1, training=self.training)
        b = F.dropout(x, 0.1, self.training)
        c = F.dropout(x, *args)
        d = F.dropout(x, **kwargs)
        e = mylib.dropout(x, 0.1)
        f = nn.Dropout(0.1)(x)
        def closure(y):
            return F.dropout(y, 0.1)
        return a

    @staticmethod
    def helper(x):
        return F.dropout(x, 0.1)

def free_function(x):
    return F.dropout(x, 0.1)
"""
    assert codes(code, select=("TL101",)) == []


def test_tl101_per_call_rate_in_an_inference_only_method():
    # stable-diffusion ldm/models/diffusion/ddpm.py: `p_sample(..., noise_dropout=0.)`
    # under `@torch.no_grad()` drops sampling noise at the rate its caller asks for;
    # `training=self.training` would switch the sampling option off in eval mode
    code = HEADER + """
class Diffusion(nn.Module):
    @torch.no_grad()
    def p_sample(self, x, temperature=1.0, noise_dropout=0.0):
        noise = torch.randn_like(x) * temperature
        if noise_dropout > 0.0:
            noise = torch.nn.functional.dropout(noise, p=noise_dropout)
        return x + noise
"""
    assert tl(code, "TL101") == []
    # twins, each reported: autograd on (a training-time helper), the module's own rate,
    # `forward` itself
    twins = [
        code.replace("    @torch.no_grad()\n", ""),
        code.replace("p=noise_dropout", "p=self.p"),
        code.replace("def p_sample(", "def forward("),
    ]
    for twin in twins:
        assert twin != code
        assert len(tl(twin, "TL101")) == 1, twin


def test_tl101_local_function_named_dropout_is_not_torch():
    code = """
import torch.nn as nn

def dropout(x, p):
    return x

class Net(nn.Module):
    def forward(self, x):
        return dropout(x, 0.1)
"""
    assert codes(code, select=("TL101",)) == []


def test_tl101_fix_safe_in_forward():
    before = """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return F.dropout(x, p=0.1)
"""
    after = fix(before, select=("TL101",))
    assert "return F.dropout(x, p=0.1, training=self.training)" in after


def test_tl101_fix_unsafe_elsewhere():
    before = """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def encode(me, x):
        return F.dropout(x, 0.1)
"""
    # not applied as a safe fix...
    assert fix(before, select=("TL101",)) == textwrap.dedent(before)
    # ...but applied with unsafe fixes, using the method's own instance name
    assert "F.dropout(x, 0.1, training=me.training)" in fix(before, select=("TL101",), unsafe=True)
    [diag] = lint(before, select=("TL101",))
    assert diag.fix.applicability.value == "unsafe"


def test_tl101_fix_keeps_multiline_layout_with_trailing_comma():
    before = """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return F.dropout(
            x,
            p=0.1,
        )
"""
    after = fix(before, select=("TL101",))
    assert after == textwrap.dedent(
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return F.dropout(
            x,
            p=0.1,
            training=self.training,
        )
"""
    )


# ---------------------------------------------------------------------------------------
# TL102 dropout-training-literal-true
# ---------------------------------------------------------------------------------------


def test_tl102_positives():
    code = HEADER + """
class Net(nn.Module):
    def forward(self, x, mean, var):
        a = F.dropout(x, 0.1, training=True)
        b = F.dropout(x, 0.1, True)
        c = torch.dropout(x, 0.1, train=True)
        d = F.batch_norm(x, mean, var, training=True)
        e = F.batch_norm(x, self.running_mean, self.running_var, None, None, True)
        return a

@torch.no_grad()
def predict(x):
    return F.dropout(x, 0.5, training=True)

def sample(x):
    with torch.inference_mode():
        return torch.nn.functional.dropout2d(x, training=True)
"""
    assert tl(code, "TL102") == [7, 8, 9, 10, 11, 16, 20]


def test_tl102_negatives():
    code = HEADER + """
class Net(nn.Module):
    def forward(self, x, flag):
        a = F.dropout(x, 0.1, training=self.training)
        b = F.dropout(x, 0.1, training=False)
        c = F.batch_norm(x, None, None, training=True)  # no running stats: required
        d = F.batch_norm(x, running_mean=None, running_var=None, training=True)
        e = F.dropout(x, 0.1, training=flag)
        f = F.softmax(x, dim=True)
        return a

def train_step(x):
    # outside modules and with autograd on: a training helper
    return F.dropout(x, 0.5, training=True)

def mixed(x):
    with torch.no_grad():
        with torch.enable_grad():
            return F.dropout(x, 0.5, training=True)
"""
    assert tl(code, "TL102") == []


def test_tl102_commented_flag_is_deliberate():
    # reduced from transformers' esmfold2: the comment explains the hard-coded flag
    code = HEADER + """
class Net(nn.Module):
    def forward(self, x):
        # ``training=True`` forces the dropout to resample under ``eval()``.
        a = F.dropout(x, p=0.1, training=True)
        b = F.dropout(x, p=0.1, training=True)  # MC dropout, on purpose
        c = F.dropout(x, p=0.1, training=True)  # see issue 12
        return a
"""
    assert tl(code, "TL102") == [10]


def test_tl102_ignore_functions_option():
    code = HEADER + """
class Net(nn.Module):
    def noisy_predict(self, x):
        return F.dropout(x, 0.5, training=True)
"""
    assert tl(code, "TL102") == [7]
    from lintutil import settings_for
    from tensorlint.engine import lint_source

    settings = settings_for(
        ("TL102",), rule_options=(("dropout-training-literal-true", (("ignore-functions", ["noisy_predict"]),)),)
    )
    assert lint_source(textwrap.dedent(code), "x.py", settings) == []


def test_tl102_fix_is_unsafe_and_uses_self_training():
    before = HEADER + """
class Net(nn.Module):
    def forward(self, x):
        return F.dropout(x, p=0.1, training=True)
"""
    assert fix(before, select=("TL102",)) == before
    after = fix(before, select=("TL102",), unsafe=True)
    assert "F.dropout(x, p=0.1, training=self.training)" in after


def test_tl102_no_fix_outside_modules():
    code = HEADER + """
with torch.no_grad():
    y = F.dropout(x, 0.5, training=True)
"""
    [diag] = lint(code, select=("TL102",))
    assert diag.fix is None


# ---------------------------------------------------------------------------------------
# TL103 inference-without-eval
# ---------------------------------------------------------------------------------------

NET = HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return self.drop(self.fc(x))
"""
# NET is 12 lines long; snippets below start on line 13.


def test_tl103_model_built_here_and_called_under_no_grad():
    code = NET + """
def main(x):
    model = Net()
    model.load_state_dict(torch.load("w.pt"))
    with torch.no_grad():
        return model(x)
"""
    assert tl(code, "TL103") == [18]


def test_tl103_module_level_script_and_decorator_and_torch_layers():
    code = NET + """
model = Net().to("cpu")
with torch.inference_mode():
    y = model(x)

@torch.no_grad()
def predict(x):
    drop = nn.Sequential(nn.Linear(4, 4), nn.Dropout())
    return drop(x)
"""
    assert tl(code, "TL103") == [16, 21]


def test_tl103_explicit_train_before_no_grad_is_deliberate():
    # reduced from torch.optim.swa_utils.update_bn: re-estimating batch-norm statistics
    code = NET + """
@torch.no_grad()
def update_bn(loader, model: nn.Module):
    model.train()
    for x in loader:
        model(x)

def main(loader):
    net = Net()
    update_bn(loader, net)
    m = Net()
    m.train()
    with torch.no_grad():
        m(1)
"""
    assert tl(code, "TL103") == []


def test_tl103_parameter_passed_in_training_mode_by_a_caller():
    code = NET + """
def evaluate(model, loader):
    with torch.no_grad():
        for x in loader:
            model(x)

def main(loader):
    net = Net()
    evaluate(net, loader)
"""
    [diag] = lint(code, select=("TL103",))
    assert diag.location.row == 17
    assert "`main` passes it in training mode" in diag.message


def test_tl103_parameter_through_two_levels_of_callers():
    code = NET + """
def evaluate(model, loader):
    with torch.no_grad():
        return [model(x) for x in loader]

def run(m, loader):
    return evaluate(m, loader)

def main(loader):
    run(Net(), loader) if False else None
    net = Net()
    run(model=None, loader=loader)
    run(net, loader)
"""
    assert tl(code, "TL103") == [16]


def test_tl103_validation_after_a_train_helper_openscene_20():
    # validation runs in train mode: the epoch's train() left the model there
    code = NET + """
import builder

def train(loader, model, optimizer):
    model.train()
    for x in loader:
        model(x).sum().backward()
        optimizer.step()

def validate(loader, model):
    with torch.no_grad():
        for x in loader:
            model(x)

def main(cfg, train_loader, val_loader, optimizer):
    model = builder.get_model(cfg)
    for epoch in range(10):
        train(train_loader, model, optimizer)
        validate(val_loader, model)
    with torch.no_grad():
        model(1)
"""
    # line 25 only: after the loop, the loop might not have run (mode unknown)
    assert tl(code, "TL103") == [25]
    # with model.eval() in validate (the fix), or before the call, nothing is reported
    fixed = code.replace("def validate(loader, model):\n", "def validate(loader, model):\n    model.eval()\n")
    fixed = fixed.replace("    with torch.no_grad():\n        model(1)", "    model.eval()\n    with torch.no_grad():\n        model(1)")
    assert tl(fixed, "TL103") == []


def test_tl103_helper_with_a_conditional_train_is_not_proof():
    code = NET + """
import builder

def maybe_train(model, flag):
    if flag:
        model.train()

def validate(loader, model):
    with torch.no_grad():
        for x in loader:
            model(x)

def main(cfg, loader):
    model = builder.get_model(cfg)
    maybe_train(model, True)
    validate(loader, model)
"""
    assert tl(code, "TL103") == []


def test_tl103_transformers_architecture_whose_dropouts_default_to_zero():
    # litgpt tests/test_model.py: `LlamaForCausalLM(LlamaConfig(...))` compared with the
    # project's model under inference_mode; Llama/Mistral/Qwen/Gemma/Phi3/Falcon/GPTNeoX
    # configs default every dropout to 0.0, so eval() would change nothing
    code = HEADER + """
from transformers import LlamaConfig, LlamaForCausalLM

@torch.inference_mode()
def test_llama(x):
    from transformers.models.gemma3 import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig
    config = LlamaConfig(vocab_size=10, hidden_size=8, num_hidden_layers=2, attention_dropout=0.0)
    assert config.hidden_size == 8
    model = LlamaForCausalLM(config).to("cpu")
    nested = Gemma3Config(Gemma3TextConfig(vocab_size=10, hidden_size=8))
    other = Gemma3ForConditionalGeneration(nested)
    return model(x)["logits"], other(x)["logits"]
"""
    assert tl(code, "TL103") == []
    # twins, each reported: a dropout set in the config, the config changed afterwards,
    # `**kwargs`, an architecture whose dropouts default to 0.1, a classification head
    twins = [
        code.replace("attention_dropout=0.0", "attention_dropout=0.1"),
        code.replace("    assert config.hidden_size == 8\n", "    config.attention_dropout = 0.1\n"),
        code.replace("num_hidden_layers=2, attention_dropout=0.0", "**kw"),
        code.replace("LlamaConfig", "GPT2Config").replace("LlamaForCausalLM", "GPT2LMHeadModel"),
        code.replace("LlamaForCausalLM", "LlamaForSequenceClassification"),
    ]
    for twin in twins:
        assert twin != code
        assert tl(twin, "TL103") == [15], twin


def test_tl103_negatives():
    code = NET + """
import transformers

class Plain(nn.Module):
    def forward(self, x):
        return x * 2

def a(x):
    model = Net()
    model.eval()
    with torch.no_grad():
        return model(x)

def b(x):
    model = Net().eval()
    with torch.no_grad():
        return model(x)

def c(x):
    model = Net()
    model.train(False)
    with torch.no_grad():
        return model(x)

def d(model, x, train: bool):
    model.train(train)
    with torch.no_grad():
        return model(x)

def e(x):
    model = transformers.AutoModel.from_pretrained("bert-base-uncased")
    with torch.no_grad():
        return model(x)

def f(x):
    model = Plain()          # no dropout / batch norm: the mode changes nothing
    lin = nn.Linear(3, 3)
    with torch.no_grad():
        return model(x) + lin(x)

def g(x, trainer):
    model = Net()
    trainer.validate(model)  # its name says it may have called .eval()
    with torch.no_grad():
        return model(x)

def h(x):
    model = Net()
    if x:
        model.eval()
    with torch.no_grad():
        return model(x)

def i(x):
    model = Net()
    with torch.enable_grad():
        return model(x)

def j(x):
    model = Net()
    return model(x)

def k(x):
    model = Net()
    for batch in x:
        with torch.no_grad():
            out = model(batch)
        model.eval()

def unreached(model, x):
    with torch.no_grad():
        return model(x)

class Wrapper(nn.Module):
    def forward(self, x):
        return x

    @torch.no_grad()
    def generate(self, x):
        return self(x)
"""
    assert tl(code, "TL103") == []


def test_tl103_class_that_sets_its_own_mode():
    code = HEADER + """
class FrozenEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.1)
        self.eval()

def embed(x):
    enc = FrozenEncoder()
    with torch.no_grad():
        return enc(x)
"""
    assert tl(code, "TL103") == []


def test_tl103_caller_that_calls_eval_first_is_not_flagged():
    code = NET + """
def evaluate(model, loader):
    with torch.no_grad():
        for x in loader:
            model(x)

def main(loader):
    net = Net()
    net.eval()
    evaluate(net, loader)
    net = net.to("cpu")
"""
    assert tl(code, "TL103") == []


def test_tl103_model_names_option_for_uncalled_functions():
    code = NET + """
def evaluate(model, loader):
    with torch.no_grad():
        return [model(x) for x in loader]

def other(encoder, loader):
    with torch.no_grad():
        return [encoder(x) for x in loader]
"""
    from lintutil import settings_for
    from tensorlint.engine import lint_source

    assert tl(code, "TL103") == []
    settings = settings_for(("TL103",), rule_options=(("inference-without-eval", (("model-names", ["model"]),)),))
    assert [d.location.row for d in lint_source(textwrap.dedent(code), "x.py", settings)] == [16]


def test_tl103_eval_through_a_chain_of_self_returning_methods():
    code = NET + """
def predict(x, device="cpu"):
    model = Net()
    model.load_state_dict(torch.load("net.pt"))
    model.to(device).eval()
    with torch.no_grad():
        return model(x)

def frozen(x):
    model = Net()
    model.requires_grad_(False).eval()
    with torch.no_grad():
        return model(x)

def chained_train_false(x):
    model = Net()
    model.cuda().float().train(False)
    with torch.no_grad():
        return model(x)
"""
    assert tl(code, "TL103") == []


def test_tl103_submodule_and_apply_mode_changes_make_the_mode_unknown():
    code = NET + """
import external

def loop_over_modules(x):
    model = Net()
    for m in model.modules():
        m.eval()
    with torch.no_grad():
        return model(x)

def comprehension_over_children(x):
    model = Net()
    [m.eval() for _, m in model.named_children()]
    with torch.no_grad():
        return model(x)

def apply_lambda(x):
    model = Net()
    model.apply(lambda m: m.eval())
    with torch.no_grad():
        return model(x)

def apply_helper(x):
    model = Net()
    model.apply(set_bn_eval)
    with torch.no_grad():
        return model(x)

def set_bn_eval(m):
    if isinstance(m, nn.BatchNorm2d):
        m.eval()

def apply_imported(x):
    model = Net()
    model.apply(external.freeze)
    with torch.no_grad():
        return model(x)

def built_with_apply(x):
    model = Net().apply(lambda m: m.train(False))
    with torch.no_grad():
        return model(x)

def passed_through_a_chain(x, device):
    model = Net()
    external.evaluate(model.to(device))  # its name says it may call .eval()
    with torch.no_grad():
        return model(x)
"""
    assert tl(code, "TL103") == []


def test_tl103_neutral_uses_still_report():
    code = NET + """
def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.weight)

def main(x, device):
    model = Net().to(device)
    model.apply(weights_init)
    model.to(device).float()
    with torch.no_grad():
        y = model(x)
    net = Net().apply(weights_init).cuda()
    with torch.no_grad():
        z = net(x)
    return y, z

def evaluate(m, loader):
    with torch.no_grad():
        return [m(x) for x in loader]

def caller(loader, device):
    net = Net()
    evaluate(net.to(device), loader)
"""
    [a, b, c] = lint(code, select=("TL103",))
    assert [a.location.row, b.location.row, c.location.row] == [23, 26, 31]
    assert "`caller` passes it in training mode" in c.message


# ---------------------------------------------------------------------------------------
# TL104 train-mode-not-restored
# ---------------------------------------------------------------------------------------


def test_tl104_eval_in_epoch_loop_without_train():
    code = NET + """
def fit(loader, val):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            print(model(val))
"""
    assert tl(code, "TL104") == [23]


def test_tl104_through_a_helper_and_with_zero_grad_evidence():
    code = NET + """
def validate(net, data):
    net.eval()
    with torch.no_grad():
        return sum(net(x) for x in data)

def fit(model, opt, loader, val):
    model.train()
    for epoch in range(10):
        for x, y in loader:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        validate(model, val)
"""
    rows = tl(code, "TL104")
    assert rows == [26]
    [diag] = lint(code, select=("TL104",))
    assert "`validate()` leaves `model` in eval mode" in diag.message


def test_tl104_training_helper_that_chooses_eval_mode_itself():
    # moco main_lincls.py: linear probing on a frozen backbone trains in eval mode on
    # purpose; the training helper itself calls `model.eval()` before its steps, so no
    # iteration could ever train in training mode whatever validate() does
    code = NET + """
def train(loader, model, criterion, optimizer):
    model.eval()
    for x, y in loader:
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

def validate(loader, model):
    model.eval()
    with torch.no_grad():
        return sum(model(x).sum() for x, _ in loader)

def main(loader, val):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        train(loader, model, F.cross_entropy, optimizer)
        validate(val, model)
"""
    assert tl(code, "TL104") == []
    # twin: the training helper does not set the mode itself -> validate() leaves it in eval
    twin = code.replace("    model.eval()\n    for x, y in loader:", "    for x, y in loader:")
    assert twin != code
    assert tl(twin, "TL104") == [31]


def test_tl104_methods_of_a_trainer_class():
    code = NET + """
class Trainer:
    def __init__(self):
        self.model = Net()
        self.optimizer = torch.optim.Adam(self.model.parameters())

    def evaluate(self):
        self.model.eval()
        return 0

    def fit(self, loader):
        self.model.train()
        for epoch in range(3):
            for x in loader:
                self.optimizer.zero_grad()
                self.model(x).sum().backward()
                self.optimizer.step()
            self.evaluate()
"""
    assert tl(code, "TL104") == [30]


def test_tl104_negatives():
    code = NET + """
import external

def restores_each_epoch(model, loader):
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(10):
        model.train()
        for x in loader:
            model(x).sum().backward()
            optimizer.step()
        model.eval()

def helper_restores(model, loader):
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(10):
        for x in loader:
            model(x).sum().backward()
            optimizer.step()
        evaluate_and_restore(model)

def evaluate_and_restore(m):
    m.eval()
    m(1)
    m.train()

def unknown_helper(model, loader):
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(10):
        model.eval()
        external.train_one_epoch(model, loader)   # may call model.train()
        optimizer.step()

def mode_from_flag(model, loader, flags):
    optimizer = torch.optim.Adam(model.parameters())
    for is_train in flags:
        model.train(is_train)
        optimizer.step()
        model.eval()

def no_optimizer(model, loader, scheduler):
    for epoch in range(10):
        scheduler.step()      # not an optimizer
        model.eval()

def eval_then_break(model, loader):
    optimizer = torch.optim.Adam(model.parameters())
    for x in loader:
        optimizer.step()
        if x:
            model.eval()
            break

def eval_after_loop(model, loader):
    optimizer = torch.optim.Adam(model.parameters())
    for x in loader:
        optimizer.step()
    model.eval()

def scheduler_only(model, loader):
    sched = torch.optim.lr_scheduler.StepLR(None, 1)
    for x in loader:
        sched.step()
        model.eval()
"""
    assert tl(code, "TL104") == []


def test_tl104_train_and_test_helpers_pytorch_tutorials_1624():
    # reduced from the quickstart tutorial before pytorch/tutorials#1602
    code = NET + """
def train(dataloader, model, loss_fn, optimizer):
    for X, y in dataloader:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

def test(dataloader, model, loss_fn):
    model.eval()
    with torch.no_grad():
        for X, y in dataloader:
            loss_fn(model(X), y)

def main(train_dl, test_dl, loss_fn):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    for t in range(5):
        train(train_dl, model, loss_fn, optimizer)
        test(test_dl, model, loss_fn)
"""
    [diag] = lint(code, select=("TL104",))
    assert diag.location.row == 32
    assert "`test()` leaves `model` in eval mode" in diag.message
    # the fixed tutorial calls model.train() at the start of train(): nothing to report
    fixed = code.replace("    for X, y in dataloader:\n        loss =", "    model.train()\n    for X, y in dataloader:\n        loss =")
    assert fixed != code
    assert tl(fixed, "TL104") == []


def test_tl104_module_level_model_evaluated_by_a_helper_corrn_1():
    # reduced from tk-rusch/coRNN#1 (adding_task.py): test() evaluates the global model
    code = NET + """
import torch.optim as optim

model = Net()
optimizer = optim.Adam(model.parameters(), lr=0.01)

def test(data):
    model.eval()
    with torch.no_grad():
        return model(data)

def train(batches):
    model.train()
    for i, (x, y) in enumerate(batches):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        if i % 100 == 0:
            print(test(x))

def restore_in_helper(batches):
    for i, (x, y) in enumerate(batches):
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        test(x)
        back_to_training()

def back_to_training():
    model.train()
"""
    assert tl(code, "TL104") == [31]


def test_tl104_evaluated_copy_that_is_never_trained():
    # an EMA / teacher copy is evaluated inside the loop; the trained model is untouched
    code = NET + """
def fit(model, ema, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x in loader:
        model(x).sum().backward()
        optimizer.step()
        ema.eval()
        with torch.no_grad():
            ema(x)
"""
    assert tl(code, "TL104") == []


def test_tl104_scaler_step_counts():
    code = NET + """
def fit(model, loader, scaler):
    opt = torch.optim.AdamW(model.parameters())
    for x in loader:
        scaler.scale(model(x).sum()).backward()
        scaler.step(opt)
        model.eval()
"""
    assert tl(code, "TL104") == [19]


def test_tl104_eval_through_a_chain_in_the_loop():
    code = NET + """
def fit(loader, val, device):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        model.to(device).eval()
        with torch.no_grad():
            print(model(val))
"""
    assert tl(code, "TL104") == [23]


def test_tl104_apply_and_submodule_loops_make_the_mode_unknown():
    code = NET + """
import external

def modules_loop(model, loader, val):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        for m in model.modules():
            m.eval()
        with torch.no_grad():
            print(model(val))

def apply_lambda(model, loader, val):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        model.apply(lambda m: m.eval())
        with torch.no_grad():
            print(model(val))

def eval_then_apply(model, loader, val):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        model.apply(external.set_mode)    # may put it back into training mode
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        model.eval()

def eval_then_modules(model, loader, val):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        [m.train() for m in model.children()]
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        model.to("cpu").eval()
"""
    assert tl(code, "TL104") == []


# ---------------------------------------------------------------------------------------
# TL105 backward-under-no-grad
# ---------------------------------------------------------------------------------------


def test_tl105_positives():
    code = HEADER + """
def evaluate(model, x):
    with torch.no_grad():
        loss = model(x).sum()
        loss.backward()

@torch.inference_mode()
def step(loss):
    loss.backward()

with torch.no_grad(), open("f") as fh:
    torch.autograd.backward([loss])
"""
    assert tl(code, "TL105") == [8, 12, 15]


def test_tl105_negatives():
    code = HEADER + """
def train(model, x, is_train):
    loss = model(x).sum()
    loss.backward()
    with torch.no_grad():
        with torch.enable_grad():
            model(x).sum().backward()
        with torch.set_grad_enabled(is_train):
            model(x).sum().backward()
        def later():
            loss.backward()

class Fn(torch.autograd.Function):
    @staticmethod
    def backward(ctx, g):
        return g

with torch.no_grad():
    Fn.backward(None, 1)
    "text".backward()
"""
    assert tl(code, "TL105") == []


# ---------------------------------------------------------------------------------------
# mode-free models (semantics/mode_free.py): eval() would change nothing
# ---------------------------------------------------------------------------------------


def row_of(code: str, text: str, nth: int = 1) -> int:
    """1-based row of the nth line of `code` that contains `text`."""
    rows = [i for i, line in enumerate(code.splitlines(), 1) if text in line]
    return rows[nth - 1]


# Reduced from rasbt/LLMs-from-scratch ch03/03_understanding-buffers: attention whose
# dropout rate is passed as an argument, here the literal 0.0.
ATTENTION = HEADER + """
class CausalAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, qkv_bias=False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        weights = torch.softmax(self.W_query(x).masked_fill(self.mask.bool(), -torch.inf), dim=-1)
        return self.dropout(weights)

"""


@pytest.mark.parametrize("rate", ["0.0", "0", "dropout=0.0"])
def test_tl103_dropout_rate_zero_passed_as_argument_is_silent(rate):
    code = ATTENTION + f"""
ca = CausalAttention(3, 2, 6, {rate})
ca = ca.to("cpu")
with torch.no_grad():
    context = ca(torch.rand(2, 6, 3))
"""
    assert tl(code, "TL103") == []


@pytest.mark.parametrize("rate", ["0.1", "rate", "dropout=0.5"])
def test_tl103_dropout_rate_nonzero_or_unknown_still_fires(rate):
    code = ATTENTION + f"""
rate = float(input())
ca = CausalAttention(3, 2, 6, {rate})
with torch.no_grad():
    context = ca(torch.rand(2, 6, 3))
"""
    assert tl(code, "TL103") == [row_of(code, "context = ca(")]


# Reduced from rasbt/LLMs-from-scratch (GPT with `cfg["drop_rate"] = 0.0`) and its Llama
# notebooks (no dropout at all, but blocks named `TransformerBlock`).
GPT = HEADER + """
class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(cfg["emb_dim"], 4), nn.GELU(), nn.Linear(4, cfg["emb_dim"]))

    def forward(self, x):
        return self.layers(x)


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ff = FeedForward(cfg)
        self.norm = nn.LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        return x + self.drop_shortcut(self.ff(self.norm(x)))


class GPTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(10, cfg["emb_dim"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        layers = []
        for _ in range(2):
            layers.append(nn.Linear(cfg["emb_dim"], cfg["emb_dim"]))
        self.head = nn.Sequential(*layers)

    def forward(self, idx):
        return self.head(self.trf_blocks(self.tok_emb(idx)))

"""


def test_tl103_config_dict_literal_with_zero_dropout_is_silent():
    code = GPT + """
CONFIG = {"emb_dim": 8, "n_layers": 2, "drop_rate": 0.0}
model = GPTModel(CONFIG).to("cpu")
with torch.no_grad():
    logits = model(torch.zeros(1, 4, dtype=torch.long))
"""
    assert tl(code, "TL103") == []


@pytest.mark.parametrize(
    "config",
    [
        'CONFIG = {"emb_dim": 8, "n_layers": 2, "drop_rate": 0.1}',  # dropout on
        'CONFIG = {"emb_dim": 8, "n_layers": 2, "drop_rate": 0.0}\nCONFIG.update(json.load(open("c.json")))',
        'CONFIG = {"emb_dim": 8, "n_layers": 2, "drop_rate": 0.0}\nCONFIG["drop_rate"] = 0.1',
        'CONFIG = {"emb_dim": 8, "n_layers": 2, "drop_rate": 0.0}\nCONFIG.update({"drop_rate": 0.1})',
        'CONFIG = {"emb_dim": 8, "n_layers": 2, "drop_rate": 0.0}\nif big:\n    CONFIG.update({"n_layers": 4})',
        'CONFIG = json.load(open("c.json"))',  # not a literal: unknown
        'CONFIG = {"emb_dim": 8, "n_layers": 2}',  # no key: unknown
    ],
)
def test_tl103_config_that_cannot_be_proven_zero_still_fires(config):
    code = GPT + "import json\n" + config + """
model = GPTModel(CONFIG)
with torch.no_grad():
    logits = model(torch.zeros(1, 4, dtype=torch.long))
"""
    assert len(tl(code, "TL103")) == 1


def test_tl103_config_dict_updated_at_module_level_keeps_a_zero_dropout():
    # rasbt/LLMs-from-scratch ch07: BASE_CONFIG.update(model_configs[CHOOSE_MODEL]), and a
    # later cell that reuses the name `model` for a string
    code = GPT + """
CONFIG = {"drop_rate": 0.0}
SIZES = {"small": {"emb_dim": 8, "n_layers": 2}, "large": {"emb_dim": 16, "n_layers": 4}}
CHOOSE = "small"
CONFIG.update(SIZES[CHOOSE])
model = GPTModel(CONFIG)
with torch.no_grad():
    logits = model(torch.zeros(1, 4, dtype=torch.long))
model = "llama3"
"""
    assert tl(code, "TL103") == []


def test_tl103_config_parameter_of_a_function_is_not_followed():
    # inside a function, `cfg` is the function's own: its value is unknown here
    code = GPT + """
def main(cfg):
    model = GPTModel(cfg)
    with torch.no_grad():
        return model(torch.zeros(1, 4, dtype=torch.long))
"""
    assert tl(code, "TL103") == [row_of(code, "return model(torch.zeros")]


LLAMA = HEADER + """
class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg["emb_dim"])
        self.ff = nn.Sequential(nn.Linear(cfg["emb_dim"], 16), nn.SiLU(), nn.Linear(16, cfg["emb_dim"]))

    def forward(self, x):
        return x + self.ff(self.norm(x))


class Llama2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, idx):
        return self.out_head(self.trf_blocks(self.tok_emb(idx)))


def generate(model, idx, steps):
    for _ in range(steps):
        with torch.no_grad():
            logits = model(idx)
        idx = torch.cat([idx, logits[:, -1:].argmax(-1)], dim=1)
    return idx

"""


def test_tl103_model_without_any_mode_dependent_layer_is_silent():
    code = LLAMA + """
model = Llama2Model(CFG)
with torch.no_grad():
    logits = model(torch.zeros(1, 4, dtype=torch.long))
out = generate(model, torch.zeros(1, 1, dtype=torch.long), 5)
"""
    assert tl(code, "TL103") == []


def test_tl103_same_model_with_a_dropout_still_fires():
    code = LLAMA.replace("nn.SiLU(),", "nn.SiLU(), nn.Dropout(0.1),") + """
model = Llama2Model(CFG)
with torch.no_grad():
    logits = model(torch.zeros(1, 4, dtype=torch.long))
"""
    assert tl(code, "TL103") == [row_of(code, "logits = model(torch.zeros")]


@pytest.mark.parametrize(
    "change",
    [
        ("nn.SiLU(),", "nn.SiLU(), nn.BatchNorm1d(16),"),
        ("nn.SiLU(),", "nn.SiLU(), nn.InstanceNorm1d(16, track_running_stats=True),"),
        ("nn.SiLU(),", "nn.SiLU(), nn.RReLU(),"),
        ("nn.SiLU(),", "nn.SiLU(), ThirdPartyLayer(),"),  # a class this analysis cannot see
        ("nn.SiLU(),", "nn.SiLU(), make_layer(),"),  # a helper may build anything
        ("return x + self.ff(self.norm(x))", "return F.dropout(x, 0.1, self.training)"),
        ("return x + self.ff(self.norm(x))", "return x if self.training else self.ff(x)"),
        ("self.norm = RMSNorm(cfg[\"emb_dim\"])", "self.norm = norm_layer"),  # a module handed in
    ],
)
def test_tl103_mode_dependent_or_unseen_layers_keep_the_finding(change):
    code = LLAMA.replace(*change) + """
model = Llama2Model(CFG)
with torch.no_grad():
    logits = model(torch.zeros(1, 4, dtype=torch.long))
"""
    assert change[0] in LLAMA
    assert tl(code, "TL103") == [row_of(code, "logits = model(torch.zeros")]


def test_tl103_mode_free_model_in_another_project_file(tmp_path):
    from tensorlint.cache import Cache
    from tensorlint.runner import check_files
    from lintutil import settings_for

    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\n")
    (tmp_path / "models.py").write_text(LLAMA)
    (tmp_path / "infer.py").write_text(
        "import torch\nfrom models import Llama2Model\n\n"
        "model = Llama2Model({'vocab_size': 10, 'emb_dim': 8, 'n_layers': 2})\n"
        "with torch.no_grad():\n    logits = model(torch.zeros(1, 4, dtype=torch.long))\n"
    )
    settings = settings_for(("TL103",))
    cache = Cache(tmp_path / ".cache", "k")

    def run():
        files = sorted(tmp_path.glob("*.py"))
        results = check_files(files, settings, cache, workers=1, project_root=tmp_path)
        return sorted((r.path.rsplit("/", 1)[-1], d.location.row) for r in results for d in r.diagnostics)

    assert run() == []
    # the class gains a dropout: the cached verdict for infer.py must not survive
    (tmp_path / "models.py").write_text(LLAMA.replace("nn.SiLU(),", "nn.SiLU(), nn.Dropout(0.1),"))
    assert run() == [("infer.py", 6)]


# ---------------------------------------------------------------------------------------
# Monte-Carlo dropout: an explicit train() before no_grad inference, on purpose
# ---------------------------------------------------------------------------------------

MC_NET = HEADER + """
net = nn.Sequential(nn.Dropout(p=0.05), nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 1))
x = torch.rand(8, 1)
"""


def test_tl103_train_after_eval_then_inference_is_deliberate():
    # the brief's repro: an author who calls eval() and then train() chose the mode
    code = MC_NET + """
net.eval()
with torch.no_grad():
    a = net(x)
net.train()
with torch.no_grad():
    b = net(x)
print(a, b)
"""
    assert tl(code, "TL103") == []


def test_tl103_monte_carlo_dropout_sampling_loop_nyu_dlsp20():
    # Atcold/NYU-DLSP20 13-bayesian_nn: 100 forward passes of the same input in train mode
    code = MC_NET + """
net.train()
samples = list()
with torch.no_grad():
    for t in range(100):
        samples.append(net(x.view(-1, 1)).squeeze())
"""
    assert tl(code, "TL103") == []


def test_tl103_sampling_named_function_is_deliberate():
    code = MC_NET + """
def mc_predict(model, batch):
    model.train()
    with torch.no_grad():
        return model(batch)
"""
    assert tl(code, "TL103") == []


def test_tl103_explicit_train_in_an_evaluation_loop_still_fires():
    # an eval_one_epoch that starts with model.train(): each pass sees a new batch
    code = MC_NET + """
def evaluate(model, loader):
    model.train()
    outs = []
    with torch.no_grad():
        for batch in loader:
            outs.append(model(batch))
    return outs
"""
    assert tl(code, "TL103") == [row_of(code, "outs.append(model(batch))")]


def test_tl103_train_eval_switch_with_training_in_between_still_fires():
    # eval() once, then a training loop, then no_grad inference: a forgotten eval()
    code = MC_NET + """
opt = torch.optim.SGD(net.parameters(), lr=0.1)
net.eval()
print(net(x))
net.train()
for _ in range(10):
    opt.zero_grad()
    net(x).sum().backward()
    opt.step()
with torch.no_grad():
    score = net(x)
print(score)
"""
    assert tl(code, "TL103") == [row_of(code, "score = net(x)")]


def test_tl103_generation_loop_after_train_still_fires():
    # the input changes every pass (it is the output fed back): not repeated sampling
    code = MC_NET + """
def sample_free_text(model, idx):
    model.train()
    for _ in range(10):
        with torch.no_grad():
            nxt = model(idx)
        idx = torch.cat([idx, nxt])
    return idx
"""
    # named for sampling: deliberate by name; the same body under another name fires
    assert tl(code, "TL103") == []
    assert tl(code.replace("sample_free_text", "continue_text"), "TL103") == [row_of(code, "nxt = model(idx)")]


# ---------------------------------------------------------------------------------------
# TL104 on mode-free models: reported, with a note that it has no effect yet
# ---------------------------------------------------------------------------------------

LOOP = """
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        print(model(x))
"""


def test_tl104_mode_free_model_is_reported_with_a_note():
    # mrdbourke/pytorch-deep-learning 02_pytorch_classification (and pytorch/tutorials#1624)
    code = HEADER + "model = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1))\nx = torch.rand(2, 1)\n" + LOOP
    [diag] = lint(code, select=("TL104",))
    assert diag.location.row == row_of(code, "model.eval()")
    assert "has no dropout or batch norm, so this has no effect yet" in diag.message
    settings = settings_for(("TL104",), rule_options=(("train-mode-not-restored", (("ignore-mode-free-models", True),)),))
    from tensorlint.engine import lint_source

    assert lint_source(code, "snippet.py", settings) == []


def test_tl104_model_with_dropout_is_reported_without_the_note():
    code = HEADER + "model = nn.Sequential(nn.Linear(1, 4), nn.Dropout(0.2), nn.Linear(4, 1))\nx = torch.rand(2, 1)\n" + LOOP
    [diag] = lint(code, select=("TL104",))
    assert diag.location.row == row_of(code, "model.eval()")
    assert "no effect yet" not in diag.message
    settings = settings_for(("TL104",), rule_options=(("train-mode-not-restored", (("ignore-mode-free-models", True),)),))
    from tensorlint.engine import lint_source

    assert [d.location.row for d in lint_source(code, "snippet.py", settings)] == [row_of(code, "model.eval()")]
