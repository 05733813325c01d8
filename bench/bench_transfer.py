"""Transfer benchmark: what a network trained on one domain buys on the other, as a learning curve.

    python bench/bench_transfer.py [--shots 1,5,20,100,all] [--repeats 2] [--source-epochs 3] [--quick]

For each direction (MNIST digits -> Fashion-MNIST clothes, and back) a source base run is trained on
the source domain (the default "dense" preset: two hidden layers of 384, cosine-decayed Adam) and
recorded in a temporary run store; then a transfer run (metalearn_core/kinds/transfer) trains, for
each number of labelled examples per class, three networks on the same class-balanced samples of the
target's training split: from scratch, the source's frozen features with a new head, and the source
fine-tuned whole. Each is scored on the target's full test split (10,000 images); the table gives
the mean ± standard deviation over ``--repeats`` samples, and results go to bench/results/transfer.json.

Data: MNIST through METALEARN_MNIST (or --mnist), Fashion-MNIST through METALEARN_FASHION_MNIST (or
Keras' cache or download). About 5-7 minutes on 2 CPU cores with the defaults; ``--quick`` (small
slices, 1 repeat, two points) checks that it works in well under a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from metalearn_core.config import DATASETS, RunConfig  # noqa: E402
from metalearn_core.data.domains import DOMAIN_LABELS, load_domain  # noqa: E402
from metalearn_core.kinds.base.run import train_base  # noqa: E402
from metalearn_core.kinds.transfer import results as transfer_results  # noqa: E402
from metalearn_core.kinds.transfer.config import TransferConfig, shots_label  # noqa: E402
from metalearn_core.kinds.transfer.run import train_transfer  # noqa: E402
from metalearn_core.kinds.transfer.source import transfer_config  # noqa: E402
from metalearn_core.presets import preset_config  # noqa: E402
from metalearn_core.runs.reporting import Reporter  # noqa: E402
from metalearn_core.runs.store import RunStore  # noqa: E402


def record(store: RunStore, config: RunConfig, entry, data) -> int:
    """Train ``config`` in this process and record it in ``store`` as the worker would."""
    run_id = store.create_run(config)
    store.mark_running(run_id)
    reporter = Reporter(on_progress=lambda progress: print(f"\r  {progress.get('label', '')[:70]:<70}", end="",
                                                           flush=True) if "fraction" in progress else None)
    result = entry(config, data, reporter, store.run_folder(run_id))
    store.update_summary(run_id, **result.summary)
    store.finish(run_id, result.status, error=result.message)
    print()
    return run_id


def run_direction(store: RunStore, source: str, args: argparse.Namespace, domains: dict) -> dict:
    """A source base run on ``source``, then its transfer to the other domain; the transfer's results."""
    base = preset_config("dense")
    limits = {"train_limit": args.train_limit, "test_limit": args.test_limit}
    base = base.replace(name=f"source {source}", training=dataclasses.replace(
        base.training, dataset=source, epochs=args.source_epochs, **limits))
    started = time.perf_counter()
    source_id = record(store, base, train_base, domains[source])
    accuracy = store.get(source_id).summary["test_accuracy"]
    print(f"source run on {source}: test accuracy {100 * accuracy:.1f}% ({time.perf_counter() - started:.0f} s)")
    settings = TransferConfig(source_run=source_id, shots=args.shots, repeats=args.repeats, epochs=args.epochs,
                              min_steps=args.min_steps)
    config = transfer_config(store, settings, base.training)
    started = time.perf_counter()
    transfer_id = record(store, config, train_transfer, domains[config.training.dataset])
    print(f"transfer to {config.training.dataset}: {time.perf_counter() - started:.0f} s")
    return transfer_results.read_results(store.run_folder(transfer_id))


def print_table(directions: list[dict]) -> None:
    """Rows: examples per class; columns: scratch, frozen, all, for each direction (test accuracy, %)."""
    header, rule = ["examples per class"], ["---"]
    cells: dict[int, list[str]] = {}
    for results in directions:
        short = f"{DOMAIN_LABELS[results['source_dataset']].split()[0]} → {DOMAIN_LABELS[results['target']].split()[0]}"
        header += [f"{short}: {mode}" for mode in results["modes"]]
        rule += ["---:"] * len(results["modes"])
        rows = {(row["shots"], row["mode"]): row for row in results["summary"]}
        for shots in results["shots"]:
            cells.setdefault(shots, []).extend(
                f"{100 * rows[shots, mode]['mean']:.1f} ± {100 * rows[shots, mode]['std']:.1f}" for mode in results["modes"])
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(rule) + "|")
    for shots, row in cells.items():
        print(f"| {shots_label(shots)} | " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", help="mnist.npz (default: METALEARN_MNIST, then Keras)")
    parser.add_argument("--shots", default="1,5,20,100,all", help="examples per class, 'all' for the whole split")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2, help="passes over each sample (at least --min-steps steps)")
    parser.add_argument("--min-steps", type=int, default=200)
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--test-limit", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a tiny check: small slices, 1 repeat, two points")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "transfer.json"))
    args = parser.parse_args()
    if args.quick:
        args.shots, args.repeats, args.source_epochs, args.min_steps = "1,all", 1, 1, 20
        args.train_limit, args.test_limit = 3000, 1000
    args.shots = tuple(0 if part == "all" else int(part) for part in args.shots.split(","))
    domains = {"mnist": load_domain("mnist", args.mnist), "fashion_mnist": load_domain("fashion_mnist")}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(home)
        directions = [run_direction(store, source, args, domains) for source in DATASETS]
    total = time.perf_counter() - started
    print(f"\nTest accuracy (%) on the target's test split, mean ± std over {args.repeats} sample(s); "
          f"{total / 60:.1f} min in all\n")
    print_table(directions)
    report_data = {"settings": {key: value for key, value in vars(args).items() if key != "out"},
                   "total_seconds": total, "directions": directions}
    if not args.quick:
        Path(args.out).write_text(json.dumps(report_data, indent=1))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
