/** Host configuration over SSH: the actions this area adds to the registry. */
import type { ActionDefinition } from '../define';
import hostInventory from './inventory';
import hostPlay from './play';

export const HOST_ACTIONS: readonly ActionDefinition[] = [hostInventory as ActionDefinition, hostPlay as ActionDefinition];
