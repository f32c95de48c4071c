/** Quieting what a runbook disturbs: Alertmanager silences and Zabbix maintenance windows, each undone by its inverse. */
import type { ActionDefinition } from '../define';
import silence from './alertmanager-silence';
import unsilence from './alertmanager-unsilence';
import maintenance from './zabbix-maintenance';
import maintenanceEnd from './zabbix-maintenance-end';

export const QUIET_ACTIONS: readonly ActionDefinition[] = [silence, unsilence, maintenance, maintenanceEnd] as ActionDefinition[];
