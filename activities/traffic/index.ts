/** Traffic steering: DNS (PowerDNS HTTP API) and load balancer (HAProxy runtime API) actions. */
import { withDryRunSwitch, type ActionDefinition } from '../define';
import dnsRecordsGet from './dns-records-get';
import dnsRecordsSet from './dns-records-set';
import haproxyState from './haproxy-state';
import haproxySetWeight from './haproxy-set-weight';
import haproxyDrain from './haproxy-drain';
import haproxyReady from './haproxy-ready';
import haproxyMaint from './haproxy-maint';
import trafficShift from './shift';

export const TRAFFIC_ACTIONS: readonly ActionDefinition[] = [
  dnsRecordsGet,
  withDryRunSwitch(dnsRecordsSet, 'dryRun'),
  haproxyState,
  withDryRunSwitch(haproxySetWeight, 'dryRun'),
  withDryRunSwitch(haproxyDrain, 'dryRun'),
  withDryRunSwitch(haproxyReady, 'dryRun'),
  withDryRunSwitch(haproxyMaint, 'dryRun'),
  trafficShift,
] as ActionDefinition[];
