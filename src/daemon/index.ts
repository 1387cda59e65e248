export * from './firewall';
