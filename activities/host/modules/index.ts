/** Every host module, by name. One file each; add new ones here. */
import type { HostModule } from '../module';
import command from './command';
import shell from './shell';
import copy from './copy';
import template from './template';
import file from './file';
import lineinfile from './lineinfile';
import blockinfile from './blockinfile';
import pkg from './package';
import service from './service';
import sysctl from './sysctl';
import facts from './facts';
import route from './route';

export const HOST_MODULES: ReadonlyMap<string, HostModule> = new Map(
  [command, shell, copy, template, file, lineinfile, blockinfile, pkg, service, sysctl, facts, route].map((m) => [m.name, m as HostModule]),
);
