"""Online benchmark: every learner on the same three streams, scored prequentially (predict, then learn).

    python bench/bench_online.py [--mnist PATH] [--length 3000] [--batch 1] [--algorithm metasgd]
                                 [--budget 60] [--streams random,rotate,switch] [--quick]

Streams (metalearn_core/kinds/online/streams.py), drawn from the test splits, the same order for every learner:
``random`` (MNIST in a random order), ``rotate`` (the digits turn from 0 to 90 degrees over the stream) and
``switch`` (MNIST, then Fashion-MNIST from the middle on: a new task on the same ten outputs).

Learners (metalearn_core/kinds/online/learners.py): a 784-100-10 network from scratch with SGD (rate 0.05) and with
Adam (1e-3), the same starting weights; the same network pre-trained in the run on 2,000 MNIST training images for 3
epochs, fine-tuned with SGD (0.01); and a few-shot learner's meta-learned start (``--algorithm``, meta-trained here on
the dense few-shot network for ``--budget`` seconds on digits 0-4 and their rotations, training split), with a 10-way
head whose columns all start as the mean of its 5 meta-learned ones, adapted after every step by the scratch SGD
learner's rule (so the rows differ by their starting point only), and once more (row "own step size") at the run's
own meta-learned step sizes.

Reported per stream and learner: final prequential accuracy (over the whole stream), AUC (the mean of the running
accuracy: the area under its curve), accuracy before / after the switch, and examples per second. Everything goes
through the online run kind's own code (``train_online``) in a throw-away run store.

Data: MNIST through METALEARN_MNIST (or --mnist); Fashion-MNIST through METALEARN_FASHION_MNIST (the switch stream).
Full run: about 3-4 minutes on 2 cores (meta-training 60 s, then 3 streams x 5 learners x 3,000 examples).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from metalearn_core.config import RunConfig  # noqa: E402
from metalearn_core.data.mnist import load_mnist  # noqa: E402
from metalearn_core.kinds.fewshot.config import FewShotConfig  # noqa: E402
from metalearn_core.kinds.fewshot.setup import fewshot_network, recommended_settings  # noqa: E402
from metalearn_core.kinds.online import results as online_results  # noqa: E402
from metalearn_core.kinds.online.config import STREAMS, OnlineConfig  # noqa: E402
from metalearn_core.runs.store import RunStore  # noqa: E402
from metalearn_core.worker import execute  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", help="path to mnist.npz (default: $METALEARN_MNIST)")
    parser.add_argument("--length", type=int, default=3000, help="examples per stream")
    parser.add_argument("--batch", type=int, default=1, help="examples per predict-then-learn step")
    parser.add_argument("--algorithm", default="metasgd", choices=("maml", "fomaml", "metasgd", "reptile"))
    parser.add_argument("--budget", type=float, default=60.0, help="meta-training seconds of the meta-learned start")
    parser.add_argument("--streams", default=",".join(STREAMS))
    parser.add_argument("--quick", action="store_true", help="300 examples, 5 s of meta-training: proves it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.length, args.budget = 300, 5.0
    return args


def meta_train(store: RunStore, data, args: argparse.Namespace) -> int:
    """A finished few-shot run of ``args.algorithm`` (dense learner), trained for ``args.budget`` seconds."""
    settings = FewShotConfig(algorithm=args.algorithm, **{**recommended_settings(args.algorithm),
                                                            "time_budget": args.budget, "baseline_seconds": 0.0,
                                                            "evaluation_episodes": 20, "validation_every": 1000})
    run_id = store.create_run(RunConfig(kind="fewshot", name="meta-learned start",
                                        base=fewshot_network("dense"), settings=settings))
    status = execute(store, run_id, None, data=data)
    if status != "completed":
        raise SystemExit(f"meta-training failed: {store.get(run_id).error}")
    return run_id


def online_run(store: RunStore, data, settings: OnlineConfig) -> dict:
    """Run ``settings`` through the worker's code in this process; its ``online.json``."""
    run_id = store.create_run(RunConfig(kind="online", settings=settings))
    if execute(store, run_id, None, data=data) != "completed":
        raise SystemExit(f"the {settings.stream} stream failed: {store.get(run_id).error}")
    return online_results.read_results(store.run_folder(run_id))


def stream_rows(store: RunStore, data, stream: str, fewshot_run: int, args: argparse.Namespace) -> dict:
    """Every learner on one stream, then the meta-learned start again at its own step sizes."""
    settings = OnlineConfig(stream=stream, length=args.length, batch_size=args.batch,
                            learners=("sgd", "adam", "pretrained", "metalearned"), fewshot_run=fewshot_run,
                            report_every=max(args.length // 60, 1), window=min(200, args.length))
    started = time.perf_counter()
    results = online_run(store, data, settings)
    own = online_run(store, data, dataclasses.replace(settings, learners=("metalearned",), meta_step="meta-learned"))
    results["learners"]["metalearned_own"] = {**own["learners"]["metalearned"],
                                              "label": "meta-learned start, own step size"}
    for learner in results["learners"].values():
        learner.pop("correct")  # per-example detail: not needed in the bench's file
    print(f"{stream}: {time.perf_counter() - started:.0f} s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = load_mnist(args.mnist, allow_download=False)
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(home)
        started = time.perf_counter()
        fewshot_run = meta_train(store, data, args)
        meta_seconds = time.perf_counter() - started
        print(f"meta-trained {args.algorithm} for {meta_seconds:.0f} s", flush=True)
        per_stream = {stream: stream_rows(store, data, stream, fewshot_run, args) for stream in args.streams.split(",")}
    rows = [{"stream": stream, **row} for stream, results in per_stream.items() for row in online_results.results_rows(results)]
    keys = ["stream", "learner", "final", "auc", "before_drift", "after_drift", "examples_per_second"]
    table = online_results.markdown_table([{key: row.get(key) for key in keys} for row in rows])
    header = (f"{args.length:,} examples per stream, batch {args.batch}; meta-learned start: {args.algorithm}, "
              f"{meta_seconds:.0f} s of meta-training; {time.perf_counter() - started:.0f} s in all")
    print(header + "\n\n" + table)
    RESULTS.mkdir(exist_ok=True)
    name = "online-quick" if args.quick else "online"
    (RESULTS / f"{name}.json").write_text(json.dumps({"args": vars(args), "meta_seconds": meta_seconds,
                                                       "streams": per_stream}, indent=1))
    (RESULTS / f"{name}.md").write_text(header + "\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
