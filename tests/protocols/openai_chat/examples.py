"""Values of OpenAI's examples that the tests of several modules share."""

from __future__ import annotations

MODEL = "gpt-4.1"

# usage details OpenAI reports and canonical does not model
UNMODELLED_USAGE = ("audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens")
