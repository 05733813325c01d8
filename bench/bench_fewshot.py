"""Few-shot benchmark: every method on the same fixed MNIST evaluation episodes, each trained ONCE for the same wall time.

    python bench/bench_fewshot.py [--mnist PATH] [--methods pixels,pretrain,meta_baseline,protonet,maml,fomaml,metasgd,reptile]
                                  [--budget 300] [--episodes 600] [--shots 1,5] [--quick]

Settings: 5-way 1-shot and 5-way 5-shot, 15 queries per class. For each setting the evaluation episodes are drawn
ONCE from the meta-test pool (digits 5-9, test split) with ``evaluation_episodes`` (fixed seed), stored with
``save_episodes`` under bench/results/ and reloaded, so every method is scored on exactly the same episodes.

Every default (network, learning rates, inner steps, training episodes) comes from
``metalearn_core.kinds.fewshot.algorithms.defaults.DEFAULTS``, the file the dashboard reads too; the flags below override them.

Methods:

* pixels:        nearest class centroid on raw pixels (no training).
* pretrain:      a softmax classifier over the 20 meta-training classes (digits 0-4 and their rotations), trained
                 for ``--budget`` seconds, then nearest centroid in its penultimate features (Chen et al. 2019 /
                 SimpleShot).
* meta_baseline: Meta-Baseline (Chen et al. 2021): the same classifier pre-trained for ``pretrain_fraction`` of the
                 budget, then meta-trained episodically with cosine prototypes and a learned temperature for the
                 rest; pre-training + meta-training together take ``--budget`` seconds. When ``pretrain`` runs too,
                 its weights at that moment are copied rather than trained a second time (Adam at a constant rate
                 makes that copy identical to a separate, shorter run).
* protonet, maml, fomaml, metasgd, reptile: meta-trained on the meta-training pool (training split) for at most
                 ``--budget`` seconds of wall time (graph tracing included).

Every model is trained ONCE (on the training episodes of its defaults, 5-shot for all of them) and the same model is
scored on both settings; a model meant for 1-shot only could be trained on 1-shot episodes instead.

Evaluation: query accuracy on every evaluation episode: gradient-based methods after ``eval_steps`` inner steps on
the support set (``--eval-steps`` overrides), the prototype methods and the baselines directly. Reported as mean
and 95% interval (``mean_confidence_interval``), with training wall time and iterations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from metalearn_core.config import LayerConfig, NetworkConfig  # noqa: E402
from metalearn_core.data.mnist import load_mnist  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.baselines import (  # noqa: E402
    embedding_snapshot,
    mean_confidence_interval,
    nearest_centroid_features,
    nearest_centroid_pixels,
    pretrain_classifier,
)
from metalearn_core.kinds.fewshot.algorithms.defaults import BUDGET_SECONDS, DEFAULTS, TEST_QUERIES, TEST_WAYS  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.functional import NetworkSpec  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.loop import meta_train  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.maml import MAML  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.meta_baseline import meta_train_meta_baseline  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.metasgd import MetaSGD  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.protonet import ProtoNet, meta_train_protonet  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.reptile import Reptile  # noqa: E402
from metalearn_core.kinds.fewshot.episodes import (  # noqa: E402
    ClassPool,
    EpisodeConfig,
    evaluation_episodes,
    load_episodes,
    sample_episode,
    save_episodes,
)

ALL_METHODS = ("pixels", "pretrain", "meta_baseline", "protonet", "maml", "fomaml", "metasgd", "reptile")
LABELS = {"pixels": "Nearest centroid, pixels", "pretrain": "Pre-train + nearest centroid",
          "meta_baseline": "Meta-Baseline (pre-train + cosine ProtoNet)", "protonet": "Prototypical Networks",
          "maml": "MAML", "fomaml": "First-order MAML", "metasgd": "Meta-SGD", "reptile": "Reptile"}
GRADIENT_METHODS = ("maml", "fomaml", "metasgd", "reptile")
WAYS, QUERIES = TEST_WAYS, TEST_QUERIES


def keras_conv_network(filters: int, blocks: int) -> NetworkConfig:
    """The 4-block conv embedding as a NetworkConfig: conv3x3 (same, relu) -> batch norm -> max-pool 2x2."""
    layers = []
    for _ in range(blocks):
        layers += [LayerConfig("conv2d", filters=filters, kernel_size=3, padding="same", activation="relu"),
                   LayerConfig("batch_norm"), LayerConfig("max_pool", pool_size=2)]
    return NetworkConfig(tuple(layers))


class Clock:
    """Wall-time budget from construction; ``expired()`` once ``budget`` seconds have passed."""

    def __init__(self, budget: float):
        self.budget = budget
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def expired(self) -> bool:
        return self.elapsed >= self.budget


def settings(method: str, args) -> dict:
    """The method's defaults with any command-line overrides (flags left at None keep the default)."""
    values = dict(vars(DEFAULTS[method]))
    overrides = {"filters": args.filters, "blocks": args.blocks}
    if args.train_shots is not None:
        overrides["train_shots"] = tuple(int(k) for k in args.train_shots.split(","))
    if method in GRADIENT_METHODS:
        overrides.update(eval_steps=args.eval_steps, train_queries=args.train_queries, meta_batch_size=args.meta_batch)
    if method in ("maml", "fomaml", "metasgd"):
        overrides.update(inner_lr=args.maml_inner_lr if method != "metasgd" else args.metasgd_inner_lr,
                         inner_steps=args.maml_inner_steps, meta_lr=args.meta_lr)
    elif method == "reptile":
        overrides.update(inner_lr=args.reptile_inner_lr, inner_steps=args.reptile_inner_steps,
                         outer_lr=args.reptile_outer_lr, meta_batch_size=args.reptile_meta_batch or args.meta_batch)
    elif method in ("protonet", "meta_baseline"):
        overrides.update(train_ways=args.protonet_train_ways, train_queries=args.protonet_train_queries,
                         learning_rate=args.protonet_lr if method == "protonet" else args.meta_baseline_lr,
                         pretrain_fraction=args.pretrain_fraction if method == "meta_baseline" else None)
    if method in ("pretrain", "meta_baseline"):
        overrides.update(pretrain_batch_size=args.pretrain_batch, pretrain_learning_rate=args.pretrain_lr)
    values.update({key: value for key, value in overrides.items() if value is not None and key in values})
    return values


