"""Views inside the networks that every run kind shares: what each layer computes for one image,
what the first layer's weights look like, which pixels decided (saliency), how weights and gradients
move while a run trains, the learning rate an adaptive optimizer used, and the configured network at
a glance.

A kind's own views (how a few-shot learner adapts step by step, a learned optimizer's rule, a stacked
meta network's weights) live in its folder, ``metalearn_core/kinds/<kind>/inside.py`` and
``inside_figures.py``. Each module computes plain arrays and plotly figures; the pages only lay them
out."""
