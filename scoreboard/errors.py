"""The error codes of the scoreboard app's refusals and validation errors."""

from zheliban.core.errors import ErrorCode


class ScoreboardErrorCode(ErrorCode):
    CONTROL_CHARACTERS = "control_characters"
    WEIGHTS_ALL_ZERO = "weights_all_zero"
