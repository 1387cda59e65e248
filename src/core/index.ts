export * from './types';
export * from './errors';
export * from './ports';
export * from './addr';
export * from './duration';
export * from './portspec';
export * from './version';
export * from './service';
