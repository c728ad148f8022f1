"""How the SDK's objects are offered to callers: ``with`` for the synchronous ones
(:mod:`.closing`) and the async classes generated from them (:mod:`.asynchronous`)."""
