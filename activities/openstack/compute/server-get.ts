/** `openstack.server.get`: one server by id or exact name. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient } from '../common';
import { getServer, summarize } from './servers';

export default defineAction({
  name: 'openstack.server.get',
  readOnly: true,
  predicts: true,
  description: 'Show a server (by id or exact name): status, host, addresses, fault.',
  input: z.strictObject({ ...target, server: z.string().min(1) }),
  async run(input, ctx) {
    return withClient(`openstack.server.get ${input.server}`, input, ctx, async (c) => ({ ...summarize(await getServer(c, input.server)), changed: false }));
  },
  plan: (i) => `show server ${i.server}`,
});
