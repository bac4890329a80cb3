"""The framework's own services: TimeTracker, MemoryTracker, RandomNumbers, Histograms, Device, Progress.

Each is a plain :class:`hepreco.Service` registered by the built-in plugin, exactly as a third party's
service would be.
"""
