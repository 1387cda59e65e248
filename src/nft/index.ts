export * from './names';
export * from './elements';
export * from './ruleset';
export * from './kernel-doors';
export * from './restore';
export * from './layout';
export * from './router';
export * from './access-view';
