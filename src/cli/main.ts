#!/usr/bin/env node
/** knockctl: the command table. Each subcommand lives in its own file; errors map to exit codes in exit.ts. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../core';
import { runCommand, EXIT_USAGE } from './exit';
import { ALLOW_LOCKOUT_HELP } from './lockout';

// Each subcommand's module is loaded when that subcommand runs: `knockctl knock` must not pay for
// the daemon, ajv or yaml (start-up goal 150 ms, docs/BENCHMARKS.md). Add new commands the same way.
/* eslint-disable @typescript-eslint/no-require-imports */
const checkConfigCmd = () => require('./check-config') as typeof import('./check-config');
const installRulesetCmd = () => require('./install-ruleset') as typeof import('./install-ruleset');
const confirmCmd = () => require('./confirm') as typeof import('./confirm');
const statusCmd = () => require('./status') as typeof import('./status');
const grantCmd = () => require('./grant') as typeof import('./grant');
const contextMod = () => require('./context') as typeof import('./context');
const daemonCmd = () => require('./daemon') as typeof import('./daemon');
const spaCmd = () => require('./spa') as typeof import('./spa');
const keygenCmd = () => require('./keygen') as typeof import('./keygen');
const identityCmd = () => require('./identity') as typeof import('./identity');
const knockCmd = () => require('./knock') as typeof import('./knock');
const importKnockdCmd = () => require('./import-knockd') as typeof import('./import-knockd');
const importFwknopCmd = () => require('./import-fwknop') as typeof import('./import-fwknop');
const clientStanzaCmd = () => require('./client-stanza') as typeof import('./client-stanza');
/* eslint-enable @typescript-eslint/no-require-imports */

const program = new Command();
const debug = (): boolean => Boolean(program.opts().debug);
const run = (body: () => Promise<number | void> | number | void) => () => runCommand(async () => body(), debug);
const CONFIG_HELP = `config file (default: $KNOCKCTL_CONFIG or /etc/knockctl/config.yaml)`;

program
  .name('knockctl')
  .description('nftables-native port knocking and Single Packet Authorization')
  .version(`knockctl (nftknock) ${VERSION}`, '-V, --version', 'print the version and exit')
  .option('--debug', 'show stack traces on errors')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText('after', `
Examples:
  sudo knockctl install-ruleset --confirm 60   install, roll back unless confirmed in 60 s
  sudo knockctl confirm                         keep the new ruleset
  sudo knockctl status                          who has access to what, with time left
  sudo knockctl grant 192.0.2.7 22/tcp --timeout 10m
  knockctl check-config -c ./config.yaml

Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config.`);

program
  .command('check-config')
  .description('validate the config; print every problem with its path, or a one-line summary')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('--allow-lockout', ALLOW_LOCKOUT_HELP)
  .addHelpText('after', '\nExample:\n  knockctl check-config -c /etc/knockctl/config.yaml')
  .action((o: { config?: string; allowLockout?: boolean }) => run(() => checkConfigCmd().checkConfig(o))());

program
  .command('install-ruleset')
  .description('install or replace our nftables table in one atomic transaction (grants are kept)')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('--dry-run', 'print the nft JSON batch and change nothing')
  .option('--confirm <duration>', 'restore the previous ruleset unless `knockctl confirm` runs in time (5s to 1h, e.g. 60 or 2m)')
  .option('--no-keep-ssh', 'do not keep the SSH session\'s source address allowed (anti-lockout)')
  .option('--keep-ssh-timeout <duration>', 'how long the anti-lockout grant lasts (e.g. 1h, 90m)', '1h')
  .option('--allow-lockout', ALLOW_LOCKOUT_HELP)
  .addHelpText('after', `
When run from an SSH session (also through sudo), your source address keeps access to the SSH port
you came in on, and the install is refused (exit 2) when the config would lock you out: no doors and
nothing allowed, or nothing that could open your SSH port again. --allow-lockout overrides.

Examples:
  sudo knockctl install-ruleset --dry-run
  sudo knockctl install-ruleset --confirm 60 && sudo knockctl confirm`)
  .action((o) => run(() => installRulesetCmd().installRuleset(o, __filename))());

