"""Bar charts per database (matplotlib): ops/s per test on a log scale, and the same numbers
relative to the public Oxyde release."""

from __future__ import annotations

from pathlib import Path

from worker import spec

from harness.contenders import PUBLIC
from harness.rounds import DatabaseRun

# One colour per contender, stable across charts and runs.
_COLOURS = {
    "oxyde-c": "#d1495b",
    "oxyde-py": "#edae49",
    "oxyde-public": "#00798c",
    "tortoise": "#8f5d9c",
    "sqlalchemy": "#6b8f71",
    "psycopg": "#30638e",
    "asyncpg": "#7d8491",
    "apsw": "#30638e",
    "apsw-thread": "#7d8491",
    "mysqlclient": "#30638e",
}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(run: DatabaseRun, tests: list[str], path: Path) -> bool:
    """Write ``path``; ``False`` when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in run.contenders if any(_median(run, t, n) for t in tests)]
    shown = [t for t in tests if any(_median(run, t, n) for n in names)]
    if not names or not shown:
        return False
    relative = PUBLIC in names
    rows = 2 if relative else 1
    fig, axes = plt.subplots(
        rows, 1, figsize=(max(12.0, 0.85 * len(shown) + 3), 5.2 * rows), squeeze=False
    )
    width = 0.8 / len(names)
    positions = range(len(shown))
    title = spec.DATABASES.get(run.kind, run.kind)

    ax = axes[0][0]
    for i, name in enumerate(names):
        values = [_median(run, t, name) or 0.0 for t in shown]
        ax.bar(
            [p + (i - (len(names) - 1) / 2) * width for p in positions],
            values,
            width,
            label=name,
            color=_COLOURS.get(name),
            hatch="//" if name.endswith("-thread") or name == "asyncpg" else None,
            edgecolor="white",
            linewidth=0.3,
        )
    ax.set_yscale("log")
    ax.set_ylabel("operations / second (log)")
    ax.set_title(f"{title}: throughput per test (higher is better)")
    ax.set_xticks(list(positions), shown, rotation=35, ha="right")
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.legend(ncol=min(len(names), 5), fontsize=8, loc="upper right")

    if relative:
        ax = axes[1][0]
        for i, name in enumerate(names):
            values = []
            for t in shown:
                top, bottom = _median(run, t, name), _median(run, t, PUBLIC)
                values.append(top / bottom if top and bottom else 1.0)
            # Bars grow from 1 (parity), up when faster and down when slower.
            ax.bar(
                [p + (i - (len(names) - 1) / 2) * width for p in positions],
                [v - 1.0 for v in values],
                width,
                bottom=1.0,
                label=name,
                color=_COLOURS.get(name),
                edgecolor="white",
                linewidth=0.3,
            )
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_ylabel(f"x {PUBLIC} (log)")
        ax.set_title(f"{title}: relative to {PUBLIC} (above 1 is faster)")
        ax.set_xticks(list(positions), shown, rotation=35, ha="right")
        ax.grid(axis="y", which="major", alpha=0.3)

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _median(run: DatabaseRun, test: str, name: str) -> float | None:
    cell = run.cells.get(test, {}).get(name)
    return cell.median if cell is not None else None
