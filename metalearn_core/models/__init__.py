"""Models shared by the run kinds: Keras network builders (:mod:`.networks`), the streaming fit loop
(:mod:`.training`) with its per-layer statistics (:mod:`.layer_statistics`), test-set evaluation
(:mod:`.evaluation`) and a finished run's model as a digit classifier (:mod:`.predictor`).

Import the modules themselves: this package's ``__init__`` stays empty so that importing
:mod:`.evaluation` does not import TensorFlow."""
