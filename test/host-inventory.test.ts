/**
 * Inventories (INI and YAML, group_vars/host_vars, patterns, limit, serial), checked against
 * Ansible's own `ansible-inventory` on the same files; known_hosts parsing; the pure parts of
 * lineinfile, blockinfile and route. No hosts needed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectionVars, hostVars, InventoryError, loadInventory, matchPattern, parseIniValue, selectHosts, serialBatches, shlexSplit } from '../activities/host/inventory-files';
import { entryMatches, lookupHostKeys, parseKnownHosts } from '../activities/host/known-hosts';
import { editLines } from '../activities/host/modules/lineinfile';
import { editBlock } from '../activities/host/modules/blockinfile';
import { normDest, planRoutes } from '../activities/host/modules/route';
import { loadPlayFile } from '../activities/host/inventory';

const root = resolve(__dirname, '..');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-inv-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};

test('INI: host lines with Python-literal vars, ports, ranges, :vars and :children', () => {
  const p = write(
    'hosts.ini',
    `top1 ansible_host=10.0.0.9   # ungrouped
[web]
web[01:03] ansible_user=deploy weight=2 ratio=0.5 flags="['a', 'b']" on=True name='x y'
canary:2222 ansible_host=c.example
[db]
db-[a:b]
[prod:children]
web
db
[prod:vars]
env=prod
port=5432
`,
  );
  const inv = loadInventory(p);
  expect(selectHosts(inv, 'all')).toEqual(['top1', 'web01', 'web02', 'web03', 'canary', 'db-a', 'db-b']);
  expect(selectHosts(inv, 'ungrouped')).toEqual(['top1']);
  const v = hostVars(inv, 'web02');
  expect(v).toMatchObject({ ansible_user: 'deploy', weight: 2, ratio: 0.5, flags: ['a', 'b'], on: true, name: 'x y', env: 'prod', port: 5432, group_names: ['prod', 'web'] });
  expect(connectionVars('canary', hostVars(inv, 'canary'))).toMatchObject({ host: 'c.example', port: 2222 });
  expect(parseIniValue('010')).toBe(10);
  expect(parseIniValue('not a literal')).toBe('not a literal');
  expect(shlexSplit('a "b c" d\\ e # comment')).toEqual(['a', 'b c', 'd e']);
});

test('INI errors name the file, line and column', () => {
  const bad = (text: string) => {
    try {
      loadInventory(write('bad.ini', text));
    } catch (e) {
      expect(e).toBeInstanceOf(InventoryError);
      return (e as Error).message.replace(dir, 'DIR');
    }
    throw new Error('expected an error');
  };
  expect(bad('[web]\nh1 port\n')).toBe('DIR/bad.ini:2:4: expected key=value host variable, got "port"');
  expect(bad('[web]\nh1\n[web:kids]\n')).toBe('DIR/bad.ini:3:1: section [web:kids] has unknown type "kids" (expected :vars or :children)');
  expect(bad('[web]\nh1\n[all:children]\nweb\nnope\n')).toBe('DIR/bad.ini:5:1: section [all:children] names an undefined group: nope');
  expect(bad('[ghost:vars]\nx=1\n')).toBe('DIR/bad.ini:1:1: section [ghost:vars] is for a group that is defined nowhere: ghost');
  expect(bad('[web]\nh1 x="unclosed\n')).toBe('DIR/bad.ini:2:1: cannot parse host line: No closing quotation');
  expect(bad('[web\n')).toBe('DIR/bad.ini:1:1: invalid section "[web": expected [group], [group:vars] or [group:children], without spaces');
  expect(() => loadInventory(join(dir, 'missing.ini'))).toThrow(`${join(dir, 'missing.ini')}:1:1: inventory not found`);
});

test('YAML inventories, with errors at the right line', () => {
  const p = write('hosts.yaml', 'all:\n  vars: { a: 1 }\n  children:\n    web:\n      hosts:\n        w[1:2]: { x: 1 }\n      vars: { b: 2 }\n');
  const inv = loadInventory(p);
  expect(selectHosts(inv, 'web')).toEqual(['w1', 'w2']);
  expect(hostVars(inv, 'w2')).toMatchObject({ a: 1, b: 2, x: 1 });
  expect(() => loadInventory(write('b.yaml', 'all:\n  children:\n    web:\n      host:\n        w1:\n'))).toThrow(/b\.yaml:4:7: group web: unknown key "host"/);
  expect(() => loadInventory(write('c.yaml', 'all:\n  hosts:\n    h1: [1, 2]\n'))).toThrow(/c\.yaml:3:9: host h1: expected a mapping of variables/);
});

test('patterns: union, intersection, exclusion, wildcards, regex, limit; unknown names are errors', () => {
  const inv = loadInventory(join(root, 'inventories/site-a.ini'));
  expect(matchPattern(inv, 'web:&site_a:!web0[12]*')).toEqual(['web03.site-a.example', 'web-canary.site-a.example']);
  expect(matchPattern(inv, 'db,web01.site-a.example')).toEqual(['web01.site-a.example', 'db1.site-a.example', 'db2.site-a.example']);
  expect(matchPattern(inv, '~^db\\d')).toEqual(['db1.site-a.example', 'db2.site-a.example']);
  expect(selectHosts(inv, 'all', 'web:!*canary*')).toEqual(['web01.site-a.example', 'web02.site-a.example', 'web03.site-a.example']);
  expect(() => selectHosts(inv, 'web:&nosuch')).toThrow('"nosuch" is neither a group nor a host');
  expect(() => selectHosts(inv, 'all', 'wbe')).toThrow('limit "wbe": "wbe" is neither a group nor a host');
});

test('serial: numbers, percentages and lists (the last size repeats)', () => {
  const hosts = Array.from({ length: 10 }, (_, i) => `h${i}`);
  expect(serialBatches(hosts, undefined).map((b) => b.length)).toEqual([10]);
  expect(serialBatches(hosts, 3).map((b) => b.length)).toEqual([3, 3, 3, 1]);
  expect(serialBatches(hosts, '25%').map((b) => b.length)).toEqual([2, 2, 2, 2, 2]);
  expect(serialBatches(hosts, [1, '50%', '100%']).map((b) => b.length)).toEqual([1, 5, 4]);
  expect(serialBatches(['a'], '10%')).toEqual([['a']]);
  expect(() => serialBatches(hosts, 'lots')).toThrow('serial: expected a number');
});

const ansible = (() => {
  try {
    execFileSync('ansible-inventory', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('the same variables as ansible-inventory for the shipped examples (precedence of group_vars, host_vars, children)', () => {
  // Ansible is installed by .ci/run (the benchmark compares against it); without it this test fails loudly.
  expect(ansible).toBe(true);
  for (const f of ['inventories/site-a.ini', 'inventories/site-a.yaml']) {
    const inv = loadInventory(join(root, f));
    const ours = Object.fromEntries(
      selectHosts(inv, 'all').map((h) => {
        const { inventory_hostname, inventory_hostname_short, group_names, ...rest } = hostVars(inv, h);
        void inventory_hostname, void inventory_hostname_short, void group_names;
        return [h, rest];
      }),
    );
    const out = JSON.parse(execFileSync('ansible-inventory', ['-i', join(root, f), '--list', '--export'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' } }));
    // --list --export keeps group vars in groups; resolve per host with --host instead.
    for (const h of Object.keys(ours)) {
      const theirs = JSON.parse(execFileSync('ansible-inventory', ['-i', join(root, f), '--host', h], { encoding: 'utf8' }));
      expect([h, ours[h]]).toEqual([h, theirs]);
    }
    const groups = Object.keys(out).filter((g) => g !== '_meta').sort();
    expect(groups).toEqual([...inv.groups.keys()].filter((g) => g !== 'ungrouped' || (out.ungrouped ?? false)).sort());
  }
});

test('known_hosts: plain, [host]:port, wildcards, negation, hashed entries, @revoked', () => {
  const key = (n: number) => `AAAAC3NzaC1lZDI1NTE5AAAAI${String(n).padStart(43, 'A')}`;
  const hashedLine = execFileSync('sh', ['-c', `printf '10.1.1.1 ssh-ed25519 ${key(3)}\\n' > ${dir}/kh && ssh-keygen -H -f ${dir}/kh >/dev/null 2>&1 && cat ${dir}/kh`], { encoding: 'utf8' }).trim();
  expect(hashedLine).toMatch(/^\|1\|/);
  const entries = parseKnownHosts(`# comment
web1,10.0.0.1 ssh-ed25519 ${key(1)}
[10.0.0.2]:2222 ssh-ed25519 ${key(2)}
*.example,!bad.example ssh-rsa ${key(4)}
${hashedLine}
@revoked 10.0.0.1 ssh-ed25519 ${key(5)}
@cert-authority *.example ssh-ed25519 ${key(6)}
`);
  expect(lookupHostKeys(entries, '10.0.0.1').keys.map((k) => k.key)).toEqual([key(1)]);
  expect([...lookupHostKeys(entries, '10.0.0.1').revoked]).toEqual([key(5)]);
  expect(lookupHostKeys(entries, '10.0.0.2').keys).toEqual([]);
  expect(lookupHostKeys(entries, '10.0.0.2', 2222).keys.map((k) => k.key)).toEqual([key(2)]);
  expect(lookupHostKeys(entries, 'a.example').keys.map((k) => k.keyType)).toEqual(['ssh-rsa']);
  expect(lookupHostKeys(entries, 'bad.example').keys).toEqual([]);
  expect(lookupHostKeys(entries, '10.1.1.1').keys.map((k) => k.key)).toEqual([key(3)]);
  expect(entryMatches(entries[3], '10.1.1.2')).toBe(false);
});

test('lineinfile and blockinfile edits (Ansible rules)', () => {
  expect(editLines('a\nport=1\nb\nport=2\n', { line: 'port=3', regexp: '^port=', state: 'present' })).toBe('a\nport=1\nb\nport=3\n');
  expect(editLines('a\n', { line: 'a', state: 'present' })).toBe('a\n');
  expect(editLines('a\nb', { line: 'x', insertbefore: '^b', state: 'present' })).toBe('a\nx\nb\n');
  expect(editLines('a\nb\n', { line: 'x', insertbefore: 'BOF', state: 'present' })).toBe('x\na\nb\n');
  expect(editLines('a\nx=1\nx=2\n', { regexp: '^x=', state: 'absent' })).toBe('a\n');
  const args = { block: 'k=v', marker: '# {mark} M', markerBegin: 'BEGIN', markerEnd: 'END', state: 'present' as const };
  const once = editBlock('top\n', args)!;
  expect(once).toBe('top\n# BEGIN M\nk=v\n# END M\n');
  expect(editBlock(once, args)).toBe(once);
  expect(editBlock(once, { ...args, block: 'k=w' })).toBe('top\n# BEGIN M\nk=w\n# END M\n');
  expect(editBlock(once, { ...args, state: 'absent' })).toBe('top\n');
});

test('route planning: normalisation, replace, purge only static/boot, never the default route unless asked', () => {
  expect(normDest('10.1.2.3/32')).toBe('10.1.2.3');
  expect(normDest('0.0.0.0/0')).toBe('default');
  expect(() => normDest('10.1.2.3/24')).toThrow('host bits set');
  const live = [
    { dst: 'default', gateway: '10.0.0.1', dev: 'eth0', protocol: 'static' },
    { dst: '10.0.0.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link' },
    { dst: '10.5.0.0/16', gateway: '10.0.0.1', dev: 'eth0', protocol: 'boot' },
    { dst: '10.6.0.0/16', gateway: '10.0.0.1', dev: 'eth0', protocol: 'dhcp' },
    { dst: '10.7.0.0/16', gateway: '10.0.0.9', dev: 'eth0', protocol: 'static' },
  ];
  const p = planRoutes(live, [{ dest: '10.7.0.0/16', via: '10.0.0.1', type: 'unicast' }, { dest: '10.8.0.0/16', via: '10.0.0.1', type: 'unicast' }], { purge: true, purgeProtocols: ['static', 'boot'], purgeDefault: false });
  expect(p.add.map((r) => r.dest)).toEqual(['10.8.0.0/16']);
  expect(p.change.map((c) => c.from.dst)).toEqual(['10.7.0.0/16']);
  expect(p.remove.map((r) => r.dst)).toEqual(['10.5.0.0/16']);
});

test('play files: Ansible keywords, one module per task, errors at file:line', () => {
  const ok = write('play.yaml', '- hosts: web\n  tasks:\n    - name: x\n      command: ls -l\n');
  expect(loadPlayFile(ok)).toMatchObject({ hosts: 'web', tasks: [{ name: 'x', command: 'ls -l' }] });
  expect(() => loadPlayFile(write('p2.yaml', 'tasks:\n  - name: x\n    copy: { dest: relative }\n'))).toThrow(/p2\.yaml:3:19: tasks\.0\.copy\.dest: copy: must be an absolute path/);
  expect(() => loadPlayFile(write('p3.yaml', 'tasks:\n  - name: x\n    cpoy: { dest: /x }\n'))).toThrow(/p3\.yaml:3:11: tasks\.0\.cpoy: unknown module "cpoy"/);
  expect(() => loadPlayFile(write('p4.yaml', 'tasks:\n  - copy: { dest: /x, content: a }\n    file: { path: /y }\n'))).toThrow(/a task has exactly one module; found "copy", "file"/);
});
