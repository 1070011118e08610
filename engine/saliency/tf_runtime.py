"""Import TensorFlow once, quietly.

TensorFlow's C++ runtime prints start-up lines (CUDA probing, oneDNN notes) straight to file
descriptor 2 before any Python logging setting applies; operators reading a service's journal
and users reading the CLI's one-line errors should not see them. We point fd 2 at /dev/null for
the import only; a failing import still raises normally.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_tf = None


def tensorflow():
    """The ``tensorflow`` module, imported on first call with its start-up noise suppressed."""
    global _tf
    with _lock:
        if _tf is None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
                import tensorflow as tf

                tf.config.list_physical_devices("GPU")  # the CUDA probe prints here, too
                tf.get_logger().setLevel("ERROR")  # retracing notes are not for operators
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                os.close(devnull)
            _tf = tf
        return _tf
