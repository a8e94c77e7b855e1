"""A bare PyTorch Gatys loop: the reference ``imgkit.stylize(method="gatys")`` is measured against.

One function, two uses:

* :mod:`benchmarks.speed.speed_gatys` times it with imgkit's own losses and default weights
  (``losses="imgkit"``): the per-iteration overhead of the public call;
* the benchmark suite runs it as the style row ``gatys_reference`` (``losses="mse"``) with the
  settings of the common PyTorch tutorial implementation of Gatys et al.: content weight 1,
  style weight 1e6, Gram matrices divided by C·H·W, mean squared errors (content: over the
  features of the content layer; style: summed over the style layers), no total variation, start
  from the content image, L-BFGS (lr 1) for ``iterations`` steps.

Both use imgkit's VGG16 (:func:`imgkit.nets.encoder.get_encoder`, ImageNet normalisation first)
and imgkit's layer choice (``relu1_1`` … ``relu5_1`` for style, ``relu4_2`` for content), so a gap
between ``gatys`` and the reference comes from the optimisation set-up, not from the network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["REFERENCE_WEIGHTS", "bare_gatys"]

#: Weights of the suite's reference row (``losses="mse"``).
REFERENCE_WEIGHTS = {"content_weight": 1.0, "style_weight": 1e6, "tv_weight": 0.0}


def bare_gatys(content: np.ndarray, style: np.ndarray, iterations: int, device: str = "cpu", *,
               losses: str = "mse", content_weight: float | None = None,
               style_weight: float | None = None, tv_weight: float | None = None,
               seed: int = 0) -> tuple[np.ndarray, int]:
    """Gatys style transfer in a plain L-BFGS loop; returns ``(output float32 (H, W, 3), evals)``.

    Parameters
    ----------
    content, style : ndarray
        float RGB images in [0, 1]; the output has the content's size (no resizing).
    iterations : int
        L-BFGS iterations (one ``LBFGS.step(max_iter=iterations)``; one loss evaluation each).
    device : str
    losses : {"mse", "imgkit"}
        ``"mse"``: the reference row's losses (module docstring), weights default to
        :data:`REFERENCE_WEIGHTS`. ``"imgkit"``: :mod:`imgkit.nets.losses` (``½ mean`` content
        loss, ``Σ (G − A)² / 4`` per style layer weighted by the ``gatys`` method's default
        ``style_layer_weights``, total variation) with the method's default weights.
    content_weight, style_weight, tv_weight : float, optional
        Override the weights of ``losses``.
    seed : int
        Seeds torch (the loop itself is deterministic: it starts from the content).
    """
    import torch

    from imgkit._torch import from_tensor, to_tensor
    from imgkit.nets.encoder import get_encoder
    from imgkit.nets.layers import CONTENT_LAYER, STYLE_LAYERS
    from imgkit.nets.losses import content_loss, gram_matrix, style_layer_loss, total_variation

    if losses == "mse":
        w = dict(REFERENCE_WEIGHTS)
    elif losses == "imgkit":
        from imgkit.registry import get_method
        from imgkit.style.gatys import default_layer_weights

        d = get_method("gatys", "stylize").defaults
        w = {k: d[k] for k in ("content_weight", "style_weight", "tv_weight")}
        lw = dict(zip(STYLE_LAYERS, default_layer_weights(STYLE_LAYERS)))
    else:
        raise ValueError(f"losses must be 'mse' or 'imgkit'; got {losses!r}")
    for k, v in (("content_weight", content_weight), ("style_weight", style_weight),
                 ("tv_weight", tv_weight)):
        if v is not None:
            w[k] = float(v)
    torch.manual_seed(int(seed))
    enc = get_encoder("vgg16", device)
    # copies: the benchmark's case arrays are read-only, which torch.from_numpy warns about
    c = to_tensor(np.array(content, np.float32), device)
    s = to_tensor(np.array(style, np.float32), device)
    with torch.no_grad():
        p = enc(c, [CONTENT_LAYER])[CONTENT_LAYER]
        a = {k: gram_matrix(v) for k, v in enc(s, STYLE_LAYERS).items()}
    layers = (*STYLE_LAYERS, CONTENT_LAYER)
    x = c.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=int(iterations), history_size=100,
                            tolerance_grad=1e-9, tolerance_change=0.0)

    def closure() -> Any:
        opt.zero_grad(set_to_none=True)
        f = enc(x, layers)
        if losses == "mse":
            st = sum(((gram_matrix(f[k]) - a[k]) ** 2).mean() for k in STYLE_LAYERS)
            ct = ((f[CONTENT_LAYER] - p) ** 2).mean()
        else:
            st = sum(lw[k] * style_layer_loss(gram_matrix(f[k]), a[k]).sum() for k in STYLE_LAYERS)
            ct = content_loss(f[CONTENT_LAYER], p).sum()
        loss = w["content_weight"] * ct + w["style_weight"] * st
        if w["tv_weight"]:
            loss = loss + w["tv_weight"] * total_variation(x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    out = from_tensor(x.detach().clamp(0, 1))
    return np.ascontiguousarray(out, dtype=np.float32), int(opt.state[x]["func_evals"])
