"""Data: MNIST in Keras' arrays from the first source that works (:mod:`.mnist`), and drawn digits
preprocessed as MNIST was made (:mod:`.drawing`). Nothing here imports TensorFlow."""
