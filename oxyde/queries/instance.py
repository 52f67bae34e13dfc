"""Instance persistence used by ``Model.save/delete/refresh``; the work is in ``writes``."""

from oxyde.queries.writes import delete_instance, refresh_instance, save_instance

__all__ = ["delete_instance", "refresh_instance", "save_instance"]
