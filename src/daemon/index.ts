export * from './firewall';
export * from './daemon';
export * from './runtime';
export * from './stats';
