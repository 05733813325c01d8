"""Views inside the networks and the inner loop: what each layer computes for one image, what the
first layer's weights look like, which pixels decided (saliency), how weights and gradients move
while a run trains, how a few-shot learner adapts step by step, what a learned optimizer's rule
and a stacked meta network's weights are, and the configured network at a glance.

Each module computes plain arrays and plotly figures; the pages only lay them out."""
