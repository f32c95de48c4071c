/** Glance (image API v2): image list (filters, paging with `next`) and show. Errors as webob formats them (JSON when accepted, else HTML), as in Glance. */
import { ApiError, Router, isoZ, type Ctx } from './http';
import type { Env } from './env';
import type { Image } from './model';

function imageView(i: Image) {
  return {
    id: i.id,
    name: i.name,
    status: i.status,
    visibility: i.visibility,
    protected: false,
    os_hidden: false,
    disk_format: i.disk_format,
    container_format: i.container_format,
    min_disk: i.min_disk,
    min_ram: i.min_ram,
    size: i.size,
    virtual_size: i.size * 4,
    checksum: null,
    os_hash_algo: 'sha512',
    os_hash_value: null,
    owner: i.owner,
    tags: i.tags,
    created_at: isoZ(i.created_at),
    updated_at: isoZ(i.created_at),
    self: `/v2/images/${i.id}`,
    file: `/v2/images/${i.id}/file`,
    schema: '/v2/schemas/image',
    // Multi-store Glance (enabled_backends) names the store that holds the data.
    stores: 'file',
    ...(i.os_distro ? { os_distro: i.os_distro } : {}),
  };
}

function visible(env: Env, i: Image): boolean {
  return i.visibility === 'public' || i.visibility === 'community' || i.owner === env.token.project_id || env.admin;
}

export function glanceRouter(): Router<Env> {
  const r = new Router<Env>();
  r.on('GET', '/v2/images', (ctx: Ctx, env: Env) => {
    const q = ctx.query;
    let list = env.region.images.filter((i) => visible(env, i));
    for (const k of ['name', 'status', 'visibility', 'owner', 'disk_format', 'container_format', 'os_distro'] as const) {
      const v = q.get(k);
      if (v === null) continue;
      const wanted = v.startsWith('in:') ? v.slice(3).split(',') : [v];
      list = list.filter((i) => wanted.includes(String((i as any)[k])));
    }
    for (const t of q.getAll('tag')) list = list.filter((i) => i.tags.includes(t));
    list = [...list].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
    const limit = Math.min(Number(q.get('limit') ?? 25) || 25, 1000);
    let start = 0;
    const marker = q.get('marker');
    if (marker) {
      const i = list.findIndex((x) => x.id === marker);
      if (i < 0) throw new ApiError(400, `Invalid marker. Image ${marker} could not be found.`);
      start = i + 1;
    }
    const slice = list.slice(start, start + limit);
    const body: Record<string, unknown> = { images: slice.map(imageView), first: '/v2/images', schema: '/v2/schemas/images' };
    if (start + limit < list.length && slice.length) {
      const n = new URLSearchParams(q);
      n.set('marker', slice[slice.length - 1].id);
      body.next = `/v2/images?${n.toString()}`;
    }
    return { status: 200, body };
  });
  r.on('GET', '/v2/images/:id', (ctx: Ctx, env: Env) => {
    const i = env.region.images.find((x) => x.id === ctx.params.id);
    if (!i || !visible(env, i)) throw new ApiError(404, `No image found with ID ${ctx.params.id}`);
    return { status: 200, body: imageView(i) };
  });
  r.on('GET', '/v2/schemas/image', () => ({ status: 200, body: { name: 'image', properties: {}, additionalProperties: { type: 'string' }, links: [] } }));
  return r;
}

export function glanceVersions(root: string) {
  return {
    versions: ['2.16', '2.15', '2.9', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((v, i) => ({
      id: `v${v}`,
      status: i === 0 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href: `${root}/v2/` }],
    })),
  };
}
