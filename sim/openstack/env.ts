/** What every handler of the stand-in gets: the world, the cloud/region addressed, the caller. */
import type { CloudState, RegionState, Role, TokenRec, World } from './model';

export interface Env {
  world: World;
  cloud: CloudState;
  /** Set for regional services (compute, network, image, load-balancer). */
  region: RegionState;
  /** http://host:port of the stand-in. */
  baseUrl: string;
  /** The caller's token (regional services). */
  token: TokenRec;
  roles: Role[];
  admin: boolean;
  now: number;
  /** Mark the state changed (persisted soon after). */
  dirty(): void;
  /** Count a created resource for tests (`GET /_sim/counters`). */
  created(kind: string, n?: number): void;
}