def describe_training(config: dict) -> str:
    shots = "/".join(str(k) for k in config["train_shots"])
    return f"{config['train_ways']}-way {shots}-shot, {config['train_queries']} queries"


# --- training ------------------------------------------------------------------------------------------------------

def train_pretrain(pool: ClassPool, config: dict, args, snapshot_at: float | None = None):
    """``pretrain_classifier`` stopped by wall time; optionally a copy of its embedding at ``snapshot_at`` seconds."""
    clock, batches, snapshot = Clock(args.budget), [0], {}

    def on_batch(model: keras.Model) -> None:
        batches[0] += 1
        if snapshot_at is not None and "embedding" not in snapshot and clock.elapsed >= snapshot_at:
            snapshot.update(embedding=embedding_snapshot(model), seconds=clock.elapsed, iterations=batches[0])

    embedding = pretrain_classifier(pool, keras_conv_network(config["filters"], config["blocks"]), epochs=10_000,
                                    batch_size=config["pretrain_batch_size"],
                                    learning_rate=config["pretrain_learning_rate"], seed=args.seed,
                                    on_batch=on_batch, should_stop=lambda: clock.expired())
    total = len(pool.all_examples()[0])
    info = {"train_seconds": clock.elapsed, "iterations": batches[0],
            "epochs": batches[0] * config["pretrain_batch_size"] / total}
    return embedding, info, snapshot


def train_meta_baseline(pool: ClassPool, config: dict, args, snapshot: dict | None):
    """Pre-train for ``pretrain_fraction`` of the budget (or reuse ``snapshot``), then episodic training for the rest."""
    pretrain_seconds = config["pretrain_fraction"] * args.budget
    if not snapshot:
        shorter = SimpleNamespace(**{**vars(args), "budget": pretrain_seconds})
        snapshot = dict(zip(("embedding", "info"), train_pretrain(pool, config, shorter)[:2]))
        snapshot.update(seconds=snapshot["info"]["train_seconds"], iterations=snapshot["info"]["iterations"])
    clock = Clock(args.budget - snapshot["seconds"])
    episode = SimpleNamespace(ways=config["train_ways"], shots=config["train_shots"], queries=config["train_queries"])
    net, history = meta_train_meta_baseline(pool, episode, snapshot["embedding"], iterations=10**9,
                                            learning_rate=config["learning_rate"], temperature=config["temperature"],
                                            on_iteration=lambda i, m: not clock.expired(), seed=args.seed)
    return net, {"train_seconds": snapshot["seconds"] + clock.elapsed, "pretrain_seconds": snapshot["seconds"],
                 "pretrain_batches": snapshot["iterations"], "iterations": len(history["iteration"]),
                 "train_episode": describe_training(config), "temperature": float(net.temperature.numpy()),
                 "final_train_accuracy": float(np.mean(history["accuracy"][-50:]))}


