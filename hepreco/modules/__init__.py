"""The framework's own modules: EmptySource, HistFill, DumpProducts (registered by ``hepreco.builtin``)."""
