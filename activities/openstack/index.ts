/** The OpenStack actions, one file each (compute, network, load-balancer). */
import type { ActionDefinition } from '../define';
import computeHostEvacuate from './compute/compute-host-evacuate';
import computeServiceDisable from './compute/compute-service-disable';
import computeServiceEnable from './compute/compute-service-enable';
import computeServiceList from './compute/compute-service-list';
import flavorList from './compute/flavor-list';
import hypervisorList from './compute/hypervisor-list';
import imageList from './compute/image-list';
import keypairCreate from './compute/keypair-create';
import keypairDelete from './compute/keypair-delete';
import serverCreate from './compute/server-create';
import serverCreateBatch from './compute/server-create-batch';
import serverDelete from './compute/server-delete';
import serverGet from './compute/server-get';
import serverList from './compute/server-list';
import serverLiveMigrate from './compute/server-live-migrate';
import serverMigrations from './compute/server-migrations';
import serverPrepare from './compute/server-prepare';
import serverWait from './compute/server-wait';
import floatingIpAssociate from './network/floating-ip-associate';
import floatingIpCreate from './network/floating-ip-create';
import floatingIpRelease from './network/floating-ip-release';
import networkCreate from './network/network-create';
import networkDelete from './network/network-delete';
import portCreate from './network/port-create';
import portDelete from './network/port-delete';
import securityGroupCreate from './network/security-group-create';
import securityGroupDelete from './network/security-group-delete';
import securityGroupRuleCreate from './network/security-group-rule-create';
import securityGroupRuleDelete from './network/security-group-rule-delete';
import subnetCreate from './network/subnet-create';
import subnetDelete from './network/subnet-delete';
import healthmonitorCreate from './loadbalancer/healthmonitor-create';
import healthmonitorDelete from './loadbalancer/healthmonitor-delete';
import listenerCreate from './loadbalancer/listener-create';
import listenerDelete from './loadbalancer/listener-delete';
import loadbalancerCreate from './loadbalancer/loadbalancer-create';
import loadbalancerDelete from './loadbalancer/loadbalancer-delete';
import loadbalancerWait from './loadbalancer/loadbalancer-wait';
import memberBatch from './loadbalancer/member-batch';
import memberCreate from './loadbalancer/member-create';
import memberDelete from './loadbalancer/member-delete';
import memberUpdate from './loadbalancer/member-update';
import memberWait from './loadbalancer/member-wait';
import poolCreate from './loadbalancer/pool-create';
import poolDelete from './loadbalancer/pool-delete';

export const OPENSTACK_ACTIONS: readonly ActionDefinition[] = [
  computeHostEvacuate,
  computeServiceDisable,
  computeServiceEnable,
  computeServiceList,
  flavorList,
  hypervisorList,
  imageList,
  keypairCreate,
  keypairDelete,
  serverCreate,
  serverCreateBatch,
  serverDelete,
  serverGet,
  serverList,
  serverLiveMigrate,
  serverMigrations,
  serverPrepare,
  serverWait,
  floatingIpAssociate,
  floatingIpCreate,
  floatingIpRelease,
  networkCreate,
  networkDelete,
  portCreate,
  portDelete,
  securityGroupCreate,
  securityGroupDelete,
  securityGroupRuleCreate,
  securityGroupRuleDelete,
  subnetCreate,
  subnetDelete,
  healthmonitorCreate,
  healthmonitorDelete,
  listenerCreate,
  listenerDelete,
  loadbalancerCreate,
  loadbalancerDelete,
  loadbalancerWait,
  memberBatch,
  memberCreate,
  memberDelete,
  memberUpdate,
  memberWait,
  poolCreate,
  poolDelete,
] as ActionDefinition[];
