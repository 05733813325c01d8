"""The online kind: prequential scoring never learns an example before predicting it, the streams are
what they say, the learners start where they should, and a tiny run goes through the worker."""

import json

import numpy as np
import pytest

from metalearn_core.cli import _parser, build_config
from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.fewshot.algorithms.functional import forward
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.run import FewShotModel
from metalearn_core.kinds.fewshot.setup import fewshot_network, recommended_settings
from metalearn_core.kinds.online import results as online_results
from metalearn_core.kinds.online.config import OnlineConfig
from metalearn_core.kinds.online.learners import (
    Adam,
    OnlineError,
    build_learners,
    metalearned_learner,
    pretrained_from_run,
    scratch_learner,
)
from metalearn_core.kinds.online.prequential import prequential
from metalearn_core.kinds.online.streams import random_stream, rotating_stream, switching_stream
from metalearn_core.runs.store import RunStore
from metalearn_core.worker import execute

TINY_FEWSHOT = dict(iterations=6, validation_every=5, validation_episodes=2, evaluation_episodes=10,
                    baseline_seconds=0.0, queries=5)


def _noise_labels(mnist, n=300):
    """MNIST images with random labels: nothing to learn, so an honest learner scores about 10%."""
    x = mnist.x_test[:n].astype(np.float32) / 255
    return x, np.random.default_rng(0).integers(0, 10, n).astype(np.int32)


class LearnFirst:
    """The mistake the prequential loop must never make: learn an example, then predict it."""

    def __init__(self, learner):
        self.learner = learner

    def step(self, x, y):
        self.learner.step(x, y)
        return self.learner.predict(x)


def test_prequential_never_trains_before_predicting(mnist):
    x, y = _noise_labels(mnist)
    settings = OnlineConfig(sgd_learning_rate=2.0, hidden=(32,))  # so large a step memorises each example
    honest = prequential(scratch_learner("sgd", settings), x, y)
    cheat = prequential(LearnFirst(scratch_learner("sgd", settings)), x, y)
    assert honest.final < 0.25  # chance is 10%: random labels cannot be predicted
    assert cheat.final > 0.5  # the same learner, trained first, "predicts" what it just memorised


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_each_prediction_is_made_by_weights_that_have_not_seen_the_example(mnist, name):
    x, y = _noise_labels(mnist, 20)
    learner = scratch_learner(name, OnlineConfig(hidden=(16,)))
    spec = (784, 16)
    for i in range(len(y)):
        before = learner.weights()
        expected = np.argmax(forward(before, x[i:i + 1].reshape(1, -1), spec).numpy(), axis=1)
        predicted = learner.step(x[i:i + 1], y[i:i + 1])
        assert predicted.tolist() == expected.tolist()  # the prediction of the weights before the step
        assert any(not np.array_equal(a, b) for a, b in zip(before, learner.weights()))  # then it learned


def test_adam_rule_matches_its_formula():
    import tensorflow as tf

    variable = tf.Variable([1.0, -2.0])
    rule = Adam([variable], rate=0.1)
    grads = [np.array([0.5, -1.0], np.float32), np.array([0.2, 0.3], np.float32)]
    m, v, w = np.zeros(2), np.zeros(2), np.array([1.0, -2.0])
    for t, g in enumerate(grads, start=1):
        rule.apply([variable], [tf.constant(g)])
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w = w - 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-7)
    np.testing.assert_allclose(variable.numpy(), w, rtol=1e-4)


def test_random_stream_is_a_permutation_of_test_images(mnist):
    stream = random_stream(mnist, 500, seed=3)
    assert len(set(stream.rows.tolist())) == 500 and stream.rows.max() < len(mnist.y_test)
    np.testing.assert_array_equal(stream.y, mnist.y_test[stream.rows])
    np.testing.assert_allclose(stream.x[7], mnist.x_test[stream.rows[7]] / 255.0)
    assert stream.drift_at is None and not stream.angle.any()
    assert not np.array_equal(stream.rows, np.sort(stream.rows))  # shuffled, not in file order
    assert np.array_equal(random_stream(mnist, 500, seed=3).rows, stream.rows)  # and the same for a seed
    with pytest.raises(ValueError, match="needs that many test images"):
        random_stream(mnist, len(mnist.y_test) + 1)


def test_rotating_stream_angle_grows_to_the_maximum(mnist):
    stream = rotating_stream(mnist, 101, max_angle=90.0, seed=1)
    assert stream.angle[0] == 0.0 and stream.angle[-1] == pytest.approx(90.0)
    assert np.all(np.diff(stream.angle) > 0)
    np.testing.assert_allclose(np.diff(stream.angle), 0.9, rtol=1e-4)  # linear
    plain = random_stream(mnist, 101, seed=1)
    np.testing.assert_allclose(stream.x[0], plain.x[0], atol=1e-6)  # the first image is upright
    # The last one is turned a quarter, anticlockwise: numpy's rot90 of the upright image.
    np.testing.assert_allclose(stream.x[-1], np.rot90(plain.x[-1]), atol=1e-4)