program
  .command('confirm')
  .description('keep the ruleset installed with --confirm (cancel the pending rollback)')
  .option('-c, --config <file>', CONFIG_HELP)
  .addHelpText('after', `
Run it from a new SSH session, to prove you can still get in. Without it, the previous state of
our table comes back when the --confirm time is up.

Example:
  sudo knockctl install-ruleset --confirm 120   # then, from a second session:
  sudo knockctl confirm`)
  .action((o: { config?: string }) =>
    run(() => {
      const { configPath, readConfig } = contextMod();
      const { config } = readConfig(configPath(o.config));
      if (!confirmCmd().confirmPending(config.table)) {
        process.stderr.write(`knockctl: no rollback pending for table inet ${config.table}\n`);
        return 1;
      }
      process.stdout.write(`confirmed: table inet ${config.table} stays as installed\n`);
      return 0;
    })(),
  );

program
  .command('uninstall-ruleset')
  .description('delete our table and nothing else (grants go with it)')
  .option('-c, --config <file>', CONFIG_HELP)
  .addHelpText('after', `
Other tables (firewalld, Docker, your own) are not touched. Stop the daemon first: with
on_ruleset_missing: reinstall (the default) it puts the table back within 5 seconds.

Example:
  sudo systemctl stop knockctl && sudo knockctl uninstall-ruleset`)
  .action((o: { config?: string }) =>
    run(async () => {
      const { configPath, firewallFor, readConfig } = contextMod();
      const { config } = readConfig(configPath(o.config));
      const existed = await firewallFor(config.table).uninstall();
      process.stdout.write(existed ? `deleted table inet ${config.table}\n` : `table inet ${config.table} was not installed; nothing to do\n`);
    })(),
  );

program
  .command('status')
  .description('show who has access to what and for how long (read from the kernel)')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('--json', 'stable machine-readable output')
  .addHelpText('after', '\nExamples:\n  sudo knockctl status\n  sudo knockctl status --json | jq \'.grants[] | .addr\'')
  .action((o) => run(() => statusCmd().status(o))());

program
  .command('grant')
  .description('give ADDR access to services by hand (same sets, kernel expiry)')
  .argument('<addr>', 'IPv4 or IPv6 source address')
  .argument('<services...>', 'services like 22/tcp, a door\'s forwarded service 192.168.1.10:22/tcp or port forward 2222/tcp=>192.168.1.10:22')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('-t, --timeout <duration>', 'how long (seconds, or 30s, 10m, 1h30m)', '1h')
  .option('--door <name>', 'name recorded as the element comment', 'manual')
  .addHelpText('after', '\nExample:\n  sudo knockctl grant 2001:db8::7 22/tcp 443/tcp --timeout 15m')
  .action((addr: string, ports: string[], o) => run(() => grantCmd().grant(addr, ports, o))());

program
  .command('revoke')
  .description('take access away from ADDR (all its services, or the ones named)')
  .argument('<addr>', 'IPv4 or IPv6 source address')
  .argument('[services...]', 'services like 22/tcp or 192.168.1.10:22/tcp (default: all)')
  .option('-c, --config <file>', CONFIG_HELP)
  .addHelpText('after', '\nExamples:\n  sudo knockctl revoke 192.0.2.7\n  sudo knockctl revoke 192.0.2.7 22/tcp')
  .action((addr: string, ports: string[], o) => run(() => grantCmd().revoke(addr, ports, o))());

program
  .command('daemon')
  .description('run the daemon in the foreground (systemd runs exactly this); SIGHUP reloads, SIGTERM stops')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('-D, --debug', 'log at debug level whatever log_level says: why each knock was ignored or reset, each SPA refusal (like knockd -D)')
  .addHelpText('after', `
The ruleset must be installed first (knockctl install-ruleset). Logs are JSON lines on stdout.
Grants live in the kernel: stopping or killing the daemon closes nothing early and opens nothing.

Examples:
  sudo knockctl daemon -c /etc/knockctl/config.yaml | jq -r .msg
  sudo systemctl stop knockctl && sudo knockctl daemon -D | jq -c 'select(.event=="knock-ignored" or .event=="spa-reject")'`)
  // `daemon --debug` lands in the program's own --debug (commander gives a shared long name to the
  // program): it means debug logging here too.
  .action((o: { config?: string; debug?: boolean }) => run(() => daemonCmd().daemonCommand({ ...o, debug: o.debug === true || debug() }))());

