"""Inpainting methods, one module each; every module registers its methods on import.

(The package is called ``inpainting`` rather than ``inpaint`` so that it never shadows the
:func:`imgkit.inpaint` function.)
"""
