"""The stand-in of ``spinnaker2.hardware``: a chip and a 48-chip board that
log how they were made and run the network with the stand-in simulation."""

from __future__ import annotations

from ._run import run_network


class SpiNNaker2Chip:
    def __init__(self, eth_ip):
        self.kind, self.address = "chip", eth_ip

    def run(self, net, timesteps, sys_tick_in_s=None):
        run_network(self, net, timesteps, sys_tick_in_s=sys_tick_in_s)


class SpiNNcloud48NodeBoard:
    def __init__(self, stm_ip):
        self.kind, self.address = "board48", stm_ip

    def run(self, net, timesteps, sys_tick_in_s=None):
        run_network(self, net, timesteps, sys_tick_in_s=sys_tick_in_s)
