"""An ML2 mechanism driver for scripts/realstack: binds every port on any host, with no agent.

Real deployments bind ports through an agent (Open vSwitch, Linux bridge) or OVN on the compute
host. The throwaway control plane has neither: its computes run Nova's fake driver. Without a
mechanism driver that binds, Nova's server create fails with PortBindingFailed; this one sets an
"ovs" binding on the first segment and marks the port ACTIVE, which is what Nova and the API
users see after a real agent has wired the port.
"""
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class RealstackMechanismDriver(api.MechanismDriver):
    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False},
                                status=constants.PORT_STATUS_ACTIVE)
            return
