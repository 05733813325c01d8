"""Cross-domain few-shot benchmark: meta-train on one domain, score 5-way 1-/5-shot on both, same stored episodes.

    python bench/bench_crossdomain.py [--mnist PATH] [--fashion-mnist PATH] [--methods protonet,maml,fomaml,metasgd,reptile]
                                      [--budget 20] [--baseline 15] [--episodes 100] [--network dense] [--quick]

Domains: MNIST digits and Fashion-MNIST clothes (``metalearn_core.data.domains``). Every learner is meta-trained on
classes 0-4 (and their rotations as extra classes) of the TRAINING split of one domain, for ``--budget`` seconds of
wall time with the run kind's recommended settings (``recommended_settings``), exactly as a few-shot run of the
dashboard does (``meta_train_model``). One learner per (method, training domain): 5 methods x 2 domains = 10
meta-trainings, each scored on BOTH evaluation domains, so the in-domain and the cross-domain figures of one
evaluation domain come from learners trained alike and are measured on the same episodes.

Evaluation: for each evaluation domain and shot count the episodes are drawn ONCE (classes 5-9, test split, the
fixed ``evaluation_episodes`` seed), stored with ``save_episodes`` under bench/results/crossdomain/ and reloaded
from there, and every learner and baseline is scored on those stored episodes:

* pixels:   nearest class centroid on raw pixels (no training, so the same in both columns);
* pretrain: a softmax classifier over the 20 meta-training classes of the training domain, trained for
            ``--baseline`` seconds, then nearest centroid in its features (Chen et al. 2019);
* the five meta-learners, after their evaluation inner steps (ProtoNet: nearest prototype).

Reported: mean query accuracy with its 95% interval, and the paired gain over the pixel baseline (the same
episodes, so the difference is taken episode by episode, with its own 95% interval): a learner whose gain interval
reaches zero did not help on that domain; and the paired cost of crossing (in-domain minus cross-domain accuracy of
one method on one evaluation domain). A closing list names where meta-learning stops helping across domains.

Duration: 10 meta-trainings of ``--budget`` seconds, 2 baselines of ``--baseline`` seconds, and the evaluation of
10 learners on 4 x ``--episodes`` stored episodes (dense learner: about 0.05 s an episode on 2 CPU cores). With the
defaults about 7 minutes in all. The conv learner (``--network conv``, the papers' 4 blocks) is about 10 times
slower to evaluate on a CPU: give it ``--episodes 20`` or a GPU. ``--quick`` is a smoke test (3 s budgets, 10
episodes per setting, about 1 minute, written to a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from metalearn_core.data.domains import DOMAIN_LABELS, load_domain  # noqa: E402
from metalearn_core.data.mnist import MnistData  # noqa: E402
from metalearn_core.kinds.fewshot.algorithms.baselines import (  # noqa: E402
    mean_confidence_interval,
    nearest_centroid_features,
    nearest_centroid_pixels,
)
from metalearn_core.kinds.fewshot.config import DOMAIN_SHORT, FEWSHOT_ALGORITHMS, FewShotConfig  # noqa: E402
from metalearn_core.kinds.fewshot.episodes import (  # noqa: E402
    ClassPool,
    Episode,
    episodes_digest,
    evaluation_episodes,
    load_episodes,
    save_episodes,
)
from metalearn_core.kinds.fewshot.run import meta_train_model, pretrain_baseline  # noqa: E402
from metalearn_core.kinds.fewshot.setup import ALGORITHM_LABELS, fewshot_network, recommended_settings  # noqa: E402
from metalearn_core.runs.reporting import Reporter  # noqa: E402

DOMAINS = ("mnist", "fashion_mnist")
SHOTS = (1, 5)
QUERIES = 15  # per class in the evaluation episodes, as in bench_fewshot.py
RESULTS = ROOT / "bench" / "results"


def settings_for(method: str, train_domain: str, args) -> FewShotConfig:
    """The run kind's recommended settings for ``method``, meta-training on ``train_domain`` for the budget."""
    fields = {**recommended_settings(method), "time_budget": args.budget, "iterations": 1_000_000,
              "baseline_seconds": args.baseline, "seed": args.seed, "train_domain": train_domain}
    return FewShotConfig(algorithm=method, **fields)


def stored_episodes(data: dict[str, MnistData], folder: Path, count: int) -> dict[tuple[str, int], list[Episode]]:
    """Per (evaluation domain, shots): the fixed evaluation episodes, saved to ``folder`` and read back."""
    stored = {}
    for domain in DOMAINS:
        for shots in SHOTS:
            config = FewShotConfig(queries=QUERIES, eval_domain=domain).episodes(shots)
            drawn = evaluation_episodes(data[domain], config, count)
            path = save_episodes(folder / f"{domain}-{shots}shot.npz", drawn, config, data[domain])
            stored[domain, shots] = load_episodes(path, data[domain])
    return stored


