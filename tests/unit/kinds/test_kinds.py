"""Adding a run kind is a new folder plus one registry line: a toy kind, written to a temporary
folder, is configured, stored, run by the worker, driven from the command line, swept and drawn,
with no other file touched."""

import dataclasses
import json
import sys
import textwrap

import optuna
import pytest

from dashboard.diagram import diagram_html, of_kind
from metalearn_core import analysis, kinds, runner
from metalearn_core.cli import _parser, build_config, main
from metalearn_core.config import ConfigError, NetworkConfig, RunConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.session import progress_view
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.controller import Controller
from metalearn_core.sweeps.space import SearchSpace, settings_of, sweep_kinds
from metalearn_core.sweeps.store import SweepStore
from metalearn_core.sweeps.study import make_pruner
from metalearn_core.worker import execute

TOY = {
    "__init__.py": '''
        from metalearn_core.kinds.kind import RunKind
        from toykinds.constant import cli, config, diagram, results, run, sweep

        KIND = RunKind(name="constant", label="Always the same digit", load_run=lambda: run.train_constant,
                       section="constant", section_class=config.ConstantConfig, uses=("constant",),
                       check=config.check, cli=cli, results=results.read_results, x_axis="step",
                       sweep=sweep.SWEEP, diagram=diagram.diagram)
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
            if config.settings.steps > config.training.epochs:
                raise ConfigError("constant: no more steps than epochs")
    ''',
    "run.py": '''
        import json

        import numpy as np
        from metalearn_core.runs.reporting import RunResult
        from toykinds.constant.results import RESULTS_FILE

        def train_constant(config, data, reporter, folder):
            for step in range(1, config.settings.steps + 1):
                reporter.on_epoch("train", step, {"loss": 1.0 / step})
            digit = config.settings.digit
            accuracy = float(np.mean(data.y_test == digit))
            # Every test image is answered with the same digit: its whole row lands in that column.
            confusion = [[int(np.sum(data.y_test == true)) if guess == digit else 0 for guess in range(10)]
                         for true in range(10)]
            (folder / RESULTS_FILE).write_text(json.dumps({"digit": digit, "confusion": confusion}))
            return RunResult("completed", {"test_accuracy": accuracy, "test_loss": 0.0})
    ''',
    "results.py": '''
        from metalearn_core.runs.run_files import read_run_json

        RESULTS_FILE = "constant.json"

        def read_results(folder):
            return read_run_json(folder, RESULTS_FILE, {"digit": int, "confusion": list})
    ''',
    "sweep.py": '''
        from metalearn_core.config import ConfigError
        from metalearn_core.kinds.sweep_hooks import Objective, Setting, SweepHooks

        def check(config, objective):
            if config.settings.steps < 2:
                raise ConfigError("sweep: a constant run needs two steps for its loss to say anything")

        SWEEP = SweepHooks(
            settings={"digit": Setting("the digit it always answers", "int", 0, 9, short="digit", default=(0, 9),
                                       slider=(0, 9, 1)),
                      "steps": Setting("steps", "int", 1, 50, short="steps", default=(2, 4), slider=(1, 50, 1))},
            objectives={"train_loss": Objective("training loss", "minimize", "train", "loss")},
            check=check, min_resource=3, searched=("digit",),
        )
    ''',
    "diagram.py": '''
        from metalearn_core.config import NUM_CLASSES
        from metalearn_core.models.diagram import Box, Chain, Diagram

        def diagram(base, meta, settings):
            digit = settings.get("digit", 3)
            answer = Box("answer", f"Always {digit}", (NUM_CLASSES,), note="no weights: one answer for every image")
            return Diagram((Chain("Constant answer", "28×28 image", (answer,)),))
    ''',
    "cli.py": '''
        FLAGS = ("digit",)

        def add_arguments(parser):
            parser.add_argument_group("constant runs").add_argument("--digit", type=int)

        def apply_arguments(config, settings, args, from_file):
            if args.digit is not None:
                settings = type(settings)(digit=args.digit, steps=settings.steps)
            return config.replace(kind="constant", settings=settings)
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
    from toykinds.constant import KIND

    kinds.register(KIND)  # the one registry line
    yield kinds.get("constant")
    kinds.unregister("constant")
    for module in [name for name in sys.modules if name.startswith("toykinds")]:
        del sys.modules[module]


def test_a_new_kind_gets_a_config_section_with_its_checks(toy_kind):
    section = toy_kind.section_class
    config = RunConfig(kind="constant", settings=section(digit=7))
    assert config.settings.digit == 7
    data = json.loads(config.to_json())
    assert data["constant"] == {"digit": 7, "steps": 2}
    assert set(data) == {"version", "kind", "name", "constant"}  # its own section only, no other kind's
    assert RunConfig.from_dict(data) == config
    with pytest.raises(ConfigError, match="digit must be between 0 and 9"):
        RunConfig.from_dict({**data, "constant": {"digit": 12}})
    with pytest.raises(ConfigError, match="no more steps than epochs"):
        config.replace(settings=section(steps=99))
    # A config saved without its section opens with the kind's defaults.
    old = {key: value for key, value in data.items() if key != "constant"}
    assert RunConfig.from_dict(old).settings == section()


def test_the_worker_runs_a_new_kind_through_the_registry(toy_kind, tmp_path, mnist, capsys):
    store = RunStore(tmp_path / "home")
    config = RunConfig(kind="constant", name="toy", settings=toy_kind.section_class(digit=1, steps=3))
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
    # Its results are read back by its own results.py, which the command line reaches through the
    # registry: `runs show` prints the confusion matrix the toy run saved (it wrote no evaluation.json).
    assert not (run.folder / "evaluation.json").exists()
    assert main(["--home", str(tmp_path / "home"), "runs", "show", str(run_id)]) == 0
    out = capsys.readouterr().out
    ones = int((mnist.y_test == 1).sum())
    assert "confusion matrix" in out
    assert f"{1:>6}{0:>6}{ones:>6}" + f"{0:>6}" * 8 in out.splitlines()  # true 1s, all answered "1"


def test_the_command_line_offers_a_new_kinds_flags(toy_kind):
    args = _parser().parse_args(["train", "--kind", "constant", "--digit", "5", "--epochs", "3"])
    config = build_config(args)
    assert (config.kind, config.settings.digit, config.training.epochs) == ("constant", 5, 3)
    with pytest.raises(ConfigError, match="--digit is a flag of constant runs"):
        build_config(_parser().parse_args(["train", "--digit", "5"]))


def test_a_new_kind_is_swept_through_its_hooks(toy_kind, tmp_path, mnist, monkeypatch):
    """The shared sweep code reads the toy's settings, objective, checks and first ASHA rung from its
    sweep.py: the space, the sweep's definition and the controller's trial (sampled, applied, run,
    scored) all work for it."""
    assert sweep_kinds()[-1] == "constant" and list(settings_of("constant")) == ["digit", "steps"]
    space = SearchSpace.from_dict({"steps": {"low": 2, "high": 4}, "digit": [1, 7]}, "constant")
    assert [dimension.name for dimension in space.dimensions] == ["digit", "steps"]  # the kind's order
    base = RunConfig(kind="constant", settings=toy_kind.section_class(steps=2))
    config = SweepConfig(space=space, base=base, objective="train_loss", trials=1, name="toy")
    assert (config.direction, config.objective_label) == ("minimize", "training loss")
    assert SweepConfig.from_json(config.to_json()) == config
    with pytest.raises(ConfigError, match="it belongs to constant runs"):
        SearchSpace.from_dict({"digit": [1, 2]}, "base")
    with pytest.raises(ConfigError, match="constant runs report training loss only; use objective train_loss"):
        SweepConfig(space=space, base=base)  # validation accuracy: the toy does not report it
    with pytest.raises(ConfigError, match="two steps for its loss"):  # the kind's sweep check
        SweepConfig(space=space, base=base.replace(settings=toy_kind.section_class(steps=1)), objective="train_loss")
    with pytest.raises(ConfigError, match="makes an invalid run: constant: no more steps than epochs"):
        SweepConfig(space=SearchSpace.from_dict({"steps": {"low": 2, "high": 9}}, "constant"), base=base,
                    objective="train_loss")  # a corner of the space breaks the kind's own config check
    pruner = {}
    monkeypatch.setattr(optuna.pruners, "SuccessiveHalvingPruner", lambda **arguments: pruner.update(arguments))
    make_pruner(dataclasses.replace(config, pruner="asha"))
    assert pruner["min_resource"] == 3

    # The controller's trial: sampled from the toy's space, applied to its config, launched, run, scored.
    runs, sweeps = RunStore(tmp_path / "home"), SweepStore(tmp_path / "home")
    launched = []

    def launch(store, run_config, mnist_path=None, use_spare=True, tags=None, owner=""):
        launched.append(run_config)
        return store.create_run(run_config, tags=tags, owner=owner)

    monkeypatch.setattr(runner, "launch", launch)
    controller = Controller(runs, sweeps, sweeps.create(config), parallel=1)
    assert (controller.series, controller.metric) == ("train", "loss")
    controller._start_trial()
    (flight,) = controller.in_flight.values()
    (trial_config,) = launched
    params = flight.trial.params
    assert trial_config.kind == "constant"
    assert (trial_config.settings.digit, trial_config.settings.steps) == (params["digit"], params["steps"])
    runs.mark_running(flight.run_id)
    assert execute(runs, flight.run_id, None, data=mnist) == "completed"
    controller._follow(flight)
    assert controller.study.best_trial.value == pytest.approx(1 / params["steps"])  # its last step's loss


def test_a_new_kinds_diagram_is_drawn_by_the_shared_path(toy_kind):
    diagram = of_kind("constant", NetworkConfig(()), NetworkConfig(()), {"constant": {"digit": 4}, "stacking": {}})
    assert [box.label for box in diagram.chains[0].boxes] == ["Always 4"]
    assert "Always 4" in diagram_html(diagram) and "Constant answer" in diagram_html(diagram)
    assert of_kind("constant", NetworkConfig(()), NetworkConfig(())).chains[0].boxes[0].label == "Always 3"
