"""Learning from use: the interaction log a service writes (``log``), and what ``polynlu
learn`` makes of it. Reads logs and writes data and rewrites; never imports ``serving``."""
