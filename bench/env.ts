/**
 * The environment the bench runs door keepers and CLI commands in: what systemd gives a service
 * (PATH, nothing else), not the bench's own. Variables such as NODE_OPTIONS or NODE_EXTRA_CA_CERTS
 * in an admin's shell change what node does at start (the latter makes every node process parse a
 * CA bundle: ~20 ms and a few MB here), so the figures would measure the shell, not the program.
 */
export const KEEPER_ENV: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
