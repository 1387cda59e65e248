export * from './names';
export * from './elements';
export * from './ruleset';
