"""The side of the benchmark that runs inside each contender's own process and virtualenv."""
