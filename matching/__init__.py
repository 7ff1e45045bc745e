"""volmatch's matching core: pure functions from a `Round` to a `Result`, no I/O."""

from volmatch.matching.compiled import CompiledRound, compile_round
from volmatch.matching.eligibility import RULES, Pairs, check_rules, dense_pairs, find_pairs
from volmatch.matching.prepared import Prepared, Solution, prepare
from volmatch.matching.scoring import COMPONENTS, Scores, score_pairs
from volmatch.matching.solve import solve_round
from volmatch.matching.stop import Stop, Stopped
from volmatch.matching.validate import validate_result

__all__ = [
    "COMPONENTS",
    "RULES",
    "CompiledRound",
    "Pairs",
    "Prepared",
    "Scores",
    "Solution",
    "Stop",
    "Stopped",
    "check_rules",
    "compile_round",
    "dense_pairs",
    "find_pairs",
    "prepare",
    "score_pairs",
    "solve_round",
    "validate_result",
]
