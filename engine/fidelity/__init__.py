"""The fidelity contract: the subject visually lossless, the whole photo high quality, the file smallest.

``subject`` finds where people look (boxes from the importance map), ``estimate`` scores a
candidate encode quickly (tiles) or exactly (small photos), ``contract`` searches the quality
and background knobs for the smallest encode that keeps both targets.
"""

from focuspress.engine.fidelity.estimate import Scores

__all__ = ["Scores"]
