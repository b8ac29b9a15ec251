/**
 * The covered models, as plain data (no schema library): the agent reads them at run time, health.ts builds its
 * `DeviceModel` schema from them.
 */
export const DEVICE_MODELS = [
  'StudioX30',
  'StudioX50',
  'StudioX70',
  'G7500',
  'StudioE70',
  'StudioUSB',
  'unknown',
] as const;
