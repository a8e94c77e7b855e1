"""Layer names of the encoders and the Gatys layer choices (importable without torch)."""

from __future__ import annotations

__all__ = ["ALEXNET_LAYERS", "CONTENT_LAYER", "STYLE_LAYERS", "VGG16_LAYERS"]


def _vgg16_layers() -> tuple[str, ...]:
    names: list[str] = []
    for b, n in enumerate((2, 2, 3, 3, 3), start=1):
        for d in range(1, n + 1):
            names += [f"conv{b}_{d}", f"relu{b}_{d}"]
        names.append(f"pool{b}")
    return tuple(names)


#: Every layer of the VGG16 encoder, in order (``conv1_1 relu1_1 conv1_2 relu1_2 pool1 ... pool5``).
VGG16_LAYERS = _vgg16_layers()
#: Every layer of the AlexNet encoder, in order.
ALEXNET_LAYERS = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
                  "conv3", "relu3", "conv4", "relu4", "conv5", "relu5")
#: Layers of the Gatys style representation (conv1_1 … conv5_1, after the ReLU).
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: Layer of the Gatys content representation.
CONTENT_LAYER = "relu4_2"
