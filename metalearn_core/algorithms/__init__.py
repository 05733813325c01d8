"""Few-shot learning algorithms: MAML, first-order MAML, Meta-SGD, Reptile, Prototypical Networks,
Meta-Baseline (cosine prototypes on a pre-trained embedding) and the baselines they are compared
with; every gradient-based learner shares one inner-loop step
(:func:`metalearn_core.algorithms.functional.inner_step`). Recommended settings for each method
live in :mod:`metalearn_core.algorithms.defaults`.

Each module is a set of pure functions plus a thin class where state helps; nothing here imports
streamlit. Episodes and the class pools come from :mod:`metalearn_core.episodes`.
"""

from metalearn_core.algorithms.baselines import embedding_snapshot as embedding_snapshot
from metalearn_core.algorithms.baselines import mean_confidence_interval as mean_confidence_interval
from metalearn_core.algorithms.baselines import nearest_centroid_accuracy as nearest_centroid_accuracy
from metalearn_core.algorithms.baselines import nearest_centroid_features as nearest_centroid_features
from metalearn_core.algorithms.baselines import nearest_centroid_pixels as nearest_centroid_pixels
from metalearn_core.algorithms.baselines import pretrain_classifier as pretrain_classifier
from metalearn_core.algorithms.functional import NetworkSpec as NetworkSpec
from metalearn_core.algorithms.functional import adapt as adapt
from metalearn_core.algorithms.functional import adaptation_accuracies as adaptation_accuracies
from metalearn_core.algorithms.functional import inner_step as inner_step
from metalearn_core.algorithms.loop import meta_train as meta_train
from metalearn_core.algorithms.maml import MAML as MAML
from metalearn_core.algorithms.meta_baseline import MetaBaseline as MetaBaseline
from metalearn_core.algorithms.meta_baseline import cosine_logits as cosine_logits
from metalearn_core.algorithms.meta_baseline import meta_train_meta_baseline as meta_train_meta_baseline
from metalearn_core.algorithms.metasgd import MetaSGD as MetaSGD
from metalearn_core.algorithms.protonet import ProtoNet as ProtoNet
from metalearn_core.algorithms.protonet import build_embedding as build_embedding
from metalearn_core.algorithms.protonet import compute_prototypes as compute_prototypes
from metalearn_core.algorithms.protonet import embedding_from_classifier as embedding_from_classifier
from metalearn_core.algorithms.protonet import episode_logits as episode_logits
from metalearn_core.algorithms.protonet import meta_train_protonet as meta_train_protonet
from metalearn_core.algorithms.protonet import prototype_logits as prototype_logits
from metalearn_core.algorithms.protonet import train_on_episodes as train_on_episodes
from metalearn_core.algorithms.reptile import Reptile as Reptile
