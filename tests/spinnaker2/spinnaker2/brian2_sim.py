"""The stand-in of ``spinnaker2.brian2_sim``."""

from __future__ import annotations

from ._run import run_network


class Brian2Backend:
    def __init__(self):
        self.kind, self.address = "brian2", None

    def run(self, net, timesteps):
        run_network(self, net, timesteps)