def train_protonet(pool: ClassPool, config: dict, args) -> tuple[ProtoNet, dict]:
    """``meta_train_protonet`` stopped by wall time: its callback returns False at the budget."""
    # EpisodeConfig refuses more ways than the 5 meta-test digits, but training episodes come from the 20-class
    # meta-training pool; sample_episode only reads ways, shots and queries, so a plain namespace does.
    if not 2 <= config["train_ways"] <= pool.num_classes:
        raise ValueError(f"--protonet-train-ways must be between 2 and {pool.num_classes}")
    episode = SimpleNamespace(ways=config["train_ways"], shots=config["train_shots"], queries=config["train_queries"])
    clock = Clock(args.budget)
    net, history = meta_train_protonet(pool, episode, keras_conv_network(config["filters"], config["blocks"]),
                                       iterations=10**9, learning_rate=config["learning_rate"],
                                       on_iteration=lambda i, m: not clock.expired(), seed=args.seed)
    return net, {"train_seconds": clock.elapsed, "iterations": len(history["iteration"]),
                 "train_episode": describe_training(config),
                 "final_train_accuracy": float(np.mean(history["accuracy"][-50:]))}


def make_learner(method: str, config: dict, args):
    spec = NetworkSpec.conv(filters=config["filters"], blocks=config["blocks"])
    common = dict(inner_lr=config["inner_lr"], inner_steps=config["inner_steps"], eval_steps=config["eval_steps"],
                  seed=args.seed)
    if method in ("maml", "fomaml"):
        return MAML(spec, WAYS, first_order=method == "fomaml", meta_lr=config["meta_lr"], **common)
    if method == "metasgd":
        return MetaSGD(spec, WAYS, meta_lr=config["meta_lr"], **common)
    if method == "reptile":
        # total_iterations is re-estimated from the clock during training, so epsilon anneals to 0 over the budget.
        return Reptile(spec, WAYS, outer_lr=config["outer_lr"], total_iterations=10**9, **common)
    raise ValueError(method)


def train_gradient(method: str, pool: ClassPool, config: dict, args):
    """``meta_train`` with a huge iteration count, stopped by ``on_iteration`` returning False at the budget."""
    learner = make_learner(method, config, args)
    rng = np.random.default_rng(args.seed)
    clock = Clock(args.budget)

    def sample_batch(n: int) -> list:
        # One shot count per meta-batch, drawn from train_shots, so a meta-batch is one traced shape.
        shots = int(rng.choice(config["train_shots"]))
        episode = EpisodeConfig(ways=config["train_ways"], shots=shots, queries=config["train_queries"], seed=args.seed)
        return [sample_episode(pool, episode, rng) for _ in range(n)]

    def on_iteration(iteration: int, metrics: dict) -> bool:
        if method == "reptile":  # linear annealing over the wall-time budget
            done = iteration + 1
            learner.total_iterations = max(done + 1, int(round(done * args.budget / max(clock.elapsed, 1e-6))))
        return not clock.expired()

    history = meta_train(learner, sample_batch, iterations=10**9, meta_batch_size=config["meta_batch_size"],
                         on_iteration=on_iteration)
    return learner, {"train_seconds": clock.elapsed, "iterations": len(history),
                     "meta_batch": config["meta_batch_size"], "train_episode": describe_training(config),
                     "final_train_accuracy": float(np.mean([m["accuracy"] for m in history[-20:]]))}


# --- evaluation ----------------------------------------------------------------------------------------------------