def test_switching_stream_is_mnist_then_fashion_from_the_middle(mnist, fashion):
    stream = switching_stream(mnist, fashion, 400, seed=2)
    assert stream.drift_at == 200
    assert stream.domain[:200].tolist() == [0] * 200 and stream.domain[200:].tolist() == [1] * 200
    np.testing.assert_allclose(stream.x[199], mnist.x_test[stream.rows[199]] / 255.0)
    np.testing.assert_allclose(stream.x[200], fashion.x_test[stream.rows[200]] / 255.0)
    np.testing.assert_array_equal(stream.y[200:], fashion.y_test[stream.rows[200:]])
    assert report_summary_switch(stream) == 200


def report_summary_switch(stream):
    from metalearn_core.kinds.online.streams import stream_summary

    return stream_summary(stream)["switch_at"]


def test_config_validation_and_round_trip():
    config = RunConfig(kind="online", settings=OnlineConfig(stream="switch", length=400, learners=("sgd", "adam")))
    assert RunConfig.from_json(config.to_json()) == config
    assert config.settings.drift_at == 200 and OnlineConfig(stream="rotate").drift_at is None
    bad = [(dict(stream="spiral"), "stream must be one of"), (dict(batch_size=0), "batch size"),
           (dict(learners=()), "at least one learner"), (dict(learners=("sgd", "sgd")), "once"),
           (dict(learners=("metalearned",)), "finished few-shot run"), (dict(learners=("magic",)), "learner"),
           (dict(length=100, window=200), "window"), (dict(hidden=()), "1 to 4 hidden layers"),
           (dict(length=20_000), "stream length"),
           (dict(meta_step="adam"), "meta-learned step")]
    for fields, message in bad:
        with pytest.raises(ConfigError, match=message):
            OnlineConfig(**fields)
    with pytest.raises(ConfigError, match="MNIST digits"):
        RunConfig(kind="online", training=TrainingConfig(dataset="fashion_mnist"))


def test_cli_flags_build_an_online_config():
    args = _parser().parse_args(["train", "--kind", "online", "--stream", "rotate", "--stream-length", "500",
                                 "--stream-batch", "4", "--max-angle", "45", "--fewshot-run", "7",
                                 "--meta-step", "meta-learned"])
    settings = build_config(args).settings
    assert (settings.stream, settings.length, settings.batch_size, settings.max_angle) == ("rotate", 500, 4, 45.0)
    assert settings.fewshot_run == 7 and settings.learners[-1] == "metalearned"
    assert settings.meta_step == "meta-learned"
    with pytest.raises(ConfigError, match="flag of online runs"):
        build_config(_parser().parse_args(["train", "--stream", "rotate"]))


@pytest.fixture(scope="module")
def fewshot_home(tmp_path_factory, mnist, record_run):
    """A store with a tiny Meta-SGD run and a tiny base run, for the learners that start from a run."""
    store = RunStore(tmp_path_factory.mktemp("online"))
    settings = FewShotConfig(algorithm="metasgd", **{**recommended_settings("metasgd"), **TINY_FEWSHOT})
    fewshot = record_run(store, RunConfig(kind="fewshot", base=fewshot_network("dense", hidden=(16,)),
                                          settings=settings), mnist)
    base = record_run(store, RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))),
                                       training=TrainingConfig(epochs=1, train_limit=500, test_limit=100)), mnist)
    return store, fewshot, base


def test_the_metalearned_learner_starts_from_the_fewshot_runs_weights(fewshot_home):
    store, fewshot, _ = fewshot_home
    config = store.get(fewshot).config
    saved = FewShotModel.load(store.run_folder(fewshot), config).learner
    learner = metalearned_learner(store.run_folder(fewshot), config, rate=None)
    params = [np.asarray(p) for p in saved.params]
    mine = learner.weights()
    for a, b in zip(params[:-2], mine[:-2]):
        np.testing.assert_array_equal(a, b)  # the meta-learned body as it was saved
    assert mine[-2].shape == (16, 10) and mine[-1].shape == (10,)
    for column in range(10):  # every class starts from the mean of the 5 meta-learned head columns
        np.testing.assert_allclose(mine[-2][:, column], params[-2].mean(axis=1), rtol=1e-6)
    rates = [np.asarray(r) for r in saved.learning_rates]
    np.testing.assert_allclose(learner.rule.rate[0].numpy(), rates[0])  # Meta-SGD: its learned rates
    np.testing.assert_allclose(learner.rule.rate[-1].numpy(), np.full(10, rates[-1].mean()), rtol=1e-6)
    settings = OnlineConfig(learners=("metalearned",), fewshot_run=fewshot, length=100, window=50)
    default = build_learners(settings, None, store.run_folder(fewshot))[0]
    assert default.rule.rate == settings.sgd_learning_rate  # by default: the scratch SGD learner's rule
    np.testing.assert_array_equal(default.weights()[0], mine[0])


