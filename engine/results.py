"""A result as the fields every face reports (the daemon's log line and /status.json, the GUI)."""

from __future__ import annotations

from focuspress.engine.api import CompressResult


def score_fields(result: CompressResult) -> dict[str, object]:
    """The achieved scores as log and /status.json fields (absent outside the contract)."""
    if result.scores is None:
        return {}
    fields: dict[str, object] = {"photo_ssimulacra2": round(result.scores.photo, 1)}
    if result.scores.subject is not None:
        fields["subject_ssimulacra2"] = round(result.scores.subject, 1)
    if result.contract is not None:
        fields["scores"] = "exact" if result.contract.exact else "estimated"
    return fields
