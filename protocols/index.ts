export * from './agent-config.ts';
export * from './clock.ts';
export * from './config-common.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './messages.ts';
export * from './topics.ts';
export * from './validation.ts';
