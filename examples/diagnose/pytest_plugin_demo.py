"""The pytest plugin in use: a model test fails when a mode mistake appears in it.

    pytest examples/diagnose/pytest_plugin_demo.py -p no:cacheprovider

`tensorlint_monitor` comes with tensorlint (entry point `pytest11`); hand it a model and
every forward of the test is monitored. After the test body passes, findings at or above
`tensorlint_fail_on` (ini option, or `--tensorlint-fail-on`; default `warning`) fail it.

Expected output:

    F..                                                                      [100%]
    =================================== FAILURES ===================================
    ________________________ test_predict_is_deterministic _________________________
    tensorlint: 1 finding(s) at or above `warning` (dropout-active-at-inference):
                                    tensorlint runtime: 1 finding(s), 2 forwards (1 sampled)
    ┏━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
    ┃ severity ┃ kind                        ┃ module ┃ count ┃ message                                                    ┃
    ┡━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
    │ warning  │ dropout-active-at-inference │ 2      │     2 │ dropout (p=0.1) in training mode ran while gradients were  │
    │          │                             │        │       │ disabled, so inference outputs are randomly masked; call   │
    │          │                             │        │       │ model.eval() before evaluating or pass                     │
    │          │                             │        │       │ training=self.training.                                    │
    └──────────┴─────────────────────────────┴────────┴───────┴────────────────────────────────────────────────────────────┘
    =========================== short test summary info ============================
    FAILED examples/diagnose/pytest_plugin_demo.py::test_predict_is_deterministic
    1 failed, 2 passed in 6.58s

`test_predict_is_deterministic` passes its own assertion only by luck of the tolerance; the
monitor says why it is fragile: `predict()` never calls `model.eval()`. The clean twin
`test_predict_after_eval` passes, and `test_mc_dropout` shows an intentional exception.
"""

import pytest
import torch
from torch import nn


def build() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1))


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


def test_predict_is_deterministic(tensorlint_monitor):
    model = build()
    tensorlint_monitor(model)
    x = torch.randn(4, 8)
    assert torch.allclose(predict(model, x), predict(model, x), atol=10.0)


def test_predict_after_eval(tensorlint_monitor):
    model = build()
    model.eval()
    tensorlint_monitor(model)
    x = torch.randn(4, 8)
    assert torch.equal(predict(model, x), predict(model, x))


@pytest.mark.tensorlint(allow={"dropout-active-at-inference": ["2"]})  # Monte Carlo dropout, on purpose
def test_mc_dropout(tensorlint_monitor):
    model = build()
    tensorlint_monitor(model)
    x = torch.randn(16, 8)
    samples = torch.stack([predict(model, x) for _ in range(16)])
    assert samples.std(dim=0).mean() > 0