program
  .command('spa')
  .description('send one Single Packet Authorization datagram (no root needed)')
  .argument('<host|stanza>', 'server name or address, or a stanza of the client config')
  .option('-k, --key <file>', 'client key file (from knockctl keygen; mode 0600)')
  .option('-C, --client-config <file>', 'client config (default: ~/.config/knockctl/client.yaml or $KNOCKCTL_CLIENT_CONFIG)')
  .option('-p, --port <port>', 'the door\'s SPA port (UDP; default: the key file\'s, else 62201)')
  .option('-o, --open <service...>', 'services to open as the door\'s open list writes them, e.g. 22/tcp or 2222/tcp=>192.168.1.10:22 (default: all the server allows this client)')
  .option('-a, --allow <addr>', 'put this address in the datagram: open it instead of the source (door needs allow_address), or prove the source (require_address)')
  .option('-R, --resolve-url <url>', 'learn this host\'s public address from URL (it answers with the address) and put it in the datagram')
  .option('-s, --allow-source', 'carry no address: open the address the datagram comes from (the default; fwknop\'s -s)')
  .option('-t, --timeout <duration>', 'ask for a shorter or longer grant, e.g. 120, 2m or 1h30m (capped by the door)')
  .option('--time-offset <duration>', 'correct a badly set clock: -30s, +5m (added to this host\'s time)')
  .option('--server-identity <x25519:...>', 'the server identity, when the key file has none (knockctl identity on the server)')
  .option('--door <door>', 'the door, when the key file names none')
  .option('--any-host', 'send although HOST is not the host the key file was made for')
  .option('--test', 'build the datagram and show what it holds; do not send')
  .option('--print', 'like --test, and print the datagram in hex')
  .option('--save-packet <file>', 'also write the datagram to FILE (mode 0600)')
  .option('-f, --force', 'overwrite --save-packet FILE')
  .option('-4, --ipv4', 'use IPv4')
  .option('-6, --ipv6', 'use IPv6')
  .option('-v, --verbose', 'say what was sent')
  .addHelpText('after', `
The key file from 'knockctl keygen -c CONFIG --door DOOR' names the server identity, door and port:
a datagram opens that door of that server only. A stanza of ~/.config/knockctl/client.yaml (like
fwknop's .fwknoprc) supplies host, port, key_file, open, allow, resolve_url and timeout; options
given on the command line win.

Examples:
  knockctl spa server.example -k ~/.config/knockctl/alice.key && ssh server.example
  knockctl spa myserver                  # everything from the client config's "myserver" stanza
  knockctl spa 192.0.2.10 -k alice.key -o 22/tcp -o 443/tcp -t 2m
  knockctl spa gw.example -k alice.key -R https://ip.example.net/   # behind NAT, door with require_address
  knockctl spa gw.example -k alice.key --test                       # show, do not send`)
  .action((host: string, o) => run(() => spaCmd().spaCommand(host, o))());

program
  .command('knock')
  .description('send a knock sequence (argument-compatible with knockd\'s knock; no root needed)')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[args...]', 'knock [-u] [-d MS] [-4|-6] [-v] HOST PORT[:PROTO]...  (knockctl knock -h for more)')
  .action((args: string[]) => run(() => knockCmd().knockCommand(args))());

program
  .command('client-stanza')
  .description('print the client.yaml stanza for a rotating knock door (its parameters, not its secret)')
  .argument('<door>', 'a door with sequence: {rotate: ...}')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('--host <host>', 'the server name clients knock on (default: SERVER, to edit)')
  .addHelpText('after', '\nExample:\n  knockctl client-stanza rot --host server.example >> rot-client.yaml')
  .action((door: string, o: { config?: string; host?: string }) => run(() => clientStanzaCmd().clientStanzaCommand(door, o))());

