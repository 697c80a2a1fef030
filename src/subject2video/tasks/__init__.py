"""The task system: status machine, store, service, runner, events, callbacks and dispatchers."""
