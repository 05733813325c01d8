"""Few-shot benchmark: every method on the same fixed MNIST evaluation episodes, each trained for the same wall time.

    python bench/bench_fewshot.py [--mnist PATH] [--methods pixels,pretrain,protonet,maml,fomaml,metasgd,reptile]
                                  [--budget 300] [--episodes 600] [--shots 1,5] [--quick]

Settings: 5-way 1-shot and 5-way 5-shot, 15 queries per class. For each setting the evaluation episodes are drawn
ONCE from the meta-test pool (digits 5-9, test split) with ``evaluation_episodes`` (fixed seed), stored with
``save_episodes`` under bench/results/ and reloaded, so every method is scored on exactly the same episodes.

Methods:

* pixels:   nearest class centroid on raw pixels (no training).
* pretrain: a softmax classifier over the 20 meta-training classes (digits 0-4 and their rotations), trained for
            ``--budget`` seconds, then nearest centroid in its penultimate features (Chen et al. 2019 / SimpleShot).
            Trained once; it does not depend on the shot count.
* protonet, maml, fomaml, metasgd, reptile: meta-trained on the meta-training pool (training split) for at most
            ``--budget`` seconds of wall time (graph tracing included), SEPARATELY for each setting, with training
            episodes whose shot count matches the evaluation (Snell et al. 2017; Finn et al. 2017).

Evaluation: query accuracy on every evaluation episode: gradient-based methods after adapting on the support set
with the inner steps used in meta-training (``--eval-steps`` overrides), ProtoNet and the baselines directly.
Reported as mean and 95% interval (``mean_confidence_interval``), with meta-training wall time and iterations.
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
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from metalearn_core.algorithms import (  # noqa: E402
    MAML,
    MetaSGD,
    NetworkSpec,
    ProtoNet,
    Reptile,
    mean_confidence_interval,
    meta_train,
    meta_train_protonet,
    nearest_centroid_features,
    nearest_centroid_pixels,
    pretrain_classifier,
)
from metalearn_core.config import LayerConfig, NetworkConfig  # noqa: E402
from metalearn_core.data import load_mnist  # noqa: E402
from metalearn_core.episodes import (  # noqa: E402
    ClassPool,
    EpisodeConfig,
    evaluation_episodes,
    load_episodes,
    sample_episode,
    save_episodes,
)

ALL_METHODS = ("pixels", "pretrain", "protonet", "maml", "fomaml", "metasgd", "reptile")
LABELS = {"pixels": "Nearest centroid, pixels", "pretrain": "Pre-train + nearest centroid",
          "protonet": "Prototypical Networks", "maml": "MAML", "fomaml": "First-order MAML",
          "metasgd": "Meta-SGD", "reptile": "Reptile"}
WAYS, QUERIES = 5, 15


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


# --- training ------------------------------------------------------------------------------------------------------

def train_pretrain(pool: ClassPool, network: NetworkConfig, args) -> tuple[keras.Model, dict]:
    """``pretrain_classifier`` stopped by wall time instead of a number of epochs."""
    clock, batches = Clock(args.budget), [0]

    def out_of_time() -> bool:
        batches[0] += 1
        return clock.expired()

    embedding = pretrain_classifier(pool, network, epochs=10_000, batch_size=args.pretrain_batch,
                                    learning_rate=args.pretrain_lr, seed=args.seed, should_stop=out_of_time)
    total = len(pool.all_examples()[0])
    return embedding, {"train_seconds": clock.elapsed, "iterations": batches[0],
                       "epochs": batches[0] * args.pretrain_batch / total}


def train_protonet(pool: ClassPool, network: NetworkConfig, shots: int, args) -> tuple[ProtoNet, dict]:
    """``meta_train_protonet`` stopped by wall time: its callback returns False at the budget."""
    # EpisodeConfig refuses more ways than the 5 meta-test digits, but training episodes come from the 20-class
    # meta-training pool; sample_episode only reads ways, shots and queries, so a plain namespace does.
    if not 2 <= args.protonet_train_ways <= pool.num_classes:
        raise ValueError(f"--protonet-train-ways must be between 2 and {pool.num_classes}")
    config = SimpleNamespace(ways=args.protonet_train_ways, shots=shots, queries=args.protonet_train_queries)
    clock = Clock(args.budget)
    net, history = meta_train_protonet(pool, config, network, iterations=10**9, learning_rate=args.protonet_lr,
                                       on_iteration=lambda i, m: not clock.expired(), seed=args.seed)
    return net, {"train_seconds": clock.elapsed, "iterations": len(history["iteration"]),
                 "train_episode": f"{config.ways}-way {shots}-shot, {config.queries} queries",
                 "final_train_accuracy": float(np.mean(history["accuracy"][-50:]))}


def make_learner(method: str, spec: NetworkSpec, args):
    if method in ("maml", "fomaml"):
        return MAML(spec, WAYS, inner_lr=args.maml_inner_lr, inner_steps=args.maml_inner_steps,
                    first_order=method == "fomaml", meta_lr=args.meta_lr, seed=args.seed)
    if method == "metasgd":
        return MetaSGD(spec, WAYS, inner_lr=args.metasgd_inner_lr, inner_steps=args.maml_inner_steps,
                       meta_lr=args.meta_lr, seed=args.seed)
    if method == "reptile":
        # total_iterations is re-estimated from the clock during training, so epsilon anneals to 0 over the budget.
        return Reptile(spec, WAYS, inner_lr=args.reptile_inner_lr, inner_steps=args.reptile_inner_steps,
                       outer_lr=args.reptile_outer_lr, total_iterations=10**9, seed=args.seed)
    raise ValueError(method)


def train_gradient(method: str, pool: ClassPool, spec: NetworkSpec, shots: int, args):
    """``meta_train`` with a huge iteration count, stopped by ``on_iteration`` returning False at the budget."""
    config = EpisodeConfig(ways=WAYS, shots=shots, queries=args.train_queries, seed=args.seed)
    learner = make_learner(method, spec, args)
    rng = np.random.default_rng(args.seed)
    batch_size = args.reptile_meta_batch if method == "reptile" else args.meta_batch
    clock = Clock(args.budget)

    def on_iteration(iteration: int, metrics: dict) -> bool:
        if method == "reptile":  # linear annealing over the wall-time budget
            done = iteration + 1
            learner.total_iterations = max(done + 1, int(round(done * args.budget / max(clock.elapsed, 1e-6))))
        return not clock.expired()

    history = meta_train(learner, lambda n: [sample_episode(pool, config, rng) for _ in range(n)],
                         iterations=10**9, meta_batch_size=batch_size, on_iteration=on_iteration)
    return learner, {"train_seconds": clock.elapsed, "iterations": len(history), "meta_batch": batch_size,
                     "train_episode": f"{WAYS}-way {shots}-shot, {args.train_queries} queries",
                     "final_train_accuracy": float(np.mean([m["accuracy"] for m in history[-20:]]))}


# --- evaluation ----------------------------------------------------------------------------------------------------

def evaluate(method: str, model, episodes, eval_steps: int | None) -> tuple[np.ndarray, float, int | None]:
    started = time.perf_counter()
    steps = None
    if method == "pixels":
        accuracies = [nearest_centroid_pixels(e) for e in episodes]
    elif method == "pretrain":
        accuracies = [nearest_centroid_features(model, e) for e in episodes]
    elif method == "protonet":
        accuracies = list(model.evaluate(episodes))
    else:
        steps = model.inner_steps if eval_steps is None else eval_steps
        accuracies = [model.evaluate(e, steps=steps)[-1] for e in episodes]
    return np.asarray(accuracies), time.perf_counter() - started, steps


def fmt(result: dict | None) -> str:
    if result is None:
        return "-"
    return f"{100 * result['mean']:.2f} ± {100 * result['ci95']:.2f}%"


def print_table(results: dict, shots_list: list[int]) -> None:
    print(f"\n| method | {' | '.join(f'{WAYS}-way {k}-shot' for k in shots_list)} | meta-training time | iterations |")
    print("|---|" + "---|" * len(shots_list) + "---|---|")
    for method, by_shot in results.items():
        cells = [fmt(by_shot.get(str(k))) for k in shots_list]
        times = [by_shot[str(k)].get("train_seconds") for k in shots_list if str(k) in by_shot]
        iters = [by_shot[str(k)].get("iterations") for k in shots_list if str(k) in by_shot]
        if method == "pixels":
            time_cell, iter_cell = "none", "-"
        elif method == "pretrain":  # trained once, shared by both settings
            time_cell, iter_cell = f"{times[0]:.0f} s (once, shared)", f"{iters[0]} batches"
        else:
            time_cell = " / ".join(f"{t:.0f} s" for t in times)
            iter_cell = " / ".join(str(i) for i in iters)
        print(f"| {LABELS[method]} | {' | '.join(cells)} | {time_cell} | {iter_cell} |")
    if len(shots_list) > 1:
        print(f"\nTimes and iterations of the meta-learners are per setting ({' / '.join(f'{k}-shot' for k in shots_list)});"
              " each was meta-trained separately with training shots matching the evaluation.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST")
                        or str(ROOT.parent / "shared" / "data" / "mnist.npz"))
    parser.add_argument("--methods", default=",".join(ALL_METHODS), help=f"comma-separated subset of {ALL_METHODS}")
    parser.add_argument("--budget", type=float, default=300.0, help="meta-training wall seconds per method and setting")
    parser.add_argument("--episodes", type=int, default=600, help="evaluation episodes per setting")
    parser.add_argument("--shots", default="1,5", help="evaluation (and matching training) shot counts")
    parser.add_argument("--quick", action="store_true", help="smoke test: budget 20 s, 100 episodes")
    parser.add_argument("--seed", type=int, default=0, help="training seed (weights, training episodes)")
    parser.add_argument("--filters", type=int, default=32, help="conv filters per block (papers: 64)")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--train-queries", type=int, default=15, help="query images per class in training episodes")
    parser.add_argument("--meta-batch", type=int, default=4, help="MAML/FOMAML/Meta-SGD tasks per meta-update (paper: 32)")
    parser.add_argument("--meta-lr", type=float, default=1e-3)
    parser.add_argument("--maml-inner-lr", type=float, default=0.4, help="paper's Omniglot value")
    parser.add_argument("--maml-inner-steps", type=int, default=1, help="MAML/FOMAML/Meta-SGD inner steps (paper: 1)")
    parser.add_argument("--metasgd-inner-lr", type=float, default=0.4, help="initial per-parameter rate")
    parser.add_argument("--reptile-inner-lr", type=float, default=0.1, help="SGD inner learning rate")
    parser.add_argument("--reptile-inner-steps", type=int, default=5, help="paper: 5 on Omniglot")
    parser.add_argument("--reptile-outer-lr", type=float, default=1.0, help="initial epsilon, annealed to 0 (paper: 1.0)")
    parser.add_argument("--reptile-meta-batch", type=int, default=5, help="paper: 5")
    parser.add_argument("--eval-steps", type=int, default=None,
                        help="inner steps at evaluation for the gradient-based methods (default: their training steps)")
    parser.add_argument("--protonet-train-ways", type=int, default=20, help="Snell et al. train with more ways than test")
    parser.add_argument("--protonet-train-queries", type=int, default=5)
    parser.add_argument("--protonet-lr", type=float, default=1e-3)
    parser.add_argument("--pretrain-batch", type=int, default=64)
    parser.add_argument("--pretrain-lr", type=float, default=1e-3)
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
    print(f"methods {methods}, budget {args.budget:g} s per method and setting, {args.episodes} episodes, "
          f"shots {shots_list}; meta-learners trained separately per setting with matching shots", flush=True)

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
    spec = NetworkSpec.conv(filters=args.filters, blocks=args.blocks)
    keras_network = keras_conv_network(args.filters, args.blocks)

    results: dict = {}
    for method in methods:
        results[method] = {}
        shared_model, shared_info = None, {}
        if method == "pretrain":
            shared_model, shared_info = train_pretrain(train_pool, keras_network, args)
            print(f"pretrain: {json.dumps(shared_info)}", flush=True)
        for shots in shots_list:
            if method in ("pixels", "pretrain"):
                model, info = shared_model, dict(shared_info)
            elif method == "protonet":
                model, info = train_protonet(train_pool, keras_network, shots, args)
            else:
                model, info = train_gradient(method, train_pool, spec, shots, args)
            accuracies, eval_seconds, steps = evaluate(method, model, eval_sets[shots], args.eval_steps)
            mean, ci = mean_confidence_interval(accuracies)
            results[method][str(shots)] = {"mean": mean, "ci95": ci, "episodes": len(accuracies),
                                           "eval_seconds": eval_seconds, "eval_inner_steps": steps, **info}
            print(f"{method} {shots}-shot: {100 * mean:.2f} ± {100 * ci:.2f}% "
                  f"{json.dumps(results[method][str(shots)])}", flush=True)

    report = {"settings": {key: value for key, value in vars(args).items()},
              "shots": shots_list, "ways": WAYS, "queries": QUERIES, "episode_files": episode_files,
              "training": "meta-learners trained separately per setting, training shots = evaluation shots",
              "data": data.describe(), "total_seconds": time.perf_counter() - bench_started, "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}; total {report['total_seconds']:.0f} s")
    print_table(results, shots_list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
