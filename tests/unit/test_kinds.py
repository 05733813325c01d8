"""Adding a run kind is a new folder plus one registry line: a toy kind, written to a temporary
folder, is configured, stored, run by the worker, and driven from the command line, with no other
file touched."""

import json
import sys
import textwrap

import pytest

from metalearn_core import analysis, kinds
from metalearn_core.cli import _parser, build_config
from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.runs.worker import execute
from metalearn_core.session import progress_view

TOY = {
    "__init__.py": '''
        from metalearn_core.kinds import RunKind
        from toykinds.constant import config

        KIND = RunKind(name="constant", label="Always the same digit", run="toykinds.constant.run:train_constant",
                       section="constant", section_class=config.ConstantConfig, uses=("constant",),
                       check=config.check, cli="toykinds.constant.cli", x_axis="step")
    ''',
    "config.py": '''
        from dataclasses import dataclass
        from metalearn_core.config import ConfigError

        @dataclass(frozen=True)
        class ConstantConfig:
            digit: int = 3
            steps: int = 2

            def __post_init__(self):
                if not 0 <= self.digit <= 9:
                    raise ConfigError(f"constant: digit must be between 0 and 9, got {self.digit}")

        def check(config):
            if config.constant.steps > config.training.epochs:
                raise ConfigError("constant: no more steps than epochs")
    ''',
    "run.py": '''
        import numpy as np
        from metalearn_core.runs.reporting import RunResult

        def train_constant(config, data, reporter, folder):
            for step in range(1, config.constant.steps + 1):
                reporter.on_epoch("train", step, {"loss": 1.0 / step})
            accuracy = float(np.mean(data.y_test == config.constant.digit))
            return RunResult("completed", {"test_accuracy": accuracy, "test_loss": 0.0})
    ''',
    "report.py": "",
    "cli.py": '''
        FLAGS = ("digit",)

        def add_arguments(parser):
            parser.add_argument_group("constant runs").add_argument("--digit", type=int)

        def apply_arguments(config, args, from_file):
            if args.digit is None:
                return config
            return config.replace(constant=type(config.constant)(digit=args.digit, steps=config.constant.steps))
    ''',
}


@pytest.fixture()
def toy_kind(tmp_path, monkeypatch):
    package = tmp_path / "toykinds" / "constant"
    package.mkdir(parents=True)
    (tmp_path / "toykinds" / "__init__.py").write_text("")
    for name, text in TOY.items():
        (package / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(kinds.REGISTRY, "constant", "toykinds.constant")  # the one registry line
    yield kinds.get("constant")
    for module in [name for name in sys.modules if name.startswith("toykinds")]:
        del sys.modules[module]


def test_a_new_kind_gets_a_config_section_with_its_checks(toy_kind):
    section = toy_kind.section_class
    config = RunConfig(kind="constant", constant=section(digit=7))
    assert config.constant.digit == 7 and config.fewshot.algorithm  # the other sections stay
    data = json.loads(config.to_json())
    assert data["constant"] == {"digit": 7, "steps": 2}
    assert RunConfig.from_dict(data) == config
    with pytest.raises(ConfigError, match="digit must be between 0 and 9"):
        RunConfig.from_dict({**data, "constant": {"digit": 12}})
    with pytest.raises(ConfigError, match="no more steps than epochs"):
        config.replace(constant=section(steps=99))
    # A config written before the kind existed opens with the kind's defaults.
    old = {key: value for key, value in data.items() if key != "constant"}
    assert RunConfig.from_dict({**old, "kind": "base"}).constant == section()


def test_the_worker_runs_a_new_kind_through_the_registry(toy_kind, tmp_path, mnist):
    store = RunStore(tmp_path / "home")
    config = RunConfig(kind="constant", name="toy", constant=toy_kind.section_class(digit=1, steps=3))
    run_id = store.create_run(config)
    store.mark_running(run_id)
    assert progress_view(store.get(run_id)).label  # the generic progress works for it
    assert execute(store, run_id, None, data=mnist) == "completed"
    run = store.get(run_id)
    assert [row["epoch"] for row in store.metrics(run_id)] == [1, 2, 3]
    assert run.test_accuracy == pytest.approx(float((mnist.y_test == 1).mean()))
    # Compare's tables take it as any run: it reads only its own section, so seeds group by it.
    assert analysis.runs_frame([run])["kind"].tolist() == ["constant"]
    assert analysis.digit_classifier_kinds() == ("base", "stacked")  # it has no predictor


def test_the_command_line_offers_a_new_kinds_flags(toy_kind):
    args = _parser().parse_args(["train", "--kind", "constant", "--digit", "5", "--epochs", "3"])
    config = build_config(args)
    assert (config.kind, config.constant.digit, config.training.epochs) == ("constant", 5, 3)
    with pytest.raises(ConfigError, match="--digit is a flag of constant runs"):
        build_config(_parser().parse_args(["train", "--digit", "5"]))
