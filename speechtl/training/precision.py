"""Old home of :func:`speechtl.models.precision.autocast`, kept only for ``decoding/recognizer.py``.

That file is being changed on another branch; once it imports ``speechtl.models.precision``
this module goes (nothing else may import it).
"""

from speechtl.models.precision import autocast

__all__ = ["autocast"]
