import { z } from 'zod';
import { defineAction } from '../define';
import { getRRset } from './pdns-client';
import { PdnsConnection, names, pdnsTarget } from './dns-common';

export default defineAction({
  name: 'dns.records.get',
  readOnly: true,
  description: 'Read one RRset (name + type) of a zone from the PowerDNS HTTP API.',
  input: z.strictObject({ ...PdnsConnection }),
  async run(input, ctx) {
    const { zone, name } = names(input);
    const rr = await getRRset(pdnsTarget(input, ctx.signal), zone, name, input.type);
    return { zone, name, type: input.type, exists: !!rr, ttl: rr?.ttl ?? null, records: rr?.records ?? [], disabled: rr?.disabled ?? [] };
  },
  plan: (i) => `read ${i.type} ${names(i).name} from ${i.api}`,
});
