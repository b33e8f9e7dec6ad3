"""RainGAN runtime: spectral spec, phase reconstruction, stitching, evaluation and generation.

Importing this package never imports TensorFlow or Keras.
"""
