"""``with`` support for the synchronous objects that hold connections."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosedOnExit:
    """Mixin: ``with obj:`` calls ``obj.close()`` on the way out, whatever happened."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