def test_learners_refuse_runs_they_cannot_start_from(fewshot_home, mnist):
    store, fewshot, base = fewshot_home
    with pytest.raises(OnlineError, match="MAML, Meta-SGD or Reptile"):
        metalearned_learner(store.run_folder(base), store.get(base).config)
    with pytest.raises(OnlineError, match="needs a base run"):
        pretrained_from_run(store.run_folder(fewshot), store.get(fewshot).config, 0.01)
    settings = OnlineConfig(learners=("pretrained",), pretrained_run=9999, length=100, window=50)
    with pytest.raises(OnlineError, match="not found"):
        build_learners(settings, mnist, store.run_folder(base))


def test_the_pretrained_learner_starts_as_the_base_runs_network(fewshot_home, mnist):
    from metalearn_core.predictor import load_predictor

    store, _, base = fewshot_home
    learner = pretrained_from_run(store.run_folder(base), store.get(base).config, 0.01)
    x = mnist.x_test[:50].astype(np.float32) / 255
    expected = np.argmax(load_predictor(store.run_folder(base), store.get(base).config).model.predict(x, verbose=0), 1)
    np.testing.assert_array_equal(learner.predict(x), expected)


def test_a_tiny_run_through_the_worker(fewshot_home, mnist):
    store, fewshot, base = fewshot_home
    settings = OnlineConfig(stream="rotate", length=120, batch_size=3, learners=("sgd", "pretrained", "metalearned"),
                            pretrained_run=base, fewshot_run=fewshot, report_every=25, window=40)
    run_id = store.create_run(RunConfig(kind="online", settings=settings))
    assert execute(store, run_id, None, data=mnist) == "completed", store.get(run_id).error
    results = online_results.read_results(store.run_folder(run_id))
    assert set(results["learners"]) == {"sgd", "pretrained", "metalearned"}
    rows = store.metrics(run_id)
    assert {row["series"] for row in rows} == {"sgd", "pretrained", "metalearned"}
    curves = online_results.curves_from_metrics(rows)
    for name, learner in results["learners"].items():
        correct = np.asarray(learner["correct"])
        assert len(correct) == 120
        # The running accuracy equals the mean of the recorded per-example correctness, at every point.
        # A point at the first batch end at or past each multiple of 25 (batches of 3), and one at the end.
        assert curves[name]["examples"] == [27.0, 51.0, 75.0, 102.0, 120.0]
        for seen, running, recent in zip(curves[name]["examples"], curves[name]["prequential_accuracy"],
                                         curves[name]["window_accuracy"]):
            assert running == pytest.approx(correct[:int(seen)].mean())
            assert recent == pytest.approx(correct[max(int(seen) - 40, 0):int(seen)].mean())
        assert learner["final"] == pytest.approx(correct.mean())
        assert learner["auc"] == pytest.approx(np.mean(np.cumsum(correct) / np.arange(1, 121)))
        assert store.get(run_id).summary[f"final_{name}"] == pytest.approx(learner["final"])
    assert results["stream"]["max_angle"] == pytest.approx(90.0) and results["drift_at"] is None
    assert "| learner |" in online_results.markdown_table(online_results.results_rows(results))
    json.dumps(results)  # plain JSON throughout


def test_a_learner_that_cannot_be_built_fails_the_run_with_its_reason(home, mnist):
    store = RunStore(home)
    settings = OnlineConfig(learners=("metalearned",), fewshot_run=4242, length=100, window=50)
    run_id = store.create_run(RunConfig(kind="online", settings=settings))
    assert execute(store, run_id, None, data=mnist) == "failed"
    assert "few-shot run 4242 was not found" in store.get(run_id).error


def test_a_drawing_learner_guesses_first_then_learns_the_users_digit(mnist):
    from metalearn_core.kinds.online.drawings import DrawingLearner

    learner = DrawingLearner.start(None, None, rate=0.5)
    with pytest.raises(OnlineError, match="guess a drawing before"):
        learner.teach(3)
    image = mnist.x_test[0].astype(np.float32) / 255
    wrong = (int(np.argmax(learner.guess(image))) + 1) % 10  # a label the fresh network did not guess
    assert learner.waiting and learner.teach(wrong) is False and not learner.waiting
    for _ in range(5):
        learner.guess(image)
        learner.teach(wrong)
    assert int(np.argmax(learner.guess(image))) == wrong  # it has learned this drawing's digit
    assert learner.teach(wrong) is True
    assert learner.correct[-1] and learner.running_accuracy == pytest.approx(np.mean(learner.correct))
    assert learner.curve()[-1] == pytest.approx(learner.running_accuracy) and len(learner.curve()) == 7
    with pytest.raises(OnlineError, match="28x28"):
        learner.guess(np.zeros((10, 10)))


def test_a_drawing_learner_starts_from_a_base_run(fewshot_home, mnist):
    from metalearn_core.kinds.online.drawings import DrawingLearner

    store, fewshot, base = fewshot_home
    learner = DrawingLearner.start(store.run_folder(base), store.get(base).config)
    assert learner.source.startswith(f"run {base}")
    assert learner.guess(mnist.x_test[1] / 255).shape == (10,)
    assert DrawingLearner.start(store.run_folder(fewshot), store.get(fewshot).config).learner.name == "metalearned"
