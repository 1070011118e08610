"""JPEG files as quantized levels: reading a file's levels, coding levels into a file, and the
lossless progressive re-scan. Below the compositors (which decide the levels) and beside the
loader (which reads files a viewer's way), so both depend on it and it on neither.

* ``reader.py``: a file's levels, tables and sampling (TurboJPEG or jpeglib), and an
  arithmetic-coded file's Huffman-coded twin;
* ``writer.py``: levels to a baseline or progressive file (``progressive`` auto / always / never);
* ``rescan.py``: the progressive re-scan, TurboJPEG's or mozjpeg's by a file's density;
* ``turbojpeg.py``: the ctypes binding of TurboJPEG's lossless transform that reads and writes
  levels without a temporary file; ``blank.py``: the carrier its one-pass write fills;
* ``libjpeg.py``: which libjpeg build jpeglib loads, and jpeglib's file-path calls;
* ``levels.py``: the levels a baseline JPEG can code.
"""