program
  .command('import-knockd')
  .description('translate a knockd.conf into a knockctl config (printed, or written with -o)')
  .argument('<file>', 'the knockd.conf to read')
  .option('-o, --out <file>', 'write the config here (whole or not at all, mode 0600) instead of printing it')
  .option('-f, --force', 'overwrite --out')
  .addHelpText('after', `
Commands knockctl can express natively (iptables/nft allow rules for %IP%) become open/timeout and
revoke doors; anything else is kept as a hook and listed in a warning.

Write the config with -o, not with '>': the shell empties the file before the import runs, so a
failed import through '>' leaves an empty config; -o replaces the file only once all of it is written.

Example:
  knockctl import-knockd /etc/knockd.conf -o /etc/knockctl/config.yaml && knockctl check-config`)
  .action((file: string, o) => run(() => importKnockdCmd().importKnockdCommand(file, o))());

program
  .command('import-fwknop')
  .description('translate fwknopd\'s access.conf (and fwknopd.conf) into a knockctl config: fwknop clients and keys keep working')
  .argument('<access.conf>', 'fwknopd\'s access.conf')
  .option('--fwknopd-conf <file>', 'fwknopd.conf, for the interface, the SPA port and MAX_SPA_PACKET_AGE')
  .option('--open <list>', 'services for stanzas without OPEN_PORTS, e.g. 22/tcp,443/tcp')
  .option('-o, --out <file>', 'write the config here (mode 0600) instead of printing it')
  .option('-f, --force', 'overwrite --out')
  .addHelpText('after', `
One spa.format: fwknop door; each access.conf stanza becomes a client with its keys, SOURCE,
OPEN_PORTS, timeouts and REQUIRE_* settings; %include and %include_folder are followed. What does
not carry over (GnuPG, CMD_EXEC, NAT, ...) is a warning with its file and line.

Example:
  knockctl import-fwknop /etc/fwknop/access.conf --fwknopd-conf /etc/fwknop/fwknopd.conf -o /etc/knockctl/config.yaml`)
  .action((file: string, o) => run(() => importFwknopCmd().importFwknopCommand(file, o))());

program
  .command('keygen')
  .description('create an SPA client key: on the server, one key file for one door of this server, and the config entry')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('--door <door>', 'the SPA door the key is for (may be left out when the config has one SPA door)')
  .option('-n, --name <name>', 'client name', 'client')
  .option('-o, --out <file>', 'where to write the client key file (default: NAME.key)')
  .option('--host <host>', 'the name or address clients reach this server by (recorded, so the client can warn about a wrong host)')
  .option('--ed25519', 'signing key pair: the server config holds only the public key')
  .option('-f, --force', 'overwrite an existing key file')
  .addHelpText('after', `
Run on the server: the key file holds the client's secret and this server's SPA identity, door and
port, so it opens that door of this server only. Without -c/--door (a client making its own Ed25519
key), the file holds the key only: append what 'knockctl identity' prints on the server.

Examples:
  sudo knockctl keygen -c /etc/knockctl/config.yaml --door ssh-spa -n alice -o alice.key --host gw.example.org
  knockctl keygen --ed25519 -n bob -o ~/.config/knockctl/gw.key      # on the client`)
  .action((o) => run(() => keygenCmd().keygenCommand(o))());

program
  .command('identity')
  .description('print this server\'s SPA identity, door and port as key-file lines (for clients with their own key)')
  .option('-c, --config <file>', CONFIG_HELP)
  .option('--door <door>', 'the SPA door (may be left out when the config has one SPA door)')
  .option('--host <host>', 'also record the name or address clients reach this server by')
  .addHelpText('after', `
The identity is public: it is no secret, but it binds datagrams to this server. Give the output to a
client that made its own key (knockctl keygen --ed25519); it appends the lines to its key file.

Example:
  sudo knockctl identity -c /etc/knockctl/config.yaml --door ssh-spa --host gw.example.org`)
  .action((o) => run(() => identityCmd().identityCommand(o))());

program
  .command('__rollback', { hidden: true })
  .argument('<table>')
  .argument('<token>')
  .action((table: string, token: string) => run(() => confirmCmd().rollbackWorker(table, token))());

// `knockctl --help | head`: a closed pipe is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    const helpShown = e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version';
    process.exit(helpShown ? 0 : EXIT_USAGE);
  }
  process.stderr.write(`knockctl: ${String(e)}\n`);
  process.exit(1);
});
