"""The orchestrator's side of the benchmark: databases, virtualenvs, workers, rounds, reports."""
