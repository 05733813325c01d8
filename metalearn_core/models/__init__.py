"""Models shared by the run kinds: Keras network builders (:mod:`.networks`), the streaming fit loop
(:mod:`.training`) and test-set evaluation (:mod:`.evaluation`).

Import the modules themselves: this package's ``__init__`` stays empty so that importing
:mod:`.evaluation` does not import TensorFlow."""
