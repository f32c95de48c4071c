/** Every host module, by name. One file each; add new ones here. */
import type { HostModule } from '../module';
import command, { COMMAND_ANSIBLE } from './command';
import shell, { SHELL_ANSIBLE } from './shell';
import copy, { COPY_ANSIBLE } from './copy';
import template, { TEMPLATE_ANSIBLE } from './template';
import file, { FILE_ANSIBLE } from './file';
import lineinfile, { LINEINFILE_ANSIBLE } from './lineinfile';
import blockinfile, { BLOCKINFILE_ANSIBLE } from './blockinfile';
import pkg, { PACKAGE_ANSIBLE } from './package';
import service, { SERVICE_ANSIBLE } from './service';
import sysctl, { SYSCTL_ANSIBLE } from './sysctl';
import facts, { FACTS_ANSIBLE } from './facts';
import route from './route';
import debug, { DEBUG_ANSIBLE } from './debug';
import fail, { FAIL_ANSIBLE } from './fail';
import assert, { ASSERT_ANSIBLE } from './assert';
import stat, { STAT_ANSIBLE } from './stat';
import setFact from './set_fact';
import { builtin } from '../ansible-args';
import type { AnsibleSpelling } from '../ansible-args';

/** Each native module's Ansible spelling (option tables; see ../ansible-args.ts). template's comes with its Jinja2 rendering. */
export const ANSIBLE_SPELLINGS: readonly AnsibleSpelling[] = [COMMAND_ANSIBLE, SHELL_ANSIBLE, COPY_ANSIBLE, TEMPLATE_ANSIBLE, FILE_ANSIBLE, LINEINFILE_ANSIBLE, BLOCKINFILE_ANSIBLE, PACKAGE_ANSIBLE, SERVICE_ANSIBLE, SYSCTL_ANSIBLE, FACTS_ANSIBLE, DEBUG_ANSIBLE, FAIL_ANSIBLE, ASSERT_ANSIBLE, STAT_ANSIBLE];

/** Ansible's module names → native module names (`ansible.builtin.copy` → copy, `apt` → package). */
export const ANSIBLE_MODULE_NAMES: ReadonlyMap<string, string> = new Map([
  ...ANSIBLE_SPELLINGS.flatMap((s) => s.names.map((n) => [n, s.module] as [string, string])),
  // set_fact's keys are the variables it sets: no option table.
  ...builtin('set_fact').map((n) => [n, 'set_fact'] as [string, string]),
]);

/**
 * The native modules by name. `get` and `has` also take Ansible's names of a module
 * (ansible.builtin.copy, ansible.posix.sysctl, apt, systemd, …); iterating, `keys()` and
 * `size` see the native names only, once each.
 */
class HostModules extends Map<string, HostModule> {
  override get(name: string): HostModule | undefined {
    return super.get(name) ?? (ANSIBLE_MODULE_NAMES.has(name) ? super.get(ANSIBLE_MODULE_NAMES.get(name)!) : undefined);
  }

  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

export const HOST_MODULES: ReadonlyMap<string, HostModule> = new HostModules(
  [command, shell, copy, template, file, lineinfile, blockinfile, pkg, service, sysctl, facts, route, stat, debug, fail, assert, setFact].map((m) => [m.name, m as HostModule]),
);
