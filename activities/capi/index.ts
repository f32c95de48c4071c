/** Cluster API (CAPI + CAPO) cluster lifecycle: the actions this area adds to the registry. */
import type { ActionDefinition } from '../define';
import clusterApply from './apply';
import clusterWait from './wait';
import mdScale from './scale';
import clusterUpgrade from './upgrade';
import clusterDelete from './delete';
import kubeconfig from './kubeconfig';

export const CAPI_ACTIONS: readonly ActionDefinition[] = [clusterApply, clusterWait, mdScale, clusterUpgrade, clusterDelete, kubeconfig] as ActionDefinition[];
