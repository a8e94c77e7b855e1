"""Training loops (imported only when used): progress bars, checkpoints, resume.

* :mod:`~imgkit.train.style` — :func:`~imgkit.train.style.learn_style`: a new style for the
  multistyle network (``imgkit learn-style`` on the command line).
"""