def score_learner(model, episodes: list[Episode]) -> np.ndarray:
    return np.asarray([model.episode_accuracies(episode)[-1] for episode in episodes])  # (episodes,)


def summary(values: np.ndarray) -> dict[str, float]:
    mean, ci95 = mean_confidence_interval(values)
    return {"mean": float(mean), "ci95": float(ci95)}


def meta_train_one(method: str, train_domain: str, data: MnistData, network, args) -> tuple[object, dict]:
    settings = settings_for(method, train_domain, args)
    pool = ClassPool.meta_train(data, settings.episodes())
    started = time.perf_counter()
    model, loop = meta_train_model(settings, network, pool, [], Reporter())
    info = {"iterations": loop.iterations, "seconds": time.perf_counter() - started, "diverged": loop.diverged}
    print(f"  {method:8s} meta-trained on {DOMAIN_SHORT[train_domain]}: {loop.iterations} iterations in "
          f"{info['seconds']:.0f} s", flush=True)
    return model, info


def cell(values: np.ndarray | None) -> str:
    if values is None:
        return "-"
    score = summary(values)
    return f"{100 * score['mean']:.1f} ± {100 * score['ci95']:.1f}"


def gain_cell(values: np.ndarray | None, pixels: np.ndarray) -> str:
    if values is None:
        return "-"
    score = summary(values - pixels)  # paired: the same episodes
    return f"{100 * score['mean']:+.1f} ± {100 * score['ci95']:.1f}"


def columns() -> list[tuple[str, int, str]]:
    """(evaluation domain, shots, training domain) of each column: in-domain, then from the other domain."""
    return [(domain, shots, train) for domain in DOMAINS for shots in SHOTS for train in (domain, _other(domain))]


def header() -> str:
    names = [f"{DOMAIN_SHORT[e]} {k}-shot, {'in-domain' if t == e else f'from {DOMAIN_SHORT[t]}'}"
             for e, k, t in columns()]
    return "| method | " + " | ".join(names) + " |\n|---|" + "---|" * len(names)


def print_tables(scores: dict, rows: list[str]) -> None:
    """Accuracy, the paired gain over raw pixels, the paired cost of crossing domains, then a verdict."""
    def values(row, column):
        domain, shots, train = column
        return scores.get((row, domain if row == "pixels" else train, domain, shots))

    labels = {"pixels": "Nearest centroid, pixels (no training)", "pretrain": "Pre-train + nearest centroid",
              **ALGORITHM_LABELS}
    trained = ["pretrain", *rows]
    print("\n5-way accuracy on the stored evaluation episodes (classes 5-9, test split), % with 95% interval\n")
    print(header())
    for row in ["pixels", *trained]:
        print(f"| {labels[row]} | " + " | ".join(cell(values(row, c)) for c in columns()) + " |")
    print("\nGain over the pixel baseline on the same episodes (points, paired 95% interval)\n")
    print(header())
    for row in trained:
        print(f"| {labels[row]} | " + " | ".join(gain_cell(values(row, c), values("pixels", c)) for c in columns())
              + " |")
    print("\nCost of crossing domains: in-domain minus cross-domain accuracy on the same episodes (points, paired)\n")
    settings = [(domain, shots) for domain in DOMAINS for shots in SHOTS]
    print("| method | " + " | ".join(f"{DOMAIN_SHORT[d]} {k}-shot" for d, k in settings) + " |\n|---|"
          + "---|" * len(settings))
    for row in trained:
        cells = []
        for domain, shots in settings:
            within, across = values(row, (domain, shots, domain)), values(row, (domain, shots, _other(domain)))
            cells.append("-" if within is None or across is None else gain_cell(within, across))
        print(f"| {labels[row]} | " + " | ".join(cells) + " |")
    print_verdict(values, trained, labels)


def _other(domain: str) -> str:
    return next(d for d in DOMAINS if d != domain)


def _clear_gain(found: np.ndarray, pixels: np.ndarray) -> bool:
    gain = summary(found - pixels)
    return gain["mean"] - gain["ci95"] > 0


