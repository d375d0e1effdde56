"""A stand-in for py-spinnaker2 (``spinnaker2.snn``, ``spinnaker2.hardware``,
``spinnaker2.brian2_sim``), for the tests of the ``run_spinnaker2.py``
scripts nirc writes (py-spinnaker2 itself is not installable here).

It has the calls and arguments of py-spinnaker2's public API as its scripts
use them, records every call in a JSON log (the path in the environment
variable ``S2_STANDIN_LOG``), and runs the network it was given with its own
small step-by-step simulation of the population models as TARGETS.md
describes them, so that a script's output writing is exercised and checked.
Written for the tests; shares no code with nirc.
"""

from . import brian2_sim, hardware, snn  # noqa: F401
