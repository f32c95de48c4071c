/** `openstack.member.delete`: remove a member (by id, or address and port) from a pool; absent is fine. */
import { z } from 'zod';
import { defineAction } from '../../define';
import type { OpenStackClient } from '../client';
import { Duration, Skip, ms, target, withClient } from '../common';
import { findMember, getPool, memberRef, mutate, poolLb } from './lb';

/** The pool, or undefined when it is gone (then so are its members). */
const poolIfExists = (c: OpenStackClient, ref: string) =>
  getPool(c, ref).catch((e) => {
    if ((e as { info?: { kind?: string } }).info?.kind === 'not-found') return undefined;
    throw e;
  });

export default defineAction({
  name: 'openstack.member.delete',
  description: 'Remove a member from a pool (member id, or address + protocolPort); waits for ACTIVE, retries 409; `skip` for compensations.',
  input: z
    .strictObject({ ...target, pool: z.string().min(1), id: z.string().default(''), address: z.string().default(''), protocolPort: z.number().int().optional(), timeout: Duration.default('10m'), skip: Skip })
    .refine((i) => i.id || (i.address && i.protocolPort), { message: 'give id, or address and protocolPort' }),
  async run(input, ctx) {
    if (input.skip) return { deleted: false, skipped: true, changed: false };
    return withClient(`openstack.member.delete ${input.id || `${input.address}:${input.protocolPort}`}`, input, ctx, async (c) => {
      const pool = await poolIfExists(c, input.pool);
      if (!pool) return { deleted: false, changed: false };
      let id = input.id;
      if (!id) id = (await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members', { query: { address: input.address, protocol_port: input.protocolPort } }))[0]?.id ?? '';
      if (!id) return { deleted: false, changed: false };
      const { result, conflicts } = await mutate(c, ctx, poolLb(pool), ms(input.timeout), () => c.deleteIfExists('load-balancer', `/lbaas/pools/${pool.id}/members/${id}`));
      return { id, deleted: result, conflicts, changed: result };
    });
  },
  async dryRun(input, ctx) {
    const keep = (why: string) => ({ changed: false, effect: 'none' as const, summary: `member ${memberRef(input)} of pool ${input.pool}: ${why}` });
    if (input.skip) return keep('kept (skip)');
    return withClient(`openstack.member.delete ${memberRef(input)} (dry run)`, input, ctx, async (c) => {
      const pool = await poolIfExists(c, input.pool);
      const m = pool && (await findMember(c, pool.id, input));
      return m ? { changed: true, effect: 'destroy', summary: `remove member ${memberRef(input)} from pool ${input.pool}`, diff: `- member ${m.address}:${m.protocol_port} (${m.id})` } : keep('already gone');
    });
  },
  plan: (i) => (i.skip ? '(skip) keep member' : `remove member ${i.id || `${i.address}:${i.protocolPort}`} from pool ${i.pool}`),
});