def print_verdict(values, rows: list[str], labels: dict[str, str]) -> None:
    """Where a method beat raw pixels in-domain but not across domains, and where it never did."""
    stops, never = [], []
    for row in rows:
        for domain in DOMAINS:
            for shots in SHOTS:
                within, across = values(row, (domain, shots, domain)), values(row, (domain, shots, _other(domain)))
                pixels = values("pixels", (domain, shots, domain))
                if within is None or across is None:
                    continue
                where = f"{labels[row]}, {DOMAIN_SHORT[domain]} {shots}-shot"
                if _clear_gain(within, pixels) and not _clear_gain(across, pixels):
                    stops.append(f"{where} (beats pixels meta-trained on {DOMAIN_SHORT[domain]}, not from "
                                 f"{DOMAIN_SHORT[_other(domain)]})")
                elif not _clear_gain(within, pixels) and not _clear_gain(across, pixels):
                    never.append(where)
    print("\nMeta-learning stops helping across domains (a clear gain over pixels in-domain, none cross-domain):")
    print("\n".join(f"- {line}" for line in stops) or "- nowhere")
    print("No clear gain over pixels in either direction (short meta-training may be the reason):")
    print("\n".join(f"- {line}" for line in never) or "- none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=None, help="mnist.npz (default: $METALEARN_MNIST, then Keras)")
    parser.add_argument("--fashion-mnist", default=None, help="Fashion-MNIST folder or .npz "
                        "(default: $METALEARN_FASHION_MNIST, then Keras)")
    parser.add_argument("--methods", default=",".join(FEWSHOT_ALGORITHMS), help="comma-separated few-shot methods")
    parser.add_argument("--budget", type=float, default=20.0, help="meta-training wall seconds per learner")
    parser.add_argument("--baseline", type=float, default=15.0, help="pre-train baseline seconds per training domain")
    parser.add_argument("--episodes", type=int, default=100, help="stored evaluation episodes per setting")
    parser.add_argument("--network", choices=("conv", "dense"), default="dense",
                        help="learner network preset (conv: about 10 times slower to evaluate on a CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smoke test: 3 s budgets, 10 episodes")
    parser.add_argument("--out", help="results JSON (default bench/results/crossdomain.json)")
    args = parser.parse_args()
    if args.quick:
        args.budget, args.baseline, args.episodes = 3.0, 2.0, 10
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(FEWSHOT_ALGORITHMS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {FEWSHOT_ALGORITHMS}")
    started = time.perf_counter()
    data = {"mnist": load_domain("mnist", args.mnist), "fashion_mnist": load_domain("fashion_mnist", args.fashion_mnist)}
    for domain in DOMAINS:
        print(f"{DOMAIN_LABELS[domain]}: {data[domain].describe()}")
    folder = Path(tempfile.mkdtemp()) if args.quick else RESULTS / "crossdomain"
    episodes = stored_episodes(data, folder, args.episodes)
    print(f"stored evaluation episodes in {folder}: {args.episodes} per setting, 5-way, {QUERIES} queries per class")
    network = fewshot_network(args.network)
    scores: dict[tuple[str, str | None, str, int], np.ndarray] = {}
    for (domain, shots), stored in episodes.items():
        scores["pixels", domain, domain, shots] = np.asarray([nearest_centroid_pixels(e) for e in stored])
    training = {}
    for train_domain in DOMAINS:
        pool = ClassPool.meta_train(data[train_domain], settings_for("protonet", train_domain, args).episodes())
        embedding, seconds = pretrain_baseline(settings_for("protonet", train_domain, args), network, pool, Reporter())
        print(f"  pretrain baseline on {DOMAIN_SHORT[train_domain]}: {seconds:.0f} s", flush=True)
        for (domain, shots), stored in episodes.items():
            scores["pretrain", train_domain, domain, shots] = np.asarray(
                [nearest_centroid_features(embedding, e) for e in stored])
        for method in methods:
            model, training[method, train_domain] = meta_train_one(method, train_domain, data[train_domain],
                                                                        network, args)
            if training[method, train_domain]["diverged"]:
                continue
            evaluating = time.perf_counter()
            for (domain, shots), stored in episodes.items():
                scores[method, train_domain, domain, shots] = score_learner(model, stored)
            training[method, train_domain]["evaluation_seconds"] = time.perf_counter() - evaluating
            print(f"  {method:8s} evaluated on {len(episodes)} stored settings in "
                  f"{time.perf_counter() - evaluating:.0f} s", flush=True)
    print_tables(scores, methods)
    elapsed = time.perf_counter() - started
    print(f"\n{len(methods) * len(DOMAINS)} meta-trainings of {args.budget:.0f} s ({args.network} network), "
          f"{args.episodes} stored episodes per setting; whole bench {elapsed:.0f} s")
    out = Path(args.out) if args.out else (folder / "crossdomain.json" if args.quick else RESULTS / "crossdomain.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "budget": args.budget, "baseline": args.baseline, "episodes": args.episodes, "network": args.network,
        "seconds": elapsed,
        "episodes_digest": {f"{d}-{k}shot": episodes_digest(e, data[d]) for (d, k), e in episodes.items()},
        "training": {f"{m}:{t}": info for (m, t), info in training.items()},
        "scores": {f"{row}:{train}:{domain}:{shots}": summary(values)
                   for (row, train, domain, shots), values in scores.items()},
    }, indent=1))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
