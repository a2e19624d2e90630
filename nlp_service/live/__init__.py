"""The live reply path, a file per stage (``engine.py`` composes them and says which is
which), and what a running instance holds (``services.py``, ``coalesce.py``)."""
