/** Lock-out lints: labelled cases, each config with the findings it must produce. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../../src/config';
import { lintConfig, type LintContext } from '../../../src/config/lint';

const KNOCK22 = 'doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n';
const SSH = { sshCaller: { addr: '192.0.2.7', port: 22 } };

const cases: { name: string; yaml: string; ctx?: LintContext; want: string[] }[] = [
  { name: 'empty config (policy drop by default)', yaml: '{}', want: ['error nothing-open '] },
  { name: 'no doors, but base.allow', yaml: 'base: { allow: ["80/tcp"] }', want: ['warning no-doors doors'] },
  { name: 'no doors, but base.allow_from', yaml: 'base: { allow_from: ["192.0.2.0/24"] }', want: ['warning no-doors doors'] },
  { name: 'guard policy without doors', yaml: 'base: { policy: guard }', want: ['warning no-doors doors'] },
  { name: 'a door that opens 22/tcp', yaml: KNOCK22, want: [] },
  { name: 'door service also in base.allow', yaml: `base: { allow: ["22/tcp", "80/tcp"] }\n${KNOCK22}`, want: ['warning door-hides-nothing doors.ssh.open[0]'] },
  { name: 'guard: no base.allow, so nothing to hide', yaml: `base: { policy: guard }\n${KNOCK22}`, want: [] },
  { name: 'SSH caller on 22, a door opens 22', yaml: KNOCK22, ctx: SSH, want: [] },
  { name: 'SSH caller on 2222, nothing opens it', yaml: KNOCK22, ctx: { sshCaller: { addr: '192.0.2.7', port: 2222 } }, want: ['error ssh-port-closed doors'] },
  { name: 'SSH caller on 2222, in base.allow', yaml: `base: { allow: ["2222/tcp"] }\n${KNOCK22}`, ctx: { sshCaller: { addr: '192.0.2.7', port: 2222 } }, want: [] },
  { name: 'SSH caller inside base.allow_from', yaml: `base: { allow_from: ["192.0.2.0/24"] }\n${KNOCK22}`, ctx: { sshCaller: { addr: '192.0.2.7', port: 2222 } }, want: [] },
  { name: 'SSH caller outside the only door\'s from', yaml: 'doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"], from: ["198.51.100.0/24"] }\n', ctx: SSH, want: ['error ssh-port-closed doors'] },
  { name: 'SSH caller, the door opens 22/udp only', yaml: 'doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/udp"] }\n', ctx: SSH, want: ['error ssh-port-closed doors'] },
  { name: 'a revoke door does not count as opening', yaml: 'base: { allow: ["80/tcp"] }\ndoors:\n  close: { sequence: ["7000", "8000"], open: ["22/tcp"], action: revoke }\n', ctx: SSH, want: ['error ssh-port-closed doors'] },
  { name: 'SSH caller under guard: only door ports are closed', yaml: 'base: { policy: guard }\ndoors:\n  web: { sequence: ["7000", "8000"], open: ["8080/tcp"] }\n', ctx: SSH, want: [] },
  { name: 'IPv6 caller inside allow_from', yaml: `base: { allow_from: ["2001:db8::/32"] }\n${KNOCK22}`, ctx: { sshCaller: { addr: '2001:db8::7', port: 2222 } }, want: [] },
  { name: 'empty config from SSH: both errors, errors first', yaml: 'base: { allow: ["80/tcp"] }', ctx: SSH, want: ['error ssh-port-closed doors', 'warning no-doors doors'] },
];

for (const c of cases) {
  test(`lint: ${c.name}`, () => {
    const { config } = loadConfigText(c.yaml);
    const got = lintConfig(config, c.ctx).map((f) => `${f.severity} ${f.code} ${f.path}`);
    assert.deepEqual(got, c.want);
  });
}

test('lint messages say what is wrong and what to do', () => {
  const [f] = lintConfig(loadConfigText(KNOCK22).config, { sshCaller: { addr: '192.0.2.7', port: 2222 } });
  assert.match(f?.message ?? '', /from 192\.0\.2\.7 to 2222\/tcp.*no door opens 2222\/tcp.*Add a door that opens 2222\/tcp, or add it to base\.allow/);
  const [e] = lintConfig(loadConfigText('{}').config);
  assert.match(e?.message ?? '', /every new connection \(SSH too\) is dropped/);
});