def evaluate(method: str, model, episodes) -> tuple[np.ndarray, float, int | None]:
    started = time.perf_counter()
    steps = None
    if method == "pixels":
        accuracies = [nearest_centroid_pixels(e) for e in episodes]
    elif method == "pretrain":
        accuracies = [nearest_centroid_features(model, e) for e in episodes]
    elif method in ("protonet", "meta_baseline"):
        accuracies = list(model.evaluate(episodes))
    else:
        steps = model.inner_steps if model.eval_steps is None else model.eval_steps
        accuracies = [model.accuracy(e) for e in episodes]  # one traced call per episode
    return np.asarray(accuracies), time.perf_counter() - started, steps


def fmt(result: dict | None) -> str:
    if result is None:
        return "-"
    return f"{100 * result['mean']:.2f} ± {100 * result['ci95']:.2f}%"


def print_table(results: dict, shots_list: list[int]) -> None:
    print(f"\n| method | {' | '.join(f'{WAYS}-way {k}-shot' for k in shots_list)} | training time | iterations "
          "| trained on |")
    print("|---|" + "---|" * len(shots_list) + "---|---|---|")
    for method, entry in results.items():
        cells = [fmt(entry["scores"].get(str(k))) for k in shots_list]
        if method == "pixels":
            time_cell, iter_cell, trained_on = "none", "-", "-"
        elif method == "pretrain":
            time_cell, iter_cell, trained_on = f"{entry['train_seconds']:.0f} s", f"{entry['iterations']} batches", \
                "20 classes, batches of images"
        elif method == "meta_baseline":
            time_cell = f"{entry['train_seconds']:.0f} s ({entry['pretrain_seconds']:.0f} s pre-training)"
            iter_cell = f"{entry['pretrain_batches']} batches + {entry['iterations']} episodes"
            trained_on = entry["train_episode"]
        else:
            time_cell, iter_cell, trained_on = f"{entry['train_seconds']:.0f} s", str(entry["iterations"]), \
                entry["train_episode"]
        print(f"| {LABELS[method]} | {' | '.join(cells)} | {time_cell} | {iter_cell} | {trained_on} |")
    print("\nEvery model was trained once and scored on every setting with the same weights.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST")
                        or str(ROOT.parent / "shared" / "data" / "mnist.npz"))
    parser.add_argument("--methods", default=",".join(ALL_METHODS), help=f"comma-separated subset of {ALL_METHODS}")
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS, help="training wall seconds per method")
    parser.add_argument("--episodes", type=int, default=600, help="evaluation episodes per setting")
    parser.add_argument("--shots", default="1,5", help="evaluation shot counts")
    parser.add_argument("--quick", action="store_true", help="smoke test: budget 20 s, 100 episodes")
    parser.add_argument("--seed", type=int, default=0, help="training seed (weights, training episodes)")
    # Every flag below defaults to None: the value of metalearn_core.kinds.fewshot.algorithms.defaults.DEFAULTS for the method.
    parser.add_argument("--filters", type=int, help="conv filters per block, all methods (papers: 64)")
    parser.add_argument("--blocks", type=int, help="conv blocks, all methods (papers: 4)")
    parser.add_argument("--train-shots", help="comma-separated shot counts of training episodes, all methods")
    parser.add_argument("--train-queries", type=int, help="queries per class, MAML/FOMAML/Meta-SGD/Reptile episodes")
    parser.add_argument("--meta-batch", type=int, help="tasks per meta-update, MAML/FOMAML/Meta-SGD (paper: 32)")
    parser.add_argument("--meta-lr", type=float, help="Adam step of MAML/FOMAML/Meta-SGD")
    parser.add_argument("--maml-inner-lr", type=float, help="MAML/FOMAML inner step (paper: 0.4)")
    parser.add_argument("--maml-inner-steps", type=int, help="MAML/FOMAML/Meta-SGD inner steps in training")
    parser.add_argument("--metasgd-inner-lr", type=float, help="Meta-SGD initial per-parameter rate")
    parser.add_argument("--reptile-inner-lr", type=float, help="Reptile SGD inner learning rate")
    parser.add_argument("--reptile-inner-steps", type=int, help="paper: 5 on Omniglot")
    parser.add_argument("--reptile-outer-lr", type=float, help="initial epsilon, annealed to 0 (paper: 1.0)")
    parser.add_argument("--reptile-meta-batch", type=int, help="paper: 5")
    parser.add_argument("--eval-steps", type=int, help="inner steps at evaluation, gradient-based methods")
    parser.add_argument("--protonet-train-ways", type=int, help="ProtoNet/Meta-Baseline training ways")
    parser.add_argument("--protonet-train-queries", type=int, help="ProtoNet/Meta-Baseline training queries")
    parser.add_argument("--protonet-lr", type=float, help="ProtoNet Adam step")
    parser.add_argument("--meta-baseline-lr", type=float, help="Meta-Baseline episodic Adam step")
    parser.add_argument("--pretrain-fraction", type=float, help="Meta-Baseline: share of the budget pre-training")
    parser.add_argument("--pretrain-batch", type=int)
    parser.add_argument("--pretrain-lr", type=float)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "fewshot.json"))
    args = parser.parse_args()
    if args.quick:
        args.budget, args.episodes = 20.0, 100
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for method in methods:
        if method not in ALL_METHODS:
            parser.error(f"unknown method {method!r}; choose from {', '.join(ALL_METHODS)}")
    shots_list = [int(k) for k in args.shots.split(",")]
    out_dir = Path(args.out).parent
    out_dir.mkdir(parents=True, exist_ok=True)

    bench_started = time.perf_counter()
    data = load_mnist(args.mnist)
    print(data.describe(), flush=True)
    print(f"methods {methods}, budget {args.budget:g} s per method, {args.episodes} episodes, shots {shots_list}; "
          "each model trained once and scored on every setting", flush=True)

    # The evaluation episodes: drawn once per setting, stored, reloaded; every method gets the same list.
    eval_sets, episode_files = {}, {}
    for shots in shots_list:
        config = EpisodeConfig(ways=WAYS, shots=shots, queries=QUERIES)
        path = out_dir / f"fewshot_eval_{WAYS}w{shots}s_{args.episodes}.npz"
        save_episodes(path, evaluation_episodes(data, config, args.episodes), config, data)
        eval_sets[shots] = load_episodes(path, data)
        episode_files[str(shots)] = str(path)
        print(f"{WAYS}-way {shots}-shot: {len(eval_sets[shots])} evaluation episodes -> {path}", flush=True)

    train_pool = ClassPool.meta_train(data, EpisodeConfig())
    print(f"meta-training pool: {train_pool.describe()}", flush=True)

    results: dict = {}
    snapshot: dict = {}  # the pre-trained embedding Meta-Baseline starts from, when pretrain runs first
    ordered = sorted(methods, key=ALL_METHODS.index)  # pretrain before meta_baseline
    for method in ordered:
        config = settings(method, args) if method != "pixels" else {}
        model, info = None, {}
        if method == "pretrain":
            at = settings("meta_baseline", args)["pretrain_fraction"] * args.budget
            model, info, snapshot = train_pretrain(train_pool, config, args,
                                                   snapshot_at=at if "meta_baseline" in methods else None)
        elif method == "meta_baseline":
            model, info = train_meta_baseline(train_pool, config, args, snapshot)
        elif method == "protonet":
            model, info = train_protonet(train_pool, config, args)
        elif method in GRADIENT_METHODS:
            model, info = train_gradient(method, train_pool, config, args)
        print(f"{method}: trained {json.dumps(info)}", flush=True)
        results[method] = {**info, "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
                           "scores": {}}
        for shots in shots_list:
            accuracies, eval_seconds, steps = evaluate(method, model, eval_sets[shots])
            mean, ci = mean_confidence_interval(accuracies)
            results[method]["scores"][str(shots)] = {"mean": mean, "ci95": ci, "episodes": len(accuracies),
                                                     "eval_seconds": eval_seconds, "eval_inner_steps": steps}
            print(f"{method} {shots}-shot: {100 * mean:.2f} ± {100 * ci:.2f}% (evaluated in {eval_seconds:.0f} s)",
                  flush=True)

    report = {"settings": dict(vars(args)), "shots": shots_list, "ways": WAYS, "queries": QUERIES,
              "episode_files": episode_files,
              "training": "each model trained once (training episodes in its settings), scored on every setting",
              "data": data.describe(), "total_seconds": time.perf_counter() - bench_started, "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}; total {report['total_seconds']:.0f} s")
    print_table(results, shots_list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
