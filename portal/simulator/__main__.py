"""`python -m portal.simulator`: what `neraca run` starts as its child process."""

from portal.simulator.cli import simulator

simulator()
