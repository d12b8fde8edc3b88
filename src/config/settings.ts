import type { Config } from './env.js';
import { type Tuning, type TuningOverrides, tune } from './tuning.js';

/** What the app factories and their plugins are built from: the operator's config and the tuning. */
export interface Settings {
  config: Config;
  tuning: Tuning;
}

export function settingsOf(config: Config, overrides?: TuningOverrides): Settings {
  return { config, tuning: tune(overrides) };
}
